//! What both transports share about one exchange: how it ended (for the
//! retry decision), the caps on what is read, and the reason of a response
//! that is not a stream.

use super::wire::Chunk;
use std::time::Duration;

/// How an exchange ended, for the retry decision.
pub(super) enum Exchange {
    Done,
    /// A kept-alive connection was closed before any byte of a response,
    /// within [`IDLE_CLOSE_RACE`] of the write: the request may go once
    /// more, on a new connection.
    StaleConnection,
}

/// An error response's body is read up to this much.
pub(super) const MAX_ERROR_BODY: usize = 64 << 10;
/// A streamed body larger than this is cut off as a failure: a generation
/// of a million tokens is a few hundred MB of SSE at most.
pub(super) const MAX_BODY: u64 = 1 << 30;
/// Response header lines taken at most (hyper's default is 100, httparse's
/// examples 64; gateways and CDNs add dozens). The head's bytes are capped
/// apart (64 KiB on the lean path).
pub(super) const MAX_HEADERS: usize = 256;

/// How soon after the write a kept connection's close, before any byte of a
/// response, may still be the race of the server's idle close with our
/// write, the one case where the request is sent again. The server closed
/// before it read the request; its FIN, or the RST its kernel answers our
/// bytes with, reaches us within one round trip of the write: well under a
/// millisecond on loopback or a LAN, a few ms inside a region, 150–200 ms
/// across an ocean. 250 ms covers those with room for a busy client's
/// scheduling; a request the server held and worked on before it closed
/// (2 s in `tests/hostile_retries.rs`) is far outside and fails.
pub(super) const IDLE_CLOSE_RACE: Duration = Duration::from_millis(250);

/// A kept connection closed `waited` after the request was written, before
/// any response byte: the race (retried once) or the server's failure.
pub(super) fn kept_closed(waited: Duration) -> Result<Exchange, String> {
    if waited <= IDLE_CLOSE_RACE {
        return Ok(Exchange::StaleConnection);
    }
    Err(format!(
        "request failed: connection closed before the response, {:.1} s after the request \
         was written to a kept connection (too late to be an idle close: not retried)",
        waited.as_secs_f64()
    ))
}

/// The reason of a failed request the server dropped on a kept connection
/// after its one retry was spent (reuse had already stopped).
pub(super) const CLOSED: &str = "request failed: connection closed before the response";

/// A 2xx head that announces no body at all (204, 205, 304, or a length of
/// 0): the request fails at once with this reason instead of waiting.
pub(super) fn no_body(status: u16, length: Option<u64>) -> Option<String> {
    let bodiless = matches!(status, 204 | 205 | 304) || length == Some(0);
    bodiless
        .then(|| format!("HTTP {status}: the server answered with no body, not an event stream"))
}

/// Whether a 2xx answer's `Content-Type` says JSON, not an event stream.
pub(super) fn is_json(content_type: &str) -> bool {
    let mime = content_type.split(';').next().unwrap_or("").trim();
    mime.eq_ignore_ascii_case("application/json") || mime.to_ascii_lowercase().ends_with("+json")
}

/// The reason of a 2xx JSON answer (the server or a gateway ignored
/// `"stream": true`): its error where it is one. It is not taken as a
/// one-event stream: its TTFT would be its whole latency, and a report
/// mixing that with streamed TTFTs would mislead.
pub(super) fn json_answer(status: u16, text: &str) -> String {
    match serde_json::from_str::<Chunk>(text)
        .ok()
        .and_then(|c| c.error)
    {
        Some(e) => format!("HTTP {status}: server error: {}", e.message()),
        None => format!(
            "HTTP {status}: the server answered JSON, not an event stream: it ignored \
             \"stream\": true (TTFT and ITL need a stream; set the server or gateway to stream)"
        ),
    }
}

/// An error response's reason: its JSON `error`, else the body (cut to
/// length with the key out, when the outcome is cleaned for its record).
pub(super) fn error_message(text: &str) -> String {
    serde_json::from_str::<Chunk>(text)
        .ok()
        .and_then(|c| c.error.map(|e| e.message()))
        .unwrap_or_else(|| text.to_string())
}
