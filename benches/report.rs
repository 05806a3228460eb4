//! The whole `report` path on a large run: a run folder of synthetic
//! records is written by the real run writer (manifest, plan, the JSONL
//! journal, done.jsonl), then `infer-bench report` runs on it as a child
//! process, timed by the wall clock, its peak RSS read from `wait4`.
//!
//! ```text
//! cargo bench --bench report                      # 1 M records, this build
//! cargo bench --bench report -- --records 300000 --records 1200000
//! cargo bench --bench report -- --bin /tmp/infer-bench-old --bin target/release/infer-bench
//! cargo bench --bench report -- --quick           # 20 000 records, a smoke run
//! ```
//!
//! Each size is one folder (4 configurations × 3 repetitions = 12 trials,
//! 32 inter-token gaps per request). Each binary reports it once with no
//! `requests.parquet` in the folder (the first report, which writes it, as
//! `run` does at its end), then `--samples` times more (default 3: a later
//! `report`, which rewrites the table only if the journal changed),
//! binaries alternating so the machine's noise falls on both alike. The
//! figures are the first report's wall time and peak RSS, and the later
//! ones' median wall time and largest peak RSS.

use infer_bench::record::{Record, RequestStatus, TokensSource};
use std::path::{Path, PathBuf};
use std::time::Instant;

const CONFIGS: usize = 4;
const REPETITIONS: usize = 3;
const GAPS: usize = 32;

struct Args {
    records: Vec<usize>,
    bins: Vec<PathBuf>,
    samples: usize,
    keep: Option<PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        records: Vec::new(),
        bins: Vec::new(),
        samples: 3,
        keep: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--records" => a.records.push(value().parse().expect("--records N")),
            "--bin" => a.bins.push(value().into()),
            "--samples" => a.samples = value().parse().expect("--samples N"),
            "--keep" => a.keep = Some(value().into()),
            "--quick" => {
                a.records.push(20_000);
                a.samples = 1;
            }
            _ => {} // cargo bench passes --bench
        }
    }
    if a.records.is_empty() {
        a.records.push(1_000_000);
    }
    if a.bins.is_empty() {
        a.bins
            .push(PathBuf::from(env!("CARGO_BIN_EXE_infer-bench")));
    }
    a
}

fn experiment_text(per_trial: usize) -> String {
    format!(
        "name: big
seed: 1
target: {{builtin: sim, model: sim-q4_K_M}}
prompts: prompts.yaml
baseline: {{concurrency: 1, input_tokens: 64, output_tokens: {out}}}
factors:
  concurrency: [1, 2, 4, 8]
repetitions: {REPETITIONS}
trial: {{requests: {per_trial}}}
",
        out = GAPS + 1
    )
}

/// A record as the client makes it, with values that vary by trial,
/// configuration and request so no percentile is degenerate.
fn record(trial: usize, config: usize, repetition: u32, i: usize) -> Record {
    let wobble = |k: usize| ((trial * 7919 + i * 104_729 + k * 31) % 1000) as f64 / 1000.0;
    let ttft = 40.0 + config as f64 * 3.0 + wobble(0) * 5.0;
    let itl_ms: Vec<f64> = (0..GAPS)
        .map(|k| 9.5 + config as f64 * 0.25 + wobble(k + 1))
        .collect();
    let e2e = ttft + itl_ms.iter().sum::<f64>();
    let ok = (i + trial) % 997 != 0;
    Record {
        trial,
        config,
        repetition,
        request: i,
        sent_s: i as f64 * 0.001,
        scheduled_s: None,
        queue_ms: None,
        wait_ms: None,
        ttft_ms: ok.then_some(ttft),
        e2e_ms: e2e,
        tpot_ms: ok.then_some((e2e - ttft) / GAPS as f64),
        itl_ms: if ok { itl_ms } else { Vec::new() },
        prompt_tokens: Some(64),
        completion_tokens: ok.then_some(GAPS as u64 + 1),
        requested_input_tokens: Some(64),
        requested_output_tokens: Some(GAPS as u64 + 1),
        tokens_source: TokensSource::Usage,
        status: if ok {
            RequestStatus::Ok
        } else {
            RequestStatus::Failed
        },
        http_status: Some(if ok { 200 } else { 503 }),
        error: (!ok).then(|| "HTTP 503: overloaded".to_string()),
        finish_reason: ok.then(|| "length".to_string()),
        server_prompt_ms: None,
        server_decode_ms: None,
        cached_tokens: None,
        batch_size: None,
        choice_tokens: Vec::new(),
        response_id: Some(format!("cmpl-{trial}-{i}")),
        connect_ms: None,
        reused: Some(true),
        retried: false,
        warnings: Vec::new(),
        first_reasoning_ms: None,
        first_answer_ms: None,
        reasoning_tokens: None,
        session: None,
        turn: None,
    }
}

/// Write a complete run folder of `records` records under `parent`.
fn write_run(parent: &Path, records: usize) -> PathBuf {
    let per_trial = records / (CONFIGS * REPETITIONS);
    let exp_path = parent.join("big.yaml");
    std::fs::write(
        parent.join("prompts.yaml"),
        "templates: [\"Say something about {{ topic }}.\"]\nvariables:\n  topic: [tides, bees]\n",
    )
    .unwrap();
    std::fs::write(&exp_path, experiment_text(per_trial)).unwrap();
    let loaded = infer_bench::experiment::load(&exp_path).expect("the experiment loads");
    let plan = infer_bench::plan::expand(&loaded.experiment);
    let mut w = infer_bench::results::RunWriter::create(
        &parent.join("results"),
        &loaded,
        &plan,
        Default::default(),
    )
    .unwrap();
    for t in &plan.trials {
        for i in 0..per_trial {
            w.record(&record(t.index, t.config, t.repetition, i))
                .unwrap();
        }
        w.trial_done(t.index, per_trial, &[]).unwrap();
    }
    w.finish(infer_bench::results::Status::Complete, None)
        .unwrap();
    w.dir.clone()
}

/// Wall seconds and peak RSS (MB) of `bin report dir`.
fn report(bin: &Path, dir: &Path) -> (f64, f64) {
    let start = Instant::now();
    // Reaped by wait4 below, which also gives its peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(bin)
        .arg("report")
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("the binary starts");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, filled by wait4 for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(got, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{} report {} failed",
        bin.display(),
        dir.display()
    );
    (wall, usage.ru_maxrss as f64 / 1024.0)
}

fn main() {
    let a = args();
    let scratch = tempfile::tempdir().unwrap();
    let parent = a
        .keep
        .clone()
        .unwrap_or_else(|| scratch.path().to_path_buf());
    println!(
        "report, the whole path: journal → every output ({} trials, {GAPS} gaps per request)",
        CONFIGS * REPETITIONS
    );
    println!("| records | binary | first report s | peak RSS MB | later reports s (median) | peak RSS MB (max) | journal MB |");
    println!("| ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    for &n in &a.records {
        let at = parent.join(format!("r{n}"));
        std::fs::create_dir_all(&at).unwrap();
        let dir = write_run(&at, n);
        let journal = std::fs::metadata(dir.join("requests.jsonl")).unwrap().len() as f64 / 1e6;
        let table = dir.join("requests.parquet");
        let first: Vec<(f64, f64)> = a
            .bins
            .iter()
            .map(|bin| {
                let _ = std::fs::remove_file(&table);
                report(bin, &dir)
            })
            .collect();
        let mut later: Vec<(Vec<f64>, f64)> = vec![(Vec::new(), 0.0); a.bins.len()];
        for _ in 0..a.samples {
            for (b, bin) in a.bins.iter().enumerate() {
                let (wall, rss) = report(bin, &dir);
                later[b].0.push(wall);
                later[b].1 = later[b].1.max(rss);
            }
        }
        for ((bin, (mut walls, rss)), (first_wall, first_rss)) in
            a.bins.iter().zip(later).zip(first)
        {
            walls.sort_by(f64::total_cmp);
            println!(
                "| {n} | {} | {first_wall:.2} | {first_rss:.0} | {:.2} | {rss:.0} | {journal:.0} |",
                bin.display(),
                walls[walls.len() / 2]
            );
        }
        if a.keep.is_none() {
            std::fs::remove_dir_all(&at).unwrap();
        }
    }
}
