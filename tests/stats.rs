//! The statistics decide correctly on the sim: a known 2× speed-up is found
//! with the right direction; a factor with no effect is called unchanged in
//! at least 19 of 20 seeds.

mod common;

use common::{bin, experiment, run, single_run};

fn verdicts(dir: &std::path::Path, metric: &str) -> Vec<String> {
    let csv = std::fs::read_to_string(dir.join("stats.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (m, v) = (col("metric"), col("verdict"));
    lines
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|f| f[m] == metric)
        .map(|f| f[v].clone())
        .collect()
}

#[test]
fn a_known_speed_up_is_significant_in_the_right_direction() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "speed.yaml",
        "name: speed\ntarget: {builtin: sim, model: \"sim@{{ speed }}x\"}\nprompts: {prompts}\n\
         baseline: {speed: 1, output_tokens: 12}\nfactors:\n  speed: [1, 2]\nrepetitions: 4\nwarmup: {requests: 1}\ntrial: {requests: 4}\n",
    );
    run(tmp.path(), &exp, &[], 0);
    let dir = single_run(tmp.path(), "speed");
    assert_eq!(verdicts(&dir, "output_tok_s"), vec!["more"]);
    assert_eq!(verdicts(&dir, "e2e_p50_ms"), vec!["faster"]);
    assert_eq!(verdicts(&dir, "tpot_mean_ms"), vec!["faster"]);
}

#[test]
fn a_factor_without_effect_is_unchanged_in_19_of_20_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    let mut unchanged = 0;
    let mut seen = Vec::new();
    for seed in 1..=20 {
        // `tag` only changes a body field the sim ignores.
        let exp = experiment(
            tmp.path(),
            &format!("null-{seed}.yaml"),
            &format!(
                "name: null-{seed}\nseed: {seed}\ntarget: {{builtin: sim, model: m, params: {{user: '{{{{ tag }}}}'}}, sim: {{seed: {seed}}}}}\n\
                 prompts: {{prompts}}\nbaseline: {{tag: a, output_tokens: 10}}\nfactors:\n  tag: [a, b]\nrepetitions: 3\nwarmup: {{requests: 1}}\ntrial: {{requests: 6}}\n"
            ),
        );
        bin()
            .args(["run", "--quiet", "--out"])
            .arg(tmp.path())
            .arg(&exp)
            .assert()
            .success();
        let v = verdicts(
            &single_run(tmp.path(), &format!("null-{seed}")),
            "output_tok_s",
        );
        if v == ["no significant change"] {
            unchanged += 1;
        }
        seen.push(v);
    }
    assert!(unchanged >= 19, "only {unchanged}/20 unchanged: {seen:?}");
}

fn small_run(dir: &std::path::Path, file: &str, name: &str, model: &str) -> std::path::PathBuf {
    let exp = experiment(
        dir,
        file,
        &format!(
            "name: {name}\ntarget: {{builtin: sim, model: '{model}'}}\nprompts: {{prompts}}\n\
             baseline: {{concurrency: 1, output_tokens: 8}}\nfactors:\n  concurrency: [1, 2]\nrepetitions: 3\nwarmup: {{requests: 1}}\ntrial: {{requests: 3}}\n"
        ),
    );
    let out = dir.join(format!("out-{file}"));
    run(&out, &exp, &[], 0);
    single_run(&out, name)
}

#[test]
fn compare_finds_a_regression_and_gates_on_it() {
    let tmp = tempfile::tempdir().unwrap();
    let a = small_run(tmp.path(), "a.yaml", "gate", "sim@1x");
    let b = small_run(tmp.path(), "b.yaml", "gate", "sim@0.5x");
    let out = bin()
        .args([
            "compare",
            "--fail-on-regression",
            "--metric",
            "output_tok_s,e2e_p50_ms",
        ])
        .arg(&a)
        .arg(&b)
        .assert()
        .code(3);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("4 regressions, 0 improvements, 0 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("less (regression)") && stdout.contains("slower (regression)"),
        "{stdout}"
    );
    // The other way round it is an improvement, and no gate trips.
    bin()
        .args([
            "compare",
            "--fail-on-regression",
            "--metric",
            "output_tok_s",
        ])
        .arg(&b)
        .arg(&a)
        .assert()
        .success();

    let c = small_run(tmp.path(), "c.yaml", "other", "sim@1x");
    bin().arg("compare").arg(&a).arg(&c).assert().code(2);
    bin()
        .arg("compare")
        .arg("--force")
        .arg(&a)
        .arg(&c)
        .assert()
        .success();
}

#[test]
fn reproduce_runs_the_recorded_experiment_again_and_compares() {
    let tmp = tempfile::tempdir().unwrap();
    let a = small_run(tmp.path(), "r.yaml", "again", "sim@1x");
    let out = bin()
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path().join("again-out"))
        .arg(&a)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("reproduced within noise:"), "{stdout}");
    let new = single_run(&tmp.path().join("again-out"), "again");
    let plan = |d: &std::path::Path| std::fs::read_to_string(d.join("plan.jsonl")).unwrap();
    assert_eq!(plan(&a), plan(&new), "same seed, same plan");
}

#[test]
fn a_refuted_expectation_fails_run_check_with_exit_3() {
    let tmp = tempfile::tempdir().unwrap();
    let text = "name: hyp\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, output_tokens: 8}\nfactors:\n  concurrency: [1, 4]\nrepetitions: 3\nwarmup: {requests: 1}\ntrial: {requests: 4}\n\
         expect:\n  - {metric: output_tok_s, factor: concurrency, from: 1, to: 4, change: decrease}\n  - {metric: e2e_p50_ms, factor: concurrency, from: 1, to: 4, change: increase}\n";
    let exp = experiment(tmp.path(), "hyp.yaml", text);
    let (stdout, _) = run(tmp.path(), &exp, &["--check"], 3);
    assert!(
        stdout.contains("refuted      output_tok_s decreases from concurrency=1 to 4"),
        "{stdout}"
    );
    assert!(
        stdout.contains("confirmed    e2e_p50_ms increases from concurrency=1 to 4"),
        "{stdout}"
    );
    // An expectation that names no metric is bad input.
    let bad = experiment(
        tmp.path(),
        "bad.yaml",
        &text.replace("metric: e2e_p50_ms", "metric: e2e_p50"),
    );
    bin()
        .arg("validate")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown metric 'e2e_p50'"));
}
