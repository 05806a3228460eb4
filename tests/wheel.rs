//! `pip install infer-bench`: the wheel scripts/build-wheel.sh builds (with
//! the quick debug profile here; users get the release one), installed into
//! a fresh virtual environment, then the two commands a user with only the
//! wheel runs: `infer-bench init` and `infer-bench run experiment.yaml`.
//! Needs python3 with venv; `.ci/run` sets INFER_BENCH_REQUIRE_WHEEL, so
//! there it fails rather than skips.

mod common;

use std::process::Command;

fn python_venv() -> bool {
    Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_runs_init_then_run() {
    if !python_venv() {
        assert!(
            std::env::var_os("INFER_BENCH_REQUIRE_WHEEL").is_none(),
            "python3 with venv missing"
        );
        eprintln!("skipped: no python3 venv to install the wheel into");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    let built = Command::new(common::repo().join("scripts/build-wheel.sh"))
        .env("PROFILE", "dev")
        .env("OUT", &dist)
        .status()
        .unwrap();
    assert!(built.success(), "scripts/build-wheel.sh failed");
    let wheels: Vec<_> = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    let name = wheels[0].file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("infer_bench-0."), "{name}");

    let venv = tmp.path().join("venv");
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status();
    assert!(made.unwrap().success(), "python3 -m venv");
    let pip = Command::new(venv.join("bin/pip"))
        .args(["install", "-q", "--no-index"])
        .arg(&wheels[0])
        .status()
        .unwrap();
    assert!(pip.success(), "pip install {name}");

    // Only the venv's command, from a folder with nothing else in it.
    let exe = venv.join("bin/infer-bench");
    let home = tmp.path().join("first-bench");
    std::fs::create_dir(&home).unwrap();
    let init = Command::new(&exe)
        .arg("init")
        .current_dir(&home)
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let run = Command::new(&exe)
        .args([
            "run",
            "experiment.yaml",
            "--repetitions",
            "2",
            "--requests",
            "3",
        ])
        .current_dir(&home)
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(table.contains("concurrency=4"), "{table}");
    assert!(home.join("results/starter").is_dir());
}
