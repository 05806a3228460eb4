//! HTTP/1.1 framing for the lean client: the response head, and the body
//! undone as bytes come (chunked, by length, or to the connection's end).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    Chunked,
    Length(u64),
    /// The body ends when the connection closes.
    Close,
}

#[derive(Debug)]
pub(super) struct Head {
    pub(super) status: u16,
    pub(super) framing: Framing,
    /// The server will close the connection after this response.
    pub(super) close: bool,
    /// `Keep-Alive: timeout=N, max=M`: how long the server keeps an idle
    /// connection, and how many more requests it takes on this one.
    pub(super) keep_alive: KeepAlive,
    /// A redirect's target, recorded with its failure (never followed: a
    /// benchmark measures the server it was pointed at).
    pub(super) location: Option<String>,
    /// `Content-Type`, to tell a JSON answer from an event stream.
    pub(super) content_type: Option<String>,
    /// Bytes of the head, its blank line included.
    pub(super) len: usize,
}

impl Head {
    /// An interim response (1xx but 101), to be skipped: the final one follows.
    pub(super) fn interim(&self) -> bool {
        (100..200).contains(&self.status) && self.status != 101
    }

    pub(super) fn redirect(&self) -> bool {
        (300..400).contains(&self.status)
    }
}

/// What a `Keep-Alive` header promises (RFC 2068 §19.7.1; still sent by
/// cpp-httplib, nginx and Apache).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct KeepAlive {
    pub(super) timeout_s: Option<u64>,
    pub(super) max: Option<u64>,
}

impl KeepAlive {
    fn parse(value: &str) -> KeepAlive {
        let mut k = KeepAlive::default();
        for part in value.split(',') {
            let Some((name, n)) = part.split_once('=') else {
                continue;
            };
            let n = n.trim().trim_matches('"').parse().ok();
            match name.trim() {
                "timeout" => k.timeout_s = n,
                "max" => k.max = n,
                _ => {}
            }
        }
        k
    }
}

/// A response head larger than this is refused: no server needs it, and a
/// hostile one could otherwise grow the buffer without end.
pub(super) const MAX_HEAD: usize = 64 << 10;

pub(super) fn parse_head(bytes: &[u8]) -> Result<Option<Head>, httparse::Error> {
    let mut headers = [httparse::EMPTY_HEADER; crate::client::exchange::MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let len = match response.parse(bytes)? {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => return Ok(None),
    };
    let status = response.code.unwrap_or(0);
    let mut framing = Framing::Close;
    let mut close = response.version == Some(0);
    let mut chunked = false;
    let mut keep_alive = KeepAlive::default();
    let mut location = None;
    let mut content_type = None;
    for h in response.headers.iter() {
        let value = String::from_utf8_lossy(h.value).to_ascii_lowercase();
        if h.name.eq_ignore_ascii_case("transfer-encoding") && value.contains("chunked") {
            chunked = true;
        } else if h.name.eq_ignore_ascii_case("content-length") {
            if let Ok(n) = value.trim().parse() {
                framing = Framing::Length(n);
            }
        } else if h.name.eq_ignore_ascii_case("location") {
            let text = String::from_utf8_lossy(h.value).into_owned();
            location = Some(text);
        } else if h.name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.clone());
        } else if h.name.eq_ignore_ascii_case("keep-alive") {
            keep_alive = KeepAlive::parse(&value);
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
    // RFC 9112 §6.3: these never have a body, whatever the head says.
    if matches!(status, 204 | 304) {
        framing = Framing::Length(0);
    }
    if framing == Framing::Close {
        close = true;
    }
    Ok(Some(Head {
        status,
        framing,
        close,
        keep_alive,
        location,
        content_type,
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
pub(super) struct Decoder {
    pub(super) framing: Framing,
    state: Chunk,
    remaining: u64,
    line: Vec<u8>,
}

impl Decoder {
    pub(super) fn new(framing: Framing) -> Decoder {
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
    pub(super) fn decode(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<bool, String> {
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
        let h = parse_head(b"HTTP/1.1 204 No Content\r\nContent-Type: Application/JSON\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.framing, Framing::Length(0), "a 204 has no body");
        assert_eq!(h.content_type.as_deref(), Some("application/json"));
        let h = parse_head(
            b"HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            h.keep_alive,
            KeepAlive {
                timeout_s: Some(5),
                max: Some(100)
            }
        );
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
