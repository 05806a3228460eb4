//! One request's record: a line of `requests.jsonl`, a row of
//! `requests.parquet`. A leaf: the load generator makes records, results
//! keep them, the analysis reads them, and none of them owns the type.
//!
//! A field is declared once, in `request_fields!`'s list below: the
//! struct, its Parquet column ([`FIELDS`]), the table's column names
//! ([`RECORD_COLUMNS`]) and the columns the analysis reads ([`ANALYSED`])
//! all come from that one entry.

use serde::{Deserialize, Serialize};

mod fields;
mod status;

pub use fields::{Column, Field};
pub use status::RequestStatus;

/// Where the output token count came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokensSource {
    /// The server's `usage.completion_tokens`.
    Usage,
    /// No usage in the stream: the number of content events.
    Events,
}

/// A registry entry ([`Field`]) from a field's column spec: `none`,
/// `column(COLUMN)` or `analysed(COLUMN)`, either with a column name first
/// where it is not the field's.
macro_rules! field_entry {
    ($field:ident, none) => {
        Field {
            name: stringify!($field),
            column: Column::None,
            analysed: false,
        }
    };
    ($field:ident, column($name:literal, $column:expr)) => {
        Field {
            name: $name,
            column: $column,
            analysed: false,
        }
    };
    ($field:ident, analysed($name:literal, $column:expr)) => {
        Field {
            name: $name,
            column: $column,
            analysed: true,
        }
    };
    ($field:ident, column($column:expr)) => {
        Field {
            name: stringify!($field),
            column: $column,
            analysed: false,
        }
    };
    ($field:ident, analysed($column:expr)) => {
        Field {
            name: stringify!($field),
            column: $column,
            analysed: true,
        }
    };
}

/// The one list of a record's fields: each with its doc and serde
/// attributes, its type, and its column spec (see `field_entry!`); then
/// the columns derived from the fields, which the table puts last.
/// Gives [`Record`] and [`FIELDS`] (and through them [`RECORD_COLUMNS`] and
/// [`ANALYSED`]).
macro_rules! request_fields {
    (
        $(
            $(#[$attr:meta])*
            $field:ident : $ty:ty => $kind:ident $(($($spec:tt)*))?,
        )*
        @derived {
            $( $column:ident => $dkind:ident ($($dspec:tt)*), )*
        }
    ) => {
        /// One request: a line of `requests.jsonl`, a row of `requests.parquet`.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct Record {
            $( $(#[$attr])* pub $field: $ty, )*
        }

        /// Every field of [`Record`] in order, with its column of
        /// `requests.parquet`, then the derived columns.
        pub const FIELDS: &[Field] = &[
            $( field_entry!($field, $kind $(($($spec)*))?), )*
            $( field_entry!($column, $dkind($($dspec)*)), )*
        ];
    };
}

request_fields! {
    /// Execution index of the trial.
    trial: usize => analysed(Column::U64(|r| Some(r.trial as u64))),
    /// Index of the configuration in the plan (its label in the table).
    config: usize => analysed(Column::Configuration),
    repetition: u32 => analysed(Column::Repetition),
    /// Request index within the trial.
    request: usize => column(Column::U64(|r| Some(r.request as u64))),
    /// Send time, seconds since the trial's measurement began.
    sent_s: f64 => analysed(Column::F64(|r| Some(r.sent_s))),
    /// Open loop: when the schedule said to send, seconds since the trial's
    /// measurement began; none in a closed loop.
    #[serde(default)]
    scheduled_s: Option<f64> => analysed(Column::F64(|r| r.scheduled_s)),
    /// Open loop: sent minus scheduled, the client's whole lateness (its own
    /// send lag plus any wait for a `max_in_flight` slot).
    queue_ms: Option<f64> => analysed(Column::F64(|r| r.queue_ms)),
    /// Open loop with `max_in_flight`: time spent waiting for a slot.
    #[serde(default)]
    wait_ms: Option<f64> => analysed(Column::F64(|r| r.wait_ms)),
    ttft_ms: Option<f64> => analysed(Column::F64(|r| r.ttft_ms)),
    e2e_ms: f64 => analysed(Column::F64(|r| Some(r.e2e_ms))),
    /// (E2E − TTFT) / (completion_tokens − 1); none with fewer than 2 tokens.
    tpot_ms: Option<f64> => analysed(Column::F64(|r| r.tpot_ms)),
    itl_ms: Vec<f64> => column(Column::F64s(|r| &r.itl_ms[..])),
    prompt_tokens: Option<u64> => analysed(Column::U64(|r| r.prompt_tokens)),
    completion_tokens: Option<u64> => analysed(Column::U64(|r| r.completion_tokens)),
    requested_input_tokens: Option<u64> =>
        analysed(Column::U64(|r| r.requested_input_tokens)),
    requested_output_tokens: Option<u64> =>
        analysed(Column::U64(|r| r.requested_output_tokens)),
    tokens_source: TokensSource => column(Column::Name(|r| match r.tokens_source {
        TokensSource::Usage => "usage",
        TokensSource::Events => "events",
    })),
    /// How the request ended. Lines from before statuses carry `ok` (a
    /// bool) instead, read back by [`Record::from_json_line`]; the table
    /// keeps `ok` here and the status last.
    #[serde(alias = "ok", deserialize_with = "status::read")]
    status: RequestStatus => analysed("ok", Column::Bool(|r| Some(r.status.is_ok()))),
    http_status: Option<u16> => column(Column::U64(|r| r.http_status.map(u64::from))),
    /// Why a request did not end `ok`, in words.
    error: Option<String> => column(Column::Text(|r| r.error.clone())),
    finish_reason: Option<String> => column(Column::Text(|r| r.finish_reason.clone())),
    /// The server's own timings where it reports them (llama.cpp), which
    /// split TTFT into queueing + prefill + network.
    #[serde(default)]
    server_prompt_ms: Option<f64> => analysed(Column::F64(|r| r.server_prompt_ms)),
    #[serde(default)]
    server_decode_ms: Option<f64> => column(Column::F64(|r| r.server_decode_ms)),
    #[serde(default)]
    cached_tokens: Option<u64> => analysed(Column::U64(|r| r.cached_tokens)),
    /// Prompts in the request (`batch_size`); absent for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_size: Option<u32> => none,
    /// A batch's output per choice, counted in content events (the server's
    /// usage gives only the total).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    choice_tokens: Vec<u64> => none,
    /// The response's `id`: the request's name in the server's own logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    response_id: Option<String> => none,
    /// Time to open the connection (inside TTFT); none on a kept-alive one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    connect_ms: Option<f64> => column(Column::F64(|r| r.connect_ms)),
    /// Sent on a kept-alive connection; none where the transport does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reused: Option<bool> => column(Column::Bool(|r| r.reused)),
    /// Sent again on a new connection after a kept one was found closed
    /// before any byte of a response (see the README's reliability section).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    retried: bool => analysed(Column::Bool(|r| Some(r.retried))),
    /// What the server sent that is kept but not believed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String> => column(Column::Text(|r| {
        (!r.warnings.is_empty()).then(|| r.warnings.join("; "))
    })),
    /// Reasoning models: to the first reasoning event and to the first
    /// answer event (TTFT is the earlier), and the reasoning's tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_reasoning_ms: Option<f64> => column(Column::F64(|r| r.first_reasoning_ms)),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    first_answer_ms: Option<f64> => column(Column::F64(|r| r.first_answer_ms)),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reasoning_tokens: Option<u64> => column(Column::U64(|r| r.reasoning_tokens)),
    /// Multi-turn sessions: the conversation (from 0 in its trial) and the
    /// turn within it (from 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<u64> => column(Column::U64(|r| r.session)),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    turn: Option<u32> => column(Column::U64(|r| r.turn.map(u64::from))),
    @derived {
        // Last: a column added after the table's first users.
        status => analysed(Column::Name(|r| r.status.as_str())),
    }
}

/// Column names of the request table (`requests.parquet`) in its order,
/// factor columns aside (they follow `repetition`); factors may not take them.
pub const RECORD_COLUMNS: &[&str] = &RECORD_COLUMN_NAMES;
const RECORD_COLUMN_NAMES: [&str; fields::count(false)] = fields::names(false);

/// The request columns the per-trial analysis reads (the streamed report
/// builds only these of each chunk).
pub const ANALYSED: &[&str] = &ANALYSED_NAMES;
const ANALYSED_NAMES: [&str; fields::count(true)] = fields::names(true);

impl Record {
    /// Whether the request was answered in full.
    pub fn ok(&self) -> bool {
        self.status.is_ok()
    }

    /// The record of one `requests.jsonl` line, of this version or an
    /// earlier one: every journal is read through here.
    pub fn from_json_line(line: &[u8]) -> serde_json::Result<Record> {
        let mut r: Record = serde_json::from_slice(line)?;
        r.status = r.status.refined_by_legacy_reason(r.error.as_deref());
        Ok(r)
    }
}

/// Where a request sits in the plan, and what it asked for.
#[derive(Debug, Clone, Copy)]
pub struct RequestSlot {
    pub trial: usize,
    pub config: usize,
    pub repetition: u32,
    pub request: usize,
    /// For the whole request: a batch asks for its prompts' tokens together.
    pub requested_input_tokens: Option<u64>,
    pub requested_output_tokens: Option<u64>,
    /// Prompts in the request.
    pub batch: usize,
    pub session: Option<u64>,
    pub turn: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal written before statuses (`"ok": bool`, the reason in
    /// words), kept as a fixture.
    const OLD_JOURNAL: &[u8] = include_bytes!("../tests/fixtures/run-before-status/requests.jsonl");

    #[test]
    fn an_old_journal_reads_back_with_statuses_told_from_its_reasons() {
        let records: Vec<Record> = OLD_JOURNAL
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| Record::from_json_line(l).unwrap())
            .collect();
        let count = |s: RequestStatus| records.iter().filter(|r| r.status == s).count();
        let reasons = |s: RequestStatus| {
            let mut v: Vec<&str> = records
                .iter()
                .filter(|r| r.status == s)
                .filter_map(|r| r.error.as_deref())
                .collect();
            v.dedup();
            v
        };
        assert_eq!(records.len(), 31);
        assert_eq!(count(RequestStatus::Cancelled), 4);
        assert_eq!(
            reasons(RequestStatus::Cancelled),
            ["cancelled: the trial's duration ended"]
        );
        assert_eq!(count(RequestStatus::Unsent), 6);
        assert!(reasons(RequestStatus::Failed)
            .iter()
            .all(|e| e.starts_with("HTTP 500")));
        assert_eq!(
            count(RequestStatus::Ok),
            31 - 4 - 6 - count(RequestStatus::Failed)
        );
        assert!(records
            .iter()
            .all(|r| r.ok() == (r.status == RequestStatus::Ok)));
    }

    #[test]
    fn a_line_of_today_carries_its_status_and_reads_back_the_same() {
        let line = std::str::from_utf8(OLD_JOURNAL)
            .unwrap()
            .lines()
            .find(|l| l.contains("cancelled: the trial"))
            .unwrap();
        let mut r = Record::from_json_line(line.as_bytes()).unwrap();
        // The status, not the words, says what happened.
        r.error = Some("stopped at the end".into());
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with("{\"trial\":"), "{text}");
        assert!(text.contains("\"status\":\"cancelled\""), "{text}");
        assert!(!text.contains("\"ok\""), "{text}");
        assert_eq!(Record::from_json_line(text.as_bytes()).unwrap(), r);
        // The words of an old reason on a line of today change nothing.
        let failed = text
            .replace("\"cancelled\"", "\"failed\"")
            .replace("stopped at the end", "a server's own words");
        let back = Record::from_json_line(failed.as_bytes()).unwrap();
        assert_eq!(back.status, RequestStatus::Failed);
        let bad = text.replace("\"cancelled\"", "\"lost\"");
        let err = Record::from_json_line(bad.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("unknown variant `lost`"), "{err}");
    }

    #[test]
    fn the_registry_lists_every_field_once_and_its_columns_in_order() {
        let mut names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(names.len(), before, "a name twice in the registry");
        assert_eq!(RECORD_COLUMNS.last(), Some(&"status"));
        assert!(ANALYSED.iter().all(|c| RECORD_COLUMNS.contains(c)));
        assert!(!RECORD_COLUMNS.contains(&"batch_size"));
    }
}
