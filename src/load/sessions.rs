//! Multi-turn sessions: `concurrency` conversations in flight, each a
//! closed loop of its own turns. Turn k sends the whole history — the
//! server's own replies included — and one new user message, after a think
//! time. A turn whose predecessor failed has no history to send: it is
//! recorded as failed, unsent, so each planned request is still one record.
//! A worker whose turn failed fast backs off before its next request; a
//! trial whose error rate went over its limit stops, a count's turns not
//! sent recorded as cancelled.

use super::crew::{Crew, Hand};
use super::guard::Backoff;
use super::TrialLoad;
use crate::client::{Client, GenRequest, Outcome};
use crate::record::RequestStatus;
use crate::workload::{Message, Role};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// The reason of a turn not sent because an earlier one failed (its status
/// says `Unsent`; this is only its words).
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
pub(super) async fn sessions(
    client: Arc<Client>,
    conversations: Arc<Conversations>,
    load: TrialLoad,
    concurrency: usize,
    mut crew: Crew,
) -> usize {
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    for _ in 0..concurrency.max(1) {
        let (client, all, next, done, hand) = (
            client.clone(),
            conversations.clone(),
            next.clone(),
            done.clone(),
            crew.hand(),
        );
        crew.spawn(async move {
            let mut backoff = Backoff::default();
            while !hand.over() {
                let s = next.fetch_add(1, Ordering::Relaxed);
                if s >= all.turns.len() {
                    break;
                }
                let session = Session {
                    client: &client,
                    all: &all,
                    load: &load,
                    hand: &hand,
                    done: &done,
                };
                if !session.converse(s, &mut backoff).await {
                    return;
                }
            }
        });
    }
    let hand = crew.hand();
    crew.finish().await;
    // A count's conversations not begun when the error rate stopped the trial.
    if hand.tripped() && load.requests.is_some() {
        let all = &conversations.turns;
        let begun = next.load(Ordering::Relaxed).min(all.len());
        let mut base: usize = all[..begun].iter().map(Vec::len).sum();
        for (s, turns) in all.iter().enumerate().skip(begun) {
            for (k, turn) in turns.iter().enumerate() {
                hand.unsent(turn_slot(&load, turn, s, base, k), None).await;
                done.fetch_add(1, Ordering::Relaxed);
            }
            base += turns.len();
        }
    }
    done.load(Ordering::Relaxed)
}

/// Where turn `k` of conversation `s` sits: request `base + k`, the
/// `base` turns of earlier conversations coming first.
fn turn_slot(
    load: &TrialLoad,
    turn: &GenRequest,
    s: usize,
    base: usize,
    k: usize,
) -> crate::record::RequestSlot {
    let mut slot = load.slot(base + k, turn);
    slot.session = Some(s as u64);
    slot.turn = Some(k as u32 + 1);
    slot
}

/// What a conversation needs from its worker.
struct Session<'a> {
    client: &'a Arc<Client>,
    all: &'a Conversations,
    load: &'a TrialLoad,
    hand: &'a Hand,
    done: &'a AtomicUsize,
}

impl Session<'_> {
    /// Conversation `s`, turn by turn; false once records have nowhere to go.
    async fn converse(&self, s: usize, backoff: &mut Backoff) -> bool {
        let turns = &self.all.turns[s];
        // Request numbers: the turns of earlier sessions come first.
        let base: usize = self.all.turns[..s].iter().map(Vec::len).sum();
        let mut history: Vec<Message> = Vec::new();
        let mut broken = false;
        for (k, turn) in turns.iter().enumerate() {
            let slot = turn_slot(self.load, turn, s, base, k);
            if self.hand.tripped() {
                // A count's turns are each one record; a duration's end here.
                if self.load.requests.is_none() {
                    break;
                }
                self.done.fetch_add(1, Ordering::Relaxed);
                self.hand.unsent(slot, None).await;
                continue;
            }
            if broken {
                let outcome = Outcome {
                    status: RequestStatus::Unsent,
                    ..Outcome::failed(Instant::now(), SESSION_BROKEN.into())
                };
                self.done.fetch_add(1, Ordering::Relaxed);
                let _ = self.hand.send_outcome(outcome, slot).await;
                continue;
            }
            if k > 0 {
                // A duration that ends mid-session ends the session.
                if !self.all.think_time.is_zero() {
                    tokio::time::sleep(self.all.think_time).await;
                }
                if self.hand.bounds.over() {
                    break;
                }
            }
            let mut req = turn.clone();
            req.history = history.clone();
            req.keep_text = true;
            if let Some(h) = &self.all.header {
                req.headers
                    .push((h.clone(), format!("{}-{s}", self.load.trial)));
            }
            self.done.fetch_add(1, Ordering::Relaxed);
            self.hand.hold(slot, Instant::now());
            let prompt = req.prompt.clone();
            let (client, cutoff) = (self.client.clone(), self.hand.bounds.cutoff);
            let request = async move { client.generate_until(&req, cutoff).await };
            let mut outcome = self.hand.guarded(request).await;
            let reply = outcome.text.take();
            broken = !outcome.ok();
            let wake = backoff.after(outcome.ok(), outcome.sent);
            if !self.hand.send_outcome(outcome, slot).await {
                return false;
            }
            if let Some(wake) = wake {
                self.hand.pause_until(wake).await;
            }
            history.push(Message {
                role: Role::User,
                content: prompt,
            });
            history.push(Message {
                role: Role::Assistant,
                content: reply.unwrap_or_default(),
            });
        }
        true
    }
}
