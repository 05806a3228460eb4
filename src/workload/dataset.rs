//! Prompt datasets: ShareGPT JSON, JSONL (`prompt` or `messages`), CSV.
//! Read whole when the experiment loads, so a bad row stops the run before
//! it starts, with the file and the line.

use super::csv;
use super::spec::Format;
use crate::error::InputError;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// One usable entry: what to send, and what the dataset says of the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// Messages before the prompt (a JSONL `messages` history); empty for
    /// a single prompt.
    pub history: Vec<Message>,
    /// The (last) user message.
    pub prompt: String,
    /// The dataset's own reply (ShareGPT), whose token count is the output
    /// length with `output_tokens: from_dataset`.
    pub reply: Option<String>,
    /// The output length the dataset gives (JSONL `output_tokens`).
    pub output_tokens: Option<u64>,
}

/// A dataset read: its usable entries and how many were skipped (a ShareGPT
/// conversation without a human turn).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub entries: Vec<Entry>,
    pub skipped: usize,
}

pub fn read(path: &Path, format: Format, column: Option<&str>) -> Result<Dataset, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read dataset: {e}")))?;
    let at = |line: usize, msg: String| InputError::in_file(path, msg).at(Some((line, 1)));
    let dataset = match format {
        Format::Sharegpt => sharegpt(&text).map_err(|e| {
            InputError::in_file(path, format!("not a ShareGPT dataset: {e}"))
                .at(Some((e.line(), e.column())))
        })?,
        Format::Jsonl => jsonl(&text).map_err(|(line, e)| e.or_in(path, Some((line, 1))))?,
        Format::Csv => csv_prompts(&text, column.unwrap_or("prompt")).map_err(|(l, m)| at(l, m))?,
        Format::Azure | Format::Mooncake => {
            return Err(InputError::in_file(
                path,
                "a trace format for a dataset: use `trace:` for azure and mooncake files",
            ))
        }
    };
    if dataset.entries.is_empty() {
        return Err(InputError::in_file(
            path,
            format!(
                "no usable prompts ({} entries skipped), expected at least one",
                dataset.skipped
            ),
        ));
    }
    Ok(dataset)
}

fn sharegpt(text: &str) -> Result<Dataset, serde_json::Error> {
    #[derive(Deserialize)]
    struct Conversation {
        conversations: Vec<Turn>,
    }
    #[derive(Deserialize)]
    struct Turn {
        from: String,
        value: String,
    }
    let all: Vec<Conversation> = serde_json::from_str(text)?;
    let mut entries = Vec::new();
    let mut skipped = 0;
    for c in all {
        let turns = &c.conversations;
        // The first human turn is the prompt; the turn after it the reply.
        match turns
            .iter()
            .position(|t| t.from == "human" || t.from == "user")
        {
            Some(i) if !turns[i].value.is_empty() => entries.push(Entry {
                history: Vec::new(),
                prompt: turns[i].value.clone(),
                reply: turns.get(i + 1).map(|t| t.value.clone()),
                output_tokens: None,
            }),
            _ => skipped += 1,
        }
    }
    Ok(Dataset { entries, skipped })
}

/// Faults at a line: a message, or a limit's rule (kept for the caller).
fn jsonl(text: &str) -> Result<Dataset, (usize, InputError)> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        #[serde(default)]
        prompt: Option<String>,
        #[serde(default)]
        messages: Option<Vec<Message>>,
        #[serde(default)]
        output_tokens: Option<u64>,
    }
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let l: Line = serde_json::from_str(line).map_err(|e| {
            (
                n,
                InputError::new(format!(
                    "{e}; expected {{\"prompt\": ...}} or {{\"messages\": [...]}}"
                )),
            )
        })?;
        let entry = match (l.prompt, l.messages) {
            (Some(prompt), None) => Entry {
                history: Vec::new(),
                prompt,
                reply: None,
                output_tokens: l.output_tokens,
            },
            (None, Some(mut messages)) => {
                match messages.pop() {
                    Some(Message {
                        role: Role::User,
                        content,
                    }) => Entry {
                        history: messages,
                        prompt: content,
                        reply: None,
                        output_tokens: l.output_tokens,
                    },
                    _ => return Err((n, InputError::new("the last message is not the user's: expected a conversation that ends with a user message"))),
                }
            }
            (Some(_), Some(_)) => return Err((n, InputError::new("both 'prompt' and 'messages', expected one"))),
            (None, None) => return Err((n, InputError::new("neither 'prompt' nor 'messages'"))),
        };
        if entry.output_tokens == Some(0) {
            return Err((n, InputError::new("output_tokens is 0, expected 1 or more")));
        }
        if let Some(t) = entry.output_tokens {
            crate::limits::tokens("output_tokens", t).map_err(|r| (n, r.into()))?;
        }
        entries.push(entry);
    }
    Ok(Dataset {
        entries,
        skipped: 0,
    })
}

fn csv_prompts(text: &str, column: &str) -> Result<Dataset, (usize, String)> {
    let rows = csv::rows(text)?;
    let Some((header, rows)) = rows.split_first() else {
        return Err((1, "empty file, expected a header row".into()));
    };
    let index = header
        .fields
        .iter()
        .position(|f| f.trim() == column)
        .ok_or_else(|| {
            (
                header.line,
                format!(
                    "no column '{column}' in the header ({}); set `column:`",
                    header.fields.join(", ")
                ),
            )
        })?;
    let mut entries = Vec::new();
    for row in rows {
        let prompt = row.fields.get(index).ok_or_else(|| {
            (
                row.line,
                format!(
                    "{} fields, expected {} (the header's)",
                    row.fields.len(),
                    header.fields.len()
                ),
            )
        })?;
        if prompt.is_empty() {
            return Err((row.line, format!("empty '{column}'")));
        }
        entries.push(Entry {
            history: Vec::new(),
            prompt: prompt.clone(),
            reply: None,
            output_tokens: None,
        });
    }
    Ok(Dataset {
        entries,
        skipped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharegpt_takes_the_first_human_turn_and_its_reply() {
        let d = sharegpt(
            r#"[{"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello there"}]},
                {"conversations":[{"from":"gpt","value":"orphan"}]}]"#,
        )
        .unwrap();
        assert_eq!(d.entries.len(), 1);
        assert_eq!(d.skipped, 1);
        assert_eq!(d.entries[0].reply.as_deref(), Some("hello there"));
    }

    #[test]
    fn jsonl_faults_name_their_line() {
        let ok = jsonl("{\"prompt\":\"a\",\"output_tokens\":5}\n\n{\"messages\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"q\"}]}\n").unwrap();
        assert_eq!(ok.entries.len(), 2);
        assert_eq!(ok.entries[1].history.len(), 1);
        assert_eq!(ok.entries[1].prompt, "q");
        let (line, m) = jsonl("{\"prompt\":\"a\"}\n{\"promt\":\"b\"}\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(m.message.contains("promt"), "{m}");
        let (line, m) = jsonl("{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":\"a\"}]}").unwrap_err();
        assert_eq!(line, 1);
        assert!(m.message.contains("last message"), "{m}");
    }

    #[test]
    fn csv_needs_its_column() {
        let d = csv_prompts("id,prompt\n1,\"Hello, world\"\n2,Bye\n", "prompt").unwrap();
        assert_eq!(d.entries[0].prompt, "Hello, world");
        let (line, m) = csv_prompts("id,text\n1,a\n", "prompt").unwrap_err();
        assert_eq!(line, 1);
        assert!(m.contains("no column 'prompt'"), "{m}");
        let (line, _) = csv_prompts("id,prompt\n1\n", "prompt").unwrap_err();
        assert_eq!(line, 2);
    }
}
