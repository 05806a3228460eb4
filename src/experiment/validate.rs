//! Every check of an experiment, in one place: what its types cannot say
//! (levels exist, the baseline lies on every sweep, built-in factors have
//! sane values, every free variable is used by a template, every template
//! renders), its limits, its workloads, and the checks that need what only
//! a command has (overrides, shards, open files, a tokenizer). Each fault is
//! an [`InputError`] located in the file (exit 2); those a caller acts on
//! carry their [`Rule`].

use super::limits;
use super::{locate_key, Level, LoadedExperiment};
use crate::error::{InputError, Rule};

mod capacity;
mod command;
mod counts;
mod load;
mod slo;
mod templates;
mod workloads;

pub use command::{input_lengths, open_files, open_files_for, overrides, sharded_run, shards};
pub use counts::{metric, stats};
pub use slo::{slo as check_slo, slo_located as check_slo_located};
pub(super) use workloads::read_workloads;

/// The checks of a loaded experiment, in the order its faults are told;
/// `experiment::load` runs them.
pub fn validate(l: &LoadedExperiment) -> Result<(), InputError> {
    let v = Validator { l };
    v.name()?;
    v.target()?;
    v.counts()?;
    v.factors()?;
    v.builtin_values()?;
    v.capacity()?;
    v.load()?;
    v.workloads()?;
    v.slo()?;
    v.cost()?;
    v.free_variables_used()?;
    v.templates_render()?;
    v.expectations()?;
    Ok(())
}

struct Validator<'a> {
    l: &'a LoadedExperiment,
}

impl Validator<'_> {
    fn err(&self, path: &[&str], message: impl Into<String>) -> InputError {
        self.locate(path, InputError::new(message))
    }

    /// A broken rule, located at `path`.
    fn broke(&self, path: &[&str], rule: impl Into<Rule>) -> InputError {
        self.locate(path, InputError::from(rule.into()))
    }

    /// `e` placed at `path` in the experiment, unless it has a place already.
    fn locate(&self, path: &[&str], e: InputError) -> InputError {
        e.or_in(&self.l.path, locate_key(&self.l.source, path))
    }

    fn name(&self) -> Result<(), InputError> {
        let name = &self.l.experiment.name;
        let ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !name.starts_with('.');
        if ok {
            Ok(())
        } else {
            Err(self.err(
                &["name"],
                format!("invalid name '{name}', expected letters, digits, '-', '_' or '.' (it names the results folder)"),
            ))
        }
    }

    fn target(&self) -> Result<(), InputError> {
        let t = &self.l.experiment.target;
        let place = ["target"];
        match (&t.base_url, &t.builtin, &t.server) {
            (_, Some(_), Some(_)) | (Some(_), Some(_), None) => {
                return Err(self.err(
                    &["target", "builtin"],
                    "'builtin: sim' stands alone, expected no 'base_url' or 'server' beside it",
                ))
            }
            (None, None, None) => {
                return Err(self.err(
                    &place,
                    "target needs 'base_url' (a running server), 'server' (one to launch) or 'builtin: sim'",
                ))
            }
            (url, None, server) => {
                // A templated URL (a port, or a factor choosing the server) is
                // checked per configuration once rendered.
                if let Some(url) = url.as_ref().filter(|u| !u.contains("{{") && !u.contains("{%")) {
                    let parsed = reqwest::Url::parse(url).map_err(|e| {
                        self.err(&["target", "base_url"], format!("invalid base_url '{}': {e}", crate::redact::url(url)))
                    })?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        return Err(self.err(
                            &["target", "base_url"],
                            format!("base_url '{url}' must start with http:// or https://"),
                        ));
                    }
                }
                if let Some(server) = server {
                    if server.command.trim().is_empty() {
                        return Err(self.err(&["target", "server", "command"], "the server command is empty"));
                    }
                    if !server.ready.starts_with('/') {
                        return Err(self.err(&["target", "server", "ready"], "ready must be a path starting with '/'"));
                    }
                }
                if t.sim.is_some() {
                    return Err(self.err(&["target", "sim"], "'sim' options need 'builtin: sim'"));
                }
            }
            (None, Some(_), None) => {
                if let Some(sim) = &t.sim {
                    sim.check().map_err(|m| self.err(&["target", "sim"], m))?;
                }
            }
        }
        if !t.tokenize.starts_with('/') {
            return Err(self.err(
                &["target", "tokenize"],
                "tokenize must be a path starting with '/'",
            ));
        }
        self.headers()
    }

    /// Header names a request can carry, each set once; values from the
    /// environment name a variable.
    fn headers(&self) -> Result<(), InputError> {
        let t = &self.l.experiment.target;
        for (field, names) in [("headers", &t.headers), ("headers_env", &t.headers_env)] {
            for (name, value) in names {
                if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                    return Err(self.err(
                        &["target", field, name],
                        format!("'{name}' is not an HTTP header name (letters, digits and -)"),
                    ));
                }
                if field == "headers_env" && (value.is_empty() || value.contains(['=', '\0'])) {
                    return Err(self.err(
                        &["target", field, name],
                        format!("header '{name}': expected the name of an environment variable"),
                    ));
                }
            }
        }
        match t
            .headers_env
            .keys()
            .find(|n| t.headers.keys().any(|h| h.eq_ignore_ascii_case(n)))
        {
            Some(name) => Err(self.err(
                &["target", "headers_env", name],
                format!("header '{name}' is set in both headers and headers_env"),
            )),
            None => Ok(()),
        }
    }

    fn factors(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        for (name, levels) in &e.factors {
            if name.contains(',') {
                return Err(self.err(
                    &["factors", name],
                    format!("factor name '{name}' holds a comma, which joins the factors of a factorial cell; expected a name without one"),
                ));
            }
            if levels.is_empty() {
                return Err(self.err(
                    &["factors", name],
                    format!("factor '{name}' has no levels, expected a list such as [1, 2, 4]"),
                ));
            }
            for (i, a) in levels.iter().enumerate() {
                if levels[..i].contains(a) {
                    return Err(self.err(
                        &["factors", name],
                        format!("factor '{name}' lists level {a} twice"),
                    ));
                }
            }
            match e.baseline.get(name) {
                None => {
                    // At the baseline where there is one, else at the factor.
                    let place: &[&str] = if locate_key(&self.l.source, &["baseline"]).is_some() {
                        &["baseline"]
                    } else {
                        &["factors", name]
                    };
                    return Err(self.err(
                        place,
                        format!(
                            "baseline has no level for factor '{name}', expected one of {}",
                            list(levels)
                        ),
                    ))
                }
                Some(b) if !levels.contains(b) => {
                    return Err(self.err(
                        &["baseline", name],
                        format!(
                            "baseline {name} = {b} is not one of the factor's levels {}, so its sweep would not pass through the baseline",
                            list(levels)
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn builtin_values(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let all = e.baseline.iter().map(|(k, v)| (k, v, "baseline")).chain(
            e.factors
                .iter()
                .flat_map(|(k, ls)| ls.iter().map(move |v| (k, v, "factors"))),
        );
        for (name, value, section) in all {
            if crate::record::RECORD_COLUMNS.contains(&name.as_str()) {
                return Err(self.err(
                    &[section, name],
                    format!("factor name '{name}' is taken by a column of requests.parquet, expected another name"),
                ));
            }
            builtin_value(name, value, e).map_err(|m| self.locate(&[section, name], m))?;
        }
        Ok(())
    }
}

/// A built-in factor's level: a count, a rate, a length within its limits.
fn builtin_value(name: &str, value: &Level, e: &super::Experiment) -> Result<(), InputError> {
    let duration = e.trial.duration;
    let whole = |check: fn(&str, u64) -> Result<u64, crate::error::Rule>| match value.as_u64() {
        Some(n) if n >= 1 => Ok(check(name, n).map(drop)?),
        _ => Err(InputError::new(format!(
            "{name} must be a whole number ≥ 1, got {value}"
        ))),
    };
    match name {
        "concurrency" => whole(|w, n| limits::at_most(w, n, limits::MAX_CONCURRENCY).map(|()| n)),
        "input_tokens" | "output_tokens" => whole(limits::tokens),
        "batch_size" => {
            whole(|w, n| limits::at_most(w, n, limits::MAX_BATCH).map(|()| n))?;
            Ok(batch_prompts(e, value.as_u64().unwrap_or(1))?)
        }
        "rate" => match value.as_f64() {
            Some(r) if r > 0.0 && r.is_finite() => {
                limits::rate("rate", r)?;
                if let Some(d) = duration {
                    let scheduled = r * d.0.as_secs_f64();
                    limits::at_most("rate × trial duration", scheduled, limits::MAX_SCHEDULED)?;
                }
                // A counted trial at a slow rate is a long one: its
                // schedule spans the requests over the rate.
                for (what, n) in [
                    ("trial", e.trial.requests),
                    ("warmup", Some(e.warmup.requests)),
                ] {
                    let n = f64::from(n.unwrap_or(0));
                    let what = format!(
                        "the {what}'s schedule ({n} requests at {} req/s)",
                        limits::show(r)
                    );
                    limits::span(&what, n / r)?;
                }
                Ok(())
            }
            _ => Err(InputError::new(format!(
                "rate must be a number of requests per second > 0, got {value}"
            ))),
        },
        _ => Ok(()),
    }
}

/// Each prompt of a batch is planned and filled before the trial starts:
/// a trial's prompts (requests × `batch`) are a count of requests too.
/// `--requests` comes through here as well.
pub(super) fn batch_prompts(e: &super::Experiment, batch: u64) -> Result<(), crate::error::Rule> {
    let counts = [
        ("trial", e.trial.requests),
        ("warmup", Some(e.warmup.requests)),
    ];
    for (what, requests) in counts {
        let prompts = u64::from(requests.unwrap_or(0)).saturating_mul(batch);
        limits::count(&format!("{what} requests × batch_size"), prompts)?;
    }
    Ok(())
}

fn list(levels: &[Level]) -> String {
    let items: Vec<String> = levels.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}
