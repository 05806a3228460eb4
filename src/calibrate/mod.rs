//! `infer-bench calibrate`: how much the harness itself adds to what it
//! measures. A sim with fixed, known TTFT and ITL runs in its own process
//! and logs when it really sent each event; the client drives it through
//! the same path a run uses (client, load loop, record log on disk) at each
//! load point, and every record is compared with the sim's account of the
//! same response.

mod args;
mod errors;
mod sim_process;
mod table;

pub use errors::{join, Errors, Spread};
pub use sim_process::SimProcess;

use crate::client::{Client, ClientConfig, GenRequest};
use crate::error::InputError;
use crate::experiment::Api;
use crate::load::{self, Arrivals, LoadModel, TrialLoad, Work};
use crate::monitor;
use crate::record::Record;
use crate::results::Host;
use crate::sim::Truth;
use anyhow::Context as _;
pub use args::CalibrateArgs;
use serde::Serialize;
use std::io::{BufRead, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One load point's figures: the harness's error against the sim's truth,
/// its throughput and its cost.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `closed` (a fixed number of streams) or `open` (Poisson arrivals).
    pub load: &'static str,
    /// Closed loop: concurrent streams.
    pub concurrency: Option<usize>,
    /// Open loop: arrivals per second.
    pub rate_rps: Option<f64>,
    pub requests: usize,
    pub failed: usize,
    /// Successful requests whose truth was missing: left out of the errors.
    pub unmatched: usize,
    pub ttft_error_p50_ms: Option<f64>,
    pub ttft_error_p99_ms: Option<f64>,
    pub ttft_error_max_ms: Option<f64>,
    pub itl_error_p50_ms: Option<f64>,
    pub itl_error_p99_ms: Option<f64>,
    pub itl_error_max_ms: Option<f64>,
    /// What the sim really did (p50): how well it kept the TTFT and ITL it
    /// was told.
    pub true_ttft_p50_ms: Option<f64>,
    pub true_itl_p50_ms: Option<f64>,
    /// Open loop: how late the client sent, against the schedule.
    pub send_lag_p50_ms: Option<f64>,
    pub send_lag_p99_ms: Option<f64>,
    pub send_lag_max_ms: Option<f64>,
    /// Content events the client received per second of the load.
    pub events_per_s: f64,
    /// The client process's CPU time over the load's wall time (100 = one core).
    pub client_cpu_pct: Option<f64>,
    /// The sim's CPU time over the same wall time: near 100 × cores, the
    /// sim itself is late and the errors are not all the client's.
    pub sim_cpu_pct: Option<f64>,
    /// The client process's peak resident memory during the load.
    pub peak_rss_mb: Option<f64>,
    pub wall_s: f64,
}

/// What `--json` writes: the rows and what they were measured on.
#[derive(Debug, Serialize)]
struct Report<'a> {
    tool: String,
    host: Host,
    sim: SimShape,
    /// Whether each point's peak RSS is its own (else the process's so far).
    peak_rss_per_point: bool,
    rows: &'a [Row],
}

#[derive(Debug, Clone, Copy, Serialize)]
struct SimShape {
    ttft_ms: f64,
    itl_ms: f64,
    tokens: u64,
}

pub fn calibrate(args: &CalibrateArgs) -> anyhow::Result<()> {
    check(args)?;
    let shape = SimShape {
        ttft_ms: args.ttft_ms,
        itl_ms: args.itl_ms,
        tokens: args.tokens,
    };
    // Every stream holds a socket here and one in the sim, which inherits
    // the raised limit.
    let request_s = (args.ttft_ms + args.itl_ms * args.tokens as f64) / 1000.0;
    let most_in_flight = args
        .concurrency
        .iter()
        .map(|c| *c as f64)
        .chain(args.rate.iter().map(|r| r * request_s * 1.5))
        .fold(1.0, f64::max);
    if let Some((soft, hard)) = crate::runner::raise_open_files() {
        crate::experiment::validate::open_files_for(most_in_flight as u64, soft, hard)
            .map_err(InputError::from)?;
    }
    let sim = SimProcess::start(args.ttft_ms, args.itl_ms)?;
    let scratch =
        std::env::temp_dir().join(format!("infer-bench-calibrate-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(measure_all(args, &sim, &scratch, request_s));
    let _ = std::fs::remove_dir_all(&scratch);
    let (rows, per_point) = rows?;
    drop(sim);

    let host = Host::this();
    // A full disk or a closed pipe on stdout is an error, not a panic.
    use std::io::Write as _;
    write!(std::io::stdout(), "{}", table::render(&rows, &host, args))
        .context("writing to stdout")?;
    if let Some(path) = &args.json {
        let report = Report {
            tool: crate::results::Tool::this().to_string(),
            host,
            sim: shape,
            peak_rss_per_point: per_point,
            rows: &rows,
        };
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        crate::error::warn(format_args!("calibration: {}", path.display()));
    }
    Ok(())
}

fn check(args: &CalibrateArgs) -> Result<(), InputError> {
    let bad = |m: String| Err(InputError::new(m));
    if args.concurrency.contains(&0) {
        return bad("--concurrency: each level must be at least 1".into());
    }
    if let Some(r) = args.rate.iter().find(|r| !(r.is_finite() && **r > 0.0)) {
        return bad(format!(
            "--rate: each rate must be a positive number, got {r}"
        ));
    }
    for (name, v) in [("--ttft-ms", args.ttft_ms), ("--itl-ms", args.itl_ms)] {
        if !(v.is_finite() && v >= 0.0) {
            return bad(format!("{name} must be a finite number ≥ 0, got {v}"));
        }
    }
    if args.tokens == 0 || args.rounds == 0 {
        return bad("--tokens and --rounds must be at least 1".into());
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return bad(format!("--seconds must be positive, got {}", args.seconds));
    }
    Ok(())
}

/// The load points in order; the second value says whether each point's
/// peak RSS could be measured on its own.
async fn measure_all(
    args: &CalibrateArgs,
    sim: &SimProcess,
    scratch: &Path,
    request_s: f64,
) -> anyhow::Result<(Vec<Row>, bool)> {
    let client = Arc::new(Client::new(ClientConfig {
        base_url: sim.base_url.clone(),
        api: Api::Completions,
        headers: Vec::new(),
        secret_headers: Vec::new(),
        api_key: None,
        timeout: Duration::from_secs(120),
        tokenize_path: "/tokenize".into(),
        model: "sim".into(),
    })?);
    let mut rows = Vec::new();
    let mut per_point = true;
    let points = args
        .concurrency
        .iter()
        .map(|c| Point::Closed(*c))
        .chain(args.rate.iter().map(|r| Point::Open(*r)));
    for (i, point) in points.enumerate() {
        let (row, own_peak) = measure(
            &client,
            sim,
            args,
            point,
            &scratch.join(format!("{i}.jsonl")),
            request_s,
        )
        .await?;
        per_point &= own_peak;
        crate::error::warn(format_args!("{}", table::progress(&row)));
        rows.push(row);
    }
    Ok((rows, per_point))
}

/// Requests at the least per closed-loop point, for a p99 of some meaning.
const MIN_REQUESTS: usize = 10;

#[derive(Debug, Clone, Copy)]
enum Point {
    Closed(usize),
    Open(f64),
}

fn requests(n: usize, tokens: u64, tag: &str) -> Vec<GenRequest> {
    (0..n)
        .map(|i| GenRequest {
            model: "sim".into(),
            prompt: format!("calibration {tag} request {i}: the keeper lit the lamp"),
            batch: Vec::new(),
            system: None,
            max_tokens: Some(tokens),
            exact_output: true,
            params: Default::default(),
            requested_output_tokens: Some(tokens),
            ..Default::default()
        })
        .collect()
}

async fn measure(
    client: &Arc<Client>,
    sim: &SimProcess,
    args: &CalibrateArgs,
    point: Point,
    log_path: &Path,
    request_s: f64,
) -> anyhow::Result<(Row, bool)> {
    let (n, in_flight, model) = shape(args, point, request_s);
    // Warm up as many connections as the point will hold open.
    let warm = load::warm_up(
        client.clone(),
        Arc::new(requests(in_flight, 2, "warm-up")),
        in_flight,
    )
    .await;
    if let Some(failed) = warm.iter().find(|o| !o.ok()) {
        anyhow::bail!(
            "calibration warm-up failed: {}",
            failed.error.clone().unwrap_or_default()
        );
    }
    sim.take_truth().await?;

    let trial = TrialLoad {
        trial: 0,
        config: 0,
        repetition: 0,
        requests: Some(n),
        duration: None,
        batch: 1,
    };
    let measured = requests(n, args.tokens, "measured");
    let own_peak = monitor::reset_own_peak_rss();
    let cpu_before = monitor::own_cpu_s();
    let sim_before = sim.cpu_s();
    let start = Instant::now();
    drive(client, measured, trial, &model, log_path).await?;
    let wall_s = start.elapsed().as_secs_f64();
    let usage = Usage {
        wall_s,
        client_cpu_pct: cpu_before
            .zip(monitor::own_cpu_s())
            .map(|(a, b)| (b - a) / wall_s * 100.0),
        sim_cpu_pct: sim_before
            .zip(sim.cpu_s())
            .map(|(a, b)| (b - a) / wall_s * 100.0),
        peak_rss_mb: monitor::own_peak_rss_bytes().map(|b| b as f64 / 1e6),
    };
    let records = read_log(log_path)?;
    let truths: Vec<Truth> = sim.take_truth().await?;
    let row = row_of(point, &records, truths, usage);
    if row.failed > 0 {
        let first = records
            .iter()
            .find_map(|r| r.error.clone())
            .unwrap_or_default();
        crate::error::warn(format_args!(
            "calibration: {} of {} requests failed, first: {first}",
            row.failed, row.requests
        ));
    }
    Ok((row, own_peak))
}

/// A point's requests, how many are in flight at most, and its load model.
fn shape(args: &CalibrateArgs, point: Point, request_s: f64) -> (usize, usize, LoadModel) {
    match point {
        Point::Closed(c) => {
            let model = LoadModel::Closed {
                concurrency: c,
                // Streams of one fixed length would otherwise all send in
                // the same instant, round after round: spread them over one
                // request's time, as a real server's varying lengths would.
                stagger: Duration::from_secs_f64(request_s),
            };
            ((c * args.rounds).max(MIN_REQUESTS), c, model)
        }
        Point::Open(rate) => {
            let n = ((rate * args.seconds).round() as usize).max(2);
            let in_flight = ((rate * request_s).ceil() as usize).clamp(1, n);
            let model = LoadModel::Open {
                arrivals: Arrivals::Poisson { rate },
                max_in_flight: None,
            };
            (n, in_flight, model)
        }
    }
}

/// The arrivals' seed of every open point, so that two calibrations send
/// at the same offsets.
const ARRIVALS_SEED: u64 = 7;

/// Run the point's load through the run's own path, its records streamed
/// to `log_path` as a run's are: the log is part of the harness.
async fn drive(
    client: &Arc<Client>,
    measured: Vec<GenRequest>,
    trial: TrialLoad,
    model: &LoadModel,
    log_path: &Path,
) -> anyhow::Result<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record>(4096);
    let work = load::run(
        model,
        client.clone(),
        Work::Pool(measured),
        trial,
        ARRIVALS_SEED,
        tx,
    );
    let file = std::fs::File::create(log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let log = async {
        let mut out = BufWriter::with_capacity(1 << 20, file);
        let mut written = Ok(());
        while let Some(r) = rx.recv().await {
            if written.is_ok() {
                written = crate::results::write_record(&mut out, &r);
            }
        }
        written.and_then(|()| Ok(out.flush()?))
    };
    let (_, logged) = tokio::join!(work, log);
    logged.with_context(|| format!("writing {}", log_path.display()))
}

/// What the client and the sim spent on a point.
struct Usage {
    wall_s: f64,
    client_cpu_pct: Option<f64>,
    sim_cpu_pct: Option<f64>,
    peak_rss_mb: Option<f64>,
}

/// A point's row: the records held against the sim's truth.
fn row_of(point: Point, records: &[Record], truths: Vec<Truth>, usage: Usage) -> Row {
    let true_ttft: Vec<f64> = truths.iter().filter_map(|t| t.ttft_ms).collect();
    let true_itl: Vec<f64> = truths
        .iter()
        .flat_map(|t| t.itl_ms.iter().copied())
        .collect();
    let e = join(records, truths);
    let ttft = Spread::of(&e.ttft_ms);
    let itl = Spread::of(&e.itl_ms);
    let lag: Vec<f64> = records.iter().filter_map(|r| r.queue_ms).collect();
    let lag = (!lag.is_empty()).then(|| Spread::of(&lag));
    let (load, concurrency, rate_rps) = match point {
        Point::Closed(c) => ("closed", Some(c), None),
        Point::Open(r) => ("open", None, Some(r)),
    };
    Row {
        load,
        concurrency,
        rate_rps,
        requests: records.len(),
        failed: records.iter().filter(|r| !r.ok()).count(),
        unmatched: e.unmatched,
        ttft_error_p50_ms: ttft.p50,
        ttft_error_p99_ms: ttft.p99,
        ttft_error_max_ms: ttft.max,
        itl_error_p50_ms: itl.p50,
        itl_error_p99_ms: itl.p99,
        itl_error_max_ms: itl.max,
        true_ttft_p50_ms: crate::analysis::stats::percentile(&true_ttft, 0.5),
        true_itl_p50_ms: crate::analysis::stats::percentile(&true_itl, 0.5),
        send_lag_p50_ms: lag.and_then(|l| l.p50),
        send_lag_p99_ms: lag.and_then(|l| l.p99),
        send_lag_max_ms: lag.and_then(|l| l.max),
        events_per_s: e.events as f64 / usage.wall_s,
        client_cpu_pct: usage.client_cpu_pct,
        sim_cpu_pct: usage.sim_cpu_pct,
        peak_rss_mb: usage.peak_rss_mb,
        wall_s: usage.wall_s,
    }
}

fn read_log(path: &Path) -> anyhow::Result<Vec<Record>> {
    let file = std::fs::File::open(path)?;
    std::io::BufReader::new(file)
        .lines()
        .map(|line| Ok(serde_json::from_str(&line?)?))
        .collect()
}
