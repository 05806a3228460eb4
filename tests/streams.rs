//! Write errors on stdout and stderr, by class, for every command that
//! prints: a full stdout (`> /dev/full`) is a one-line error and exit 1, a
//! stdout reader that went away ends the command quietly with exit 0, and a
//! closed stderr changes nothing. A run in each case still finishes its
//! trials and sets its manifest: never a panic, never death by SIGPIPE.

mod common;

use common::{experiment, run};
use infer_bench::results::{read_run, Status};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

/// Where the child's stream goes.
#[derive(Clone, Copy, Debug)]
enum Sink {
    /// `/dev/full`: every write fails with ENOSPC.
    Full,
    /// A pipe whose read end is dropped at once: writes fail with EPIPE.
    Closed,
    /// A pipe read to the end.
    Read,
}

fn stdio(sink: Sink) -> Stdio {
    match sink {
        Sink::Full => File::options()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full opens")
            .into(),
        Sink::Closed | Sink::Read => Stdio::piped(),
    }
}

/// Runs `infer-bench args` with its streams sent as told; returns the exit
/// status and what stderr said where it was read.
fn spawn(args: &[String], stdout: Sink, stderr: Sink) -> (ExitStatus, String) {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdio(stdout))
        .stderr(stdio(stderr))
        .spawn()
        .expect("starting infer-bench");
    if let Sink::Closed = stdout {
        drop(child.stdout.take());
    }
    if let Sink::Closed = stderr {
        drop(child.stderr.take());
    }
    let output = child.wait_with_output().expect("waiting for infer-bench");
    (
        output.status,
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

const EXPERIMENT: &str = "name: streams\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
     baseline: {concurrency: 1, output_tokens: 4}\nfactors:\n  concurrency: [1, 2]\n\
     repetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 3}\n";

/// The run folders under `out/streams/`, oldest first.
fn runs_of(out: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out.join("streams"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    runs
}

fn strings(args: &[&str], paths: &[&Path]) -> Vec<String> {
    args.iter()
        .map(ToString::to_string)
        .chain(paths.iter().map(|p| p.display().to_string()))
        .collect()
}

/// Every command that prints to stdout, over a fixture of two finished runs;
/// `run` writes into `out`, whose one new run folder the caller checks.
fn commands(tmp: &Path, out: &Path) -> Vec<(&'static str, Vec<String>)> {
    let exp = experiment(tmp, "streams.yaml", EXPERIMENT);
    let fixtures = tmp.join("fixtures");
    run(&fixtures, &exp, &[], 0);
    run(&fixtures, &exp, &[], 0);
    let runs = runs_of(&fixtures);
    let (a, b) = (runs[0].as_path(), runs[1].as_path());
    vec![
        ("validate", strings(&["validate"], &[&exp])),
        ("plan", strings(&["plan"], &[&exp])),
        ("plan --json", strings(&["plan", "--json"], &[&exp])),
        ("schema", strings(&["schema"], &[])),
        ("schema --summary", strings(&["schema", "--summary"], &[])),
        ("report", strings(&["report"], &[a])),
        ("compare", strings(&["compare"], &[a, b])),
        (
            "history",
            strings(&["history"], &[&fixtures.join("streams")]),
        ),
        ("run", strings(&["run", "--out"], &[out, &exp])),
    ]
}

/// `run`'s folder in `out` is there, complete, and `out` is emptied for the
/// next case.
fn assert_run_complete(out: &Path, case: &str) {
    let runs = runs_of(out);
    assert_eq!(runs.len(), 1, "{case}: one run folder, found {runs:?}");
    let recorded = read_run(&runs[0]).unwrap();
    assert_eq!(recorded.manifest.status, Status::Complete, "{case}");
    assert_eq!(recorded.manifest.trials_done, 4, "{case}: every trial ran");
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_full_stdout_is_a_one_line_error_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (name, args) in commands(tmp.path(), &out) {
        let (status, stderr) = spawn(&args, Sink::Full, Sink::Read);
        assert_eq!(status.code(), Some(1), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
        assert_eq!(
            errors,
            ["error: writing to stdout: No space left on device (os error 28)"],
            "{name}: {stderr}"
        );
        if name == "run" {
            assert_run_complete(&out, name);
        }
    }
}

#[test]
fn a_stdout_reader_gone_away_ends_the_command_quietly_with_exit_0() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (name, args) in commands(tmp.path(), &out) {
        let (status, stderr) = spawn(&args, Sink::Closed, Sink::Read);
        assert_eq!(status.code(), Some(0), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(!stderr.contains("error"), "{name}: {stderr}");
        if name == "run" {
            assert_run_complete(&out, name);
        }
    }
}

#[test]
fn a_closed_stderr_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    for (name, args) in commands(tmp.path(), &out) {
        // Without --quiet a run writes a progress line per trial to a
        // stderr that is not a terminal: each of them fails here.
        let (status, _) = spawn(&args, Sink::Read, Sink::Closed);
        assert_eq!(status.code(), Some(0), "{name}");
        if name == "run" {
            assert_run_complete(&out, name);
        }
    }
}

#[test]
fn an_error_on_a_closed_stderr_keeps_its_exit_code() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = experiment(tmp.path(), "bad.yaml", "name: bad\nrepetitions: [\n");
    let args = strings(&["validate"], &[&bad]);
    let (status, _) = spawn(&args, Sink::Read, Sink::Closed);
    assert_eq!(status.code(), Some(2));
}

#[test]
fn a_closed_stdout_and_stderr_still_record_the_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(tmp.path(), "streams.yaml", EXPERIMENT);
    let out = tmp.path().join("out");
    let args = strings(&["run", "--out"], &[&out, &exp]);
    let (status, _) = spawn(&args, Sink::Closed, Sink::Closed);
    assert_eq!(status.code(), Some(0));
    assert_run_complete(&out, "run, both closed");
}

/// A run whose stderr reader went away, then stopped by SIGTERM mid-run:
/// the closed stream neither kills it (SIGPIPE) nor keeps it from marking
/// its manifest `interrupted`, never leaving it `running`.
#[test]
fn a_run_with_a_closed_stderr_stopped_by_sigterm_is_marked_interrupted() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "long.yaml",
        "name: long\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, output_tokens: 20}\nrepetitions: 50\nwarmup: {requests: 0}\ntrial: {requests: 4}\n",
    );
    let out = tmp.path().join("out");
    // Not --quiet: a progress line per trial goes to the closed stderr.
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
        .args(strings(&["run", "--out"], &[&out, &exp]))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting infer-bench");
    drop(child.stderr.take());
    common::wait_for_manifest(&out, "long", |m| m.trials_done >= 2);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "{status:?}");
    let dir = common::single_run(&out, "long");
    let recorded = read_run(&dir).unwrap();
    assert_eq!(recorded.manifest.status, Status::Interrupted);
    assert!(recorded.manifest.trials_done >= 2);
    assert!(recorded
        .manifest
        .error
        .is_some_and(|e| e.contains("SIGTERM")));
}
