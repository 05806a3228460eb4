//! The metric catalogue: every per-trial metric infer-bench tests, compares
//! and charts, with its column in `trials.parquet`, unit, direction, label
//! and definition. A leaf: validation of `expect:`, the JSON Schema, the
//! Welch tables, the charts and the README's table all read it, so a new
//! metric is one entry here plus its computation in the analysis.

/// Whether more of a metric is better (throughput) or worse (latency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    HigherIsBetter,
    LowerIsBetter,
}

/// A per-trial metric and how to speak of it.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// Its column in `trials.parquet`, and its name in `expect:`.
    pub column: &'static str,
    /// For tables and charts.
    pub label: &'static str,
    pub unit: &'static str,
    pub direction: Direction,
    /// Words for an increase and a decrease ("slower", "faster").
    pub up: &'static str,
    pub down: &'static str,
    /// What it is, per trial (the README's metric table shows this).
    pub definition: &'static str,
    /// In the reports' significance tables and the comparison charts.
    pub shown: bool,
    /// Charted against every factor in report.html.
    pub charted: bool,
    /// Its axis starts at zero (amounts); latencies are drawn where the data is.
    pub from_zero: bool,
    /// A column of the summary table (mean ± sd across trials) in every
    /// format: the terminal, report.md and report.html.
    pub tabled: bool,
}

impl Metric {
    pub fn higher_is_better(&self) -> bool {
        self.direction == Direction::HigherIsBetter
    }

    /// The values it can take: every metric is an amount, a time, a rate, a
    /// price or a share, none below zero and a share not above one.
    pub fn range(&self) -> (f64, f64) {
        match self.unit {
            "share" => (0.0, 1.0),
            _ => (0.0, f64::INFINITY),
        }
    }

    const fn shown(mut self) -> Metric {
        self.shown = true;
        self
    }

    const fn charted(mut self) -> Metric {
        self.charted = true;
        self
    }

    const fn zero_based(mut self) -> Metric {
        self.from_zero = true;
        self
    }

    const fn tabled(mut self) -> Metric {
        self.tabled = true;
        self
    }
}

/// The words and direction of a kind of metric.
struct Kind {
    up: &'static str,
    down: &'static str,
    direction: Direction,
}

const LATENCY: Kind = Kind {
    up: "slower",
    down: "faster",
    direction: Direction::LowerIsBetter,
};
const AMOUNT: Kind = Kind {
    up: "more",
    down: "less",
    direction: Direction::HigherIsBetter,
};
const ERRORS: Kind = Kind {
    up: "more",
    down: "less",
    direction: Direction::LowerIsBetter,
};
const COST: Kind = Kind {
    up: "dearer",
    down: "cheaper",
    direction: Direction::LowerIsBetter,
};

const fn metric(
    column: &'static str,
    label: &'static str,
    unit: &'static str,
    kind: Kind,
    definition: &'static str,
) -> Metric {
    Metric {
        column,
        label,
        unit,
        direction: kind.direction,
        up: kind.up,
        down: kind.down,
        definition,
        shown: false,
        charted: false,
        from_zero: false,
        tabled: false,
    }
}

/// The headline metrics, tested in every run.
pub const METRICS: &[Metric] = &[
    metric(
        "output_tok_s",
        "output tok/s",
        "tokens/s",
        AMOUNT,
        "output tokens of successful requests / (last completion − first send)",
    )
    .shown()
    .charted()
    .zero_based()
    .tabled(),
    metric(
        "requests_per_s",
        "req/s",
        "requests/s",
        AMOUNT,
        "successful requests / the same wall time",
    )
    .charted()
    .zero_based()
    .tabled(),
    metric(
        "ttft_p50_ms",
        "TTFT p50 ms",
        "ms",
        LATENCY,
        "median time to first token of the trial's successful requests",
    )
    .shown()
    .charted(),
    metric(
        "ttft_p95_ms",
        "TTFT p95 ms",
        "ms",
        LATENCY,
        "95th percentile of the same",
    ),
    metric(
        "e2e_p50_ms",
        "E2E p50 ms",
        "ms",
        LATENCY,
        "median end-to-end latency of the trial's successful requests",
    )
    .shown()
    .charted(),
    metric(
        "e2e_p95_ms",
        "E2E p95 ms",
        "ms",
        LATENCY,
        "95th percentile of the same",
    ),
    metric(
        "tpot_mean_ms",
        "TPOT mean ms",
        "ms",
        LATENCY,
        "mean time per output token after the first, (E2E − TTFT) / (tokens − 1)",
    )
    .shown()
    .charted(),
    metric(
        "error_rate",
        "error rate",
        "share",
        ERRORS,
        "failed requests / (requests − those cancelled at the end of a duration)",
    )
    .charted()
    .zero_based(),
    metric(
        "slo_attainment",
        "SLO attainment",
        "share",
        AMOUNT,
        "requests that succeeded within every per-request SLO / all requests",
    ),
    metric(
        "goodput_rps",
        "goodput req/s",
        "requests/s",
        AMOUNT,
        "those requests / the trial's wall time",
    ),
    metric(
        "usd_per_1m_output_tokens",
        "$/1M output tok",
        "USD",
        COST,
        "`usd_per_hour` / 3600 / output tok/s × 10⁶",
    ),
    metric(
        "usd_per_1m_tokens",
        "$/1M tokens",
        "USD",
        COST,
        "the same over input and output tokens",
    ),
];

/// Per-trial figures that describe how the load was offered rather than
/// how the server did: summarised across trials like the headline metrics,
/// never tested against the baseline.
pub const DIAGNOSTICS: &[Metric] = &[
    metric(
        "achieved_rate_rps",
        "sent req/s",
        "requests/s",
        AMOUNT,
        "open loop: (requests − 1) / (last send − first send)",
    ),
    metric(
        "send_lag_p99_ms",
        "send lag p99 ms",
        "ms",
        LATENCY,
        "open loop: 99th percentile of the client's own lateness, `queue_ms − wait_ms`",
    ),
    metric(
        "server_prefill_p50_ms",
        "prefill p50 ms",
        "ms",
        LATENCY,
        "median of the server's own prompt time (llama.cpp `timings.prompt_ms`); absent where the server does not report it",
    ),
    metric(
        "queueing_p50_ms",
        "queueing p50 ms",
        "ms",
        LATENCY,
        "median of TTFT − that prompt time, at least 0: waiting for a slot, the network and the first decode step",
    ),
];

/// The host's own noise during each trial (`src/monitor/host.rs`): kept in
/// `trials.parquet` beside the metrics so a comparison can be checked
/// against it; neither summarised nor tested.
pub const HOST: &[Metric] = &[
    metric(
        "host_other_cpu_cores",
        "other CPU cores",
        "cores",
        ERRORS,
        "cores' worth of CPU used on the host by processes other than the server and infer-bench (an external server's own CPU, if on this host, counts in)",
    ),
    metric(
        "host_other_cpu_share",
        "other CPU share",
        "share",
        ERRORS,
        "the same over the host's cores",
    ),
    metric(
        "host_load_avg",
        "load average",
        "processes",
        ERRORS,
        "mean of the 1-minute load average read during the trial",
    ),
    metric(
        "host_steal_share",
        "CPU steal",
        "share",
        ERRORS,
        "CPU time taken by the hypervisor / all CPU time",
    ),
];

/// The host table for the README.
pub fn host_markdown_table() -> String {
    let mut out =
        String::from("| column (`trials.parquet`) | unit | per trial |\n| --- | --- | --- |\n");
    for m in HOST {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            m.column, m.unit, m.definition
        ));
    }
    out
}

/// Every metric summarised across trials (`<column>_mean`, `<column>_sd`
/// in summary.csv, and one entry each in summary.json's configurations):
/// the headline metrics, then the diagnostics.
pub fn summarised() -> impl Iterator<Item = &'static Metric> {
    REGISTRY.iter().flat_map(|list| list.iter())
}

/// The registry's two lists, in `summarised` order (a const, so a table's
/// headers can be built from it at compile time).
pub const REGISTRY: [&[Metric]; 2] = [METRICS, DIAGNOSTICS];

/// A tested metric by its column (what `expect:` and `compare` accept).
pub fn by_column(column: &str) -> Option<Metric> {
    METRICS.iter().copied().find(|m| m.column == column)
}

/// A metric's label for tables and charts (the column name if unknown).
pub fn label(column: &str) -> String {
    by_column(column).map_or(column.to_string(), |m| m.label.to_string())
}

/// The values `column` can take (any, where it is no metric of the registry).
pub fn range(column: &str) -> (f64, f64) {
    REGISTRY
        .iter()
        .flat_map(|list| list.iter())
        .find(|m| m.column == column)
        .map_or((f64::NEG_INFINITY, f64::INFINITY), Metric::range)
}

/// Whether `column`'s axis starts at zero.
pub fn from_zero(column: &str) -> bool {
    by_column(column).is_some_and(|m| m.from_zero)
}

/// The metrics the reports' tables and comparison charts show.
pub fn shown() -> impl Iterator<Item = &'static str> {
    METRICS.iter().filter(|m| m.shown).map(|m| m.column)
}

/// The metrics charted against every factor.
pub fn charted() -> impl Iterator<Item = &'static str> {
    METRICS.iter().filter(|m| m.charted).map(|m| m.column)
}

/// The metric columns, for messages that list what is expected.
pub fn columns() -> Vec<&'static str> {
    METRICS.iter().map(|m| m.column).collect()
}

/// The catalogue as the README's Markdown table: the tested metrics, then
/// the diagnostics (their definitions say "open loop").
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| metric (`expect:`, `trials.parquet`) | label | unit | better | per trial |\n| --- | --- | --- | --- | --- |\n",
    );
    for m in summarised() {
        let better = match m.direction {
            Direction::HigherIsBetter => "higher",
            Direction::LowerIsBetter => "lower",
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {better} | {} |\n",
            m.column, m.label, m.unit, m.definition
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_unique_and_found() {
        let mut seen = std::collections::HashSet::new();
        for m in summarised() {
            assert!(seen.insert(m.column), "{} twice", m.column);
        }
        for m in METRICS {
            assert_eq!(by_column(m.column).map(|x| x.label), Some(m.label));
        }
        assert!(
            by_column(DIAGNOSTICS[0].column).is_none(),
            "diagnostics are not tested"
        );
        assert_eq!(label("no_such_metric"), "no_such_metric");
    }

    #[test]
    fn the_readme_host_table_is_the_registry() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&host_markdown_table()),
            "README.md's host table differs from src/metrics.rs; paste:\n{}",
            host_markdown_table()
        );
        for m in HOST {
            assert!(by_column(m.column).is_none(), "host figures are not tested");
        }
    }

    /// The README shows the catalogue; this keeps the two the same.
    #[test]
    fn the_readme_table_is_the_catalogue() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "README.md's per-trial metric table differs from src/metrics.rs; paste:\n{}",
            markdown_table()
        );
    }
}
