//! A hostile test server on raw sockets: it speaks just enough HTTP/1.1 to
//! be believed and then misbehaves in the one way its URL names
//! (`http://127.0.0.1:PORT/<behaviour>/v1`). It counts the requests it read
//! in full, so a test can hold the client's failures against the server's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "channels.rs"]
mod channels;
#[path = "retries.rs"]
mod retries;
#[path = "runs.rs"]
mod runs;
#[path = "wire.rs"]
mod wire;

pub const KEY: &str = "sk-hostile-0123456789";

/// A client for `url` that sends [`KEY`], as a run would make one.
pub fn client(url: String, timeout: Duration) -> infer_bench::client::Client {
    infer_bench::client::Client::new(infer_bench::client::ClientConfig {
        base_url: url,
        api: infer_bench::experiment::Api::Completions,
        headers: Vec::new(),
        secret_headers: Vec::new(),
        api_key: Some(KEY.into()),
        timeout,
        tokenize_path: "/tokenize".into(),
        model: "m".into(),
    })
    .unwrap()
}

/// Runs this test binary's `reqwest::` cases again in a child process with
/// `INFER_BENCH_CLIENT=reqwest` (the transport is chosen once per process),
/// and holds that all `cases` passed.
#[allow(dead_code)] // each test crate uses its own parts of this file
pub fn reqwest_cases_pass(cases: usize) {
    if std::env::var_os("INFER_BENCH_CLIENT").is_some() {
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["reqwest::", "--ignored", "--test-threads=4"])
        .env("INFER_BENCH_CLIENT", "reqwest")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains(&format!("test result: ok. {cases} passed")),
        "{text}"
    );
}

/// Whether this process is the child [`reqwest_cases_pass`] started.
#[allow(dead_code)]
pub fn on_reqwest() -> bool {
    let set = std::env::var("INFER_BENCH_CLIENT").is_ok_and(|v| v == "reqwest");
    if !set {
        eprintln!("skipped: run by on_the_reqwest_path_too");
    }
    set
}

/// A three-token completion request.
pub fn request() -> infer_bench::client::GenRequest {
    infer_bench::client::GenRequest {
        model: "m".into(),
        prompt: "hello".into(),
        batch: Vec::new(),
        system: None,
        max_tokens: Some(3),
        exact_output: false,
        params: Default::default(),
        ..Default::default()
    }
}

pub struct Hostile {
    pub port: u16,
    /// Requests read in full (head and body), over every connection.
    pub requests: Arc<AtomicUsize>,
}

impl Hostile {
    pub fn start() -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, &counter);
                });
            }
        });
        Hostile { port, requests }
    }

    pub fn url(&self, behaviour: &str) -> String {
        format!("http://127.0.0.1:{}/{behaviour}/v1", self.port)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// One token's chunk.
fn token(text: &str, index: &str) -> String {
    format!("data: {{\"id\":\"cmpl-1\",\"choices\":[{{\"text\":\"{text}\",\"index\":{index},\"finish_reason\":null}}]}}\n\n")
}

fn last(completion_tokens: &str) -> String {
    format!("data: {{\"choices\":[{{\"text\":\"\",\"index\":0,\"finish_reason\":\"length\"}}]}}\n\ndata: {{\"choices\":[],\"usage\":{{\"prompt_tokens\":2,\"completion_tokens\":{completion_tokens}}}}}\n\ndata: [DONE]\n\n")
}

fn chunk(body: &str) -> String {
    format!("{:x}\r\n{body}\r\n", body.len())
}

const STREAM_HEAD: &str = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5, max=100\r\n\r\n";

/// A good three-token stream, chunked.
fn good_stream() -> String {
    let mut out = STREAM_HEAD.to_string();
    for t in ["a", "b", "c"] {
        out.push_str(&chunk(&token(t, "0")));
    }
    out.push_str(&chunk(&last("3")));
    out.push_str("0\r\n\r\n");
    out
}

/// One request as the server read it.
#[allow(dead_code)] // each test crate reads its own parts of it
pub struct Request {
    pub method: String,
    /// The request target as sent (path and query).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name`, any case.
    #[allow(dead_code)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Read one request (head and `Content-Length` body), or `None` when the
/// client closed the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

/// What a behaviour's answer leaves the connection to do next.
#[allow(dead_code)]
pub enum Next {
    /// Read the next request on this connection.
    Serve,
    /// Close the connection.
    Close,
}

/// The connection a behaviour answers on.
#[allow(dead_code)] // until every class file uses each part
pub struct Conn<'a> {
    pub out: &'a mut TcpStream,
    pub reader: &'a mut BufReader<TcpStream>,
    /// 1 for the first request read on this connection.
    pub nth: usize,
}

fn serve(conn: TcpStream, counter: &AtomicUsize) -> std::io::Result<()> {
    let mut out = conn.try_clone()?;
    let mut reader = BufReader::new(conn);
    let mut on_this_connection = 0;
    while let Some(req) = read_request(&mut reader) {
        counter.fetch_add(1, Ordering::SeqCst);
        on_this_connection += 1;
        let behaviour = req
            .path
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("");
        let mut conn = Conn {
            out: &mut out,
            reader: &mut reader,
            nth: on_this_connection,
        };
        // Each class of misbehaviour keeps its modes in a file of its own.
        let answered = [channels::serve, wire::serve, retries::serve, runs::serve]
            .iter()
            .find_map(|serve| serve(behaviour, &req, &mut conn).transpose())
            .transpose()?;
        match answered {
            Some(Next::Serve) => continue,
            Some(Next::Close) => return Ok(()),
            None => {}
        }
        if classic(behaviour, on_this_connection, &mut out, &mut reader)? {
            return Ok(());
        }
    }
    Ok(())
}

/// The first modes: true when the connection is to be closed.
fn classic(
    behaviour: &str,
    on_this_connection: usize,
    out: &mut TcpStream,
    reader: &mut BufReader<TcpStream>,
) -> std::io::Result<bool> {
    match behaviour {
        "good" => out.write_all(good_stream().as_bytes())?,
        // llama.cpp's server: keep-alive announced, connection closed
        // after every streamed response.
        "close-after-response" => {
            out.write_all(good_stream().as_bytes())?;
            return Ok(true);
        }
        // Kept alive, but closed once idle for 250 ms (uvicorn does 5 s).
        "idle-close" => {
            out.write_all(good_stream().as_bytes())?;
            reader
                .get_ref()
                .set_read_timeout(Some(Duration::from_millis(250)))?;
        }
        // The second request on a connection is read, then dropped.
        "drop-second" if on_this_connection == 2 => {
            std::thread::sleep(Duration::from_millis(20));
            return Ok(true);
        }
        "drop-second" => out.write_all(good_stream().as_bytes())?,
        // Every request read, then the connection dropped unanswered.
        "drop-all" => return Ok(true),
        "interim" => {
            out.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
            out.write_all(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")?;
            out.write_all(good_stream().as_bytes())?;
        }
        "index-max" | "index-huge" => {
            let index = if behaviour == "index-max" {
                "18446744073709551615"
            } else {
                "1000000000"
            };
            let mut s = STREAM_HEAD.to_string();
            s.push_str(&chunk(&token("a", "0")));
            s.push_str(&chunk(&token("b", index)));
            s.push_str(&chunk(&last("2")));
            s.push_str("0\r\n\r\n");
            out.write_all(s.as_bytes())?;
        }
        "absurd-usage" => {
            let mut s = STREAM_HEAD.to_string();
            s.push_str(&chunk(&token("a", "0")));
            s.push_str(&chunk(&last("999999999999999")));
            s.push_str("0\r\n\r\n");
            out.write_all(s.as_bytes())?;
        }
        // An SSE line that never ends: 10 MiB of one line, then nothing.
        "endless-line" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: ")?;
            let block = vec![b'x'; 1 << 20];
            for _ in 0..10 {
                if out.write_all(&block).is_err() {
                    return Ok(true);
                }
            }
            std::thread::sleep(Duration::from_secs(30));
            return Ok(true);
        }
        // A response head that never ends: one header line, 1 MiB long.
        "endless-head" => {
            out.write_all(b"HTTP/1.1 200 OK\r\nX-Filler: ")?;
            let block = vec![b'y'; 64 << 10];
            for _ in 0..16 {
                if out.write_all(&block).is_err() {
                    return Ok(true);
                }
            }
            std::thread::sleep(Duration::from_secs(30));
            return Ok(true);
        }
        // A token every 100 ms, for ever.
        "never-ends" => {
            out.write_all(STREAM_HEAD.as_bytes())?;
            loop {
                if out.write_all(chunk(&token("a", "0")).as_bytes()).is_err() {
                    return Ok(true);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // Accepts, reads, never answers.
        "silent" => {
            std::thread::sleep(Duration::from_secs(60));
            return Ok(true);
        }
        "redirect" => {
            out.write_all(b"HTTP/1.1 301 Moved Permanently\r\nLocation: http://elsewhere.example/v1/completions\r\nContent-Length: 0\r\n\r\n")?;
        }
        // The API key echoed in the id and the finish reason, and an
        // error that tries to drive the terminal.
        "echo-key" => {
            let mut s = STREAM_HEAD.to_string();
            let echo = format!("data: {{\"id\":\"{KEY}\",\"choices\":[{{\"text\":\"a\",\"index\":0,\"finish_reason\":\"stop {KEY}\"}}]}}\n\n");
            s.push_str(&chunk(&echo));
            s.push_str(&chunk("data: [DONE]\n\n"));
            s.push_str("0\r\n\r\n");
            out.write_all(s.as_bytes())?;
        }
        "escape-error" => {
            let body = format!(
                "{{\"error\":{{\"message\":\"{}\\u001b[2J\\u001b]0;pwned\\u0007 bad key {KEY}\"}}}}",
                "x".repeat(400)
            );
            let head = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes())?;
            out.write_all(body.as_bytes())?;
        }
        // A reset in the middle of the stream.
        "reset" => {
            let mut s = STREAM_HEAD.to_string();
            s.push_str(&chunk(&token("a", "0")));
            out.write_all(s.as_bytes())?;
            let sock = reader.get_ref();
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            use std::os::fd::AsRawFd as _;
            // SAFETY: a valid socket option on a socket we own.
            unsafe {
                libc::setsockopt(
                    sock.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    (&linger as *const libc::linger).cast(),
                    std::mem::size_of::<libc::linger>() as u32,
                );
            }
            // Closing with a zero linger sends RST instead of FIN.
            return Ok(true);
        }
        _ => {
            out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
        }
    }
    Ok(false)
}
