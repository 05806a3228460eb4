//! A run folder's JSON files read back within [`MAX_JSON_TEXT`] per JSON
//! text: a line of a JSON-lines log, or a whole document. A planted or
//! corrupt file with a gigabyte line is refused at the cap with its name and
//! line, not read into memory.

use crate::error::InputError;
use crate::limits::MAX_JSON_TEXT;
use anyhow::Context as _;
use std::io::{BufRead, BufReader, Read as _};
use std::path::Path;

/// The error for a JSON text past the cap: `line` where it is a log's.
pub(super) fn too_long(path: &Path, line: Option<usize>) -> anyhow::Error {
    let what = match line {
        Some(n) => format!("line {n} is longer than {MAX_JSON_TEXT} bytes"),
        None => format!("the file is larger than {MAX_JSON_TEXT} bytes"),
    };
    InputError::in_file(
        path,
        format!("{what}, more than any JSON text infer-bench writes: not a run folder's file"),
    )
    .into()
}

/// Each line of `path` (without its `\n`), numbered from 1, and whether a
/// `\n` ended it (only a last line can lack one).
pub(super) fn for_each_line(
    path: &Path,
    mut f: impl FnMut(usize, &[u8], bool) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        let buf = reader
            .fill_buf()
            .with_context(|| format!("reading {}", path.display()))?;
        if buf.is_empty() {
            break;
        }
        let end = memchr::memchr(b'\n', buf);
        let used = end.map_or(buf.len(), |i| i + 1);
        let content = &buf[..end.unwrap_or(buf.len())];
        if line.len() + content.len() > MAX_JSON_TEXT {
            return Err(too_long(path, Some(n + 1)));
        }
        line.extend_from_slice(content);
        reader.consume(used);
        if end.is_some() {
            n += 1;
            f(n, &line, true)?;
            line.clear();
        }
    }
    if !line.is_empty() {
        f(n + 1, &line, false)?;
    }
    Ok(())
}

/// A whole JSON document of a run folder (`manifest.json`).
pub fn read_document(path: &Path) -> anyhow::Result<String> {
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut text = String::new();
    // One byte past the cap tells a file at the cap from one beyond it.
    file.take(MAX_JSON_TEXT as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() > MAX_JSON_TEXT {
        return Err(too_long(path, None));
    }
    Ok(text)
}

/// A JSON-lines file, read as bytes: a kill or a full disk can cut the last
/// line anywhere, inside a UTF-8 character too. Only that last, unterminated
/// line may be bad (it is dropped, and `true` says so); a bad line elsewhere
/// is corruption and an error that names it.
pub(super) fn json_lines<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> anyhow::Result<(Vec<T>, bool)> {
    let mut out = Vec::new();
    let mut torn = false;
    for_each_line(path, |n, line, ended| {
        if line.trim_ascii().is_empty() {
            return Ok(());
        }
        match serde_json::from_slice(line) {
            Ok(v) => out.push(v),
            Err(_) if !ended => torn = true,
            Err(e) => {
                return Err(InputError::in_file(path, format!("corrupt record: {e}"))
                    .at(Some((n, e.column())))
                    .into())
            }
        }
        Ok(())
    })?;
    Ok((out, torn))
}

/// End a JSON-lines file that a resume appends to with a whole line, as
/// [`json_lines`] read it: a last line without its newline that parses is
/// a record (it gets its newline); one that does not is torn by a kill and
/// is cut. Either way the first line appended after it stays a line of its
/// own instead of running into it.
pub(super) fn end_at_last_line(path: &Path) -> anyhow::Result<()> {
    use std::io::{Seek, SeekFrom, Write as _};
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    if !meta.is_file() {
        return Err(
            InputError::in_file(path, "is not a regular file, expected the run's own log").into(),
        );
    }
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    let len = meta.len();
    let start = last_line_start(&mut file, len)?;
    if start == len {
        return Ok(());
    }
    // A last line longer than the cap was never read as a record.
    let mut tail = Vec::new();
    if len - start <= MAX_JSON_TEXT as u64 {
        file.seek(SeekFrom::Start(start))?;
        (&mut file).take(len - start).read_to_end(&mut tail)?;
    }
    let whole = !tail.trim_ascii().is_empty()
        && serde_json::from_slice::<serde::de::IgnoredAny>(&tail).is_ok();
    if whole {
        file.seek(SeekFrom::End(0))?;
        file.write_all(b"\n")?;
    } else {
        file.set_len(start)
            .with_context(|| format!("cutting the torn last line of {}", path.display()))?;
    }
    file.sync_all()?;
    Ok(())
}

/// Where the last line of a file of `len` bytes starts: just past its last
/// newline, read back from the end a block at a time.
fn last_line_start(file: &mut std::fs::File, len: u64) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    let mut end = len;
    let mut block = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let buf = &mut block[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(buf)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_cut_and_whole_lines_kept() {
        for (bytes, kept) in [
            (
                &b"{\"a\":1}\n{\"a\":2}\n{\"a\""[..],
                &b"{\"a\":1}\n{\"a\":2}\n"[..],
            ),
            (b"{\"a\":1}\n", b"{\"a\":1}\n"),
            (b"{\"a\":1", b""),
            // Whole but for its newline: a record, kept.
            (b"{\"a\":1}\n{\"a\":2}", b"{\"a\":1}\n{\"a\":2}\n"),
            (b"{\"a\":1}\n  ", b"{\"a\":1}\n"),
            (b"", b""),
        ] {
            let (_dir, path) = file(bytes);
            end_at_last_line(&path).unwrap();
            assert_eq!(std::fs::read(&path).unwrap(), kept);
        }
        // A torn line longer than the block read back at once.
        let mut long = b"{\"a\":1}\n".to_vec();
        long.extend(std::iter::repeat_n(b'x', 200_000));
        let (_dir, path) = file(&long);
        end_at_last_line(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"a\":1}\n");
    }

    fn file(bytes: &[u8]) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    #[test]
    fn a_line_torn_inside_a_character_is_dropped_and_the_rest_kept() {
        let mut log = b"{\"a\":\"\xc3\xa9t\xc3\xa9\"}\n{\"a\":\"b\"}\n".to_vec();
        log.extend_from_slice(b"{\"a\":\"\xc3"); // cut inside `é`
        let (_d, path) = file(&log);
        let (lines, torn) = json_lines::<serde_json::Value>(&path).unwrap();
        assert!(torn);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["a"], "été");

        let (_d, path) = file(b"{\"a\":1}\n{\"a\n{\"a\":2}\n");
        let err = json_lines::<serde_json::Value>(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains(":2:"),
            "the corrupt line is named: {err:#}"
        );
        let (_d, path) = file(b"{\"a\":1}\n");
        let (lines, torn) = json_lines::<serde_json::Value>(&path).unwrap();
        assert_eq!((lines.len(), torn), (1, false));
    }

    #[test]
    fn a_line_past_the_cap_is_refused_by_its_number_without_being_held() {
        let mut log = b"{\"a\":1}\n".to_vec();
        log.extend(std::iter::repeat_n(b'x', MAX_JSON_TEXT + 10));
        log.push(b'\n');
        let (_d, path) = file(&log);
        let err = json_lines::<serde_json::Value>(&path).unwrap_err();
        assert!(
            format!("{err:#}").contains("line 2 is longer than"),
            "{err:#}"
        );
        let err = read_document(&path).unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
    }
}
