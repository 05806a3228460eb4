//! One limit per quantity, wherever it comes from: a token length, a time
//! span, a count or a rendered text past its limit (or NaN, infinite,
//! negative) is refused by `validate` with exit 2 and its place (the
//! experiment's key, or the data file's line), never a panic, and `run`
//! refuses it the same way before anything starts. Explicit cases for each
//! source, then property tests over extreme values.

mod common;

use common::{bin, repo};
use infer_bench::experiment::{self, limits};
use infer_bench::workload::Length;
use proptest::prelude::*;
use std::path::Path;

const HEAD: &str = "name: lim\ntarget: {builtin: sim, model: m}\nprompts: {prompts}\n";

/// An experiment with one workload `w` (the YAML of its spec), in `dir`.
fn with_workload(dir: &Path, spec: &str, api_chat: bool) -> std::path::PathBuf {
    let head = if api_chat {
        HEAD.replace("model: m}", "model: m, api: chat}")
    } else {
        HEAD.to_string()
    };
    common::experiment(
        dir,
        "e.yaml",
        &format!("{head}workloads:\n  w: {spec}\ntrial: {{requests: 2}}\n"),
    )
}

/// `validate EXP`: exit 2, no panic, and each of `expected` in stderr.
fn refused(exp: &Path, expected: &[&str]) -> String {
    let out = bin().arg("validate").arg(exp).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in {err:?}");
    }
    err
}

fn workload_refused(spec: &str, chat: bool, expected: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    refused(&with_workload(tmp.path(), spec, chat), expected)
}

/// A trace file `file` with `text` beside an experiment whose workload reads it.
fn trace_refused(file: &str, text: &str, spec: &str, expected: &[&str]) -> String {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(file), text).unwrap();
    refused(&with_workload(tmp.path(), spec, false), expected)
}

const TOO_MANY: &str = "100000000000 is more than the most infer-bench takes (10000000)";

#[test]
fn a_token_length_past_the_limit_is_refused_from_every_source() {
    // A factor level (the limit as it was) and a workload say the same.
    let tmp = tempfile::tempdir().unwrap();
    let level = common::experiment(
        tmp.path(),
        "e.yaml",
        &format!("{HEAD}baseline: {{input_tokens: 100000000000}}\ntrial: {{requests: 2}}\n"),
    );
    refused(&level, &["e.yaml:4:", &format!("input_tokens {TOO_MANY}")]);
    workload_refused(
        "{input_tokens: 100000000000}",
        false,
        &[
            "e.yaml:5:",
            &format!("workload 'w': input_tokens {TOO_MANY}"),
        ],
    );
    workload_refused(
        "{output_tokens: {dist: uniform, min: 1, max: 100000000000}}",
        false,
        &["e.yaml:5:", &format!("output_tokens max {TOO_MANY}")],
    );
    workload_refused(
        "{input_tokens: {dist: empirical, values: [5, 100000000000]}}",
        false,
        &["e.yaml:5:", &format!("input_tokens value {TOO_MANY}")],
    );
    workload_refused(
        "{input_tokens: {dist: normal, mean: 100, sd: 10, min: 100000000000}}",
        false,
        &["e.yaml:5:", &format!("input_tokens min {TOO_MANY}")],
    );
}

#[test]
fn a_distribution_with_absurd_parameters_is_refused_not_a_panic() {
    // The panic: a mean length of 1e300.
    workload_refused(
        "{input_tokens: {dist: lognormal, mean: 1e300, sd: 10}}",
        false,
        &[
            "e.yaml:5:",
            "input_tokens mean 1e300 is more than the most infer-bench takes (10000000)",
        ],
    );
    workload_refused(
        "{output_tokens: {dist: normal, mean: 100, sd: 1e300}}",
        false,
        &["e.yaml:5:", "output_tokens sd 1e300 is more than the most"],
    );
    for (value, shown) in [(".nan", "NaN"), (".inf", "inf"), ("-5", "-5")] {
        workload_refused(
            &format!("{{input_tokens: {{dist: normal, mean: {value}, sd: 3}}}}"),
            false,
            &[
                "e.yaml:5:",
                &format!("input_tokens mean is {shown}, expected a number of tokens ≥ 0"),
            ],
        );
    }
}

#[test]
fn a_huge_sigma_is_capped_at_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = with_workload(
        tmp.path(),
        "{input_tokens: {dist: lognormal, mean: 1000000, sd: 10000000}}",
        false,
    );
    bin().arg("validate").arg(&exp).assert().success();
    // σ ≈ 2.15 on the log scale: about 2 % of draws would pass 10^7 tokens.
    let l: Length = serde_yaml::from_str("{dist: lognormal, mean: 1000000, sd: 10000000}").unwrap();
    assert_eq!(l.max(), limits::MAX_TOKENS);
    let draws: Vec<u64> = (0..5000).map(|i| l.draw(1, 0, i, 0)).collect();
    assert!(draws.iter().all(|d| *d <= limits::MAX_TOKENS));
    let capped = draws.iter().filter(|d| **d == limits::MAX_TOKENS).count();
    assert!(capped > 20, "{capped} draws at the cap");
}

#[test]
fn sessions_are_held_to_the_same_limits() {
    workload_refused(
        "{sessions: {turns: 4000000000, first_input_tokens: 5, turn_input_tokens: 5, output_tokens: 5}}",
        true,
        &["e.yaml:5:", "sessions turns 4000000000 is more than the most infer-bench takes (10000000)"],
    );
    workload_refused(
        "{sessions: {turns: 2, first_input_tokens: 100000000000, turn_input_tokens: 5, output_tokens: 5}}",
        true,
        &["e.yaml:5:", &format!("sessions first_input_tokens {TOO_MANY}")],
    );
    // Each turn is small; the last one's history is not.
    workload_refused(
        "{sessions: {turns: 100, first_input_tokens: 5, turn_input_tokens: 100000, output_tokens: 100000}}",
        true,
        &["e.yaml:5:", "sessions: the last turn's prompt (its whole history) 19800005 is more than the most"],
    );
    workload_refused(
        "{sessions: {turns: 10, first_input_tokens: 5, turn_input_tokens: 5, output_tokens: 5, think_time: 20days}}",
        true,
        &["e.yaml:5:", "sessions: think_time over the turns 15552000s is more than the most infer-bench takes (30days)"],
    );
}

#[test]
fn shared_prefixes_are_held_to_the_same_limits() {
    workload_refused(
        "{shared_prefix: {groups: 2, prefix_tokens: 100000000000, suffix_tokens: 5, output_tokens: 5}}",
        false,
        &["e.yaml:5:", &format!("shared_prefix prefix_tokens {TOO_MANY}")],
    );
    workload_refused(
        "{shared_prefix: {groups: 2, prefix_tokens: 9000000, suffix_tokens: 2000000, output_tokens: 5}}",
        false,
        &["e.yaml:5:", "shared_prefix: prefix_tokens + suffix_tokens 11000000 is more than the most"],
    );
    workload_refused(
        "{shared_prefix: {groups: 4000000000, prefix_tokens: 5, suffix_tokens: 5, output_tokens: 5}}",
        false,
        &["e.yaml:5:", "shared_prefix groups 4000000000 is more than the most"],
    );
}

const AZURE: &str = "TIMESTAMP,ContextTokens,GeneratedTokens\n";

#[test]
fn a_trace_spanning_a_century_is_refused_at_its_row() {
    // The case: one 1900 row among 2023 rows replays for 124 years.
    let text = format!(
        "{AZURE}2023-11-16 18:17:03.9799600,10,2\n1900-01-01 00:00:00.0000000,10,2\n2023-11-16 18:17:04.1,10,2\n"
    );
    trace_refused(
        "t.csv",
        &text,
        "{trace: t.csv}",
        &[
            "t.csv:2:1: row at line 2 comes 124 years after the replay's first row (line 3)",
            "is more than the most infer-bench takes (30days)",
        ],
    );
}

#[test]
fn trace_rows_past_a_limit_name_their_file_and_line() {
    trace_refused(
        "t.csv",
        &format!("{AZURE}2023-11-16 18:17:03,10,2\n2023-11-16 18:17:04,100000000000,2\n"),
        "{trace: t.csv}",
        &[&format!("t.csv:3:1: ContextTokens {TOO_MANY}")],
    );
    // The panic: a Mooncake timestamp of 1e300 (milliseconds).
    trace_refused(
        "t.jsonl",
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n{\"timestamp\": 1e300, \"input_length\": 5, \"output_length\": 1}\n",
        "{trace: t.jsonl, format: mooncake}",
        &["t.jsonl:2:1: row at line 2 comes 3.2e289 years after the replay's first row (line 1)"],
    );
    trace_refused(
        "t.jsonl",
        "{\"timestamp\": 0, \"input_length\": 100000000000, \"output_length\": 1}\n",
        "{trace: t.jsonl, format: mooncake}",
        &[&format!("t.jsonl:1:1: input length {TOO_MANY}")],
    );
    trace_refused(
        "t.jsonl",
        "{\"timestamp_s\": 0, \"input_tokens\": 5, \"output_tokens\": 18446744073709551615}\n",
        "{trace: t.jsonl, format: jsonl}",
        &["t.jsonl:1:1: output length 18446744073709551615 is more than the most"],
    );
    // A reasonable trace, slowed past the limit by its time_scale.
    trace_refused(
        "t.jsonl",
        "{\"timestamp_s\": 0, \"input_tokens\": 5, \"output_tokens\": 1}\n{\"timestamp_s\": 2, \"input_tokens\": 5, \"output_tokens\": 1}\n",
        "{trace: t.jsonl, format: jsonl, time_scale: 1e300}",
        &["t.jsonl:2:1: row at line 2 comes", "the trace's time span 2e300s is more than the most"],
    );
    // A year past any calendar (an overflow in the day count before).
    trace_refused(
        "t.csv",
        &format!("{AZURE}99999999999999-11-16 18:17:03,10,2\n"),
        "{trace: t.csv}",
        &["t.csv:2:1: TIMESTAMP '99999999999999-11-16 18:17:03': a field out of range"],
    );
    trace_refused(
        "t.csv",
        &format!("{AZURE}2023-11-16 18:17:03+99999999999999:00,10,2\n"),
        "{trace: t.csv}",
        &["t.csv:2:1: TIMESTAMP", "zone out of range"],
    );
}

#[test]
fn block_sizes_filters_and_dataset_lengths_are_held_to_the_token_limit() {
    trace_refused(
        "t.jsonl",
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [1]}\n",
        "{trace: t.jsonl, format: mooncake, block_tokens: 100000000000}",
        &["e.yaml:5:", &format!("block_tokens {TOO_MANY}")],
    );
    trace_refused(
        "d.jsonl",
        "{\"prompt\": \"hi\", \"output_tokens\": 100000000000}\n",
        "{dataset: d.jsonl, output_tokens: from_dataset}",
        &[&format!("d.jsonl:1:1: output_tokens {TOO_MANY}")],
    );
    trace_refused(
        "d.jsonl",
        "{\"prompt\": \"hi\"}\n",
        "{dataset: d.jsonl, filter: {max_tokens: 100000000000}}",
        &["e.yaml:5:", &format!("filter max_tokens {TOO_MANY}")],
    );
}

#[test]
fn a_template_that_renders_gigabytes_stops_at_the_text_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = common::experiment(
        tmp.path(),
        "e.yaml",
        &HEAD
            .replace(
                "model: m}",
                "model: \"{% for i in range(40) %}{{ 'x' * 100000000 }}{% endfor %}\"}",
            )
            .replace("{prompts}", "{prompts}\ntrial: {requests: 2}"),
    );
    refused(
        &exp,
        &[
            "e.yaml:2:",
            "the rendered template of",
            "bytes is more than the most infer-bench takes (67108864 bytes)",
        ],
    );
}

#[test]
fn the_sims_times_are_durations_like_any_other() {
    let tmp = tempfile::tempdir().unwrap();
    for (key, shown) in [
        ("ttft_base_ms", "1e297s"),
        ("decode_ms_per_token", "1e297s"),
    ] {
        let exp = common::experiment(
            tmp.path(),
            "e.yaml",
            &HEAD.replace("model: m}", &format!("model: m, sim: {{{key}: 1e300}}}}")),
        );
        let text = std::fs::read_to_string(&exp).unwrap() + "trial: {requests: 2}\n";
        std::fs::write(&exp, text).unwrap();
        refused(
            &exp,
            &[
                "e.yaml:2:",
                &format!("sim {key} {shown} is more than the most infer-bench takes (30days)"),
            ],
        );
    }
}

#[test]
fn batches_count_their_prompts_against_the_request_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = common::experiment(
        tmp.path(),
        "e.yaml",
        &format!("{HEAD}baseline: {{batch_size: 4096}}\ntrial: {{requests: 10000}}\n"),
    );
    refused(
        &exp,
        &["e.yaml:4:", "trial requests × batch_size 40960000 is more than the most infer-bench takes (10000000)"],
    );
    // `--requests` makes the same count.
    let exp = common::experiment(
        tmp.path(),
        "e.yaml",
        &format!("{HEAD}baseline: {{batch_size: 4096}}\ntrial: {{requests: 2}}\n"),
    );
    let out = bin()
        .args(["run", "--requests", "10000"])
        .arg(&exp)
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("trial requests × batch_size 40960000 is more than the most"),
        "{err}"
    );
}

/// The faults of a limit carry their rule, whatever the source, so a
/// caller can tell a limit from another fault.
#[test]
fn limit_faults_carry_their_rule() {
    use infer_bench::error::Rule;
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("t.jsonl"),
        "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1}\n{\"timestamp\": 1e300, \"input_length\": 5, \"output_length\": 1}\n",
    )
    .unwrap();
    std::fs::write(
        tmp.path().join("d.jsonl"),
        "{\"prompt\": \"a\", \"output_tokens\": 100000000000}\n",
    )
    .unwrap();
    let specs = [
        "{input_tokens: 100000000000}",
        "{input_tokens: {dist: normal, mean: .nan, sd: 1}}",
        "{shared_prefix: {groups: 2, prefix_tokens: 9000000, suffix_tokens: 2000000, output_tokens: 5}}",
        "{trace: t.jsonl, format: mooncake}",
        "{dataset: d.jsonl, output_tokens: from_dataset}",
    ];
    for spec in specs {
        let path = tmp.path().join("e.yaml");
        let err = experiment::load_str(&path, experiment_text(spec, false, "m")).unwrap_err();
        assert!(
            matches!(
                err.rule.as_deref(),
                Some(Rule::TooLarge { .. } | Rule::NotValid { .. })
            ),
            "{spec}: {err} ({:?})",
            err.rule
        );
        assert!(err.location.is_some(), "{spec}: {err}");
    }
}

#[test]
fn run_refuses_the_same_before_anything_starts() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = with_workload(tmp.path(), "{input_tokens: 100000000000}", false);
    let out = tmp.path().join("out");
    let (_, err) = common::run(&out, &exp, &[], 2);
    assert!(err.contains(&format!("input_tokens {TOO_MANY}")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Nothing was started, so no run folder is left `running`.
    assert!(!out.join("lim").exists());
    let text = format!("{AZURE}2023-11-16 18:17:03,10,2\n1900-01-01 00:00:00,10,2\n");
    std::fs::write(tmp.path().join("t.csv"), text).unwrap();
    let exp = with_workload(tmp.path(), "{trace: t.csv}", false);
    let (_, err) = common::run(&out, &exp, &[], 2);
    assert!(
        err.contains("t.csv:2:1: row at line 2 comes 124 years"),
        "{err}"
    );
    assert!(!out.join("lim").exists());
}

// Property tests: extreme values from every source, through the library's
// loader (which `validate` and `run` call) and through the binary.

fn big_u64() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("0".to_string()),
        1 => Just("1".to_string()),
        1 => Just("7".to_string()),
        1 => Just("10000000".to_string()),
        1 => Just("10000001".to_string()),
        1 => Just("100000000000".to_string()),
        1 => Just(u64::MAX.to_string()),
        1 => Just("-3".to_string()),
        // Ordinary values most often, so that many cases are accepted and
        // held to the limits, not only refused.
        8 => (1u64..5000).prop_map(|n| n.to_string()),
    ]
}

fn big_f64() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("0".to_string()),
        1 => Just("-1.5".to_string()),
        1 => Just(".nan".to_string()),
        1 => Just(".inf".to_string()),
        1 => Just("-.inf".to_string()),
        1 => Just("1e300".to_string()),
        1 => Just("5e-324".to_string()),
        1 => Just("10000000".to_string()),
        8 => (1.0f64..5000.0).prop_map(|x| format!("{x:.1}")),
    ]
}

fn length() -> BoxedStrategy<String> {
    prop_oneof![
        big_u64(),
        (big_u64(), big_u64()).prop_map(|(a, b)| format!("{{dist: uniform, min: {a}, max: {b}}}")),
        (big_f64(), big_f64(), big_u64())
            .prop_map(|(m, s, x)| format!("{{dist: lognormal, mean: {m}, sd: {s}, max: {x}}}")),
        (big_f64(), big_f64()).prop_map(|(m, s)| format!("{{dist: normal, mean: {m}, sd: {s}}}")),
        (big_u64(), big_u64(), big_f64()).prop_map(|(a, b, w)| format!(
            "{{dist: empirical, values: [{a}, {b}], weights: [1, {w}]}}"
        )),
    ]
    .boxed()
}

/// A trace row's timestamp: ordinary, far, negative, not a number.
fn stamp() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u64..10_000).prop_map(|n| n.to_string()),
        1 => Just("1e300".to_string()),
        1 => Just("-5".to_string()),
        1 => Just("1e15".to_string()),
        1 => Just("\"x\"".to_string()),
    ]
}

/// A trace row's token count: mostly ordinary, so that whole traces are
/// accepted often enough to be held to the limits.
fn row_tokens() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u64..5000).prop_map(|n| n.to_string()),
        1 => big_u64(),
    ]
}

fn csv_stamp() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u32..60).prop_map(|s| format!("2023-11-16 18:17:{s:02}.5")),
        1 => Just("1900-01-01 00:00:00".to_string()),
        1 => Just("99999999999-01-01 00:00:00".to_string()),
        1 => Just("2023-11-16 18:17:03+99999999999:00".to_string()),
        1 => Just("2023-13-45 99:99:99".to_string()),
    ]
}

/// A data file (name, text) and the workload that reads it.
fn trace() -> BoxedStrategy<(String, String, String)> {
    let rows = |r: BoxedStrategy<String>| proptest::collection::vec(r, 1..6);
    prop_oneof![
        rows((csv_stamp(), row_tokens(), row_tokens()).prop_map(|(t, i, o)| format!("{t},{i},{o}\n")).boxed())
            .prop_map(|r| ("t.csv".into(), format!("{AZURE}{}", r.concat()), "{trace: t.csv}".into())),
        (rows((stamp(), row_tokens(), row_tokens()).prop_map(|(t, i, o)| format!(
            "{{\"timestamp\": {t}, \"input_length\": {i}, \"output_length\": {o}, \"hash_ids\": [1, 2]}}\n"
        )).boxed()), big_u64(), big_f64())
            .prop_map(|(r, b, s)| ("t.jsonl".into(), r.concat(), format!(
                "{{trace: t.jsonl, format: mooncake, block_tokens: {b}, time_scale: {s}}}"
            ))),
        rows((stamp(), row_tokens(), row_tokens()).prop_map(|(t, i, o)| format!(
            "{{\"timestamp_s\": {t}, \"input_tokens\": {i}, \"output_tokens\": {o}}}\n"
        )).boxed())
            .prop_map(|r| ("t.jsonl".into(), r.concat(), "{trace: t.jsonl, format: jsonl}".into())),
    ]
    .boxed()
}

/// A workload's spec (and a data file it reads, if any), whether it needs `api: chat`.
/// A workload's YAML, the data file it reads (name, text), whether it needs `api: chat`.
type Case = (String, Option<(String, String)>, bool);

fn workload() -> BoxedStrategy<Case> {
    prop_oneof![
        (length(), length()).prop_map(|(i, o)| (format!("{{input_tokens: {i}, output_tokens: {o}}}"), None, false)),
        (big_u64(), length(), length(), prop_oneof![Just("1s"), Just("29days")]).prop_map(|(t, a, b, th)| (
            format!("{{sessions: {{turns: {t}, first_input_tokens: {a}, turn_input_tokens: {b}, output_tokens: 9, think_time: {th}}}}}"),
            None,
            true,
        )),
        (big_u64(), big_u64(), length()).prop_map(|(g, p, s)| (
            format!("{{shared_prefix: {{groups: {g}, prefix_tokens: {p}, suffix_tokens: {s}, output_tokens: 4}}}}"),
            None,
            false,
        )),
        trace().prop_map(|(f, text, spec)| (spec, Some((f, text)), false)),
    ]
    .boxed()
}

/// A model template: repeats and literals from small to past the limit.
fn template() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("m".to_string()),
        (0u64..200_000_000, 1u32..40).prop_map(|(n, k)| format!(
            "{{% for i in range({k}) %}}{{{{ 'ab' * {n} }}}}{{% endfor %}}"
        )),
        (0usize..3).prop_map(|k| format!("{{{{ '{}' }}}}", "z".repeat(k * 1000))),
    ]
}

fn experiment_text(spec: &str, chat: bool, model: &str) -> String {
    let prompts = repo().join("prompts/general.yaml");
    format!(
        "name: lim\ntarget: {{builtin: sim, model: \"{model}\"{}}}\nprompts: {}\nworkloads:\n  w: {spec}\ntrial: {{requests: 3}}\n",
        if chat { ", api: chat" } else { "" },
        prompts.display()
    )
}

/// What an accepted experiment may hold: every quantity within its limit.
fn within_limits(l: &experiment::LoadedExperiment) -> Result<(), TestCaseError> {
    let max_s = limits::MAX_DURATION.as_secs_f64();
    for w in l.workloads.values() {
        if let Some(n) = w.max_input_tokens() {
            prop_assert!(n <= limits::MAX_TOKENS, "{}: input {n}", w.name);
        }
        for row in w.trace.iter().flat_map(|t| t.iter()) {
            prop_assert!(
                row.at_s.is_finite() && (0.0..=max_s).contains(&row.at_s),
                "{row:?}"
            );
            prop_assert!(row.input_tokens <= limits::MAX_TOKENS, "{row:?}");
            prop_assert!(row.output_tokens <= limits::MAX_TOKENS, "{row:?}");
        }
        let spec = &w.spec;
        let mut lengths: Vec<&Length> = spec.input_tokens.iter().collect();
        if let Some(infer_bench::workload::OutputLength::Length(l)) = &spec.output_tokens {
            lengths.push(l);
        }
        if let Some(s) = &spec.sessions {
            prop_assert!(u64::from(s.turns) <= u64::from(limits::MAX_REQUESTS));
            lengths.extend([
                &s.first_input_tokens,
                &s.turn_input_tokens,
                &s.output_tokens,
            ]);
        }
        if let Some(p) = &spec.shared_prefix {
            prop_assert!(u64::from(p.groups) <= u64::from(limits::MAX_REQUESTS));
            lengths.extend([&p.suffix_tokens, &p.output_tokens]);
        }
        for l in lengths {
            prop_assert!(l.max() <= limits::MAX_TOKENS, "{l:?}");
            let mean = l.mean();
            prop_assert!(
                mean.is_finite() && mean <= limits::MAX_TOKENS as f64,
                "{l:?}"
            );
            // Draws stay within the limit whatever the parameters.
            for i in 0..20 {
                prop_assert!(l.draw(7, 0, i, 0) <= limits::MAX_TOKENS, "{l:?}");
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_loader_refuses_with_a_place_or_accepts_within_the_limits(
        (spec, file, chat) in workload(),
        model in template(),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        if let Some((name, text)) = &file {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let path = tmp.path().join("e.yaml");
        match experiment::load_str(&path, experiment_text(&spec, chat, &model)) {
            Err(e) => {
                let located = e.file.is_some() && (e.location.is_some() || e.message.contains("no requests"));
                prop_assert!(located, "{e}");
            }
            Ok(l) => within_limits(&l)?,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The binary too (its estimate does arithmetic of its own): exit 0 or
    /// 2, a place in the message on 2, never a panic.
    #[test]
    fn validate_exits_0_or_2_and_never_panics((spec, file, chat) in workload()) {
        let tmp = tempfile::tempdir().unwrap();
        if let Some((name, text)) = &file {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let path = tmp.path().join("e.yaml");
        std::fs::write(&path, experiment_text(&spec, chat, "m")).unwrap();
        let out = bin().arg("validate").arg(&path).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        prop_assert!(!err.contains("panicked"), "{err}");
        match out.status.code() {
            Some(0) => {}
            Some(2) => prop_assert!(err.contains(".yaml:") || err.contains(".csv:") || err.contains(".jsonl:"), "{err}"),
            other => prop_assert!(false, "exit {other:?}: {err}"),
        }
    }
}

/// A counted open loop at a slow rate spans the requests over the rate:
/// a schedule longer than the duration limit is refused like a trace's.
#[test]
fn a_slow_open_loop_is_a_span_like_any_other() {
    let tmp = tempfile::tempdir().unwrap();
    for (rate, words) in [
        (
            "1e-300",
            "the trial's schedule (8 requests at 1e-300 req/s)",
        ),
        (
            "0.000001",
            "the trial's schedule (8 requests at 0.000001 req/s)",
        ),
    ] {
        let exp = common::experiment(
            tmp.path(),
            "e.yaml",
            &format!("{HEAD}load: poisson\nbaseline: {{rate: {rate}}}\ntrial: {{requests: 8}}\n"),
        );
        refused(&exp, &["e.yaml:", words, "(30days)"]);
    }
    // A schedule within the limit is taken.
    let exp = common::experiment(
        tmp.path(),
        "e.yaml",
        &format!("{HEAD}load: poisson\nbaseline: {{rate: 0.5}}\ntrial: {{requests: 8}}\nwarmup: {{requests: 0}}\n"),
    );
    bin().arg("validate").arg(&exp).assert().success();
}

/// An experiment file or a prompt set is read whole: one past the text
/// limit is refused by its size, before it is read.
#[test]
fn input_files_past_the_text_limit_are_refused_before_they_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("big.yaml");
    let file = std::fs::File::create(&big).unwrap();
    // Sparse: 65 MiB on disk by its length, nothing written.
    file.set_len(65 << 20).unwrap();
    refused(
        &big,
        &[
            "big.yaml:",
            "the experiment file of 68157440 bytes is more than",
        ],
    );
    let exp = common::experiment(
        tmp.path(),
        "e.yaml",
        &format!(
            "name: lim\ntarget: {{builtin: sim, model: m}}\nprompts: {}\ntrial: {{requests: 2}}\n",
            big.display()
        ),
    );
    refused(&exp, &["the prompt set of 68157440 bytes is more than"]);
}
