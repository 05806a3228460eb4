//! From a run folder's records to its tables and reports.

use crate::analysis;
use crate::record::Record;
use crate::report::{self, ReportInput};
use crate::results::journal::Journal;
use crate::results::{self, RunData, MONITOR, REQUESTS, TRIALS};
use polars::prelude::DataFrame;

pub struct ReportOutput {
    /// What the terminal formats rendered (the table, ...).
    pub terminal: String,
    /// Expectations the run refuted.
    pub refuted: usize,
    pub written: Vec<std::path::PathBuf>,
}

/// Records read and analysed at a time: a bound on the memory a chunk
/// takes (about 1 KB a record as text, as much again parsed).
const CHUNK: usize = 8 << 10;

/// The per-trial table of a run, computed from its records (or, for a
/// reference run kept without them, read from its trials.parquet).
pub fn trial_table(run: &RunData) -> anyhow::Result<polars::prelude::DataFrame> {
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
    parquet: Option<&std::path::Path>,
) -> anyhow::Result<(analysis::stream::Parts, analysis::stream::Digest)> {
    anyhow::ensure!(
        journal.records() > 0,
        "{}: the run has no records yet",
        run.dir.display()
    );
    let mut analysis = analysis::stream::Streaming::new(&run.configurations, terms.slo, &run.dir)?;
    // Three stages on their own threads, a chunk or two apart: parsing the
    // journal (itself on every core), the analysis, and the Parquet writer.
    // The channels hold one chunk each, so memory stays a few chunks.
    std::thread::scope(|s| -> anyhow::Result<()> {
        let (chunks, parsed) = std::sync::mpsc::sync_channel::<anyhow::Result<Vec<Record>>>(1);
        let reader = std::thread::Builder::new().name("journal".into());
        reader.spawn_scoped(s, move || {
            for trial in journal.trials() {
                let read = journal.for_each_chunk(trial, CHUNK, |records| {
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
        let (frames, to_write) = std::sync::mpsc::sync_channel::<DataFrame>(1);
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
        let writer = match parquet {
            Some(path) => {
                let mut table = results::ParquetBatches::new(path);
                let thread = std::thread::Builder::new().name("parquet".into());
                Some(thread.spawn_scoped(s, move || -> anyhow::Result<_> {
                    for frame in to_write {
                        table.write(&frame)?;
                    }
                    Ok(table)
                })?)
            }
            None => None,
        };
        for records in parsed {
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
        if let Some(w) = writer {
            w.join().expect("the Parquet writer panicked")?.finish()?;
        }
        Ok(())
    })?;
    let (parts, mut digest) = analysis.finish()?;
    digest.torn_tail = journal.torn_tail;
    Ok((parts, digest))
}

/// The SLOs and price the experiment declared (the defaults where its copy is gone).
fn terms(e: &crate::experiment::Experiment) -> analysis::ServiceTerms {
    analysis::ServiceTerms {
        slo: e.slo,
        cost: e.cost.clone(),
    }
}

/// The experiment as the run folder keeps it.
fn experiment_of(run: &RunData) -> Option<crate::experiment::Experiment> {
    crate::experiment::kept_copy(&run.dir.join(&run.manifest.experiment.copy))
}

/// Build `requests.parquet`, `trials.parquet`, `summary.csv` and the
/// requested report files from the durable request log.
pub fn analyse_run(run: &RunData, formats: &[String]) -> anyhow::Result<ReportOutput> {
    let journal = run.journal()?.ok_or_else(|| {
        anyhow::anyhow!(
            "{}: a reference run kept without its requests.jsonl cannot be reported again; compare or reproduce it",
            run.dir.display()
        )
    })?;
    // alpha, threshold and expectations come from the experiment copy.
    let spec = experiment_of(run);
    let (stats, expect) = spec
        .as_ref()
        .map(|e| (e.stats, e.expect.clone()))
        .unwrap_or_default();
    let decision = analysis::compare::Decision::from(stats);
    let terms = spec.as_ref().map(terms).unwrap_or_default();
    let (parts, digest) = stream(run, &journal, &terms, Some(&run.dir.join(REQUESTS)))?;
    let mut monitor = analysis::monitor_frame(&run.samples)?;
    let mut a = analysis::analyse_parts(parts, &monitor, &run.configurations, decision, &terms)?;
    let mut written = vec![run.dir.join(REQUESTS)];
    let mut out = |name: &str| {
        let p = run.dir.join(name);
        written.push(p.clone());
        p
    };
    results::write_parquet(&mut a.trials, &out(TRIALS))?;
    if monitor.height() > 0 {
        results::write_parquet(&mut monitor, &out(MONITOR))?;
    }
    let checked = analysis::expect::check(&a.trials, &run.configurations, &expect, decision)?;
    let mut estimates = analysis::compare::estimates_frame(&a.estimates)?;
    results::write_csv(&mut estimates, &out("estimates.csv"))?;
    let mut stats = analysis::compare::comparisons_frame(&a.comparisons)?;
    results::write_csv(&mut stats, &out("stats.csv"))?;
    // Interactions need every combination: only a factorial run has them.
    let effects = match spec.as_ref() {
        Some(e) if e.design == crate::experiment::Design::Factorial => {
            let factors: Vec<String> = e.factors.keys().cloned().collect();
            let rows = analysis::anova::effects(&a.trials, &run.configurations, &factors)?;
            let mut frame = analysis::anova::effects_frame(&rows)?;
            results::write_csv(&mut frame, &out("effects.csv"))?;
            rows
        }
        _ => Vec::new(),
    };

    let input = ReportInput {
        run,
        spec: spec.as_ref(),
        rows: &a.rows,
        summary: &a.summary,
        comparisons: &a.comparisons,
        estimates: &a.estimates,
        decision,
        expectations: &checked,
        effects: &effects,
        digest: &digest,
    };
    let mut terminal = String::new();
    // summary.csv, report.md and report.html are always written; --format
    // adds the others.
    let mut names: Vec<&str> = vec!["csv", "md", "html"];
    names.extend(formats.iter().map(String::as_str));
    names.dedup();
    let mut seen = std::collections::HashSet::new();
    for name in names {
        if !seen.insert(name) {
            continue;
        }
        let Some(exporter) = report::exporter(name) else {
            return Err(crate::error::InputError::new(format!(
                "unknown report format '{name}', expected one of {}",
                report::FORMATS.join(", ")
            ))
            .into());
        };
        let text = exporter.render(&input)?;
        match exporter.file_name() {
            Some(file) => std::fs::write(out(file), text)?,
            None => terminal.push_str(&text),
        }
    }
    let refuted = checked
        .iter()
        .filter(|c| c.outcome == crate::analysis::verdict::ExpectOutcome::Refuted)
        .count();
    Ok(ReportOutput {
        terminal,
        refuted,
        written,
    })
}
