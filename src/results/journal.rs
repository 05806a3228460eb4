//! `requests.jsonl` read a bounded piece at a time.
//!
//! A run of millions of requests does not fit in memory as records, so the
//! journal is first indexed (one pass that reads only each line's leading
//! `{"trial":N`, which the writer always puts first) and then read a trial at
//! a time, in chunks of lines parsed on every core. Records of a trial lie
//! together in a journal the runner wrote, but the index takes them from
//! wherever they are (a merged or hand-edited journal reads the same).

use super::Record;
use crate::error::InputError;
use crate::limits::MAX_JSON_TEXT;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

/// Lines in a row of one trial: bytes `start..end`, the first line's number.
#[derive(Debug, Clone)]
struct Segment {
    start: u64,
    end: u64,
    first_line: usize,
    lines: usize,
}

#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    trials: BTreeMap<usize, Vec<Segment>>,
    records: usize,
    /// The last line was cut off (a kill or a full disk) and is left out.
    pub torn_tail: bool,
}

const READ_BLOCK: usize = 8 << 20;

impl Journal {
    /// Index the journal, keeping the trials `keep` accepts (the finished ones).
    pub fn open(path: &Path, keep: impl Fn(usize) -> bool) -> anyhow::Result<Journal> {
        let mut file = File::open(path)
            .map_err(|e| InputError::in_file(path, format!("cannot read the journal: {e}")))?;
        let mut j = Journal {
            path: path.to_path_buf(),
            trials: BTreeMap::new(),
            records: 0,
            torn_tail: false,
        };
        let mut block = vec![0u8; READ_BLOCK];
        // The unfinished line carried from one block to the next.
        let mut carry: Vec<u8> = Vec::new();
        let (mut offset, mut line_no) = (0u64, 0usize);
        loop {
            let got = file.read(&mut block)?;
            if got == 0 {
                break;
            }
            let mut rest = &block[..got];
            while let Some(nl) = memchr::memchr(b'\n', rest) {
                if carry.len() + nl > MAX_JSON_TEXT {
                    return Err(super::lines::too_long(path, Some(line_no + 1)));
                }
                let line: &[u8] = if carry.is_empty() {
                    &rest[..nl]
                } else {
                    carry.extend_from_slice(&rest[..nl]);
                    &carry
                };
                line_no += 1;
                let len = line.len() as u64 + 1;
                if !line.trim_ascii().is_empty() {
                    let trial = trial_of(line).map_err(|(col, e)| {
                        InputError::in_file(path, format!("corrupt record: {e}"))
                            .at(Some((line_no, col)))
                    })?;
                    if keep(trial) {
                        j.add(trial, offset, offset + len, line_no);
                    }
                }
                offset += len;
                carry.clear();
                rest = &rest[nl + 1..];
            }
            if carry.len() + rest.len() > MAX_JSON_TEXT {
                return Err(super::lines::too_long(path, Some(line_no + 1)));
            }
            carry.extend_from_slice(rest);
        }
        // An unterminated last line is kept only if it is whole.
        if !carry.trim_ascii().is_empty() {
            line_no += 1;
            match Record::from_json_line(&carry) {
                Ok(r) if keep(r.trial) => {
                    j.add(r.trial, offset, offset + carry.len() as u64, line_no)
                }
                Ok(_) => {}
                Err(_) => j.torn_tail = true,
            }
        }
        if j.torn_tail {
            warn_torn(path);
        }
        Ok(j)
    }

    fn add(&mut self, trial: usize, start: u64, end: u64, line: usize) {
        self.records += 1;
        let segments = self.trials.entry(trial).or_default();
        match segments.last_mut() {
            Some(s) if s.end == start => {
                s.end = end;
                s.lines += 1;
            }
            _ => segments.push(Segment {
                start,
                end,
                first_line: line,
                lines: 1,
            }),
        }
    }

    /// Records kept, over every trial.
    pub fn records(&self) -> usize {
        self.records
    }

    /// The trials with records, in order.
    pub fn trials(&self) -> impl Iterator<Item = usize> + '_ {
        self.trials.keys().copied()
    }

    /// Every record of `trial`, in chunks of at most `chunk` records in
    /// journal order (the order the requests ended), each parsed on every core.
    pub fn for_each_chunk(
        &self,
        trial: usize,
        chunk: usize,
        mut f: impl FnMut(Vec<Record>) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let file = File::open(&self.path)?;
        for seg in self.trials.get(&trial).into_iter().flatten() {
            let mut at = seg.start;
            let mut line = seg.first_line;
            while at < seg.end {
                // About `chunk` lines' worth of bytes, cut back to a line
                // end; more where one line is longer than that.
                let mut want = ((seg.end - at) as usize).min(chunk.max(1) * 1024);
                let buf = loop {
                    let mut buf = vec![0u8; want];
                    file.read_exact_at(&mut buf, at)?;
                    if at + want as u64 == seg.end || memchr::memchr(b'\n', &buf).is_some() {
                        break buf;
                    }
                    // The index held every line to the cap; a longer one
                    // now is a journal changed since.
                    if want > MAX_JSON_TEXT {
                        return Err(super::lines::too_long(&self.path, Some(line)));
                    }
                    want = ((seg.end - at) as usize).min(want * 2);
                };
                let mut lines: Vec<&[u8]> = Vec::with_capacity(chunk.max(1) + 1);
                let mut from = 0;
                for nl in memchr::memchr_iter(b'\n', &buf) {
                    lines.push(&buf[from..nl]);
                    from = nl + 1;
                }
                lines.push(&buf[from..]);
                if at + buf.len() as u64 != seg.end {
                    lines.pop(); // partial: read again with the next piece
                }
                lines.truncate(chunk.max(1));
                let used: usize = lines.iter().map(|l| l.len() + 1).sum();
                let records = parse_lines(&self.path, &lines, line)?;
                line += lines.len();
                at += used as u64;
                f(records)?;
            }
        }
        Ok(())
    }

    /// Every record of every kept trial, in trial order (small runs, tests).
    pub fn all(&self) -> anyhow::Result<Vec<Record>> {
        let mut out = Vec::with_capacity(self.records);
        for t in self.trials.keys() {
            self.for_each_chunk(*t, 1 << 16, |mut chunk| {
                out.append(&mut chunk);
                Ok(())
            })?;
        }
        Ok(out)
    }
}

/// Said once per log whose last line a kill or a full disk cut off.
pub(super) fn warn_torn(path: &Path) {
    crate::error::warn(format_args!(
        "warning: {}: its last line was cut off (the run was killed or the disk filled while writing it) and is left out",
        path.display()
    ));
}

/// The `trial` of a journal line: read from its leading `{"trial":N` where
/// the writer put it, else from the parsed line.
fn trial_of(line: &[u8]) -> Result<usize, (usize, String)> {
    const PREFIX: &[u8] = b"{\"trial\":";
    if let Some(rest) = line.strip_prefix(PREFIX) {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && digits < 19 && rest.get(digits) == Some(&b',') {
            let text = std::str::from_utf8(&rest[..digits]).expect("ASCII digits");
            return Ok(text.parse().expect("fewer than 19 digits"));
        }
    }
    #[derive(serde::Deserialize)]
    struct TrialOf {
        trial: usize,
    }
    serde_json::from_slice::<TrialOf>(line)
        .map(|t| t.trial)
        .map_err(|e| (e.column(), e.to_string()))
}

/// Parse lines on every core; an error names the file, line and column.
fn parse_lines(path: &Path, lines: &[&[u8]], first_line: usize) -> anyhow::Result<Vec<Record>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(lines.len().div_ceil(1024))
        .max(1);
    let per = lines.len().div_ceil(threads);
    type Parsed = Result<Vec<Record>, (usize, usize, String)>;
    let parsed: Vec<Parsed> = std::thread::scope(|s| {
        let handles = lines
            .chunks(per.max(1))
            .enumerate()
            .map(|(k, part)| {
                let thread = std::thread::Builder::new().name(format!("parse-{k}"));
                thread.spawn_scoped(s, move || {
                    part.iter()
                        .enumerate()
                        .filter(|(_, l)| !l.trim_ascii().is_empty())
                        .map(|(i, l)| {
                            Record::from_json_line(l)
                                .map_err(|e| (k * per + i, e.column(), e.to_string()))
                        })
                        .collect()
                })
            })
            .collect::<std::io::Result<Vec<_>>>();
        handles.map(|handles: Vec<_>| {
            handles
                .into_iter()
                .map(|h| h.join().expect("a parser thread panicked"))
                .collect()
        })
    })?;
    let mut out = Vec::with_capacity(lines.len());
    for part in parsed {
        let mut part = part.map_err(|(i, col, e)| {
            InputError::in_file(path, format!("corrupt record: {e}"))
                .at(Some((first_line + i, col)))
        })?;
        out.append(&mut part);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(trial: usize, request: usize) -> String {
        format!(
            "{{\"trial\":{trial},\"config\":0,\"repetition\":0,\"request\":{request},\"sent_s\":0.0,\"queue_ms\":null,\"ttft_ms\":1.0,\"e2e_ms\":2.0,\"tpot_ms\":null,\"itl_ms\":[],\"prompt_tokens\":1,\"completion_tokens\":1,\"requested_input_tokens\":null,\"requested_output_tokens\":null,\"tokens_source\":\"usage\",\"ok\":true,\"http_status\":200,\"error\":null,\"finish_reason\":\"stop\"}}\n"
        )
    }

    #[test]
    fn trials_are_read_from_wherever_they_lie_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        let mut text = String::new();
        for (t, r) in [(0, 0), (0, 1), (1, 0), (0, 2), (2, 0), (1, 1)] {
            text.push_str(&line(t, r));
        }
        text.push_str("{\"trial\":1,\"con"); // torn by a kill
        std::fs::write(&path, &text).unwrap();
        let j = Journal::open(&path, |t| t != 2).unwrap();
        assert!(j.torn_tail);
        assert_eq!(
            j.records(),
            5,
            "trial 2 is not finished, the torn line is dropped"
        );
        assert_eq!(j.trials().collect::<Vec<_>>(), vec![0, 1]);
        let mut chunks = Vec::new();
        j.for_each_chunk(0, 2, |c| {
            chunks.push(c.iter().map(|r| r.request).collect::<Vec<_>>());
            Ok(())
        })
        .unwrap();
        assert_eq!(chunks, vec![vec![0, 1], vec![2]]);
        assert_eq!(j.all().unwrap().len(), 5);
    }

    #[test]
    fn a_corrupt_line_is_named_by_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("requests.jsonl");
        let text = format!(
            "{}{}",
            line(0, 0),
            line(0, 1).replace("\"e2e_ms\":2.0", "\"e2e_ms\":\"x\"")
        );
        std::fs::write(&path, text).unwrap();
        let j = Journal::open(&path, |_| true).unwrap();
        let err = j.all().unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
        // A line whose trial cannot be read fails the index.
        std::fs::write(&path, format!("{}{{\"tr\n{}", line(0, 0), line(0, 1))).unwrap();
        let err = Journal::open(&path, |_| true).unwrap_err().to_string();
        assert!(err.contains(":2:"), "{err}");
    }
}
