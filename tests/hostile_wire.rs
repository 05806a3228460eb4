//! Wire details and URLs (issue 27, deliverable 4 and the wire details),
//! against the hostile server (tests/hostile/wire.rs): a byte order mark,
//! bodiless and JSON answers, many headers, IPv6 literals, path prefixes,
//! query strings and userinfo. The lean path here; the reqwest path in a
//! child process of this binary (`on_the_reqwest_path_too`), since the
//! transport is chosen from the environment when a client is made.

#[path = "hostile/server.rs"]
mod server;

use infer_bench::client::{Client, ClientConfig, Outcome};
use infer_bench::experiment::Api;
use server::{request, Hostile, KEY};
use std::time::{Duration, Instant};

fn client(url: String, api_key: Option<&str>) -> Client {
    Client::new(ClientConfig {
        base_url: url,
        api: Api::Completions,
        headers: Vec::new(),
        secret_headers: Vec::new(),
        api_key: api_key.map(str::to_string),
        timeout: Duration::from_secs(10),
        tokenize_path: "/tokenize".into(),
        model: "m".into(),
    })
    .unwrap()
}

/// One request to `behaviour`, and how long it took.
async fn one(h: &Hostile, behaviour: &str) -> (Outcome, Duration) {
    let started = Instant::now();
    let o = server::client(h.url(behaviour), Duration::from_secs(10))
        .generate(&request())
        .await;
    (o, started.elapsed())
}

/// The first event follows a byte order mark; the second comes 300 ms
/// later: TTFT is the first's, and every token counted.
async fn bom(h: &Hostile) {
    let (o, _) = one(h, "bom").await;
    assert!(o.ok(), "{:?}", o.error);
    assert!(o.ttft_ms.unwrap() < 250.0, "ttft {:?}", o.ttft_ms);
    assert_eq!(o.itl_ms.len(), 2, "three content events");
    assert!(o.itl_ms[0] >= 250.0, "{:?}", o.itl_ms);
    assert_eq!(o.completion_tokens, Some(3));
}

/// A 204 and an empty 200 end at once (not at the 10 s timeout).
async fn bodiless(h: &Hostile) {
    for (behaviour, status) in [("no-content", 204), ("empty-200", 200)] {
        let (o, took) = one(h, behaviour).await;
        assert!(took < Duration::from_secs(2), "{behaviour}: {took:?}");
        assert_eq!(o.http_status, Some(status));
        let want = format!("HTTP {status}: the server answered with no body, not an event stream");
        assert_eq!(o.error.as_deref(), Some(want.as_str()), "{behaviour}");
    }
}

/// A JSON answer to a streaming request: its own reason, no TTFT.
async fn json(h: &Hostile) {
    let (o, _) = one(h, "json").await;
    assert!(!o.ok());
    assert_eq!(o.http_status, Some(200));
    assert!(
        o.error.as_deref().unwrap().starts_with(
            "HTTP 200: the server answered JSON, not an event stream: it ignored \"stream\": true"
        ),
        "{o:?}"
    );
    assert_eq!(o.ttft_ms, None);
    let (o, _) = one(h, "json-error").await;
    assert_eq!(
        o.error.as_deref(),
        Some("HTTP 200: server error: model overloaded")
    );
}

/// A base URL with a path prefix and a query: the query on generation
/// and on /tokenize, the prefix in front of both.
async fn prefix_and_query(h: &Hostile) {
    let url = format!(
        "http://127.0.0.1:{}/want-query/prefix/v1?api-version=2",
        h.port
    );
    let c = client(url, Some(KEY));
    let o = c.generate(&request()).await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(c.count_tokens("hello").await.unwrap(), 4);
    assert_eq!(h.requests(), 2);
}

/// Userinfo goes as Basic credentials, not in the URL; an API key wins.
async fn userinfo(h: &Hostile) {
    let url = format!("http://user:pass@127.0.0.1:{}/want-basic/v1", h.port);
    let o = client(url.clone(), None).generate(&request()).await;
    assert!(o.ok(), "{:?}", o.error);
    assert!(!format!("{o:?}").contains("pass@"), "{o:?}");
    let o = client(url, Some(KEY)).generate(&request()).await;
    assert_eq!(o.http_status, Some(401));
    assert_eq!(
        o.error.as_deref(),
        Some("HTTP 401: wanted Basic, got Bearer"),
        "the API key is sent, not the userinfo"
    );
}

#[tokio::test]
async fn a_byte_order_mark_does_not_drop_the_first_event() {
    bom(&Hostile::start()).await;
}

#[tokio::test]
async fn a_response_without_a_body_fails_at_once() {
    bodiless(&Hostile::start()).await;
}

#[tokio::test]
async fn a_json_answer_says_the_server_did_not_stream() {
    json(&Hostile::start()).await;
}

#[tokio::test]
async fn a_hundred_headers_are_taken_and_thousands_refused() {
    let h = Hostile::start();
    let (o, _) = one(&h, "headers-100").await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(o.completion_tokens, Some(3));
    let (o, took) = one(&h, "headers-5000").await;
    assert_eq!(
        o.error.as_deref(),
        Some("response head with over 256 header lines: refused")
    );
    assert!(took < Duration::from_secs(2));
}

#[tokio::test]
async fn a_path_prefix_and_a_query_are_kept_on_every_endpoint() {
    prefix_and_query(&Hostile::start()).await;
}

#[tokio::test]
async fn userinfo_is_sent_as_basic_credentials_on_the_lean_path() {
    let h = Hostile::start();
    userinfo(&h).await;
    // The lean path took it (reqwest does not say whether it reused).
    let url = format!("http://user:pass@127.0.0.1:{}/want-basic/v1", h.port);
    let o = client(url, None).generate(&request()).await;
    assert_eq!(o.reused, Some(false));
}

/// A one-request server on `[::1]`: reads a request, answers a good
/// stream, and tells the `Host` header it was sent.
fn ipv6_server() -> Option<(u16, std::thread::JoinHandle<String>)> {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = match std::net::TcpListener::bind("[::1]:0") {
        Ok(l) => l,
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback here ({e})");
            return None;
        }
    };
    let port = listener.local_addr().unwrap().port();
    let serve = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let (mut host, mut length) = (String::new(), 0usize);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "host" => host = v.trim().to_string(),
                    "content-length" => length = v.trim().parse().unwrap(),
                    _ => {}
                }
            }
        }
        reader.read_exact(&mut vec![0; length]).unwrap();
        let body = "data: {\"choices\":[{\"text\":\"a\",\"index\":0,\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
        let mut out = conn;
        let head =
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
        out.write_all(format!("{head}{body}").as_bytes()).unwrap();
        host
    });
    Some((port, serve))
}

async fn ipv6() {
    let Some((port, server)) = ipv6_server() else {
        return;
    };
    let o = client(format!("http://[::1]:{port}/v1"), Some(KEY))
        .generate(&request())
        .await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(server.join().unwrap(), format!("[::1]:{port}"));
}

#[tokio::test]
async fn an_ipv6_literal_is_reached() {
    ipv6().await;
}

/// Runs the `reqwest::` cases of this binary again in a child process with
/// `INFER_BENCH_CLIENT=reqwest`.
#[test]
fn on_the_reqwest_path_too() {
    server::reqwest_cases_pass(7);
}

mod reqwest {
    use super::*;

    use super::server::on_reqwest;

    macro_rules! on_reqwest {
        ($($name:ident => $body:expr;)*) => {$(
            #[tokio::test]
            #[ignore = "run by on_the_reqwest_path_too, with INFER_BENCH_CLIENT=reqwest"]
            async fn $name() {
                if on_reqwest() {
                    $body;
                }
            }
        )*};
    }

    on_reqwest! {
        bom_ => bom(&Hostile::start()).await;
        bodiless_ => bodiless(&Hostile::start()).await;
        json_ => json(&Hostile::start()).await;
        prefix_and_query_ => prefix_and_query(&Hostile::start()).await;
        userinfo_ => userinfo(&Hostile::start()).await;
        ipv6_ => ipv6().await;
        headers => {
            let h = Hostile::start();
            let (o, _) = one(&h, "headers-100").await;
            assert!(o.ok(), "{:?}", o.error);
            let (o, took) = one(&h, "headers-5000").await;
            let error = o.error.unwrap();
            assert!(error.contains("message head is too large"), "{error}");
            assert!(took < Duration::from_secs(2));
        };
    }
}
