//! Numbers pinned exactly: a scripted server in the test's own runtime with
//! its clock paused, so every event lands at a known instant (tokio moves
//! the paused clock only to the next timer; loopback I/O takes no time on
//! it). The whole run path (client, closed loop, records, analysis, table)
//! must then give the README's formulas to the last digit:
//!
//! - each request: first token after 50 ms, four more 10 ms apart, so
//!   TTFT = 50 ms, E2E = 90 ms, TPOT = (90 − 50) / (5 − 1) = 10 ms;
//! - a trial of 4 requests back to back: wall time 4 × 90 ms = 360 ms, so
//!   output tok/s = 4 × 5 / 0.36 = 55.5̅ and req/s = 4 / 0.36 = 11.1̅.

use infer_bench::report::{report_dir, Format};
use infer_bench::results::{read_parquet, read_run, TRIALS};
use infer_bench::runner::{self, RunOptions};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const FIRST_MS: u64 = 50;
const GAP_MS: u64 = 10;
const TOKENS: u64 = 5;

fn chunk(body: &str) -> String {
    format!("{:x}\r\n{body}\r\n", body.len())
}

/// Answer the request on `conn` with the scripted stream, then close.
async fn serve(mut conn: tokio::net::TcpStream) {
    // The request: its head and its Content-Length body.
    let mut buf = vec![0u8; 64 << 10];
    let mut pending = Vec::new();
    let (head_end, length) = loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse().unwrap());
            break (end + 4, length);
        }
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    };
    while pending.len() < head_end + length {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
    // A new connection per request: with the clock paused, a kept one
    // stalls after the response head (readiness on a reused socket is not
    // seen before the clock jumps to the timeout; in real time it is, see
    // tests/hostile.rs), so this test does not reuse.
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    for i in 0..TOKENS {
        let wait = if i == 0 { FIRST_MS } else { GAP_MS };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let event = format!(
            "data: {{\"choices\":[{{\"text\":\"t{i}\",\"index\":0,\"finish_reason\":null}}]}}\n\n"
        );
        conn.write_all(chunk(&event).as_bytes()).await.unwrap();
    }
    let end = format!(
        "data: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":7,\"completion_tokens\":{TOKENS}}}}}\n\ndata: [DONE]\n\n"
    );
    conn.write_all(format!("{}0\r\n\r\n", chunk(&end)).as_bytes())
        .await
        .unwrap();
}

fn column(df: &polars::prelude::DataFrame, name: &str) -> Vec<f64> {
    let values = df
        .column(name)
        .unwrap()
        .cast(&polars::prelude::DataType::Float64)
        .unwrap();
    let values = values.f64().unwrap();
    (0..values.len()).map(|i| values.get(i).unwrap()).collect()
}

fn assert_all(values: &[f64], expected: f64, what: &str) {
    for v in values {
        assert!(
            (v - expected).abs() < 1e-9,
            "{what}: {v} ≠ {expected} ({values:?})"
        );
    }
}

/// The run on a paused clock, the scripted server in the same runtime;
/// the run folder.
async fn scripted_run(tmp: &std::path::Path) -> std::path::PathBuf {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(serve(conn));
        }
    });
    let exp = tmp.join("exact.yaml");
    std::fs::write(
        &exp,
        format!(
            "name: exact\nseed: 1\ntarget: {{base_url: 'http://{addr}/v1', model: m}}\nprompts: {}\n\
             baseline: {{concurrency: 1, output_tokens: {TOKENS}}}\nrepetitions: 2\nwarmup: {{requests: 0}}\ntrial: {{requests: 4}}\n",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("prompts/general.yaml")
                .display()
        ),
    )
    .unwrap();
    let loaded = infer_bench::experiment::load(&exp).unwrap();
    let opts = RunOptions {
        out: tmp.to_path_buf(),
        progress: false,
        resume: None,
        overrides: Default::default(),
        shard: None,
    };
    runner::run(&loaded, &opts).await.unwrap()
}

#[test]
fn the_run_path_gives_the_formulas_to_the_last_digit() {
    let tmp = tempfile::tempdir().unwrap();
    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    let dir = paused.block_on(scripted_run(tmp.path()));
    // The analysis (polars) outside the paused runtime.
    let formats = [Format::Table, Format::Md];
    let out = report_dir(&dir, &formats).unwrap();

    let run = read_run(&dir).unwrap();
    assert_eq!(run.records.len(), 8);
    for r in &run.records {
        eprintln!(
            "{} {} {:?} {:?} {:?} {}",
            r.trial, r.request, r.reused, r.error, r.ttft_ms, r.sent_s
        );
    }
    for r in &run.records {
        assert!(r.ok(), "{r:?}");
        assert!((r.ttft_ms.unwrap() - 50.0).abs() < 1e-9, "{r:?}");
        assert!((r.e2e_ms - 90.0).abs() < 1e-9, "{r:?}");
        assert!((r.tpot_ms.unwrap() - 10.0).abs() < 1e-9, "{r:?}");
        assert_eq!(r.itl_ms.len(), 4);
        assert_all(&r.itl_ms, 10.0, "ITL");
    }

    let trials = read_parquet(&dir.join(TRIALS)).unwrap();
    assert_eq!(trials.height(), 2);
    assert_all(&column(&trials, "ttft_p50_ms"), 50.0, "TTFT p50");
    assert_all(&column(&trials, "e2e_p95_ms"), 90.0, "E2E p95");
    assert_all(&column(&trials, "tpot_mean_ms"), 10.0, "TPOT mean");
    assert_all(&column(&trials, "wall_s"), 0.36, "wall time");
    assert_all(
        &column(&trials, "output_tok_s"),
        20.0 / 0.36,
        "output tok/s",
    );
    assert_all(&column(&trials, "requests_per_s"), 4.0 / 0.36, "req/s");
    assert_all(&column(&trials, "error_rate"), 0.0, "error rate");

    // The terminal table shows them, rounded as the README says.
    let row = out
        .terminal
        .lines()
        .find(|l| l.starts_with("baseline"))
        .unwrap_or_else(|| panic!("{}", out.terminal));
    for cell in [
        "8/8",
        "50.0",
        "90.0",
        "10.0",
        "55.6 ± 0",
        "11.1 ± 0",
        "5→5.00",
    ] {
        assert!(row.contains(cell), "{cell:?} in {row:?}");
    }

    // The whole table and report.md, as snapshots (tests/snapshots/): a
    // change to a number, a format or a word shows in review.
    let run_id = run.manifest.run_id.clone();
    let target = run.manifest.target_url.clone().unwrap_or_default();
    let stable = |text: &str| text.replace(&run_id, "RUN-ID").replace(&target, "TARGET");
    insta::assert_snapshot!("terminal_table", stable(&out.terminal));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    insta::assert_snapshot!("report_md", stable(&md));
}
