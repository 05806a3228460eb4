//! `infer-bench merge`: shard run folders → one run folder, analysed.

use crate::runner;
use std::path::{Path, PathBuf};

pub fn merge(runs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<()> {
    let dir = crate::results::merge_runs(runs, out)?;
    let output = runner::report_dir(&dir, &["table".to_string()])?;
    print!("{}", output.terminal);
    eprintln!("merged {} shards into {}", runs.len(), dir.display());
    eprintln!("report:  {}", dir.join("report.html").display());
    Ok(())
}
