//! A server that fails: the sim with 10 % injected faults (500, 429 and 503
//! with Retry-After, dropped connections, malformed events) and stalls, in a
//! process of its own. Every failed request must be a record with its reason,
//! the error rate must equal the faults the sim says it injected, and the
//! report must be complete.

mod common;

use common::{bin, experiment, run, single_run, SimProcess};
use infer_bench::results::read_run;
use std::io::{Read, Write};
use std::net::TcpStream;

/// GET a path from 127.0.0.1:port; the body, or None while nothing listens.
fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

#[test]
fn ten_percent_injected_faults_give_a_complete_report_with_the_true_error_rate() {
    let sim = SimProcess::start_with(&[
        "--slots",
        "16",
        "--faults",
        "error=0.04,rate_limited=0.02,unavailable=0.01,drop=0.02,malformed=0.01,stall=0.05,stall_ms=200",
    ]);
    let port = sim.port;

    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "faulty.yaml",
        &format!(
            r#"
name: faulty
target: {{base_url: "http://127.0.0.1:{port}/v1", model: sim-q4_K_M}}
prompts: "{{prompts}}"
baseline: {{concurrency: 4, input_tokens: 20, output_tokens: 8}}
factors: {{concurrency: [4, 8]}}
repetitions: 2
warmup: {{requests: 0}}
trial: {{requests: 100}}
"#
        ),
    );
    run(out.path(), &exp, &["--format", "json"], 0);
    let dir = single_run(out.path(), "faulty");
    let data = read_run(&dir).unwrap();
    assert_eq!(
        data.records.len(),
        400,
        "every request is a record, failed ones too"
    );

    let stats: serde_json::Value = serde_json::from_str(&get(port, "/sim/stats").unwrap()).unwrap();
    assert_eq!(stats["requests"], 400);
    let injected = |k: &str| stats["faults"][k].as_u64().unwrap() as usize;
    let failing = ["error", "rate_limited", "unavailable", "drop", "malformed"]
        .iter()
        .map(|k| injected(k))
        .sum::<usize>();
    let failed: Vec<_> = data.records.iter().filter(|r| !r.ok()).collect();
    assert_eq!(
        failed.len(),
        failing,
        "one failed record per injected failure"
    );
    assert!((20..=60).contains(&failing), "about 10 % of 400: {failing}");
    assert!(injected("stall") > 0);
    // Each failure keeps its reason.
    let count = |needle: &str| {
        failed
            .iter()
            .filter(|r| r.error.as_deref().unwrap_or("").contains(needle))
            .count()
    };
    assert_eq!(count("HTTP 500"), injected("error"));
    assert_eq!(count("HTTP 429"), injected("rate_limited"));
    assert_eq!(count("HTTP 503"), injected("unavailable"));
    assert_eq!(count("malformed event"), injected("malformed"));
    assert_eq!(count("stream broken"), injected("drop"));
    assert!(failed.iter().all(|r| r.error.is_some()));

    // The summary's error rate is the failed share, trial by trial.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let rows = summary["configurations"].as_array().unwrap();
    let reported: f64 = rows
        .iter()
        .map(|r| r["error_rate"]["mean"].as_f64().unwrap() * r["requests"].as_f64().unwrap())
        .sum();
    assert!(
        (reported - failing as f64).abs() < 1e-6,
        "{reported} vs {failing}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("requests failed") && html.contains("injected fault: rate limited"));
    assert!(html.contains("Latency percentiles cover successful requests only"));
}

#[test]
fn bad_fault_specs_exit_2() {
    for spec in ["error=2", "error=0.6,drop=0.6", "nonsense=0.1", "error"] {
        bin()
            .args(["sim", "--port", "1", "--faults", spec])
            .assert()
            .code(2);
    }
}

#[test]
fn a_trial_over_max_error_rate_stops_the_run_and_keeps_its_records() {
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "broken.yaml",
        r#"
name: broken
target: {builtin: sim, model: m, sim: {seed: 1, faults: {error: 0.8}}}
prompts: "{prompts}"
baseline: {concurrency: 2, input_tokens: 20, output_tokens: 4}
repetitions: 5
warmup: {requests: 0}
trial: {requests: 20, max_error_rate: 0.5}
"#,
    );
    let (_, stderr) = run(out.path(), &exp, &[], 1);
    assert!(
        stderr.contains("max_error_rate 50%") && stderr.contains("injected fault"),
        "{stderr}"
    );
    let data = read_run(&single_run(out.path(), "broken")).unwrap();
    assert_eq!(data.manifest.status, infer_bench::results::Status::Failed);
    assert_eq!(
        data.manifest.trials_done, 1,
        "stopped after the first trial"
    );
    assert_eq!(data.records.len(), 20, "whose records are kept");
}

/// A session's turn after a failed one has no history to send: it is
/// recorded `unsent`, with its reason, and counts as a failure.
#[test]
fn a_failed_turn_leaves_the_rest_of_its_session_unsent() {
    use infer_bench::record::RequestStatus;
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "sessions.yaml",
        r#"
name: sessions
target: {builtin: sim, model: m, api: chat, sim: {seed: 3, faults: {error: 0.3}}}
prompts: "{prompts}"
workloads:
  agent: {sessions: {turns: 3, first_input_tokens: 40, turn_input_tokens: 24, output_tokens: 4}}
baseline: {workload: agent, concurrency: 2}
repetitions: 1
warmup: {requests: 0}
trial: {requests: 30}
"#,
    );
    run(out.path(), &exp, &[], 0);
    let dir = single_run(out.path(), "sessions");
    let data = read_run(&dir).unwrap();
    let mut sessions = std::collections::BTreeMap::<u64, Vec<_>>::new();
    for r in &data.records {
        sessions.entry(r.session.unwrap()).or_default().push(r);
    }
    let mut unsent = 0;
    for turns in sessions.values_mut() {
        turns.sort_by_key(|r| r.turn);
        let failed = turns.iter().position(|r| !r.ok()).unwrap_or(turns.len());
        for (k, r) in turns.iter().enumerate() {
            let expected = match k.cmp(&failed) {
                std::cmp::Ordering::Less => RequestStatus::Ok,
                std::cmp::Ordering::Equal => RequestStatus::Failed,
                std::cmp::Ordering::Greater => RequestStatus::Unsent,
            };
            assert_eq!(r.status, expected, "{r:?}");
        }
        unsent += turns.len() - (failed + 1).min(turns.len());
    }
    assert!(unsent > 0, "the faults broke a session");
    let unsent_records: Vec<_> = data
        .records
        .iter()
        .filter(|r| r.status == RequestStatus::Unsent)
        .collect();
    assert_eq!(unsent_records.len(), unsent);
    assert!(unsent_records
        .iter()
        .all(|r| r.error.as_deref() == Some(infer_bench::load::SESSION_BROKEN)));
    // Counted as failures of the configuration.
    let trials = infer_bench::results::read_parquet(&dir.join("trials.parquet")).unwrap();
    let rate = trials
        .column("error_rate")
        .unwrap()
        .f64()
        .unwrap()
        .get(0)
        .unwrap();
    let ok = data.records.iter().filter(|r| r.ok()).count() as f64;
    assert!((rate - (1.0 - ok / data.records.len() as f64)).abs() < 1e-12);
}
