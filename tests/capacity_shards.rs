//! A capacity search split over shards: each shard searches whole
//! configurations (configuration c on shard c mod N), `merge` joins the
//! shards' own plans, and the merged folder's capacity.csv holds each
//! shard's searches with the difference from the baseline across them.

mod common;

use common::{bin, experiment, run, single_run};
use predicates::str::contains;
use std::collections::BTreeMap;
use std::path::Path;

/// Two configurations over a fast sim (as tests/capacity_run.rs's SEARCH).
const SEARCH: &str = "name: c\n\
target: {builtin: sim, model: m, sim: {slots: 2, ttft_base_ms: 10, prefill_ms_per_token: 0, decode_ms_per_token: 10, contention: 0, jitter: 0}}\n\
prompts: {prompts}\nload: poisson\ndesign: capacity\n\
capacity: {factor: rate, min: 8, max: 48, precision: 0.1, max_probes: 4, trials_per_probe: 2}\n\
baseline: {input_tokens: 32, output_tokens: 8}\nfactors: {output_tokens: [8, 16]}\n\
trial: {requests: 16}\nslo: {ttft_ms: 100, min_attainment: 0.8}\n";

/// capacity.csv's rows by configuration: every column as written.
fn rows(folder: &Path) -> BTreeMap<String, Vec<String>> {
    let csv = std::fs::read_to_string(folder.join("capacity.csv")).unwrap();
    csv.lines()
        .skip(1)
        .map(|l| {
            // No field of these rows holds a comma.
            let f: Vec<String> = l.split(',').map(String::from).collect();
            (f[0].clone(), f)
        })
        .collect()
}

#[test]
fn shards_search_whole_configurations_and_merge_into_every_search() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "c.yaml", SEARCH);
    bin()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(contains("searches the configurations numbered I, I + N"));
    // More shards than configurations: refused before anything runs.
    let (_, stderr) = run(&dir.path().join("three"), &path, &["--shard", "0/3"], 2);
    assert!(stderr.contains("expected at most 2 shards"), "{stderr}");
    assert!(!dir.path().join("three").exists());
    bin()
        .args(["slurm", "submit", "--dry-run", "--shards", "3"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(contains("expected at most 2 shards"));
    bin()
        .args(["slurm", "submit", "--dry-run", "--shards", "2"])
        .arg(&path)
        .assert()
        .success();

    let mut shards = Vec::new();
    for i in 0..2 {
        let out = dir.path().join(format!("shard{i}"));
        run(&out, &path, &["--shard", &format!("{i}/2")], 0);
        shards.push(single_run(&out, "c"));
    }
    let own: Vec<BTreeMap<String, Vec<String>>> = shards.iter().map(|s| rows(s)).collect();
    assert_eq!(own[0].keys().collect::<Vec<_>>(), ["baseline"]);
    assert_eq!(own[1].keys().collect::<Vec<_>>(), ["output_tokens=16"]);

    let merged = dir.path().join("merged");
    bin()
        .arg("merge")
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    let all = rows(&merged);
    assert_eq!(all.len(), 2);
    for (shard, mine) in own.iter().enumerate() {
        for (name, row) in mine {
            // capacity, ci_low, ci_high, ..., status: as the shard said.
            assert_eq!(all[name][..10], row[..10], "shard {shard}: {name}");
        }
    }
    let other = &all["output_tokens=16"];
    let diff: Vec<f64> = other[10..13].iter().map(|x| x.parse().unwrap()).collect();
    assert!(diff[1] <= diff[0] && diff[0] <= diff[2], "{other:?}");
    assert_eq!(all["baseline"][10], "");

    // Records = planned, the shards' trials renumbered one after another.
    let data = infer_bench::results::read_run(&merged).unwrap();
    let planned: usize = shards
        .iter()
        .map(|s| infer_bench::results::read_run(s).unwrap().trials.len())
        .sum();
    assert_eq!(data.trials.len(), planned);
    assert_eq!(data.manifest.trials_planned, planned);
    assert_eq!(data.manifest.trials_done, planned);
    for (i, t) in data.trials.iter().enumerate() {
        assert_eq!(t.index, i);
        let n = data.records.iter().filter(|r| r.trial == i).count();
        assert_eq!(n, 16, "trial {i} has {n} records");
    }
    assert_eq!(data.manifest.requests_recorded, 16 * planned);
    bin().arg("report").arg(&merged).assert().success();
    assert!(merged.join("report.html").is_file());
}
