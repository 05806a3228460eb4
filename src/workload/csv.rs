//! A small RFC 4180 reader (quoted fields, doubled quotes, newlines inside
//! quotes), each row with the line it starts on, for located errors.

/// One row: its fields and the 1-based line where it starts.
pub struct Row {
    pub line: usize,
    pub fields: Vec<String>,
}

/// Split `text` into rows; an unterminated quote is an error at its line.
pub fn rows(text: &str) -> Result<Vec<Row>, (usize, String)> {
    let mut out = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut row_line = 1;
    let mut chars = text.chars().peekable();
    let mut quoted_at = None;
    while let Some(c) = chars.next() {
        if quoted_at.is_some() {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted_at = None,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted_at = Some(line),
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                if !(fields.len() == 1 && fields[0].is_empty()) {
                    out.push(Row {
                        line: row_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                fields.clear();
                line += 1;
                row_line = line;
            }
            _ => field.push(c),
        }
    }
    if let Some(start) = quoted_at {
        return Err((start, "a quoted field is never closed".into()));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        out.push(Row {
            line: row_line,
            fields,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_commas_and_newlines() {
        let r = rows("a,b\r\n\"x, \"\"y\"\"\",2\n\n\"multi\nline\",3").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, vec!["x, \"y\"", "2"]);
        assert_eq!((r[2].line, r[2].fields[0].as_str()), (4, "multi\nline"));
        assert_eq!(rows("a\n\"open,1\n").err().unwrap().0, 2);
    }
}
