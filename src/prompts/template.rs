//! minijinja templates over factor values and prompt variables.
//!
//! Undefined variables are errors, not empty strings: a typo in a template
//! must stop the experiment before it runs, not send empty model names.

use crate::level::Level;
use crate::limits;
use indexmap::IndexMap;
use minijinja::{Environment, UndefinedBehavior, Value};
use std::collections::{BTreeMap, HashSet};

pub type Context = BTreeMap<String, Value>;

/// No loader is set: `include`, `import` and `extends` find no template, so
/// a template cannot read files (only the experiment and prompt set it was
/// given are ever read).
fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_keep_trailing_newline(true);
    // Bounded work per render: nested loops over `range(100000)` would
    // otherwise hang `validate` and every trial's preparation.
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(64);
    env
}

/// Instructions one render may run: a long prompt template needs thousands.
const TEMPLATE_FUEL: u64 = 5_000_000;

/// Render `source` with `ctx`; the error is minijinja's message, or the
/// text limit's where the template or what it renders is past it. Fuel
/// bounds the instructions, not the bytes: a few instructions can repeat a
/// string to gigabytes, so the output is capped as it is written.
pub fn render(source: &str, ctx: &Context) -> Result<String, String> {
    limits::text("the template", source.len()).map_err(|r| r.to_string())?;
    let env = env();
    let tmpl = env.template_from_str(source).map_err(|e| e.to_string())?;
    let mut out = Capped::default();
    let rendered = tmpl.render_captured_to(ctx, &mut out).map(drop);
    if let Some(bytes) = out.over {
        let rule = limits::text("the rendered template", bytes).err();
        return Err(rule.map_or_else(|| "rendered text too large".into(), |r| r.to_string()));
    }
    rendered.map_err(|e| {
        // minijinja says "undefined value" without the name; name it.
        let mut missing: Vec<String> = tmpl
            .undeclared_variables(false)
            .into_iter()
            .filter(|v| !ctx.contains_key(v))
            .collect();
        missing.sort();
        if e.kind() == minijinja::ErrorKind::UndefinedError && !missing.is_empty() {
            let names: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
            format!(
                "undefined variable {} in '{source}', expected a factor, a baseline value or a prompt variable",
                names.join(", ")
            )
        } else {
            e.to_string()
        }
    })?;
    // Whole `str`s were written, so the bytes are UTF-8.
    String::from_utf8(out.bytes).map_err(|e| e.to_string())
}

/// A render's output, refused once it passes the text limit.
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    /// The size the write that passed the limit would have made.
    over: Option<usize>,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let total = self.bytes.len().saturating_add(buf.len());
        if limits::text("", total).is_err() {
            self.over = Some(total);
            return Err(std::io::Error::other("rendered text past the limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The top-level variables a template reads.
pub fn variables(source: &str) -> Result<HashSet<String>, String> {
    let env = env();
    let tmpl = env.template_from_str(source).map_err(|e| e.to_string())?;
    Ok(tmpl.undeclared_variables(false))
}

/// Factor values as a template context.
pub fn factor_context(values: &IndexMap<String, Level>) -> Context {
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.to_template_value()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_cannot_read_files() {
        for source in [
            "{% include '/etc/passwd' %}",
            "{% import '/etc/hostname' as h %}",
            "{% extends 'Cargo.toml' %}",
        ] {
            let err = render(source, &Context::new()).unwrap_err();
            assert!(
                err.contains("not found") || err.contains("template"),
                "{source}: {err}"
            );
        }
    }

    #[test]
    fn runaway_templates_stop() {
        let nested =
            "{% for a in range(10000) %}{% for b in range(10000) %}x{% endfor %}{% endfor %}";
        let err = render(nested, &Context::new()).unwrap_err();
        assert!(err.contains("fuel"), "{err}");
        let recursive = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
        assert!(render(recursive, &Context::new()).is_err());
    }

    #[test]
    fn huge_strings_stop_at_the_text_limit() {
        // Few instructions, each repeating a string to 100 MB (minijinja's own cap).
        let huge = "{% for i in range(40) %}{{ 'x' * 100000000 }}{% endfor %}";
        let err = render(huge, &Context::new()).unwrap_err();
        assert!(err.contains("the rendered template of"), "{err}");
        assert!(
            err.contains("more than the most infer-bench takes"),
            "{err}"
        );
        let literal = format!("{{{{ '{}' }}}}", "y".repeat(limits::MAX_TEXT));
        let err = render(&literal, &Context::new()).unwrap_err();
        assert!(err.contains("the template of"), "{err}");
    }

    #[test]
    fn renders_and_rejects_undefined() {
        let mut ctx = Context::new();
        ctx.insert("quant".into(), Value::from("q4_K_M"));
        ctx.insert("n".into(), Value::from(4));
        assert_eq!(
            render("m-{{ quant }}-{{ n * 2 }}", &ctx).unwrap(),
            "m-q4_K_M-8"
        );
        assert!(render("m-{{ qaunt }}", &ctx).is_err());
        let vars = variables("{{ a }} {% if b %}{{ c.d }}{% endif %}").unwrap();
        assert_eq!(
            vars,
            ["a", "b", "c"].iter().map(|s| s.to_string()).collect()
        );
    }
}
