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
    // The other way round it is an improvement, and no gate trips; the CSV
    // holds TOST's columns beside Welch's.
    let csv = tmp.path().join("cmp.csv");
    bin()
        .args([
            "compare",
            "--fail-on-regression",
            "--equivalence",
            "0.1",
            "--metric",
            "output_tok_s",
            "--csv",
        ])
        .arg(&csv)
        .arg(&b)
        .arg(&a)
        .assert()
        .success();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    assert!(
        lines.next().unwrap().starts_with(
            "configuration,metric,n_a,n_b,mean_a,mean_b,rel_diff,ci90_low,ci90_high,p_tost,equivalence,"
        ),
        "{text}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 2, "{text}");
    // Twice the speed is no ±10 % equivalence: "different".
    assert!(
        rows.iter()
            .all(|r| r.contains(",output_tok_s,") && r.contains(",different,")),
        "{text}"
    );

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
fn reproduce_runs_the_recorded_experiment_again_and_tests_equivalence() {
    let tmp = tempfile::tempdir().unwrap();
    let a = small_run(tmp.path(), "r.yaml", "again", "sim@1x");
    let out = bin()
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path().join("again-out"))
        .arg(&a)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("environment: the same as recorded"),
        "{stdout}"
    );
    assert!(stdout.contains("TOST p"), "{stdout}");
    let tally = stdout
        .lines()
        .find(|l| l.starts_with("reproduced: "))
        .unwrap_or_else(|| panic!("no tally: {stdout}"));
    // Same machine, same sim, same plan: the timings of a sim are stable to
    // a few per cent, so most comparisons are shown equivalent within ±5 %.
    let count = |word: &str| -> usize {
        tally
            .split(" · ")
            .find_map(|p| p.strip_prefix(word))
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(count("reproduced: ") > 0, "{tally}");
    assert_eq!(count("not reproduced: "), 0, "{stdout}");
    let new = single_run(&tmp.path().join("again-out"), "again");
    let plan = |d: &std::path::Path| std::fs::read_to_string(d.join("plan.jsonl")).unwrap();
    assert_eq!(plan(&a), plan(&new), "same seed, same plan");

    // A reference kept without its request log reproduces from its trials.
    let reference = tmp.path().join("reference");
    std::fs::create_dir(&reference).unwrap();
    for entry in std::fs::read_dir(&a).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_file() && !name.starts_with("requests.") && !name.starts_with("report") {
            std::fs::copy(&path, reference.join(&name)).unwrap();
        }
    }
    let out = bin()
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path().join("ref-out"))
        .arg(&reference)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("reproduced: "), "{stdout}");
}

#[test]
fn reproduce_holds_a_run_against_a_published_table() {
    let tmp = tempfile::tempdir().unwrap();
    let a = small_run(tmp.path(), "p.yaml", "pub", "sim@1x");
    // The published table: this run's own estimates (mean, sd, n) for
    // output tok/s, a row with the point estimate alone (far off), and a
    // latency no run of the sim comes near.
    let est = std::fs::read_to_string(a.join("estimates.csv")).unwrap();
    let row = est
        .lines()
        .find(|l| l.starts_with("baseline,output_tok_s,"))
        .unwrap();
    let f: Vec<&str> = row.split(',').collect();
    let (n, mean, sd) = (f[2], f[3].parse::<f64>().unwrap(), f[4]);
    let table = tmp.path().join("published.csv");
    std::fs::write(
        &table,
        format!(
            "configuration,metric,mean,sd,n\nbaseline,output_tok_s,{mean},{sd},{n}\nconcurrency=2,output_tok_s,{},,\nbaseline,e2e_p50_ms,1,0.01,3\n",
            mean * 3.0
        ),
    )
    .unwrap();
    let exp = tmp.path().join("p.yaml");
    let out = bin()
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path().join("pub-out"))
        .arg("--published")
        .arg(&table)
        .arg(&exp)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    let line = |start: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line for {start}: {stdout}"))
            .to_string()
    };
    assert!(
        line("baseline       output tok/s").ends_with("reproduced"),
        "{stdout}"
    );
    assert!(
        line("concurrency=2").contains("point estimate only"),
        "{stdout}"
    );
    assert!(line("concurrency=2").contains("outside ±5%"), "{stdout}");
    assert!(
        line("baseline       E2E p50").ends_with("not reproduced"),
        "{stdout}"
    );
    assert!(stdout.contains("1 row(s) have no sd and n"), "{stdout}");

    // A configuration the experiment does not run is located before any run.
    std::fs::write(
        &table,
        "configuration,metric,mean\nquant=q9,output_tok_s,1\n",
    )
    .unwrap();
    bin()
        .args(["reproduce", "--quiet", "--published"])
        .arg(&table)
        .arg(&exp)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("published.csv:2:1"))
        .stderr(predicates::str::contains("'quant=q9' is not one of"));
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
