//! Request traces: Azure LLM inference CSV, Mooncake JSONL and a plain
//! JSONL, each turned into rows of (arrival offset, input length, output
//! length, prefix block ids), sorted by arrival.

use super::csv;
use super::spec::Format;
use crate::error::InputError;
use crate::limits;
use serde::Deserialize;
use std::path::Path;

/// One request of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceRow {
    /// Seconds after the trace's first row.
    pub at_s: f64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Mooncake: one id per prefix block; requests that share an id share
    /// that block of their prompt.
    pub hash_ids: Vec<u64>,
    /// The row's line in its file, for a fault found once rows are sorted
    /// and windowed (a time span past the limit).
    pub line: usize,
}

/// A fault at a line of the trace: a message, or a limit's rule.
type Fault = (usize, InputError);

fn fault(line: usize, message: impl Into<String>) -> Fault {
    (line, InputError::new(message))
}

pub fn read(path: &Path, format: Format) -> Result<Vec<TraceRow>, InputError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read trace: {e}")))?;
    let rows = match format {
        Format::Azure => azure(&text),
        Format::Mooncake => mooncake(&text),
        Format::Jsonl => plain(&text),
        Format::Sharegpt | Format::Csv => {
            return Err(InputError::in_file(
                path,
                "a dataset format for a trace: expected azure, mooncake or jsonl",
            ))
        }
    }
    .map_err(|(line, e)| e.or_in(path, Some((line, 1))))?;
    if rows.is_empty() {
        return Err(InputError::in_file(path, "no requests in the trace"));
    }
    if let Some(past) = rows.get(limits::MAX_REQUESTS as usize) {
        let rule = limits::count("rows in the trace", rows.len() as u64).err();
        let e = rule.map_or_else(|| InputError::new("too many rows"), InputError::from);
        return Err(e.or_in(path, Some((past.line, 1))));
    }
    Ok(rows)
}

/// Absolute times (seconds) → offsets from the earliest, rows sorted by it.
fn settle(mut rows: Vec<(f64, TraceRow)>) -> Vec<TraceRow> {
    rows.sort_by(|a, b| a.0.total_cmp(&b.0));
    let first = rows.first().map_or(0.0, |r| r.0);
    rows.into_iter()
        .map(|(t, mut r)| {
            r.at_s = t - first;
            r
        })
        .collect()
}

fn azure(text: &str) -> Result<Vec<TraceRow>, Fault> {
    let rows = csv::rows(text).map_err(|(line, m)| fault(line, m))?;
    let Some((header, rows)) = rows.split_first() else {
        return Err(fault(
            1,
            "empty file, expected TIMESTAMP,ContextTokens,GeneratedTokens",
        ));
    };
    let col = |name: &str| {
        header
            .fields
            .iter()
            .position(|f| f.trim() == name)
            .ok_or_else(|| {
                fault(
                    header.line,
                    format!("no column '{name}' in the header, expected TIMESTAMP,ContextTokens,GeneratedTokens"),
                )
            })
    };
    let (t, input, output) = (
        col("TIMESTAMP")?,
        col("ContextTokens")?,
        col("GeneratedTokens")?,
    );
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let field = |i: usize, name: &str| {
            row.fields
                .get(i)
                .map(|f| f.trim())
                .ok_or_else(|| fault(row.line, format!("no {name} field")))
        };
        let at = timestamp(field(t, "TIMESTAMP")?).map_err(|m| fault(row.line, m))?;
        out.push((
            at,
            TraceRow {
                at_s: 0.0,
                input_tokens: tokens(field(input, "ContextTokens")?, "ContextTokens")
                    .map_err(|e| (row.line, e))?,
                output_tokens: tokens(field(output, "GeneratedTokens")?, "GeneratedTokens")
                    .map_err(|e| (row.line, e))?,
                hash_ids: Vec::new(),
                line: row.line,
            },
        ));
    }
    Ok(settle(out))
}

/// A row's token count: a whole number from 1 to the token limit.
fn tokens(text: &str, name: &str) -> Result<u64, InputError> {
    match text.parse::<u64>() {
        Ok(0) => Err(InputError::new(format!("{name} is 0, expected 1 or more"))),
        Ok(n) => Ok(limits::tokens(name, n)?),
        Err(_) => Err(InputError::new(format!(
            "{name} '{text}' is not a whole number"
        ))),
    }
}

fn mooncake(text: &str) -> Result<Vec<TraceRow>, Fault> {
    #[derive(Deserialize)]
    struct Line {
        timestamp: f64,
        input_length: u64,
        output_length: u64,
        #[serde(default)]
        hash_ids: Vec<u64>,
    }
    jsonl_rows(
        text,
        "timestamp (ms), input_length, output_length, hash_ids",
        |l: Line| {
            (
                l.timestamp / 1000.0,
                l.input_length,
                l.output_length,
                l.hash_ids,
            )
        },
    )
}

fn plain(text: &str) -> Result<Vec<TraceRow>, Fault> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Line {
        timestamp_s: f64,
        input_tokens: u64,
        output_tokens: u64,
    }
    jsonl_rows(
        text,
        "timestamp_s, input_tokens, output_tokens",
        |l: Line| (l.timestamp_s, l.input_tokens, l.output_tokens, Vec::new()),
    )
}

fn jsonl_rows<L: serde::de::DeserializeOwned>(
    text: &str,
    expected: &str,
    fields: impl Fn(L) -> (f64, u64, u64, Vec<u64>),
) -> Result<Vec<TraceRow>, Fault> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let l: L = serde_json::from_str(line)
            .map_err(|e| fault(n, format!("{e}; expected {expected}")))?;
        let (at, input, output, hash_ids) = fields(l);
        if !at.is_finite() || at < 0.0 {
            return Err(fault(
                n,
                format!("timestamp {at}, expected a time 0 or later"),
            ));
        }
        if input == 0 || output == 0 {
            return Err(fault(n, "a length of 0 tokens, expected 1 or more"));
        }
        for (name, v) in [("input length", input), ("output length", output)] {
            limits::tokens(name, v).map_err(|r| (n, r.into()))?;
        }
        out.push((
            at,
            TraceRow {
                at_s: 0.0,
                input_tokens: input,
                output_tokens: output,
                hash_ids,
                line: n,
            },
        ));
    }
    Ok(settle(out))
}

/// `2023-11-16 18:17:03.9799600` (no zone: UTC) or
/// `2024-05-10 00:00:00.009930+00:00` → seconds since the Unix epoch.
pub fn timestamp(text: &str) -> Result<f64, String> {
    let bad = |why: &str| {
        format!("TIMESTAMP '{text}': {why}, expected e.g. 2023-11-16 18:17:03.9799600 or 2024-05-10 00:00:00.009930+00:00")
    };
    let (date, rest) = text.split_once([' ', 'T']).ok_or_else(|| bad("no time"))?;
    // A zone is `Z` or ±HH:MM after the time.
    let (time, zone_s) = match rest.find(['+', '-', 'Z']) {
        Some(i) => {
            let zone = &rest[i..];
            let secs = if zone == "Z" {
                0
            } else {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let (h, m) = zone[1..]
                    .split_once(':')
                    .ok_or_else(|| bad("zone not ±HH:MM"))?;
                let h: i64 = h.parse().map_err(|_| bad("zone hours"))?;
                let m: i64 = m.parse().map_err(|_| bad("zone minutes"))?;
                if !(0..=23).contains(&h) || !(0..=59).contains(&m) {
                    return Err(bad("zone out of range"));
                }
                sign * (h * 3600 + m * 60)
            };
            (&rest[..i], secs)
        }
        None => (rest, 0),
    };
    let num = |s: &str, what: &str| s.parse::<i64>().map_err(|_| bad(what));
    let mut d = date.split('-');
    let (y, mo, da) = match (d.next(), d.next(), d.next(), d.next()) {
        (Some(y), Some(m), Some(d), None) => (num(y, "year")?, num(m, "month")?, num(d, "day")?),
        _ => return Err(bad("date not YYYY-MM-DD")),
    };
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut c = clock.split(':');
    let (h, mi, s) = match (c.next(), c.next(), c.next(), c.next()) {
        (Some(h), Some(m), Some(s), None) => {
            (num(h, "hour")?, num(m, "minute")?, num(s, "second")?)
        }
        _ => return Err(bad("time not HH:MM:SS")),
    };
    // Years a calendar names (and whose day count cannot overflow).
    if !(1..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || h > 23
        || mi > 59
        || s > 60
    {
        return Err(bad("a field out of range"));
    }
    if !fraction.chars().all(|c| c.is_ascii_digit()) || fraction.len() > 9 {
        return Err(bad("fraction not up to 9 digits"));
    }
    let frac = if fraction.is_empty() {
        0.0
    } else {
        fraction.parse::<f64>().map_err(|_| bad("fraction"))? / 10f64.powi(fraction.len() as i32)
    };
    let days = days_from_civil(y, mo, da);
    Ok((days * 86_400 + h * 3600 + mi * 60 + s - zone_s) as f64 + frac)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_azure_timestamp_styles() {
        // 2023-11-16T18:17:03Z is 1700158623 (date -u -d ... +%s).
        let a = timestamp("2023-11-16 18:17:03.9799600").unwrap();
        assert!((a - 1_700_158_623.979_96).abs() < 1e-6, "{a}");
        let b = timestamp("2024-05-10 00:00:00.009930+00:00").unwrap();
        assert!((b - 1_715_299_200.009_93).abs() < 1e-6, "{b}");
        assert_eq!(
            timestamp("2024-05-10 02:00:00+02:00").unwrap(),
            1_715_299_200.0
        );
        assert!(timestamp("2024-13-10 00:00:00")
            .unwrap_err()
            .contains("out of range"));
        assert!(timestamp("yesterday").is_err());
    }

    #[test]
    fn azure_rows_become_offsets() {
        let t = "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:04.5000000,100,20\n2023-11-16 18:17:03.0000000,50,10\n";
        let rows = azure(t).unwrap();
        assert_eq!(rows[0].input_tokens, 50);
        assert_eq!(rows[1].at_s, 1.5);
        let (line, m) = azure("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:04,x,2\n")
            .unwrap_err();
        assert_eq!(line, 2);
        assert!(m.message.contains("ContextTokens 'x'"), "{m}");
    }

    #[test]
    fn mooncake_in_milliseconds() {
        let rows = mooncake("{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [1, 2]}\n{\"timestamp\": 250, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [1]}").unwrap();
        assert_eq!(rows[1].at_s, 0.25);
        assert_eq!(rows[0].hash_ids, vec![1, 2]);
        let (line, _) =
            plain("{\"timestamp_s\": 0, \"input_tokens\": 0, \"output_tokens\": 3}").unwrap_err();
        assert_eq!(line, 1);
    }
}
