//! Prometheus text exposition: the series whose names start with a prefix,
//! at most [`MAX_SERIES_PER_SAMPLE`] of them a reading.

/// Most series kept from one reading of `/metrics`: what a server exports
/// under infer-bench's prefixes is tens (llama.cpp) to about a hundred
/// (vLLM, per label set); a page of 100 000 would grow a trial's memory and
/// `monitor.jsonl` by as many rows a reading.
pub const MAX_SERIES_PER_SAMPLE: usize = 200;
/// A series name (labels included) longer than this is not kept.
pub const MAX_SERIES_CHARS: usize = 300;
/// Most bytes of a `/metrics` page read: vLLM's, histograms and all, is a
/// few hundred KB.
pub const PAGE_CAP: usize = 8 << 20;

/// One reading's series under the prefixes, and how many more there were.
#[derive(Debug, Default, PartialEq)]
pub struct Page {
    /// `(series, value)` pairs; the series keeps its labels (`name{a="b"}`).
    pub series: Vec<(String, f64)>,
    /// Series under the prefixes not kept: past the count, or too long a name.
    pub dropped: usize,
}

pub fn parse(text: &str, prefixes: &[String]) -> Page {
    let mut page = Page::default();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = series(line.trim()) else {
            continue;
        };
        if !prefixes.iter().any(|p| series.starts_with(p.as_str())) {
            continue;
        }
        if page.series.len() < MAX_SERIES_PER_SAMPLE && series.len() <= MAX_SERIES_CHARS {
            page.series.push((series.to_string(), value));
        } else {
            page.dropped += 1;
        }
    }
    page
}

/// A line's series and value.
fn series(line: &str) -> Option<(&str, f64)> {
    // The value follows the series; labels may hold spaces inside quotes.
    let split = match line.rfind('}') {
        Some(close) => close + 1,
        None => line.find(char::is_whitespace)?,
    };
    let (series, rest) = line.split_at(split);
    let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
    Some((series, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_prefixed_series_with_labels() {
        let text = "# HELP llamacpp:prompt_tokens_total Number of prompt tokens processed.\n\
                    # TYPE llamacpp:prompt_tokens_total counter\n\
                    llamacpp:prompt_tokens_total 1234\n\
                    llamacpp:requests_processing 2\n\
                    vllm:gpu_cache_usage_perc{model_name=\"a b\"} 0.25 1700000000\n\
                    process_cpu_seconds_total 9\n";
        let got = parse(text, &["llamacpp:".into(), "vllm:".into()]);
        assert_eq!(got.dropped, 0);
        assert_eq!(
            got.series,
            vec![
                ("llamacpp:prompt_tokens_total".into(), 1234.0),
                ("llamacpp:requests_processing".into(), 2.0),
                ("vllm:gpu_cache_usage_perc{model_name=\"a b\"}".into(), 0.25),
            ]
        );
    }

    #[test]
    fn keeps_at_most_the_capped_count_and_counts_the_rest() {
        let mut text = String::from("other_series 1\n");
        for i in 0..100_000 {
            text.push_str(&format!("llamacpp:s{{n=\"{i}\"}} {i}\n"));
        }
        text.push_str(&format!("llamacpp:{} 1\n", "x".repeat(MAX_SERIES_CHARS)));
        let got = parse(&text, &["llamacpp:".into()]);
        assert_eq!(got.series.len(), MAX_SERIES_PER_SAMPLE);
        assert_eq!(got.dropped, 100_000 - MAX_SERIES_PER_SAMPLE + 1);
        assert_eq!(got.series[0], ("llamacpp:s{n=\"0\"}".to_string(), 0.0));
        assert_eq!(
            got.series[199],
            ("llamacpp:s{n=\"199\"}".to_string(), 199.0)
        );
    }

    #[test]
    fn a_name_too_long_is_dropped_not_cut() {
        let long = format!(
            "llamacpp:{} 1\nllamacpp:ok 2\n",
            "x".repeat(MAX_SERIES_CHARS)
        );
        let got = parse(&long, &["llamacpp:".into()]);
        assert_eq!(got.series, vec![("llamacpp:ok".to_string(), 2.0)]);
        assert_eq!(got.dropped, 1);
    }
}
