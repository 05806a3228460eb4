//! Run folders: manifest, plan, crash-safe records, Parquet tables.

pub mod environment;
mod frame;
mod manifest;
mod merge;
mod reader;
mod run_dir;
mod tally;

pub use crate::record::{Record, RequestSlot};
pub use frame::{level_columns, requests_frame, RECORD_COLUMNS};
pub use manifest::{
    now_rfc3339, sha256_hex, FailedTrial, Host, Manifest, Overrides, RepetitionsStop, Status, Tool,
};
pub use merge::merge_runs;
pub use reader::{read_run, RunData};
pub use run_dir::{RunWriter, MANIFEST, MONITOR, REQUESTS, TRIALS};
pub use tally::{Sketch, Tally};

use polars::prelude::*;
use std::path::Path;

/// One record as a line of `requests.jsonl`.
pub fn write_record(out: &mut impl std::io::Write, r: &Record) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, r)?;
    out.write_all(b"\n")?;
    Ok(())
}

pub fn write_parquet(df: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)?;
    ParquetWriter::new(file).finish(df)?;
    Ok(())
}

pub fn read_parquet(path: &Path) -> anyhow::Result<DataFrame> {
    let file = std::fs::File::open(path)?;
    Ok(ParquetReader::new(file).finish()?)
}

pub fn write_csv(df: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    let mut file = std::fs::File::create(path)?;
    CsvWriter::new(&mut file).include_header(true).finish(df)?;
    Ok(())
}
