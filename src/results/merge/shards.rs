//! Whether run folders are every shard of one plan, once, each complete:
//! what a merge must hold before it joins them.

use super::refuse;
use crate::error::InputError;
use crate::plan::Shard;
use crate::results::RunData;
use std::path::Path;

/// Check that `runs` are every shard of one plan, once, each complete;
/// `searched`: shards of a capacity search, each with a plan of its own.
pub(super) fn check(runs: &[RunData], searched: bool) -> anyhow::Result<usize> {
    let first = &runs[0];
    let Some(s0) = first.manifest.shard else {
        return Err(refuse(
            &first.dir,
            "not a shard (no 'shard' in its manifest), expected run folders of `run --shard I/N`"
                .into(),
        ));
    };
    let plan0 = serde_json::to_value((&first.trials, &first.configurations))?.to_string();
    let mut seen: Vec<Option<&Path>> = vec![None; s0.count];
    for r in runs {
        same_run(first, (&plan0, !searched), r)?;
        let s = one_of(r, s0, &mut seen)?;
        if searched {
            searched_whole(r, s)?;
        } else {
            complete(r, s)?;
        }
    }
    all_present(&seen, s0.count)?;
    Ok(s0.count)
}

/// The experiment, prompts, seed and (where `same_plan`) plan of `r` are
/// those of `first`.
fn same_run(first: &RunData, (plan0, same_plan): (&str, bool), r: &RunData) -> anyhow::Result<()> {
    let (m, m0) = (&r.manifest, &first.manifest);
    let same = |what: &str, a: &str, b: &str| -> anyhow::Result<()> {
        if a != b {
            return Err(refuse(
                &r.dir,
                format!(
                    "{what} differs from {}'s, expected shards of one run",
                    first.dir.display()
                ),
            ));
        }
        Ok(())
    };
    same(
        "the experiment file",
        &m.experiment.sha256,
        &m0.experiment.sha256,
    )?;
    same("the prompt set", &m.prompts.sha256, &m0.prompts.sha256)?;
    same("the seed", &m.seed.to_string(), &m0.seed.to_string())?;
    if !same_plan {
        return Ok(());
    }
    same(
        "the plan",
        &serde_json::to_value((&r.trials, &r.configurations))?.to_string(),
        plan0,
    )
}

/// `r` is a shard of the same split as the first, not yet seen; marks it seen.
fn one_of<'a>(r: &'a RunData, s0: Shard, seen: &mut [Option<&'a Path>]) -> anyhow::Result<Shard> {
    let Some(s) = r.manifest.shard else {
        return Err(refuse(
            &r.dir,
            "not a shard (no 'shard' in its manifest)".into(),
        ));
    };
    if s.count != s0.count {
        return Err(refuse(
            &r.dir,
            format!(
                "shard {s} of a {}-way split, expected {} shards",
                s.count, s0.count
            ),
        ));
    }
    if let Some(other) = seen[s.index] {
        return Err(refuse(
            &r.dir,
            format!(
                "shard {s} twice: also {}, expected each shard once",
                other.display()
            ),
        ));
    }
    seen[s.index] = Some(&r.dir);
    Ok(s)
}

/// Every trial of shard `s` is in `r`'s done log.
fn complete(r: &RunData, s: Shard) -> anyhow::Result<()> {
    let m = &r.manifest;
    let plan = crate::plan::Plan {
        seed: m.seed,
        configurations: r.configurations.clone(),
        trials: r.trials.clone(),
    };
    let mine = s.trials(&plan).map_err(|e| refuse(&r.dir, e))?;
    let done = crate::results::run_dir::read_done(&r.dir)?;
    let missing = mine.iter().filter(|t| !done.contains(t)).count();
    if missing > 0 {
        return Err(refuse(
            &r.dir,
            format!(
                "shard {s} is incomplete: {missing} of its {} trials not done (status {:?}); `infer-bench run EXP --resume {}` finishes it",
                mine.len(),
                m.status,
                r.dir.display()
            ),
        ));
    }
    Ok(())
}

/// A capacity shard's searches all ended: the run complete (a search cut
/// off between probes has every planned trial done, but not its answer)
/// and every trial of its plan done.
fn searched_whole(r: &RunData, s: Shard) -> anyhow::Result<()> {
    let m = &r.manifest;
    let done = crate::results::run_dir::read_done(&r.dir)?;
    let missing = r.trials.iter().filter(|t| !done.contains(&t.index)).count();
    if m.status != crate::results::Status::Complete || missing > 0 {
        return Err(refuse(
            &r.dir,
            format!(
                "shard {s} of the capacity search is incomplete (status {:?}, {missing} planned trials not done); `infer-bench run EXP --resume {}` finishes it",
                m.status,
                r.dir.display()
            ),
        ));
    }
    Ok(())
}

/// No shard of the split is missing.
fn all_present(seen: &[Option<&Path>], count: usize) -> anyhow::Result<()> {
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(InputError::new(format!(
            "shard {} missing, expected all {} shards of the run",
            missing.join(", "),
            count
        ))
        .into());
    }
    Ok(())
}
