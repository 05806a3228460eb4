//! API keys come from the environment and go nowhere else: a planted key
//! must appear in no file of the run folder and in no output, while the
//! requests did carry it (the sim, in a process of its own, refuses any
//! request without it).

mod common;

use common::{bin, experiment, single_run, SimProcess};

const KEY: &str = "sk-planted-7f3a9c2e41d8b6";

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_planted_api_key_appears_nowhere_in_the_run_folder_or_the_output() {
    let sim = SimProcess::start_with_env(&["--api-key-env", "SIM_KEY"], &[("SIM_KEY", KEY)]);
    let port = sim.port;
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "secret.yaml",
        &r#"
name: secret
target: {base_url: "http://127.0.0.1:PORT/v1", model: sim-q4_K_M, api_key_env: INFER_BENCH_PLANTED_KEY}
prompts: "{prompts}"
baseline: {concurrency: 2, input_tokens: 20, output_tokens: 4}
repetitions: 1
warmup: {requests: 1}
trial: {requests: 4}
"#
        .replace("PORT", &port.to_string()),
    );
    let assert = bin()
        .env("INFER_BENCH_PLANTED_KEY", KEY)
        .args(["run", "--format", "table,json,md,csv,html", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .success();
    let o = assert.get_output();
    for stream in [&o.stdout, &o.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(KEY));
    }
    let dir = single_run(out.path(), "secret");
    let data = infer_bench::results::read_run(&dir).unwrap();
    assert!(
        data.records.iter().all(|r| r.ok()),
        "the keyed sim answered every request: {:?}",
        data.records.iter().find_map(|r| r.error.clone())
    );
    let all = files(&dir);
    assert!(all.len() >= 10, "{all:?}");
    for f in all {
        let bytes = std::fs::read(&f).unwrap();
        let hit = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
        assert!(!hit, "{} holds the key", f.display());
    }
    // The variable's name is recorded (so a rerun knows what to set), its value not.
    let manifest = std::fs::read_to_string(dir.join("experiment.yaml")).unwrap();
    assert!(manifest.contains("INFER_BENCH_PLANTED_KEY"));

    // A missing variable is a clear input error, not a silent unauthenticated run.
    let assert = bin()
        .env_remove("INFER_BENCH_PLANTED_KEY")
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("INFER_BENCH_PLANTED_KEY"), "{stderr}");
}
