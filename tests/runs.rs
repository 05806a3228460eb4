//! Runs against a separately started sim, chat and duration trials, and a
//! run killed half-way.

mod common;

use common::{bin, experiment, run, single_run, spawn_run, wait_for_manifest, SimProcess};
use infer_bench::results::{read_run, Status};

/// `infer-bench sim` as its own process, stopped by pid when dropped.
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
    // Two streams, each sending its next request the moment the last
    // ended, for 1 s: between 2 × ⌊1000 / slowest⌋ and 2 × ⌈1000 / fastest⌉
    // requests (a request starts until the second is over), from the
    // records' own latencies.
    let first: Vec<&infer_bench::record::Record> =
        run.records.iter().filter(|r| r.trial == 0).collect();
    let per_trial = first.len() as f64;
    let slowest = first.iter().map(|r| r.e2e_ms).fold(0.0, f64::max);
    let fastest = first.iter().map(|r| r.e2e_ms).fold(f64::MAX, f64::min);
    let (low, high) = (
        2.0 * (1000.0 / slowest).floor(),
        2.0 * (1000.0 / fastest).ceil(),
    );
    assert!(
        (low..=high).contains(&per_trial),
        "{per_trial} requests in 1 s, expected {low}..={high} from E2E {fastest:.1}..{slowest:.1} ms"
    );
    assert!(run
        .records
        .iter()
        .all(|r| r.ok() && r.completion_tokens == Some(3)));
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

#[test]
fn a_run_killed_with_sigkill_resumes_to_the_same_trials_as_an_uninterrupted_one() {
    let tmp = tempfile::tempdir().unwrap();
    let body = "target: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
                baseline: {concurrency: 1, input_tokens: 20, output_tokens: 6}\n\
                factors:\n  concurrency: [1, 2]\nrepetitions: 6\nwarmup: {requests: 0}\ntrial: {requests: 3}\n";
    let exp = experiment(tmp.path(), "resume.yaml", &format!("name: resume\n{body}"));
    let mut child = spawn_run(tmp.path(), &exp);
    wait_for_manifest(tmp.path(), "resume", |m| m.trials_done >= 3);
    child.kill().unwrap(); // SIGKILL, possibly mid-trial
    child.wait().unwrap();
    let dir = single_run(tmp.path(), "resume");
    let before = read_run(&dir).unwrap();
    assert!(before.manifest.trials_done < 12, "killed before the end");

    // The experiment file changed: a resume is refused, and nothing is touched.
    let changed = experiment(
        tmp.path(),
        "changed.yaml",
        &format!("name: resume\n{body}").replace("output_tokens: 6", "output_tokens: 7"),
    );
    let assert = bin()
        .args(["run", "--quiet", "--resume"])
        .arg(&dir)
        .arg(&changed)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("changed since run") && stderr.contains("changed.yaml"),
        "{stderr}"
    );

    let (stdout, _) = run(tmp.path(), &exp, &["--resume", dir.to_str().unwrap()], 0);
    assert!(stdout.contains("configuration"), "{stdout}");
    let after = read_run(&dir).unwrap();
    assert_eq!(after.manifest.status, Status::Complete);
    assert_eq!(after.manifest.trials_done, 12);
    assert_eq!(after.manifest.resumed_at.len(), 1);
    assert_eq!(
        after.records.len(),
        36,
        "12 trials of 3 requests, none twice"
    );
    let mut seen: Vec<(usize, usize)> =
        after.records.iter().map(|r| (r.trial, r.request)).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 36);

    // The same experiment uninterrupted: the same trials, configurations and counts.
    let other = tempfile::tempdir().unwrap();
    let exp2 = experiment(
        other.path(),
        "resume.yaml",
        &format!("name: resume\n{body}"),
    );
    run(other.path(), &exp2, &[], 0);
    let whole = read_run(&single_run(other.path(), "resume")).unwrap();
    assert_eq!(whole.trials, after.trials);
    let per_config = |d: &infer_bench::results::RunData| {
        let mut v: Vec<(usize, usize)> = d.records.iter().map(|r| (r.trial, r.config)).collect();
        v.sort_unstable();
        v
    };
    assert_eq!(per_config(&whole), per_config(&after));

    // A finished run has nothing to resume... and says it cleanly.
    run(tmp.path(), &exp, &["--resume", dir.to_str().unwrap()], 0);
    assert_eq!(read_run(&dir).unwrap().records.len(), 36);
}

#[test]
fn sigterm_stops_the_run_as_interrupted_and_names_the_abandoned_trial() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "term.yaml",
        "name: term\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\nbaseline: {concurrency: 1, output_tokens: 20}\n\
         repetitions: 50\nwarmup: {requests: 0}\ntrial: {requests: 4}\n",
    );
    let mut child = spawn_run(tmp.path(), &exp);
    wait_for_manifest(tmp.path(), "term", |m| m.trials_done >= 1);
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "an interrupted run exits non-zero");
    let run = read_run(&single_run(tmp.path(), "term")).unwrap();
    assert_eq!(run.manifest.status, Status::Interrupted);
    let why = run.manifest.error.unwrap_or_default();
    assert!(why.contains("SIGTERM"), "{why}");
    assert!(
        why.contains("abandoned") || why.contains("between trials"),
        "{why}"
    );
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
    assert!(ttft.contains(",slower,"), "{ttft}");
    // Fifteen times the TTFT is no ±5 % equivalence.
    assert!(ttft.ends_with(",different"), "{ttft}");
}

#[test]
fn more_requests_in_flight_than_open_files_allow_is_refused_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "wide.yaml",
        "name: wide\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\nbaseline: {concurrency: 500}\nrepetitions: 1\ntrial: {requests: 1}\n",
    );
    let bin = assert_cmd::cargo::cargo_bin("infer-bench");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec '{}' run --quiet --out '{}' '{}'",
            bin.display(),
            tmp.path().display(),
            exp.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("564 open files") && stderr.contains("ulimit -n"),
        "{stderr}"
    );
    assert!(
        !tmp.path().join("wide").exists(),
        "no run folder for a run that cannot start"
    );
}

/// Records go to `requests.jsonl` while the trial is still running (not
/// into a vector written at its end), and the trial is marked done only
/// once they are all there.
#[test]
fn records_reach_the_log_before_their_trial_ends() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "stream.yaml",
        "name: stream\ntarget: {builtin: sim, model: m, sim: {slots: 64, decode_ms_per_token: 1, jitter: 0}}\n\
         prompts: {prompts}\nbaseline: {concurrency: 32, output_tokens: 32}\n\
         repetitions: 1\nwarmup: {requests: 0}\ntrial: {requests: 1000}\n",
    );
    let mut child = spawn_run(tmp.path(), &exp);
    let running = wait_for_manifest(tmp.path(), "stream", |_| true);
    let dir = single_run(tmp.path(), "stream");
    let lines = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    // Distinct record counts seen in the log while the trial was not done.
    let mut partial = std::collections::BTreeSet::new();
    while std::time::Instant::now() < deadline {
        // Read done.jsonl first: records seen after it said "not done" were
        // written while the trial ran.
        let done = lines("done.jsonl");
        let records = lines("requests.jsonl");
        if done == 0 && records > 0 && records < 1000 {
            partial.insert(records);
        }
        if done > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(child.wait().unwrap().success());
    assert_eq!(running.trials_planned, 1);
    // Records written in one go at the trial's end could be caught half
    // written once at most; streamed ones are seen growing.
    assert!(
        partial.len() >= 2,
        "requests.jsonl was seen with {partial:?} records mid-trial"
    );
    let run = read_run(&dir).unwrap();
    assert_eq!(run.records.len(), 1000);
    let order: Vec<usize> = run.records.iter().map(|r| r.request).collect();
    assert_eq!(
        order,
        (0..1000).collect::<Vec<_>>(),
        "read back in request order"
    );
    assert!(run.records.iter().all(|r| r.response_id.is_some()));
}

/// A run folder written before requests had a status (`"ok": bool`, a
/// cancelled request told by its reason), kept as a fixture with what that
/// version reported of it: read back today, it reports the same, with its
/// cut-off requests still cancelled, not failed. (Its Service levels table
/// is today's: per-objective columns and the binding objective, issue 28.)
#[test]
fn a_run_folder_from_before_statuses_reports_as_it_did() {
    let fixture = common::repo().join("tests/fixtures/run-before-status");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    std::fs::create_dir(&dir).unwrap();
    for f in [
        "done.jsonl",
        "experiment.yaml",
        "manifest.json",
        "monitor.jsonl",
        "plan.jsonl",
        "prompts.yaml",
        "requests.jsonl",
    ] {
        std::fs::copy(fixture.join(f), dir.join(f)).unwrap();
    }
    bin().arg("report").arg(&dir).assert().success();
    let read = |d: &std::path::Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&dir, "report.md"), read(&fixture, "report.md"));
    assert!(read(&dir, "report.md").contains("8/18 (3 cancelled)"));
    // Every column that version wrote holds the same values (a later
    // version may add columns).
    let csv = |d: &std::path::Path| {
        let text = read(d, "summary.csv");
        let mut lines = text
            .lines()
            .map(|l| l.split(',').map(String::from).collect::<Vec<_>>());
        let header = lines.next().unwrap();
        let rows: Vec<Vec<String>> = lines.collect();
        header
            .into_iter()
            .enumerate()
            .map(|(i, h)| (h, rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let (now, then) = (csv(&dir), csv(&fixture));
    for (column, values) in &then {
        assert_eq!(now.get(column), Some(values), "summary.csv column {column}");
    }
    let now = infer_bench::results::read_parquet(&dir.join("trials.parquet")).unwrap();
    let then = infer_bench::results::read_parquet(&fixture.join("trials.parquet")).unwrap();
    for column in then.columns() {
        let got = now.column(column.name()).unwrap();
        assert!(
            got.as_materialized_series()
                .equals_missing(column.as_materialized_series()),
            "trials.parquet column {}: {got:?} vs {column:?}",
            column.name()
        );
    }
    let cancelled: u32 = now
        .column("cancelled")
        .unwrap()
        .as_materialized_series()
        .sum()
        .unwrap();
    assert_eq!(cancelled, 4, "the requests cut off at the trials' end");
    // requests.parquet, written again from the old journal, says so too.
    let requests = infer_bench::results::read_parquet(&dir.join("requests.parquet")).unwrap();
    let status = requests.column("status").unwrap().as_materialized_series();
    let count = |s: &str| {
        status
            .str()
            .unwrap()
            .iter()
            .filter(|v| *v == Some(s))
            .count()
    };
    assert_eq!((count("cancelled"), count("unsent")), (4, 6));
}

#[test]
fn compare_of_runs_apart_names_the_levels_that_do_not_meet() {
    let out = tempfile::tempdir().unwrap();
    let body = "target: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: \"{prompts}\"\n\
                repetitions: 1\nwarmup: {requests: 0}\ntrial: {requests: 2}\n";
    let mut dirs = Vec::new();
    for (name, baseline) in [
        ("one", "{concurrency: 1, output_tokens: 4}"),
        ("two", "{concurrency: 2, output_tokens: 4}"),
    ] {
        let text = format!("name: {name}\nbaseline: {baseline}\n{body}");
        let exp = experiment(out.path(), &format!("{name}.yaml"), &text);
        run(out.path(), &exp, &[], 0);
        dirs.push(single_run(out.path(), name));
    }
    let o = bin()
        .args(["compare", "--force"])
        .args(&dirs)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr.contains("share no configuration") && stderr.contains("concurrency: A 1 · B 2"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("output_tokens:"),
        "the levels that meet are not named: {stderr}"
    );
}

#[test]
fn the_terminal_report_fits_the_width_it_is_given_and_files_keep_every_column() {
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "wide.yaml",
        "name: wide\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: \"{prompts}\"\n\
         baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4}\nfactors: {concurrency: [1, 2]}\n\
         repetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 2}\n",
    );
    run(out.path(), &exp, &[], 0);
    let dir = single_run(out.path(), "wide");
    let table = |columns: Option<&str>| {
        let mut cmd = bin();
        match columns {
            Some(c) => cmd.env("COLUMNS", c),
            None => cmd.env_remove("COLUMNS"),
        };
        let o = cmd
            .args(["report", "--format", "table"])
            .arg(&dir)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        String::from_utf8(o.stdout).unwrap()
    };
    let narrow = table(Some("90"));
    for line in narrow.lines() {
        assert!(
            line.chars().count() <= 90,
            "{} wide: {line}",
            line.chars().count()
        );
    }
    assert!(narrow.contains("left out to fit 90 columns") && !narrow.contains("ITL p50 ms  "));
    // A pipe without COLUMNS keeps every column, as report.md does.
    let whole = table(None);
    assert!(whole.contains("ITL p50 ms") && !whole.contains("left out"));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("ITL p50 ms"));
}
