//! Records → polars DataFrame, the shape of `requests.parquet`.

use super::Record;
use crate::level::Level;
use crate::plan::Configuration;
pub use crate::record::RECORD_COLUMNS;
use polars::prelude::*;

pub fn requests_frame(records: &[Record], configs: &[Configuration]) -> PolarsResult<DataFrame> {
    requests_columns(records, configs, |_| true)
}

/// The columns of `requests.parquet` that `keep` names, in its order, each
/// built only if kept (the gap lists are most of the cost).
pub fn requests_columns(
    records: &[Record],
    configs: &[Configuration],
    keep: impl Fn(&str) -> bool,
) -> PolarsResult<DataFrame> {
    // Each configuration's label, factor and level, rendered once.
    let names: Vec<(String, String, String)> = configs
        .iter()
        .map(|c| {
            (
                c.label.clone(),
                c.factor_label().to_string(),
                c.level
                    .as_ref()
                    .map_or_else(|| "baseline".into(), ToString::to_string),
            )
        })
        .collect();
    let named = |f: fn(&(String, String, String)) -> &str| -> Vec<&str> {
        records
            .iter()
            .map(|r| names.get(r.config).map_or("", f))
            .collect()
    };
    let col_u64 = |name: &str, f: &dyn Fn(&Record) -> Option<u64>| {
        keep(name).then(|| Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>()))
    };
    let col_f64 = |name: &str, f: &dyn Fn(&Record) -> Option<f64>| {
        keep(name).then(|| Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>()))
    };
    let col_str = |name: &str, f: &dyn Fn(&Record) -> Option<String>| {
        keep(name).then(|| Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>()))
    };
    let col_bool = |name: &str, f: &dyn Fn(&Record) -> Option<bool>| {
        keep(name).then(|| Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>()))
    };
    let itl = || -> Column {
        let lists: ListChunked = records
            .iter()
            .map(|r| Some(Series::new(PlSmallStr::EMPTY, &r.itl_ms)))
            .collect();
        lists.into_series().with_name("itl_ms".into()).into_column()
    };

    let mut columns = vec![
        col_u64("trial", &|r| Some(r.trial as u64)),
        keep("config").then(|| Column::new("config".into(), named(|n| &n.0))),
        keep("factor").then(|| Column::new("factor".into(), named(|n| &n.1))),
        keep("level").then(|| Column::new("level".into(), named(|n| &n.2))),
        col_u64("repetition", &|r| Some(u64::from(r.repetition))),
    ];
    columns.extend(
        factor_columns(records, configs)
            .into_iter()
            .map(|c| keep(c.name()).then_some(c)),
    );
    columns.extend([
        col_u64("request", &|r| Some(r.request as u64)),
        col_f64("sent_s", &|r| Some(r.sent_s)),
        col_f64("scheduled_s", &|r| r.scheduled_s),
        col_f64("queue_ms", &|r| r.queue_ms),
        col_f64("wait_ms", &|r| r.wait_ms),
        col_f64("ttft_ms", &|r| r.ttft_ms),
        col_f64("e2e_ms", &|r| Some(r.e2e_ms)),
        col_f64("tpot_ms", &|r| r.tpot_ms),
        keep("itl_ms").then(itl),
        col_u64("prompt_tokens", &|r| r.prompt_tokens),
        col_u64("completion_tokens", &|r| r.completion_tokens),
        col_u64("requested_input_tokens", &|r| r.requested_input_tokens),
        col_u64("requested_output_tokens", &|r| r.requested_output_tokens),
        col_str("tokens_source", &|r| {
            Some(match r.tokens_source {
                crate::record::TokensSource::Usage => "usage".into(),
                crate::record::TokensSource::Events => "events".into(),
            })
        }),
        col_bool("ok", &|r| Some(r.ok)),
        col_u64("http_status", &|r| r.http_status.map(u64::from)),
        col_str("error", &|r| r.error.clone()),
        col_str("finish_reason", &|r| r.finish_reason.clone()),
        col_f64("server_prompt_ms", &|r| r.server_prompt_ms),
        col_f64("server_decode_ms", &|r| r.server_decode_ms),
        col_u64("cached_tokens", &|r| r.cached_tokens),
        col_f64("connect_ms", &|r| r.connect_ms),
        col_bool("reused", &|r| r.reused),
        col_bool("retried", &|r| Some(r.retried)),
        col_str("warnings", &|r| {
            (!r.warnings.is_empty()).then(|| r.warnings.join("; "))
        }),
        col_f64("first_reasoning_ms", &|r| r.first_reasoning_ms),
        col_f64("first_answer_ms", &|r| r.first_answer_ms),
        col_u64("reasoning_tokens", &|r| r.reasoning_tokens),
        col_u64("session", &|r| r.session),
        col_u64("turn", &|r| r.turn.map(u64::from)),
    ]);
    DataFrame::new(records.len(), columns.into_iter().flatten().collect())
}

/// One column per factor (and baseline constant) with each request's value.
fn factor_columns(records: &[Record], configs: &[Configuration]) -> Vec<Column> {
    let rows: Vec<usize> = records.iter().map(|r| r.config).collect();
    level_columns(&rows, configs, |name| name.to_string())
}

/// One column per factor (and baseline constant) with the value of each
/// row's configuration (`rows` holds configuration indexes), named by
/// `name`: integers stay integers, numbers become floats, anything else text.
pub fn level_columns(
    rows: &[usize],
    configs: &[Configuration],
    name: impl Fn(&str) -> String,
) -> Vec<Column> {
    let Some(first) = configs.first() else {
        return Vec::new();
    };
    let value = |i: usize, factor: &str| configs.get(i).and_then(|c| c.values.get(factor)).cloned();
    first
        .values
        .keys()
        .map(|factor| {
            let levels: Vec<Option<Level>> = rows.iter().map(|&i| value(i, factor)).collect();
            let name = name(factor);
            // The type is the factor's, not the rows': a chunk of one
            // configuration's requests gets the same columns as the whole.
            let all =
                |p: fn(&Level) -> bool| configs.iter().filter_map(|c| c.values.get(factor)).all(p);
            if all(|l| matches!(l, Level::Int(_))) {
                let v: Vec<Option<i64>> = levels
                    .iter()
                    .map(|l| match l {
                        Some(Level::Int(i)) => Some(*i),
                        _ => None,
                    })
                    .collect();
                Column::new(name.as_str().into(), v)
            } else if all(|l| l.as_f64().is_some()) {
                let v: Vec<Option<f64>> = levels
                    .iter()
                    .map(|l| l.as_ref().and_then(Level::as_f64))
                    .collect();
                Column::new(name.as_str().into(), v)
            } else {
                let v: Vec<Option<String>> = levels
                    .iter()
                    .map(|l| l.as_ref().map(ToString::to_string))
                    .collect();
                Column::new(name.as_str().into(), v)
            }
        })
        .collect()
}
