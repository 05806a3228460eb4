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
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ModelFile {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

impl Fingerprint {
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
