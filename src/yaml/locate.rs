//! Finds where a key sits in a YAML text, so validation errors found after
//! parsing can still point at a line and column.
//!
//! serde_yaml locates syntax and type errors itself but forgets positions once
//! a value is parsed. This scanner covers the block and flow mappings that
//! experiment files use; where it cannot find a key the error names the file only.

/// 1-based (line, column) of `path` (e.g. `["baseline", "concurrency"]`).
pub fn locate_key(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let (first, rest) = path.split_first()?;
    // Top-level keys start at column 0.
    let mut start = lines.iter().position(|l| key_at(l, 0, first))?;
    let mut found = (start + 1, 1);
    let mut indent_floor = 0;
    for key in rest {
        // The block of the current key: following lines indented deeper, plus
        // the rest of the key's own line (flow mappings).
        let end = block_end(&lines, start, indent_floor);
        let mut hit = None;
        if let Some(col) = find_key_in(lines[start], key, found.1) {
            hit = Some((start, col));
        } else {
            for (i, line) in lines.iter().enumerate().take(end).skip(start + 1) {
                if let Some(col) = find_key_in(line, key, 0) {
                    hit = Some((i, col));
                    break;
                }
            }
        }
        let (line, col) = hit?;
        start = line;
        indent_floor = indent(lines[line]);
        found = (line + 1, col + 1);
    }
    Some(found)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn key_at(line: &str, col: usize, key: &str) -> bool {
    indent(line) == col && {
        let t = line.trim_start();
        t.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with(':'))
    }
}

fn block_end(lines: &[&str], start: usize, floor: usize) -> usize {
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim_start();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if indent(line) <= floor {
            return i;
        }
    }
    lines.len()
}

/// Column (0-based) of `key:` as a mapping key in `line`, searching from `from`.
fn find_key_in(line: &str, key: &str, from: usize) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut search = from.min(line.len());
    while let Some(pos) = line.get(search..)?.find(key) {
        let at = search + pos;
        let before_ok =
            at == 0 || matches!(bytes[at - 1], b' ' | b'{' | b',' | b'\t' | b'"' | b'\'');
        let after = line[at + key.len()..].trim_start_matches(['"', '\'']);
        if before_ok && after.trim_start().starts_with(':') {
            return Some(at);
        }
        search = at + key.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name: x\n# comment\nbaseline: {concurrency: 1, input_tokens: 50}\nfactors:\n  concurrency: [1, 2]\n  input_tokens:\n    - 50\n    - 200\nrepetitions: 3\n";

    #[test]
    fn finds_top_level_flow_and_block_keys() {
        assert_eq!(locate_key(TEXT, &["name"]), Some((1, 1)));
        assert_eq!(
            locate_key(TEXT, &["baseline", "input_tokens"]),
            Some((3, 28))
        );
        assert_eq!(locate_key(TEXT, &["factors", "concurrency"]), Some((5, 3)));
        assert_eq!(locate_key(TEXT, &["factors", "input_tokens"]), Some((6, 3)));
        assert_eq!(locate_key(TEXT, &["repetitions"]), Some((9, 1)));
    }

    #[test]
    fn missing_keys_are_none() {
        assert_eq!(locate_key(TEXT, &["factors", "quant"]), None);
        assert_eq!(locate_key(TEXT, &["target"]), None);
    }
}
