//! `report --slo`: an existing run judged against other SLOs, without
//! rerunning it or touching its records; its faults exit 2.

mod common;

use common::{bin, experiment, run, single_run};

/// A short run on the sim (TTFT tens of ms, well inside the defaults).
fn sim_run(out: &std::path::Path) -> std::path::PathBuf {
    let exp = experiment(
        out,
        "slo.yaml",
        "name: slo\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, output_tokens: 8}\nrepetitions: 2\nwarmup: {requests: 0}\n\
         trial: {requests: 4}\nslo: {ttft_p95_ms: 5000, itl_p99_ms: 5000}\n",
    );
    run(out, &exp, &[], 0);
    single_run(out, "slo")
}

/// `report RUN --format json [--slo …]`: the baseline's judgement.
fn judged(dir: &std::path::Path, slo: &[&str]) -> serde_json::Value {
    let mut cmd = bin();
    cmd.arg("report").arg(dir).args(["--format", "json"]);
    for s in slo {
        cmd.args(["--slo", s]);
    }
    cmd.assert().success();
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
    summary["configurations"][0]["judgement"].clone()
}

#[test]
fn report_slo_rejudges_a_run_without_touching_its_records() {
    let out = tempfile::tempdir().unwrap();
    let dir = sim_run(out.path());
    let records = std::fs::read(dir.join("requests.jsonl")).unwrap();

    let as_run = judged(&dir, &[]);
    assert_eq!(as_run["meets"], true, "{as_run}");
    let keys: Vec<&str> = as_run["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"ttft_p95_ms") && keys.contains(&"itl_p99_ms"),
        "{keys:?}"
    );

    // One objective made impossible: the verdict turns, and names it.
    let strict = judged(&dir, &["ttft_p95_ms=0.001"]);
    assert_eq!(strict["meets"], false, "{strict}");
    assert_eq!(strict["binding"], "ttft_p95_ms");
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("as given to report --slo"), "{md}");
    assert!(md.contains("TTFT p95 ≤ 0.001 ms (missed)"), "{md}");

    // A file with an SLO block replaces the experiment's objectives.
    let file = out.path().join("tight.yaml");
    std::fs::write(&file, "ttft_ms: 0.001\nmin_attainment: 0.5\n").unwrap();
    let from_file = judged(&dir, &[file.to_str().unwrap()]);
    assert_eq!(from_file["meets"], false);
    assert_eq!(from_file["binding"], "ttft_ms");

    assert_eq!(std::fs::read(dir.join("requests.jsonl")).unwrap(), records);
    // Without --slo, the experiment's own SLOs again.
    assert_eq!(judged(&dir, &[])["meets"], true);
}

#[test]
fn a_bad_slo_argument_exits_2_and_says_what_was_expected() {
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("no-run");
    for (arg, expect) in [
        ("ttft_p95=3", "unknown SLO key 'ttft_p95'"),
        ("ttft_p95_ms=fast", "'fast' is not a number"),
        ("ttft_p95_ms=-1", "ttft_p95_ms must be a number > 0"),
        ("nothing-here", "no such file, and not KEY=VALUE"),
    ] {
        let o = bin()
            .arg("report")
            .arg(&missing)
            .args(["--slo", arg])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{arg}: {stderr}");
        assert!(stderr.contains(expect), "{arg}: {stderr}");
    }
    let file = out.path().join("bad.yaml");
    std::fs::write(&file, "ttft_ms: 500\nttft_p40_ms: 3\n").unwrap();
    let o = bin()
        .arg("report")
        .arg(&missing)
        .args(["--slo", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("bad.yaml:2:1"), "{stderr}");
}

/// The mean over a configuration's trials of a trials.parquet column.
fn trial_mean(dir: &std::path::Path, config: &str, column: &str) -> f64 {
    use polars::prelude::*;
    let trials =
        infer_bench::results::read_parquet(&dir.join(infer_bench::results::TRIALS)).unwrap();
    let rows = trials
        .lazy()
        .filter(col("config").eq(lit(config)))
        .select([col(column).mean()])
        .collect()
        .unwrap();
    let v = rows.column(column).unwrap().f64().unwrap().get(0);
    v.unwrap_or_else(|| panic!("{column} of {config}"))
}

#[test]
fn ttft_splits_into_prefill_and_queueing_where_the_server_reports_prompt_time() {
    let out = tempfile::tempdir().unwrap();
    // One slot: at concurrency 3 each request waits for the two ahead of it.
    let exp = experiment(
        out.path(),
        "split.yaml",
        "name: split\ntarget: {builtin: sim, model: m, sim: {slots: 1, jitter: 0}}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, input_tokens: 20, output_tokens: 8}\nfactors: {concurrency: [1, 3]}\n\
         repetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 6}\n",
    );
    run(out.path(), &exp, &[], 0);
    let dir = single_run(out.path(), "split");
    let prefill = trial_mean(&dir, "baseline", "server_prefill_p50_ms");
    let alone = trial_mean(&dir, "baseline", "queueing_p50_ms");
    let crowded = trial_mean(&dir, "concurrency=3", "queueing_p50_ms");
    let ttft = trial_mean(&dir, "baseline", "ttft_p50_ms");
    assert!(
        prefill > 0.0 && prefill <= ttft,
        "prefill {prefill}, TTFT {ttft}"
    );
    // Alone, TTFT is the prefill and the network; crowded, a slot's wait.
    assert!(alone < 0.5 * ttft, "queueing alone {alone} of TTFT {ttft}");
    assert!(
        crowded > alone + prefill,
        "crowded {crowded}, alone {alone}"
    );
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    for h in [
        "| TTFT p50 ms |",
        "| prefill p50 ms |",
        "| queueing p50 ms |",
    ] {
        assert!(md.contains(h), "{h} in the Service levels table:\n{md}");
    }
}
