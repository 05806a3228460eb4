//! The checks of the `workloads:` section against the rest of the
//! experiment: the `workload` factor names declared workloads, and each
//! kind gets the API and load it needs.

use super::{list, Validator};
use crate::error::InputError;
use crate::experiment::Api;
use crate::workload::{Kind, FACTOR};

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
