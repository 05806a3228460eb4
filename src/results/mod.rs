//! Run folders: manifest, plan, crash-safe records, Parquet tables.

pub mod environment;
mod files;
mod frame;
pub mod journal;
pub(crate) mod lines;
mod manifest;
mod merge;
mod reader;
mod run_dir;
mod tally;

use crate::record::Record;
pub use files::{append_log, write_file, write_with, Staged};
pub use frame::{level_columns, requests_columns, requests_frame};
pub use lines::read_document;
pub use manifest::{
    now_rfc3339, sha256_hex, DataFile, FailedTrial, Host, Manifest, Overrides, RepetitionsStop,
    Status, Tool,
};
pub use merge::merge_runs;
pub use reader::{open_run, read_run, RunData};
pub use run_dir::{
    data_files, PlanLine, RunWriter, CAPACITY, DONE_LOG, MANIFEST, MONITOR, REQUESTS, REQUESTS_LOG,
    TRIALS,
};
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
    write_with(path, |out| {
        ParquetWriter::new(out).finish(df)?;
        Ok(())
    })
}

/// A Parquet file written a frame at a time, a row group each, under a
/// temporary name until [`ParquetBatches::finish`]: a report cut short leaves
/// the last complete file, not half of a new one.
pub struct ParquetBatches {
    path: std::path::PathBuf,
    writer: Option<(
        Staged,
        polars_io::parquet::write::BatchedWriter<std::fs::File>,
    )>,
}

impl ParquetBatches {
    pub fn new(path: &Path) -> Self {
        ParquetBatches {
            path: path.to_path_buf(),
            writer: None,
        }
    }

    pub fn write(&mut self, df: &DataFrame) -> anyhow::Result<()> {
        let (_, writer) = match &mut self.writer {
            Some(w) => w,
            None => {
                let (staged, file) = Staged::new(&self.path)?;
                let writer = ParquetWriter::new(file).batched(df.schema())?;
                self.writer.insert((staged, writer))
            }
        };
        writer.write_batch(df)?;
        Ok(())
    }

    /// Close the file and give it its name; nothing is written without a batch.
    pub fn finish(mut self) -> anyhow::Result<()> {
        if let Some((staged, w)) = self.writer.take() {
            w.finish()?;
            staged.commit()?;
        }
        Ok(())
    }
}

/// `derived` exists and was written after every one of `sources` that exists.
/// A link in its place is never current: it is written again (replacing the
/// link), not read as the run's table.
pub fn is_current(derived: &Path, sources: &[&Path]) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let own = std::fs::symlink_metadata(derived)
        .ok()
        .filter(|m| m.is_file());
    let Some(at) = own.and_then(|m| m.modified().ok()) else {
        return false;
    };
    sources.iter().all(|s| modified(s).is_none_or(|t| t <= at))
}

pub fn read_parquet(path: &Path) -> anyhow::Result<DataFrame> {
    let file = std::fs::File::open(path)?;
    Ok(ParquetReader::new(file).finish()?)
}

pub fn write_csv(df: &mut DataFrame, path: &Path) -> anyhow::Result<()> {
    write_with(path, |out| {
        CsvWriter::new(out).include_header(true).finish(df)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_table_is_current_until_a_source_changes() {
        let dir = tempfile::tempdir().unwrap();
        let (journal, table) = (
            dir.path().join("requests.jsonl"),
            dir.path().join("t.parquet"),
        );
        let missing = dir.path().join("done.jsonl");
        std::fs::write(&journal, "{}\n").unwrap();
        assert!(!is_current(&table, &[&journal]), "no table yet");
        let df = df!("a" => [1u32, 2]).unwrap();
        let mut batches = ParquetBatches::new(&table);
        batches.write(&df).unwrap();
        assert!(!table.exists(), "named only when finished");
        batches.finish().unwrap();
        assert_eq!(read_parquet(&table).unwrap().height(), 2);
        assert!(is_current(&table, &[&journal, &missing]));
        // A record appended later makes it stale.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&journal, "{}\n{}\n").unwrap();
        assert!(!is_current(&table, &[&journal]));
        // An unfinished writer leaves nothing behind.
        let other = dir.path().join("u.parquet");
        let mut batches = ParquetBatches::new(&other);
        batches.write(&df).unwrap();
        drop(batches);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "{left:?}");
    }
}
