//! Checks the parsed experiment for what types cannot say: levels exist, the
//! baseline lies on every sweep, built-in factors have sane values, every free
//! variable is used by a template, and every template renders.

use super::limits;
use super::{locate_key, Level, LoadedExperiment, BUILTIN_FACTORS};
use crate::error::InputError;
use crate::prompts::template;
use std::collections::BTreeSet;

mod load;
mod workloads;

pub(super) fn validate(l: &LoadedExperiment) -> Result<(), InputError> {
    let v = Validator { l };
    v.name()?;
    v.target()?;
    v.counts()?;
    v.factors()?;
    v.builtin_values()?;
    v.load()?;
    v.workloads()?;
    v.slo_and_cost()?;
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
        InputError::in_file(&self.l.path, message).at(locate_key(&self.l.source, path))
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
                        self.err(&["target", "base_url"], format!("invalid base_url '{url}': {e}"))
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
        Ok(())
    }

    fn counts(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        // Below 0.5, so that TOST's (1 − 2α) interval exists.
        if !(e.stats.alpha > 0.0 && e.stats.alpha < 0.5) {
            return Err(self.err(
                &["stats", "alpha"],
                format!("alpha must lie between 0 and 0.5, got {}", e.stats.alpha),
            ));
        }
        if !(e.stats.equivalence > 0.0 && e.stats.equivalence.is_finite()) {
            return Err(self.err(
                &["stats", "equivalence"],
                "equivalence must be a relative margin above 0, e.g. 0.05 for ±5 %",
            ));
        }
        if !(e.stats.threshold >= 0.0 && e.stats.threshold.is_finite()) {
            return Err(self.err(
                &["stats", "threshold"],
                "threshold must be a relative change ≥ 0, e.g. 0.02",
            ));
        }
        if e.repetitions.blocks() == 0 {
            return Err(self.err(&["repetitions"], "repetitions must be at least 1"));
        }
        limits::at_most(
            "repetitions",
            e.repetitions.blocks(),
            limits::MAX_REPETITIONS,
        )
        .map_err(|m| self.err(&["repetitions"], m))?;
        if let Some(a) = e.repetitions.adaptive() {
            if a.min < 2 || a.min > a.max {
                return Err(self.err(
                    &["repetitions", "min"],
                    format!(
                        "expected 2 ≤ min ≤ max (a confidence interval needs two trials), got min {} and max {}",
                        a.min, a.max
                    ),
                ));
            }
            if !(a.until.rel_ci > 0.0 && a.until.rel_ci.is_finite()) {
                return Err(self.err(
                    &["repetitions", "until", "rel_ci"],
                    "rel_ci must be a relative half-width above 0, e.g. 0.02 for ±2 %",
                ));
            }
            if a.until.metrics.is_empty() {
                return Err(self.err(
                    &["repetitions", "until", "metrics"],
                    "list at least one metric, e.g. [output_tok_s]",
                ));
            }
            for m in &a.until.metrics {
                if crate::metrics::by_column(m).is_none() {
                    return Err(self.err(
                        &["repetitions", "until", "metrics"],
                        format!(
                            "unknown metric '{m}', expected one of {}",
                            crate::metrics::columns().join(", ")
                        ),
                    ));
                }
            }
        }
        if let Some(n) = e.trial.requests {
            limits::at_most("trial requests", n, limits::MAX_REQUESTS)
                .map_err(|m| self.err(&["trial", "requests"], m))?;
        }
        limits::at_most("warmup requests", e.warmup.requests, limits::MAX_REQUESTS)
            .map_err(|m| self.err(&["warmup", "requests"], m))?;
        limits::size_of_plan(e).map_err(|m| self.err(&["factors"], m))?;
        match (e.trial.requests, e.trial.duration) {
            (None, None) => Err(self.err(
                &["trial"],
                "trial needs 'requests' (a count) or 'duration' (e.g. '30s')",
            )),
            (Some(0), _) => {
                Err(self.err(&["trial", "requests"], "trial requests must be at least 1"))
            }
            (_, Some(d)) if d.0.is_zero() => Err(self.err(
                &["trial", "duration"],
                "trial duration must be longer than zero",
            )),
            _ => Ok(()),
        }
    }

    fn factors(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        for (name, levels) in &e.factors {
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
            let check = match name.as_str() {
                "concurrency" => match value.as_u64() {
                    Some(n) if n >= 1 => limits::at_most(name, n, limits::MAX_CONCURRENCY),
                    _ => Err(format!("{name} must be a whole number ≥ 1, got {value}")),
                },
                "input_tokens" | "output_tokens" => match value.as_u64() {
                    Some(n) if n >= 1 => limits::at_most(name, n, limits::MAX_TOKENS),
                    _ => Err(format!("{name} must be a whole number ≥ 1, got {value}")),
                },
                "rate" => match value.as_f64() {
                    Some(r) if r > 0.0 && r.is_finite() => {
                        limits::at_most("rate", r, limits::MAX_RATE).and_then(|()| {
                            match e.trial.duration {
                                Some(d) => limits::at_most(
                                    "rate × trial duration",
                                    r * d.0.as_secs_f64(),
                                    limits::MAX_SCHEDULED,
                                ),
                                None => Ok(()),
                            }
                        })
                    }
                    _ => Err(format!(
                        "rate must be a number of requests per second > 0, got {value}"
                    )),
                },
                "batch_size" => match value.as_u64() {
                    Some(n) if n >= 1 => limits::at_most(name, n, limits::MAX_BATCH),
                    _ => Err(format!(
                        "batch_size must be a whole number ≥ 1, got {value}"
                    )),
                },
                _ => Ok(()),
            };
            check.map_err(|m| self.err(&[section, name], m))?;
        }
        Ok(())
    }

    fn free_variables_used(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        let mut used = BTreeSet::new();
        for src in self.template_sources() {
            let vars = template::variables(&src.1)
                .map_err(|m| self.err(&src.0, format!("template error: {m}")))?;
            used.extend(vars);
        }
        for src in &self.l.prompts.templates {
            if let Ok(vars) = template::variables(src) {
                used.extend(vars);
            }
        }
        // A factor that only prices the configurations is used by the cost.
        if let Some(crate::experiment::Price::ByLevel { by, .. }) =
            e.cost.as_ref().map(|c| &c.usd_per_hour)
        {
            used.insert(by.clone());
        }
        let names = e.baseline.keys().chain(e.factors.keys());
        for name in names {
            if BUILTIN_FACTORS.contains(&name.as_str()) || used.contains(name) {
                continue;
            }
            let section = if e.factors.contains_key(name) {
                "factors"
            } else {
                "baseline"
            };
            let mut message = format!(
                "unknown factor '{name}', expected a built-in factor ({}) or a variable that a template uses (target.model, target.params, the prompt set)",
                BUILTIN_FACTORS
                    .iter()
                    .map(|f| format!("'{f}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(s) = suggest(
                name,
                BUILTIN_FACTORS
                    .iter()
                    .copied()
                    .chain(used.iter().map(String::as_str)),
            ) {
                message.push_str(&format!("; did you mean '{s}'?"));
            }
            return Err(self.err(&[section, name], message));
        }
        Ok(())
    }

    /// (location path, template text) of the experiment's own templates.
    fn template_sources(&self) -> Vec<(Vec<&str>, String)> {
        let t = &self.l.experiment.target;
        let mut out = vec![(vec!["target", "model"], t.model.clone())];
        for (k, v) in &t.params {
            if let serde_json::Value::String(s) = v {
                out.push((vec!["target", "params", k.as_str()], s.clone()));
            }
        }
        if let Some(server) = &t.server {
            out.push((vec!["target", "server", "command"], server.command.clone()));
            if let Some(m) = &server.model_path {
                out.push((vec!["target", "server", "model_path"], m.clone()));
            }
        }
        if let Some(url) = &t.base_url {
            out.push((vec!["target", "base_url"], url.clone()));
        }
        out
    }

    fn expectations(&self) -> Result<(), InputError> {
        let e = &self.l.experiment;
        for (i, x) in e.expect.iter().enumerate() {
            let err = |m: String| self.err(&["expect"], format!("expectation {}: {m}", i + 1));
            if crate::metrics::by_column(&x.metric).is_none() {
                return Err(err(format!(
                    "unknown metric '{}', expected one of {}",
                    x.metric,
                    crate::metrics::columns().join(", ")
                )));
            }
            let Some(levels) = e.factors.get(&x.factor) else {
                return Err(err(format!(
                    "'{}' is not a factor of this experiment",
                    x.factor
                )));
            };
            for l in [&x.from, &x.to] {
                if !levels.contains(l) {
                    return Err(err(format!(
                        "{} is not a level of factor '{}' {}",
                        l,
                        x.factor,
                        list(levels)
                    )));
                }
            }
            if x.from == x.to {
                return Err(err("'from' and 'to' are the same level".into()));
            }
            if x.min.is_some_and(|m| !(m >= 0.0 && m.is_finite())) {
                return Err(err("min must be a relative change ≥ 0, e.g. 0.1".into()));
            }
        }
        Ok(())
    }

    fn templates_render(&self) -> Result<(), InputError> {
        let configs = super::configurations(&self.l.experiment);
        for config in &configs {
            let ctx = template::factor_context(&config.values);
            // What a launched server's templates get besides the factors.
            let mut server_ctx = ctx.clone();
            server_ctx.insert("port".into(), minijinja::Value::from(8080));
            server_ctx.insert("experiment_dir".into(), minijinja::Value::from("."));
            for (path, src) in self.template_sources() {
                let ctx = if path.get(1) == Some(&"server") || path.get(1) == Some(&"base_url") {
                    &server_ctx
                } else {
                    &ctx
                };
                let rendered = template::render(&src, ctx).map_err(|m| {
                    self.err(
                        &path,
                        format!("template error for configuration {}: {m}", config.label),
                    )
                })?;
                if path.get(1) == Some(&"base_url") {
                    let ok = reqwest::Url::parse(&rendered)
                        .is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
                    if !ok {
                        return Err(self.err(
                            &path,
                            format!(
                                "base_url renders to '{rendered}' for configuration {}, expected an http:// or https:// URL",
                                config.label
                            ),
                        ));
                    }
                }
            }
            self.l.prompts.check_renders(&ctx).map_err(|m| {
                InputError::in_file(
                    &self.l.prompts_path,
                    format!("for configuration {}: {m}", config.label),
                )
            })?;
        }
        Ok(())
    }
}

fn list(levels: &[Level]) -> String {
    let items: Vec<String> = levels.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// The closest candidate by edit distance, if it is close enough to be a typo.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(edit_distance("concurency", "concurrency"), 1);
        assert_eq!(
            suggest("concurency", BUILTIN_FACTORS.iter().copied()),
            Some("concurrency")
        );
        assert_eq!(suggest("quant", BUILTIN_FACTORS.iter().copied()), None);
    }
}
