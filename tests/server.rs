//! Server lifecycle, with `infer-bench sim` as the launched server: started
//! per configuration, restarted when the levels its command uses change,
//! stopped by pid at the end, its log and fingerprint in the run folder.

mod common;

use common::{experiment, run, single_run, spawn_run, wait_for_manifest};
use infer_bench::results::read_run;

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by whoever adopted it) is not alive.
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false);
    // SAFETY: signal 0 only checks that the process exists.
    !zombie && unsafe { libc::kill(pid as i32, 0) == 0 }
}

#[test]
fn servers_restart_when_their_levels_change_and_stop_at_the_end() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = assert_cmd::cargo::cargo_bin("infer-bench");
    let exp = experiment(
        tmp.path(),
        "launch.yaml",
        &format!(
            "name: launch\ntarget:\n  model: m\n  server:\n    command: \"{} sim --port {{{{ port }}}} --slots {{{{ slots }}}} --jitter 0\"\n    ready: /health\n\
             prompts: {{prompts}}\nbaseline: {{slots: 1, concurrency: 2, output_tokens: 4}}\nfactors:\n  slots: [1, 2]\n  concurrency: [2, 1]\n\
             repetitions: 2\nwarmup: {{requests: 1}}\ntrial: {{requests: 4}}\n",
            sim.display()
        ),
    );
    run(tmp.path(), &exp, &[], 0);
    let dir = single_run(tmp.path(), "launch");
    let run = read_run(&dir).unwrap();
    let m = &run.manifest;

    // A launch each time the plan moves between slots=1 and slots=2.
    let slots_of =
        |t: &infer_bench::plan::Trial| run.configurations[t.config].values["slots"].to_string();
    let changes = run
        .trials
        .windows(2)
        .filter(|w| slots_of(&w[0]) != slots_of(&w[1]))
        .count();
    assert_eq!(m.servers.len(), 1 + changes, "{:?}", m.servers);
    assert_eq!(m.server_restarts, changes);
    for launch in &m.servers {
        assert!(!alive(launch.pid), "server {} still running", launch.pid);
        assert!(launch.exit.is_some() && launch.stopped_at.is_some());
        assert!(dir.join(&launch.log).is_file());
        assert!(
            launch.fingerprint.models.is_some(),
            "fingerprint has /v1/models"
        );
        assert!(launch.command.contains("--slots"));
    }
    // The sim is a separate process here, so its memory was sampled.
    assert!(run
        .samples
        .iter()
        .any(|s| s.name == "rss_mb" && s.value > 1.0));
    assert!(run.records.iter().all(|r| r.ok()));
}

#[test]
fn a_server_that_dies_at_start_fails_the_run_with_its_log() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "dies.yaml",
        "name: dies\ntarget:\n  server:\n    command: \"sh -c 'echo no model file here >&2; exit 3'\"\nprompts: {prompts}\nrepetitions: 1\ntrial: {requests: 1}\n",
    );
    let (_, stderr) = run(tmp.path(), &exp, &[], 1);
    assert!(
        stderr.contains("exited (exit status: 3) before it was ready"),
        "{stderr}"
    );
    assert!(stderr.contains("no model file here"), "{stderr}");
}

/// An experiment whose launched sim would run for minutes.
fn long_launched(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let sim = assert_cmd::cargo::cargo_bin("infer-bench");
    experiment(
        dir,
        &format!("{name}.yaml"),
        &format!(
            "name: {name}\ntarget:\n  model: m\n  server:\n    command: \"{} sim --port {{{{ port }}}}\"\n\
             prompts: {{prompts}}\nbaseline: {{output_tokens: 8}}\nrepetitions: 500\nwarmup: {{requests: 0}}\ntrial: {{requests: 2}}\n",
            sim.display()
        ),
    )
}

#[test]
fn ctrl_c_stops_the_server_and_marks_the_run_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = long_launched(tmp.path(), "long");
    let mut child = spawn_run(tmp.path(), &exp);
    wait_for_manifest(tmp.path(), "long", |m| m.trials_done >= 2);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));

    let run = read_run(&single_run(tmp.path(), "long")).unwrap();
    assert_eq!(
        run.manifest.status,
        infer_bench::results::Status::Interrupted
    );
    assert_eq!(run.manifest.servers.len(), 1);
    let pid = run.manifest.servers[0].pid;
    assert!(!alive(pid), "server {pid} left running after Ctrl-C");
    assert!(run.records.len() >= 4 && run.records.len() % 2 == 0);
}

/// A resumed run names its server's log past every taken name, a dangling
/// link planted there included: the link is never followed, so nothing is
/// written where it points.
#[test]
fn a_resumed_run_never_writes_its_server_log_through_a_planted_link() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = long_launched(tmp.path(), "relog");
    let mut child = spawn_run(tmp.path(), &exp);
    wait_for_manifest(tmp.path(), "relog", |m| m.trials_done >= 1);
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    child.wait().unwrap();
    let dir = single_run(tmp.path(), "relog");
    assert!(dir.join("server-00.log").is_file());
    let outside = tmp.path().join("outside.log");
    std::os::unix::fs::symlink(&outside, dir.join("server-01.log")).unwrap();

    let mut resumed = std::process::Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
        .args(["run", "--quiet"])
        .arg(&exp)
        .arg("--resume")
        .arg(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let before = read_run(&dir).unwrap().manifest.trials_done;
    wait_for_manifest(tmp.path(), "relog", |m| m.trials_done > before);
    // SAFETY: as above.
    unsafe { libc::kill(resumed.id() as i32, libc::SIGINT) };
    resumed.wait().unwrap();
    assert!(!outside.exists(), "the server's log went through the link");
    assert!(dir.join("server-02.log").is_file());
}

/// Even a SIGKILL of infer-bench leaves no launched server behind: the
/// kernel sends it SIGTERM when its parent dies.
#[cfg(target_os = "linux")]
#[test]
fn a_killed_infer_bench_takes_its_server_with_it() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    let exp = long_launched(tmp.path(), "orphan");
    let mut child = spawn_run(tmp.path(), &exp);
    let pid = wait_for_manifest(tmp.path(), "orphan", |m| !m.servers.is_empty()).servers[0].pid;
    assert!(alive(pid));
    child.kill().unwrap(); // SIGKILL: infer-bench cannot clean up
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid) {
        assert!(
            Instant::now() < deadline,
            "server {pid} outlived a killed infer-bench"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A launched server that crashes mid-trial: that trial is marked failed with
/// its records kept, the server is relaunched, the run finishes, and the
/// report says so.
#[test]
fn a_server_that_dies_mid_trial_is_relaunched_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("infer-bench");
    // The sim exits on its 7th generation request: in the second trial.
    let exp = experiment(
        tmp.path(),
        "crash.yaml",
        &format!(
            "name: crash\ntarget:\n  model: m\n  server:\n    command: \"{} sim --port {{{{ port }}}} --jitter 0 --exit-after 7\"\n    ready_timeout: 20s\n\
             prompts: {{prompts}}\nbaseline: {{concurrency: 1, input_tokens: 20, output_tokens: 4}}\nrepetitions: 3\nwarmup: {{requests: 0}}\ntrial: {{requests: 4}}\n",
            bin.display()
        ),
    );
    let (stdout, _) = run(tmp.path(), &exp, &[], 0);
    let data = infer_bench::results::read_run(&single_run(tmp.path(), "crash")).unwrap();
    let m = &data.manifest;
    assert_eq!(m.status, infer_bench::results::Status::Complete);
    assert_eq!(m.trials_done, 3);
    assert_eq!(m.failed_trials.len(), 1, "{:?}", m.failed_trials);
    assert_eq!(m.failed_trials[0].trial, 1);
    assert!(
        m.failed_trials[0].reason.contains("exit status: 3"),
        "{}",
        m.failed_trials[0].reason
    );
    assert_eq!(m.servers.len(), 2, "relaunched once");
    assert_eq!(data.records.len(), 12);
    let failed: Vec<_> = data.records.iter().filter(|r| !r.ok()).collect();
    assert_eq!(failed.len(), 2, "the crashing request and the one after it");
    assert!(failed.iter().all(|r| r.trial == 1));
    assert!(stdout.contains("trial 1 (baseline) failed"), "{stdout}");
}

/// `{{ experiment_dir }}` in a server command is the experiment's folder
/// even when the file is named without one (once an empty string, so
/// `{{ experiment_dir }}/model.gguf` became `/model.gguf`).
#[test]
fn experiment_dir_is_the_working_folder_for_a_bare_file_name() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = assert_cmd::cargo::cargo_bin("infer-bench");
    experiment(
        tmp.path(),
        "bare.yaml",
        &format!(
            "name: bare\ntarget:\n  model: m\n  server:\n    command: \"sh -c 'test -f {{{{ experiment_dir }}}}/bare.yaml && exec {} sim --port {{{{ port }}}} --jitter 0'\"\n    ready: /health\n\
             prompts: {{prompts}}\nbaseline: {{concurrency: 1, output_tokens: 2}}\nrepetitions: 1\nwarmup: {{requests: 0}}\ntrial: {{requests: 2}}\n",
            sim.display()
        ),
    );
    common::bin()
        .current_dir(tmp.path())
        .args(["run", "bare.yaml", "--out", "results"])
        .assert()
        .success();
    let run = read_run(&single_run(&tmp.path().join("results"), "bare")).unwrap();
    assert_eq!(run.records.len(), 2);
}
