//! Records → polars DataFrame, the shape of `requests.parquet`.

use super::Record;
use crate::level::Level;
use crate::plan::Configuration;

use crate::record::{Column as FieldColumn, FIELDS};
use polars::prelude::*;

pub fn requests_frame(records: &[Record], configs: &[Configuration]) -> PolarsResult<DataFrame> {
    requests_columns(records, configs, |_| true)
}

/// The columns of `requests.parquet` that `keep` names, in its order (the
/// registry's, [`crate::record::FIELDS`]), each built only if kept (the gap
/// lists are most of the cost).
pub fn requests_columns(
    records: &[Record],
    configs: &[Configuration],
    keep: impl Fn(&str) -> bool,
) -> PolarsResult<DataFrame> {
    let mut columns = Vec::new();
    for field in FIELDS {
        match field.column {
            FieldColumn::None => {}
            FieldColumn::Configuration => {
                let plan = plan_columns(records, configs);
                columns.extend(plan.into_iter().filter(|c| keep(c.name())));
            }
            FieldColumn::Repetition => {
                if keep(field.name) {
                    columns.push(values(field.name, records, |r| u64::from(r.repetition)));
                }
                let factors = factor_columns(records, configs);
                columns.extend(factors.into_iter().filter(|c| keep(c.name())));
            }
            column if keep(field.name) => columns.push(column_of(field.name, column, records)),
            _ => {}
        }
    }
    DataFrame::new(records.len(), columns)
}

fn values<T>(name: &str, records: &[Record], f: impl Fn(&Record) -> T) -> Column
where
    Series: NamedFrom<Vec<T>, [T]>,
{
    Column::new(name.into(), records.iter().map(f).collect::<Vec<_>>())
}

/// One field's column, read off each record by the registry's getter.
fn column_of(name: &str, column: FieldColumn, records: &[Record]) -> Column {
    match column {
        FieldColumn::U64(f) => values(name, records, f),
        FieldColumn::F64(f) => values(name, records, f),
        FieldColumn::Bool(f) => values(name, records, f),
        FieldColumn::Text(f) => values(name, records, f),
        FieldColumn::Name(f) => values(name, records, f),
        FieldColumn::F64s(f) => {
            let lists: ListChunked = records
                .iter()
                .map(|r| Some(Series::new(PlSmallStr::EMPTY, f(r))))
                .collect();
            lists.into_series().with_name(name.into()).into_column()
        }
        FieldColumn::Configuration | FieldColumn::Repetition | FieldColumn::None => {
            unreachable!("the plan's columns are built from the configurations")
        }
    }
}

/// The configuration's label, factor and level of each request, each
/// configuration's rendered once.
fn plan_columns(records: &[Record], configs: &[Configuration]) -> [Column; 3] {
    let names: Vec<(String, String, String)> = configs
        .iter()
        .map(|c| {
            (
                c.label.clone(),
                c.factor_label().to_string(),
                c.level
                    .as_ref()
                    .map_or_else(|| crate::plan::BASELINE.into(), ToString::to_string),
            )
        })
        .collect();
    let named = |name: &str, f: fn(&(String, String, String)) -> &str| {
        let v: Vec<&str> = records
            .iter()
            .map(|r| names.get(r.config).map_or("", f))
            .collect();
        Column::new(name.into(), v)
    };
    [
        named("config", |n| &n.0),
        named("factor", |n| &n.1),
        named("level", |n| &n.2),
    ]
}

/// One column per factor (and baseline constant) with each request's value.
/// A factor named like a record column (`status`, which a run folder from
/// before that column may hold) is `<name>_level`, so neither is lost.
fn factor_columns(records: &[Record], configs: &[Configuration]) -> Vec<Column> {
    let rows: Vec<usize> = records.iter().map(|r| r.config).collect();
    level_columns(&rows, configs, |name| {
        if crate::record::RECORD_COLUMNS.contains(&name) {
            format!("{name}_level")
        } else {
            name.to_string()
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RequestStatus, ANALYSED, RECORD_COLUMNS};

    fn configs() -> Vec<Configuration> {
        [(1, "a"), (4, "b")]
            .iter()
            .enumerate()
            .map(|(i, (c, q))| {
                let mut values = indexmap::IndexMap::new();
                values.insert("concurrency".to_string(), Level::Int(*c));
                values.insert("quant".to_string(), Level::Str(q.to_string()));
                Configuration {
                    index: i,
                    label: format!("c{i}"),
                    factors: (i > 0).then(|| "concurrency".into()).into_iter().collect(),
                    level: (i > 0).then_some(Level::Int(*c)),
                    values,
                }
            })
            .collect()
    }

    /// An old run folder's factor named `status` (refused in experiments
    /// since that became a column) keeps its values beside the status.
    #[test]
    fn a_factor_named_like_a_column_keeps_its_values_apart() {
        let mut configs = configs();
        for c in &mut configs {
            let level = c.values.shift_remove("quant").unwrap();
            c.values.insert("status".into(), level);
        }
        let frame = requests_frame(&records(), &configs).unwrap();
        let levels = frame.column("status_level").unwrap();
        assert_eq!(levels.str().unwrap().get(0), Some("b"));
        assert_eq!(
            frame.column("status").unwrap().str().unwrap().get(0),
            Some("ok")
        );
    }

    fn records() -> Vec<Record> {
        let line = r#"{"trial":0,"config":1,"repetition":0,"request":0,"sent_s":0.5,"queue_ms":null,"ttft_ms":3.0,"e2e_ms":9.0,"tpot_ms":1.5,"itl_ms":[1.0,2.0],"prompt_tokens":5,"completion_tokens":3,"requested_input_tokens":5,"requested_output_tokens":3,"tokens_source":"usage","status":"ok","http_status":200,"error":null,"finish_reason":"stop"}"#;
        let r = Record::from_json_line(line.as_bytes()).unwrap();
        let cancelled = Record {
            status: RequestStatus::Cancelled,
            request: 1,
            ..r.clone()
        };
        vec![r, cancelled]
    }

    #[test]
    fn the_registry_names_the_frames_columns_in_order() {
        let configs = configs();
        let frame = requests_frame(&records(), &configs).unwrap();
        let names: Vec<&str> = frame
            .get_column_names()
            .into_iter()
            .map(|n| n.as_str())
            .collect();
        // The factor columns follow the repetition.
        let at = names.iter().position(|n| *n == "repetition").unwrap();
        assert_eq!(names[at + 1..at + 3], ["concurrency", "quant"]);
        let without: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !configs[0].values.contains_key(*n))
            .collect();
        assert_eq!(without, RECORD_COLUMNS);
        for c in ANALYSED {
            assert!(names.contains(c), "analysed column {c} is not in the frame");
        }
        let analysed = requests_columns(&records(), &configs, |c| ANALYSED.contains(&c)).unwrap();
        assert_eq!(analysed.width(), ANALYSED.len());
        let column = |c: &str| frame.column(c).unwrap().as_materialized_series().clone();
        assert_eq!(column("ok").bool().unwrap().get(1), Some(false));
        assert_eq!(column("status").str().unwrap().get(1), Some("cancelled"));
        assert_eq!(column("tokens_source").str().unwrap().get(0), Some("usage"));
        assert_eq!(column("level").str().unwrap().get(0), Some("4"));
    }
}
