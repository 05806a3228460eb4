//! What a run shows while it works: an indicatif bar on a terminal (trials
//! done, the trial in flight and its requests, ETA), one plain line per trial
//! where stderr is a file or a pipe (CI logs), nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    trials: usize,
    done: usize,
    /// Requests per trial where the experiment fixes them: the bar then
    /// advances per request, which keeps the ETA steady within a trial.
    per_trial: Option<usize>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// `show` false is `--quiet`.
    pub fn new(show: bool, trials: usize, per_trial: Option<usize>) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let bar = (show && terminal).then(|| {
            let len = trials * per_trial.unwrap_or(1);
            let bar = ProgressBar::with_draw_target(
                Some(len as u64),
                ProgressDrawTarget::stderr_with_hz(5),
            );
            bar.set_style(
                ProgressStyle::with_template("{elapsed_precise} [{bar:28}] ETA {eta:>4} · {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar
        });
        Progress {
            bar,
            lines: show && !terminal,
            trials,
            done: 0,
            per_trial,
            ticker: None,
        }
    }

    /// A trial begins: the bar names it and counts its requests as they finish.
    pub fn trial_started(&mut self, what: String, finished: Arc<AtomicUsize>) {
        let Some(bar) = self.bar.clone() else {
            return;
        };
        let head = format!("trial {}/{} {what}", self.done + 1, self.trials);
        let total = self.per_trial.map(|n| format!("/{n}")).unwrap_or_default();
        let base = self.per_trial.map(|n| (self.done * n) as u64);
        self.ticker = Some(tokio::spawn(async move {
            loop {
                let n = finished.load(Ordering::Relaxed);
                if let Some(base) = base {
                    bar.set_position(base + n as u64);
                }
                bar.set_message(format!("{head}: {n}{total} requests"));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }

    /// A trial ended: its summary line goes above the bar, or to stderr.
    pub fn trial_done(&mut self, line: &str) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        self.done += 1;
        match &self.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_position((self.done * self.per_trial.unwrap_or(1)) as u64);
            }
            None if self.lines => crate::error::warn(line),
            None => {}
        }
    }
}

impl Progress {
    /// A line about the run (a server relaunched), shown like a trial's.
    pub fn note(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None if self.lines => crate::error::warn(line),
            None => {}
        }
    }
}

/// The trial line's warning when other work held more than `max` of the
/// host's cores during the trial; nothing otherwise.
pub fn host_note(noise: Option<&crate::monitor::HostNoise>, max: f64) -> String {
    match noise {
        Some(n) if n.other_cpu_share > max => format!(
            " — host busy: other processes{} used {:.0}% of the cores ({:.1} cores, load {:.1}; over {:.0}%)",
            if n.server_apart {
                ""
            } else {
                " (an external server's own included)"
            },
            n.other_cpu_share * 100.0,
            n.other_cpu_cores,
            n.load_avg,
            max * 100.0
        ),
        _ => String::new(),
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(t) = self.ticker.take() {
            t.abort();
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_warns_only_past_the_share() {
        let noise = crate::monitor::HostNoise {
            other_cpu_cores: 1.0,
            other_cpu_share: 0.5,
            load_avg: 2.5,
            steal_share: 0.0,
            server_apart: true,
        };
        assert_eq!(
            host_note(Some(&noise), 0.25),
            " — host busy: other processes used 50% of the cores (1.0 cores, load 2.5; over 25%)"
        );
        assert_eq!(host_note(Some(&noise), 0.5), "");
        let external = crate::monitor::HostNoise {
            server_apart: false,
            ..noise
        };
        assert!(host_note(Some(&external), 0.25).contains("an external server's own included"));
        assert_eq!(host_note(None, 0.25), "");
    }
}
