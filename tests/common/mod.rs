//! Helpers shared by the integration tests.
#![allow(dead_code)]

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bin() -> Command {
    Command::cargo_bin("infer-bench").expect("binary builds")
}

/// Write `text` as an experiment file in `dir`; `{prompts}` is replaced by
/// the committed general prompt set's absolute path.
pub fn experiment(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    let prompts = repo().join("prompts/general.yaml");
    std::fs::write(
        &path,
        text.replace("{prompts}", &prompts.display().to_string()),
    )
    .unwrap();
    path
}

/// The only run folder under `out/<experiment>/`.
pub fn single_run(out: &Path, experiment: &str) -> PathBuf {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out.join(experiment))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(runs.len(), 1, "expected one run folder, found {runs:?}");
    runs.pop().unwrap()
}
