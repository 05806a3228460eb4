//! What serde_yaml does not check in a YAML file: a key given twice in one
//! mapping (serde_yaml keeps the last silently, or names neither place) and
//! nesting deep enough to exhaust the stack. Read from yaml-rust2's events,
//! which carry positions, before serde_yaml parses the text.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Mappings and lists nested deeper than this are refused: no experiment
/// needs ten, and a recursive reader must not meet ten thousand.
pub const MAX_DEPTH: usize = 64;

/// A fault with its place (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// Duplicate keys and excessive depth in `source`. Syntax errors are left
/// to serde_yaml, whose messages say what was expected.
pub fn check(source: &str) -> Result<(), Fault> {
    let mut walk = Walk::default();
    let _ = Parser::new_from_str(source).load(&mut walk, true);
    match walk.fault {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

enum Frame {
    Map {
        /// Keys seen, with where.
        keys: HashMap<String, (usize, usize)>,
        next_is_key: bool,
    },
    List,
}

#[derive(Default)]
struct Walk {
    stack: Vec<Frame>,
    fault: Option<Fault>,
}

impl Walk {
    /// A node begins at `mark` (a scalar's text in `scalar`): if it is a
    /// key of the enclosing mapping, check that it is a new one.
    fn node(&mut self, scalar: Option<&str>, mark: Marker) {
        let Some(Frame::Map { keys, next_is_key }) = self.stack.last_mut() else {
            return;
        };
        let is_key = *next_is_key;
        *next_is_key = !*next_is_key;
        let Some(key) = scalar.filter(|k| is_key && *k != "<<") else {
            return;
        };
        let here = (mark.line(), mark.col() + 1);
        if let Some(first) = keys.insert(key.to_string(), here) {
            self.fault = Some(Fault {
                message: format!(
                    "duplicate key '{key}' (first at line {} column {}), expected each key once",
                    first.0, first.1
                ),
                line: here.0,
                column: here.1,
            });
        }
    }

    fn open(&mut self, frame: Frame, mark: Marker) {
        self.node(None, mark);
        if self.stack.len() >= MAX_DEPTH {
            self.fault = Some(Fault {
                message: format!("nested more than {MAX_DEPTH} levels deep"),
                line: mark.line(),
                column: mark.col() + 1,
            });
        }
        self.stack.push(frame);
    }
}

impl MarkedEventReceiver for Walk {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.fault.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, ..) => self.node(Some(&text), mark),
            Event::Alias(_) => self.node(None, mark),
            Event::MappingStart(..) => self.open(
                Frame::Map {
                    keys: HashMap::new(),
                    next_is_key: true,
                },
                mark,
            ),
            Event::SequenceStart(..) => self.open(Frame::List, mark),
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_with_both_places() {
        let f = check("name: x\nbaseline:\n  quant: q4\n  quant: q8\n").unwrap_err();
        assert_eq!((f.line, f.column), (4, 3));
        assert!(
            f.message.contains("'quant' (first at line 3 column 3)"),
            "{}",
            f.message
        );
        let f = check("factors: {concurrency: [1, 2], concurrency: [4]}\n").unwrap_err();
        assert_eq!(f.line, 1);
        assert!(f.message.contains("'concurrency'"));
    }

    #[test]
    fn the_same_key_in_different_mappings_is_fine() {
        check("a: {x: 1}\nb: {x: 2}\nc:\n  - {x: 1}\n  - {x: 2}\nd: [x, x]\n").unwrap();
        check("base: &b {x: 1}\nmore:\n  <<: *b\n  y: 2\n").unwrap();
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        let f = check(&deep).unwrap_err();
        assert!(f.message.contains("nested more than 64"), "{}", f.message);
        let ok = format!("a: {}{}\n", "[".repeat(10), "]".repeat(10));
        check(&ok).unwrap();
    }
}
