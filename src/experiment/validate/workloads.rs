//! The checks of the `workloads:` section: each workload's keys and
//! lengths, its data files as they are read, and against the rest of the
//! experiment: the `workload` factor names declared workloads, and each
//! kind gets the API and load it needs.

use super::{list, Validator};
use crate::error::{InputError, Rule};
use crate::experiment::{limits, Api};
use crate::workload::{Kind, Length, OutputLength, Workload, WorkloadError, WorkloadSpec, FACTOR};
use crate::yaml::locate_key;
use indexmap::IndexMap;
use std::path::Path;

/// Check every workload's spec and read its data files (relative to the
/// experiment file); faults are located in the experiment or the data file.
pub(in crate::experiment) fn read_workloads(
    experiment: &Path,
    source: &str,
    specs: &IndexMap<String, WorkloadSpec>,
) -> Result<IndexMap<String, Workload>, InputError> {
    let dir = experiment.parent().unwrap_or_else(|| Path::new("."));
    let mut out = IndexMap::new();
    for (name, spec) in specs {
        let fault = |key: &str, msg: String| {
            let at = locate_key(source, &["workloads", name, key])
                .or(locate_key(source, &["workloads", name]));
            InputError::in_file(experiment, format!("workload '{name}': {msg}")).at(at)
        };
        let kind = spec.kind().map_err(|(key, m)| fault(key, m))?;
        check_limits(spec).map_err(|(key, rule)| {
            let mut e = InputError::from(rule);
            e.message = format!("workload '{name}': {}", e.message);
            let at = locate_key(source, &["workloads", name, key])
                .or(locate_key(source, &["workloads", name]));
            e.or_in(experiment, at)
        })?;
        check_lengths(spec).map_err(|(key, m)| fault(key, m))?;
        let w = crate::workload::read(dir, name, spec, kind).map_err(|e| match e {
            WorkloadError::Key { key, message } => fault(key, message),
            WorkloadError::Data(e) => e,
        })?;
        out.insert(name.clone(), w);
    }
    Ok(out)
}

fn check_lengths(spec: &WorkloadSpec) -> Result<(), (&'static str, String)> {
    if let Some(s) = &spec.sessions {
        if s.turns == 0 {
            return Err(("sessions", "turns is 0, expected 1 or more".into()));
        }
    }
    if let Some(p) = &spec.shared_prefix {
        if p.groups == 0 || p.prefix_tokens == 0 {
            return Err((
                "shared_prefix",
                "groups and prefix_tokens must be 1 or more".into(),
            ));
        }
    }
    if spec.block_tokens == Some(0) {
        return Err((
            "block_tokens",
            "block_tokens is 0, expected 1 or more".into(),
        ));
    }
    for (key, _, l) in lengths(spec) {
        l.check().map_err(|m| (key, format!("{key}: {m}")))?;
    }
    Ok(())
}

/// Every length a workload's spec asks for: the key that holds it (where
/// a fault is located), its name, the length.
fn lengths(spec: &WorkloadSpec) -> Vec<(&'static str, &'static str, &Length)> {
    let mut lengths = Vec::new();
    if let Some(l) = &spec.input_tokens {
        lengths.push(("input_tokens", "input_tokens", l));
    }
    if let Some(OutputLength::Length(l)) = &spec.output_tokens {
        lengths.push(("output_tokens", "output_tokens", l));
    }
    if let Some(s) = &spec.sessions {
        lengths.extend([
            (
                "sessions",
                "sessions first_input_tokens",
                &s.first_input_tokens,
            ),
            (
                "sessions",
                "sessions turn_input_tokens",
                &s.turn_input_tokens,
            ),
            ("sessions", "sessions output_tokens", &s.output_tokens),
        ]);
    }
    if let Some(p) = &spec.shared_prefix {
        lengths.extend([
            (
                "shared_prefix",
                "shared_prefix suffix_tokens",
                &p.suffix_tokens,
            ),
            (
                "shared_prefix",
                "shared_prefix output_tokens",
                &p.output_tokens,
            ),
        ]);
    }
    lengths
}

/// The spec's quantities against the one limit of their kind: each length
/// (a number, a distribution's parameters and clamps), and what they add up
/// to: a conversation's last prompt carries its whole history, a shared
/// prefix its suffix, a conversation's think times one after another.
fn check_limits(spec: &WorkloadSpec) -> Result<(), (&'static str, Rule)> {
    for (key, what, l) in lengths(spec) {
        l.within_limits(what).map_err(|r| (key, r))?;
    }
    if let Some(s) = &spec.sessions {
        let at = |r| ("sessions", r);
        limits::count("sessions turns", u64::from(s.turns)).map_err(at)?;
        let later = u64::from(s.turns.saturating_sub(1));
        let exchange = s
            .turn_input_tokens
            .max()
            .saturating_add(s.output_tokens.max());
        let history = s
            .first_input_tokens
            .max()
            .saturating_add(later.saturating_mul(exchange));
        limits::tokens(
            "sessions: the last turn's prompt (its whole history)",
            history,
        )
        .map_err(at)?;
        if let Some(t) = s.think_time {
            let total = t.0.as_secs_f64() * later as f64;
            limits::seconds("sessions: think_time over the turns", total).map_err(at)?;
        }
    }
    if let Some(p) = &spec.shared_prefix {
        let at = |r| ("shared_prefix", r);
        limits::count("shared_prefix groups", u64::from(p.groups)).map_err(at)?;
        limits::tokens("shared_prefix prefix_tokens", p.prefix_tokens).map_err(at)?;
        let longest = p.prefix_tokens.saturating_add(p.suffix_tokens.max());
        limits::tokens("shared_prefix: prefix_tokens + suffix_tokens", longest).map_err(at)?;
    }
    if let Some(b) = spec.block_tokens {
        limits::tokens("block_tokens", b).map_err(|r| ("block_tokens", r))?;
    }
    if let Some(f) = &spec.filter {
        for (what, v) in [
            ("filter min_tokens", f.min_tokens),
            ("filter max_tokens", f.max_tokens),
        ] {
            if let Some(v) = v {
                limits::tokens(what, v).map_err(|r| ("filter", r))?;
            }
        }
    }
    Ok(())
}

impl Validator<'_> {
    pub(super) fn workloads(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let names: Vec<crate::level::Level> = e
            .workloads
            .keys()
            .map(|n| crate::level::Level::Str(n.clone()))
            .collect();
        let levels = e
            .baseline
            .get(FACTOR)
            .map(|l| ("baseline", l))
            .into_iter()
            .chain(
                e.factors
                    .get(FACTOR)
                    .into_iter()
                    .flatten()
                    .map(|l| ("factors", l)),
            );
        for (section, level) in levels {
            if !e.workloads.contains_key(&level.to_string()) {
                return Err(self.err(
                    &[section, FACTOR],
                    format!(
                        "workload {level} is not declared under workloads:, expected one of {}",
                        list(&names)
                    ),
                ));
            }
        }
        if e.workloads.len() > 1 && !e.baseline.contains_key(FACTOR) {
            return Err(self.err(
                &["workloads"],
                format!(
                    "{} workloads and no baseline workload: expected `workload:` in the baseline, one of {}",
                    e.workloads.len(),
                    list(&names)
                ),
            ));
        }
        let has = |name: &str| e.baseline.contains_key(name) || e.factors.contains_key(name);
        for (name, w) in &self.l.workloads {
            let at = ["workloads", name.as_str()];
            let needs_chat = match w.kind {
                Kind::Sessions => Some("a sessions workload sends conversations"),
                Kind::Dataset
                    if w.dataset
                        .as_ref()
                        .is_some_and(|d| d.entries.iter().any(|x| !x.history.is_empty())) =>
                {
                    Some("the dataset has conversations (`messages`)")
                }
                _ => None,
            };
            if let (Some(why), Api::Completions) = (needs_chat, e.target.api) {
                return Err(self.err(
                    &at,
                    format!("workload '{name}': {why}, expected target.api: chat"),
                ));
            }
            if w.kind == Kind::Sessions && e.load.kind().is_open() {
                return Err(self.err(
                    &at,
                    format!("workload '{name}': sessions run `concurrency` conversations in flight, expected load: closed"),
                ));
            }
            if w.kind != Kind::Lengths && has("batch_size") {
                return Err(self.err(
                    &at,
                    format!("workload '{name}': batch_size works with length workloads only"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_another_kind_are_refused_where_they_are() {
        let yaml = "workloads:\n  w:\n    trace: t.csv\n    column: prompt\n";
        let specs: IndexMap<String, IndexMap<String, WorkloadSpec>> =
            serde_yaml::from_str(yaml).unwrap();
        let err = read_workloads(Path::new("/x/e.yaml"), yaml, &specs["workloads"]).unwrap_err();
        assert_eq!(err.location, Some((4, 5)), "{err}");
        assert!(
            err.message
                .contains("'column' has no meaning for a trace workload"),
            "{err}"
        );
        let yaml = "w: {dataset: a.json, sessions: {turns: 1, first_input_tokens: 1, turn_input_tokens: 1, output_tokens: 1}}";
        let specs: IndexMap<String, WorkloadSpec> = serde_yaml::from_str(yaml).unwrap();
        let err = read_workloads(Path::new("/x/e.yaml"), yaml, &specs).unwrap_err();
        assert!(err.message.contains("one of dataset"), "{err}");
    }
}
