//! Hostile modes for the server's other channels: /tokenize, /props, /v1/models, /metrics, /health.
//! Every mode serves a good server on the channels it does not name (a
//! three-token stream, `/health` ok, small `/props` and `/v1/models`, one
//! llama.cpp series on `/metrics`), so a whole run, a launched one included,
//! reaches the channel that misbehaves.

use super::{good_stream, Conn, Next, Request, KEY};
use std::io::Write;
use std::time::Duration;

/// A secret on a launch command line (`--api-key LAUNCH_SECRET`), which
/// `props-echo-key` and `metrics-echo-key` echo.
#[allow(dead_code)]
pub const LAUNCH_SECRET: &str = "launch-secret-7f3a9c";

const MODES: &[&str] = &[
    "launched",
    "tokenize-silent",
    "tokenize-huge",
    "tokenize-huge-announced",
    "props-huge",
    "props-big",
    "props-silent",
    "props-echo-key",
    "models-huge",
    "models-big",
    "metrics-many-series",
    "metrics-huge",
    "metrics-echo-key",
    "health-silent",
    "health-huge",
    "side-needs-key",
    "openapi-huge",
    "openapi-echo-key",
];

/// 1.5 GB: what a broken `/tokenize` once sent.
const HUGE: u64 = 1_500_000_000;

/// Answer `req` if `behaviour` is one of this file's modes.
pub fn serve(behaviour: &str, req: &Request, conn: &mut Conn) -> std::io::Result<Option<Next>> {
    if !MODES.contains(&behaviour) {
        return Ok(None);
    }
    let endpoint = req.path[behaviour.len() + 1..]
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/');
    let out = &mut *conn.out;
    // As llama.cpp's `--api-key`: every endpoint but the health check asks for it.
    let keyed = req.header("authorization") == Some(format!("Bearer {KEY}").as_str());
    let next = match (behaviour, endpoint) {
        ("side-needs-key", e) if e != "health" && !keyed => {
            out.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")?;
            Ok(Next::Serve)
        }
        ("tokenize-silent", "tokenize")
        | ("props-silent", "props")
        | ("health-silent", "health") => silent(),
        ("tokenize-huge", "tokenize") => endless(out, "{\"tokens\":[", b"1,", None),
        ("tokenize-huge-announced", "tokenize") => {
            endless(out, "{\"tokens\":[", b"1,", Some(HUGE))
        }
        ("props-huge", "props") => endless(out, "{\"chat_template\":\"", b"x", None),
        ("models-huge", "v1/models") => endless(out, "{\"data\":[", b"{\"id\":\"m\"},", None),
        ("metrics-huge", "metrics") => endless(out, "", b"llamacpp:x 1\n", None),
        ("health-huge", "health") => endless(out, "", b"ok ok ok ", None),
        ("openapi-huge", "openapi.json") => endless(out, "{\"info\":{\"title\":\"", b"x", None),
        ("openapi-echo-key", "openapi.json") => json(out, &echo_openapi()),
        ("props-big", "props") => json(out, &big_props()),
        ("models-big", "v1/models") => json(out, &big_models()),
        ("props-echo-key", "props") => json(out, &echo_props()),
        ("metrics-many-series", "metrics") => text(out, &many_series(100_000)),
        ("metrics-echo-key", "metrics") => text(
            out,
            &format!("llamacpp:echo{{key=\"{KEY}\",launch=\"{LAUNCH_SECRET}\"}} 1\nllamacpp:requests_processing 1\n"),
        ),
        (_, endpoint) => good(out, endpoint, &req.body),
    }?;
    Ok(Some(next))
}

/// What a well-behaved llama.cpp server answers on `endpoint`.
fn good(out: &mut std::net::TcpStream, endpoint: &str, body: &[u8]) -> std::io::Result<Next> {
    match endpoint {
        "v1/completions" => {
            out.write_all(good_stream().as_bytes())?;
            Ok(Next::Serve)
        }
        "health" => json(out, "{\"status\":\"ok\"}"),
        "props" => json(
            out,
            "{\"build_info\":\"b-hostile\",\"default_generation_settings\":{\"n_ctx\":4096},\"total_slots\":2}",
        ),
        "v1/models" => json(out, "{\"object\":\"list\",\"data\":[{\"id\":\"hostile-model\"}]}"),
        "metrics" => text(out, "llamacpp:requests_processing 1\n"),
        // One token a word: enough to fill prompts by.
        "tokenize" => {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let words = v["content"].as_str().unwrap_or_default().split_whitespace();
            json(out, &format!("{{\"count\":{}}}", words.count() + 1))
        }
        _ => {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            Ok(Next::Serve)
        }
    }
}

fn answer(out: &mut std::net::TcpStream, kind: &str, body: &str) -> std::io::Result<Next> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body.as_bytes())?;
    Ok(Next::Serve)
}

fn json(out: &mut std::net::TcpStream, body: &str) -> std::io::Result<Next> {
    answer(out, "application/json", body)
}

fn text(out: &mut std::net::TcpStream, body: &str) -> std::io::Result<Next> {
    answer(out, "text/plain; version=0.0.4", body)
}

/// Read, never answered.
fn silent() -> std::io::Result<Next> {
    std::thread::sleep(Duration::from_secs(60));
    Ok(Next::Close)
}

/// `start`, then `unit` over and over up to [`HUGE`] bytes, until the
/// client goes; the length announced where `announced` says, else the end
/// is the connection's close.
fn endless(
    out: &mut std::net::TcpStream,
    start: &str,
    unit: &[u8],
    announced: Option<u64>,
) -> std::io::Result<Next> {
    let head = match announced {
        Some(n) => format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n"),
        None => "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_string(),
    };
    out.write_all(head.as_bytes())?;
    out.write_all(start.as_bytes())?;
    let block = unit.repeat((64 << 10) / unit.len());
    let mut sent = 0u64;
    while sent < HUGE {
        if out.write_all(&block).is_err() {
            break;
        }
        sent += block.len() as u64;
    }
    Ok(Next::Close)
}

/// 1 MB of `/props`: the fields read, and a long chat template.
fn big_props() -> String {
    serde_json::json!({
        "build_info": "b-hostile-big",
        "default_generation_settings": {"n_ctx": 2048},
        "total_slots": 3,
        "chat_template": "{{ message }} ".repeat(80_000),
    })
    .to_string()
}

/// 20 000 models.
fn big_models() -> String {
    let data: Vec<_> = (0..20_000)
        .map(|i| serde_json::json!({"id": format!("model-{i}"), "object": "model"}))
        .collect();
    serde_json::json!({"object": "list", "data": data}).to_string()
}

/// `/props` echoing what it was launched with.
/// A FastAPI-like `/openapi.json` whose name and version hold the key and
/// the launch secret, and whose name runs on.
fn echo_openapi() -> String {
    serde_json::json!({
        "openapi": "3.1.0",
        "info": {"title": format!("{KEY} engine {}", "t".repeat(5000)), "version": format!("1.0 {LAUNCH_SECRET}")},
        "paths": {},
    })
    .to_string()
}

fn echo_props() -> String {
    serde_json::json!({
        "build_info": format!("b-echo {KEY}"),
        "default_generation_settings": {"n_ctx": 4096},
        "total_slots": 1,
        "args": format!("llama-server --api-key {LAUNCH_SECRET} --port 1"),
        KEY: LAUNCH_SECRET,
    })
    .to_string()
}

/// `n` llama.cpp series with distinct labels.
fn many_series(n: usize) -> String {
    let mut s = String::from("# TYPE llamacpp:s gauge\n");
    for i in 0..n {
        s.push_str(&format!("llamacpp:s{{n=\"{i}\"}} {i}\n"));
    }
    s
}
