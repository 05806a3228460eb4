//! The host's own noise during a trial, from /proc (Linux): CPU use by
//! processes other than the server under test and infer-bench itself, the
//! load average and CPU steal. A busy neighbour (a compiler, a second
//! benchmark) slows the server as surely as a changed factor does, so a
//! comparison has to be checkable against it.
//!
//! Only two readings of the cumulative counters are kept per trial (at its
//! start and end) plus a running sum of load averages: the memory held does
//! not grow with the trial's length.

use super::process::{clock_ticks, group_usage, own_cpu_s};
use std::time::Instant;

/// Names of the monitor samples (source `host`) a trial's summary is kept as
/// in `monitor.jsonl`; the analysis turns them into `trials.parquet` columns
/// of the same names (`crate::metrics::HOST`).
pub const OTHER_CPU_CORES: &str = "host_other_cpu_cores";
pub const OTHER_CPU_SHARE: &str = "host_other_cpu_share";
pub const LOAD_AVG: &str = "host_load_avg";
pub const STEAL_SHARE: &str = "host_steal_share";
/// 1 where the server's CPU was told apart from the other work (launched or
/// built in), 0 where the server is not ours to see and is counted in.
pub const SERVER_APART: &str = "host_server_apart";

/// The shortest trial given a figure: the kernel's counters tick 100 times
/// a second, so a shorter window measures the ticks more than the work.
pub const MIN_WINDOW_S: f64 = 1.0;

/// Whose CPU time is not "other work".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostScope {
    /// The launched server's process group; none for a built-in or an
    /// external server.
    pub server_pgid: Option<u32>,
    /// The server's CPU is ours (built in) or its group's (launched); false
    /// for an external server, whose CPU, if on this host, counts as other.
    pub server_apart: bool,
}

/// One trial's noise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HostNoise {
    /// Cores' worth of CPU used by other processes, on average over the trial.
    pub other_cpu_cores: f64,
    /// The same over the host's cores (0 to 1).
    pub other_cpu_share: f64,
    /// Mean of the 1-minute load average read during the trial.
    pub load_avg: f64,
    /// CPU time stolen by the hypervisor / all CPU time (0 to 1).
    pub steal_share: f64,
    pub server_apart: bool,
}

impl HostNoise {
    /// The summary as named samples (see the constants above).
    pub fn named(&self) -> [(&'static str, f64); 5] {
        [
            (OTHER_CPU_CORES, self.other_cpu_cores),
            (OTHER_CPU_SHARE, self.other_cpu_share),
            (LOAD_AVG, self.load_avg),
            (STEAL_SHARE, self.steal_share),
            (SERVER_APART, if self.server_apart { 1.0 } else { 0.0 }),
        ]
    }

    /// The summary back from a trial's samples; none unless every figure is there.
    pub fn from_named(mut get: impl FnMut(&str) -> Option<f64>) -> Option<HostNoise> {
        Some(HostNoise {
            other_cpu_cores: get(OTHER_CPU_CORES)?,
            other_cpu_share: get(OTHER_CPU_SHARE)?,
            load_avg: get(LOAD_AVG)?,
            steal_share: get(STEAL_SHARE)?,
            server_apart: get(SERVER_APART)? > 0.5,
        })
    }
}

/// The whole host's CPU counters (`/proc/stat`'s `cpu` line), in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTimes {
    /// user + nice + system + irq + softirq (guest time is inside user).
    pub busy_s: f64,
    pub steal_s: f64,
    /// Every column but guest and guest_nice (already counted in user and nice).
    pub total_s: f64,
    pub cores: usize,
}

/// Parse `/proc/stat` (proc(5)): the aggregate `cpu` line and the count of
/// `cpuN` lines.
pub fn parse_proc_stat(text: &str, ticks: f64) -> Option<CpuTimes> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|s| s.parse::<f64>().ok())
        .collect::<Option<_>>()?;
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal guest guest_nice
    let busy = at(0) + at(1) + at(2) + at(5) + at(6);
    let total = busy + at(3) + at(4) + at(7);
    let cores = text
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    (f.len() >= 4 && cores > 0).then_some(CpuTimes {
        busy_s: busy / ticks,
        steal_s: at(7) / ticks,
        total_s: total / ticks,
        cores,
    })
}

/// The 1-minute load average (`/proc/loadavg`'s first field).
pub fn parse_loadavg(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok()
}

fn read_cpu_times() -> Option<CpuTimes> {
    parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?, clock_ticks())
}

fn read_loadavg() -> Option<f64> {
    parse_loadavg(&std::fs::read_to_string("/proc/loadavg").ok()?)
}

/// One reading of everything the summary subtracts.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at: Instant,
    host: CpuTimes,
    /// The server's CPU seconds, where it is a launched group.
    server_s: f64,
    own_s: f64,
}

/// A trial's noise as it is measured: the first reading, and the load
/// averages summed as they are read.
#[derive(Debug)]
pub struct HostWatch {
    scope: HostScope,
    start: Reading,
    load_sum: f64,
    load_n: u32,
}

impl HostWatch {
    /// Start watching; none where /proc is not there to read (not Linux),
    /// which is said once per process.
    pub fn start(scope: HostScope) -> Option<HostWatch> {
        let Some(start) = read(scope) else {
            super::warn_once(&super::WARNED_HOST, || {
                "warning: /proc/stat is not readable (not Linux?): the host's own noise (other processes' CPU, load, steal) is not measured".into()
            });
            return None;
        };
        let mut watch = HostWatch {
            scope,
            start,
            load_sum: 0.0,
            load_n: 0,
        };
        watch.tick();
        Some(watch)
    }

    /// Read the load average once more.
    pub fn tick(&mut self) {
        if let Some(l) = read_loadavg() {
            self.load_sum += l;
            self.load_n += 1;
        }
    }

    /// The trial's summary, from the last reading against the first; none
    /// for a trial shorter than [`MIN_WINDOW_S`].
    pub fn finish(mut self) -> Option<HostNoise> {
        self.tick();
        let end = read(self.scope)?;
        if end.at.duration_since(self.start.at).as_secs_f64() < MIN_WINDOW_S {
            return None;
        }
        Some(summarise(
            &self.start,
            &end,
            self.load_sum / f64::from(self.load_n.max(1)),
            self.scope.server_apart,
        ))
    }
}

fn read(scope: HostScope) -> Option<Reading> {
    let host = read_cpu_times()?;
    let server_s = scope
        .server_pgid
        .and_then(group_usage)
        .map_or(0.0, |u| u.cpu_s);
    Some(Reading {
        at: Instant::now(),
        host,
        server_s,
        own_s: own_cpu_s().unwrap_or(0.0),
    })
}

/// Other work = the host's busy time less the server's and ours, over the
/// wall time; clamped at zero, since the counters tick at different moments
/// (and a server group that lost a process loses its CPU seconds).
fn summarise(a: &Reading, b: &Reading, load_avg: f64, server_apart: bool) -> HostNoise {
    let wall_s = b.at.duration_since(a.at).as_secs_f64();
    let busy = b.host.busy_s - a.host.busy_s;
    let ours = (b.server_s - a.server_s).max(0.0) + (b.own_s - a.own_s).max(0.0);
    let other_cpu_cores = if wall_s > 0.0 {
        ((busy - ours) / wall_s).max(0.0)
    } else {
        0.0
    };
    let total = b.host.total_s - a.host.total_s;
    let steal = b.host.steal_s - a.host.steal_s;
    HostNoise {
        other_cpu_cores,
        other_cpu_share: (other_cpu_cores / b.host.cores as f64).min(1.0),
        load_avg,
        steal_share: if total > 0.0 {
            (steal / total).clamp(0.0, 1.0)
        } else {
            0.0
        },
        server_apart,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 10 50 800 20 5 5 10 40 0\ncpu0 50 5 25 400 10 2 3 5 20 0\ncpu1 50 5 25 400 10 3 2 5 20 0\nintr 1 2 3\nctxt 99\n";

    #[test]
    fn parses_the_aggregate_line_and_counts_cores() {
        let t = parse_proc_stat(STAT, 100.0).unwrap();
        // busy: 100 + 10 + 50 + 5 + 5 ticks; total adds idle, iowait, steal.
        assert_eq!(t.busy_s, 1.7);
        assert_eq!(t.steal_s, 0.1);
        assert_eq!(t.total_s, 10.0);
        assert_eq!(t.cores, 2);
        assert_eq!(parse_proc_stat("intr 1\n", 100.0), None);
        assert_eq!(parse_loadavg("3.52 2.10 1.00 2/345 6789\n"), Some(3.52));
        assert_eq!(parse_loadavg(""), None);
    }

    #[test]
    fn other_work_is_the_hosts_busy_time_less_the_servers_and_ours() {
        let t0 = Instant::now();
        let at = |busy_s, steal_s, total_s, server_s, own_s, after: u64| Reading {
            at: t0 + std::time::Duration::from_secs(after),
            host: CpuTimes {
                busy_s,
                steal_s,
                total_s,
                cores: 4,
            },
            server_s,
            own_s,
        };
        // Over 10 s the host was busy 25 core-seconds: the server 10, we 5,
        // so others held 1 core of 4; 4 of 40 CPU-seconds were stolen.
        let a = at(100.0, 1.0, 1000.0, 50.0, 5.0, 0);
        let b = at(125.0, 5.0, 1040.0, 60.0, 10.0, 10);
        let n = summarise(&a, &b, 1.5, true);
        assert!((n.other_cpu_cores - 1.0).abs() < 1e-12, "{n:?}");
        assert!((n.other_cpu_share - 0.25).abs() < 1e-12, "{n:?}");
        assert!((n.steal_share - 0.1).abs() < 1e-12, "{n:?}");
        assert_eq!(n.load_avg, 1.5);
        // Counters read out of step never make other work negative.
        let c = at(101.0, 1.0, 1000.0, 60.0, 10.0, 10);
        assert_eq!(summarise(&a, &c, 0.0, false).other_cpu_cores, 0.0);
        let back = HostNoise::from_named(|name| {
            n.named().iter().find(|(k, _)| *k == name).map(|(_, v)| *v)
        });
        assert_eq!(back, Some(n));
    }

    #[test]
    fn watches_this_host() {
        let Some(w) = HostWatch::start(HostScope::default()) else {
            return; // not Linux: said once, nothing measured
        };
        std::thread::sleep(std::time::Duration::from_secs_f64(MIN_WINDOW_S));
        let n = w.finish().expect("a second reading");
        assert!(n.other_cpu_cores >= 0.0 && (0.0..=1.0).contains(&n.other_cpu_share));
        assert!(n.load_avg >= 0.0);
    }
}
