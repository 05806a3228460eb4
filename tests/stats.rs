//! The statistics decide correctly on the sim: a known 2× speed-up is found
//! with the right direction; a factor with no effect gives false verdicts no
//! more often than alpha allows, and TOST calls it equivalent; reproduce,
//! published tables, factorial designs and adaptive repetitions end to end.

mod common;

use common::{bin, experiment, run, single_run};

/// These tests judge timings measured on the sim, and each runs the sim at
/// full speed: two at once on a 2-core machine make each other's noise (a
/// published table once came out inconclusive only in the full suite). They
/// take turns.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

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
    let _turn = one_at_a_time();
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

/// The smallest k with P(X ≥ k) < 0.01 for X ~ Binomial(n, p): more runs
/// with a false verdict than k − 1 would refute "the error rate is at most p".
fn binomial_bound(n: u64, p: f64) -> u64 {
    let pmf = |k: u64| -> f64 {
        let ln_choose: f64 = (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum();
        (ln_choose + k as f64 * p.ln() + (n - k) as f64 * (1.0 - p).ln()).exp()
    };
    let mut tail = 1.0;
    for k in 0..=n {
        if tail < 0.01 {
            return k;
        }
        tail -= pmf(k);
    }
    n + 1
}

#[test]
fn a_a_runs_keep_false_verdicts_within_alpha_and_tost_calls_them_equivalent() {
    let _turn = one_at_a_time();
    // An A/A experiment: `tag` only changes a body field the sim ignores.
    // Across 60 seeds, the share of runs with any false "significant"
    // verdict (any metric: Holm's family is the whole run) stays within
    // alpha's binomial bound, and TOST (±5 %) shows the two the same in most
    // runs. Three runs go at a time, each with its own sim: they mostly
    // wait on the sim's timings. (A sim made ten times faster is no quicker
    // test: scheduling noise then swamps its timings and TOST cannot decide.)
    let tmp = tempfile::tempdir().unwrap();
    let seeds: u64 = 60;
    let next = std::sync::atomic::AtomicU64::new(1);
    let rows: Vec<(u64, Vec<String>, Vec<String>)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if seed > seeds {
                            return out;
                        }
                        let (changed, equivalent) = a_a_run(tmp.path(), seed);
                        out.push((seed, changed, equivalent));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    let false_runs = rows.iter().filter(|(_, c, _)| !c.is_empty()).count() as u64;
    let equivalent = |metric: &str| {
        rows.iter()
            .filter(|(_, _, e)| e.iter().any(|m| m == metric))
            .count() as u64
    };
    let bound = binomial_bound(seeds, 0.05);
    eprintln!(
        "A/A: {false_runs}/{seeds} runs with a false verdict (bound {bound}); TOST equivalent: output tok/s {}/{seeds}, E2E p50 {}/{seeds}, TTFT p50 {}/{seeds}",
        equivalent("output_tok_s"),
        equivalent("e2e_p50_ms"),
        equivalent("ttft_p50_ms"),
    );
    let changed: Vec<_> = rows.iter().filter(|(_, c, _)| !c.is_empty()).collect();
    assert!(
        false_runs < bound,
        "{false_runs}/{seeds} runs with a false verdict: {changed:?}"
    );
    assert!(
        equivalent("output_tok_s") >= seeds * 3 / 4,
        "TOST equivalent in only {}/{seeds}",
        equivalent("output_tok_s")
    );
}

/// One A/A run: its false verdicts ("metric verdict") and the metrics TOST
/// calls equivalent.
fn a_a_run(dir: &std::path::Path, seed: u64) -> (Vec<String>, Vec<String>) {
    let exp = experiment(
        dir,
        &format!("null-{seed}.yaml"),
        &format!(
            "name: null-{seed}\nseed: {seed}\n\
             target: {{builtin: sim, model: m, params: {{user: '{{{{ tag }}}}'}}, sim: {{seed: {seed}}}}}\n\
             prompts: {{prompts}}\nbaseline: {{tag: a, output_tokens: 10}}\nfactors:\n  tag: [a, b]\nrepetitions: 4\nwarmup: {{requests: 1}}\ntrial: {{requests: 6}}\n"
        ),
    );
    bin()
        .args(["run", "--quiet", "--out"])
        .arg(dir)
        .arg(&exp)
        .assert()
        .success();
    let run = single_run(dir, &format!("null-{seed}"));
    let csv = std::fs::read_to_string(run.join("stats.csv")).unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (m, v, e) = (col("metric"), col("verdict"), col("equivalence"));
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let changed = rows
        .iter()
        .filter(|r| r[v] != "no significant change" && !r[v].starts_with("not testable"))
        .map(|r| format!("{} {}", r[m], r[v]))
        .collect();
    let equivalent = rows
        .iter()
        .filter(|r| r[e] == "equivalent")
        .map(|r| r[m].to_string())
        .collect();
    (changed, equivalent)
}

#[test]
fn the_binomial_bound_matches_scipy() {
    // scipy 1.17.1: binom.sf(k − 1, 20, 0.05) = P(X ≥ k): k = 4 → 0.01590, k = 5 → 0.002574.
    assert_eq!(binomial_bound(20, 0.05), 5);
    // binom.sf(k − 1, 60, 0.05): k = 7 → 0.02969, k = 8 → 0.009789.
    assert_eq!(binomial_bound(60, 0.05), 8);
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
    let _turn = one_at_a_time();
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
        stdout.contains("4 regressions, 0 improvements, 0 with no significant change"),
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
    let _turn = one_at_a_time();
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
    // Recorded on another machine: the reproduction says what differs.
    let path = reference.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["host"]["cpu_model"] = "Imaginary CPU 9000".into();
    m["host"]["cpus"] = 96.into();
    std::fs::write(&path, serde_json::to_string_pretty(&m).unwrap()).unwrap();
    let out = bin()
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path().join("ref-out"))
        .arg(&reference)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("reproduced: "), "{stdout}");
    assert!(stdout.contains("environment: 2 item(s) differ"), "{stdout}");
    let cpu = stdout
        .lines()
        .find(|l| l.starts_with("CPU "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(cpu.contains("Imaginary CPU 9000"), "{cpu}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("cores ") && l.contains("96")),
        "{stdout}"
    );
}

#[test]
fn reproduce_holds_a_run_against_a_published_table() {
    let _turn = one_at_a_time();
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

    // As a gate: a result shown different exits 3.
    bin()
        .args(["reproduce", "--quiet", "--fail-on-difference", "--out"])
        .arg(tmp.path().join("pub-out"))
        .arg("--published")
        .arg(&table)
        .arg(&exp)
        .assert()
        .code(3)
        .stderr(predicates::str::contains(
            "1 of 3 results did not reproduce",
        ));

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
    let _turn = one_at_a_time();
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

#[test]
fn a_factorial_run_finds_the_interaction_of_speed_and_concurrency() {
    let _turn = one_at_a_time();
    // Throughput grows with speed × concurrency, not speed + concurrency:
    // an interaction the one-factor-at-a-time design could not show.
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "fact.yaml",
        "name: fact\ntarget: {builtin: sim, model: \"sim@{{ speed }}x\"}\nprompts: {prompts}\n\
         design: factorial\nbaseline: {speed: 1, concurrency: 1, output_tokens: 12}\n\
         factors:\n  speed: [1, 2]\n  concurrency: [1, 4]\nrepetitions: 3\nwarmup: {requests: 1}\ntrial: {requests: 8}\n",
    );
    let out = bin().arg("validate").arg(&exp).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("factorial, every combination: 4 configurations, 12 trials (one factor at a time: 3 configurations, 9 trials)"),
        "{stdout}"
    );
    let (stdout, _) = run(tmp.path(), &exp, &[], 0);
    assert!(stdout.contains("Effects (type-II ANOVA"), "{stdout}");
    let dir = single_run(tmp.path(), "fact");
    let effects = std::fs::read_to_string(dir.join("effects.csv")).unwrap();
    assert!(
        effects.starts_with("metric,term,df,sum_sq,F,p,partial_eta_sq\n"),
        "{effects}"
    );
    let row = |term: &str| -> Vec<String> {
        effects
            .lines()
            .find(|l| l.starts_with(&format!("output_tok_s,{term},")))
            .unwrap_or_else(|| panic!("no {term}: {effects}"))
            .split(',')
            .map(str::to_string)
            .collect()
    };
    for term in ["speed", "concurrency", "speed:concurrency", "repetition"] {
        assert_eq!(
            row(term)[2],
            if term == "repetition" { "2.0" } else { "1.0" },
            "{term}"
        );
    }
    // 12 trials − (1 + 1 + 1 + 1 + 2) parameters = 6 residual df.
    assert_eq!(row("Residual")[2], "6.0");
    let p: f64 = row("speed:concurrency")[5].parse().unwrap();
    assert!(p < 0.01, "interaction p {p}: {effects}");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    // One interaction plot per headline metric: TPOT is where a server's
    // slot count shows.
    for label in infer_bench::metrics::shown().map(infer_bench::metrics::label) {
        assert!(
            html.contains(&format!("{label} by speed and concurrency")),
            "no interaction plot of {label}"
        );
    }
    // The cell two factors away from the baseline is labelled by both.
    let summary = std::fs::read_to_string(dir.join("summary.csv")).unwrap();
    assert!(summary.contains("\"speed=2,concurrency=4\""), "{summary}");
}

#[test]
fn adaptive_repetitions_stop_when_precise_enough_or_at_max() {
    let _turn = one_at_a_time();
    let tmp = tempfile::tempdir().unwrap();
    let text = |rel: &str| {
        format!(
            "name: adapt\ntarget: {{builtin: sim, model: m}}\nprompts: {{prompts}}\n\
             baseline: {{concurrency: 1, output_tokens: 8}}\nfactors:\n  concurrency: [1, 2]\n\
             repetitions: {{min: 2, max: 3, until: {{rel_ci: {rel}, metrics: [output_tok_s]}}}}\nwarmup: {{requests: 1}}\ntrial: {{requests: 3}}\n"
        )
    };
    let manifest = |dir: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap()
    };
    // A loose target is met after the first check, at 2 blocks.
    let loose = experiment(tmp.path(), "loose.yaml", &text("0.5"));
    let (stdout, _) = run(&tmp.path().join("loose"), &loose, &[], 0);
    let m = manifest(&single_run(&tmp.path().join("loose"), "adapt"));
    assert_eq!(m["repetitions_stop"]["blocks"], 2, "{m}");
    assert_eq!(m["repetitions_stop"]["precise"], true, "{m}");
    assert_eq!(
        (m["trials_done"].as_u64(), m["trials_planned"].as_u64()),
        (Some(4), Some(4))
    );
    assert!(
        stdout.contains("Repetitions: 2 blocks; every configuration's 95% CI"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Sensitivity: this run could detect changes of"),
        "{stdout}"
    );
    // An impossible one runs to max and says so.
    let tight = experiment(tmp.path(), "tight.yaml", &text("0.000001"));
    run(&tmp.path().join("tight"), &tight, &[], 0);
    let dir = single_run(&tmp.path().join("tight"), "adapt");
    let m = manifest(&dir);
    assert_eq!(m["repetitions_stop"]["blocks"], 3, "{m}");
    assert_eq!(m["repetitions_stop"]["precise"], false, "{m}");
    assert!(m["repetitions_stop"]["reason"]
        .as_str()
        .unwrap()
        .starts_with("max 3 blocks reached"));
    assert_eq!(m["trials_done"], 6);
    // estimates.csv states the minimal detectable change per configuration.
    let est = std::fs::read_to_string(dir.join("estimates.csv")).unwrap();
    assert!(
        est.lines().next().unwrap().ends_with(",cv,mde_rel_80"),
        "{est}"
    );
    // Sharding cannot decide block by block.
    bin()
        .args(["run", "--quiet", "--shard", "0/2", "--out"])
        .arg(tmp.path())
        .arg(&tight)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("cannot be sharded"));
}

#[test]
fn the_committed_reference_run_still_reproduces() {
    let _turn = one_at_a_time();
    // results/reference/quickstart holds no request log: the reproduction
    // compares with its trials.parquet, whatever this machine measures.
    let tmp = tempfile::tempdir().unwrap();
    let out = bin()
        .current_dir(common::repo())
        .args(["reproduce", "--quiet", "--out"])
        .arg(tmp.path())
        .arg("results/reference/quickstart")
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.starts_with("recorded: results/reference/quickstart"),
        "{stdout}"
    );
    let tally = stdout
        .lines()
        .find(|l| l.starts_with("reproduced: "))
        .unwrap_or_else(|| panic!("{stdout}"));
    // 4 configurations × the 10 metrics the sim measures, each with a verdict.
    assert!(tally.ends_with("(of 40)"), "{tally}");
}
