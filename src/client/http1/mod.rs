//! A lean HTTP/1.1 exchange for plain `http://` targets, the common case
//! (a server on this machine or the cluster's network).
//!
//! reqwest runs each connection in a task of its own and hands the body to
//! the request's task through a channel: two task wake-ups per event, and
//! at a thousand streams a hundred thousand events a second
//! (`infer-bench calibrate`). Here the request's own task reads its socket,
//! so an event is timestamped when the read that brought it returns, and
//! costs one wake-up. TLS, proxies and anything unusual stay with reqwest.

mod framing;

use super::timing::Timing;
use super::{Exchange, Flow, StreamReader};
use framing::{parse_head, Decoder, Framing};
use std::io::Write as _;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Keep-alive connections kept for reuse.
const MAX_IDLE: usize = 4096;
/// An error response's body is read up to this much.
const MAX_ERROR_BODY: usize = 64 << 10;

pub(super) struct Http1 {
    /// `host:port` to connect to.
    addr: String,
    /// The request line and every header but `Content-Length`.
    head: Vec<u8>,
    idle: Mutex<Vec<TcpStream>>,
}

impl Http1 {
    /// For a plain-HTTP URL whose headers are safe to write as they are;
    /// `None` sends the caller to reqwest.
    pub(super) fn new(
        url: &str,
        headers: &[(String, String)],
        api_key: Option<&str>,
    ) -> Option<Http1> {
        // `INFER_BENCH_CLIENT=reqwest` sends everything through reqwest: a
        // way round the lean path, and the other side of its comparison.
        if std::env::var("INFER_BENCH_CLIENT").is_ok_and(|v| v == "reqwest") {
            return None;
        }
        let url = reqwest::Url::parse(url).ok()?;
        if url.scheme() != "http"
            || !url.username().is_empty()
            || std::env::var_os("http_proxy").is_some()
        {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let host = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        let mut target = url.path().to_string();
        if let Some(q) = url.query() {
            target.push('?');
            target.push_str(q);
        }
        let mut fields: Vec<(String, String)> = vec![
            ("Host".into(), format!("{host}:{port}")),
            ("Content-Type".into(), "application/json".into()),
            ("Accept".into(), "*/*".into()),
        ];
        fields.extend(headers.iter().cloned());
        if let Some(key) = api_key {
            fields.push(("Authorization".into(), format!("Bearer {key}")));
        }
        let safe = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
        if !fields
            .iter()
            .all(|(k, v)| safe(k) && safe(v) && !k.contains(':'))
        {
            return None;
        }
        let mut head = format!("POST {target} HTTP/1.1\r\n").into_bytes();
        for (k, v) in fields {
            let _ = write!(head, "{k}: {v}\r\n");
        }
        Some(Http1 {
            addr: format!("{host}:{port}"),
            head,
            idle: Mutex::new(Vec::new()),
        })
    }

    fn take_idle(&self) -> Option<TcpStream> {
        self.idle.lock().ok()?.pop()
    }

    fn keep(&self, conn: TcpStream) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < MAX_IDLE {
                idle.push(conn);
            }
        }
    }

    /// The request's bytes, built before the clock starts.
    pub(super) fn request(&self, body: &[u8]) -> Vec<u8> {
        let mut request = Vec::with_capacity(self.head.len() + 32 + body.len());
        request.extend_from_slice(&self.head);
        let _ = write!(request, "Content-Length: {}\r\n\r\n", body.len());
        request.extend_from_slice(body);
        request
    }

    pub(super) async fn exchange(self: &Arc<Self>, request: &[u8], t: &mut Timing) -> Exchange {
        let (mut conn, reused) = match self.take_idle() {
            Some(c) => (c, true),
            None => match TcpStream::connect(&self.addr).await {
                Ok(c) => {
                    let _ = c.set_nodelay(true);
                    (c, false)
                }
                Err(e) => {
                    t.error_at(Instant::now(), format!("connection failed: {e}"));
                    return Exchange::Done;
                }
            },
        };
        if let Err(e) = conn.write_all(request).await {
            if reused {
                return Exchange::StaleConnection;
            }
            t.error_at(Instant::now(), format!("request failed: {e}"));
            return Exchange::Done;
        }

        let mut buf = vec![0u8; 16 << 10];
        let mut pending: Vec<u8> = Vec::new();
        let (head, mut now) = loop {
            let read = conn.read(&mut buf).await;
            let now = Instant::now();
            match read {
                Ok(0) if reused && pending.is_empty() => return Exchange::StaleConnection,
                Ok(0) => {
                    t.error_at(
                        now,
                        "request failed: connection closed before the response".into(),
                    );
                    return Exchange::Done;
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(_) if reused && pending.is_empty() => return Exchange::StaleConnection,
                Err(e) => {
                    t.error_at(now, format!("request failed: {e}"));
                    return Exchange::Done;
                }
            }
            match parse_head(&pending) {
                Ok(Some(head)) => break (head, now),
                Ok(None) => continue,
                Err(e) => {
                    t.error_at(now, format!("request failed: malformed response head: {e}"));
                    return Exchange::Done;
                }
            }
        };
        t.outcome.http_status = Some(head.status);
        pending.drain(..head.len);
        let mut decoder = Decoder::new(head.framing);
        let mut data = Vec::new();

        if !(200..300).contains(&head.status) {
            // The whole (bounded) body, for the server's reason.
            loop {
                let done = decoder.decode(&pending, &mut data).unwrap_or(true);
                pending.clear();
                if done || data.len() > MAX_ERROR_BODY {
                    break;
                }
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => pending.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&data);
            t.error_at(
                Instant::now(),
                format!("HTTP {}: {}", head.status, super::error_message(&text)),
            );
            return Exchange::Done;
        }

        let mut reader = StreamReader::default();
        loop {
            data.clear();
            let done = match decoder.decode(&pending, &mut data) {
                Ok(done) => done,
                Err(e) => {
                    t.error_at(now, format!("stream broken: {e}"));
                    return Exchange::Done;
                }
            };
            pending.clear();
            if !data.is_empty() {
                if let Flow::Ended = reader.feed(t, now, &data) {
                    // The stream said it is over ([DONE] or an error); the
                    // body's end follows at once on a healthy connection.
                    if !done && !head.close {
                        // In the background: the outcome is complete now.
                        let me = self.clone();
                        tokio::spawn(async move { me.finish_body(conn, decoder).await });
                    } else if done && !head.close {
                        self.keep(conn);
                    }
                    return Exchange::Done;
                }
            }
            if done {
                reader.finish(t, now);
                if !head.close {
                    self.keep(conn);
                }
                return Exchange::Done;
            }
            let read = conn.read(&mut buf).await;
            now = Instant::now();
            match read {
                Ok(0) if decoder.framing == Framing::Close => {
                    reader.finish(t, now);
                    return Exchange::Done;
                }
                Ok(0) => {
                    t.error_at(
                        now,
                        "stream broken: the connection closed mid-response".into(),
                    );
                    return Exchange::Done;
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) => {
                    t.error_at(now, format!("stream broken: {e}"));
                    return Exchange::Done;
                }
            }
        }
    }

    /// Read what is left of a body the stream has already ended, briefly,
    /// so the connection can be reused; give it up otherwise.
    async fn finish_body(&self, mut conn: TcpStream, mut decoder: Decoder) {
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + std::time::Duration::from_millis(200);
        let mut sink = Vec::new();
        loop {
            let Ok(Ok(n)) = tokio::time::timeout_at(deadline, conn.read(&mut buf)).await else {
                return;
            };
            if n == 0 {
                return;
            }
            sink.clear();
            match decoder.decode(&buf[..n], &mut sink) {
                Ok(true) => {
                    self.keep(conn);
                    return;
                }
                Ok(false) => {}
                Err(_) => return,
            }
        }
    }
}
