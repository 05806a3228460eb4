//! Against a hostile server of our own (tests/hostile/server.rs, raw
//! sockets): every request ends as exactly one outcome, failures are the
//! server's and say why, nothing is retried away unmarked, and time and
//! memory stay bounded. Then whole runs: records == planned requests.

mod common;
#[path = "hostile/server.rs"]
mod server;

use common::{experiment, run, single_run};
use infer_bench::client::{Client, Outcome};
use infer_bench::results::read_run;
use server::{request, Hostile, KEY};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn client(url: String, timeout: Duration) -> Arc<Client> {
    Arc::new(server::client(url, timeout))
}

/// `n` requests, `streams` at a time, each stream sending its next as soon
/// as the last ended (a closed loop), with `pause` between.
async fn closed_loop(c: &Arc<Client>, n: usize, streams: usize, pause: Duration) -> Vec<Outcome> {
    let mut tasks = Vec::new();
    for s in 0..streams {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in (s..n).step_by(streams) {
                out.push(c.generate(&request()).await);
                tokio::time::sleep(pause).await;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn one(h: &Hostile, behaviour: &str) -> Outcome {
    client(h.url(behaviour), Duration::from_secs(10))
        .generate(&request())
        .await
}

#[tokio::test]
async fn a_server_that_closes_after_every_response_loses_no_request() {
    // llama.cpp's server announces keep-alive and closes anyway.
    let h = Hostile::start();
    let c = client(h.url("close-after-response"), Duration::from_secs(10));
    let outcomes = closed_loop(&c, 40, 4, Duration::ZERO).await;
    assert_eq!(outcomes.len(), 40);
    for o in &outcomes {
        assert!(o.ok(), "{:?}", o.error);
        assert_eq!(o.completion_tokens, Some(3));
    }
    let retried = outcomes.iter().filter(|o| o.retried).count();
    // The server closes after each response without reading on, so a
    // request that raced a close was never read: it read each one once.
    assert_eq!(h.requests(), 40);
    assert!(retried <= 4, "{retried} retries: reuse should stop at once");
    let late = &outcomes[outcomes.len() - 4..];
    assert!(late
        .iter()
        .all(|o| o.reused == Some(false) && o.connect_ms.is_some()));
}

#[tokio::test]
async fn idle_connections_closed_by_the_server_are_not_used() {
    let h = Hostile::start();
    let c = client(h.url("idle-close"), Duration::from_secs(10));
    // 400 ms between requests: every kept socket has been closed by then.
    let outcomes = closed_loop(&c, 6, 2, Duration::from_millis(400)).await;
    assert!(
        outcomes.iter().all(|o| o.ok() && !o.retried),
        "{outcomes:?}"
    );
    assert_eq!(h.requests(), 6, "nothing sent twice");
    // Back to back, the kept connection is reused.
    let quick = closed_loop(&c, 4, 1, Duration::ZERO).await;
    assert!(quick.iter().all(|o| o.ok()));
    assert!(
        quick[1..].iter().all(|o| o.reused == Some(true)),
        "{quick:?}"
    );
}

#[tokio::test]
async fn a_request_read_and_dropped_is_a_failure_or_a_marked_retry() {
    let h = Hostile::start();
    // On a fresh connection, a drop is the server's failure: no retry.
    let o = one(&h, "drop-all").await;
    assert!(!o.ok() && !o.retried);
    assert!(o
        .error
        .as_deref()
        .unwrap()
        .contains("closed before the response"));
    assert_eq!(h.requests(), 1);

    // On a kept one it cannot be told from an idle close racing our
    // write: sent once more on a new connection, and marked.
    let c = client(h.url("drop-second"), Duration::from_secs(10));
    let first = c.generate(&request()).await;
    let second = c.generate(&request()).await;
    assert!(first.ok() && !first.retried);
    assert!(second.ok() && second.retried, "{second:?}");
    assert_eq!(
        second.reused,
        Some(false),
        "the retry goes on a new connection"
    );
}

#[tokio::test]
async fn interim_responses_are_skipped() {
    let h = Hostile::start();
    let started = Instant::now();
    let o = one(&h, "interim").await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(o.http_status, Some(200));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn absurd_choice_indices_fail_the_request_without_a_panic() {
    let h = Hostile::start();
    for behaviour in ["index-max", "index-huge"] {
        let o = one(&h, behaviour).await;
        assert!(!o.ok(), "{behaviour}");
        let error = o.error.unwrap();
        assert!(error.contains("choice index"), "{error}");
    }
}

#[tokio::test]
async fn implausible_usage_is_kept_with_a_warning() {
    let h = Hostile::start();
    let o = one(&h, "absurd-usage").await;
    assert!(o.ok());
    assert_eq!(o.completion_tokens, Some(999_999_999_999_999));
    assert!(o.warnings[0].contains("implausible usage.completion_tokens"));
}

#[tokio::test]
async fn sizes_from_the_wire_are_capped() {
    let h = Hostile::start();
    let o = one(&h, "endless-line").await;
    assert!(!o.ok());
    assert!(
        o.error.as_deref().unwrap().contains("SSE line over 8 MiB"),
        "{o:?}"
    );
    let o = one(&h, "endless-head").await;
    assert!(!o.ok());
    assert!(
        o.error
            .as_deref()
            .unwrap()
            .contains("response head over 64 KiB"),
        "{o:?}"
    );
}

#[tokio::test]
async fn streams_and_silences_that_never_end_are_cut_off() {
    let h = Hostile::start();
    let c = client(h.url("never-ends"), Duration::from_millis(700));
    let o = c.generate(&request()).await;
    assert!(!o.ok());
    assert!(o
        .error
        .as_deref()
        .unwrap()
        .starts_with("timeout after 0.7s"));
    assert!(o.itl_ms.len() >= 3, "the tokens before the cut are kept");

    // A trial's end cuts a stream off before the target's timeout does.
    let c = client(h.url("never-ends"), Duration::from_secs(60));
    let cutoff = tokio::time::Instant::now() + Duration::from_millis(500);
    let o = c.generate_until(&request(), Some(cutoff)).await;
    assert_eq!(o.error.as_deref(), Some(infer_bench::client::CANCELLED));
    assert_eq!(o.status, infer_bench::record::RequestStatus::Cancelled);
    assert!(o.e2e_ms < 2000.0);

    let c = client(h.url("silent"), Duration::from_millis(500));
    let o = c.generate(&request()).await;
    assert!(!o.ok() && o.error.as_deref().unwrap().starts_with("timeout"));
}

#[tokio::test]
async fn redirects_resets_and_keys() {
    let h = Hostile::start();
    let o = one(&h, "redirect").await;
    assert_eq!(o.http_status, Some(301));
    assert!(o
        .error
        .as_deref()
        .unwrap()
        .contains("http://elsewhere.example/v1/completions"));

    let o = one(&h, "reset").await;
    assert!(!o.ok());
    assert!(
        o.error.as_deref().unwrap().starts_with("stream broken"),
        "{o:?}"
    );

    let o = one(&h, "echo-key").await;
    let all = format!("{:?} {:?} {:?}", o.response_id, o.finish_reason, o.error);
    assert!(!all.contains(KEY), "{all}");
    assert_eq!(o.response_id.as_deref(), Some("***"));

    // The key sits past the cut: taken out before the cut, so no prefix is left.
    let o = one(&h, "escape-error").await;
    let error = o.error.unwrap();
    assert!(!error.contains(&KEY[..8]), "{error}");
}

/// Whole runs against the hostile server: one record per planned request,
/// and the failures the server caused, no more.
#[test]
fn runs_account_for_every_planned_request() {
    let h = Hostile::start();
    let tmp = tempfile::tempdir().unwrap();
    for (behaviour, requests, failures) in [
        ("close-after-response", 12, 0),
        ("drop-all", 6, 6),
        ("index-max", 6, 6),
        ("escape-error", 6, 6),
        ("absurd-usage", 3, 0),
        ("drop-second", 6, 0),
    ] {
        let text = format!(
            "name: hostile-{behaviour}\nseed: 1\ntarget:\n  base_url: {}\n  model: m\n  api_key_env: HOSTILE_KEY\n  timeout: 5s\nprompts: {}\nbaseline: {{concurrency: 3}}\nfactors: {{}}\nrepetitions: 1\nwarmup: {{requests: 0}}\ntrial: {{requests: {requests}}}\n",
            h.url(behaviour),
            common::repo().join("prompts/general.yaml").display()
        );
        let exp = experiment(tmp.path(), &format!("{behaviour}.yaml"), &text);
        let out = common::bin()
            .args(["run"])
            .arg(&exp)
            .arg("--out")
            .arg(tmp.path())
            .env("HOSTILE_KEY", KEY)
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{behaviour}: {stderr}");
        assert!(
            !stderr.contains('\u{1b}'),
            "{behaviour}: raw escape on the terminal"
        );
        assert!(!stderr.contains(KEY), "{behaviour}: key on the terminal");
        let run = read_run(&single_run(tmp.path(), &format!("hostile-{behaviour}"))).unwrap();
        assert_eq!(
            run.records.len(),
            requests,
            "{behaviour}: one record per request"
        );
        let mut seen: Vec<usize> = run.records.iter().map(|r| r.request).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..requests).collect::<Vec<_>>(), "{behaviour}");
        let failed = run.records.iter().filter(|r| !r.ok()).count();
        assert_eq!(failed, failures, "{behaviour}");
        let text = std::fs::read_to_string(run.dir.join("requests.jsonl")).unwrap();
        assert!(!text.contains(KEY), "{behaviour}: key in the records");
        let report = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
        let retried = run.records.iter().filter(|r| r.retried).count();
        match behaviour {
            "absurd-usage" => assert!(report.contains("numbers not believed"), "{report}"),
            "drop-second" => {
                assert!(retried > 0, "the drops on kept connections are marked");
                assert!(report.contains("went out again"), "{report}");
                assert!(
                    report.contains("retried)"),
                    "the ok column counts them: {report}"
                );
            }
            _ => {}
        }
    }
}

/// A trial duration bounds a run whose streams never end.
#[test]
fn a_trial_duration_ends_streams_that_never_end() {
    let h = Hostile::start();
    let tmp = tempfile::tempdir().unwrap();
    let text = format!(
        "name: hostile-endless\nseed: 1\ntarget:\n  base_url: {}\n  model: m\n  timeout: 10m\nprompts: {}\nbaseline: {{concurrency: 2}}\nfactors: {{}}\nrepetitions: 1\nwarmup: {{requests: 0}}\ntrial: {{duration: 1s}}\n",
        h.url("never-ends"),
        common::repo().join("prompts/general.yaml").display()
    );
    let exp = experiment(tmp.path(), "endless.yaml", &text);
    let started = Instant::now();
    run(tmp.path(), &exp, &[], 0);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "took {took:?}");
    let run = read_run(&single_run(tmp.path(), "hostile-endless")).unwrap();
    assert_eq!(run.records.len(), 2, "the two streams, cut off");
    for r in &run.records {
        assert_eq!(r.error.as_deref(), Some(infer_bench::client::CANCELLED));
        assert_eq!(r.status, infer_bench::record::RequestStatus::Cancelled);
        assert!(r.ttft_ms.is_some());
    }
}

/// Whatever bytes a server sends, cut into whatever reads, on a kept or a
/// new connection: every request ends as exactly one outcome, in bounded
/// time, and an ok one is a response that really was a 2xx stream.
mod any_bytes {
    use super::*;
    use proptest::prelude::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Pieces of HTTP and SSE, shuffled into a response by proptest.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"HTTP/1.1 200 OK\r\n".to_vec()),
            Just(b"HTTP/1.1 100 Continue\r\n\r\n".to_vec()),
            Just(b"HTTP/1.1 500 Oops\r\n".to_vec()),
            Just(b"Transfer-Encoding: chunked\r\n".to_vec()),
            Just(b"Content-Length: 40\r\n".to_vec()),
            Just(b"Connection: close\r\n".to_vec()),
            Just(b"Keep-Alive: timeout=0, max=0\r\n".to_vec()),
            Just(b"\r\n".to_vec()),
            Just(b"1a\r\n".to_vec()),
            Just(b"0\r\n\r\n".to_vec()),
            Just(b"data: {\"choices\":[{\"text\":\"a\",\"index\":0}]}\n\n".to_vec()),
            Just(b"data: {\"choices\":[{\"text\":\"a\",\"index\":99}]}\n\n".to_vec()),
            Just(b"data: {\"choices\":[],\"usage\":{\"completion_tokens\":18446744073709551615}}\n\n".to_vec()),
            Just(b"data: [DONE]\n\n".to_vec()),
            Just(b"event: error\ndata: x\n\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..64),
        ]
    }

    /// Serve `bytes` in `cuts`-sized writes to every request on `listener`,
    /// then close.
    async fn serve(listener: tokio::net::TcpListener, bytes: Vec<u8>, cut: usize) {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf).await;
                for piece in bytes.chunks(cut.max(1)) {
                    if conn.write_all(piece).await.is_err() {
                        return;
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn any_response_is_one_outcome(
            pieces in proptest::collection::vec(piece(), 0..12),
            cut in 1usize..50,
        ) {
            let bytes = pieces.concat();
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let url = format!("http://{}/v1", listener.local_addr().unwrap());
                let server = tokio::spawn(serve(listener, bytes.clone(), cut));
                let c = client(url, Duration::from_millis(500));
                for _ in 0..2 {
                    let started = Instant::now();
                    let o = c.generate(&request()).await;
                    assert!(started.elapsed() < Duration::from_secs(3));
                    assert_eq!(o.ok(), o.error.is_none(), "{o:?}");
                    if o.ok() {
                        assert!(bytes.windows(10).any(|w| w == b"HTTP/1.1 2"), "{o:?}");
                        assert!(o.http_status.is_some_and(|s| (200..300).contains(&s)));
                    }
                }
                server.abort();
            });
        }
    }
}
