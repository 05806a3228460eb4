//! A capacity search run end to end on the built-in sim: two
//! configurations, each searched probe by probe over a fast sim (two slots,
//! no contention, no jitter, short replies, short trials), with every
//! probe's trials in the plan and every planned request one record.

mod common;

use common::{csv_fields as fields, experiment, run, single_run};
use std::collections::BTreeMap;

const SEARCH: &str = "name: c\n\
target: {builtin: sim, model: m, sim: {slots: 2, ttft_base_ms: 10, prefill_ms_per_token: 0, decode_ms_per_token: 10, contention: 0, jitter: 0}}\n\
prompts: {prompts}\nload: poisson\ndesign: capacity\n\
capacity: {factor: rate, min: 8, max: 48, precision: 0.1, max_probes: 5, trials_per_probe: 2}\n\
baseline: {input_tokens: 32, output_tokens: 8}\nfactors: {output_tokens: [8, 16]}\n\
trial: {requests: 16}\nslo: {ttft_ms: 100, min_attainment: 0.8}\n";

const COLUMNS: [&str; 13] = [
    "configuration",
    "factor",
    "capacity",
    "ci_low",
    "ci_high",
    "confidence",
    "binding_slo",
    "probes",
    "trials",
    "status",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
];

#[test]
fn a_capacity_search_runs_on_the_sim_and_says_each_configurations_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "c.yaml", SEARCH);
    let (stdout, stderr) = run(dir.path(), &path, &[], 0);
    let folder = single_run(dir.path(), "c");

    let csv = std::fs::read_to_string(folder.join("capacity.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(fields(lines.next().unwrap()), COLUMNS, "{csv}");
    let rows: Vec<BTreeMap<&str, String>> = lines
        .map(|l| COLUMNS.iter().copied().zip(fields(l)).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r["configuration"].as_str()).collect();
    assert_eq!(names, ["baseline", "output_tokens=16"], "{csv}");
    let num = |r: &BTreeMap<&str, String>, c: &str| r[c].parse::<f64>().unwrap();
    for r in &rows {
        let (x, lo, hi) = (num(r, "capacity"), num(r, "ci_low"), num(r, "ci_high"));
        assert!((8.0..=48.0).contains(&x), "{csv}");
        assert!(lo <= x && x <= hi, "{csv}");
        assert_eq!(r["factor"], "rate");
        // The TTFT objective binds (decoding is far faster than 10 tok/s
        // here), or on a busy host the open loop's queue, which then grows
        // before TTFT fails: nothing else is asked.
        let binding = &r["binding_slo"];
        assert!(
            binding == "TTFT ≤ 100 ms for 80 % of requests"
                || binding.starts_with("no growing queue"),
            "{csv}"
        );
        assert_eq!(num(r, "trials"), 2.0 * num(r, "probes"), "{csv}");
        let line = format!("{}: ", r["configuration"]);
        assert!(
            stdout
                .lines()
                .any(|l| l.starts_with(&line) && l.contains(" req/s ")),
            "no terminal line for {line} in {stdout}\n{stderr}"
        );
    }
    // Only the other configuration is held against the baseline.
    assert_eq!(rows[0]["diff"], "");
    let (d, lo, hi) = (
        num(&rows[1], "diff"),
        num(&rows[1], "diff_ci_low"),
        num(&rows[1], "diff_ci_high"),
    );
    assert!(lo <= d && d <= hi, "{csv}");

    // Every trial run is in the plan, and each planned request one record.
    let data = infer_bench::results::read_run(&folder).unwrap();
    let probes: f64 = rows.iter().map(|r| num(r, "trials")).sum();
    assert_eq!(data.trials.len(), probes as usize);
    assert_eq!(data.manifest.trials_planned, data.trials.len());
    assert_eq!(data.manifest.trials_done, data.trials.len());
    assert_eq!(data.done.as_ref().map(|d| d.len()), Some(data.trials.len()));
    for t in &data.trials {
        let n = data.records.iter().filter(|r| r.trial == t.index).count();
        assert_eq!(n, 16, "trial {} has {n} records", t.index);
        let label = &data.configurations[t.config].label;
        assert!(label.contains(", rate="), "{label}");
    }
    assert_eq!(data.manifest.requests_recorded, 16 * data.trials.len());

    // The run folder alone gives the same searches again: what report,
    // merge, compare and reproduce read is what the run said.
    let experiment =
        infer_bench::experiment::kept_copy(&folder.join(&data.manifest.experiment.copy)).unwrap();
    let replayed = infer_bench::report::searches::replay(&data, &experiment).unwrap();
    assert_eq!(replayed.len(), rows.len());
    for (r, row) in replayed.iter().zip(&rows) {
        let o = r.outcome.as_ref().expect("a finished search");
        assert_eq!(o.configuration, row["configuration"]);
        let (x, i) = o.reported();
        for (got, col) in [(x, "capacity"), (i.low, "ci_low"), (i.high, "ci_high")] {
            assert!((got - num(row, col)).abs() < 1e-9, "{col}: {got} in {csv}");
        }
        assert_eq!(o.stop.as_str(), row["status"]);
        assert_eq!(o.probes, num(row, "probes") as usize);
        let diff = o.diff.map(|d| d.0);
        assert_eq!(
            diff.map(|d| (d * 1e6).round()),
            row["diff"].parse::<f64>().ok().map(|d| (d * 1e6).round())
        );
    }

    // A search killed in its last probes is resumed: the probes before
    // are re-fed, the trial cut off runs again, and the search goes on
    // (here the last probe's plan is cut short too, as a kill can).
    // Each file ends in the torn first half of its next line, as a kill
    // mid-write leaves it: the resume must not append after it.
    let keep = |name: &str, n: usize| {
        let text = std::fs::read_to_string(folder.join(name)).unwrap();
        let mut kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
        let next = text.lines().nth(n).unwrap();
        kept.push_str(&next[..next.len() / 2]);
        std::fs::write(folder.join(name), kept).unwrap();
    };
    let plan_before = std::fs::read_to_string(folder.join("plan.jsonl")).unwrap();
    let planned = plan_before.lines().count();
    keep("plan.jsonl", planned - 3);
    keep("done.jsonl", planned - 4);
    std::fs::remove_file(folder.join("capacity.csv")).unwrap();
    // Read as it stands, the last search is not an answer yet: its last
    // probe is cut short, and the probes before it are all it has.
    let cut = infer_bench::results::read_run(&folder).unwrap();
    let partial = infer_bench::report::searches::replay(&cut, &experiment).unwrap();
    assert!(partial[0].outcome.is_some());
    assert!(partial[1].outcome.is_none(), "{:?}", partial[1].outcome);
    assert!(partial[1].probes.len() < replayed[1].probes.len());
    for (p, q) in partial[1].probes.iter().zip(&replayed[1].probes) {
        assert_eq!(p, q, "a whole probe replays as it ran");
    }
    let folder_arg = folder.display().to_string();
    let (stdout, stderr) = run(dir.path(), &path, &["--resume", &folder_arg], 0);
    let again = infer_bench::results::read_run(&folder).unwrap();
    let plan_after = std::fs::read_to_string(folder.join("plan.jsonl")).unwrap();
    let first: Vec<&str> = plan_before.lines().take(planned - 3).collect();
    let kept: Vec<&str> = plan_after.lines().take(planned - 3).collect();
    assert_eq!(kept, first);
    assert_eq!(again.manifest.trials_planned, again.trials.len());
    assert_eq!(again.manifest.trials_done, again.trials.len(), "{stderr}");
    for t in &again.trials {
        let n = again.records.iter().filter(|r| r.trial == t.index).count();
        assert_eq!(n, 16, "trial {} has {n} records after the resume", t.index);
    }
    // summary.json holds the same rows.
    common::bin()
        .args(["report", "--format", "json"])
        .arg(&folder)
        .assert()
        .success();
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(folder.join("summary.json")).unwrap())
            .unwrap();
    let rows = summary["capacity"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{summary}");
    assert_eq!(rows[1]["configuration"], "output_tokens=16");
    assert!(
        rows[1]["diff"].is_f64() && rows[0]["diff"].is_null(),
        "{summary}"
    );
    // Rebuilt from the folder, not read from capacity.csv, they are its
    // numbers (to serde_json's best-effort parsing of the last digit).
    let csv_after = std::fs::read_to_string(folder.join("capacity.csv")).unwrap();
    for (line, row) in csv_after.lines().skip(1).zip(rows) {
        let f = fields(line);
        for (i, col) in [(2, "capacity"), (3, "ci_low"), (4, "ci_high"), (10, "diff")] {
            let (csv, json) = (f[i].parse::<f64>().ok(), row[col].as_f64());
            let same = match (csv, json) {
                (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * a.abs(),
                (a, b) => a == b,
            };
            assert!(same, "{col}: {csv_after}\n{rows:?}");
        }
    }
    // And every probe, each configuration's by load.
    let probes = summary["capacity_probes"].as_array().unwrap();
    let searched: u64 = rows.iter().map(|r| r["probes"].as_u64().unwrap()).sum();
    assert_eq!(probes.len() as u64, searched, "{summary}");
    assert!(probes.iter().all(|p| p["trials"] == 2), "{summary}");

    // The trials done before the kill were re-fed, not run again.
    let sent = |d: &infer_bench::results::RunData| -> Vec<f64> {
        d.records
            .iter()
            .filter(|r| r.trial == 0)
            .map(|r| r.sent_s)
            .collect()
    };
    assert_eq!(sent(&again), sent(&data));
    let csv = std::fs::read_to_string(folder.join("capacity.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(stdout.contains("output_tokens=16: "), "{stdout}");
}
