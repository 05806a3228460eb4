//! Prompt sets: templates × variable lists, rendered into distinct prompts.

use super::template::{self, Context};
use crate::error::InputError;
use indexmap::IndexMap;
use minijinja::Value;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::Path;

/// A prompt set file (`prompts/*.yaml`).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptSet {
    /// System message for `api: chat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// minijinja templates; each request renders one of them.
    pub templates: Vec<String>,
    /// Variable name → values; each request draws one value of each.
    #[serde(default)]
    pub variables: IndexMap<String, Vec<String>>,
    /// Text that pads prompts to an exact `input_tokens`; the built-in corpus when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filler: Option<String>,
}

/// The committed filler corpus, embedded so a prompt set needs no extra file.
pub const DEFAULT_FILLER: &str = include_str!("../../prompts/filler.txt");

pub fn load(path: &Path) -> Result<PromptSet, InputError> {
    crate::limits::small_file("the prompt set", path)
        .map_err(|rule| InputError::in_file(path, rule.to_string()))?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(format!("cannot read prompt set {}: {e}", path.display())))?;
    let set: PromptSet = crate::yaml::parse(path, &text)?;
    if set.templates.is_empty() {
        return Err(InputError::in_file(
            path,
            "prompt set has no templates, expected at least one",
        )
        .at(crate::yaml::locate_key(&text, &["templates"])));
    }
    for (name, values) in &set.variables {
        if values.is_empty() {
            return Err(
                InputError::in_file(path, format!("variable '{name}' has no values"))
                    .at(crate::yaml::locate_key(&text, &["variables", name])),
            );
        }
    }
    for (i, t) in set.templates.iter().enumerate() {
        template::variables(t).map_err(|m| {
            InputError::in_file(path, format!("template {} does not parse: {m}", i + 1))
                .at(crate::yaml::locate_key(&text, &["templates"]))
        })?;
    }
    Ok(set)
}

impl PromptSet {
    /// Words of the filler corpus.
    pub fn filler_words(&self) -> Vec<&str> {
        self.filler
            .as_deref()
            .unwrap_or(DEFAULT_FILLER)
            .split_whitespace()
            .collect()
    }

    /// Every template renders with its first values and the factor values.
    pub fn check_renders(&self, factors: &Context) -> Result<(), String> {
        let mut ctx = factors.clone();
        for (k, vs) in &self.variables {
            ctx.insert(k.clone(), Value::from(vs[0].as_str()));
        }
        for (i, t) in self.templates.iter().enumerate() {
            template::render(t, &ctx).map_err(|m| format!("template {}: {m}", i + 1))?;
        }
        Ok(())
    }

    /// `n` rendered prompts, distinct where the set has enough combinations,
    /// drawn with `seed`.
    pub fn render_many(
        &self,
        factors: &Context,
        n: usize,
        seed: u64,
    ) -> Result<Vec<String>, String> {
        self.draws(factors, seed).take(n).collect()
    }

    /// Rendered prompts drawn with `seed`, one at a time, so a caller
    /// rendering millions can pause between them.
    pub fn draws<'a>(&'a self, factors: &'a Context, seed: u64) -> Draws<'a> {
        Draws {
            set: self,
            factors,
            rng: StdRng::seed_from_u64(seed),
            seen: HashSet::new(),
            exhausted: false,
        }
    }

    fn render_one(&self, factors: &Context, rng: &mut StdRng) -> Result<String, String> {
        let t = &self.templates[rng.random_range(0..self.templates.len())];
        let mut ctx = factors.clone();
        for (k, vs) in &self.variables {
            let v = &vs[rng.random_range(0..vs.len())];
            ctx.insert(k.clone(), Value::from(v.as_str()));
        }
        template::render(t, &ctx)
    }
}

/// Draws of distinct prompts by rejection sampling. A set whose
/// combinations are used up shows it by a run of repeats; from then on
/// texts repeat, so a small set costs one render per prompt, not many.
pub struct Draws<'a> {
    set: &'a PromptSet,
    factors: &'a Context,
    rng: StdRng,
    /// Hashes of the texts drawn so far (not the texts: a trial may hold
    /// millions).
    seen: HashSet<u64>,
    exhausted: bool,
}

/// Repeats in a row that mean the set has no new text left: a text still
/// unused that one draw in a hundred renders is missed this many times in a
/// row with a chance of 0.99^1024, about 1 in 30 000. Paid once per trial.
const REPEATS_WHEN_EXHAUSTED: usize = 1024;

impl Iterator for Draws<'_> {
    type Item = Result<String, String>;

    fn next(&mut self) -> Option<Self::Item> {
        for _ in 0..REPEATS_WHEN_EXHAUSTED {
            let text = match self.set.render_one(self.factors, &mut self.rng) {
                Ok(t) => t,
                Err(e) => return Some(Err(e)),
            };
            if self.exhausted || self.seen.insert(hash_of(&text)) {
                return Some(Ok(text));
            }
        }
        self.exhausted = true;
        self.seen = HashSet::new();
        self.next()
    }
}

fn hash_of(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> PromptSet {
        serde_yaml::from_str(
            "templates: ['Tell me about {{ topic }} in {{ style }}.', 'Summarise {{ topic }}.']\nvariables:\n  topic: [rivers, bees, tides, glass]\n  style: [prose, verse]\n",
        )
        .unwrap()
    }

    #[test]
    fn prompts_within_a_trial_differ_and_are_seeded() {
        let s = set();
        let a = s.render_many(&Context::new(), 8, 7).unwrap();
        let b = s.render_many(&Context::new(), 8, 7).unwrap();
        let c = s.render_many(&Context::new(), 8, 8).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let distinct: HashSet<_> = a.iter().collect();
        assert_eq!(distinct.len(), 8);
    }

    #[test]
    fn small_sets_repeat_instead_of_hanging() {
        let s: PromptSet = serde_yaml::from_str("templates: ['hi']").unwrap();
        assert_eq!(s.render_many(&Context::new(), 5, 1).unwrap(), vec!["hi"; 5]);
    }

    #[test]
    fn a_used_up_set_costs_one_render_per_prompt() {
        // 16 texts; a million prompts once cost 20 million renders.
        let s = set();
        let started = std::time::Instant::now();
        let many = s.render_many(&Context::new(), 200_000, 3).unwrap();
        let distinct: HashSet<_> = many.iter().collect();
        assert_eq!(distinct.len(), 12, "every text of the set is used");
        assert!(
            many[..12].iter().collect::<HashSet<_>>().len() == 12,
            "distinct first"
        );
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }
}
