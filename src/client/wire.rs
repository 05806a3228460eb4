//! The OpenAI-compatible wire format: request bodies and streamed chunks.

use serde::Deserialize;
use serde_json::{json, Map, Value};

/// One generation request, as the load generator asks for it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenRequest {
    pub model: String,
    pub prompt: String,
    /// Further prompts of a batch (`batch_size` > 1): sent with `prompt` as
    /// one list, answered as one choice each.
    pub batch: Vec<String>,
    /// System message (chat only).
    pub system: Option<String>,
    pub max_tokens: Option<u64>,
    /// Ask for exactly `max_tokens` (`ignore_eos`, `min_tokens`).
    pub exact_output: bool,
    /// Extra body fields (temperature, ...), already rendered.
    pub params: Map<String, Value>,
    /// Chat: the conversation before `prompt` (a session's earlier turns,
    /// a dataset's messages), after `system`.
    pub history: Vec<crate::workload::Message>,
    /// Headers of this request alone (a session's id).
    pub headers: Vec<(String, String)>,
    /// Keep the generated text (a session's next turn sends it back).
    pub keep_text: bool,
    /// What the request asks for, in tokens, as its record states it.
    pub requested_input_tokens: Option<u64>,
    pub requested_output_tokens: Option<u64>,
}

impl GenRequest {
    pub fn completions_body(&self) -> Value {
        let mut body = self.common();
        if self.batch.is_empty() {
            body.insert("prompt".into(), json!(self.prompt));
        } else {
            let mut all = vec![self.prompt.clone()];
            all.extend(self.batch.iter().cloned());
            body.insert("prompt".into(), json!(all));
        }
        Value::Object(body)
    }

    pub fn chat_body(&self) -> Value {
        let mut body = self.common();
        body.insert(
            "messages".into(),
            Self::messages(self.system.as_deref(), &self.history, &self.prompt),
        );
        Value::Object(body)
    }

    /// The conversation sent to a chat endpoint: the system message, the
    /// earlier turns, then the user's prompt.
    pub fn messages(
        system: Option<&str>,
        history: &[crate::workload::Message],
        user: &str,
    ) -> Value {
        let mut messages = Vec::with_capacity(history.len() + 2);
        if let Some(system) = system {
            messages.push(json!({"role": "system", "content": system}));
        }
        for m in history {
            messages.push(json!({"role": m.role.as_str(), "content": m.content}));
        }
        messages.push(json!({"role": "user", "content": user}));
        Value::Array(messages)
    }

    fn common(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert("stream".into(), json!(true));
        // Without this, OpenAI-style servers send no token counts when streaming.
        body.insert("stream_options".into(), json!({"include_usage": true}));
        if let Some(n) = self.max_tokens {
            body.insert("max_tokens".into(), json!(n));
            if self.exact_output {
                // llama.cpp and vLLM honour ignore_eos; vLLM also min_tokens.
                body.insert("ignore_eos".into(), json!(true));
                body.insert("min_tokens".into(), json!(n));
            }
        }
        for (k, v) in &self.params {
            body.insert(k.clone(), v.clone());
        }
        body
    }
}

/// One streamed chunk (completions or chat); unknown fields are ignored.
#[derive(Debug, Deserialize)]
pub struct Chunk {
    #[serde(default)]
    pub choices: Vec<Choice>,
    #[serde(default)]
    pub usage: Option<Usage>,
    #[serde(default)]
    pub error: Option<ErrorBody>,
    /// llama.cpp's own timings, in the last chunk.
    #[serde(default)]
    pub timings: Option<ServerTimings>,
}

/// The `id` of a chunk (read once per request, not on every chunk).
pub fn response_id(data: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        #[serde(default)]
        id: Option<String>,
    }
    serde_json::from_str::<IdOnly>(data).ok()?.id
}

/// llama.cpp's per-request timings: prompt evaluation and decoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
pub struct ServerTimings {
    #[serde(default)]
    pub prompt_ms: Option<f64>,
    #[serde(default)]
    pub predicted_ms: Option<f64>,
    #[serde(default)]
    pub cache_n: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct Choice {
    /// Which prompt of a batch this answers (0 without a batch).
    #[serde(default)]
    pub index: usize,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    /// Reasoning models' thinking: `reasoning_content` (llama.cpp,
    /// DeepSeek, older vLLM) or `reasoning` (newer vLLM, some gateways,
    /// which may send both).
    #[serde(default)]
    pub reasoning_content: Option<String>,
    #[serde(default)]
    pub reasoning: Option<String>,
}

impl Delta {
    pub fn has_reasoning(&self) -> bool {
        [&self.reasoning_content, &self.reasoning]
            .iter()
            .any(|s| s.as_deref().is_some_and(|t| !t.is_empty()))
    }

    pub fn has_answer(&self) -> bool {
        self.content.as_deref().is_some_and(|t| !t.is_empty())
    }
}

#[derive(Debug, Deserialize)]
pub struct Usage {
    #[serde(default)]
    pub prompt_tokens: Option<u64>,
    #[serde(default)]
    pub completion_tokens: Option<u64>,
    #[serde(default)]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    #[serde(default)]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
}

#[derive(Debug, Deserialize)]
pub struct CompletionTokensDetails {
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
}

#[derive(Debug, Deserialize)]
pub struct PromptTokensDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
}

/// `{"error": "text"}` or `{"error": {"message": "text", ...}}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum ErrorBody {
    Text(String),
    Object {
        #[serde(default)]
        message: Option<String>,
    },
}

impl ErrorBody {
    pub fn message(&self) -> String {
        match self {
            ErrorBody::Text(t) => t.clone(),
            ErrorBody::Object { message } => message
                .clone()
                .unwrap_or_else(|| "unspecified error".into()),
        }
    }
}

impl Choice {
    /// The choice carries generated text (reasoning counts: it is generated).
    pub fn has_content(&self) -> bool {
        let nonempty = |s: &Option<String>| s.as_deref().is_some_and(|t| !t.is_empty());
        nonempty(&self.text)
            || self
                .delta
                .as_ref()
                .is_some_and(|d| d.has_answer() || d.has_reasoning())
    }
}

/// A tokenize answer: llama.cpp gives `tokens`, vLLM `tokens` and `count`.
#[derive(Debug, Deserialize)]
pub struct TokenizeResponse {
    #[serde(default)]
    pub tokens: Option<Vec<Value>>,
    #[serde(default)]
    pub count: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_of_both_apis_and_errors_parse() {
        let c: Chunk =
            serde_json::from_str(r#"{"choices":[{"text":"hi","index":0,"finish_reason":null}]}"#)
                .unwrap();
        assert!(c.choices[0].has_content());
        let c: Chunk =
            serde_json::from_str(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#).unwrap();
        assert!(!c.choices[0].has_content());
        let c: Chunk = serde_json::from_str(
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}}"#,
        )
        .unwrap();
        assert_eq!(c.usage.unwrap().completion_tokens, Some(7));
        let c: Chunk = serde_json::from_str(r#"{"error":{"message":"boom","code":500}}"#).unwrap();
        assert_eq!(c.error.unwrap().message(), "boom");
    }

    #[test]
    fn exact_output_asks_for_ignore_eos() {
        let r = GenRequest {
            model: "m".into(),
            prompt: "p".into(),
            batch: Vec::new(),
            system: Some("s".into()),
            max_tokens: Some(9),
            exact_output: true,
            params: Map::new(),
            ..GenRequest::default()
        };
        let b = r.chat_body();
        assert_eq!(b["ignore_eos"], json!(true));
        assert_eq!(b["messages"][0]["role"], json!("system"));
        assert_eq!(b["stream_options"]["include_usage"], json!(true));
    }
}
