//! Signals while a trial is prepared and once the trials are over, and
//! trials that fail every request.
//!
//! SIGINT and SIGTERM stop the report phase of `run`, and `report` and
//! `compare`, promptly: exit 1 as an interrupted run exits, the manifest
//! still says the trials completed, no temporary or half-written file is
//! left, and a later `report` writes the whole report. A trial against a
//! dead endpoint backs off and stops on `max_error_rate` while it runs,
//! every planned request still one record.

mod common;
#[allow(dead_code)] // the hostile server's parts other tests use
#[path = "hostile/server.rs"]
mod server;

use common::{bin, experiment, run, single_run};
use infer_bench::record::{Record, RequestStatus};
use infer_bench::results::{read_run, Status};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Records of trial 0 copied this many times over: enough that the
/// report phase of a debug build takes seconds (about 12 000 records a
/// second on a 2-core machine), so a signal lands inside it.
const COPIES: usize = 1200;

/// The longest a stop may take. The report stops between chunks of 8192
/// records: tens of milliseconds in a release build, but seconds in a debug
/// build on two cores shared with the rest of the suite. That it stopped
/// before finishing is asserted by the files it did not write.
const PROMPTLY: Duration = Duration::from_secs(10);

const EXPERIMENT: &str = "name: big\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
     baseline: {concurrency: 8, output_tokens: 2}\nrepetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 50}\n";

/// What a report writes: none of it may be left half-written.
const DERIVED: &[&str] = &[
    "requests.parquet",
    "trials.parquet",
    "summary.csv",
    "stats.csv",
    "estimates.csv",
    "report.md",
    "report.html",
];

/// A run folder whose trial 0 is done with 50 × [`COPIES`] records and whose
/// trial 1 is not: a resume runs trial 1 in a moment, then reports them all.
fn big_interrupted_run(tmp: &Path) -> (PathBuf, PathBuf) {
    let exp = experiment(tmp, "big.yaml", EXPERIMENT);
    run(tmp, &exp, &[], 0);
    let dir = single_run(tmp, "big");
    let journal = std::fs::read_to_string(dir.join("requests.jsonl")).unwrap();
    let first: Vec<&str> = journal
        .lines()
        .filter(|l| Record::from_json_line(l.as_bytes()).unwrap().trial == 0)
        .collect();
    assert_eq!(first.len(), 50);
    let mut big = String::with_capacity(journal.len() * COPIES);
    for _ in 0..COPIES {
        for line in &first {
            big.push_str(line);
            big.push('\n');
        }
    }
    std::fs::write(dir.join("requests.jsonl"), big).unwrap();
    std::fs::write(dir.join("done.jsonl"), "{\"trial\":0,\"records\":50}\n").unwrap();
    let path = dir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["status"] = "interrupted".into();
    m["trials_done"] = 1.into();
    std::fs::write(&path, serde_json::to_string(&m).unwrap()).unwrap();
    for name in DERIVED {
        std::fs::remove_file(dir.join(name)).unwrap();
    }
    (exp, dir)
}

fn spawn(args: &[&std::ffi::OsStr]) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting infer-bench")
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, sig) };
}

/// Waits for `child` (at most 60 s); returns its exit code, stderr, and how
/// long it took from `since`.
fn finish(child: Child, since: Instant) -> (Option<i32>, String, Duration) {
    let deadline = since + Duration::from_secs(60);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the command never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = since.elapsed();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code(), stderr, took)
}

/// Names in `dir` that a report writes on its way: temporaries
/// (`.NAME.*.tmp`) and the analysis's spill folders (`.analysis-*`).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.') || n.ends_with(".tmp"))
        .collect()
}

fn status_of(dir: &Path) -> (Status, usize) {
    let m: infer_bench::results::Manifest =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    (m.status, m.trials_done)
}

/// The folder reports whole afterwards: every record, every file.
fn assert_reportable(dir: &Path) {
    bin().arg("report").arg(dir).assert().success();
    for name in DERIVED {
        assert!(dir.join(name).is_file(), "{name} after a later report");
    }
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
    let run = read_run(dir).unwrap();
    assert_eq!(run.records.len(), 50 * COPIES + 50);
}

#[test]
fn sigint_in_the_report_phase_of_a_run_stops_it_and_leaves_the_run_reportable() {
    let tmp = tempfile::tempdir().unwrap();
    let (exp, dir) = big_interrupted_run(tmp.path());
    let child = spawn(&[
        "run".as_ref(),
        "--quiet".as_ref(),
        "--resume".as_ref(),
        dir.as_os_str(),
        "--out".as_ref(),
        tmp.path().as_os_str(),
        exp.as_os_str(),
    ]);
    // The trials are over once the manifest says complete: the report
    // phase has begun (it takes seconds here).
    let deadline = Instant::now() + Duration::from_secs(30);
    while status_of(&dir).0 != Status::Complete {
        assert!(Instant::now() < deadline, "trial 1 never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    signal(&child, libc::SIGINT);
    let (code, stderr, took) = finish(child, sent);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < PROMPTLY, "stopped after {took:?}");
    assert!(
        stderr.contains("interrupted (Ctrl-C)") && stderr.contains("report phase was stopped"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The trials stay as they ended: complete, both of them.
    assert_eq!(status_of(&dir), (Status::Complete, 2));
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    // The last file a report writes was not reached.
    assert!(!dir.join("report.html").exists());
    assert_reportable(&dir);
}

#[test]
fn sigterm_stops_report_and_compare_with_nothing_half_written() {
    let tmp = tempfile::tempdir().unwrap();
    let (exp, dir) = big_interrupted_run(tmp.path());
    run(tmp.path(), &exp, &["--resume", dir.to_str().unwrap()], 0);
    let html = tmp.path().join("compare.html");
    let commands: [(&str, Vec<&std::ffi::OsStr>); 2] = [
        ("report", vec!["report".as_ref(), dir.as_os_str()]),
        (
            "compare",
            vec![
                "compare".as_ref(),
                dir.as_os_str(),
                dir.as_os_str(),
                "--html".as_ref(),
                html.as_os_str(),
            ],
        ),
    ];
    // Each file a report writes is a new inode (written aside, renamed).
    let report = || {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata(dir.join("report.html")).unwrap().ino()
    };
    let before = report();
    for (name, args) in commands {
        // Without requests.parquet `report` writes it again, from the start.
        let _ = std::fs::remove_file(dir.join("requests.parquet"));
        let child = spawn(&args);
        std::thread::sleep(Duration::from_millis(700));
        let sent = Instant::now();
        signal(&child, libc::SIGTERM);
        let (code, stderr, took) = finish(child, sent);
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert!(took < PROMPTLY, "{name}: stopped after {took:?}");
        assert!(stderr.contains("interrupted (SIGTERM)"), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert!(leftovers(&dir).is_empty(), "{name}: {:?}", leftovers(&dir));
        assert!(!html.exists(), "{name}: no comparison page");
        // The report the run wrote is the one there, not replaced half-way.
        assert_eq!(report(), before, "{name}");
        assert_eq!(status_of(&dir), (Status::Complete, 2), "{name}");
    }
    assert_reportable(&dir);
}

/// A trial of millions of requests spends seconds composing them before the
/// first is sent, without awaiting anything (once minutes, every prompt
/// rendered up to 20 times). A signal then stops the run as it does
/// mid-trial: promptly, exit 1, the manifest `interrupted`.
#[test]
fn sigterm_while_a_huge_trial_is_prepared_stops_the_run_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "huge.yaml",
        "name: huge\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
         baseline: {concurrency: 4, output_tokens: 2}\nwarmup: {requests: 0}\ntrial: {requests: 3000000}\n",
    );
    let out = tmp.path().join("results");
    let child = spawn(&[
        "run".as_ref(),
        exp.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    let manifest = loop {
        let found = std::fs::read_dir(out.join("huge"))
            .ok()
            .and_then(|mut d| d.next());
        if let Some(run) = found {
            break run.unwrap().path();
        }
        assert!(Instant::now() < deadline, "no run folder");
        std::thread::sleep(Duration::from_millis(20));
    };
    // Well inside the preparation, which takes tens of seconds here.
    std::thread::sleep(Duration::from_millis(1500));
    let sent = Instant::now();
    signal(&child, libc::SIGTERM);
    let (code, stderr, took) = finish(child, sent);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < PROMPTLY, "stopped after {took:?}");
    assert!(stderr.contains("interrupted (SIGTERM)"), "{stderr}");
    assert_eq!(status_of(&manifest), (Status::Interrupted, 0), "{stderr}");
}

/// A port nothing listens on: bound, then let go.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An experiment against a dead port; `load` is the `load:` line, if any,
/// and `baseline` the baseline's load level.
fn dead_experiment(tmp: &Path, load: &str, baseline: &str, trial: &str) -> PathBuf {
    experiment(
        tmp,
        "dead.yaml",
        &format!(
            "name: dead\ntarget: {{base_url: 'http://127.0.0.1:{}/v1', model: m}}\nprompts: {{prompts}}\n\
             baseline: {{{baseline}, output_tokens: 4}}\n{load}repetitions: 1\nwarmup: {{requests: 0}}\ntrial: {trial}\n",
            dead_port()
        ),
    )
}

/// Runs `exp`, expecting the max_error_rate failure whose first error
/// says `reason`; returns the records (checked one per request number,
/// 0..n) and how long the run took.
fn dead_run(tmp: &Path, exp: &Path, reason: &str) -> (Vec<Record>, Duration) {
    let start = Instant::now();
    let (_, stderr) = run(tmp, exp, &[], 1);
    let took = start.elapsed();
    assert!(
        stderr.contains("requests failed") && stderr.contains("> max_error_rate 50%"),
        "{stderr}"
    );
    assert!(stderr.contains(reason), "{stderr}");
    let run = read_run(&single_run(tmp, "dead")).unwrap();
    assert_eq!(run.manifest.status, Status::Failed);
    assert_eq!(run.manifest.trials_done, 1, "the trial's records are kept");
    let mut numbers: Vec<usize> = run.records.iter().map(|r| r.request).collect();
    numbers.sort_unstable();
    assert!(
        numbers.iter().copied().eq(0..numbers.len()),
        "each request exactly once: {numbers:?}"
    );
    (run.records, took)
}

fn count(records: &[Record], status: RequestStatus) -> usize {
    records.iter().filter(|r| r.status == status).count()
}

#[test]
fn a_duration_trial_against_a_dead_port_backs_off_and_stops_on_its_error_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = dead_experiment(
        tmp.path(),
        "",
        "concurrency: 1",
        "{duration: 5s, max_error_rate: 0.5}",
    );
    let (records, took) = dead_run(tmp.path(), &exp, "Connection refused");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    // Without the backoff one stream failed ~17 000 requests a second.
    assert!(
        (infer_bench::load::MIN_ENDED..100).contains(&records.len()),
        "{} records",
        records.len()
    );
    assert_eq!(count(&records, RequestStatus::Failed), records.len());
    // Backed off: each failure waited longer than the one before, up to
    // the cap (sent_s is when each went).
    let mut sent: Vec<f64> = records.iter().map(|r| r.sent_s).collect();
    sent.sort_by(f64::total_cmp);
    let gaps: Vec<f64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.iter().all(|g| *g >= 0.009), "{gaps:?}");
    assert!(gaps.last().is_some_and(|g| *g >= 0.09), "{gaps:?}");
}

#[test]
fn a_counted_closed_loop_stops_early_with_its_unsent_requests_recorded_cancelled() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = dead_experiment(
        tmp.path(),
        "",
        "concurrency: 1",
        "{requests: 300, max_error_rate: 0.5}",
    );
    let (records, took) = dead_run(tmp.path(), &exp, "Connection refused");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(records.len(), 300, "every planned request is one record");
    let failed = count(&records, RequestStatus::Failed);
    assert!(
        (infer_bench::load::MIN_ENDED..40).contains(&failed),
        "{failed} failed"
    );
    assert_eq!(count(&records, RequestStatus::Cancelled), 300 - failed);
    assert!(records
        .iter()
        .filter(|r| r.status == RequestStatus::Cancelled)
        .all(|r| r.error.as_deref() == Some(infer_bench::load::STOPPED_EARLY)));
}

#[test]
fn an_open_loop_keeps_its_schedule_and_stops_on_its_error_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = dead_experiment(
        tmp.path(),
        "load: constant\n",
        "rate: 100",
        "{requests: 500, max_error_rate: 0.5}",
    );
    let (records, took) = dead_run(tmp.path(), &exp, "Connection refused");
    // 500 arrivals at 100/s are 5 s; the trial stopped well before.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(records.len(), 500, "every arrival is one record");
    let failed = count(&records, RequestStatus::Failed);
    assert!(
        (infer_bench::load::MIN_ENDED..60).contains(&failed),
        "{failed} failed"
    );
    // No backoff: the failed ones went on their schedule (10 ms apart);
    // the rest keep the time they were due.
    let first = records.iter().find(|r| r.request == 0).unwrap().scheduled_s;
    let first = first.expect("an open loop's record has its schedule");
    for r in &records {
        let due = r
            .scheduled_s
            .expect("an open loop's record has its schedule");
        assert!(
            (due - first - r.request as f64 / 100.0).abs() < 1e-6,
            "{r:?}"
        );
        if r.status == RequestStatus::Failed {
            assert!(r.sent_s - due < 0.05, "sent late: {r:?}");
        }
    }
    assert_eq!(count(&records, RequestStatus::Cancelled), 500 - failed);
}

#[test]
fn sessions_stop_early_with_their_unsent_turns_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "dead.yaml",
        // Every generation answered 500 at once (the sim still tokenizes,
        // which filling the turns to their lengths needs).
        "name: dead\ntarget: {builtin: sim, model: m, api: chat, sim: {faults: {error: 1.0}}}\nprompts: {prompts}\n\
         workloads:\n  agent: {sessions: {turns: 3, first_input_tokens: 40, turn_input_tokens: 24, output_tokens: 4}}\n\
         baseline: {workload: agent, concurrency: 1}\nrepetitions: 1\nwarmup: {requests: 0}\n\
         trial: {requests: 120, max_error_rate: 0.5}\n",
    );
    let (records, took) = dead_run(tmp.path(), &exp, "injected fault");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    assert_eq!(records.len(), 120, "every planned turn is one record");
    // A session begun fails its first turn and leaves the rest unsent;
    // the sessions not begun when the rate stopped the trial are cancelled.
    let mut sessions = std::collections::BTreeMap::<u64, Vec<&Record>>::new();
    for r in &records {
        sessions.entry(r.session.unwrap()).or_default().push(r);
    }
    assert_eq!(sessions.len(), 40);
    let (mut begun, mut cut) = (0, 0);
    for turns in sessions.values_mut() {
        turns.sort_by_key(|r| r.turn);
        let statuses: Vec<RequestStatus> = turns.iter().map(|r| r.status).collect();
        if statuses[0] == RequestStatus::Failed {
            begun += 1;
            // Its later turns unsent, up to the one where the rate tripped
            // (the session in progress then): the rest of it cancelled.
            let unsent = statuses[1..]
                .iter()
                .take_while(|s| **s == RequestStatus::Unsent)
                .count();
            assert!(
                statuses[1 + unsent..]
                    .iter()
                    .all(|s| *s == RequestStatus::Cancelled),
                "{statuses:?}"
            );
            cut += usize::from(unsent < 2);
        } else {
            assert_eq!(statuses, [RequestStatus::Cancelled; 3]);
            assert!(turns
                .iter()
                .all(|r| r.error.as_deref() == Some(infer_bench::load::STOPPED_EARLY)));
        }
    }
    // Twenty turns ended (a failure and two unsent each) trip the rate.
    assert!((7..=10).contains(&begun), "{begun} sessions begun");
    assert!(cut <= 1, "only the session in progress is cut short");
}

#[test]
fn a_healthy_run_with_some_failures_is_not_stopped() {
    // 20 % of requests fail at once (the sim's injected 500s): under the
    // limit, so the trial runs to its count.
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "flaky.yaml",
        "name: flaky\ntarget: {builtin: sim, model: m, sim: {jitter: 0, faults: {error: 0.2}}}\nprompts: {prompts}\n\
         baseline: {concurrency: 2, output_tokens: 2}\nrepetitions: 1\nwarmup: {requests: 0}\n\
         trial: {requests: 100, max_error_rate: 0.5}\n",
    );
    run(tmp.path(), &exp, &[], 0);
    let run = read_run(&single_run(tmp.path(), "flaky")).unwrap();
    assert_eq!(run.records.len(), 100);
    assert_eq!(count(&run.records, RequestStatus::Cancelled), 0);
    assert!(count(&run.records, RequestStatus::Failed) > 0);
}

/// A run against the hostile server's `behaviour` (concurrency 2).
fn hostile_experiment(tmp: &Path, h: &server::Hostile, behaviour: &str, trial: &str) -> PathBuf {
    experiment(
        tmp,
        &format!("{behaviour}.yaml"),
        &format!(
            "name: {behaviour}\ntarget: {{base_url: '{}', model: m, timeout: 5s}}\nprompts: {{prompts}}\n\
             baseline: {{concurrency: 2}}\nrepetitions: 1\nwarmup: {{requests: 0}}\ntrial: {trial}\n",
            h.url(behaviour)
        ),
    )
}

#[test]
fn a_server_failing_every_request_at_once_is_backed_off_and_stopped() {
    let h = server::Hostile::start();
    let tmp = tempfile::tempdir().unwrap();
    let exp = hostile_experiment(
        tmp.path(),
        &h,
        "fail-fast",
        "{duration: 5s, max_error_rate: 0.5}",
    );
    let start = Instant::now();
    let (_, stderr) = run(tmp.path(), &exp, &[], 1);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert!(stderr.contains("> max_error_rate 50%"), "{stderr}");
    let run = read_run(&single_run(tmp.path(), "fail-fast")).unwrap();
    let records = &run.records;
    assert!(
        (infer_bench::load::MIN_ENDED..200).contains(&records.len()),
        "{} records",
        records.len()
    );
    assert!(records
        .iter()
        .all(|r| r.status == RequestStatus::Failed && r.http_status == Some(500)));
    // Each request the server read is one record: none retried, none lost.
    assert_eq!(h.requests(), records.len());
}

#[test]
fn a_server_that_comes_back_is_served_at_once_after_its_failures() {
    let h = server::Hostile::start();
    let tmp = tempfile::tempdir().unwrap();
    let exp = hostile_experiment(tmp.path(), &h, "fail-first-30", "{requests: 100}");
    run(tmp.path(), &exp, &[], 0);
    let run = read_run(&single_run(tmp.path(), "fail-first-30")).unwrap();
    let mut records = run.records;
    assert_eq!(records.len(), 100);
    assert_eq!(h.requests(), 100, "one request read per record");
    assert_eq!(count(&records, RequestStatus::Failed), 30);
    assert_eq!(count(&records, RequestStatus::Ok), 70);
    // The first success clears each stream's backoff: the 70 answered
    // requests go back to back, as fast as the server answers them.
    records.sort_by(|a, b| a.sent_s.total_cmp(&b.sent_s));
    let served: Vec<&Record> = records.iter().filter(|r| r.ok()).collect();
    let span = served[served.len() - 1].sent_s - served[2].sent_s;
    let busy: f64 = served[2..].iter().map(|r| r.e2e_ms / 1000.0).sum::<f64>() / 2.0;
    assert!(
        span < busy + 0.5,
        "answered requests spread over {span:.3} s, {busy:.3} s of it answering"
    );
}
