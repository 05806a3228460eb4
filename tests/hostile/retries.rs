//! Hostile modes for dropped requests, retries and batches.

use super::{chunk, good_stream, last, token, Conn, Next, Request, STREAM_HEAD};
use std::io::Write;
use std::time::Duration;

/// Answer `req` if `behaviour` is one of this file's modes.
pub fn serve(behaviour: &str, req: &Request, conn: &mut Conn) -> std::io::Result<Option<Next>> {
    let _ = req;
    match behaviour {
        // Every request that arrives on a kept connection is read, then
        // dropped unanswered at once; the first on each is answered.
        "drop-kept" if conn.nth >= 2 => Ok(Some(Next::Close)),
        "drop-kept" => {
            conn.out.write_all(good_stream().as_bytes())?;
            Ok(Some(Next::Serve))
        }
        // The first request on a connection is answered; a later one is
        // read, held 2 s (as if being worked on) and lost in a crash.
        "hold-then-crash" if conn.nth >= 2 => {
            std::thread::sleep(Duration::from_secs(2));
            Ok(Some(Next::Close))
        }
        "hold-then-crash" => {
            conn.out.write_all(good_stream().as_bytes())?;
            Ok(Some(Next::Serve))
        }
        // A batch of four prompts of which only the first is answered.
        "batch-partial" => {
            let mut s = STREAM_HEAD.to_string();
            for t in ["a", "b", "c"] {
                s.push_str(&chunk(&token(t, "0")));
            }
            s.push_str(&chunk(&last("3")));
            s.push_str("0\r\n\r\n");
            conn.out.write_all(s.as_bytes())?;
            Ok(Some(Next::Serve))
        }
        // Every prompt of a batch of four answered, the last one by its
        // finish reason alone (an empty answer is an answer).
        "batch-whole" => {
            let mut s = STREAM_HEAD.to_string();
            for (t, i) in [("a", "0"), ("b", "1"), ("c", "2")] {
                s.push_str(&chunk(&token(t, i)));
            }
            let stop =
                "data: {\"choices\":[{\"text\":\"\",\"index\":3,\"finish_reason\":\"stop\"}]}\n\n";
            s.push_str(&chunk(stop));
            s.push_str(&chunk(&last("3")));
            s.push_str("0\r\n\r\n");
            conn.out.write_all(s.as_bytes())?;
            Ok(Some(Next::Serve))
        }
        _ => Ok(None),
    }
}
