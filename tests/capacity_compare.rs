//! `compare` and `reproduce` of capacity searches on the built-in sim: a
//! server with twice the slots sustains a higher rate, shown by the
//! interval of B − A; the same experiment run twice shows no difference,
//! and reproduces within a margin wider than its searches' precision.

mod common;

use common::{bin, experiment, run, single_run};
use std::path::{Path, PathBuf};

/// One configuration, a fast sim (as tests/capacity_run.rs's), `{slots}`
/// set per run.
const SEARCH: &str = "name: c\n\
target: {builtin: sim, model: m, sim: {slots: {slots}, ttft_base_ms: 10, prefill_ms_per_token: 0, decode_ms_per_token: 10, contention: 0, jitter: 0}}\n\
prompts: {prompts}\nload: poisson\ndesign: capacity\n\
capacity: {factor: rate, min: 8, max: 96, precision: 0.1, max_probes: 5, trials_per_probe: 2}\n\
baseline: {input_tokens: 32, output_tokens: 8}\n\
trial: {requests: 16}\nslo: {ttft_ms: 100, min_attainment: 0.8}\n";

fn search_run(dir: &Path, name: &str, slots: u32) -> PathBuf {
    let out = dir.join(name);
    let path = experiment(
        dir,
        &format!("{name}.yaml"),
        &SEARCH.replace("{slots}", &slots.to_string()),
    );
    run(&out, &path, &[], 0);
    single_run(&out, "c")
}

/// `compare A B [extra]`, expecting exit `code`: stdout and stderr.
fn compare(a: &Path, b: &Path, extra: &[&str], code: i32) -> (String, String) {
    let assert = bin()
        .arg("compare")
        .arg(a)
        .arg(b)
        .args(extra)
        .assert()
        .code(code);
    let o = assert.get_output();
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// The capacity table's row of `configuration`, split on runs of spaces.
fn row<'a>(stdout: &'a str, configuration: &str) -> Vec<&'a str> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with(&format!("{configuration} ")) && l.contains("req/s"))
        .unwrap_or_else(|| panic!("no capacity row for {configuration} in {stdout}"));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect()
}

/// "[-1.2, +3.4]" as its two ends.
fn ends(cell: &str) -> (f64, f64) {
    let inner = cell.trim_matches(|c| c == '[' || c == ']');
    let (lo, hi) = inner.split_once(", ").unwrap();
    (lo.parse().unwrap(), hi.parse().unwrap())
}

#[test]
fn compare_and_reproduce_hold_capacities_with_the_interval_of_their_difference() {
    let dir = tempfile::tempdir().unwrap();
    let two = search_run(dir.path(), "two", 2);
    let four = search_run(dir.path(), "four", 4);
    let again = search_run(dir.path(), "again", 2);

    // Four slots against two: higher, the interval of B − A above 0.
    let csv = dir.path().join("cmp.csv");
    let csv_arg = csv.display().to_string();
    let (stdout, stderr) = compare(&two, &four, &["--csv", &csv_arg], 0);
    let r = row(&stdout, "baseline");
    assert_eq!(r.last(), Some(&"higher"), "{stdout}");
    let (lo, hi) = ends(r[r.len() - 2]);
    assert!(0.0 < lo && lo <= hi, "{stdout}");
    assert!(stderr.contains("capacities: "), "{stderr}");
    let table = std::fs::read_to_string(dir.path().join("cmp-capacity.csv")).unwrap();
    assert!(
        table.starts_with("configuration,factor,capacity_a,"),
        "{table}"
    );
    assert!(
        table.lines().nth(1).unwrap().ends_with(",higher"),
        "{table}"
    );
    let page = std::fs::read_dir(&four)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().contains("compare-"))
        .unwrap();
    let html = std::fs::read_to_string(page).unwrap();
    assert!(
        html.contains("B − A") && html.contains(">higher<"),
        "no capacity section"
    );

    // Two against four is a regression where asked.
    let (_, stderr) = compare(&four, &two, &["--fail-on-regression"], 3);
    assert!(stderr.contains("1 capacity lower"), "{stderr}");

    // The same experiment twice: no difference shown, 0 inside.
    let (stdout, _) = compare(&two, &again, &[], 0);
    let r = row(&stdout, "baseline");
    assert_eq!(r.last(), Some(&"no difference shown"), "{stdout}");
    let (lo, hi) = ends(r[r.len() - 2]);
    assert!(lo < 0.0 && 0.0 < hi, "{stdout}");

    // Reproduced within a margin wider than √2 × the searches' precision
    // (the difference of two intervals each ±10 %). A search stopped on
    // its budget on a busy host can still be too wide to tell, so only
    // "not reproduced" fails here; tests in capacity::between hold the
    // rule itself.
    let assert = bin()
        .arg("reproduce")
        .arg(&two)
        .args(["--quiet", "--equivalence", "0.5", "--out"])
        .arg(dir.path().join("reproduced"))
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    let r = row(&stdout, "baseline");
    assert!(
        matches!(r.last(), Some(&"reproduced" | &"inconclusive")),
        "{stdout}"
    );
    let (lo, hi) = ends(r[r.len() - 3]);
    assert!(lo <= hi, "{stdout}");
    assert!(
        stdout.contains("capacities reproduced: ") && stdout.contains("not reproduced: 0"),
        "{stdout}"
    );
}
