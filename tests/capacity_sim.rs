//! Coverage of the capacity interval end to end: `infer-bench run` with
//! `design: capacity` against the built-in sim set to be an M/D/c queue
//! (32 slots, no contention, no jitter, one token out: every request
//! holds a slot for 40 ms and has its first and only token at its end),
//! Poisson arrivals searched over rate from 200 to 3000 req/s (3 trials of
//! 450 requests per probe, at most 10 probes), within TTFT ≤ 45 ms for
//! 95 % of requests (a wait of at most 5 ms). Over `SEEDS` experiment
//! seeds (the seed draws the arrivals; the sim, without jitter, draws
//! nothing that times a request, and a prompt's length does not enter its
//! time: `prefill_ms_per_token: 0`).
//!
//! Why this queue: what places a capacity is the number of arrivals the
//! trials near it hold, so the queue is as fast as a debug build on two
//! cores serves without its own delays swamping a 5 ms allowance (about
//! 650 req/s), and wide (32 slots) so that its capacity lies at a load
//! (ρ ≈ 0.8) whose trials are not dominated by one long busy period. The
//! M/D/8 at 40 ms this test ran before (165 req/s, 150-request trials,
//! 2 × 8 probes) had 2400 arrivals a search and an rms error of 12.7 %;
//! `cargo bench --bench capacity_coverage` compares the designs.
//!
//! Truth: the queue simulated with its own few lines
//! (tests/common/queue.rs: Lindley's recursion for c servers), not the
//! sim's code; the rate at which the expected attainment of a 450-request
//! trial from an empty queue is 95 % (what a search over such trials
//! estimates), each request's TTFT longer by an overhead drawn from those
//! measured on the run's requests that found a slot free (TTFT less the
//! prefill: the HTTP round trip, the client's and the host's delays), in
//! trials offered within 0.7 to 1.4 times the bare capacity. The warm-up
//! request ends before a trial starts, so each trial does start from an
//! empty queue.
//!
//! The checks: the interval covers the truth in at least 95 % of seeds
//! less a binomial tolerance (the exact one-sided 99 % binomial floor: 2
//! of 4, 16 of 20), and every estimate lies within 10 % of the truth.
//!
//! Measured (2026-12-07, this 2-core host, `-- --ignored`, 13 minutes,
//! 36 to 43 s a seed): over 20 seeds the interval covered the truth,
//! 633.1 req/s (649.1 without the overhead; overhead p50 0.72 ms, p99
//! 3.4 ms), in 20 (floor 16), and every estimate lay within 10 % of it
//! (mean error −0.3 %, rms 3.4 %, from −5.9 % to +8.7 %). Before the
//! bootstrap took a replicate that holds at every probed load as beyond
//! them, 3 of 20 searches whose first failing load (600) failed by chance
//! stopped on `precision` at [579.8, 600.0] and missed the truth (17 of
//! 20, still above the floor). Two truths that drew the overhead of every
//! request, waiting or not (independently, or by the request's wait), put
//! it at 597 to 616 req/s with the searches' mean at 632 to 642: the
//! overhead of a waiting request comes with the burst that made it wait,
//! so charged to requests that found a slot free it counts too much.

mod common;

use common::queue::{coverage_floor, Mdc, Overheads};
use common::{csv_fields as fields, experiment, run, single_run};
use std::collections::BTreeMap;
use std::time::Instant;

const SLOTS: usize = 32;
const PREFILL_MS: f64 = 40.0;
const DECODE_MS: f64 = 10.0;
const OUTPUT_TOKENS: usize = 1;
const TTFT_LIMIT_MS: f64 = 45.0;
const REQUESTS: usize = 450;
const SEEDS: u64 = 20;
const CONFIDENCE: f64 = 0.95;

/// The sim's model with these settings: a request holds its slot from its
/// prefill's start to its last token, `PREFILL_MS` then `OUTPUT_TOKENS − 1`
/// gaps of `DECODE_MS` (src/sim/stream.rs: the permit is dropped when the
/// sequence ends; `contention: 0` keeps every gap at `DECODE_MS`).
fn queue() -> Mdc {
    Mdc {
        slots: SLOTS,
        service_s: (PREFILL_MS + DECODE_MS * (OUTPUT_TOKENS - 1) as f64) / 1000.0,
        prefill_s: PREFILL_MS / 1000.0,
        ttft_limit_s: TTFT_LIMIT_MS / 1000.0,
        requests: REQUESTS,
    }
}

fn search_yaml(seed: u64) -> String {
    format!(
        "name: mdc\nseed: {seed}\n\
target: {{builtin: sim, model: m, sim: {{slots: {SLOTS}, ttft_base_ms: {PREFILL_MS}, prefill_ms_per_token: 0, decode_ms_per_token: {DECODE_MS}, contention: 0, jitter: 0}}}}\n\
prompts: {{prompts}}\nload: poisson\ndesign: capacity\n\
capacity: {{factor: rate, min: 200, max: 3000, confidence: {CONFIDENCE}, precision: 0.05, max_probes: 10, trials_per_probe: 3}}\n\
baseline: {{output_tokens: {OUTPUT_TOKENS}}}\n\
warmup: {{requests: 1}}\ntrial: {{requests: {REQUESTS}}}\n\
slo: {{ttft_ms: {TTFT_LIMIT_MS}, min_attainment: 0.95, min_output_tok_s: null, p50_latency_s: null, p95_latency_s: null}}\n"
    )
}

struct Searched {
    seed: u64,
    capacity: f64,
    low: f64,
    high: f64,
    status: String,
    probes: String,
    /// Each request's TTFT less what the queue says of it (its wait, by
    /// Lindley's recursion over its actual send times, plus the prefill),
    /// as (the rate its trial offered, its wait, that overhead).
    overheads_s: Vec<(f64, f64, f64)>,
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
    let row: BTreeMap<String, String> = head
        .into_iter()
        .zip(fields(lines.next().unwrap()))
        .collect();
    let num = |c: &str| row[c].parse::<f64>().unwrap();
    let data = infer_bench::results::read_run(&folder).unwrap();
    let q = queue();
    let mut overheads_s = Vec::new();
    for t in &data.trials {
        let label = &data.configurations[t.config].label;
        let rate: f64 = label.rsplit('=').next().unwrap().parse().unwrap();
        let mut records: Vec<_> = data.records.iter().filter(|r| r.trial == t.index).collect();
        records.sort_by(|a, b| a.sent_s.total_cmp(&b.sent_s));
        let waits = q.waits(records.iter().map(|r| r.sent_s));
        for (r, w) in records.iter().zip(waits) {
            if let Some(ttft) = r.ttft_ms {
                overheads_s.push((rate, w, ttft / 1000.0 - w - q.prefill_s));
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

/// In CI: four seeds (about three minutes), each interval
/// checked against the truth with the floor for four (2 of 4), and every
/// estimate within 10 % of it.
#[test]
fn the_interval_covers_an_m_d_c_sims_capacity_end_to_end_in_ci() {
    check(4, 0.10);
}

/// The same over 20 seeds (floor 16 of 20): about 12 minutes on two
/// cores, so `cargo test` leaves it out.
#[test]
#[ignore = "12 minutes on 2 cores: run with -- --ignored"]
fn the_interval_covers_an_m_d_c_sims_capacity_end_to_end() {
    check(SEEDS, 0.10);
}

/// `seeds` searches; coverage at least its binomial floor, and every
/// estimate within `within` (relative) of the truth.
fn check(seeds: u64, within: f64) {
    let runs: Vec<Searched> = (0..seeds)
        .map(|seed| {
            let r = search(seed);
            eprintln!(
                "seed {:2}: {:.1} [{:.1}, {:.1}] {} probes {} ({:.0} s)",
                r.seed, r.capacity, r.low, r.high, r.status, r.probes, r.seconds
            );
            r
        })
        .collect();
    let bounds = (10.0, 5000.0);
    let bare = queue().capacity(0.95, 2000, 1_000_003, bounds);
    // The overhead is taken where it is measured cleanly: on requests
    // that found a slot free, whose TTFT less the prefill is the round
    // trip and the client's and the host's delays alone, from the trials
    // offered near capacity (it grows with the rate sent). A request that
    // waited shows more (a burst that queues requests also delays the
    // client and the sim's one thread), but that excess comes with waits
    // that mostly fail it anyway; drawn independently for every simulated
    // request, as if it could fall on one that found a slot free, it
    // charged the truth too much (see the file's doc).
    let near = |rate: f64| (0.7 * bare..=1.4 * bare).contains(&rate);
    let mut idle: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.overheads_s.iter())
        .filter(|o| near(o.0) && o.1 < 1e-6)
        .map(|o| o.2)
        .collect();
    assert!(idle.len() > 1000, "too few requests near {bare:.0} req/s");
    idle.sort_by(f64::total_cmp);
    let at = |p: f64| idle[((idle.len() - 1) as f64 * p) as usize] * 1000.0;
    eprintln!(
        "overhead ms (requests that found a slot free): p50 {:.2} p95 {:.2} p99 {:.2}",
        at(0.5),
        at(0.95),
        at(0.99)
    );
    let overheads = Overheads(idle);
    let truth = queue().capacity_with(0.95, 2000, 1_000_003, bounds, Some(&overheads));
    let covers = |r: &Searched| r.low <= truth && truth <= r.high;
    let covered = runs.iter().filter(|r| covers(r)).count();
    let misses: Vec<u64> = runs.iter().filter(|r| !covers(r)).map(|r| r.seed).collect();
    let far: Vec<(u64, f64)> = runs
        .iter()
        .filter(|r| (r.capacity - truth).abs() > within * truth)
        .map(|r| (r.seed, r.capacity))
        .collect();
    let floor = coverage_floor(CONFIDENCE, seeds as usize);
    let errors: Vec<f64> = runs.iter().map(|r| r.capacity / truth - 1.0).collect();
    let bias = errors.iter().sum::<f64>() / errors.len() as f64;
    let rms = (errors.iter().map(|e| e * e).sum::<f64>() / errors.len() as f64).sqrt();
    eprintln!(
        "truth {truth:.2} req/s (without overhead {bare:.2}); \
coverage {covered}/{seeds} (floor {floor:.3}), misses {misses:?}; error: mean {bias:+.3}, rms {rms:.3}; beyond {within}: {far:?}"
    );
    assert!(
        covered as f64 / seeds as f64 >= floor,
        "coverage {covered}/{seeds} < {floor:.3}: misses {misses:?}"
    );
    assert!(
        far.is_empty(),
        "estimates more than {within} from {truth:.2}: {far:?}"
    );
}
