//! The sim's own account of when it really sent each event (`sim
//! --record-truth`): what `infer-bench calibrate` compares the client's
//! measurements with. An event's time is taken when the HTTP stack pulls
//! it from the response body to write it to the socket, so the sim's own
//! scheduling delays count as the server's, not as the client's error.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc;

/// A piece of a response body, or the error that cuts the connection.
pub(super) type Chunked = Result<Bytes, std::io::Error>;

/// A piece and whether it carries generated text: what the truth log times.
pub(super) type Piece = (Chunked, bool);

/// One request as the sim served it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Truth {
    /// The response's `id` (what the client records as `response_id`).
    pub id: String,
    /// From the request's arrival (its body read) to the first event with text.
    pub ttft_ms: Option<f64>,
    /// Gaps between consecutive events with text, as sent.
    pub itl_ms: Vec<f64>,
}

/// Requests served since the log was last taken.
#[derive(Default)]
pub struct TruthLog(Mutex<Vec<Truth>>);

impl TruthLog {
    /// Everything logged so far; the log starts afresh.
    pub fn take(&self) -> Vec<Truth> {
        self.0
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Times one response's events; logs them when the body ends or is dropped.
struct Witness {
    log: Arc<TruthLog>,
    id: String,
    arrived: Instant,
    sent: Vec<Instant>,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let ms = |a: Instant, b: Instant| b.duration_since(a).as_secs_f64() * 1000.0;
        let truth = Truth {
            id: std::mem::take(&mut self.id),
            ttft_ms: self.sent.first().map(|t| ms(self.arrived, *t)),
            itl_ms: self.sent.windows(2).map(|w| ms(w[0], w[1])).collect(),
        };
        if let Ok(mut v) = self.log.0.lock() {
            v.push(truth);
        }
    }
}

/// The response body's stream of pieces, timed where `log` is given.
pub(super) fn body(
    rx: mpsc::Receiver<Piece>,
    log: Option<(Arc<TruthLog>, String, Instant)>,
) -> impl futures_util::Stream<Item = Chunked> {
    let witness = log.map(|(log, id, arrived)| Witness {
        log,
        id,
        arrived,
        sent: Vec::new(),
    });
    futures_util::stream::unfold((rx, witness), |(mut rx, mut witness)| async move {
        let (piece, content) = rx.recv().await?;
        if let (true, Some(w)) = (content, witness.as_mut()) {
            w.sent.push(Instant::now());
        }
        Some((piece, (rx, witness)))
    })
}
