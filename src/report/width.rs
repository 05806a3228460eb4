//! The terminal's width, and the document fitted to it: prose wrapped at
//! spaces, a table's optional columns left out (and named) until the rest
//! fits. Output that goes to a file or a pipe keeps every column unless
//! `COLUMNS` asks otherwise.

use super::document::Table;
use super::table::aligned;

/// Narrower than this, a table would lose the columns it is read for.
const NARROWEST: usize = 40;

/// The width the terminal report is fitted to: set once by the binary
/// (from its own stdout), never by the library's callers, so a report
/// rendered in a test or by another program keeps every column.
static FIT_TO: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// Fit the terminal report to `width` from now on (the binary's start).
pub fn fit_terminal_to(width: Option<usize>) {
    let _ = FIT_TO.set(width);
}

/// The width set by [`fit_terminal_to`], if any.
pub fn fitted_width() -> Option<usize> {
    FIT_TO.get().copied().flatten()
}

/// The columns of the terminal on stdout; `COLUMNS` where stdout is no
/// terminal (or says nothing), else none: no limit.
pub fn terminal() -> Option<usize> {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own; on a
    // descriptor that is no terminal it fails and writes nothing.
    let tty = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    let columns = match tty && size.ws_col > 0 {
        true => Some(usize::from(size.ws_col)),
        false => from_env,
    };
    columns.map(|c: usize| c.max(NARROWEST))
}

/// `text` with each line wrapped at spaces to `width` (a word longer than
/// the width stands alone), continuation lines indented as their first;
/// ends with a newline.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let Some(width) = width.filter(|w| line.chars().count() > *w) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let indent: String = line.chars().take_while(|c| *c == ' ').collect();
        let mut current = String::new();
        for word in line.split(' ').filter(|w| !w.is_empty()) {
            let fits = current.chars().count() + 1 + word.chars().count() <= width;
            if !current.trim().is_empty() && !fits {
                out.push_str(current.trim_end());
                out.push('\n');
                current = indent.clone() + "  ";
            } else if current.is_empty() {
                current.push_str(&indent);
            } else if !current.ends_with(' ') {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(current.trim_end());
        out.push('\n');
    }
    out
}

/// `table` aligned in at most `width` columns where it can be: its optional
/// columns left out in their order until it fits, then named in a line
/// under it.
pub fn fitted(table: &Table, width: Option<usize>) -> String {
    let rows: Vec<&Vec<String>> = table.rows.iter().map(|(r, _)| r).collect();
    let widths: Vec<usize> = (0..table.header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                .chain([table.header[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut kept: Vec<usize> = (0..widths.len()).collect();
    let span = |kept: &[usize]| {
        kept.iter()
            .map(|i| widths[*i] + 2)
            .sum::<usize>()
            .saturating_sub(2)
    };
    let mut left_out = Vec::new();
    if let Some(width) = width {
        for column in &table.optional {
            if span(&kept) <= width {
                break;
            }
            kept.retain(|i| i != column);
            left_out.push(table.header[*column].clone());
        }
    }
    let pick = |cells: &[String]| -> Vec<String> {
        kept.iter().filter_map(|i| cells.get(*i).cloned()).collect()
    };
    let rows: Vec<Vec<String>> = rows.iter().map(|r| pick(r)).collect();
    let mut out = aligned(&pick(&table.header), &rows);
    if !left_out.is_empty() {
        let note = format!(
            "({} left out to fit {} columns: {}; a wider terminal or --format md shows every column)",
            if left_out.len() == 1 { "one column" } else { "columns" },
            width.unwrap_or_default(),
            left_out.join(", ")
        );
        out.push_str(&wrap(&note, width));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::document::strings;

    fn table() -> Table {
        let mut t = Table::new(
            strings(&[
                "configuration",
                "TTFT p50 ms",
                "TTFT p99 ms",
                "ITL p50 ms",
                "verdict",
            ]),
            vec![strings(&["concurrency=16", "123", "456", "7.8", "slower"])],
        );
        t.optional = vec![3, 2];
        t
    }

    #[test]
    fn a_table_loses_its_optional_columns_in_order_until_it_fits() {
        let whole = fitted(&table(), None);
        assert!(whole.lines().next().unwrap().contains("ITL p50 ms"));
        let first_line = |s: &str| s.lines().next().unwrap().to_string();
        // 14 + 11 + 11 + 10 + 7 columns and four gaps of two: 61 wide.
        assert_eq!(first_line(&whole).chars().count(), 61);
        assert_eq!(fitted(&table(), Some(61)), whole);
        let narrower = fitted(&table(), Some(60));
        assert!(
            !first_line(&narrower).contains("ITL") && first_line(&narrower).contains("TTFT p99")
        );
        assert!(narrower.contains("(one column left out to fit 60 columns: ITL p50 ms;"));
        let narrow = fitted(&table(), Some(45));
        assert_eq!(first_line(&narrow), "configuration   TTFT p50 ms  verdict");
        // The note wraps as prose does.
        let unwrapped = narrow.replace("\n  ", " ");
        assert!(unwrapped.contains("columns left out to fit 45 columns: ITL p50 ms, TTFT p99 ms;"));
        // Where nothing optional is left, the table is as wide as it must be.
        let narrowest = fitted(&table(), Some(10));
        assert_eq!(first_line(&narrowest), first_line(&narrow));
        for line in narrow.lines() {
            assert!(line.chars().count() <= 45, "{line:?}");
        }
    }

    #[test]
    fn prose_wraps_at_spaces_and_keeps_its_indent() {
        let text = "  warning: the server answered slowly and then not at all";
        let wrapped = wrap(text, Some(24));
        assert_eq!(
            wrapped,
            "  warning: the server\n    answered slowly and\n    then not at all\n"
        );
        assert_eq!(wrap(text, None), format!("{text}\n"));
        assert_eq!(
            wrap("a-very-long-word x", Some(5)),
            "a-very-long-word\n  x\n"
        );
        assert_eq!(wrap("", Some(5)), "");
    }
}
