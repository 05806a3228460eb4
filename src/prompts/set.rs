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
        let mut rng = StdRng::seed_from_u64(seed);
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(n);
        // Rejection sampling for distinct texts; a small set repeats after
        // a bounded number of tries rather than loop forever.
        let max_tries = 20 * n + 100;
        let mut tries = 0;
        while out.len() < n {
            let text = self.render_one(factors, &mut rng)?;
            tries += 1;
            if seen.insert(text.clone()) || tries > max_tries {
                out.push(text);
            }
        }
        Ok(out)
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
}
