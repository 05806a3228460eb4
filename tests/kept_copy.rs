//! A run folder whose experiment copy does not parse is still reported,
//! and `report` says so: which error, and the defaults it took instead.

mod common;

use common::{bin, experiment, run, single_run};

#[test]
fn report_names_a_broken_experiment_copy_and_the_defaults_it_used() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "copy.yaml",
        "name: copy\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
         baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4}\n\
         factors:\n  concurrency: [1, 2]\nrepetitions: 2\nwarmup: {requests: 0}\n\
         trial: {requests: 3}\nstats: {alpha: 0.01}\n",
    );
    run(tmp.path(), &exp, &[], 0);
    let dir = single_run(tmp.path(), "copy");
    let copy = dir.join("experiment.yaml");
    assert!(copy.is_file(), "the run keeps its experiment copy");

    // A clean copy: no warning.
    let out = bin().arg("report").arg(&dir).output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!stderr.contains("warning"), "{stderr}");

    std::fs::write(&copy, "name: copy\nstats: {alpha: [0.01\n").unwrap();
    let out = bin().arg("report").arg(&dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("warning: {}:", copy.display())),
        "the error, located in the copy: {stderr}"
    );
    assert!(
        stderr.contains("the run's experiment copy is unusable")
            && stderr.contains("SLOs ttft_ms 500")
            && stderr.contains("alpha 0.05"),
        "the defaults used instead: {stderr}"
    );
}
