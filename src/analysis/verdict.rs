//! Verdicts as types: what a comparison concluded, how it reads for its
//! metric, and what became of an expectation. Each prints (and serializes)
//! as the words the reports have always used.

use serde::{Serialize, Serializer};
use std::fmt;

/// What a Welch comparison concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet (Holm comes over the whole family).
    Pending,
    /// Significant after Holm and larger than the threshold, in the
    /// metric's own word ("slower", "more", "cheaper").
    Changed {
        increase: bool,
        word: &'static str,
    },
    NoSignificantChange,
    /// Welch could not run (too few trials, no variance): why.
    NotTestable(String),
}

impl Verdict {
    pub fn is_change(&self) -> bool {
        matches!(self, Verdict::Changed { .. })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Pending => f.pad(""),
            Verdict::Changed { word, .. } => f.pad(word),
            Verdict::NoSignificantChange => f.pad("no significant change"),
            Verdict::NotTestable(why) => f.pad(why),
        }
    }
}

impl Serialize for Verdict {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// In summary.json a verdict is its words.
impl schemars::JsonSchema for Verdict {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Verdict".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "the metric's word for a significant change (slower, faster, more, less, dearer, cheaper), 'no significant change', or 'not testable: why'"
        })
    }
}

/// What an equivalence test (TOST) concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Equivalence {
    /// Both one-sided tests reject: the difference lies within ±δ.
    Equivalent,
    /// The (1 − α) interval of the difference lies wholly outside ±δ.
    Different,
    /// Neither: more trials (or a wider margin) would decide.
    Inconclusive,
    /// Welch could not run, so neither can TOST: why.
    NotTestable(String),
}

impl Equivalence {
    pub fn as_str(&self) -> &str {
        match self {
            Equivalence::Equivalent => "equivalent",
            Equivalence::Different => "different",
            Equivalence::Inconclusive => "inconclusive",
            Equivalence::NotTestable(why) => why,
        }
    }
}

impl fmt::Display for Equivalence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl Serialize for Equivalence {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for Equivalence {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Equivalence".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "'equivalent', 'different', 'inconclusive', or 'not testable: why'"
        })
    }
}

/// How a verdict reads for its metric: a significant rise in latency is
/// worse, in throughput better. Also the reports' CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Better,
    Worse,
    Same,
}

impl Tone {
    pub fn class(self) -> &'static str {
        match self {
            Tone::Better => "better",
            Tone::Worse => "worse",
            Tone::Same => "same",
        }
    }
}

/// What became of an `expect:` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectOutcome {
    Confirmed,
    Refuted,
    Inconclusive,
}

impl ExpectOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectOutcome::Confirmed => "confirmed",
            ExpectOutcome::Refuted => "refuted",
            ExpectOutcome::Inconclusive => "inconclusive",
        }
    }
}

impl fmt::Display for ExpectOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, so `{:<12}` lines outcomes up as the reports do.
        f.pad(self.as_str())
    }
}

impl schemars::JsonSchema for ExpectOutcome {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ExpectOutcome".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": ["confirmed", "refuted", "inconclusive"]
        })
    }
}

impl Serialize for ExpectOutcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_read_and_serialize_as_before() {
        let slower = Verdict::Changed {
            increase: true,
            word: "slower",
        };
        assert_eq!(slower.to_string(), "slower");
        assert_eq!(
            serde_json::to_string(&Verdict::NoSignificantChange).unwrap(),
            "\"no significant change\""
        );
        assert_eq!(
            serde_json::to_string(&ExpectOutcome::Refuted).unwrap(),
            "\"refuted\""
        );
        assert!(slower.is_change() && !Verdict::NoSignificantChange.is_change());
        assert_eq!(format!("{:<12}|", ExpectOutcome::Refuted), "refuted     |");
    }
}
