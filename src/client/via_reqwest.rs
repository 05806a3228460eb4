//! The reqwest path: HTTPS, proxies, and anyone who asks for it with
//! `INFER_BENCH_CLIENT=reqwest`. reqwest's pool checks a kept connection
//! before reuse and hyper retries a request it never wrote; what is left to
//! this file is a connection closed after the write, before any response.
//! reqwest does not say whether that connection was kept, so the first such
//! close within the race's bound is taken for the race and retried, and the
//! client leaves the pool for good (`Client::via_reqwest`).

use super::exchange::{self, Exchange};
use super::stream::{Flow, StreamReader};
use super::timing::Timing;
use futures_util::StreamExt;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::time::Instant;

/// One try; `pooled` when `http` keeps connections, and then a request
/// closed before any response sets `pool_dropped` (reuse ends for good).
pub(super) async fn exchange(
    http: &reqwest::Client,
    request: reqwest::Request,
    t: &mut Timing,
    pooled: bool,
    pool_dropped: &AtomicBool,
) -> Exchange {
    let response = match http.execute(request).await {
        Ok(r) => r,
        Err(e) => {
            let now = Instant::now();
            t.error_at(now, describe(&e));
            if !(pooled && closed_before_response(&e)) {
                return Exchange::Done;
            }
            pool_dropped.store(true, Ordering::Relaxed);
            return match exchange::kept_closed(now.duration_since(t.outcome.sent)) {
                Ok(retry) => retry,
                Err(why) => {
                    t.error_at(now, why);
                    Exchange::Done
                }
            };
        }
    };
    let status = response.status();
    t.outcome.http_status = Some(status.as_u16());
    let json = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| exchange::is_json(&String::from_utf8_lossy(v.as_bytes())));
    if !status.is_success() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .filter(|_| status.is_redirection())
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        let body = read_body(response).await;
        let mut reason = exchange::error_message(&String::from_utf8_lossy(&body));
        if let Some(location) = location {
            reason = format!("redirected to {location} (not followed) {reason}");
        }
        t.error_at(
            Instant::now(),
            format!("HTTP {}: {}", status.as_u16(), reason.trim_end()),
        );
        return Exchange::Done;
    }
    if let Some(why) = exchange::no_body(status.as_u16(), response.content_length()) {
        t.error_at(Instant::now(), why);
        return Exchange::Done;
    }
    if json {
        let body = read_body(response).await;
        let why = exchange::json_answer(status.as_u16(), &String::from_utf8_lossy(&body));
        t.error_at(Instant::now(), why);
        return Exchange::Done;
    }
    stream(response, t).await;
    Exchange::Done
}

/// A body that is not a stream (an error's, a JSON answer's), read up to
/// [`exchange::MAX_ERROR_BODY`].
async fn read_body(response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(Ok(bytes)) = stream.next().await {
        body.extend_from_slice(&bytes);
        if body.len() > exchange::MAX_ERROR_BODY {
            break;
        }
    }
    body
}

/// A 2xx response's events, each stamped when the read that brought it
/// returned.
async fn stream(response: reqwest::Response, t: &mut Timing) {
    let mut stream = response.bytes_stream();
    let mut reader = StreamReader::default();
    let mut size: u64 = 0;
    loop {
        let next = stream.next().await;
        let now = Instant::now();
        let flow = match next {
            Some(Ok(bytes)) if size + bytes.len() as u64 > exchange::MAX_BODY => {
                let mib = exchange::MAX_BODY >> 20;
                t.error_at(now, format!("response body over {mib} MiB: cut off"));
                Flow::Ended
            }
            Some(Ok(bytes)) => {
                size += bytes.len() as u64;
                reader.feed(t, now, &bytes)
            }
            Some(Err(e)) => {
                t.error_at(now, format!("stream broken: {}", describe(&e)));
                Flow::Ended
            }
            None => reader.finish(t, now),
        };
        if let Flow::Ended = flow {
            return;
        }
    }
}

/// hyper's "connection closed before message completed" (or a reset) on a
/// reused connection, before any response byte.
fn closed_before_response(e: &reqwest::Error) -> bool {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        // The reset is an io::Error ("Connection reset by peer"): told by
        // its kind, not its words, which a text match missed.
        let reset = s
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionReset);
        if reset
            || s.to_string()
                .contains("connection closed before message completed")
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timeout"
    } else if e.is_body() || e.is_decode() {
        "reading body"
    } else {
        "request failed"
    };
    let mut msg = kind.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}
