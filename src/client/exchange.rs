//! What both transports share about one exchange: how it ended (for the
//! retry decision), the caps on what is read, and an error response's reason.

use super::wire::Chunk;

/// How an exchange ended, for the retry decision.
pub(super) enum Exchange {
    Done,
    /// A kept-alive connection was closed before any byte of a response.
    StaleConnection,
}

/// An error response's body is read up to this much.
pub(super) const MAX_ERROR_BODY: usize = 64 << 10;
/// A streamed body larger than this is cut off as a failure: a generation
/// of a million tokens is a few hundred MB of SSE at most.
pub(super) const MAX_BODY: u64 = 1 << 30;

/// An error response's reason: its JSON `error`, else the body (cut to
/// length with the key out, when the outcome is cleaned for its record).
pub(super) fn error_message(text: &str) -> String {
    serde_json::from_str::<Chunk>(text)
        .ok()
        .and_then(|c| c.error.map(|e| e.message()))
        .unwrap_or_else(|| text.to_string())
}
