//! Requests beside the generation stream — `/tokenize`, `/apply-template`,
//! `/props`, `/v1/models`, `/metrics`, readiness probes, the calibration
//! sim's truth log — each bounded twice: in time (the whole exchange, body
//! included) and in bytes (the body is read chunk by chunk and the read
//! stops at the cap). A server that never answers, or answers 1.5 GB, costs
//! at most the bound, never a hang or the memory.

use std::time::Duration;

/// How long, and how much, one side request may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounds {
    pub timeout: Duration,
    /// Most bytes of the body read; a longer body is an error.
    pub cap: usize,
}

/// Why a side request has no answer to use.
#[derive(Debug, thiserror::Error)]
pub enum SideError {
    #[error("{method} {url}: no complete answer within {}s", .timeout.as_secs_f64())]
    Timeout {
        method: String,
        url: String,
        timeout: Duration,
    },
    #[error("{method} {url}: the answer passed the cap of {cap} bytes ({received} bytes received{announced})")]
    TooLarge {
        method: String,
        url: String,
        cap: usize,
        received: usize,
        /// `, N announced` when the server said how long it would be.
        announced: String,
    },
    #[error("{method} {url}: {why}")]
    Transport {
        method: String,
        url: String,
        why: String,
    },
}

/// A side request's answer: its status and its body, at most the cap.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Send `request` (built on `http`, for `url`) and read its answer within
/// `bounds`. Only a success's body is read: an error's status is all a
/// caller uses of it. Errors name the URL with any password hidden.
pub async fn send(
    request: reqwest::RequestBuilder,
    method: &str,
    url: &str,
    bounds: Bounds,
) -> Result<Answer, SideError> {
    let exchange = exchange(request, method, url, bounds);
    match tokio::time::timeout(bounds.timeout, exchange).await {
        Ok(answer) => answer,
        Err(_) => Err(SideError::Timeout {
            method: method.into(),
            url: crate::redact::url(url),
            timeout: bounds.timeout,
        }),
    }
}

/// `GET url` within `bounds`.
pub async fn get(http: &reqwest::Client, url: &str, bounds: Bounds) -> Result<Answer, SideError> {
    send(http.get(url), "GET", url, bounds).await
}

async fn exchange(
    request: reqwest::RequestBuilder,
    method: &str,
    url: &str,
    bounds: Bounds,
) -> Result<Answer, SideError> {
    let transport = |e: reqwest::Error| SideError::Transport {
        method: method.into(),
        url: crate::redact::url(url),
        why: transport_reason(e),
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status().as_u16();
    if !response.status().is_success() {
        return Ok(Answer {
            status,
            body: Vec::new(),
        });
    }
    let too_large = |received: usize, announced: Option<u64>| SideError::TooLarge {
        method: method.into(),
        url: crate::redact::url(url),
        cap: bounds.cap,
        received,
        announced: announced.map_or_else(String::new, |n| format!(", {n} announced")),
    };
    let announced = response.content_length();
    if announced.is_some_and(|n| n > bounds.cap as u64) {
        return Err(too_large(0, announced));
    }
    let mut body = Vec::with_capacity(announced.map_or(0, |n| n as usize));
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > bounds.cap {
            return Err(too_large(body.len() + chunk.len(), announced));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body })
}

/// reqwest's error and its causes (`error sending request: connection
/// refused`), without the URL it names as given: ours names it redacted.
fn transport_reason(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut why = e.to_string();
    let mut cause = std::error::Error::source(&e);
    while let Some(c) = cause {
        why.push_str(": ");
        why.push_str(&c.to_string());
        cause = c.source();
    }
    crate::redact::url(&why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A one-shot server that reads a request head and writes `answer`,
    /// then `then` bytes of filler, in blocks, until the client goes.
    fn serve(answer: &'static str, then: usize) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(answer.as_bytes());
            let block = vec![b'7'; 64 << 10];
            let mut sent = 0;
            while sent < then && s.write_all(&block).is_ok() {
                sent += block.len();
            }
            std::thread::sleep(Duration::from_secs(5));
        });
        format!("http://u:pw-secret@127.0.0.1:{port}/x")
    }

    fn http() -> reqwest::Client {
        crate::tls::install_provider();
        reqwest::Client::new()
    }

    fn bounds(cap: usize) -> Bounds {
        Bounds {
            timeout: Duration::from_secs(5),
            cap,
        }
    }

    #[tokio::test]
    async fn reads_a_body_within_the_cap() {
        let url = serve("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 0);
        let a = get(&http(), &url, bounds(5)).await.unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, b"hello".as_slice()));
        assert!(a.ok());
    }

    #[tokio::test]
    async fn an_endless_body_stops_at_the_cap() {
        // No length announced: the read itself must stop.
        let url = serve("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", 64 << 20);
        let e = get(&http(), &url, bounds(1 << 20)).await.unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(e, SideError::TooLarge { cap: 1_048_576, received, .. } if received > 1 << 20 && received < 8 << 20),
            "{text}"
        );
        assert!(text.contains("the cap of 1048576 bytes"), "{text}");
        assert!(text.contains("u:***@127.0.0.1"), "{text}");
        assert!(!text.contains("pw-secret"), "{text}");
    }

    #[tokio::test]
    async fn an_announced_length_over_the_cap_fails_before_reading() {
        let url = serve(
            "HTTP/1.1 200 OK\r\nContent-Length: 1500000000\r\n\r\n",
            1 << 20,
        );
        let e = get(&http(), &url, bounds(1000)).await.unwrap_err();
        assert!(
            e.to_string()
                .ends_with("the cap of 1000 bytes (0 bytes received, 1500000000 announced)"),
            "{e}"
        );
    }

    #[tokio::test]
    async fn a_silent_server_fails_at_the_timeout() {
        let url = serve("", 0);
        let started = std::time::Instant::now();
        let b = Bounds {
            timeout: Duration::from_millis(300),
            cap: 10,
        };
        let e = get(&http(), &url, b).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(
            e.to_string().ends_with("no complete answer within 0.3s"),
            "{e}"
        );
        assert!(!e.to_string().contains("pw-secret"), "{e}");
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// One mechanism: outside the generation stream's own files, nothing
    /// sends a request or reads an answer but this module.
    #[test]
    fn every_side_request_is_sent_here() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let generation = ["client/via_reqwest.rs", "client/http1/", "side_request.rs"];
        let sends = [
            ".send()",
            ".execute(",
            ".json().await",
            ".text().await",
            ".bytes().await",
            ".chunk().await",
            "bytes_stream()",
        ];
        let mut found = Vec::new();
        for file in files {
            let rel = file
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if generation.iter().any(|g| rel.starts_with(g)) {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if sends.iter().any(|p| line.contains(p)) {
                    found.push(format!("src/{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        assert!(
            found.is_empty(),
            "send side requests through side_request::send: {found:#?}"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_says_why() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/health");
        let e = get(&http(), &url, bounds(10))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(&format!("GET {url}: error sending request")),
            "{e}"
        );
        assert!(e.to_lowercase().contains("refused"), "{e}");
    }

    #[tokio::test]
    async fn an_error_status_is_an_answer_without_its_body() {
        let url = serve(
            "HTTP/1.1 404 Not Found\r\nContent-Length: 1500000000\r\n\r\n",
            1 << 20,
        );
        let a = get(&http(), &url, bounds(10)).await.unwrap();
        assert_eq!(a.status, 404);
        assert!(a.body.is_empty() && !a.ok());
    }
}
