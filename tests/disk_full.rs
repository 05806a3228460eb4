//! A run on a disk that fills up: it stops with a message that names the
//! run folder and the resume command, the manifest says it failed and why,
//! and every finished trial stays readable. The disk is a 64 KiB tmpfs,
//! which needs root (CI runs as root and sets INFER_BENCH_REQUIRE_ROOT;
//! elsewhere the test says it is skipped).

mod common;

use common::{bin, repo};
use infer_bench::results::{read_run, Status};
use std::path::{Path, PathBuf};

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path) -> Option<Tmpfs> {
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_stops_the_run_and_says_how_to_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let Some(_mounted) = Tmpfs::mount(&disk) else {
        assert!(
            std::env::var_os("INFER_BENCH_REQUIRE_ROOT").is_none(),
            "cannot mount a tmpfs"
        );
        eprintln!("skipped: mounting a tmpfs needs root");
        return;
    };
    let exp = repo().join("experiments/quickstart.yaml");
    let out = bin()
        .args(["run", "--quiet", "--requests", "20", "--out"])
        .arg(&disk)
        .arg(&exp)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let run_dir = std::fs::read_dir(disk.join("quickstart"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(stderr.contains(&run_dir.display().to_string()), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let run = read_run(&run_dir).unwrap();
    assert_eq!(run.manifest.status, Status::Failed);
    assert!(run
        .manifest
        .error
        .as_deref()
        .is_some_and(|e| e.contains("No space left")));
    // Whatever finished is whole: 20 records a trial.
    assert_eq!(run.records.len() % 20, 0);
    assert!(
        run.manifest.trials_done >= 1,
        "the first trial fits and is kept"
    );
}
