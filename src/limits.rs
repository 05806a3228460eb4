//! Upper bounds on what an experiment may ask for, one per kind of
//! quantity, and the one check of each kind. Each bound is far beyond any
//! real benchmark and far below what would overflow a clock or exhaust
//! memory: a number past one is a typo, refused by `validate` (exit 2)
//! rather than a panic or an allocation abort at run time. Every source of
//! a quantity (a factor level, a workload, a distribution's parameters, a
//! trace row, a session, a template's output) goes through the same check,
//! so one kind has one limit wherever it comes from. A leaf, so the readers
//! of data files (`workload`, `prompts`) check as they read, with the line.

use crate::error::Rule;
use std::time::Duration;

/// Any duration: a trial, a timeout, a think time, a trace's time span.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
pub const MAX_REPETITIONS: u32 = 10_000;
/// Requests in one trial (or its warm-up), a trace's rows included.
pub const MAX_REQUESTS: u32 = 10_000_000;
/// Trials in a plan (configurations × repetitions).
pub const MAX_TRIALS: usize = 1_000_000;
/// Requests an open loop schedules in one trial (rate × duration).
pub const MAX_SCHEDULED: f64 = 10_000_000.0;
pub const MAX_CONCURRENCY: u64 = 100_000;
pub const MAX_RATE: f64 = 1_000_000.0;
pub const MAX_BATCH: u64 = 4096;
/// Tokens of one prompt or one answer, however it is asked for (a level, a
/// distribution's parameters or draws, a trace row, a conversation's
/// history, a shared prefix and its suffix).
pub const MAX_TOKENS: u64 = 10_000_000;
/// Bytes of one rendered template (a prompt before filling, a model name,
/// a server command): a prompt of `MAX_TOKENS` tokens fits several times.
pub const MAX_TEXT: usize = 64 << 20;

/// Bytes of one JSON text a run folder holds: a line of `requests.jsonl`
/// (the longest a run writes: 4 Mi inter-token gaps, about 80 MB), of
/// `plan.jsonl` or `monitor.jsonl`, or a whole `manifest.json`. Read back,
/// anything longer is not what infer-bench wrote, and is refused before
/// it is held in memory.
pub const MAX_JSON_TEXT: usize = 128 << 20;

/// `what` is at most `max`, or the rule that says so.
pub fn at_most<T: PartialOrd + std::fmt::Display>(what: &str, n: T, max: T) -> Result<(), Rule> {
    if n > max {
        return Err(Rule::TooLarge {
            what: what.to_string(),
            value: n.to_string(),
            max: max.to_string(),
        });
    }
    Ok(())
}

/// A token length given as a whole number: at most [`MAX_TOKENS`].
pub fn tokens(what: &str, n: u64) -> Result<u64, Rule> {
    at_most(what, n, MAX_TOKENS).map(|()| n)
}

/// A token length given as a number (a distribution's mean or sd): finite,
/// not negative, at most [`MAX_TOKENS`].
pub fn tokens_f64(what: &str, x: f64) -> Result<f64, Rule> {
    number(what, x, "a number of tokens ≥ 0")?;
    if x > MAX_TOKENS as f64 {
        return Err(too_large(what, show(x), MAX_TOKENS.to_string()));
    }
    Ok(x)
}

/// A duration in seconds (a think time over a conversation, a replay):
/// finite, not negative, at most [`MAX_DURATION`].
pub fn seconds(what: &str, s: f64) -> Result<Duration, Rule> {
    number(what, s, "a time ≥ 0 seconds")?;
    if s > MAX_DURATION.as_secs_f64() {
        return Err(too_large(
            what,
            format!("{}s", show(s)),
            humantime::format_duration(MAX_DURATION).to_string(),
        ));
    }
    Ok(Duration::from_secs_f64(s))
}

/// The time from a trace's first row to one of its rows (after its window
/// and `time_scale`): a replay waits this long, so it is a duration.
pub fn span(what: &str, s: f64) -> Result<Duration, Rule> {
    seconds(what, s)
}

/// A rate in requests per second: finite, above 0, at most [`MAX_RATE`].
pub fn rate(what: &str, r: f64) -> Result<f64, Rule> {
    if !(r.is_finite() && r > 0.0) {
        return Err(Rule::NotValid {
            what: what.to_string(),
            value: show(r),
            expected: "a number of requests per second > 0",
        });
    }
    if r > MAX_RATE {
        return Err(too_large(what, show(r), show(MAX_RATE)));
    }
    Ok(r)
}

/// A count of requests (a trace's rows, a conversation's turns, a number of
/// prefixes): at most [`MAX_REQUESTS`].
pub fn count(what: &str, n: u64) -> Result<u64, Rule> {
    at_most(what, n, u64::from(MAX_REQUESTS)).map(|()| n)
}

/// The size of a text in bytes (a template, a rendered prompt): at most [`MAX_TEXT`].
pub fn text(what: &str, bytes: usize) -> Result<usize, Rule> {
    if bytes > MAX_TEXT {
        return Err(too_large(
            &format!("{what} of"),
            format!("{bytes} bytes"),
            format!("{MAX_TEXT} bytes"),
        ));
    }
    Ok(bytes)
}

/// A file read whole (an experiment, a prompt set): at most [`MAX_TEXT`]
/// bytes by its size on disk, checked before a byte of it is read.
pub fn small_file(what: &str, path: &std::path::Path) -> Result<(), Rule> {
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_TEXT as u64 => Err(too_large(
            &format!("{what} of"),
            format!("{} bytes", m.len()),
            format!("{MAX_TEXT} bytes"),
        )),
        _ => Ok(()),
    }
}

/// Seconds as a duration a clock can sleep for, whatever the number: the
/// run's arithmetic on trace times saturates where `validate` already
/// refused, instead of panicking in `Duration::from_secs_f64`.
pub fn duration_of(s: f64) -> Duration {
    if s.is_nan() || s <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(s).map_or(MAX_DURATION, |d| d.min(MAX_DURATION))
    }
}

fn number(what: &str, x: f64, expected: &'static str) -> Result<(), Rule> {
    if x.is_finite() && x >= 0.0 {
        return Ok(());
    }
    Err(Rule::NotValid {
        what: what.to_string(),
        value: show(x),
        expected,
    })
}

fn too_large(what: &str, value: String, max: String) -> Rule {
    Rule::TooLarge {
        what: what.to_string(),
        value,
        max,
    }
}

/// A number as people read it: `1e300` rather than its 301 digits.
/// A number as a message shows it: with an exponent where it is huge or tiny.
pub fn show(x: f64) -> String {
    if x.is_finite() && (x.abs() >= 1e15 || (x != 0.0 && x.abs() < 1e-6)) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_refuses_what_is_past_it() {
        assert_eq!(tokens("input_tokens", 7), Ok(7));
        let e = tokens("input_tokens", 100_000_000_000).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input_tokens 100000000000 is more than the most infer-bench takes (10000000)"
        );
        assert!(tokens_f64("mean", 1e300)
            .unwrap_err()
            .to_string()
            .contains("mean 1e300 is more"));
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            assert!(tokens_f64("sd", bad).is_err(), "{bad}");
            assert!(span("span", bad).is_err(), "{bad}");
            assert!(rate("rate", bad).is_err(), "{bad}");
        }
        assert!(span("span", 3.9e9)
            .unwrap_err()
            .to_string()
            .contains("30days"));
        assert!(text("template", MAX_TEXT + 1).is_err());
        assert_eq!(duration_of(f64::NAN), Duration::ZERO);
        assert_eq!(duration_of(1e300), MAX_DURATION);
        assert_eq!(duration_of(1.5), Duration::from_millis(1500));
    }
}
