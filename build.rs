//! Records the git commit (with `-dirty` for uncommitted changes) so every
//! run's manifest names the code that produced it.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let mut commit = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    if !commit.is_empty()
        && git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty())
    {
        commit.push_str("-dirty");
    }
    println!("cargo:rustc-env=INFER_BENCH_GIT_COMMIT={commit}");
    // Re-run when HEAD moves (a checkout), the branch it names moves (a
    // commit) or the index changes. Git says where these live: in a worktree
    // `.git` is a file, and naming `.git/HEAD` there watched nothing, so the
    // first commit built stayed in every later build. A missing path would
    // make cargo re-run on every build, so only existing ones are named.
    let mut watched = vec!["HEAD".to_string(), "index".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
