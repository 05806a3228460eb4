//! The experiment's own templates (target.model, target.params, the server
//! command, the base URL) and the prompt set's: every free variable is used
//! by one, and every one renders for every configuration.

use super::Validator;
use crate::error::InputError;
use crate::experiment::BUILTIN_FACTORS;
use crate::prompts::template;
use std::collections::BTreeSet;

impl Validator<'_> {
    pub(super) fn free_variables_used(&self) -> Result<(), InputError> {
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
            if let Some(v) = &server.version_command {
                out.push((vec!["target", "server", "version_command"], v.clone()));
            }
            if let Some(m) = &server.model_path {
                out.push((vec!["target", "server", "model_path"], m.clone()));
            }
        }
        if let Some(url) = &t.base_url {
            out.push((vec!["target", "base_url"], url.clone()));
        }
        out
    }

    pub(super) fn templates_render(&self) -> Result<(), InputError> {
        let configs = crate::experiment::configurations(&self.l.experiment);
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
                let command = matches!(path.last(), Some(&"command" | &"version_command"));
                if command && shlex::split(&rendered).is_none_or(|w| w.is_empty()) {
                    return Err(self.err(
                        &path,
                        format!(
                            "renders to a command that cannot be split into words for configuration {} (an unclosed quote?), expected a command line",
                            config.label
                        ),
                    ));
                }
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
