//! `infer-bench init` then `infer-bench run experiment.yaml`: the two
//! commands a user with only the binary (the wheel) starts with.

mod common;

use common::bin;

#[test]
fn init_writes_a_starter_that_runs_and_never_overwrites() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("first");
    bin().arg("init").arg(&dir).assert().success();
    for name in ["experiment.yaml", "prompts.yaml", "experiment.schema.json"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    // The committed starter is what init wrote.
    let committed = common::repo().join("experiments/starter/experiment.yaml");
    assert_eq!(
        std::fs::read_to_string(dir.join("experiment.yaml")).unwrap(),
        std::fs::read_to_string(committed).unwrap()
    );
    let out = bin()
        .current_dir(&dir)
        .args([
            "run",
            "experiment.yaml",
            "--repetitions",
            "2",
            "--requests",
            "3",
        ])
        .assert()
        .success();
    let table = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        table.contains("concurrency=4") && table.contains("input_tokens=256"),
        "{table}"
    );
    assert!(dir.join("results/starter").is_dir());
    // A second init writes nothing and names what is in the way.
    let before = std::fs::read_to_string(dir.join("prompts.yaml")).unwrap();
    let out = bin().arg("init").arg(&dir).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        err.contains("experiment.yaml") && err.contains("already exists"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("prompts.yaml")).unwrap(),
        before
    );
}
