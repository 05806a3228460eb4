//! How the capacity search's interval covers, and how close its estimate
//! lands, as the design varies: the search's pure core driven with trials
//! of an M/D/c queue (tests/common/queue.rs, the tests' own truth), over
//! many seeds per design. A measurement, not a test: it prints a table
//! (coverage of the 95 % interval, rms and worst relative error, how many
//! estimates lay beyond 10 %, and the seconds of trials a search offered)
//! for the README's limits and for sizing tests/capacity_sim.rs.
//!
//! `cargo bench --profile dev --bench capacity_coverage` (1.5 minutes in
//! a debug build, which the tests' target folder already holds; a release
//! build of polars first takes longer); `SEEDS=200` for more seeds.

// The tests' own queue; its coverage floor serves them, not this.
#[allow(dead_code)]
#[path = "../tests/common/queue.rs"]
mod queue;

use infer_bench::experiment::CapacitySpec;
use queue::Mdc;

const SHARE: f64 = 0.95;

/// One design: the queue and its trials, and the search's budget.
struct Design {
    name: &'static str,
    queue: Mdc,
    trials_per_probe: u32,
    max_probes: u32,
    min: f64,
    max: f64,
}

/// The M/D/8 tests/capacity_sim.rs ran before (150-request trials, its
/// budget of 2 × 8), the same at the search's defaults (2 × 20) with short
/// and with long trials, and the M/D/32 it runs now.
fn designs() -> Vec<Design> {
    let mdc = |slots, service_s, ttft_limit_s, requests| Mdc {
        slots,
        service_s,
        prefill_s: 0.01,
        ttft_limit_s,
        requests,
    };
    let d = |name, queue, trials_per_probe, max_probes, min, max| Design {
        name,
        queue,
        trials_per_probe,
        max_probes,
        min,
        max,
    };
    vec![
        d(
            "M/D/8, 150-request trials, 2 × 8",
            mdc(8, 0.04, 0.05, 150),
            2,
            8,
            100.0,
            1000.0,
        ),
        d(
            "M/D/8, 150-request trials, 2 × 20 (defaults)",
            mdc(8, 0.04, 0.05, 150),
            2,
            20,
            100.0,
            1000.0,
        ),
        d(
            "M/D/8, 1500-request trials, 2 × 20 (defaults)",
            mdc(8, 0.04, 0.05, 1500),
            2,
            20,
            100.0,
            1000.0,
        ),
        d(
            "M/D/32, 450-request trials, 3 × 10 (capacity_sim)",
            mdc(32, 0.04, 0.015, 450),
            3,
            10,
            200.0,
            3000.0,
        ),
    ]
}

struct Tally {
    covered: usize,
    beyond_10: usize,
    squares: f64,
    worst: f64,
    seconds: f64,
}

fn main() {
    let seeds: u64 = std::env::var("SEEDS").map_or(100, |s| s.parse().expect("SEEDS: a count"));
    println!("| design | truth req/s | covered | rms error | worst | beyond 10 % | trial seconds per search |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for d in designs() {
        let spec: CapacitySpec = serde_json::from_str(&format!(
            r#"{{"factor":"rate","min":{},"max":{},"max_probes":{},"trials_per_probe":{}}}"#,
            d.min, d.max, d.max_probes, d.trials_per_probe
        ))
        .expect("a capacity spec");
        let truth = d.queue.capacity(SHARE, 2000, 1_000_003, (10.0, 5000.0));
        let mut t = Tally {
            covered: 0,
            beyond_10: 0,
            squares: 0.0,
            worst: 0.0,
            seconds: 0.0,
        };
        for seed in 0..seeds {
            let s = d.queue.search(&spec, SHARE, seed);
            let (x, i) = (s.estimate.fit.capacity, s.estimate.interval);
            let (low, high, seconds) = (i.low, i.high, s.seconds);
            let error = x / truth - 1.0;
            t.covered += usize::from(low <= truth && truth <= high);
            t.beyond_10 += usize::from(error.abs() > 0.1);
            t.squares += error * error;
            t.worst = t.worst.max(error.abs());
            t.seconds += seconds;
        }
        let n = seeds as f64;
        println!(
            "| {} | {truth:.1} | {}/{seeds} | {:.1} % | {:.1} % | {} | {:.0} |",
            d.name,
            t.covered,
            100.0 * (t.squares / n).sqrt(),
            100.0 * t.worst,
            t.beyond_10,
            t.seconds / n
        );
    }
}
