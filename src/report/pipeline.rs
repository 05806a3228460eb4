//! From a run folder's records to its tables and reports: the journal
//! streamed through the analysis (and into `requests.parquet`), the tables
//! written, the document built once and rendered in every format asked for.

use super::{build_document, Format, ReportInput};
use crate::analysis;
use crate::experiment::{Experiment, SloChange};
use crate::record::Record;
use crate::results::journal::Journal;
use crate::results::{self, RunData, MONITOR, REQUESTS, TRIALS};
use polars::prelude::DataFrame;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Set once a signal asks the report phase to stop (the command's handler
/// sets it; the process ends soon after, so it is never cleared).
static STOP: AtomicBool = AtomicBool::new(false);

/// Ask every report in progress to stop at its next checkpoint: between
/// chunks of records and before each file. What it was writing is left
/// under its temporary name, which is removed as the error unwinds, so a
/// stopped report leaves the files it finished and no half of one.
pub fn request_stop() {
    STOP.store(true, Ordering::Relaxed);
}

/// The report phase stopped at a signal's request before it finished.
#[derive(Debug, thiserror::Error)]
#[error("the report was stopped before it finished")]
pub struct Stopped;

fn checkpoint() -> Result<(), Stopped> {
    match STOP.load(Ordering::Relaxed) {
        true => Err(Stopped),
        false => Ok(()),
    }
}

pub struct ReportOutput {
    /// What the terminal formats rendered (the table, ...).
    pub terminal: String,
    /// Expectations the run refuted.
    pub refuted: usize,
    pub written: Vec<PathBuf>,
}

/// Records read and analysed at a time: a bound on the memory a chunk
/// takes (about 1 KB a record as text, as much again parsed).
const CHUNK: usize = 8 << 10;

/// The per-trial table of a run, computed from its records (or, for a
/// reference run kept without them, read from its trials.parquet).
pub fn trial_table(run: &RunData) -> anyhow::Result<DataFrame> {
    let Some(journal) = run.journal()? else {
        return results::read_parquet(&run.dir.join(results::TRIALS));
    };
    let terms = experiment_of(run).map(|e| terms(&e)).unwrap_or_default();
    let (parts, _) = stream(run, &journal, &terms, None)?;
    let monitor = analysis::monitor_frame(&run.samples)?;
    Ok(analysis::with_memory(
        parts.trials,
        &monitor,
        &run.configurations,
        &terms,
    )?)
}

/// The journal through the streamed analysis, a trial and a chunk at a
/// time, and into `requests.parquet` where `parquet` names it.
fn stream(
    run: &RunData,
    journal: &Journal,
    terms: &analysis::ServiceTerms,
    parquet: Option<&Path>,
) -> anyhow::Result<(analysis::stream::Parts, analysis::stream::Digest)> {
    anyhow::ensure!(
        journal.records() > 0,
        "{}: the run has no records yet",
        run.dir.display()
    );
    let mut analysis =
        analysis::stream::Streaming::new(&run.configurations, terms.slo.clone(), &run.dir)?;
    // requests.parquet is derived from the journal: written again only
    // where the journal (or the list of finished trials) is newer.
    let parquet = parquet.filter(|p| {
        !results::is_current(
            p,
            &[
                &run.dir.join(results::REQUESTS_LOG),
                &run.dir.join(results::DONE_LOG),
            ],
        )
    });
    // Three stages on their own threads, a chunk or two apart: parsing the
    // journal (itself on every core), the analysis, and the Parquet writer.
    // The channels hold one chunk each, so memory stays a few chunks.
    std::thread::scope(|s| -> anyhow::Result<()> {
        let parsed = read_chunks(s, journal)?;
        let (frames, to_write) = std::sync::mpsc::sync_channel::<DataFrame>(1);
        let writer = match parquet {
            Some(path) => Some(write_parquet(s, path, to_write)?),
            None => None,
        };
        for records in parsed {
            checkpoint()?;
            let records = records?;
            let frame = if writer.is_some() {
                results::requests_frame(&records, &run.configurations)?
            } else {
                let used = analysis::stream::COLUMNS;
                results::requests_columns(&records, &run.configurations, |c| used.contains(&c))?
            };
            if writer.is_some() && frames.send(frame.clone()).is_err() {
                break; // the writer failed: its error follows
            }
            analysis.add(&records, &frame)?;
        }
        drop(frames);
        // Named only now that every record is in it.
        checkpoint()?;
        if let Some(w) = writer {
            w.join().expect("the Parquet writer panicked")?.finish()?;
        }
        Ok(())
    })?;
    let (parts, mut digest) = analysis.finish()?;
    digest.torn_tail = journal.torn_tail;
    Ok((parts, digest))
}

type Chunk = anyhow::Result<Vec<Record>>;

/// The journal's records, a trial and a chunk at a time, parsed on a thread
/// of their own; an error ends the stream.
fn read_chunks<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    journal: &'scope Journal,
) -> anyhow::Result<std::sync::mpsc::Receiver<Chunk>> {
    let (chunks, parsed) = std::sync::mpsc::sync_channel::<Chunk>(1);
    let reader = std::thread::Builder::new().name("journal".into());
    reader.spawn_scoped(s, move || {
        for trial in journal.trials() {
            let read = journal.for_each_chunk(trial, CHUNK, |records| {
                checkpoint()?;
                // A closed channel: the analysis stopped on an error.
                chunks
                    .send(Ok(records))
                    .map_err(|_| anyhow::anyhow!("stopped"))
            });
            if let Err(e) = read {
                let _ = chunks.send(Err(e));
                return;
            }
        }
    })?;
    Ok(parsed)
}

/// A thread that writes the frames it is sent into the Parquet file at
/// `path`, returned unfinished (its name given once every record is in).
fn write_parquet<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    path: &Path,
    frames: std::sync::mpsc::Receiver<DataFrame>,
) -> anyhow::Result<std::thread::ScopedJoinHandle<'scope, anyhow::Result<results::ParquetBatches>>>
{
    let mut table = results::ParquetBatches::new(path);
    let thread = std::thread::Builder::new().name("parquet".into());
    Ok(thread.spawn_scoped(s, move || -> anyhow::Result<_> {
        for frame in frames {
            table.write(&frame)?;
        }
        Ok(table)
    })?)
}

/// The SLOs and price the experiment declared (the defaults where its copy is gone).
fn terms(e: &Experiment) -> analysis::ServiceTerms {
    analysis::ServiceTerms {
        slo: e.slo.clone(),
        cost: e.cost.clone(),
    }
}

/// The experiment as the run folder keeps it.
fn experiment_of(run: &RunData) -> Option<Experiment> {
    crate::experiment::kept_copy(&run.dir.join(&run.manifest.experiment.copy))
}

/// Re-analyse `dir` and write its tables and reports.
pub fn report_dir(dir: &Path, formats: &[Format]) -> anyhow::Result<ReportOutput> {
    report_dir_against(dir, formats, &[])
}

/// Re-analyse `dir` judged against its experiment's SLOs with `changes`
/// made (`report --slo`): the records are read, never rewritten.
pub fn report_dir_against(
    dir: &Path,
    formats: &[Format],
    changes: &[SloChange],
) -> anyhow::Result<ReportOutput> {
    let run = results::open_run(dir)?;
    analyse_run_against(&run, formats, changes)
}

/// The files written into the run folder, in the order written.
struct Written {
    dir: PathBuf,
    paths: Vec<PathBuf>,
}

impl Written {
    /// The path of the next file, where no signal asked to stop first.
    fn path(&mut self, name: &str) -> Result<PathBuf, Stopped> {
        checkpoint()?;
        let p = self.dir.join(name);
        self.paths.push(p.clone());
        Ok(p)
    }
}

/// Build `requests.parquet`, `trials.parquet`, `summary.csv` and the
/// requested report files from the durable request log.
pub fn analyse_run(run: &RunData, formats: &[Format]) -> anyhow::Result<ReportOutput> {
    analyse_run_against(run, formats, &[])
}

/// [`analyse_run`], judged against the experiment's SLOs with `changes` made.
pub fn analyse_run_against(
    run: &RunData,
    formats: &[Format],
    changes: &[SloChange],
) -> anyhow::Result<ReportOutput> {
    let journal = run.journal()?.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: a reference run kept without its requests.jsonl cannot be reported again; compare or reproduce it",
            run.dir.display()
        )
    })?;
    // alpha, threshold and expectations come from the experiment copy.
    let spec = experiment_of(run);
    let stats = spec.as_ref().map(|e| e.stats).unwrap_or_default();
    let decision = analysis::compare::Decision::from(stats);
    let mut terms = spec.as_ref().map(terms).unwrap_or_default();
    if !changes.is_empty() {
        terms.slo = crate::experiment::apply_changes(&terms.slo, changes)
            .map_err(crate::error::InputError::new)?;
    }
    let (parts, digest) = stream(run, &journal, &terms, Some(&run.dir.join(REQUESTS)))?;
    checkpoint()?;
    let mut monitor = analysis::monitor_frame(&run.samples)?;
    let mut a = analysis::analyse_parts(parts, &monitor, &run.configurations, decision, &terms)?;
    let mut written = Written {
        dir: run.dir.clone(),
        paths: vec![run.dir.join(REQUESTS)],
    };
    results::write_parquet(&mut a.trials, &written.path(TRIALS)?)?;
    if monitor.height() > 0 {
        results::write_parquet(&mut monitor, &written.path(MONITOR)?)?;
    }
    let expect = spec.as_ref().map(|e| e.expect.clone()).unwrap_or_default();
    let checked = analysis::expect::check(&a.trials, &run.configurations, &expect, decision)?;
    let mut estimates = analysis::compare::estimates_frame(&a.estimates)?;
    results::write_csv(&mut estimates, &written.path("estimates.csv")?)?;
    let mut stats = analysis::compare::comparisons_frame(&a.comparisons)?;
    results::write_csv(&mut stats, &written.path("stats.csv")?)?;
    let effects = effects(run, spec.as_ref(), &a.trials, &mut written)?;
    let searches = match &spec {
        // Judged as the search was, against the experiment's own SLOs:
        // `report --slo` judges the table's rows, not the search.
        Some(e) if changes.is_empty() => super::searches::replay_on(run, e, &a.trials)?,
        Some(e) => super::searches::replay(run, e)?,
        None => Vec::new(),
    };
    by_search(&mut a.rows, &searches);
    let input = ReportInput {
        run,
        spec: spec.as_ref(),
        slo: &terms.slo,
        slo_given: !changes.is_empty(),
        rows: &a.rows,
        summary: &a.summary,
        comparisons: &a.comparisons,
        estimates: &a.estimates,
        decision,
        expectations: &checked,
        effects: &effects,
        digest: &digest,
        searches: &searches,
    };
    let terminal = write_reports(&input, formats, &mut written)?;
    let refuted = checked
        .iter()
        .filter(|c| c.outcome == crate::analysis::verdict::ExpectOutcome::Refuted)
        .count();
    Ok(ReportOutput {
        terminal,
        refuted,
        written: written.paths,
    })
}

/// A capacity run's probes grouped under their configuration, by load
/// (they ran in the order the searches chose); other runs as planned.
fn by_search(rows: &mut [analysis::ConfigSummary], searches: &[super::searches::Replayed]) {
    if searches.is_empty() {
        return;
    }
    let mut order: Vec<(usize, f64, &str)> = Vec::new();
    for (i, r) in searches.iter().enumerate() {
        order.extend(r.probes.iter().map(|p| (i, p.load, p.label.as_str())));
    }
    let key = |label: &str| {
        order
            .iter()
            .find(|o| o.2 == label)
            .map_or((usize::MAX, f64::INFINITY), |o| (o.0, o.1))
    };
    // Stable: rows no search knows go last, in plan order.
    rows.sort_by(|a, b| {
        let (ka, kb) = (key(&a.config), key(&b.config));
        ka.0.cmp(&kb.0).then(ka.1.total_cmp(&kb.1))
    });
}

/// A factorial run's type-II ANOVA, into `effects.csv`: interactions need
/// every combination, so only a factorial run has them.
fn effects(
    run: &RunData,
    spec: Option<&Experiment>,
    trials: &DataFrame,
    written: &mut Written,
) -> anyhow::Result<Vec<(String, analysis::anova::Term)>> {
    match spec {
        Some(e) if e.design == crate::experiment::Design::Factorial => {
            let factors: Vec<String> = e.factors.keys().cloned().collect();
            let rows = analysis::anova::effects(trials, &run.configurations, &factors)?;
            let mut frame = analysis::anova::effects_frame(&rows)?;
            results::write_csv(&mut frame, &written.path("effects.csv")?)?;
            Ok(rows)
        }
        _ => Ok(Vec::new()),
    }
}

/// Every report asked for, rendered from one document: summary.csv,
/// report.md and report.html always, `formats` adds the others. Returns
/// what the terminal formats rendered.
fn write_reports(
    input: &ReportInput,
    formats: &[Format],
    written: &mut Written,
) -> anyhow::Result<String> {
    checkpoint()?;
    let doc = build_document(input);
    let mut terminal = String::new();
    let mut seen = std::collections::HashSet::new();
    for format in [Format::Csv, Format::Md, Format::Html]
        .iter()
        .chain(formats)
    {
        if !seen.insert(*format) {
            continue;
        }
        let exporter = format.exporter();
        let text = exporter.render(input, &doc)?;
        match exporter.file_name() {
            Some(file) => results::write_file(&written.path(file)?, text)?,
            None => terminal.push_str(&text),
        }
    }
    Ok(terminal)
}
