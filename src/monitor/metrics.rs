//! Prometheus text exposition: the series whose names start with a prefix.

/// `(series, value)` pairs; the series keeps its labels (`name{a="b"}`).
pub fn parse(text: &str, prefixes: &[String]) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let line = line.trim();
            // The value follows the series; labels may hold spaces inside quotes.
            let split = match line.rfind('}') {
                Some(close) => close + 1,
                None => line.find(char::is_whitespace)?,
            };
            let (series, rest) = line.split_at(split);
            let value: f64 = rest.split_whitespace().next()?.parse().ok()?;
            prefixes
                .iter()
                .any(|p| series.starts_with(p.as_str()))
                .then(|| (series.to_string(), value))
        })
        .collect()
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
        assert_eq!(
            got,
            vec![
                ("llamacpp:prompt_tokens_total".into(), 1234.0),
                ("llamacpp:requests_processing".into(), 2.0),
                ("vllm:gpu_cache_usage_perc{model_name=\"a b\"}".into(), 0.25),
            ]
        );
    }
}
