//! `infer-bench merge`: shard run folders → one run folder, analysed.

use super::output::{note, out};
use std::path::{Path, PathBuf};

pub fn merge(runs: &[PathBuf], out: Option<&Path>) -> anyhow::Result<()> {
    let dir = infer_bench::results::merge_runs(runs, out)?;
    let searches = super::capacities::rewrite_csv(&dir)?;
    let after = format!(
        "the merged run {0} is complete; `infer-bench report {0}` writes its report",
        dir.display()
    );
    let output = super::signals::until_signal(&after, || {
        infer_bench::report::report_dir(&dir, &[infer_bench::report::Format::Table])
    })?;
    out!("{}", output.terminal)?;
    for line in &searches {
        out!("{line}\n")?;
    }
    note!("merged {} shards into {}", runs.len(), dir.display());
    note!("report:  {}", dir.join("report.html").display());
    Ok(())
}
