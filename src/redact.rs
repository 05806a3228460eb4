//! Text from a server on its way to a record or a terminal: the API key
//! taken out (before anything is cut, so no prefix survives), lengths
//! bounded, control characters made visible.

/// Replace every occurrence of `key` in `text` with `***`.
pub fn key(text: &mut String, key: &str) {
    if !key.is_empty() && text.contains(key) {
        *text = text.replace(key, "***");
    }
}

/// Cut `text` to at most `max` characters (on a character boundary),
/// marking the cut.
pub fn truncate(text: &mut String, max: usize) {
    if let Some((at, _)) = text.char_indices().nth(max) {
        text.truncate(at);
        text.push('…');
    }
}

/// `text` safe to print on a terminal: control characters (an escape
/// sequence could move the cursor, retitle the window or hide output)
/// written as `\u{1b}`, line breaks as `\n`.
pub fn for_terminal(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return text.into();
    }
    text.chars()
        .map(|c| match c {
            '\n' => "\\n".to_string(),
            '\r' => "\\r".to_string(),
            '\t' => " ".to_string(),
            c if c.is_control() => c.escape_unicode().to_string(),
            c => c.to_string(),
        })
        .collect::<String>()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_goes_before_the_cut() {
        let mut s = format!("{}sk-secret-123 echoed", "x".repeat(8));
        key(&mut s, "sk-secret-123");
        truncate(&mut s, 10);
        assert_eq!(s, "xxxxxxxx**…");
        let mut t = "ünïcödé".to_string();
        truncate(&mut t, 3);
        assert_eq!(t, "ünï…");
        let mut short = "ok".to_string();
        truncate(&mut short, 3);
        assert_eq!(short, "ok");
    }

    #[test]
    fn escapes_are_shown_not_obeyed() {
        assert_eq!(
            for_terminal("bad\u{1b}[2J\u{7}\nnext"),
            "bad\\u{1b}[2J\\u{7}\\nnext"
        );
        assert_eq!(for_terminal("plain text"), "plain text");
    }
}
