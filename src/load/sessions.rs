//! Multi-turn sessions: `concurrency` conversations in flight, each a
//! closed loop of its own turns. Turn k sends the whole history — the
//! server's own replies included — and one new user message, after a think
//! time. A turn whose predecessor failed has no history to send: it is
//! recorded as failed, unsent, so each planned request is still one record.

use super::{TrialLoad, TRIAL_END_GRACE};
use crate::client::{Client, GenRequest, Outcome};
use crate::record::Record;
use crate::workload::{Message, Role};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// The error of a turn not sent because an earlier one failed.
pub const SESSION_BROKEN: &str = "not sent: an earlier turn of this session failed";

/// A trial's conversations and how they are paced.
pub struct Conversations {
    /// Each conversation's turns: the new user message in `prompt`, the
    /// rest of the request as it will be sent.
    pub turns: Vec<Vec<GenRequest>>,
    pub think_time: Duration,
    /// A header that names the session, for routers with session affinity.
    pub header: Option<String>,
}

/// Run the conversations; returns how many requests were planned into
/// records (sent or not), each of them one record.
pub async fn sessions(
    client: Arc<Client>,
    conversations: Arc<Conversations>,
    load: TrialLoad,
    records: mpsc::Sender<Record>,
) -> usize {
    let start = Instant::now();
    let deadline = load.duration.map(|d| start + d);
    let cutoff = deadline.map(|d| d + TRIAL_END_GRACE);
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let mut set = JoinSet::new();
    for _ in 0..load.concurrency.max(1) {
        let (client, all, next, done, tx, load) = (
            client.clone(),
            conversations.clone(),
            next.clone(),
            done.clone(),
            records.clone(),
            load.clone(),
        );
        set.spawn(async move {
            loop {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    break;
                }
                let s = next.fetch_add(1, Ordering::Relaxed);
                let Some(turns) = all.turns.get(s) else { break };
                // Request numbers: the turns of earlier sessions come first.
                let base: usize = all.turns[..s].iter().map(Vec::len).sum();
                let mut history: Vec<Message> = Vec::new();
                let mut broken = false;
                for (k, turn) in turns.iter().enumerate() {
                    let mut slot = load.slot(base + k, turn);
                    slot.session = Some(s as u64);
                    slot.turn = Some(k as u32 + 1);
                    if broken {
                        let outcome = Outcome::failed(Instant::now(), SESSION_BROKEN.into());
                        let sent_s = outcome.sent.duration_since(start).as_secs_f64();
                        done.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send(outcome.into_record(slot, sent_s)).await;
                        continue;
                    }
                    if k > 0 {
                        // A duration that ends mid-session ends the session.
                        if !all.think_time.is_zero() {
                            tokio::time::sleep(all.think_time).await;
                        }
                        if deadline.is_some_and(|d| Instant::now() >= d) {
                            break;
                        }
                    }
                    let mut req = turn.clone();
                    req.history = history.clone();
                    req.keep_text = true;
                    if let Some(h) = &all.header {
                        req.headers.push((h.clone(), format!("{}-{s}", load.trial)));
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                    let mut outcome = client.generate_until(&req, cutoff).await;
                    let reply = outcome.text.take();
                    broken = !outcome.ok;
                    let sent_s = outcome.sent.duration_since(start).as_secs_f64();
                    if tx.send(outcome.into_record(slot, sent_s)).await.is_err() {
                        return;
                    }
                    history.push(Message {
                        role: Role::User,
                        content: req.prompt,
                    });
                    history.push(Message {
                        role: Role::Assistant,
                        content: reply.unwrap_or_default(),
                    });
                }
            }
        });
    }
    drop(records);
    while set.join_next().await.is_some() {}
    done.load(Ordering::Relaxed)
}
