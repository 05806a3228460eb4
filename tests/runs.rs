//! Runs against a separately started sim, chat and duration trials, and a
//! run killed half-way.

mod common;

use common::{bin, experiment, run, single_run, spawn_run, wait_for_manifest};
use infer_bench::results::{read_run, Status};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `infer-bench sim` as its own process, stopped by pid when dropped.
struct SimProcess {
    child: Child,
    port: u16,
}

impl SimProcess {
    fn start() -> SimProcess {
        Self::start_with(&[])
    }

    fn start_with(extra: &[&str]) -> SimProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
            .args(["sim", "--port", &port.to_string(), "--jitter", "0"])
            .args(extra)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "sim did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        SimProcess { child, port }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn chat_by_duration_against_a_separate_server() {
    let sim = SimProcess::start();
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "chat.yaml",
        &format!(
            "name: chat\ntarget: {{base_url: 'http://127.0.0.1:{}/v1', api: chat, model: sim-q8_0, headers: {{X-Run: t}}, params: {{temperature: '{{{{ temp }}}}'}}}}\n\
             prompts: {{prompts}}\nbaseline: {{concurrency: 2, output_tokens: 3, temp: 0}}\nfactors:\n  temp: [0, 0.5]\n\
             repetitions: 1\nwarmup: {{requests: 1}}\ntrial: {{duration: 1s}}\n",
            sim.port
        ),
    );
    run(tmp.path(), &exp, &["--format", "table,json"], 0);
    let dir = single_run(tmp.path(), "chat");
    let run = read_run(&dir).unwrap();
    assert_eq!(run.trials.len(), 2);
    // About 1 s of back-to-back ~50 ms requests, two at a time.
    let per_trial = run.records.iter().filter(|r| r.trial == 0).count();
    assert!(
        (15..=150).contains(&per_trial),
        "{per_trial} requests in 1 s"
    );
    assert!(run
        .records
        .iter()
        .all(|r| r.ok && r.completion_tokens == Some(3)));
    assert!(
        run.records.iter().all(|r| r.sent_s < 1.0),
        "no request starts after the duration"
    );
    assert!(dir.join("summary.json").is_file());
    assert_eq!(
        run.manifest.target_url.as_deref(),
        Some(format!("http://127.0.0.1:{}/v1", sim.port).as_str())
    );
}

#[test]
fn an_unreachable_server_fails_the_run_with_exit_1() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "down.yaml",
        &format!("name: down\ntarget: {{base_url: 'http://127.0.0.1:{port}/v1'}}\nprompts: {{prompts}}\nrepetitions: 1\ntrial: {{requests: 2}}\n"),
    );
    let (_, stderr) = run(tmp.path(), &exp, &[], 1);
    assert!(
        stderr.contains("every warm-up request failed") && stderr.contains("connection failed"),
        "{stderr}"
    );
    let run = read_run(&single_run(tmp.path(), "down")).unwrap();
    assert_eq!(run.manifest.status, Status::Failed);
}

#[test]
fn a_killed_run_keeps_every_finished_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "long.yaml",
        "name: long\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\nbaseline: {concurrency: 1, output_tokens: 10}\n\
         factors:\n  concurrency: [1, 2]\nrepetitions: 50\nwarmup: {requests: 0}\ntrial: {requests: 3}\n",
    );
    let mut child = spawn_run(tmp.path(), &exp);
    wait_for_manifest(tmp.path(), "long", |m| m.trials_done >= 3);
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    let dir = single_run(tmp.path(), "long");
    let run = read_run(&dir).unwrap();
    assert_eq!(
        run.manifest.status,
        Status::Running,
        "the manifest still says running"
    );
    assert!(!run.records.is_empty());
    assert_eq!(
        run.records.len() % 3,
        0,
        "only whole trials: {}",
        run.records.len()
    );
    assert!(run.records.len() / 3 >= run.manifest.trials_done);
    // The partial run can still be analysed.
    bin().arg("report").arg(&dir).assert().success();
    assert!(dir.join("requests.parquet").is_file());
}

/// Two servers in one run: a factor picks the target, so the randomized
/// blocks interleave them under the same prompt set. Server b has one slot,
/// so four requests in flight queue there and its TTFT is worse.
#[test]
fn a_server_factor_compares_two_targets_in_one_run() {
    let (a, b) = (
        SimProcess::start_with(&["--slots", "4"]),
        SimProcess::start_with(&["--slots", "1"]),
    );
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "two.yaml",
        &format!(
            "name: two\ntarget:\n  base_url: \"http://127.0.0.1:{{% if server == 'a' %}}{}{{% else %}}{}{{% endif %}}/v1\"\n  model: m\n\
             prompts: {{prompts}}\nbaseline: {{server: a, concurrency: 4, output_tokens: 8}}\nfactors:\n  server: [a, b]\n\
             repetitions: 3\nwarmup: {{requests: 4}}\ntrial: {{requests: 8}}\n",
            a.port, b.port
        ),
    );
    run(tmp.path(), &exp, &[], 0);
    let dir = single_run(tmp.path(), "two");
    let stats = std::fs::read_to_string(dir.join("stats.csv")).unwrap();
    let ttft = stats
        .lines()
        .find(|l| l.starts_with("ttft_p50_ms,"))
        .unwrap();
    assert!(ttft.ends_with(",slower"), "{ttft}");
}
