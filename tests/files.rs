//! Files written safely: a symbolic link planted in a run folder under the
//! name of an output (or of a log a resume appends to) is never written
//! through. Each command either replaces the link with a file of its own or
//! fails with a message and exit code; the file the link points at, outside
//! the folder, is unchanged.

mod common;

use common::{bin, experiment, run, single_run};
use std::path::{Path, PathBuf};

const BODY: &str = "target: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
                    baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4}\n\
                    factors:\n  concurrency: [1, 2]\nrepetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 2}\n";

/// A finished run of experiment `name` under `out`.
fn finished_run(out: &Path, name: &str) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    let exp = experiment(
        out,
        &format!("{name}.yaml"),
        &format!("name: {name}\n{BODY}"),
    );
    run(out, &exp, &[], 0);
    single_run(out, name)
}

/// Replace `dir/name` with a link to a new file outside `dir`; returns the
/// outside file and what it holds.
fn plant(dir: &Path, outside: &Path, name: &str) -> (PathBuf, String) {
    let target = outside.join(format!("victim-{name}"));
    let text = format!("not infer-bench's: {name}\n");
    std::fs::write(&target, &text).unwrap();
    let link = dir.join(name);
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(&target, &link).unwrap();
    (target, text)
}

fn assert_untouched(planted: &[(PathBuf, String)]) {
    for (target, text) in planted {
        assert_eq!(
            &std::fs::read_to_string(target).unwrap(),
            text,
            "{} was written through a link",
            target.display()
        );
    }
}

fn assert_plain_file(path: &Path) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(
        meta.is_file() && !meta.is_symlink(),
        "{} is not a plain file",
        path.display()
    );
}

/// No temporary file is left in `dir` (each starts with a dot).
fn assert_no_temporaries(dir: &Path, planted: &[&str]) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.') && !planted.contains(&n.as_str()))
        .collect();
    assert!(left.is_empty(), "temporaries left: {left:?}");
}

#[test]
fn report_replaces_links_to_every_output_never_writing_through_them() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = finished_run(tmp.path(), "links");
    let outputs = [
        "report.md",
        "report.html",
        "summary.csv",
        "stats.csv",
        "estimates.csv",
        "requests.parquet",
        "trials.parquet",
        "summary.json",
    ];
    // Also the temporary names earlier versions used: a fixed name is a
    // link waiting to be planted.
    let temporaries = [
        ".manifest.json.tmp",
        ".requests.parquet.tmp",
        ".report.md.tmp",
    ];
    let planted: Vec<_> = outputs
        .iter()
        .chain(&temporaries)
        .map(|n| plant(&dir, outside.path(), n))
        .collect();
    bin()
        .args(["report", "--format", "json"])
        .arg(&dir)
        .assert()
        .success();
    assert_untouched(&planted);
    for name in outputs {
        assert_plain_file(&dir.join(name));
    }
    assert_no_temporaries(&dir, &temporaries);
    // The rewritten tables are the run's, not the planted bytes.
    let run = infer_bench::results::read_run(&dir).unwrap();
    assert_eq!(run.records.len(), 8);
    let summary = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    assert!(summary.contains("\"configurations\""), "{summary}");
}

#[test]
fn compare_and_history_replace_a_planted_page() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let a = finished_run(&tmp.path().join("a"), "hist");
    let b = finished_run(&tmp.path().join("b"), "hist");
    let a_id = a.file_name().unwrap().to_string_lossy().to_string();
    let page = format!("compare-{a_id}.html");
    let planted = vec![plant(&b, outside.path(), &page)];
    bin().arg("compare").arg(&a).arg(&b).assert().success();
    assert_untouched(&planted);
    assert_plain_file(&b.join(&page));
    assert!(std::fs::read_to_string(b.join(&page))
        .unwrap()
        .contains("<html"));

    // history reads a folder of runs: put both side by side.
    let runs = tmp.path().join("runs");
    std::fs::create_dir(&runs).unwrap();
    std::fs::rename(&a, runs.join(a.file_name().unwrap())).unwrap();
    std::fs::rename(&b, runs.join(b.file_name().unwrap())).unwrap();
    let planted = vec![plant(&runs, outside.path(), "history.html")];
    bin().arg("history").arg(&runs).assert().success();
    assert_untouched(&planted);
    assert_plain_file(&runs.join("history.html"));
}

#[test]
fn a_resume_refuses_a_link_in_place_of_any_log() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = finished_run(tmp.path(), "logs");
    let exp = tmp.path().join("logs.yaml");
    let resume = ["--resume", dir.to_str().unwrap()];

    // Each log a resume rewrites or appends to: a link there is refused
    // before anything is written (exit 2, naming the file), whether the
    // file it points at reads as a log (a copy of the run's) or not.
    for name in ["requests.jsonl", "monitor.jsonl", "done.jsonl"] {
        let saved = std::fs::read(dir.join(name)).unwrap();
        for content in [None, Some(saved.clone())] {
            let mut planted = plant(&dir, outside.path(), name);
            if let Some(bytes) = content {
                std::fs::write(&planted.0, &bytes).unwrap();
                planted.1 = String::from_utf8(bytes).unwrap();
            }
            let (_, stderr) = run(tmp.path(), &exp, &resume, 2);
            assert!(stderr.contains(name), "{stderr}");
            // Unreadable as a log, the reader may say so first; readable,
            // the link itself is refused.
            if planted.1.starts_with('{') || name != "monitor.jsonl" {
                assert!(stderr.contains("symbolic link"), "{stderr}");
            }
            assert_untouched(&[planted]);
        }
        std::fs::remove_file(dir.join(name)).unwrap();
        std::fs::write(dir.join(name), saved).unwrap();
    }
    // With the logs plain files again the resume goes ahead.
    run(tmp.path(), &exp, &resume, 0);
    for name in [
        "requests.jsonl",
        "monitor.jsonl",
        "done.jsonl",
        "manifest.json",
    ] {
        assert_plain_file(&dir.join(name));
    }
    assert_no_temporaries(&dir, &[]);
}

/// A finished run under `dir` of a workload read from a dataset file of its
/// own: the file, the experiment and the run folder.
fn dataset_run(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let data = dir.join("chats.json");
    std::fs::copy(common::repo().join("data/sharegpt-sample.json"), &data).unwrap();
    let exp = experiment(
        dir,
        "data.yaml",
        "name: data\ntarget: {builtin: sim, model: m, api: chat, sim: {jitter: 0}}\nprompts: {prompts}\n\
         workloads:\n  chats: {dataset: chats.json, format: sharegpt, output_tokens: from_dataset}\n\
         baseline: {workload: chats, concurrency: 1}\nrepetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 2}\n",
    );
    run(dir, &exp, &[], 0);
    let run_dir = single_run(dir, "data");
    (data, exp, run_dir)
}

#[test]
fn a_resume_refuses_a_dataset_changed_since_the_run_started() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, exp, dir) = dataset_run(tmp.path());
    let manifest = infer_bench::results::read_run(&dir).unwrap().manifest;
    let bytes = std::fs::read(&data).unwrap();
    assert_eq!(manifest.data_files.len(), 1, "{:?}", manifest.data_files);
    assert_eq!(
        manifest.data_files[0].sha256,
        infer_bench::results::sha256_hex(&bytes)
    );
    let resume = ["--resume", dir.to_str().unwrap()];
    // Unchanged: the resume goes ahead (nothing left to run).
    run(tmp.path(), &exp, &resume, 0);
    // One byte more (still valid JSON): refused, naming the workload and file.
    std::fs::write(&data, [bytes.as_slice(), b"\n"].concat()).unwrap();
    let manifest_before = std::fs::read(dir.join("manifest.json")).unwrap();
    let (_, stderr) = run(tmp.path(), &exp, &resume, 2);
    assert!(
        stderr.contains("the dataset of workload 'chats' changed since run")
            && stderr.contains("chats.json"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("manifest.json")).unwrap(),
        manifest_before,
        "a refused resume touches nothing"
    );
}

/// `reproduce` reads the data files again: one changed since the run is
/// named with its path and both hashes, and refused (exit 2, nothing run)
/// unless `--allow-changed`, where the same words are a warning.
#[test]
fn reproduce_names_a_dataset_changed_since_the_run_and_refuses_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (data, _, dir) = dataset_run(tmp.path());
    let old = infer_bench::results::sha256_hex(&std::fs::read(&data).unwrap());
    let again = tmp.path().join("again");
    let reproduce = |extra: &[&str], code: i32| -> String {
        let assert = bin()
            .arg("reproduce")
            .arg(&dir)
            .args(["--quiet", "--out"])
            .arg(&again)
            .args(extra)
            .assert()
            .code(code);
        String::from_utf8_lossy(&assert.get_output().stderr).to_string()
    };
    // Unchanged: it runs, without a word about the data.
    let stderr = reproduce(&[], 0);
    assert!(!stderr.contains("changed"), "{stderr}");
    // One byte more (still valid JSON).
    let bytes = std::fs::read(&data).unwrap();
    std::fs::write(&data, [bytes.as_slice(), b"\n"].concat()).unwrap();
    let new = infer_bench::results::sha256_hex(&std::fs::read(&data).unwrap());
    let stderr = reproduce(&[], 2);
    for part in [
        "the dataset of workload 'chats' changed since run",
        &data.display().to_string(),
        &format!("sha256 {old} then, {new} now"),
        "--allow-changed",
    ] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
    let runs = || std::fs::read_dir(again.join("data")).unwrap().count();
    assert_eq!(runs(), 1, "a refused reproduction runs nothing");
    let stderr = reproduce(&["--allow-changed"], 0);
    assert!(
        stderr.contains("warning: the dataset of workload 'chats' changed since run")
            && stderr.contains(&format!("sha256 {old} then, {new} now")),
        "{stderr}"
    );
    assert_eq!(runs(), 2);
}

/// The largest resident set of any child this test process has waited for.
fn children_peak_rss_mb() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

/// A JSON text past the cap in any file of a run folder (a planted or
/// corrupt line of a gigabyte once took `report` past 5 GB) is refused by
/// the file's name and line, before it is held in memory.
#[test]
fn a_run_file_with_a_line_past_the_cap_is_refused_by_name_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = finished_run(tmp.path(), "huge-line");
    let cap = 128usize << 20;
    let huge = format!("{{\"trial\":0,\"x\":\"{}\"}}\n", "y".repeat(cap + 1024));
    for (name, at_line) in [
        ("requests.jsonl", true),
        ("plan.jsonl", true),
        ("monitor.jsonl", true),
        ("done.jsonl", true),
        ("manifest.json", false),
    ] {
        let path = dir.join(name);
        let kept = std::fs::read(&path).unwrap();
        let mut planted = if at_line { kept.clone() } else { Vec::new() };
        planted.extend_from_slice(huge.as_bytes());
        std::fs::write(&path, &planted).unwrap();
        let out = bin().arg("report").arg(&dir).assert().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let said = match at_line {
            true => "is longer than 134217728 bytes",
            false => "is larger than 134217728 bytes",
        };
        assert!(
            stderr.contains(name) && stderr.contains(said),
            "{name}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        std::fs::write(&path, &kept).unwrap();
    }
    assert!(
        children_peak_rss_mb() < 768.0,
        "{} MB",
        children_peak_rss_mb()
    );
    bin().arg("report").arg(&dir).assert().success();
}
