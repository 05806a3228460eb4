//! `infer-bench merge`: shard run folders → one run folder, analysed.

use std::path::{Path, PathBuf};

pub fn merge(runs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<()> {
    let dir = infer_bench::results::merge_runs(runs, out)?;
    let output = infer_bench::report::report_dir(&dir, &[infer_bench::report::Format::Table])?;
    print!("{}", output.terminal);
    eprintln!("merged {} shards into {}", runs.len(), dir.display());
    eprintln!("report:  {}", dir.join("report.html").display());
    Ok(())
}
