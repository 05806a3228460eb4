//! What the manifest records about each launched server.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fingerprint {
    /// llama.cpp's `/props` answer, where the server has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub props: Option<serde_json::Value>,
    /// The `/v1/models` answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub models: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_file: Option<ModelFile>,
    /// The engine's name and version as its `/openapi.json` says them
    /// (`info.title`, `info.version`: FastAPI servers, llama-cpp-python's
    /// and vLLM's, serve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<serde_json::Value>,
    /// What `server.version_command` printed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl ModelFile {
    /// The hash's first `n` characters, as reports show it (a manifest
    /// edited by hand may hold any text there: cut by characters).
    pub fn sha256_prefix(&self, n: usize) -> String {
        self.sha256.chars().take(n).collect()
    }
}

impl Fingerprint {
    /// The engine in a few words: llama.cpp's build, or the name and
    /// version its `/openapi.json` gives, and what its version command
    /// printed.
    pub fn build(&self) -> Option<String> {
        let props = self
            .props
            .as_ref()
            .and_then(|p| p.get("build_info")?.as_str());
        let engine = self.engine.as_ref().map(|e| {
            let part = |k: &str| e.get(k).and_then(|v| v.as_str()).unwrap_or_default();
            format!("{} {}", part("title"), part("version"))
                .trim()
                .to_string()
        });
        let said: Vec<String> = [props.map(str::to_string), engine, self.version.clone()]
            .into_iter()
            .flatten()
            .collect();
        (!said.is_empty()).then(|| said.join("; "))
    }

    /// Context per slot and slot count from llama.cpp's `/props`.
    pub fn slot_context(&self) -> Option<(u64, u64)> {
        let props = self.props.as_ref()?;
        let n_ctx = props
            .pointer("/default_generation_settings/n_ctx")?
            .as_u64()?;
        let slots = props
            .get("total_slots")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1);
        Some((n_ctx, slots))
    }
}

/// Most bytes of a `/props` or `/v1/models` answer read: llama.cpp's
/// `/props`, its chat template included, is a few tens of KB.
pub const ANSWER_CAP: usize = 4 << 20;
/// An answer kept whole in the manifest is at most this long; a longer
/// one keeps the fields infer-bench reads and an excerpt (the manifest is
/// rewritten at every update, so it stays small).
pub const KEPT_BYTES: usize = 16 << 10;
/// Characters of a longer answer kept as its excerpt.
const EXCERPT_CHARS: usize = 2000;
/// Characters kept of one string field of a cut answer.
const FIELD_CHARS: usize = 200;
/// What the reports and the slot check read of `/props`.
pub const PROPS_FIELDS: &[&str] = &[
    "/build_info",
    "/default_generation_settings/n_ctx",
    "/total_slots",
];
/// What the reports read of `/v1/models`.
pub const MODELS_FIELDS: &[&str] = &["/data/0/id"];

/// An `/openapi.json` answer's name and version (`info.title`,
/// `info.version`), scrubbed and cut to a line each; none without either.
pub fn engine_of(
    openapi: &serde_json::Value,
    secrets: &crate::redact::Secrets,
) -> Option<serde_json::Value> {
    let mut out = serde_json::Map::new();
    for key in ["title", "version"] {
        if let Some(s) = openapi
            .pointer(&format!("/info/{key}"))
            .and_then(|v| v.as_str())
        {
            let mut s = s.to_string();
            secrets.scrub(&mut s);
            crate::redact::truncate(&mut s, FIELD_CHARS);
            out.insert(key.into(), serde_json::Value::String(s));
        }
    }
    (!out.is_empty()).then_some(serde_json::Value::Object(out))
}

/// A server's answer as the manifest keeps it: every string scrubbed of
/// `secrets`; whole when short, else `fields` (JSON pointers) and an
/// excerpt, with a note that it was cut.
pub fn kept(
    mut value: serde_json::Value,
    fields: &[&str],
    secrets: &crate::redact::Secrets,
) -> serde_json::Value {
    use serde_json::Value;
    scrub_strings(&mut value, secrets);
    let text = value.to_string();
    if text.len() <= KEPT_BYTES {
        return value;
    }
    let mut out = Value::Object(serde_json::Map::new());
    for pointer in fields {
        match value.pointer(pointer) {
            Some(Value::String(s)) => {
                let mut s = s.clone();
                crate::redact::truncate(&mut s, FIELD_CHARS);
                put(&mut out, pointer, Value::String(s));
            }
            Some(v @ (Value::Number(_) | Value::Bool(_))) => put(&mut out, pointer, v.clone()),
            _ => {}
        }
    }
    let mut excerpt = text.clone();
    crate::redact::truncate(&mut excerpt, EXCERPT_CHARS);
    if let Value::Object(map) = &mut out {
        map.insert(
            "infer_bench_cut".into(),
            Value::String(format!(
                "the answer was {} bytes; kept the fields infer-bench reads and its first {EXCERPT_CHARS} characters",
                text.len()
            )),
        );
        map.insert("excerpt".into(), Value::String(excerpt));
    }
    out
}

/// Every string of `value`, object keys included, scrubbed of `secrets`.
fn scrub_strings(value: &mut serde_json::Value, secrets: &crate::redact::Secrets) {
    use serde_json::Value;
    match value {
        Value::String(s) => secrets.scrub(s),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_strings(v, secrets)),
        Value::Object(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(mut k, mut v)| {
                    secrets.scrub(&mut k);
                    scrub_strings(&mut v, secrets);
                    (k, v)
                })
                .collect();
        }
        _ => {}
    }
}

/// Set `pointer` (`/a/0/b`) in `out` to `leaf`, making the objects and
/// arrays on the way.
fn put(out: &mut serde_json::Value, pointer: &str, leaf: serde_json::Value) {
    use serde_json::Value;
    let mut at = out;
    let mut tokens = pointer.trim_start_matches('/').split('/').peekable();
    while let Some(token) = tokens.next() {
        let next = match tokens.peek() {
            None => leaf.clone(),
            Some(t) if t.parse::<usize>().is_ok() => Value::Array(Vec::new()),
            Some(_) => Value::Object(serde_json::Map::new()),
        };
        at = match (at, token.parse::<usize>()) {
            (Value::Array(items), Ok(i)) => {
                if items.len() <= i {
                    items.resize(i + 1, next);
                }
                &mut items[i]
            }
            (Value::Object(map), _) => map.entry(token).or_insert(next),
            _ => return,
        };
    }
}

pub fn model_file(path: &Path) -> std::io::Result<ModelFile> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok(ModelFile {
        path: path.display().to_string(),
        bytes,
        sha256: hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    })
}

/// The command line with secrets replaced: values of flags that name a key,
/// token or password, and `--flag=value` forms of them.
pub fn redact(argv: &[String]) -> String {
    crate::redact::command(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> crate::redact::Secrets {
        let mut s = crate::redact::Secrets::default();
        s.add("sk-launch-0123");
        s
    }

    #[test]
    fn a_short_answer_is_kept_whole_and_scrubbed() {
        let props = serde_json::json!({
            "build_info": "b1-sk-launch-0123",
            "sk-launch-0123": [{"x": "Bearer abcdef"}],
            "total_slots": 4,
        });
        let got = kept(props, PROPS_FIELDS, &secrets());
        assert_eq!(
            got,
            serde_json::json!({
                "build_info": "b1-***",
                "***": [{"x": "Bearer ***"}],
                "total_slots": 4,
            })
        );
    }

    #[test]
    fn an_engine_says_its_name_and_version_from_openapi_and_its_version_command() {
        let openapi = serde_json::json!({
            "openapi": "3.1.0",
            "info": {"title": "🦙 llama.cpp Python API", "version": "0.3.36 sk-launch-0123"},
            "paths": {"/v1/completions": {}},
        });
        let f = Fingerprint {
            engine: engine_of(&openapi, &secrets()),
            version: Some("llama-cpp-python 0.3.36, bundling llama.cpp 0c1e570".into()),
            ..Fingerprint::default()
        };
        assert_eq!(
            f.engine,
            Some(serde_json::json!({"title": "🦙 llama.cpp Python API", "version": "0.3.36 ***"}))
        );
        assert_eq!(
            f.build().as_deref(),
            Some("🦙 llama.cpp Python API 0.3.36 ***; llama-cpp-python 0.3.36, bundling llama.cpp 0c1e570")
        );
        assert_eq!(engine_of(&serde_json::json!({"info": 3}), &secrets()), None);
        let llama = Fingerprint {
            props: Some(serde_json::json!({"build_info": "b6000-abc"})),
            ..Fingerprint::default()
        };
        assert_eq!(llama.build().as_deref(), Some("b6000-abc"));
        assert_eq!(Fingerprint::default().build(), None);
    }

    #[test]
    fn a_long_answer_keeps_the_fields_read_and_an_excerpt() {
        let props = serde_json::json!({
            "build_info": format!("b4242 {}", "y".repeat(1000)),
            "default_generation_settings": {"n_ctx": 4096, "other": "z".repeat(100_000)},
            "total_slots": 2,
            "chat_template": "sk-launch-0123 ".repeat(100_000),
        });
        let f = Fingerprint {
            props: Some(kept(props, PROPS_FIELDS, &secrets())),
            ..Fingerprint::default()
        };
        assert_eq!(f.slot_context(), Some((4096, 2)));
        let p = f.props.as_ref().unwrap();
        let build = p["build_info"].as_str().unwrap();
        assert!(build.starts_with("b4242 yyy") && build.chars().count() == 201);
        // Measured once scrubbed: 100 000 keys of 15 characters became `*** `.
        assert_eq!(
            p["infer_bench_cut"],
            "the answer was 501114 bytes; kept the fields infer-bench reads and its first 2000 characters"
        );
        assert_eq!(p["excerpt"].as_str().unwrap().chars().count(), 2001);
        let text = serde_json::to_string(&f).unwrap();
        assert!(text.len() < 3 * 1024, "{}", text.len());
        assert!(!text.contains("sk-launch"), "{text}");
    }

    #[test]
    fn a_cut_model_list_keeps_the_first_id() {
        let models: Vec<_> = (0..10_000)
            .map(|i| serde_json::json!({"id": format!("model-{i}"), "object": "model"}))
            .collect();
        let got = kept(
            serde_json::json!({"object": "list", "data": models}),
            MODELS_FIELDS,
            &secrets(),
        );
        assert_eq!(got.pointer("/data/0/id").unwrap(), "model-0");
        assert_eq!(got["data"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn secrets_are_redacted() {
        let argv: Vec<String> = [
            "llama-server",
            "-m",
            "a b.gguf",
            "--api-key",
            "s3cret",
            "--hf-token=xyz",
            "--port",
            "80",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            redact(&argv),
            "llama-server -m 'a b.gguf' --api-key '<redacted>' '--hf-token=<redacted>' --port 80"
        );
    }
}
