//! The committed corpus of broken experiment files and prompt sets
//! (`tests/bad-input/`): each must exit 2, never panic, and say what was
//! wrong, naming its file and, where the file says one exists, the line.
//!
//! A corpus file starts with `# expect: <part of the message>` and may follow
//! with `# at: <line>` (in the corpus file); files without `# expect:` are
//! helpers (broken prompt sets the experiments point at, which the
//! expectation then names).

mod common;

use common::{bin, repo};

#[test]
fn every_broken_file_exits_2_with_a_located_message() {
    let dir = repo().join("tests/bad-input");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let Some(expect) = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# expect: "))
        else {
            continue;
        };
        let at = text
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("# at: "))
            .map(str::trim);
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for command in ["validate", "plan"] {
            let out = bin().arg(command).arg(&path).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{name} ({command}): {stderr}");
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
            assert!(
                stderr.contains(expect),
                "{name}: expected {expect:?} in {stderr}"
            );
            // A broken prompt set is named itself (the expectation says which).
            if !expect.contains(".yaml") {
                assert!(
                    stderr.contains(&name),
                    "{name}: the message names the file: {stderr}"
                );
            }
            if let Some(line) = at {
                assert!(
                    stderr.contains(&format!("{name}:{line}:")),
                    "{name}: expected line {line} in {stderr}"
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 25, "only {checked} corpus files");
}
