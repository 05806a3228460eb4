//! `infer-bench merge`: shard run folders → one run folder, analysed.

use std::path::{Path, PathBuf};

pub fn merge(runs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<()> {
    let dir = crate::results::merge_runs(runs, out)?;
    let output = crate::report::report_dir(&dir, &[crate::report::Format::Table])?;
    print!("{}", output.terminal);
    eprintln!("merged {} shards into {}", runs.len(), dir.display());
    eprintln!("report:  {}", dir.join("report.html").display());
    Ok(())
}
