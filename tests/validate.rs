//! Bad input: a located message and exit code 2, never a panic.

mod common;

use common::{bin, experiment, repo};
use predicates::str::contains;

const GOOD: &str = "name: t\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
baseline: {concurrency: 1, output_tokens: 8}\nfactors:\n  concurrency: [1, 2]\ntrial: {requests: 2}\n";

fn check(text: &str, expected: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "x.yaml", text);
    let assert = bin().arg("validate").arg(&path).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in {stderr:?}");
    }
}

#[test]
fn a_good_file_validates_with_counts_and_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "x.yaml", GOOD);
    bin()
        .arg("validate")
        .arg(&path)
        .assert()
        .success()
        .stdout(contains("configurations: 2"))
        .stdout(contains("trials:         6"))
        .stdout(contains("requests:       12 measured"))
        .stdout(contains("estimate:"));
}

#[test]
fn unknown_top_level_field_is_located() {
    let text = GOOD.replace("trial:", "repetitons: 3\ntrial:");
    check(
        &text,
        &[
            "x.yaml:7:1: unknown field 'repetitons', expected one of",
            "'repetitions'",
        ],
    );
}

#[test]
fn misspelt_factor_gets_a_suggestion() {
    let text = GOOD
        .replace("  concurrency: [1, 2]", "  concurency: [1, 2]")
        .replace("concurrency: 1,", "concurency: 1,");
    check(
        &text,
        &[
            "x.yaml:6:3: unknown factor 'concurency'",
            "did you mean 'concurrency'?",
        ],
    );
}

#[test]
fn baseline_must_be_one_of_the_levels() {
    let text = GOOD.replace("concurrency: 1,", "concurrency: 3,");
    check(
        &text,
        &["x.yaml:4:12: baseline concurrency = 3 is not one of the factor's levels [1, 2]"],
    );
}

#[test]
fn builtin_factors_need_sane_values() {
    let text = GOOD.replace("[1, 2]", "[1, 0]");
    check(
        &text,
        &["x.yaml:6:3: concurrency must be a whole number ≥ 1, got 0"],
    );
}

#[test]
fn empty_levels_and_missing_baseline() {
    check(
        &GOOD.replace("[1, 2]", "[]"),
        &["factor 'concurrency' has no levels"],
    );
    check(
        &GOOD.replace("concurrency: 1, ", ""),
        &["x.yaml:4:1: baseline has no level for factor 'concurrency'"],
    );
}

#[test]
fn wrong_types_and_syntax_are_located() {
    check(
        &GOOD.replace("{requests: 2}", "{requests: many}"),
        &["x.yaml:7:", "invalid type: string \"many\""],
    );
    check(
        &GOOD.replace("factors:\n", "factors:\n  - [\n"),
        &["x.yaml:"],
    );
    check(
        &GOOD.replace("{requests: 2}", "{duration: soon}"),
        &["invalid duration 'soon'"],
    );
}

#[test]
fn undefined_template_variables_are_caught_before_running() {
    check(
        &GOOD.replace("model: m", "model: \"m-{{ qaunt }}\""),
        &["template error", "qaunt"],
    );
}

/// Every command a run launches is rendered and split before it runs: a
/// typo, or an unclosed quote, is an error at its line.
#[test]
fn launched_commands_are_rendered_and_split_before_running() {
    let launched = |command: &str, version: &str| {
        GOOD.replace(
            "target: {builtin: sim, model: m}",
            &format!(
                "target:\n  model: m\n  server:\n    command: \"{command}\"\n    version_command: \"{version}\""
            ),
        )
    };
    check(
        &launched("srv --port {{ port }}", "{{ enigne }}/bin/v --version"),
        &["x.yaml:6:", "undefined variable 'enigne'"],
    );
    check(
        &launched("srv --port {{ port }}", "v --name 'open"),
        &["x.yaml:6:", "cannot be split into words"],
    );
    check(
        &launched("srv 'open --port {{ port }}", "v --version"),
        &["x.yaml:5:", "cannot be split into words"],
    );
}

#[test]
fn missing_files_are_named() {
    check(
        &GOOD.replace("{prompts}", "nowhere.yaml"),
        &["nowhere.yaml", "cannot read prompt set"],
    );
    bin()
        .args(["validate", "no-such-file.yaml"])
        .assert()
        .code(2)
        .stderr(contains("no-such-file.yaml: cannot read"));
}

#[test]
fn relative_prompt_paths_resolve_against_the_experiment_file() {
    bin()
        .current_dir(repo().join("src"))
        .arg("validate")
        .arg("../experiments/quickstart.yaml")
        .assert()
        .success();
}

#[test]
fn the_committed_summary_schema_is_current() {
    let committed = std::fs::read_to_string(repo().join("schemas/summary.schema.json")).unwrap();
    let generated = infer_bench::report::json::summary_schema();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "schemas/summary.schema.json is stale: run `cargo run -- schema --summary > schemas/summary.schema.json`"
    );
}

#[test]
fn the_committed_schema_is_current() {
    let committed = std::fs::read_to_string(repo().join("schemas/experiment.schema.json")).unwrap();
    let generated = infer_bench::experiment::schema_json();
    assert_eq!(
        committed.trim_end(),
        generated.trim_end(),
        "schemas/experiment.schema.json is stale: run `cargo run -- schema > schemas/experiment.schema.json`"
    );
}

#[test]
fn every_committed_experiment_validates() {
    for entry in walk(&repo().join("experiments")) {
        bin().arg("validate").arg(&entry).assert().success();
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "yaml") && !p.ends_with("prompts.yaml") {
            // The starter's prompt set lives beside its experiment.
            out.push(p);
        }
    }
    out
}

/// `infer-bench run` of `text` (as x.yaml in `dir`), which must exit 2; its stderr.
fn run_exit_2(dir: &std::path::Path, text: &str) -> String {
    let path = experiment(dir, "x.yaml", text);
    let out = bin()
        .args(["run", "--quiet", "--out"])
        .arg(dir)
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    stderr
}

/// On the built-in sim no server is needed to count tokens: an
/// `input_tokens` level shorter than the prompt template is named by
/// `validate`, and `run` refuses it with exit 2 before any trial.
#[test]
fn an_input_length_the_template_cannot_reach_is_exit_2() {
    let text = "name: t\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n\
baseline: {input_tokens: 64, output_tokens: 4}\nfactors:\n  input_tokens: [1, 64]\ntrial: {requests: 2}\n";
    check(
        text,
        &[
            "x.yaml:6:",
            "input_tokens=1: a prompt of the set is",
            "longer than input_tokens = 1",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let stderr = run_exit_2(dir.path(), text);
    assert!(!stderr.contains("--resume"), "{stderr}");
    assert!(
        !dir.path().join("t").exists(),
        "no run folder for a bad experiment"
    );
}

/// Against a server reached by URL the tokens are counted at the first
/// trial: still exit 2, without a resume hint that could not succeed.
#[test]
fn an_unreachable_input_length_on_a_real_server_is_exit_2_at_the_first_trial() {
    let sim = common::SimProcess::start();
    let text = format!(
        "name: t\ntarget: {{base_url: 'http://127.0.0.1:{}/v1', model: m}}\nprompts: {{prompts}}\n\
baseline: {{input_tokens: 1, output_tokens: 4}}\ntrial: {{requests: 2}}\n",
        sim.port
    );
    let dir = tempfile::tempdir().unwrap();
    let stderr = run_exit_2(dir.path(), &text);
    assert!(
        stderr.contains("x.yaml:4:") && stderr.contains("baseline: the prompt alone is"),
        "located in the experiment: {stderr}"
    );
    assert!(!stderr.contains("--resume"), "{stderr}");
}

#[test]
fn a_large_factorial_plan_is_warned_about_with_the_ofat_size_beside_it() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = tmp.path().join("big.yaml");
    std::fs::write(
        &exp,
        format!(
            "name: big\ntarget: {{builtin: sim}}\nprompts: {}\ndesign: factorial\n\
             baseline: {{concurrency: 1, output_tokens: 8, input_tokens: 50}}\n\
             factors:\n  concurrency: [1, 2, 4]\n  output_tokens: [8, 16, 32]\n  input_tokens: [50, 100, 200]\n\
             trial: {{requests: 2}}\n",
            repo().join("prompts/general.yaml").display()
        ),
    )
    .unwrap();
    bin()
        .arg("validate")
        .arg(&exp)
        .assert()
        .success()
        .stdout(predicates::str::contains(
            "factorial, every combination: 27 configurations, 81 trials (one factor at a time: 7 configurations, 21 trials)",
        ))
        .stderr(predicates::str::contains(
            "warning: the factorial plan has 27 configurations (81 trials), 3.9× the one-factor-at-a-time plan's 7",
        ));
}

/// The checks that need a command's flags keep the experiment's rules:
/// shards need a block each, an override is at least 1, and `compare`
/// holds its statistics flags to the rule of `stats:`.
#[test]
fn the_commands_checks_are_exit_2_with_their_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "x.yaml", GOOD);
    let stderr = |args: &[&str]| {
        let out = bin().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        stderr
    };
    let path = path.display().to_string();
    let e = stderr(&["plan", "--shards", "4", &path]);
    assert!(
        e.contains(
            "x.yaml: 4 shards need at least 4 repetitions (whole blocks are split), the plan has 3"
        ),
        "{e}"
    );
    let out = dir.path().display().to_string();
    let e = stderr(&["run", "--quiet", "--out", &out, "--requests", "0", &path]);
    assert!(e.contains("error: --requests must be at least 1"), "{e}");
    let e = stderr(&[
        "run",
        "--quiet",
        "--out",
        &out,
        "--repetitions",
        "10001",
        &path,
    ]);
    assert!(
        e.contains("error: --repetitions 10001 is more than the most infer-bench takes (10000)"),
        "{e}"
    );
    for flags in [
        "--alpha=0.5",
        "--equivalence=0",
        "--threshold=-1",
        "--threshold=inf",
    ] {
        let e = stderr(&["compare", "a", "b", flags]);
        assert!(
            e.contains(
                "--alpha must lie in (0, 0.5), --threshold be ≥ 0 and --equivalence above 0"
            ),
            "{flags}: {e}"
        );
    }
}

/// `plan --json` prints what a run writes to `plan.jsonl`, line for line,
/// and the shard of each trial where the plan is split.
#[test]
fn plan_json_and_plan_jsonl_are_one_shape() {
    let dir = tempfile::tempdir().unwrap();
    let exp = experiment(
        dir.path(),
        "x.yaml",
        &GOOD.replace("name: t", "name: shape"),
    );
    common::run(dir.path(), &exp, &[], 0);
    let run = common::single_run(dir.path(), "shape");
    let written = std::fs::read_to_string(run.join("plan.jsonl")).unwrap();
    let lines = |text: &str| -> Vec<serde_json::Value> {
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let printed = bin().args(["plan", "--json"]).arg(&exp).output().unwrap();
    let printed = lines(&String::from_utf8_lossy(&printed.stdout));
    assert_eq!(printed, lines(&written));
    assert_eq!(printed.len(), 6, "2 configurations × 3 repetitions");
    assert!(printed
        .iter()
        .all(|l| l["configuration"]["values"]["concurrency"].is_u64()));
    let sharded = bin()
        .args(["plan", "--json", "--shards", "3"])
        .arg(&exp)
        .output()
        .unwrap();
    let sharded = lines(&String::from_utf8_lossy(&sharded.stdout));
    for (mut s, p) in sharded.into_iter().zip(&printed) {
        let shard = s.as_object_mut().unwrap().remove("shard").unwrap();
        assert!(shard.as_u64().unwrap() < 3);
        assert_eq!(&s, p);
    }
}

/// With a run of the experiment in --out, `validate` estimates from its
/// measured speeds and states what the planned repetitions could detect;
/// before it, that it cannot yet.
#[test]
fn a_previous_run_informs_the_estimate_and_the_detectable_change() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("results");
    let path = experiment(dir.path(), "x.yaml", GOOD);
    let validate = |extra: &[&std::ffi::OsStr]| {
        let a = bin()
            .arg("validate")
            .arg("--out")
            .arg(&out)
            .args(extra)
            .arg(&path)
            .assert()
            .success();
        String::from_utf8_lossy(&a.get_output().stdout).to_string()
    };
    let before = validate(&[]);
    assert!(before.contains("from the sim's latency model"), "{before}");
    assert!(
        before.contains("detectable:     cannot be stated yet: no previous run"),
        "{before}"
    );

    common::run(&out, &path, &[], 0);
    let run = common::single_run(&out, "t");
    let id = run.file_name().unwrap().to_string_lossy().to_string();
    let after = validate(&[]);
    assert!(
        after.contains("(the newest run of this experiment file)"),
        "{after}"
    );
    assert!(
        after.contains(&format!("from run {id}'s measured speeds")),
        "{after}"
    );
    assert!(!after.contains("a guess until a first run"), "{after}");
    assert!(
        after.contains("with 3 repetitions") && after.contains("α / m = 0.05 /"),
        "{after}"
    );
    assert!(after.contains("output tok/s"), "{after}");

    // A bound no run can meet: each metric is warned of, with the way out.
    let strict = GOOD.to_string() + "stats: {max_detectable_change: 0.000001}\n";
    experiment(dir.path(), "x.yaml", &strict);
    let warned = validate(&[std::ffi::OsStr::new("--from"), run.as_os_str()]);
    assert!(warned.contains("(given with --from)"), "{warned}");
    assert!(
        warned.contains("warning:        output tok/s: only a change of"),
        "{warned}"
    );
    assert!(
        warned.contains("over stats.max_detectable_change 0.0 %"),
        "{warned}"
    );
    // The file changed since the run: still found, and said so.
    let changed = validate(&[]);
    assert!(changed.contains("earlier version of the file"), "{changed}");
}

#[test]
fn from_a_folder_that_is_no_run_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "x.yaml", GOOD);
    bin()
        .arg("validate")
        .arg("--from")
        .arg(dir.path())
        .arg(&path)
        .assert()
        .code(2)
        .stderr(contains("not a run folder"));
}
