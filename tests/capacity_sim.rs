//! Coverage of the capacity interval end to end: `infer-bench run` with
//! `design: capacity` against the built-in sim set to be an M/D/c queue,
//! held against a truth computed here with the queue's own few lines
//! (tests/common/queue.rs), not the sim's code.
//!
//! DRAFT: figures to be filled in once measured.

mod common;

use common::queue::{coverage_floor, Mdc};
use common::{experiment, run, single_run};
use std::collections::BTreeMap;
use std::time::Instant;

const SLOTS: usize = 8;
const PREFILL_MS: f64 = 10.0;
const DECODE_MS: f64 = 10.0;
const OUTPUT_TOKENS: usize = 4;
const TTFT_LIMIT_MS: f64 = 50.0;
const REQUESTS: usize = 150;
const SEEDS: u64 = 20;
const CONFIDENCE: f64 = 0.95;

/// The sim's model with these settings: a request holds its slot from its
/// prefill's start to its last token, `PREFILL_MS` then `OUTPUT_TOKENS − 1`
/// gaps of `DECODE_MS` (src/sim/stream.rs: the permit is dropped when the
/// sequence ends; `contention: 0` keeps every gap at `DECODE_MS`).
fn queue(overhead_s: f64) -> Mdc {
    Mdc {
        slots: SLOTS,
        service_s: (PREFILL_MS + DECODE_MS * (OUTPUT_TOKENS - 1) as f64) / 1000.0,
        prefill_s: PREFILL_MS / 1000.0,
        ttft_limit_s: TTFT_LIMIT_MS / 1000.0 - overhead_s,
        requests: REQUESTS,
    }
}

fn search_yaml(seed: u64) -> String {
    format!(
        "name: mdc\nseed: {seed}\n\
target: {{builtin: sim, model: m, sim: {{slots: {SLOTS}, ttft_base_ms: {PREFILL_MS}, prefill_ms_per_token: 0, decode_ms_per_token: {DECODE_MS}, contention: 0, jitter: 0}}}}\n\
prompts: {{prompts}}\nload: poisson\ndesign: capacity\n\
capacity: {{factor: rate, min: 100, max: 1000, confidence: {CONFIDENCE}, precision: 0.05, max_probes: 8, trials_per_probe: 2}}\n\
baseline: {{input_tokens: 32, output_tokens: {OUTPUT_TOKENS}}}\n\
warmup: {{requests: 1}}\ntrial: {{requests: {REQUESTS}}}\n\
slo: {{ttft_ms: {TTFT_LIMIT_MS}, min_attainment: 0.95, min_output_tok_s: null, p50_latency_s: null, p95_latency_s: null}}\n"
    )
}

/// A CSV line's fields (a quoted field may hold commas).
fn fields(line: &str) -> Vec<String> {
    let (mut out, mut field, mut quoted) = (Vec::new(), String::new(), false);
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

struct Searched {
    seed: u64,
    capacity: f64,
    low: f64,
    high: f64,
    status: String,
    probes: String,
    /// Each request's TTFT less what the queue says of it (its wait, by
    /// Lindley's recursion over its actual send times, plus the prefill).
    overheads_s: Vec<f64>,
    seconds: f64,
}

fn search(seed: u64) -> Searched {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = experiment(dir.path(), "mdc.yaml", &search_yaml(seed));
    run(dir.path(), &path, &[], 0);
    let folder = single_run(dir.path(), "mdc");
    let csv = std::fs::read_to_string(folder.join("capacity.csv")).unwrap();
    let mut lines = csv.lines();
    let head = fields(lines.next().unwrap());
    let row: BTreeMap<String, String> = head.into_iter().zip(fields(lines.next().unwrap())).collect();
    let num = |c: &str| row[c].parse::<f64>().unwrap();
    let data = infer_bench::results::read_run(&folder).unwrap();
    let q = queue(0.0);
    let mut overheads_s = Vec::new();
    for t in &data.trials {
        let mut records: Vec<_> = data.records.iter().filter(|r| r.trial == t.index).collect();
        records.sort_by(|a, b| a.sent_s.total_cmp(&b.sent_s));
        let waits = q.waits(records.iter().map(|r| r.sent_s));
        for (r, w) in records.iter().zip(waits) {
            if let Some(ttft) = r.ttft_ms {
                overheads_s.push(ttft / 1000.0 - w - q.prefill_s);
            }
        }
    }
    let probes = data
        .configurations
        .iter()
        .map(|c| c.label.rsplit('=').next().unwrap_or_default().to_string())
        .collect::<Vec<_>>()
        .join(" ");
    Searched {
        seed,
        capacity: num("capacity"),
        low: num("ci_low"),
        high: num("ci_high"),
        status: row["status"].clone(),
        probes,
        overheads_s,
        seconds: started.elapsed().as_secs_f64(),
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn the_interval_covers_an_m_d_c_sims_capacity_end_to_end() {
    let runs: Vec<Searched> = (0..SEEDS).map(search).collect();
    let all: Vec<f64> = runs.iter().flat_map(|r| r.overheads_s.clone()).collect();
    let overhead = median(all.clone());
    let mut sorted = all;
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize] * 1000.0;
    eprintln!(
        "overhead ms: p05 {:.2} p25 {:.2} p50 {:.2} p75 {:.2} p95 {:.2}",
        q(0.05),
        q(0.25),
        q(0.5),
        q(0.75),
        q(0.95)
    );
    let bare = queue(0.0).capacity(0.95, 2000, 1_000_003, (10.0, 2000.0));
    let truth = queue(overhead).capacity(0.95, 2000, 1_000_003, (10.0, 2000.0));
    let mut covered = 0;
    for r in &runs {
        let hit = r.low <= truth && truth <= r.high;
        covered += usize::from(hit);
        eprintln!(
            "seed {:2}: {:.1} [{:.1}, {:.1}] {} {} probes {} ({:.0} s)",
            r.seed,
            r.capacity,
            r.low,
            r.high,
            if hit { "covers" } else { "MISSES" },
            r.status,
            r.probes,
            r.seconds
        );
    }
    let floor = coverage_floor(CONFIDENCE, SEEDS as usize);
    eprintln!(
        "truth {truth:.2} req/s (without overhead {bare:.2}), overhead {:.2} ms; coverage {covered}/{SEEDS} (floor {floor:.3})",
        overhead * 1000.0
    );
    assert!(covered as f64 / SEEDS as f64 >= floor);
    for r in &runs {
        assert!((r.capacity - truth).abs() <= 0.1 * truth, "seed {}", r.seed);
    }
}
