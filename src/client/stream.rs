//! A response body's bytes, as the socket gave them, turned into timed
//! events: SSE framing, `[DONE]`, error events, JSON chunks. Shared by both
//! transports and by [`super::replay`].

use super::sse;
use super::timing::Timing;
use super::wire::{self, Chunk};
use tokio::time::Instant;

/// Whether a stream goes on after the bytes just read.
pub(super) enum Flow {
    More,
    Ended,
}

#[derive(Default)]
pub(super) struct StreamReader {
    parser: sse::Parser,
    events: Vec<sse::Event>,
}

impl StreamReader {
    /// Bytes read at `now`; every event in them is stamped `now`.
    pub(super) fn feed(&mut self, t: &mut Timing, now: Instant, bytes: &[u8]) -> Flow {
        self.parser.feed(bytes, &mut self.events);
        if let Flow::Ended = self.dispatch(t, now) {
            return Flow::Ended;
        }
        self.overflow(t, now)
    }

    /// The body ended at `now`: an event without its blank line still counts.
    pub(super) fn finish(&mut self, t: &mut Timing, now: Instant) -> Flow {
        self.parser.finish(&mut self.events);
        if let (Flow::More, Flow::More) = (self.dispatch(t, now), self.overflow(t, now)) {
            t.end(now);
        }
        Flow::Ended
    }

    fn overflow(&mut self, t: &mut Timing, now: Instant) -> Flow {
        if self.parser.overflowed() {
            let mib = sse::MAX_EVENT >> 20;
            t.error_at(now, format!("stream broken: an SSE line over {mib} MiB"));
            return Flow::Ended;
        }
        Flow::More
    }

    fn dispatch(&mut self, t: &mut Timing, now: Instant) -> Flow {
        for ev in self.events.drain(..) {
            if ev.data == "[DONE]" {
                t.end(now);
                return Flow::Ended;
            }
            if ev.event.as_deref() == Some("error") {
                t.error_at(now, format!("server error event: {}", ev.data));
                return Flow::Ended;
            }
            // llama.cpp opens a multi-prompt stream with `data: null`.
            if ev.data.trim() == "null" {
                continue;
            }
            if t.outcome.response_id.is_none() {
                t.outcome.response_id = wire::response_id(&ev.data);
            }
            match serde_json::from_str::<Chunk>(&ev.data) {
                Ok(chunk) => {
                    if let Some(err) = chunk.error {
                        t.error_at(now, format!("server error: {}", err.message()));
                        return Flow::Ended;
                    }
                    if let Err(why) = t.chunk(now, &chunk) {
                        t.error_at(now, why);
                        return Flow::Ended;
                    }
                }
                Err(e) => {
                    // Cut to length with the key out, in `clean`.
                    t.error_at(now, format!("malformed event ({e}): {}", ev.data));
                    return Flow::Ended;
                }
            }
        }
        Flow::More
    }
}
