//! Whether every `input_tokens` level can be reached, checked before a run
//! where no server is needed to count: the built-in sim's tokenizer is
//! infer-bench's own. A prompt template longer than the smallest level is a
//! fault of the experiment (exit 2) that `validate` names; against a real
//! server the same fault is found at the first trial, also as exit 2.

use crate::error::InputError;
use crate::experiment::{Api, CachePolicy, LoadedExperiment};
use crate::prompts::{cache_buster, template};

/// Prompts drawn per configuration: the longest of them decides.
const SAMPLES: usize = 32;

pub fn check_input_lengths(l: &LoadedExperiment) -> Result<(), InputError> {
    let e = &l.experiment;
    if e.target.builtin.is_none() {
        return Ok(());
    }
    let count = crate::sim::tokenizer::count;
    let system = match (e.target.api, &l.prompts.system) {
        (Api::Chat, Some(s)) => count(s),
        _ => 0,
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
        let head = match e.cache {
            CachePolicy::Defeat => cache_buster(e.seed, 0, 0),
            CachePolicy::Allow => String::new(),
        };
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
            return Err(InputError::in_file(
                &l.path,
                format!(
                    "{}: a prompt of the set is {longest} tokens before any filling, longer than input_tokens = {n}; \
                     expected input_tokens of at least {longest} or a shorter template",
                    config.label
                ),
            )
            .at(crate::yaml::locate_key(&l.source, &[section, "input_tokens"])));
        }
    }
    Ok(())
}
