//! Sub-millisecond sleeps for async code: the sim's modelled latencies and
//! the open loop's arrival times. tokio's timer wheel ticks in whole
//! milliseconds and fires up to a tick late, which would put up to 1 ms of
//! error into every modelled gap and every scheduled send. One thread here
//! sleeps on a condition variable to the earliest deadline (the kernel's
//! timer slack, ~50 µs) and wakes the waiting task.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;
use tokio::sync::oneshot;

struct Entry {
    at: Instant,
    seq: u64,
    wake: oneshot::Sender<()>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
    stopped: bool,
}

#[derive(Clone)]
pub struct Clock {
    inner: Arc<(Mutex<State>, Condvar)>,
}

impl Clock {
    pub fn start() -> Clock {
        let clock = Clock {
            inner: Arc::new((Mutex::new(State::default()), Condvar::new())),
        };
        let inner = clock.inner.clone();
        std::thread::Builder::new()
            .name("precise-clock".into())
            .spawn(move || run(&inner))
            .expect("spawning the clock thread");
        clock
    }

    /// Resolves at `at` (or at once if it has passed).
    pub async fn sleep_until(&self, at: Instant) {
        if at <= Instant::now() {
            return;
        }
        let (tx, rx) = oneshot::channel();
        {
            let (lock, cv) = &*self.inner;
            let Ok(mut s) = lock.lock() else { return };
            s.seq += 1;
            let seq = s.seq;
            s.heap.push(Reverse(Entry { at, seq, wake: tx }));
            cv.notify_one();
        }
        let _ = rx.await;
    }

    pub fn stop(&self) {
        let (lock, cv) = &*self.inner;
        if let Ok(mut s) = lock.lock() {
            s.stopped = true;
            cv.notify_one();
        }
    }
}

fn run(inner: &(Mutex<State>, Condvar)) {
    let (lock, cv) = inner;
    let Ok(mut s) = lock.lock() else { return };
    loop {
        if s.stopped {
            return;
        }
        let now = Instant::now();
        while s.heap.peek().is_some_and(|Reverse(e)| e.at <= now) {
            if let Some(Reverse(e)) = s.heap.pop() {
                let _ = e.wake.send(());
            }
        }
        let next = s.heap.peek().map(|Reverse(e)| e.at);
        s = match next {
            Some(at) => match cv.wait_timeout(s, at.saturating_duration_since(now)) {
                Ok((guard, _)) => guard,
                Err(_) => return,
            },
            None => match cv.wait(s) {
                Ok(guard) => guard,
                Err(_) => return,
            },
        };
    }
}

/// The wall-clock time now, as RFC 3339 to the second (for manifests and
/// run ids; durations are measured on the monotonic clock, never on this).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn wakes_in_deadline_order_and_on_time() {
        let clock = Clock::start();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = Instant::now();
        let late = rt.block_on(async {
            let a = clock.sleep_until(start + Duration::from_millis(30));
            let b = async {
                clock.sleep_until(start + Duration::from_millis(10)).await;
                Instant::now()
            };
            let (_, tb) = tokio::join!(a, b);
            (tb - start, Instant::now() - start)
        });
        assert!(late.0 >= Duration::from_millis(10) && late.0 < Duration::from_millis(30));
        assert!(late.1 >= Duration::from_millis(30));
        clock.stop();
    }
}
