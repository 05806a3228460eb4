//! A launched server's own log (`server-NN.log`): what it prints on stdout
//! and stderr, copied line by line through the run's redactor and up to a
//! size cap. A server prints what it was given (`--api-key` echoed at
//! start-up, a token in an error) and may print without end; the run folder
//! keeps neither the secrets nor more than the cap.

use crate::redact::Secrets;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Bytes of log kept per launch; past it the output is read and dropped, so
/// the server never blocks on a full pipe.
pub const LOG_CAP: u64 = 256 << 20;
/// A line longer than this is written in pieces of this size; each piece is
/// scrubbed on its own, so a secret is hidden unless it straddles a cut
/// 64 KiB into a line without a newline.
const LINE_PIECE: usize = 64 << 10;

/// The log file both streams write to, and what it holds so far.
struct Sink {
    file: File,
    written: u64,
    cap: u64,
    cut: bool,
}

impl Sink {
    fn line(&mut self, bytes: &[u8], secrets: &Secrets) {
        if self.cut {
            return;
        }
        let mut text = String::from_utf8_lossy(bytes).into_owned();
        secrets.scrub(&mut text);
        let len = text.len() as u64;
        if self.written + len > self.cap {
            self.cut = true;
            let note = format!(
                "[infer-bench: the log reached its cap of {} bytes; the rest of the server's output was read and dropped]\n",
                self.cap
            );
            let _ = self.file.write_all(note.as_bytes());
            return;
        }
        // A full disk loses log lines, never the run.
        if self.file.write_all(text.as_bytes()).is_ok() {
            self.written += len;
        }
    }
}

/// The threads copying a server's stdout and stderr into its log.
pub struct LogCopy {
    threads: Vec<JoinHandle<()>>,
}

impl LogCopy {
    /// Copy `streams` into `file` as lines, each scrubbed of `secrets`.
    pub fn start(
        file: File,
        streams: Vec<Box<dyn Read + Send>>,
        secrets: Secrets,
        cap: u64,
    ) -> Self {
        let sink = Arc::new(Mutex::new(Sink {
            file,
            written: 0,
            cap,
            cut: false,
        }));
        let secrets = Arc::new(secrets);
        let threads = streams
            .into_iter()
            .map(|stream| {
                let (sink, secrets) = (sink.clone(), secrets.clone());
                std::thread::Builder::new()
                    .name("server-log".into())
                    .spawn(move || copy_lines(stream, &sink, &secrets))
            })
            .filter_map(Result::ok)
            .collect();
        LogCopy { threads }
    }

    /// Wait, at most `within`, for the streams to end (the server and what
    /// it forked have exited), so the log is whole before it is read. A
    /// stray child holding a stream open is not waited for.
    pub fn finish(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.threads.iter().any(|t| !t.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.threads.retain(|t| !t.is_finished());
    }
}

fn copy_lines(stream: Box<dyn Read + Send>, sink: &Mutex<Sink>, secrets: &Secrets) {
    let mut reader = BufReader::with_capacity(LINE_PIECE, stream);
    let mut line = Vec::new();
    loop {
        let (done, used) = match reader.fill_buf() {
            Ok([]) | Err(_) => break,
            Ok(buf) => match buf.iter().position(|&b| b == b'\n') {
                Some(at) => {
                    line.extend_from_slice(&buf[..=at]);
                    (true, at + 1)
                }
                None => {
                    let take = buf.len().min(LINE_PIECE - line.len());
                    line.extend_from_slice(&buf[..take]);
                    (line.len() >= LINE_PIECE, take)
                }
            },
        };
        reader.consume(used);
        if done {
            flush(&mut line, sink, secrets);
        }
    }
    flush(&mut line, sink, secrets);
}

fn flush(line: &mut Vec<u8>, sink: &Mutex<Sink>, secrets: &Secrets) {
    if line.is_empty() {
        return;
    }
    if line.last() != Some(&b'\n') {
        line.push(b'\n');
    }
    if let Ok(mut s) = sink.lock() {
        s.line(line, secrets);
    }
    line.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copied(input: &[u8], secrets: Secrets, cap: u64) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.log");
        let file = File::create(&path).unwrap();
        let stream: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(input.to_vec()));
        let mut copy = LogCopy::start(file, vec![stream], secrets, cap);
        copy.finish(Duration::from_secs(10));
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn secrets_are_hidden_line_by_line_and_a_last_line_is_kept() {
        let mut s = Secrets::default();
        s.add("sk-planted-123");
        let out = copied(
            b"start --api-key sk-planted-123\nok\nBearer sk-planted-123",
            s,
            LOG_CAP,
        );
        assert_eq!(out, "start --api-key ***\nok\nBearer ***\n");
    }

    #[test]
    fn a_line_without_end_is_cut_into_pieces_and_the_log_into_its_cap() {
        let long = vec![b'x'; 3 * LINE_PIECE + 10];
        let out = copied(&long, Secrets::default(), LOG_CAP);
        assert_eq!(out.lines().count(), 4);
        assert_eq!(out.len(), long.len() + 4);
        let chatty = "a line of log\n".repeat(1000);
        let out = copied(chatty.as_bytes(), Secrets::default(), 1400);
        assert_eq!(out.lines().filter(|l| *l == "a line of log").count(), 100);
        assert!(out.ends_with("was read and dropped]\n"), "{out}");
    }
}
