//! The reqwest path: HTTPS, proxies, and anyone who asks for it with
//! `INFER_BENCH_CLIENT=reqwest`. reqwest's pool checks a kept connection
//! before reuse and hyper retries a request it never wrote; what is left to
//! this file is a connection closed after the write, before any response.

use super::exchange::{self, Exchange};
use super::stream::{Flow, StreamReader};
use super::timing::Timing;
use futures_util::StreamExt;
use tokio::time::Instant;

pub(super) async fn exchange(
    http: &reqwest::Client,
    request: reqwest::Request,
    t: &mut Timing,
) -> Exchange {
    let response = match http.execute(request).await {
        Ok(r) => r,
        Err(e) => {
            t.error_at(Instant::now(), describe(&e));
            return if closed_before_response(&e) {
                Exchange::StaleConnection
            } else {
                Exchange::Done
            };
        }
    };
    let status = response.status();
    t.outcome.http_status = Some(status.as_u16());
    if !status.is_success() {
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .filter(|_| status.is_redirection())
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
        // The body, bounded, for the server's reason.
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(Ok(bytes)) = stream.next().await {
            body.extend_from_slice(&bytes);
            if body.len() > exchange::MAX_ERROR_BODY {
                break;
            }
        }
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
            return Exchange::Done;
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
