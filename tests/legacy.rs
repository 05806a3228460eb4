//! Run folders written before the request status, the metric registry and
//! the report document (infer-bench at 79ffba7, kept in
//! tests/fixtures/legacy-79ffba7 with what that build printed and wrote):
//! they report and compare as they did then, resume, and reproduce. The
//! expected Service levels table is today's (its columns grew per-objective
//! figures and the binding objective with issue 28), and estimates.csv ends
//! with rows for the objectives' attainment (issue 28); its verdicts are then's.

mod common;

use common::{bin, repo};
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    repo().join("tests/fixtures/legacy-79ffba7")
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture().join("expected").join(name)).unwrap()
}

/// A copy of a fixture run folder (commands write into the folder).
fn copy_run(name: &str, to: &Path) -> PathBuf {
    let dir = to.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(fixture().join(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    dir
}

fn stdout_of(args: &[&std::ffi::OsStr]) -> String {
    let out = bin().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each column the old summary.csv had, with the same values (the registry
/// adds columns; it changes none).
fn assert_columns_kept(old: &str, new: &str) {
    let table = |text: &str| -> Vec<Vec<String>> {
        text.lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let (old, new) = (table(old), table(new));
    assert_eq!(old.len(), new.len(), "rows");
    for (i, name) in old[0].iter().enumerate() {
        let j = new[0].iter().position(|n| n == name);
        let j = j.unwrap_or_else(|| panic!("summary.csv lost column {name}"));
        for (a, b) in old.iter().zip(&new).skip(1) {
            assert_eq!(a[i], b[j], "column {name}");
        }
    }
}

#[test]
fn an_old_run_folder_reports_and_compares_as_it_did() {
    let tmp = tempfile::tempdir().unwrap();
    let a = copy_run("complete", tmp.path());
    // Its journal says "ok": false with the old cancelled text; the table
    // still counts those four as cancelled, not failed.
    let table = stdout_of(&["report".as_ref(), a.as_os_str()]);
    assert_eq!(table, expected("report-table.txt"));
    assert!(table.contains("0/4 (4 cancelled)"), "{table}");
    for file in ["report.md", "stats.csv", "estimates.csv"] {
        let got = std::fs::read_to_string(a.join(file)).unwrap();
        assert_eq!(got, expected(file), "{file}");
    }
    let summary = std::fs::read_to_string(a.join("summary.csv")).unwrap();
    assert_columns_kept(&expected("summary.csv"), &summary);

    let b_root = tmp.path().join("b");
    let b = copy_run("complete", &b_root);
    let compared = stdout_of(&["compare".as_ref(), a.as_os_str(), b.as_os_str()]);
    // The first two lines name the folders, which differ from the fixture's.
    let body = |text: &str| text.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert_eq!(body(&compared), body(&expected("compare.txt")));
}

#[test]
fn an_old_interrupted_run_resumes_and_reproduces() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = copy_run("interrupted", tmp.path());
    let before = std::fs::read_to_string(dir.join("requests.jsonl")).unwrap();
    let experiment = fixture().join("interrupted.yaml");
    let out = bin()
        .args(["run", "--quiet"])
        .arg(&experiment)
        .arg("--resume")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The old records are kept as they were; the four missing trials added.
    let after = std::fs::read_to_string(dir.join("requests.jsonl")).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(after.lines().count(), 6 * 6);
    let done = std::fs::read_to_string(dir.join("done.jsonl")).unwrap();
    assert_eq!(done.lines().count(), 6);
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"complete\""), "{manifest}");

    let again = tmp.path().join("again");
    let out = bin()
        .arg("reproduce")
        .arg(&dir)
        .arg("--quiet")
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("output tok/s"), "{stdout}");
}
