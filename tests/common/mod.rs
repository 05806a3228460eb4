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

/// `infer-bench run --quiet --out OUT [extra] EXP`, expecting exit `code`;
/// returns stdout and stderr.
pub fn run(out: &Path, exp: &Path, extra: &[&str], code: i32) -> (String, String) {
    let assert = bin()
        .args(["run", "--quiet"])
        .args(extra)
        .arg("--out")
        .arg(out)
        .arg(exp)
        .assert()
        .code(code);
    let o = assert.get_output();
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

/// `.llama/` when scripts/setup-llama-server.sh has installed the server.
/// Without it a test is skipped (and says so), unless
/// INFER_BENCH_REQUIRE_LLAMA is set (CI sets it), where it fails.
pub fn llama_root() -> Option<PathBuf> {
    let root = repo().join(".llama");
    if root.join("bin/llama-server").exists() {
        return Some(root);
    }
    assert!(
        std::env::var_os("INFER_BENCH_REQUIRE_LLAMA").is_none(),
        "llama.cpp server missing: run scripts/setup-llama-server.sh"
    );
    eprintln!("skipped: run scripts/setup-llama-server.sh to test against llama.cpp");
    None
}

/// `infer-bench run --quiet --out OUT EXP` in the background.
pub fn spawn_run(out: &Path, exp: &Path) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
        .args(["run", "--quiet", "--out"])
        .arg(out)
        .arg(exp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starting infer-bench")
}

/// Wait (at most 30 s) until the one run of `experiment` under `out` has a
/// manifest for which `ready` holds; returns that manifest.
pub fn wait_for_manifest(
    out: &Path,
    experiment: &str,
    ready: impl Fn(&infer_bench::results::Manifest) -> bool,
) -> infer_bench::results::Manifest {
    let read = || -> Option<infer_bench::results::Manifest> {
        let dir = std::fs::read_dir(out.join(experiment))
            .ok()?
            .next()?
            .ok()?
            .path();
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).ok()?).ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Some(m) = read().filter(|m| ready(m)) {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the run of {experiment} never got there"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `infer-bench sim` in a process of its own on a free port (no jitter),
/// killed when dropped.
pub struct SimProcess {
    child: std::process::Child,
    pub port: u16,
}

impl SimProcess {
    pub fn start() -> SimProcess {
        Self::start_with(&[])
    }

    pub fn start_with(extra: &[&str]) -> SimProcess {
        Self::start_with_env(extra, &[])
    }

    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> SimProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("infer-bench"))
            .args(["sim", "--port", &port.to_string(), "--jitter", "0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "sim did not start");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        SimProcess { child, port }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
pub mod queue;

/// A CSV line's fields (a quoted field may hold commas).
pub fn csv_fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}
