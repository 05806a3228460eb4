//! A lean HTTP/1.1 exchange for plain `http://` targets, the common case
//! (a server on this machine or the cluster's network).
//!
//! reqwest runs each connection in a task of its own and hands the body to
//! the request's task through a channel: two task wake-ups per event, and
//! at a thousand streams a hundred thousand events a second
//! (`infer-bench calibrate`). Here the request's own task reads its socket,
//! so an event is timestamped when the read that brought it returns, and
//! costs one wake-up. TLS, proxies and anything unusual stay with reqwest.
//!
//! Which sockets are reused, and when not, is `pool`'s business; every
//! size read from the wire is capped, and a cap reached is a failure that
//! says so.

mod framing;
mod pool;
mod proxy;

use super::exchange::{self, Exchange};
use super::stream::{Flow, StreamReader};
use super::timing::Timing;
use framing::{parse_head, Decoder, Framing, Head, MAX_HEAD};
use pool::{Conn, Pool};
use std::io::Write as _;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::exchange::{MAX_BODY, MAX_ERROR_BODY};

pub(super) struct Http1 {
    /// `host:port` to connect to.
    addr: String,
    /// The request line and every header but `Content-Length`.
    head: Vec<u8>,
    pool: Pool,
}

impl Http1 {
    /// For a plain-HTTP URL (without userinfo: the caller made it into
    /// `authorization`) whose headers are safe to write as they are; `None`
    /// sends the caller to reqwest. `authorization` replaces a header of
    /// that name in `headers`, as reqwest's default headers do.
    pub(super) fn new(
        url: &str,
        headers: &[(String, String)],
        authorization: Option<&str>,
    ) -> Option<Http1> {
        // `INFER_BENCH_CLIENT=reqwest` sends everything through reqwest: a
        // way round the lean path, and the other side of its comparison.
        if std::env::var("INFER_BENCH_CLIENT").is_ok_and(|v| v == "reqwest") {
            return None;
        }
        let url = reqwest::Url::parse(url).ok()?;
        if url.scheme() != "http" || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        // An IPv6 literal comes with its brackets, as `Host` and `connect` want it.
        let host = url.host_str()?;
        if proxy::applies(host, &proxy::from_env()) {
            return None;
        }
        let port = url.port_or_known_default()?;
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
        let replaced = |k: &str| authorization.is_some() && k.eq_ignore_ascii_case("authorization");
        fields.extend(headers.iter().filter(|(k, _)| !replaced(k)).cloned());
        if let Some(value) = authorization {
            fields.push(("Authorization".into(), value.to_string()));
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
            pool: Pool::default(),
        })
    }

    /// Forget every kept connection: the server behind them was relaunched.
    pub(super) fn reset(&self) {
        self.pool.clear();
    }

    /// The request's bytes, built before the clock starts.
    /// The request's bytes: the fixed head, this request's own headers
    /// (names and values checked by the caller: no CR or LF), the body.
    pub(super) fn request(&self, body: &[u8], headers: &[(String, String)]) -> Vec<u8> {
        let mut request = Vec::with_capacity(self.head.len() + 32 + body.len());
        request.extend_from_slice(&self.head);
        for (name, value) in headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        let _ = write!(request, "Content-Length: {}\r\n\r\n", body.len());
        request.extend_from_slice(body);
        request
    }

    /// One request on a kept connection (unless `fresh`) or a new one.
    pub(super) async fn exchange(
        self: &Arc<Self>,
        request: &[u8],
        t: &mut Timing,
        fresh: bool,
    ) -> Exchange {
        let Some(mut conn) = self.connection(fresh, t).await else {
            return Exchange::Done;
        };
        let wrote = Instant::now();
        if let Err(e) = conn.stream.write_all(request).await {
            if conn.reused() {
                return self.dropped(wrote, t);
            }
            t.error_at(Instant::now(), format!("request failed: {e}"));
            return Exchange::Done;
        }
        let mut buf = vec![0u8; 16 << 10];
        let mut pending: Vec<u8> = Vec::new();
        let (head, now) = match self.read_head(&mut conn, &mut buf, &mut pending, t).await {
            Ok(Some(head)) => head,
            Ok(None) => return Exchange::Done,
            Err(KeptClosed) => return self.dropped(wrote, t),
        };
        t.outcome.http_status = Some(head.status);
        let length = match head.framing {
            Framing::Length(n) => Some(n),
            _ => None,
        };
        let json = head.content_type.as_deref().is_some_and(exchange::is_json);
        match exchange::no_body(head.status, length) {
            _ if !(200..300).contains(&head.status) => {
                error_response(conn, head, buf, pending, t).await;
            }
            Some(why) => t.error_at(now, why),
            None if json => {
                let (status, body) = (head.status, read_body(conn, head, buf, pending).await);
                let why = exchange::json_answer(status, &String::from_utf8_lossy(&body));
                t.error_at(Instant::now(), why);
            }
            None => self.stream(conn, head, buf, pending, now, t).await,
        }
        Exchange::Done
    }

    /// The server closed a kept connection with the request written and no
    /// byte of a response: perhaps the idle-close race, perhaps a server
    /// that drops requests. Either way no connection to it is reused again;
    /// the request goes once more only if the close came within
    /// [`exchange::IDLE_CLOSE_RACE`] of the write.
    fn dropped(&self, wrote: Instant, t: &mut Timing) -> Exchange {
        self.pool.stop_reuse_for_good();
        let now = Instant::now();
        match exchange::kept_closed(now.duration_since(wrote)) {
            Ok(retry) => retry,
            Err(why) => {
                t.error_at(now, why);
                Exchange::Done
            }
        }
    }

    /// A kept connection (unless `fresh`) or a new one, recorded in `t`;
    /// `None` when it cannot be had (the failure is in `t`).
    async fn connection(&self, fresh: bool, t: &mut Timing) -> Option<Conn> {
        let pooled = if fresh { None } else { self.pool.take() };
        let connecting = Instant::now();
        let conn = match pooled {
            Some(c) => c,
            None => match TcpStream::connect(&self.addr).await {
                Ok(c) => {
                    let _ = c.set_nodelay(true);
                    // From the connect's own start: a retried request's
                    // `sent` is its first attempt's.
                    let took = Instant::now().duration_since(connecting);
                    t.outcome.connect_ms = Some(took.as_secs_f64() * 1000.0);
                    Conn::fresh(c)
                }
                Err(e) => {
                    t.error_at(Instant::now(), format!("connection failed: {e}"));
                    return None;
                }
            },
        };
        t.outcome.reused = Some(conn.reused());
        Some(conn)
    }

    /// A 2xx response's body, event by event, each stamped when the read
    /// that brought it returned; the connection kept if the server allows.
    async fn stream(
        self: &Arc<Self>,
        mut conn: Conn,
        head: Head,
        mut buf: Vec<u8>,
        mut pending: Vec<u8>,
        mut now: Instant,
        t: &mut Timing,
    ) {
        let mut decoder = Decoder::new(head.framing);
        let mut data = Vec::new();
        let mut reader = StreamReader::default();
        let mut body: u64 = 0;
        loop {
            data.clear();
            let done = match decoder.decode(&pending, &mut data) {
                Ok(done) => done,
                Err(e) => return t.error_at(now, format!("stream broken: {e}")),
            };
            pending.clear();
            body += data.len() as u64;
            if body > MAX_BODY {
                let mib = MAX_BODY >> 20;
                return t.error_at(now, format!("response body over {mib} MiB: cut off"));
            }
            if !data.is_empty() {
                if let Flow::Ended = reader.feed(t, now, &data) {
                    // The stream said it is over ([DONE] or an error); the
                    // body's end follows at once on a healthy connection.
                    if !done && !head.close {
                        // In the background: the outcome is complete now.
                        let me = self.clone();
                        let keep_alive = head.keep_alive;
                        tokio::spawn(
                            async move { me.finish_body(conn, decoder, keep_alive).await },
                        );
                    } else if done && !head.close {
                        self.pool.keep(conn, head.keep_alive);
                    }
                    return;
                }
            }
            if done {
                reader.finish(t, now);
                if !head.close {
                    self.pool.keep(conn, head.keep_alive);
                }
                return;
            }
            let read = conn.stream.read(&mut buf).await;
            now = Instant::now();
            match read {
                Ok(0) if decoder.framing == Framing::Close => {
                    reader.finish(t, now);
                    return;
                }
                Ok(0) => {
                    let why = "stream broken: the connection closed mid-response";
                    return t.error_at(now, why.into());
                }
                Ok(n) => pending.extend_from_slice(&buf[..n]),
                Err(e) => return t.error_at(now, format!("stream broken: {e}")),
            }
        }
    }

    /// Read up to the final response head, skipping interim 1xx responses
    /// (RFC 9110 §15.2: `100 Continue`, `103 Early Hints`). The bytes after
    /// it stay in `pending`. `Ok(None)`: the failure is in `t` already;
    /// `Err`: a kept connection closed before any byte came back.
    async fn read_head(
        &self,
        conn: &mut Conn,
        buf: &mut [u8],
        pending: &mut Vec<u8>,
        t: &mut Timing,
    ) -> Result<Option<(Head, Instant)>, KeptClosed> {
        let mut any = false;
        loop {
            let read = conn.stream.read(buf).await;
            let now = Instant::now();
            match read {
                Ok(0) | Err(_) if conn.reused() && !any => return Err(KeptClosed),
                Ok(0) => {
                    t.error_at(now, exchange::CLOSED.into());
                    return Ok(None);
                }
                Ok(n) => {
                    any = true;
                    pending.extend_from_slice(&buf[..n]);
                }
                Err(e) => {
                    t.error_at(now, format!("request failed: {e}"));
                    return Ok(None);
                }
            }
            loop {
                match parse_head(pending) {
                    Ok(Some(head)) if head.interim() => {
                        pending.drain(..head.len);
                    }
                    Ok(Some(head)) if head.status == 101 => {
                        t.outcome.http_status = Some(101);
                        t.error_at(now, "HTTP 101: the server switched protocols".into());
                        return Ok(None);
                    }
                    Ok(Some(head)) => {
                        pending.drain(..head.len);
                        return Ok(Some((head, now)));
                    }
                    Ok(None) if pending.len() > MAX_HEAD => {
                        t.error_at(
                            now,
                            format!("response head over {} KiB: refused", MAX_HEAD >> 10),
                        );
                        return Ok(None);
                    }
                    Ok(None) => break,
                    Err(httparse::Error::TooManyHeaders) => {
                        let why = format!(
                            "response head with over {} header lines: refused",
                            exchange::MAX_HEADERS
                        );
                        t.error_at(now, why);
                        return Ok(None);
                    }
                    Err(e) => {
                        t.error_at(now, format!("request failed: malformed response head: {e}"));
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Read what is left of a body the stream has already ended, briefly,
    /// so the connection can be reused; give it up otherwise.
    async fn finish_body(
        &self,
        mut conn: Conn,
        mut decoder: Decoder,
        keep_alive: framing::KeepAlive,
    ) {
        let mut buf = [0u8; 1024];
        let deadline = Instant::now() + std::time::Duration::from_millis(200);
        let mut sink = Vec::new();
        let mut left = MAX_ERROR_BODY;
        loop {
            let Ok(Ok(n)) = tokio::time::timeout_at(deadline, conn.stream.read(&mut buf)).await
            else {
                return;
            };
            if n == 0 || n > left {
                return;
            }
            left -= n;
            sink.clear();
            match decoder.decode(&buf[..n], &mut sink) {
                Ok(true) => {
                    self.pool.keep(conn, keep_alive);
                    return;
                }
                Ok(false) => {}
                Err(_) => return,
            }
        }
    }
}

/// A body that is not a stream (an error's, a JSON answer's), read whole
/// up to [`MAX_ERROR_BODY`]. The connection is not kept.
async fn read_body(mut conn: Conn, head: Head, mut buf: Vec<u8>, mut pending: Vec<u8>) -> Vec<u8> {
    let mut decoder = Decoder::new(head.framing);
    let mut data = Vec::new();
    loop {
        let done = decoder.decode(&pending, &mut data).unwrap_or(true);
        pending.clear();
        if done || data.len() > MAX_ERROR_BODY {
            break;
        }
        match conn.stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
    data
}

/// A non-2xx response: its whole (bounded) body read for the server's
/// reason, a redirect's target with it. The connection is not kept.
async fn error_response(conn: Conn, head: Head, buf: Vec<u8>, pending: Vec<u8>, t: &mut Timing) {
    let (status, location) = (head.status, head.location.clone());
    let redirect = head.redirect();
    let data = read_body(conn, head, buf, pending).await;
    let text = String::from_utf8_lossy(&data);
    let mut reason = exchange::error_message(&text);
    if let Some(location) = location.filter(|_| redirect) {
        reason = format!("redirected to {location} (not followed) {reason}");
    }
    t.error_at(
        Instant::now(),
        format!("HTTP {status}: {}", reason.trim_end()),
    );
}

/// A kept connection closed before any byte of a response came back.
struct KeptClosed;
