//! Hostile modes for wire details and URLs.

use super::{good_stream, last, token, Conn, Next, Request, STREAM_HEAD};
use std::io::Write;
use std::time::Duration;

/// The Basic credentials of `user:pass` (RFC 7617).
pub const BASIC: &str = "Basic dXNlcjpwYXNz";

/// Answer `req` if `behaviour` is one of this file's modes.
pub fn serve(behaviour: &str, req: &Request, conn: &mut Conn) -> std::io::Result<Option<Next>> {
    let out = &mut *conn.out;
    match behaviour {
        // A UTF-8 byte order mark before the first event; the second token
        // 300 ms after the first, so a lost first event shows in TTFT.
        "bom" => {
            let head = STREAM_HEAD.replace("Transfer-Encoding: chunked", "Connection: close");
            out.write_all(head.as_bytes())?;
            out.write_all(format!("\u{feff}{}", token("a", "0")).as_bytes())?;
            out.flush()?;
            std::thread::sleep(Duration::from_millis(300));
            out.write_all(
                format!("{}{}{}", token("b", "0"), token("c", "0"), last("3")).as_bytes(),
            )?;
            return Ok(Some(Next::Close));
        }
        // No body, the connection kept open: nothing will ever come.
        "no-content" => {
            out.write_all(b"HTTP/1.1 204 No Content\r\nKeep-Alive: timeout=5\r\n\r\n")?
        }
        "empty-200" => out.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: 0\r\n\r\n",
        )?,
        // 100 header lines in all (the stream's own three among them).
        "headers-100" => {
            out.write_all(good_stream().replacen("\r\n", &filler(97), 1).as_bytes())?
        }
        // 5000 short header lines: 60 KB, under the head's size cap.
        "headers-5000" => {
            out.write_all(good_stream().replacen("\r\n", &filler(5000), 1).as_bytes())?
        }
        // The whole completion as one JSON answer ("stream": true ignored).
        "json" => json(
            out,
            r#"{"id":"cmpl-1","object":"text_completion","choices":[{"text":"abc","index":0,"finish_reason":"length"}],"usage":{"prompt_tokens":2,"completion_tokens":3}}"#,
        )?,
        "json-error" => json(out, r#"{"error":{"message":"model overloaded"}}"#)?,
        // A good stream only for a request that carries `user:pass` as
        // Basic credentials and no userinfo anywhere in its head.
        "want-basic" => {
            let auth = req.header("authorization").unwrap_or("none");
            let host = req.header("host").unwrap_or("");
            if auth == BASIC && !host.contains('@') && !req.path.contains('@') {
                out.write_all(good_stream().as_bytes())?;
            } else {
                let scheme = auth.split(' ').next().unwrap_or("");
                refuse(
                    out,
                    "401 Unauthorized",
                    &format!("wanted Basic, got {scheme}"),
                )?;
            }
        }
        // Answers only a target that kept the base URL's prefix and query:
        // generation and /tokenize.
        "want-query" => match req.path.as_str() {
            "/want-query/prefix/v1/completions?api-version=2" => {
                out.write_all(good_stream().as_bytes())?
            }
            "/want-query/prefix/tokenize?api-version=2" => json(out, r#"{"tokens":[1,2,3,4]}"#)?,
            other => refuse(out, "404 Not Found", &format!("no such target {other}"))?,
        },
        _ => return Ok(None),
    }
    Ok(Some(Next::Serve))
}

/// `n` short header lines after the status line.
fn filler(n: usize) -> String {
    let mut s = String::from("\r\n");
    for i in 0..n {
        s.push_str(&format!("X-F{i}: y\r\n"));
    }
    s
}

fn json(out: &mut std::net::TcpStream, body: &str) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(format!("{head}{body}").as_bytes())
}

fn refuse(out: &mut std::net::TcpStream, status: &str, why: &str) -> std::io::Result<()> {
    let body = format!("{{\"error\":{{\"message\":\"{why}\"}}}}");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.write_all(format!("{head}{body}").as_bytes())
}
