//! Counting tokens as the target server does: its `/tokenize` endpoint
//! (llama.cpp, vLLM) and, for chat, its chat template. What fills prompts
//! to an exact `input_tokens`.

use super::wire::{GenRequest, TokenizeResponse};
use super::Client;
use crate::prompts::TokenCounter;
use crate::side_request::{self, Bounds};
use anyhow::Context as _;

/// Most bytes of a `/tokenize` or `/apply-template` answer read: the ids of
/// 4 M tokens at 16 bytes each (`1234567, ` or with pieces), past any
/// model's context.
const TOKENS_ANSWER_CAP: usize = 64 << 20;

impl Client {
    /// Tokens in `text` as the server counts them (special tokens included,
    /// as in a completion's `usage.prompt_tokens`).
    pub async fn count_tokens(&self, text: &str) -> anyhow::Result<usize> {
        let body = serde_json::json!({
            "content": text,          // llama.cpp
            "add_special": true,      // llama.cpp: count BOS as usage does
            "prompt": text,           // vLLM
            "input": text,            // llama-cpp-python (/extras/tokenize/count)
            "model": self.config.model,
        });
        let url = &self.tokenize_url;
        let request = self.http.post(url).json(&body);
        let answer = side_request::send(request, "POST", url, self.side_bounds()).await?;
        anyhow::ensure!(
            answer.ok(),
            "POST {} answered HTTP {}: exact input_tokens needs the server's tokenize endpoint (target.tokenize)",
            crate::redact::url(url),
            answer.status
        );
        let answer: TokenizeResponse =
            serde_json::from_slice(&answer.body).context("reading the tokenize answer")?;
        answer
            .count
            .or(answer.tokens.map(|t| t.len()))
            .context("tokenize answer has neither 'tokens' nor 'count'")
    }

    /// A tokenize or template answer: the target's own timeout (a server
    /// that never answers fails the run's preparation, not hangs it).
    fn side_bounds(&self) -> Bounds {
        Bounds {
            timeout: self.config.timeout,
            cap: TOKENS_ANSWER_CAP,
        }
    }
}

impl TokenCounter for Client {
    async fn count(&self, text: &str) -> anyhow::Result<usize> {
        self.count_tokens(text).await
    }
}

/// Counts a chat conversation (optional system message + one user message)
/// as the server will: rendered through its chat template
/// (`POST /apply-template`, llama.cpp) and tokenized. Servers without that
/// endpoint get the messages' contents counted and summed, which is exact
/// where the template adds no tokens (the built-in sim) and an undercount
/// elsewhere.
pub struct ChatCounter<'a> {
    pub client: &'a Client,
    pub system: Option<&'a str>,
    /// Whether the server has `/apply-template`: unknown until first asked.
    pub templated: std::sync::OnceLock<bool>,
}

impl ChatCounter<'_> {
    async fn apply_template(&self, user: &str) -> anyhow::Result<Option<String>> {
        if self.templated.get() == Some(&false) {
            return Ok(None);
        }
        let body = serde_json::json!({
            "messages": GenRequest::messages(self.system, &[], user),
        });
        let url = self.client.at_root("/apply-template");
        let request = self.client.http.post(&url).json(&body);
        let bounds = self.client.side_bounds();
        let answer = side_request::send(request, "POST", &url, bounds).await?;
        if !answer.ok() {
            let _ = self.templated.set(false);
            return Ok(None);
        }
        let _ = self.templated.set(true);
        let v: serde_json::Value =
            serde_json::from_slice(&answer.body).context("reading the apply-template answer")?;
        Ok(v.get("prompt").and_then(|p| p.as_str()).map(str::to_string))
    }
}

impl TokenCounter for ChatCounter<'_> {
    async fn count(&self, text: &str) -> anyhow::Result<usize> {
        match self.apply_template(text).await? {
            Some(rendered) => self.client.count_tokens(&rendered).await,
            None => {
                let system = match self.system {
                    Some(s) => self.client.count_tokens(s).await?,
                    None => 0,
                };
                Ok(system + self.client.count_tokens(text).await?)
            }
        }
    }
}
