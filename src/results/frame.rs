//! Records → polars DataFrame, the shape of `requests.parquet`.

use super::Record;
use crate::level::Level;
use crate::plan::Configuration;
pub use crate::record::RECORD_COLUMNS;
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
                    .map_or_else(|| "baseline".into(), ToString::to_string),
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
