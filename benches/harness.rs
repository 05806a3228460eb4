//! What the harness costs per unit of work, on this machine:
//! `cargo bench --bench harness` (add `-- --quick` for a smoke run).
//!
//! - the client's per-event path (SSE framing, JSON chunk, timing, token
//!   accounting) over a recorded 100-token stream, against SSE framing alone;
//! - the per-request record path: outcome → record → a `requests.jsonl` line;
//! - the planner on a 10 000-trial experiment (parse, validate, expand);
//! - the analysis of 1 M records: records → polars frame → per-trial and
//!   per-configuration tables with the Welch comparisons.
//!
//! No criterion: a median of a few timed samples is enough for figures
//! quoted as ratios, and keeps the build light.

use infer_bench::client::{replay, sse, Outcome};
use infer_bench::record::{RequestSlot, RequestStatus, TokensSource};
use infer_bench::results::{requests_frame, write_record};
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::time::Instant as TokioInstant;

type BenchFn = fn(&Bench);

struct Bench {
    quick: bool,
}

impl Bench {
    /// Median seconds per call of `f` over a few samples, each long enough
    /// to swamp the clock's resolution.
    fn time<T>(&self, mut f: impl FnMut() -> T) -> f64 {
        black_box(f());
        let (samples, min_sample) = if self.quick {
            (1, Duration::from_millis(20))
        } else {
            (7, Duration::from_millis(300))
        };
        let mut per_call: Vec<f64> = (0..samples)
            .map(|_| {
                let start = Instant::now();
                let mut n = 0u32;
                while start.elapsed() < min_sample || n == 0 {
                    black_box(f());
                    n += 1;
                }
                start.elapsed().as_secs_f64() / f64::from(n)
            })
            .collect();
        per_call.sort_by(f64::total_cmp);
        per_call[per_call.len() / 2]
    }
}

/// A completions stream as a server sends it: 100 content events, the
/// finish, usage and `[DONE]`, cut into one read per event.
fn recorded_stream(tokens: usize) -> Vec<Vec<u8>> {
    let mut reads: Vec<Vec<u8>> = (0..tokens)
        .map(|i| {
            format!(
                "data: {{\"id\":\"cmpl-42\",\"object\":\"text_completion\",\"created\":0,\"model\":\"m\",\"choices\":[{{\"index\":0,\"text\":\" word{i}\",\"finish_reason\":null}}]}}\n\n"
            )
            .into_bytes()
        })
        .collect();
    reads.push(b"data: {\"id\":\"cmpl-42\",\"object\":\"text_completion\",\"created\":0,\"model\":\"m\",\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":\"length\"}]}\n\n".to_vec());
    reads.push(format!("data: {{\"id\":\"cmpl-42\",\"choices\":[],\"usage\":{{\"prompt_tokens\":200,\"completion_tokens\":{tokens},\"total_tokens\":{}}}}}\n\n", 200 + tokens).into_bytes());
    reads.push(b"data: [DONE]\n\n".to_vec());
    reads
}

fn outcome(tokens: usize) -> Outcome {
    Outcome {
        sent: TokioInstant::now(),
        status: RequestStatus::Ok,
        http_status: Some(200),
        error: None,
        ttft_ms: Some(51.234),
        e2e_ms: 1042.5,
        itl_ms: (0..tokens - 1)
            .map(|i| 10.0 + (i % 7) as f64 * 0.013)
            .collect(),
        prompt_tokens: Some(200),
        completion_tokens: Some(tokens as u64),
        tokens_source: TokensSource::Usage,
        finish_reason: Some("length".into()),
        server_prompt_ms: None,
        server_decode_ms: None,
        cached_tokens: None,
        choice_events: Vec::new(),
        response_id: Some("cmpl-sim-123456".into()),
        connect_ms: None,
        reused: Some(true),
        retried: false,
        warnings: Vec::new(),
        first_reasoning_ms: None,
        first_answer_ms: None,
        reasoning_tokens: None,
        text: None,
    }
}

fn slot(i: usize) -> RequestSlot {
    RequestSlot {
        trial: 0,
        config: 0,
        repetition: 0,
        request: i,
        requested_input_tokens: Some(200),
        requested_output_tokens: Some(100),
        batch: 1,
        session: None,
        turn: None,
    }
}

fn sse_path(b: &Bench) {
    let reads = recorded_stream(100);
    let events = reads.len() as f64;
    let framing = b.time(|| {
        let mut p = sse::Parser::new();
        let mut out = Vec::new();
        for r in &reads {
            p.feed(r, &mut out);
        }
        out.len()
    });
    let whole = b.time(|| {
        let now = TokioInstant::now();
        let o = replay(reads.iter().map(|r| (now, r.as_slice())), now);
        assert_eq!(o.completion_tokens, Some(100));
        o.itl_ms.len()
    });
    println!(
        "client event path   {:>10.0} events/s  ({:.2} µs/event; SSE framing alone {:.0} events/s, {:.1}× the whole path)",
        events / whole,
        whole / events * 1e6,
        events / framing,
        whole / framing
    );
    println!(
        "                    at 1000 streams × 100 events/s the path takes {:.0} % of one core",
        100_000.0 * whole / events * 100.0
    );
}

fn record_path(b: &Bench) {
    let mut line = Vec::with_capacity(4096);
    let per = b.time(|| {
        line.clear();
        let r = outcome(100).into_record(slot(7), 12.5);
        write_record(&mut line, &r).unwrap();
        line.len()
    });
    let bytes = line.len();
    println!(
        "record path         {:>10.0} records/s ({:.2} µs/record, {bytes} bytes of JSONL for 100 tokens)",
        1.0 / per,
        per * 1e6
    );
}

fn planner(b: &Bench) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let levels: Vec<String> = (1..=1000).map(|c| c.to_string()).collect();
    let yaml = format!(
        "name: plan-10k\nseed: 1\ntarget: {{builtin: sim}}\nprompts: ../prompts/general.yaml\n\
         baseline: {{concurrency: 1, input_tokens: 64, output_tokens: 16}}\n\
         factors:\n  concurrency: [{}]\nrepetitions: 10\ntrial: {{requests: 10}}\n",
        levels.join(", ")
    );
    let path = root.join("experiments/plan-10k.yaml");
    let per = b.time(|| {
        let l = infer_bench::experiment::load_str(&path, yaml.clone()).unwrap();
        let plan = infer_bench::plan::expand(&l.experiment);
        assert_eq!(plan.trials.len(), 10_000);
        plan.trials.len()
    });
    println!(
        "planner             10 000 trials in {:.1} ms (parse, validate, expand)",
        per * 1e3
    );
}

fn analysis(b: &Bench) {
    use infer_bench::experiment::Level;
    use infer_bench::plan::Configuration;
    let n_records: usize = if b.quick { 20_000 } else { 1_000_000 };
    let (configs_n, reps) = (10usize, 10usize);
    let per_trial = n_records / (configs_n * reps);
    let configs: Vec<Configuration> = (0..configs_n)
        .map(|i| {
            let mut values = indexmap::IndexMap::new();
            values.insert("concurrency".to_string(), Level::Int(1 << i));
            Configuration {
                index: i,
                label: if i == 0 {
                    "baseline".into()
                } else {
                    format!("concurrency={}", 1 << i)
                },
                factors: (i > 0).then(|| "concurrency".into()).into_iter().collect(),
                level: (i > 0).then_some(Level::Int(1 << i)),
                values,
            }
        })
        .collect();
    let start = Instant::now();
    let mut records = Vec::with_capacity(n_records);
    for trial in 0..configs_n * reps {
        let config = trial % configs_n;
        for i in 0..per_trial {
            let mut o = outcome(17);
            let wobble = ((trial * 7919 + i * 104_729) % 1000) as f64 / 1000.0;
            o.ttft_ms = Some(40.0 + config as f64 + wobble * 5.0);
            o.e2e_ms = 200.0 + wobble * 20.0;
            let mut s = slot(i);
            s.trial = trial;
            s.config = config;
            s.repetition = (trial / configs_n) as u32;
            records.push(o.into_record(s, i as f64 * 0.01));
        }
    }
    let made = start.elapsed();
    let frame = b.time(|| requests_frame(&records, &configs).unwrap().height());
    let requests = requests_frame(&records, &configs).unwrap();
    let monitor = infer_bench::analysis::monitor_frame(&[]).unwrap();
    let analyse = b.time(|| {
        let a = infer_bench::analysis::analyse(
            &requests,
            &monitor,
            &configs,
            Default::default(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(a.trials.height(), configs_n * reps);
        a.rows.len()
    });
    // The ITL percentiles side by side: polars exploding the gap lists in
    // each group, once per percentile (what the analysis did), against one
    // pass over the list's buffer (what it does).
    let exploded = b.time(|| {
        use polars::prelude::*;
        let flat = || {
            col("itl_ms").filter(col("ok")).explode(ExplodeOptions {
                empty_as_null: false,
                keep_nulls: false,
            })
        };
        let q = |x: f64, name: &str| flat().quantile(lit(x), QuantileMethod::Linear).alias(name);
        requests
            .clone()
            .lazy()
            .group_by_stable([col("trial")])
            .agg([q(0.5, "p50"), q(0.95, "p95"), q(0.99, "p99")])
            .collect()
            .unwrap()
            .height()
    });
    let direct = b.time(|| {
        infer_bench::analysis::itl_by(&requests, "trial")
            .unwrap()
            .height()
    });
    println!(
        "ITL percentiles     per trial over {} gaps: polars explode per group {:.2} s, one pass over the buffer {:.2} s ({:.1}× faster)",
        n_records * 16,
        exploded,
        direct,
        exploded / direct
    );
    println!(
        "analysis            {n_records} records (16 ITL each): tables and Welch in {:.2} s; records → frame {:.2} s ({:.1}× the analysis); {:.1} s to make them",
        analyse,
        frame,
        frame / analyse,
        made.as_secs_f64()
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let b = Bench { quick };
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "infer-bench harness benchmarks ({cpus} CPUs{})",
        if quick { ", --quick" } else { "" }
    );
    // `cargo bench --bench harness -- analysis` runs the benchmarks named.
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let benches: [(&str, BenchFn); 4] = [
        ("sse", sse_path),
        ("record", record_path),
        ("planner", planner),
        ("analysis", analysis),
    ];
    for (name, run) in benches {
        if names.is_empty() || names.iter().any(|n| n == name) {
            run(&b);
        }
    }
}
