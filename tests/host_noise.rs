//! The host's own noise: a trial on the sim while a busy process of the
//! test's own holds a core warns (in the progress line and the report);
//! without it, no warning. Linux only (/proc).
#![cfg(target_os = "linux")]

mod common;

use common::{bin, experiment, repo, single_run};
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

/// A process that spins one core, for at most a minute even if this test
/// dies, stopped by its pid when dropped.
struct Spinner(Child);

impl Spinner {
    fn start() -> Spinner {
        let child = Command::new("timeout")
            .args(["60", "sh", "-c", "while :; do :; done"])
            .spawn()
            .expect("timeout and sh are on a Linux host");
        Spinner(child)
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        // SIGTERM to `timeout`, which passes it to the spinning shell.
        // SAFETY: kill has no memory preconditions; the pid is our child's.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

/// The host's busy share of its CPU time over `over`, from /proc/stat (this
/// test process is idle meanwhile); a ratio, so the tick rate cancels.
fn host_busy_share(over: Duration) -> f64 {
    // proc(5): cpu user nice system idle iowait irq softirq steal ...
    let read = || {
        let text = std::fs::read_to_string("/proc/stat").unwrap();
        let f: Vec<f64> = text.lines().next().unwrap()[3..]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect();
        let busy = f[0] + f[1] + f[2] + f[5] + f[6];
        (busy, busy + f[3] + f[4] + f[7])
    };
    let (busy_a, total_a) = read();
    std::thread::sleep(over);
    let (busy_b, total_b) = read();
    if total_b > total_a {
        (busy_b - busy_a) / (total_b - total_a)
    } else {
        0.0
    }
}

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

/// One trial of about two seconds on the sim; returns stderr (progress
/// lines, as stderr is a pipe) and report.md.
fn one_trial(dir: &Path, name: &str, max_share: f64) -> (String, String) {
    let exp = experiment(
        dir,
        &format!("{name}.yaml"),
        &format!(
            "name: {name}\ntarget: {{builtin: sim, model: m}}\nprompts: {{prompts}}\n\
             baseline: {{concurrency: 1, input_tokens: 20, output_tokens: 20}}\nfactors: {{}}\n\
             repetitions: 1\nwarmup: {{requests: 0}}\ntrial: {{duration: 2s}}\n\
             stats: {{max_other_cpu_share: {max_share}}}\n"
        ),
    );
    let out = dir.join("out");
    let assert = bin()
        .current_dir(repo())
        .args(["run", "--format", "md", "--out"])
        .arg(&out)
        .arg(&exp)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    let md = std::fs::read_to_string(single_run(&out, name).join("report.md")).unwrap();
    (stderr, md)
}

const WARNED: &str = "the host was busy";
const LINE: &str = "host busy:";

#[test]
fn a_busy_process_of_our_own_is_warned_of_and_a_quiet_host_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    // The spinner holds one core: on many cores a quarter is more than one.
    let max = (0.5 / cores()).min(0.25);

    // Quiet: only where the host is quiet to begin with (other people's
    // compilers are not ours to stop).
    let before = host_busy_share(Duration::from_secs(1));
    if before > max / 2.0 {
        eprintln!(
            "skipping the no-warning half: the host is already {:.0}% busy (over {:.0}%) before the test",
            before * 100.0,
            max * 50.0
        );
    } else {
        let (stderr, md) = one_trial(tmp.path(), "quiet", max);
        let warned = md.contains(WARNED) || stderr.contains(LINE);
        let after = host_busy_share(Duration::from_secs(1));
        if warned && after > max / 2.0 {
            eprintln!(
                "the host grew busy during the no-warning half ({:.0}%); not judged",
                after * 100.0
            );
        } else {
            assert!(!warned, "a quiet host warned:\n{stderr}\n{md}");
        }
    }

    // Busy: a separate process spins a core through the trial.
    let spinner = Spinner::start();
    std::thread::sleep(Duration::from_millis(300));
    let (stderr, md) = one_trial(tmp.path(), "busy", max);
    drop(spinner);
    assert!(
        stderr.contains(LINE),
        "no warning in the progress line:\n{stderr}"
    );
    assert!(md.contains(WARNED), "no warning in report.md:\n{md}");
    assert!(
        md.contains("processes other than the server and infer-bench"),
        "the sim is ours, so the figure leaves it out:\n{md}"
    );
    let trials = single_run(&tmp.path().join("out"), "busy").join("trials.parquet");
    let share = other_share(&trials);
    assert!(share > max, "trials.parquet keeps the share: {share}");
}

/// The one trial's `host_other_cpu_share` in trials.parquet.
fn other_share(path: &Path) -> f64 {
    let df = infer_bench::results::read_parquet(path).unwrap();
    df.column("host_other_cpu_share")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap()
}
