//! Kept-alive connections of the lean client, and when not to trust one.
//!
//! A pooled socket is only as good as the server's word, and servers break
//! it: llama.cpp's server (cpp-httplib) announces `Keep-Alive: timeout=5,
//! max=100` and then closes the connection after every streamed response;
//! uvicorn (vLLM) closes idle ones after 5 s without saying so. A request
//! written to such a socket is lost, and its failure would be the client's,
//! not the server's. So a socket is reused only when
//! - the server did not say `Connection: close`, its `Keep-Alive` timeout has
//!   not run out (less a margin) and its `max` is not used up;
//! - a non-blocking peek finds the peer has not closed it (as hyper's pool
//!   and oha do), and no stray bytes wait on it;
//! - the server has not been seen closing connections moments after a
//!   response: once it has, this pool stops keeping any (`no_reuse`);
//! - the server has never dropped a request written to a kept connection:
//!   once it has, whatever the cause, no connection to it is reused again,
//!   relaunch or not (`dropped`), so that a later drop lands on a fresh
//!   connection, where it is the server's failure and is recorded as one.

use super::framing::KeepAlive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Kept-alive connections held at most.
const MAX_IDLE: usize = 4096;
/// A socket found closed within this long of its last response tells that
/// the server closes connections after responses, not after idling (the
/// shortest idle timeout seen in servers is seconds; a close after a
/// response lands within a millisecond on loopback).
const QUICK_CLOSE: Duration = Duration::from_millis(100);
/// Reuse stops this long before the server's announced keep-alive timeout.
const TIMEOUT_MARGIN: Duration = Duration::from_secs(1);

/// A connection and what the server said it may still be used for.
pub(super) struct Conn {
    pub(super) stream: TcpStream,
    /// When it went idle, for a pooled one.
    pub(super) idle_since: Option<Instant>,
}

impl Conn {
    pub(super) fn fresh(stream: TcpStream) -> Conn {
        Conn {
            stream,
            idle_since: None,
        }
    }

    pub(super) fn reused(&self) -> bool {
        self.idle_since.is_some()
    }

    /// It was closed so soon after its last response that the server must
    /// close every connection after a response.
    pub(super) fn closed_quickly(&self) -> bool {
        self.idle_since.is_some_and(|t| t.elapsed() < QUICK_CLOSE)
    }
}

struct Idle {
    conn: Conn,
    /// Reuse stops at this instant (the server's keep-alive timeout).
    until: Option<Instant>,
}

#[derive(Default)]
pub(super) struct Pool {
    idle: Mutex<Vec<Idle>>,
    no_reuse: AtomicBool,
    /// The server dropped a request on a kept connection: reuse is over
    /// for good (not undone by [`Pool::clear`]).
    dropped: AtomicBool,
}

impl Pool {
    /// The newest idle connection still fit for a request, if any.
    pub(super) fn take(&self) -> Option<Conn> {
        if self.dropped.load(Ordering::Relaxed) {
            return None;
        }
        loop {
            let idle = self.idle.lock().ok()?.pop()?;
            if idle.until.is_some_and(|t| Instant::now() >= t) {
                continue;
            }
            if peer_closed(&idle.conn.stream) {
                if idle.conn.closed_quickly() {
                    self.stop_reuse();
                }
                continue;
            }
            return Some(idle.conn);
        }
    }

    /// Keep `conn` for a later request, as far as the server's head allows.
    pub(super) fn keep(&self, mut conn: Conn, keep_alive: KeepAlive) {
        // `max` counts the requests the server will still take on it.
        if self.no_reuse.load(Ordering::Relaxed)
            || self.dropped.load(Ordering::Relaxed)
            || keep_alive.max == Some(0)
            || keep_alive.timeout_s == Some(0)
        {
            return;
        }
        let now = Instant::now();
        conn.idle_since = Some(now);
        let until = keep_alive.timeout_s.map(|s| {
            let timeout = Duration::from_secs(s);
            now + timeout.saturating_sub(TIMEOUT_MARGIN.min(timeout / 2))
        });
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(Idle { conn, until });
            }
        }
    }

    /// The server closes connections after responses: keep none from now on.
    pub(super) fn stop_reuse(&self) {
        self.no_reuse.store(true, Ordering::Relaxed);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// The server dropped a request written to a kept connection: no
    /// connection is kept or reused from now on, whatever [`Pool::clear`]
    /// says later.
    pub(super) fn stop_reuse_for_good(&self) {
        self.dropped.store(true, Ordering::Relaxed);
        self.stop_reuse();
    }

    /// Whether connections are still kept (false once the server was seen
    /// closing them after responses).
    #[cfg(test)]
    pub(super) fn reusing(&self) -> bool {
        !self.no_reuse.load(Ordering::Relaxed)
    }

    /// Drop every idle connection (their server was relaunched).
    pub(super) fn clear(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        self.no_reuse.store(false, Ordering::Relaxed);
    }
}

/// Whether the peer has closed `stream` (or sent bytes nobody asked for,
/// which makes it as unusable): a non-blocking peek of one byte.
fn peer_closed(stream: &TcpStream) -> bool {
    use std::os::fd::AsRawFd as _;
    let mut byte = 0u8;
    // SAFETY: recv writes at most 1 byte into `byte`, which lives for the
    // call; the descriptor is owned by `stream`, borrowed for the call.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            (&mut byte as *mut u8).cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        let err = std::io::Error::last_os_error();
        return err.kind() != std::io::ErrorKind::WouldBlock;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, server) = tokio::join!(TcpStream::connect(addr), listener.accept());
        (client.unwrap(), server.unwrap().0)
    }

    #[tokio::test]
    async fn a_peek_tells_open_closed_and_dirty_sockets() {
        let (client, server) = pair().await;
        assert!(!peer_closed(&client), "open and quiet");
        drop(server);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(peer_closed(&client), "closed by the peer");

        let (client, mut server) = pair().await;
        server.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(peer_closed(&client), "stray bytes");
    }

    #[tokio::test]
    async fn a_closed_socket_is_skipped_and_a_quick_close_stops_reuse() {
        let pool = Pool::default();
        let (a, a_peer) = pair().await;
        let (b, _b_peer) = pair().await;
        pool.keep(Conn::fresh(b), KeepAlive::default());
        pool.keep(Conn::fresh(a), KeepAlive::default());
        drop(a_peer);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // `a` is newest but closed, moments after its response: reuse stops.
        assert!(pool.take().is_none());
        assert!(!pool.reusing());
        let (c, _c_peer) = pair().await;
        pool.keep(Conn::fresh(c), KeepAlive::default());
        assert!(pool.take().is_none(), "nothing kept after a quick close");
        pool.clear();
        assert!(pool.reusing(), "a relaunched server gets another chance");
    }

    #[tokio::test]
    async fn a_dropped_request_stops_reuse_for_good() {
        let pool = Pool::default();
        pool.stop_reuse_for_good();
        pool.clear();
        let (a, _a_peer) = pair().await;
        pool.keep(Conn::fresh(a), KeepAlive::default());
        assert!(pool.take().is_none(), "not even after a relaunch");
    }

    #[tokio::test]
    async fn keep_alive_max_and_timeout_are_honoured() {
        let pool = Pool::default();
        let (a, _a_peer) = pair().await;
        let spent = KeepAlive {
            timeout_s: None,
            max: Some(0),
        };
        pool.keep(Conn::fresh(a), spent);
        assert!(pool.take().is_none(), "max=0: no more requests");
        let (b, _b_peer) = pair().await;
        let none = KeepAlive {
            timeout_s: Some(0),
            max: None,
        };
        pool.keep(Conn::fresh(b), none);
        assert!(pool.take().is_none(), "timeout=0");
        let (c, _c_peer) = pair().await;
        let five = KeepAlive {
            timeout_s: Some(5),
            max: Some(100),
        };
        pool.keep(Conn::fresh(c), five);
        let conn = pool.take().expect("kept");
        assert!(conn.reused());
    }
}
