//! Hostile modes for whole runs: dead endpoints, signals, long report phases.

use super::{Conn, Next, Request};
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Requests `fail-first-30` has answered, over every connection.
static ANSWERED: AtomicUsize = AtomicUsize::new(0);

/// A 500 with a JSON error, at once, the connection kept.
fn internal_error(conn: &mut Conn) -> std::io::Result<()> {
    let body = "{\"error\":{\"message\":\"hostile: every request fails\"}}";
    let head = format!(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    conn.out.write_all(head.as_bytes())?;
    conn.out.write_all(body.as_bytes())
}

/// Answer `req` if `behaviour` is one of this file's modes.
pub fn serve(behaviour: &str, req: &Request, conn: &mut Conn) -> std::io::Result<Option<Next>> {
    let _ = req;
    match behaviour {
        // A server up but failing every request at once: the fast 5xx a
        // backoff is for.
        "fail-fast" => internal_error(conn)?,
        // The first 30 requests fail at once, every later one is served:
        // a server that comes back (one test uses this mode at a time).
        "fail-first-30" => {
            if ANSWERED.fetch_add(1, Ordering::SeqCst) < 30 {
                internal_error(conn)?;
            } else {
                conn.out.write_all(super::good_stream().as_bytes())?;
            }
        }
        _ => return Ok(None),
    }
    Ok(Some(Next::Serve))
}
