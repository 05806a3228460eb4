//! The client against misbehaving servers: every failure is an outcome with
//! `ok = false` and a reason, never a panic.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use infer_bench::client::{Client, ClientConfig, GenRequest, Outcome};
use infer_bench::experiment::Api;
use infer_bench::record::TokensSource;
use std::time::Duration;

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/v1")
}

fn client(base_url: String, timeout: Duration) -> Client {
    Client::new(ClientConfig {
        base_url,
        api: Api::Completions,
        headers: vec![("x-test".into(), "1".into())],
        secret_headers: Vec::new(),
        api_key: Some("secret".into()),
        timeout,
        tokenize_path: "/tokenize".into(),
        model: "m".into(),
    })
    .unwrap()
}

fn request() -> GenRequest {
    GenRequest {
        model: "m".into(),
        prompt: "hello".into(),
        batch: Vec::new(),
        system: None,
        max_tokens: Some(3),
        exact_output: true,
        params: Default::default(),
        ..Default::default()
    }
}

fn stream_of(chunks: Vec<(&'static str, u64)>) -> Response {
    let s = futures_util::stream::unfold(chunks.into_iter(), |mut it| async move {
        let (text, delay_ms) = it.next()?;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        Some((Ok::<_, std::convert::Infallible>(text), it))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(s))
        .unwrap()
}

/// One request to a server whose completions endpoint streams `chunks`
/// (text, delay before it in ms).
async fn outcome(chunks: Vec<(&'static str, u64)>, timeout: Duration) -> Outcome {
    outcome_of(chunks, timeout, &request()).await
}

/// The same for a request of two prompts (a batch).
async fn batch_outcome(chunks: Vec<(&'static str, u64)>) -> Outcome {
    let mut req = request();
    req.batch = vec!["again".into()];
    outcome_of(chunks, Duration::from_secs(5), &req).await
}

async fn outcome_of(
    chunks: Vec<(&'static str, u64)>,
    timeout: Duration,
    req: &GenRequest,
) -> Outcome {
    let url = serve(Router::new().route(
        "/v1/completions",
        post(move || {
            let chunks = chunks.clone();
            async move { stream_of(chunks) }
        }),
    ))
    .await;
    client(url, timeout).generate(req).await
}

#[tokio::test]
async fn refused_connection_is_a_failed_record() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = client(
        format!("http://127.0.0.1:{port}/v1"),
        Duration::from_secs(5),
    )
    .generate(&request())
    .await;
    assert!(!o.ok());
    assert!(
        o.error.as_deref().unwrap().contains("connection failed"),
        "{:?}",
        o.error
    );
    assert_eq!(o.http_status, None);
}

#[tokio::test]
async fn http_errors_keep_status_and_server_message() {
    let url = serve(Router::new().route(
        "/v1/completions",
        post(|| async {
            (
                StatusCode::BAD_REQUEST,
                r#"{"error":{"message":"exceed_context_size_error","code":400}}"#,
            )
                .into_response()
        }),
    ))
    .await;
    let o = client(url, Duration::from_secs(5))
        .generate(&request())
        .await;
    assert!(!o.ok());
    assert_eq!(o.http_status, Some(400));
    assert_eq!(
        o.error.as_deref(),
        Some("HTTP 400: exceed_context_size_error")
    );
}

#[tokio::test]
async fn malformed_events_and_error_objects_fail_the_request() {
    let o = outcome(
        vec![
            ("data: {\"choices\":[{\"text\":\"a\"}]}\n\n", 0),
            ("data: {oops\n\n", 0),
        ],
        Duration::from_secs(5),
    )
    .await;
    assert!(!o.ok());
    assert!(
        o.error.as_deref().unwrap().starts_with("malformed event"),
        "{:?}",
        o.error
    );
    assert!(
        o.ttft_ms.is_some(),
        "the content before the fault was timed"
    );

    let o = outcome(
        vec![("data: {\"error\":{\"message\":\"slot died\"}}\n\n", 0)],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(o.error.as_deref(), Some("server error: slot died"));
}

/// Timings come from event arrival: a server that pauses 60 ms before the
/// first token and 40 ms between tokens is measured as such; keep-alive
/// comments and events split across writes change nothing.
#[tokio::test]
async fn timings_follow_event_arrival_and_usage_wins_over_event_count() {
    let o = outcome(vec![
                (": keep-alive\n\n", 0),
                ("data: {\"choices\":[{\"text\":\"a\"}]}\n\n", 60),
                ("data: {\"choices\":[{\"te", 40),
                ("xt\":\"b\"}]}\n\n", 0),
                ("data: {\"choices\":[{\"text\":\"c\",\"finish_reason\":\"length\"}]}\n\n", 40),
                ("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3}}\n\ndata: [DONE]\n\n", 0),
            ], Duration::from_secs(5)).await;
    assert!(o.ok(), "{:?}", o.error);
    let ttft = o.ttft_ms.unwrap();
    // Upper bounds leave room for a loaded machine; the lower ones are the point.
    assert!((60.0..150.0).contains(&ttft), "ttft {ttft}");
    assert_eq!(o.itl_ms.len(), 2);
    for gap in &o.itl_ms {
        assert!((38.0..120.0).contains(gap), "gap {gap}");
    }
    assert!(o.e2e_ms >= ttft + 80.0);
    assert_eq!((o.prompt_tokens, o.completion_tokens), (Some(5), Some(3)));
    assert_eq!(o.tokens_source, TokensSource::Usage);
    assert_eq!(o.finish_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn without_usage_tokens_are_counted_from_events_and_flagged() {
    let o = outcome(vec![
                ("data: {\"choices\":[{\"text\":\"a\"}]}\n\ndata: {\"choices\":[{\"text\":\"b\",\"finish_reason\":\"length\"}]}\n\n", 0),
                ("data: [DONE]\n\n", 0),
            ], Duration::from_secs(5)).await;
    assert!(o.ok());
    assert_eq!(o.completion_tokens, Some(2));
    assert_eq!(o.tokens_source, TokensSource::Events);
}

/// llama-cpp-python ends a stream that a newer request interrupts with
/// `[DONE]` and no finish_reason: a failure with that reason, never an ok
/// record with fewer tokens.
#[tokio::test]
async fn a_stream_cut_short_without_a_finish_reason_fails() {
    let o = outcome(vec![
                ("data: {\"choices\":[{\"text\":\"a\",\"finish_reason\":null}]}\n\ndata: {\"choices\":[{\"text\":\"b\",\"finish_reason\":null}]}\n\n", 0),
                ("data: [DONE]\n\n", 0),
            ], Duration::from_secs(5)).await;
    assert!(!o.ok());
    assert_eq!(
        o.error.as_deref(),
        Some("the answer ended without a finish_reason or usage after 2 content events: cut short")
    );
    assert_eq!(
        o.completion_tokens,
        Some(2),
        "what did arrive is still counted"
    );
}

#[tokio::test]
async fn a_stalled_stream_times_out_as_a_failed_record() {
    let o = outcome(
        vec![
            ("data: {\"choices\":[{\"text\":\"a\"}]}\n\n", 0),
            ("", 10_000),
        ],
        Duration::from_millis(300),
    )
    .await;
    assert!(!o.ok());
    assert_eq!(o.error.as_deref(), Some("timeout after 0.3s"));
    assert_eq!(o.http_status, Some(200));
    assert!(o.e2e_ms >= 300.0);
}

/// Reads one HTTP request (headers and Content-Length body) from `sock`.
async fn read_request(sock: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let n = sock.read(&mut chunk).await.unwrap_or(0);
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return true;
            }
        }
    }
}

/// A server that keeps the connection alive after the first answer, then
/// closes it on the second request without answering (as cpp-httplib does
/// when its keep-alive count runs out): the client sends again on a fresh
/// connection and succeeds.
#[tokio::test]
async fn a_kept_alive_connection_closed_by_the_server_is_retried_once() {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let body = "data: {\"choices\":[{\"text\":\"a\",\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                if read_request(&mut sock).await {
                    sock.write_all(answer.as_bytes()).await.unwrap();
                }
                // The next request on this connection is read, then dropped.
                read_request(&mut sock).await;
            });
        }
    });
    let c = client(format!("http://{addr}/v1"), Duration::from_secs(5));
    for i in 0..3 {
        let o = c.generate(&request()).await;
        assert!(o.ok(), "request {i}: {:?}", o.error);
    }
}

#[tokio::test]
async fn a_batch_streams_its_choices_and_sums_their_usage_as_llama_cpp_sends_it() {
    // llama.cpp's shape for `prompt: [a, b]`: a leading `data: null`, choices
    // interleaved by index, and each choice's own usage in its last chunk.
    let o = batch_outcome(
        vec![
            ("data: null\n\n", 0),
            ("data: {\"choices\":[{\"text\":\" x\",\"index\":1}]}\n\n", 5),
            ("data: {\"choices\":[{\"text\":\" y\",\"index\":0}]}\n\n", 1),
            ("data: {\"choices\":[{\"text\":\" z\",\"index\":1}]}\n\n", 1),
            ("data: {\"choices\":[{\"text\":\"\",\"index\":1,\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n", 1),
            ("data: {\"choices\":[{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":1}}\n\n", 1),
            ("data: [DONE]\n\n", 0),
        ],
    )
    .await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(o.prompt_tokens, Some(7));
    assert_eq!(o.completion_tokens, Some(3));
    assert_eq!(o.choice_events, vec![1, 2]);
    assert!(o.ttft_ms.unwrap() >= 4.0);

    // A request-wide usage chunk (OpenAI, vLLM) is the total as it stands.
    let o = batch_outcome(vec![
        ("data: {\"choices\":[{\"text\":\" y\",\"index\":0}]}\n\n", 1),
        ("data: {\"choices\":[{\"text\":\" x\",\"index\":1}]}\n\n", 1),
        (
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}\n\n",
            1,
        ),
        ("data: [DONE]\n\n", 0),
    ])
    .await;
    assert_eq!((o.prompt_tokens, o.completion_tokens), (Some(9), Some(2)));
}

#[tokio::test]
async fn a_key_echoed_by_the_server_is_redacted_from_the_record() {
    let url = serve(Router::new().route(
        "/v1/completions",
        post(|headers: axum::http::HeaderMap| async move {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            (StatusCode::UNAUTHORIZED, format!("bad credentials: {auth}")).into_response()
        }),
    ))
    .await;
    let o = client(url, Duration::from_secs(5))
        .generate(&request())
        .await;
    let error = o.error.unwrap();
    assert!(
        error.contains("Bearer ***") && !error.contains("secret"),
        "{error}"
    );
}
