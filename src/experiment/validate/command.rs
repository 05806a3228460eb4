//! The checks that need what only a command has: the flags that change the
//! experiment, the shards asked for, the process's open-file limit, and a
//! tokenizer to count prompts with. The rules live here; the commands call
//! them with what they know.

use crate::error::{InputError, Rule};
use crate::experiment::{limits, Api, CachePolicy, Experiment, LoadedExperiment, Repetitions};
use crate::prompts::{cache_buster, template};

/// Apply `--repetitions` / `--requests` to the loaded experiment, and check
/// them and the plan they make.
pub fn overrides(
    l: &mut LoadedExperiment,
    repetitions: Option<u32>,
    requests: Option<u32>,
) -> Result<(), InputError> {
    if let Some(r) = repetitions {
        if r == 0 {
            return Err(Rule::Zero {
                what: "--repetitions",
            }
            .into());
        }
        l.experiment.repetitions = Repetitions::Fixed(r);
    }
    if let Some(n) = requests {
        if n == 0 {
            return Err(Rule::Zero { what: "--requests" }.into());
        }
        limits::at_most("--requests", n, limits::MAX_REQUESTS)?;
        l.experiment.trial.requests = Some(n);
        let e = &l.experiment;
        let batches = e
            .baseline
            .get("batch_size")
            .into_iter()
            .chain(e.factors.get("batch_size").into_iter().flatten());
        for b in batches {
            super::batch_prompts(e, b.as_u64().unwrap_or(1))
                .map_err(|r| InputError::from(r).or_in(&l.path, None))?;
        }
    }
    if let Some(r) = repetitions {
        limits::at_most("--repetitions", r, limits::MAX_REPETITIONS)?;
    }
    limits::size_of_plan(&l.experiment).map_err(|m| InputError::from(m).or_in(&l.path, None))
}

/// `count` shards of a plan of `blocks` repetition blocks: a shard runs
/// whole blocks, so there must be a block for each.
pub fn shards(count: usize, blocks: usize) -> Result<(), Rule> {
    if blocks < count {
        return Err(Rule::TooFewBlocks { count, blocks });
    }
    Ok(())
}

/// A sharded run: adaptive repetitions decide on the whole run's trials,
/// which no shard has.
pub fn sharded_run(l: &LoadedExperiment) -> Result<(), InputError> {
    if l.experiment.repetitions.adaptive().is_some() {
        return Err(InputError::from(Rule::AdaptiveShards).or_in(&l.path, None));
    }
    Ok(())
}

/// Files the process needs beside its sockets: the run folder's logs,
/// the runtime, a launched server's pipes.
const SPARE_FILES: u64 = 64;

/// Every request in flight holds a socket: the most an experiment has in
/// flight at once (a closed loop's concurrency, or an open loop's cap)
/// must fit the open-file limit `soft` (the hard one named in the advice).
pub fn open_files(l: &LoadedExperiment, soft: u64, hard: u64) -> Result<(), InputError> {
    open_files_for(most_in_flight(&l.experiment), soft, hard)
        .map_err(|m| InputError::from(m).or_in(&l.path, None))
}

/// `in_flight` requests (plus spare files) within the limit `soft`.
pub fn open_files_for(in_flight: u64, soft: u64, hard: u64) -> Result<(), Rule> {
    let need = in_flight + SPARE_FILES;
    if need <= soft {
        return Ok(());
    }
    Err(Rule::OpenFiles {
        in_flight,
        need,
        soft,
        hard,
    })
}

fn most_in_flight(e: &Experiment) -> u64 {
    let searched = e.capacity.as_ref().filter(|c| {
        e.design == crate::experiment::Design::Capacity
            && c.factor == crate::experiment::CapacityFactor::Concurrency
    });
    match (e.load.max_in_flight(), searched) {
        (Some(cap), _) => u64::from(cap),
        // The search offers at most its max.
        (None, Some(c)) => c.max as u64,
        (None, None) => crate::experiment::configurations(e)
            .iter()
            .map(|c| c.concurrency() as u64)
            .max()
            .unwrap_or(1),
    }
}

/// Prompts drawn per configuration: the longest of them decides.
const SAMPLES: usize = 32;

/// Whether every `input_tokens` level can be reached, counted with the
/// target's own tokenizer `count`: a prompt template longer than the
/// smallest level is a fault of the experiment, found before a run.
pub fn input_lengths(
    l: &LoadedExperiment,
    count: impl Fn(&str) -> usize,
) -> Result<(), InputError> {
    let e = &l.experiment;
    let system = match (e.target.api, &l.prompts.system) {
        (Api::Chat, Some(s)) => count(s),
        _ => 0,
    };
    let head = match e.cache {
        CachePolicy::Defeat => cache_buster(e.seed, 0, 0),
        CachePolicy::Allow => String::new(),
    };
    for config in &crate::experiment::configurations(e) {
        let Some(n) = config.input_tokens() else {
            continue;
        };
        let ctx = template::factor_context(&config.values);
        let bodies = l
            .prompts
            .render_many(&ctx, SAMPLES, e.seed)
            .map_err(|m| InputError::in_file(&l.prompts_path, m))?;
        let longest = bodies
            .iter()
            .map(|b| system + count(&format!("{head}{b}")))
            .max()
            .unwrap_or(0);
        if longest as u64 > n {
            let section = if e.factors.contains_key("input_tokens") {
                "factors"
            } else {
                "baseline"
            };
            let rule = Rule::Unreachable {
                config: config.label.clone(),
                longest,
                input_tokens: n,
            };
            let at = crate::yaml::locate_key(&l.source, &[section, "input_tokens"]);
            return Err(InputError::from(rule).or_in(&l.path, at));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_refuses_what_does_not_fit_and_says_how_to_fix_it() {
        assert!(open_files_for(100, 1024, 4096).is_ok());
        let e = open_files_for(1000, 1024, 1024).unwrap_err().to_string();
        assert!(
            e.contains("1064 open files") && e.contains("ulimit -n 1064"),
            "{e}"
        );
    }

    #[test]
    fn shards_need_a_block_each() {
        assert!(shards(3, 3).is_ok());
        assert_eq!(
            shards(4, 3),
            Err(Rule::TooFewBlocks {
                count: 4,
                blocks: 3
            })
        );
    }
}
