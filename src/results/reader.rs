//! Reading a run folder back: manifest, plan and the durable request log.

use super::manifest::Manifest;
use super::run_dir::{PlanLine, DONE_LOG, MANIFEST, MONITOR_LOG, PLAN, REQUESTS_LOG};
use super::Record;
use crate::error::InputError;
use crate::plan::{Configuration, Trial};
use anyhow::Context as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct RunData {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub configurations: Vec<Configuration>,
    pub trials: Vec<Trial>,
    pub records: Vec<Record>,
    pub samples: Vec<crate::monitor::Sample>,
    /// A torn last line (the run was killed while writing it) was skipped.
    pub torn_tail: bool,
    /// The trials `done.jsonl` lists; none in folders from before it.
    pub done: Option<std::collections::BTreeSet<usize>>,
}

impl RunData {
    /// The request journal, indexed, with only the finished trials' records;
    /// none for a reference run kept without it (trials.parquet only).
    pub fn journal(&self) -> anyhow::Result<Option<super::journal::Journal>> {
        let log = self.dir.join(REQUESTS_LOG);
        if !log.exists() && self.dir.join(super::TRIALS).is_file() {
            return Ok(None);
        }
        let done = self.done.clone();
        super::journal::Journal::open(&log, move |t| done.as_ref().is_none_or(|d| d.contains(&t)))
            .map(Some)
    }
}

/// The run folder with every record in memory, sorted by trial and request:
/// for small runs and tests. The report streams instead ([`open_run`]).
pub fn read_run(dir: &Path) -> anyhow::Result<RunData> {
    let mut run = open_run(dir)?;
    if let Some(journal) = run.journal()? {
        run.records = journal.all()?;
        run.torn_tail = journal.torn_tail;
        run.records.sort_by_key(|r| (r.trial, r.request));
    }
    Ok(run)
}

/// The run folder without its records: manifest, plan, monitor samples.
pub fn open_run(dir: &Path) -> anyhow::Result<RunData> {
    let manifest_path = dir.join(MANIFEST);
    if !manifest_path.is_file() {
        return Err(InputError::in_file(dir, "not a run folder: no manifest.json").into());
    }
    let mut manifest: Manifest = serde_json::from_str(&std::fs::read_to_string(&manifest_path)?)
        .map_err(|e| {
            InputError::in_file(&manifest_path, e.to_string()).at(Some((e.line(), e.column())))
        })?;
    // A folder written before URLs were redacted is shown redacted.
    manifest.target_url = manifest.target_url.map(|u| crate::redact::url(&u));

    let (plan_lines, _) = read_jsonl::<PlanLine>(&dir.join(PLAN))?;
    let mut configurations: Vec<Configuration> = Vec::new();
    let mut trials = Vec::with_capacity(plan_lines.len());
    for line in plan_lines {
        let i = line.configuration.index;
        if configurations.len() <= i {
            configurations.resize(i + 1, line.configuration.clone());
        }
        configurations[i] = line.configuration;
        trials.push(line.trial);
    }
    let monitor_log = dir.join(MONITOR_LOG);
    let mut samples = if monitor_log.is_file() {
        read_jsonl::<crate::monitor::Sample>(&monitor_log)?.0
    } else {
        Vec::new()
    };
    // A trial cut off while its records were written is not done: leave its
    // records out (folders from before done.jsonl keep everything).
    let done = if dir.join(DONE_LOG).is_file() {
        let done = super::run_dir::read_done(dir)?;
        samples.retain(|s| done.contains(&s.trial));
        Some(done)
    } else {
        None
    };
    // Adaptive repetitions that stopped early: the plan's later blocks were
    // never meant to run.
    if let Some(stop) = &manifest.repetitions_stop {
        trials.retain(|t| t.repetition < stop.blocks);
    }
    Ok(RunData {
        samples,
        dir: dir.to_path_buf(),
        manifest,
        configurations,
        trials,
        records: Vec::new(),
        torn_tail: false,
        done,
    })
}

/// Parse a JSON-lines file, read as bytes: a kill or a full disk can cut the
/// last line anywhere, inside a UTF-8 character too. Only that last,
/// unterminated line may be bad (it is dropped, with a warning); a bad line
/// elsewhere is corruption and an error that names it.
fn read_jsonl<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<(Vec<T>, bool)> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (out, torn) = parse_jsonl(&bytes).map_err(|(line, column, e)| {
        InputError::in_file(path, format!("corrupt record: {e}")).at(Some((line, column)))
    })?;
    if torn {
        super::journal::warn_torn(path);
    }
    Ok((out, torn))
}

/// The lines of a JSON-lines buffer and whether a torn last line was
/// dropped; `Err((line, column, why))` for a bad line before the last.
fn parse_jsonl<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<(Vec<T>, bool), (usize, usize, String)> {
    let terminated = bytes.ends_with(b"\n");
    let lines: Vec<(usize, &[u8])> = bytes
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty())
        .collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut torn = false;
    for (k, (i, line)) in lines.iter().enumerate() {
        match serde_json::from_slice(line) {
            Ok(v) => out.push(v),
            Err(_) if k + 1 == lines.len() && !terminated => torn = true,
            Err(e) => return Err((i + 1, e.column(), e.to_string())),
        }
    }
    Ok((out, torn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_torn_inside_a_character_is_dropped_and_the_rest_kept() {
        let mut log = b"{\"a\":\"\xc3\xa9t\xc3\xa9\"}\n{\"a\":\"b\"}\n".to_vec();
        log.extend_from_slice(b"{\"a\":\"\xc3"); // cut inside `é`
        let (lines, torn) = parse_jsonl::<serde_json::Value>(&log).unwrap();
        assert!(torn);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["a"], "été");

        let bad = b"{\"a\":1}\n{\"a\n{\"a\":2}\n";
        let err = parse_jsonl::<serde_json::Value>(bad).unwrap_err();
        assert_eq!(err.0, 2, "the corrupt line is named");
        let (lines, torn) = parse_jsonl::<serde_json::Value>(b"{\"a\":1}\n").unwrap();
        assert_eq!((lines.len(), torn), (1, false));
    }
}
