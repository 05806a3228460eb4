//! The quickstart end to end on the built-in sim, through the binary.

mod common;

use common::{bin, repo, single_run};
use infer_bench::results::read_run;

#[test]
fn quickstart_runs_and_writes_the_results_folder() {
    let out = tempfile::tempdir().unwrap();
    let assert = bin()
        .current_dir(repo())
        .args(["run", "experiments/quickstart.yaml", "--quiet", "--out"])
        .arg(out.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for label in [
        "baseline",
        "concurrency=2",
        "concurrency=4",
        "input_tokens=200",
    ] {
        assert!(stdout.contains(label), "table lacks {label}:\n{stdout}");
    }

    let dir = single_run(out.path(), "quickstart");
    for f in [
        "manifest.json",
        "experiment.yaml",
        "prompts.yaml",
        "plan.jsonl",
        "requests.jsonl",
        "requests.parquet",
        "trials.parquet",
        "summary.csv",
        "report.md",
        "stats.csv",
        "estimates.csv",
    ] {
        assert!(dir.join(f).is_file(), "missing {f}");
    }
    let run = read_run(&dir).unwrap();
    // 4 configurations × 3 repetitions × 8 requests.
    assert_eq!(run.trials.len(), 12);
    assert_eq!(run.records.len(), 96);
    assert_eq!(run.manifest.status, infer_bench::results::Status::Complete);
    assert!(
        run.records.iter().all(|r| r.ok()),
        "a request failed: {:?}",
        run.records.iter().find(|r| !r.ok())
    );
    for r in &run.records {
        assert_eq!(
            r.prompt_tokens, r.requested_input_tokens,
            "prompt tokens of {r:?}"
        );
        assert_eq!(
            r.completion_tokens, r.requested_output_tokens,
            "completion tokens of {r:?}"
        );
        assert_eq!(r.itl_ms.len() as u64, r.completion_tokens.unwrap() - 1);
    }
    let csv = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
}
