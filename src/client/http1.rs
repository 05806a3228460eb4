//! A lean HTTP/1.1 exchange for plain `http://` targets, the common case
//! (a server on this machine or the cluster's network).
//!
//! reqwest runs each connection in a task of its own and hands the body to
//! the request's task through a channel: two task wake-ups per event, and
//! at a thousand streams a hundred thousand events a second
//! (`infer-bench calibrate`). Here the request's own task reads its socket,
//! so an event is timestamped when the read that brought it returns, and
//! costs one wake-up. TLS, proxies and anything unusual stay with reqwest.

use super::timing::Timing;
use super::{Exchange, Flow, StreamReader};
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Chunked,
    Length(u64),
    /// The body ends when the connection closes.
    Close,
}

#[derive(Debug)]
struct Head {
    status: u16,
    framing: Framing,
    /// The server will close the connection after this response.
    close: bool,
    len: usize,
}

fn parse_head(bytes: &[u8]) -> Result<Option<Head>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = Framing::Close;
    let mut close = response.version == Some(0);
    let mut chunked = false;
    for h in response.headers.iter() {
        let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
        if h.name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            if let Ok(n) = value.trim().parse() {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("connection") {
            if value.contains("close") {
                close = true;
            } else if value.contains("keep-alive") {
                close = false;
            }
        }
    }
    if chunked {
        framing = Framing::Chunked;
    }
    if framing == Framing::Close {
        close = true;
    }
    Ok(Some(Head {
        status,
        framing,
        close,
        len,
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    Size,
    Data,
    DataEnd,
    Trailer,
    Done,
}

/// Undoes the body's framing as bytes come: chunked, by length, or to the end.
struct Decoder {
    framing: Framing,
    state: Chunk,
    remaining: u64,
    line: Vec<u8>,
}

impl Decoder {
    fn new(framing: Framing) -> Decoder {
        Decoder {
            framing,
            state: Chunk::Size,
            remaining: match framing {
                Framing::Length(n) => n,
                _ => 0,
            },
            line: Vec::new(),
        }
    }

    /// Appends the payload in `input` to `out`; true once the body is complete.
    fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<bool, String> {
        match self.framing {
            Framing::Close => {
                out.extend_from_slice(input);
                Ok(false)
            }
            Framing::Length(_) => {
                let take = (self.remaining as usize).min(input.len());
                out.extend_from_slice(&input[..take]);
                self.remaining -= take as u64;
                Ok(self.remaining == 0)
            }
            Framing::Chunked => {
                while !input.is_empty() && self.state != Chunk::Done {
                    match self.state {
                        Chunk::Size | Chunk::DataEnd | Chunk::Trailer => {
                            let Some(eol) = input.iter().position(|b| *b == b'\n') else {
                                self.line.extend_from_slice(input);
                                if self.line.len() > 4096 {
                                    return Err("chunk header too long".into());
                                }
                                return Ok(false);
                            };
                            self.line.extend_from_slice(&input[..eol]);
                            input = &input[eol + 1..];
                            let line = std::mem::take(&mut self.line);
                            let line = String::from_utf8_lossy(&line);
                            let line = line.trim_end_matches('\r');
                            self.state = match self.state {
                                Chunk::Size => {
                                    let hex = line.split(';').next().unwrap_or("").trim();
                                    let size = u64::from_str_radix(hex, 16)
                                        .map_err(|_| format!("bad chunk size {hex:?}"))?;
                                    self.remaining = size;
                                    if size == 0 {
                                        Chunk::Trailer
                                    } else {
                                        Chunk::Data
                                    }
                                }
                                Chunk::DataEnd if line.is_empty() => Chunk::Size,
                                Chunk::DataEnd => return Err("chunk without its CRLF".into()),
                                _ if line.is_empty() => Chunk::Done,
                                _ => Chunk::Trailer,
                            };
                        }
                        Chunk::Data => {
                            let take = (self.remaining as usize).min(input.len());
                            out.extend_from_slice(&input[..take]);
                            input = &input[take..];
                            self.remaining -= take as u64;
                            if self.remaining == 0 {
                                self.state = Chunk::DataEnd;
                            }
                        }
                        Chunk::Done => {}
                    }
                }
                Ok(self.state == Chunk::Done)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(framing: Framing, pieces: &[&[u8]]) -> (Vec<u8>, bool) {
        let mut d = Decoder::new(framing);
        let mut out = Vec::new();
        let mut done = false;
        for p in pieces {
            done = d.decode(p, &mut out).unwrap();
        }
        (out, done)
    }

    #[test]
    fn heads_say_status_framing_and_keep_alive() {
        let bytes = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\ndata";
        let h = parse_head(bytes).unwrap().unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (200, Framing::Chunked, false)
        );
        assert_eq!(&bytes[h.len..], b"data");
        let h =
            parse_head(b"HTTP/1.1 429 Too Many\r\nContent-Length: 12\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap();
        assert_eq!(
            (h.status, h.framing, h.close),
            (429, Framing::Length(12), true)
        );
        let h = parse_head(b"HTTP/1.0 200 OK\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.framing, h.close), (Framing::Close, true));
        assert!(parse_head(b"HTTP/1.1 200 OK\r\nX: y").unwrap().is_none());
        assert!(parse_head(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
    }

    #[test]
    fn chunked_bodies_decode_with_extensions_and_trailers() {
        let body = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(
            decode_all(Framing::Chunked, &[body]),
            (b"hello, world".to_vec(), true)
        );
        let (out, done) = decode_all(Framing::Chunked, &[b"5\r\nhel"]);
        assert_eq!((out, done), (b"hel".to_vec(), false));
        assert!(Decoder::new(Framing::Chunked)
            .decode(b"zz\r\n", &mut Vec::new())
            .is_err());
        assert_eq!(
            decode_all(Framing::Length(3), &[b"ab", b"cdef"]),
            (b"abc".to_vec(), true)
        );
        assert_eq!(decode_all(Framing::Length(0), &[b""]), (Vec::new(), true));
    }

    proptest! {
        /// However the chunked body is cut into reads, the payload is the same.
        #[test]
        fn splitting_does_not_change_the_payload(
            chunks in proptest::collection::vec("[a-z: \\n]{1,40}", 0..6),
            cuts in proptest::collection::vec(0usize..400, 0..12),
        ) {
            let mut wire = Vec::new();
            for c in &chunks {
                wire.extend_from_slice(format!("{:x}\r\n{c}\r\n", c.len()).as_bytes());
            }
            wire.extend_from_slice(b"0\r\n\r\n");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.sort_unstable();
            let mut pieces = Vec::new();
            let mut last = 0;
            for c in cuts {
                pieces.push(&wire[last..c]);
                last = c;
            }
            pieces.push(&wire[last..]);
            let (out, done) = decode_all(Framing::Chunked, &pieces);
            prop_assert!(done);
            prop_assert_eq!(out, chunks.concat().into_bytes());
        }
    }
}
