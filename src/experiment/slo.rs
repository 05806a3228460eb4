//! Service-level objectives as the experiment states them: per request
//! (`ttft_ms`, `tpot_ms`, `e2e_ms`, `min_output_tok_s`, met by a share
//! `min_attainment` of the requests) and per configuration, as percentiles
//! the way people write SLOs (`ttft_p95_ms: 500`, `itl_p99.9_ms: 80`), the
//! older `p50_latency_s` / `p95_latency_s` among them.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Service-level objectives. Defaults are the seed's interactive targets:
/// TTFT under 500 ms, median latency under 3 s, P95 under 10 s, and more
/// than 10 output tokens per second per request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
#[schemars(extend("additionalProperties" = false))]
pub struct Slo {
    /// Per request: time to first token at most this.
    pub ttft_ms: Option<f64>,
    /// Per request: time per output token after the first at most this.
    pub tpot_ms: Option<f64>,
    /// Per request: end-to-end latency at most this.
    pub e2e_ms: Option<f64>,
    /// Per request: at least this many output tokens per second while
    /// decoding (1000 / TPOT).
    pub min_output_tok_s: Option<f64>,
    /// Per configuration: median end-to-end latency at most this.
    pub p50_latency_s: Option<f64>,
    /// Per configuration: 95th percentile end-to-end latency at most this.
    pub p95_latency_s: Option<f64>,
    /// Share of requests that must meet every per-request objective for a
    /// configuration to meet its SLOs (with the percentile objectives).
    pub min_attainment: f64,
    /// Per configuration: `<ttft|tpot|itl|e2e>_p<percentile>_ms: limit`, any
    /// percentile from 50 to 99.9 (`ttft_p95_ms: 500`, `itl_p99.9_ms: 80`).
    /// Any other key is refused by validation, with its place in the file.
    #[serde(flatten)]
    #[schemars(with = "PercentileKeys")]
    pub percentiles: BTreeMap<String, f64>,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            ttft_ms: Some(500.0),
            tpot_ms: None,
            e2e_ms: None,
            min_output_tok_s: Some(10.0),
            p50_latency_s: Some(3.0),
            p95_latency_s: Some(10.0),
            min_attainment: 0.95,
            percentiles: BTreeMap::new(),
        }
    }
}

/// The per-request latencies a percentile objective can bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Latency {
    Ttft,
    Tpot,
    Itl,
    E2e,
}

impl Latency {
    const ALL: [Latency; 4] = [Latency::Ttft, Latency::Tpot, Latency::Itl, Latency::E2e];

    /// The stem of its columns (`ttft` in `ttft_p95_ms`).
    pub fn stem(self) -> &'static str {
        match self {
            Latency::Ttft => "ttft",
            Latency::Tpot => "tpot",
            Latency::Itl => "itl",
            Latency::E2e => "e2e",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Latency::Ttft => "TTFT",
            Latency::Tpot => "TPOT",
            Latency::Itl => "ITL",
            Latency::E2e => "E2E",
        }
    }
}

/// One percentile objective: the `percent`th percentile of `metric` at most
/// `limit_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct PercentileObjective {
    /// As the experiment writes it (`ttft_p95_ms`, `p50_latency_s`).
    pub key: String,
    pub metric: Latency,
    pub percent: f64,
    pub limit_ms: f64,
}

impl PercentileObjective {
    /// Its per-trial column in `trials.parquet`: `ttft_p95_ms`, `itl_p99.9_ms`.
    pub fn column(&self) -> String {
        percentile_column(self.metric, self.percent)
    }

    /// The quantile, 0 to 1.
    pub fn q(&self) -> f64 {
        self.percent / 100.0
    }
}

/// The column of a latency's percentile, written as people write it.
pub fn percentile_column(metric: Latency, percent: f64) -> String {
    format!("{}_p{percent}_ms", metric.stem())
}

/// The lowest and highest percentile an objective may name.
pub const PERCENTILES: (f64, f64) = (50.0, 99.9);

/// The latency and percentile a key names (`ttft_p95_ms` → TTFT, 95), or
/// what was expected.
pub fn parse_percentile_key(key: &str) -> Result<(Latency, f64), String> {
    let expected = "expected ttft_ms, tpot_ms, e2e_ms, min_output_tok_s, p50_latency_s, p95_latency_s, min_attainment or a percentile objective <ttft|tpot|itl|e2e>_p<50..99.9>_ms (e.g. ttft_p95_ms)";
    let unknown = || format!("unknown SLO key '{key}', {expected}");
    let (stem, rest) = key.split_once("_p").ok_or_else(unknown)?;
    let metric = Latency::ALL
        .into_iter()
        .find(|m| m.stem() == stem)
        .ok_or_else(unknown)?;
    let number = rest.strip_suffix("_ms").ok_or_else(unknown)?;
    let digits_ok = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && !number.starts_with('.')
        && !number.ends_with('.');
    let percent: f64 = match digits_ok {
        true => number.parse().map_err(|_| unknown())?,
        false => return Err(unknown()),
    };
    let (lo, hi) = PERCENTILES;
    if !(lo..=hi).contains(&percent) {
        return Err(format!(
            "{key}: percentile {percent} is outside {lo}..{hi} (p50 to p99.9)"
        ));
    }
    Ok((metric, percent))
}

impl Slo {
    /// Every percentile objective, the older `p50_latency_s` and
    /// `p95_latency_s` (E2E, in seconds) first, then the others by key;
    /// keys that do not parse are left out (validation refuses them).
    pub fn percentile_objectives(&self) -> Vec<PercentileObjective> {
        let legacy = [
            ("p50_latency_s", 50.0, self.p50_latency_s),
            ("p95_latency_s", 95.0, self.p95_latency_s),
        ];
        let older = legacy.into_iter().filter_map(|(key, percent, s)| {
            Some(PercentileObjective {
                key: key.into(),
                metric: Latency::E2e,
                percent,
                limit_ms: s? * 1000.0,
            })
        });
        let written = self.percentiles.iter().filter_map(|(key, &limit_ms)| {
            let (metric, percent) = parse_percentile_key(key).ok()?;
            Some(PercentileObjective {
                key: key.clone(),
                metric,
                percent,
                limit_ms,
            })
        });
        older.chain(written).collect()
    }

    /// Set one objective by its key, as `report --slo KEY=VALUE` does;
    /// `None` turns it off. An unknown key says what was expected.
    pub fn set(&mut self, key: &str, value: Option<f64>) -> Result<(), String> {
        let field = match key {
            "ttft_ms" => &mut self.ttft_ms,
            "tpot_ms" => &mut self.tpot_ms,
            "e2e_ms" => &mut self.e2e_ms,
            "min_output_tok_s" => &mut self.min_output_tok_s,
            "p50_latency_s" => &mut self.p50_latency_s,
            "p95_latency_s" => &mut self.p95_latency_s,
            "min_attainment" => {
                self.min_attainment = value.ok_or("min_attainment cannot be null")?;
                return Ok(());
            }
            _ => {
                parse_percentile_key(key)?;
                match value {
                    Some(v) => self.percentiles.insert(key.to_string(), v),
                    None => self.percentiles.remove(key),
                };
                return Ok(());
            }
        };
        *field = value;
        Ok(())
    }
}

/// One change `report --slo` makes to the SLOs a run is judged against.
#[derive(Debug, Clone, PartialEq)]
pub enum SloChange {
    /// A whole SLO block (a file), objectives it leaves out at their defaults.
    Replace(Slo),
    /// One objective by its key; `None` turns it off.
    Set(String, Option<f64>),
}

impl SloChange {
    /// `KEY=VALUE` (`null` or `none` turns an objective off), or what was expected.
    pub fn parse_pair(pair: &str) -> Result<SloChange, String> {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("--slo {pair}: expected a file or KEY=VALUE"))?;
        let (key, value) = (key.trim(), value.trim());
        let value = match value {
            "null" | "none" | "~" => None,
            v => Some(v.parse::<f64>().map_err(|_| {
                format!("--slo {pair}: '{v}' is not a number (or null to turn {key} off)")
            })?),
        };
        let change = SloChange::Set(key.to_string(), value);
        // Checked alone here, so a fault is told before the run is read.
        apply_changes(&Slo::default(), std::slice::from_ref(&change))?;
        Ok(change)
    }
}

/// `base` with `changes` applied in order, checked as an experiment's SLO
/// block is; a fault names its key.
pub fn apply_changes(base: &Slo, changes: &[SloChange]) -> Result<Slo, String> {
    let mut slo = base.clone();
    for c in changes {
        match c {
            SloChange::Replace(whole) => slo = whole.clone(),
            SloChange::Set(key, value) => slo.set(key, *value)?,
        }
    }
    super::validate::check_slo(&slo).map_err(|(key, why)| format!("--slo {key}: {why}"))?;
    Ok(slo)
}

/// The schema of the percentile keys beside the named ones: a number under
/// any `<metric>_p<percentile>_ms` key, and no other key.
struct PercentileKeys;

impl JsonSchema for PercentileKeys {
    fn schema_name() -> Cow<'static, str> {
        "PercentileObjectives".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        schemars::json_schema!({
            "type": "object",
            "patternProperties": {
                "^(ttft|tpot|itl|e2e)_p[0-9]+(\\.[0-9]+)?_ms$": {
                    "description": "Per configuration: this percentile (50 to 99.9) of the latency, in ms, at most this (each trial's percentile over its successful requests, averaged over the trials)",
                    "type": "number",
                    "exclusiveMinimum": 0
                }
            },
            "additionalProperties": false
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_keys_parse_as_people_write_them() {
        assert_eq!(
            parse_percentile_key("ttft_p95_ms"),
            Ok((Latency::Ttft, 95.0))
        );
        assert_eq!(
            parse_percentile_key("itl_p99.9_ms"),
            Ok((Latency::Itl, 99.9))
        );
        assert_eq!(parse_percentile_key("e2e_p50_ms"), Ok((Latency::E2e, 50.0)));
        assert!(parse_percentile_key("ttft_p40_ms")
            .unwrap_err()
            .contains("outside 50..99.9"));
        assert!(parse_percentile_key("ttft_p100_ms").is_err());
        for bad in [
            "ttf_p95_ms",
            "ttft_p95",
            "ttft_p_ms",
            "ttft_p.5_ms",
            "ttft_ms_x",
        ] {
            let e = parse_percentile_key(bad).unwrap_err();
            assert!(e.contains("unknown SLO key"), "{bad}: {e}");
        }
        assert_eq!(percentile_column(Latency::Itl, 99.9), "itl_p99.9_ms");
        assert_eq!(percentile_column(Latency::Ttft, 95.0), "ttft_p95_ms");
    }

    #[test]
    fn a_yaml_block_reads_the_percentiles_beside_the_named_objectives() {
        let slo: Slo =
            serde_yaml::from_str("{ttft_ms: 800, ttft_p95_ms: 500, tpot_p99_ms: 50}").unwrap();
        assert_eq!(slo.ttft_ms, Some(800.0));
        assert_eq!(slo.p50_latency_s, Some(3.0), "defaults kept");
        let keys: Vec<(String, f64)> = slo
            .percentile_objectives()
            .into_iter()
            .map(|o| (o.key, o.limit_ms))
            .collect();
        assert_eq!(
            keys,
            [
                ("p50_latency_s".to_string(), 3000.0),
                ("p95_latency_s".to_string(), 10000.0),
                ("tpot_p99_ms".to_string(), 50.0),
                ("ttft_p95_ms".to_string(), 500.0),
            ]
        );
    }

    #[test]
    fn report_slo_pairs_parse_and_apply_in_order() {
        let changes = [
            SloChange::parse_pair("ttft_p95_ms=300").unwrap(),
            SloChange::parse_pair("p50_latency_s=null").unwrap(),
        ];
        let slo = apply_changes(&Slo::default(), &changes).unwrap();
        assert_eq!(slo.percentiles.get("ttft_p95_ms"), Some(&300.0));
        assert_eq!(slo.p50_latency_s, None);
        assert!(SloChange::parse_pair("ttft_p95_ms").is_err());
        assert!(SloChange::parse_pair("ttft_p95_ms=fast").is_err());
        let e = SloChange::parse_pair("tfft_ms=3").unwrap_err();
        assert!(e.contains("unknown SLO key 'tfft_ms'"), "{e}");
        let bad = [SloChange::Set("ttft_p95_ms".into(), Some(-1.0))];
        let e = apply_changes(&Slo::default(), &bad).unwrap_err();
        assert!(e.contains("ttft_p95_ms must be a number > 0"), "{e}");
    }

    #[test]
    fn set_overrides_one_objective() {
        let mut slo = Slo::default();
        slo.set("ttft_ms", Some(200.0)).unwrap();
        slo.set("p50_latency_s", None).unwrap();
        slo.set("e2e_p99_ms", Some(4000.0)).unwrap();
        assert_eq!(slo.ttft_ms, Some(200.0));
        assert_eq!(slo.p50_latency_s, None);
        assert_eq!(slo.percentiles.get("e2e_p99_ms"), Some(&4000.0));
        assert!(slo.set("ttft", Some(1.0)).is_err());
    }
}
