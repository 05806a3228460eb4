//! Timing accuracy against the sim's model, alone in its test binary so no
//! other test's load shares the machine with it.

mod common;

use common::{experiment, run, single_run};
use infer_bench::results::read_run;

/// With noise off and one request in flight, the measured TTFT is the sim's
/// modelled prefill time plus the harness's and the loopback's overhead,
/// which must stay under 2 ms.
#[test]
fn ttft_at_concurrency_one_matches_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "ttft.yaml",
        "name: ttft\ntarget: {builtin: sim, model: sim-q4_K_M, sim: {jitter: 0}}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, input_tokens: 120, output_tokens: 4}\nrepetitions: 2\nwarmup: {requests: 3}\ntrial: {requests: 25}\n",
    );
    run(tmp.path(), &exp, &[], 0);
    let run = read_run(&single_run(tmp.path(), "ttft")).unwrap();
    // The README's model with its defaults, written out: (ttft_base_ms 12 +
    // prefill_ms_per_token 0.08 × 120 tokens) / speed 1.0 (q4_K_M).
    let modelled = (12.0 + 0.08 * 120.0) / 1.0;
    let mut errors: Vec<f64> = run
        .records
        .iter()
        .map(|r| r.ttft_ms.unwrap() - modelled)
        .collect();
    errors.sort_by(f64::total_cmp);
    let median = errors[errors.len() / 2];
    assert!(
        (0.0..2.0).contains(&median),
        "median TTFT − modelled {modelled} ms = {median:.3} ms; all: {errors:?}"
    );
}
