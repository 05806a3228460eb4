//! Server-sent events: an incremental parser fed with whatever each socket
//! read returned. Events may be split across reads or several may share one;
//! lines end in LF, CRLF or CR; `:` lines are comments (keep-alives).

/// A complete event's `data` (multi-line data joined with `\n`) and `event` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub event: Option<String>,
    pub data: String,
}

/// An event (or one line of it) larger than this ends the stream as a
/// failure: a token's chunk is a few hundred bytes, and a line that never
/// ends must not grow until memory runs out.
pub const MAX_EVENT: usize = 8 << 20;

#[derive(Debug, Default)]
pub struct Parser {
    /// A line or an event went over [`MAX_EVENT`]: the stream is unusable.
    overflow: bool,
    /// Bytes of an unfinished line.
    line: Vec<u8>,
    data: Option<String>,
    event: Option<String>,
    /// The previous chunk ended in CR: a leading LF in the next one belongs to it.
    pending_cr: bool,
    /// Bytes of a leading UTF-8 byte order mark matched so far, and whether
    /// the stream is past the point where one may be.
    bom_seen: usize,
    begun: bool,
}

/// The UTF-8 byte order mark, which the SSE standard (WHATWG HTML
/// §9.2.6) strips from a stream's start; left in, it would make the first
/// line's field `\u{feff}data` and drop the first event.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a line or event went over [`MAX_EVENT`] (nothing more is parsed).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// Feed bytes; complete events are appended to `out`.
    pub fn feed(&mut self, mut bytes: &[u8], out: &mut Vec<Event>) {
        // An empty read says nothing about a CR left pending by the last one.
        if bytes.is_empty() || self.overflow {
            return;
        }
        bytes = self.skip_bom(bytes);
        if bytes.is_empty() {
            return;
        }
        if self.pending_cr {
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
            self.pending_cr = false;
        }
        while let Some(pos) = bytes.iter().position(|b| *b == b'\n' || *b == b'\r') {
            self.line.extend_from_slice(&bytes[..pos]);
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out);
            let eol = bytes[pos];
            bytes = &bytes[pos + 1..];
            if eol == b'\r' {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.pending_cr = true,
                    _ => {}
                }
            }
            if self.overflow {
                return;
            }
        }
        if self.line.len() + bytes.len() > MAX_EVENT {
            self.overflow = true;
            self.line = Vec::new();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    /// `bytes` past a leading byte order mark, however the reads cut it; the
    /// bytes of a partial match that turned out not to be one go to the line.
    fn skip_bom<'b>(&mut self, mut bytes: &'b [u8]) -> &'b [u8] {
        while !self.begun {
            let Some((&b, rest)) = bytes.split_first() else {
                break;
            };
            if b == BOM[self.bom_seen] {
                self.bom_seen += 1;
                bytes = rest;
                self.begun = self.bom_seen == BOM.len();
            } else {
                self.begun = true;
                self.line.extend_from_slice(&BOM[..self.bom_seen]);
            }
        }
        bytes
    }

    /// End of stream: an event without its closing blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        if self.overflow {
            return;
        }
        if !self.begun {
            self.begun = true;
            self.line.extend_from_slice(&BOM[..self.bom_seen]);
        }
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&line, out);
        }
        self.dispatch(out);
    }

    fn line_done(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line[0] == b':' {
            return; // comment / keep-alive
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => {
                let v = &text[i + 1..];
                (&text[..i], v.strip_prefix(' ').unwrap_or(v))
            }
            None => (&text[..], ""),
        };
        let held = self.data.as_ref().map_or(0, String::len);
        if held + value.len() > MAX_EVENT {
            self.overflow = true;
            self.data = None;
            return;
        }
        match field {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event = Some(value.to_string()),
            _ => {} // id, retry and unknown fields do not matter here
        }
    }

    fn dispatch(&mut self, out: &mut Vec<Event>) {
        if let Some(data) = self.data.take() {
            out.push(Event {
                event: self.event.take(),
                data,
            });
        }
        self.event = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for c in chunks {
            p.feed(c, &mut out);
        }
        p.finish(&mut out);
        out
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn a_line_that_never_ends_is_capped() {
        let mut p = Parser::new();
        let mut out = Vec::new();
        p.feed(b"data: {\"a\":1}\n\n", &mut out);
        let block = vec![b'x'; 1 << 20];
        p.feed(b"data: ", &mut out);
        for _ in 0..(MAX_EVENT >> 20) + 1 {
            p.feed(&block, &mut out);
        }
        assert!(p.overflowed());
        assert!(p.line.capacity() <= MAX_EVENT, "the line was let go");
        p.feed(b"\n\ndata: [DONE]\n\n", &mut out);
        p.finish(&mut out);
        assert_eq!(data(&out), vec!["{\"a\":1}"], "nothing after the overflow");
    }

    #[test]
    fn several_events_in_one_read() {
        let e = parse_chunks(&[b"data: {\"a\":1}\n\ndata: {\"b\":2}\n\ndata: [DONE]\n\n"]);
        assert_eq!(data(&e), vec!["{\"a\":1}", "{\"b\":2}", "[DONE]"]);
    }

    #[test]
    fn event_split_across_reads_and_crlf() {
        let e = parse_chunks(&[b"da", b"ta: hel", b"lo\r", b"\n\r\n", b"data: x\r\r"]);
        assert_eq!(data(&e), vec!["hello", "x"]);
    }

    #[test]
    fn comments_multiline_and_event_names() {
        let e = parse_chunks(&[b": keep-alive\n\nevent: error\ndata: a\ndata: b\n\n"]);
        assert_eq!(
            e,
            vec![Event {
                event: Some("error".into()),
                data: "a\nb".into()
            }]
        );
    }

    #[test]
    fn an_empty_read_between_cr_and_lf_changes_nothing() {
        let e = parse_chunks(&[b"data: x\r", b"", b"\ndata: y\r\n\r\n"]);
        assert_eq!(data(&e), vec!["x\ny"]);
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped_however_it_is_cut() {
        let e = parse_chunks(&[b"\xEF\xBB\xBFdata: a\n\ndata: b\n\n"]);
        assert_eq!(data(&e), vec!["a", "b"]);
        let e = parse_chunks(&[b"\xEF", b"\xBB", b"\xBF", b"data: a\n\n"]);
        assert_eq!(data(&e), vec!["a"]);
        // Only at the start (later it is the line's), and a partial mark is
        // kept as the bytes it was, not swallowed.
        let e = parse_chunks(&[b"data: a\n\n\xEF\xBB\xBFdata: b\n\n"]);
        assert_eq!(data(&e), vec!["a"]);
        let e = parse_chunks(&[b"\xEF\xBB", b"data: a\n\n"]);
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn unterminated_last_event_counts() {
        assert_eq!(data(&parse_chunks(&[b"data: tail"])), vec!["tail"]);
    }

    proptest! {
        /// However a stream is cut into reads, the events are the same.
        #[test]
        fn splitting_does_not_change_events(
            payloads in proptest::collection::vec("[a-z{}\":0-9 ]{0,20}", 1..8),
            cuts in proptest::collection::vec(0usize..200, 0..10),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let text: String = payloads.iter().map(|p| format!("data: {p}{nl}{nl}")).collect();
            let bytes = text.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts {
                chunks.push(&bytes[last..c]);
                last = c;
            }
            chunks.push(&bytes[last..]);
            let events = parse_chunks(&chunks);
            prop_assert_eq!(data(&events), payloads.iter().map(String::as_str).collect::<Vec<_>>());
        }
    }
}
