use super::*;
use crate::experiment::Slo;
use crate::level::Level;
use crate::plan::Configuration;
use crate::record::{Record, RequestStatus, TokensSource};
use crate::results::requests_frame;

pub(crate) fn config(index: usize, label: &str, conc: i64) -> Configuration {
    let mut values = indexmap::IndexMap::new();
    values.insert("concurrency".to_string(), Level::Int(conc));
    Configuration {
        index,
        label: label.into(),
        factors: (index > 0)
            .then(|| "concurrency".into())
            .into_iter()
            .collect(),
        level: (index > 0).then_some(Level::Int(conc)),
        values,
    }
}

pub(crate) fn record(
    trial: usize,
    config: usize,
    request: usize,
    sent_s: f64,
    ttft: f64,
    e2e: f64,
    tokens: u64,
) -> Record {
    Record {
        trial,
        config,
        repetition: 0,
        request,
        sent_s,
        scheduled_s: None,
        queue_ms: None,
        wait_ms: None,
        ttft_ms: Some(ttft),
        e2e_ms: e2e,
        tpot_ms: Some((e2e - ttft) / (tokens - 1) as f64),
        itl_ms: vec![1.0, 2.0, 3.0],
        prompt_tokens: Some(10),
        completion_tokens: Some(tokens),
        requested_input_tokens: Some(10),
        requested_output_tokens: Some(4),
        tokens_source: TokensSource::Usage,
        status: RequestStatus::Ok,
        http_status: Some(200),
        error: None,
        finish_reason: Some("length".into()),
        server_prompt_ms: None,
        server_decode_ms: None,
        cached_tokens: None,
        batch_size: None,
        choice_tokens: Vec::new(),
        response_id: None,
        connect_ms: None,
        reused: None,
        retried: false,
        warnings: Vec::new(),
        first_reasoning_ms: None,
        first_answer_ms: None,
        reasoning_tokens: None,
        session: None,
        turn: None,
    }
}

fn analyse_without_monitor(df: &DataFrame, configs: &[Configuration]) -> Analysis {
    analyse(
        df,
        &monitor_frame(&[]).unwrap(),
        configs,
        Default::default(),
        &Default::default(),
    )
    .unwrap()
}

#[test]
fn trial_metrics_follow_the_definitions() {
    let configs = vec![config(0, "baseline", 1), config(1, "concurrency=2", 2)];
    let ttfts = [10.0, 20.0, 30.0, 40.0, 1000.0];
    let mut records: Vec<Record> = ttfts
        .iter()
        .enumerate()
        .map(|(i, t)| record(0, 0, i, i as f64, *t, 500.0, 4))
        .collect();
    // The failed request counts for the error rate, not for latency.
    records[4].status = RequestStatus::Failed;
    records.push(record(1, 1, 0, 0.0, 5.0, 100.0, 4));
    records.push(record(1, 1, 1, 0.0, 7.0, 200.0, 4));

    let df = requests_frame(&records, &configs).unwrap();
    let a = analyse_without_monitor(&df, &configs);
    let t = &a.trials;
    let get = |name: &str, row: usize| {
        t.column(name)
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .get(row)
            .unwrap()
    };

    // Trial 0: ok requests' TTFTs are 10, 20, 30, 40.
    assert_eq!(
        get("ttft_p50_ms", 0),
        stats::percentile(&[10.0, 20.0, 30.0, 40.0], 0.5).unwrap()
    );
    assert!((get("ttft_p95_ms", 0) - 38.5).abs() < 1e-9); // numpy: 38.5
    assert!((get("error_rate", 0) - 0.2).abs() < 1e-12);
    // Wall time: first send 0 s → last completion 4 s + 0.5 s; 4 ok × 4 tokens.
    assert!((get("wall_s", 0) - 4.5).abs() < 1e-12);
    assert!((get("output_tok_s", 0) - 16.0 / 4.5).abs() < 1e-9);
    assert!((get("requests_per_s", 0) - 4.0 / 4.5).abs() < 1e-9);
    assert_eq!(get("itl_p50_ms", 0), 2.0);
    assert_eq!(get("input_exact_share", 0), 1.0);
    assert_eq!(get("output_exact_share", 0), 1.0);

    // Summary rows come in plan order with pooled percentiles.
    assert_eq!(a.rows[0].config, "baseline");
    assert_eq!(a.rows[1].config, "concurrency=2");
    assert_eq!(a.rows[1].ttft_ms.p50, Some(6.0));
    assert_eq!(a.rows[0].requests, 5);
    assert_eq!(a.rows[0].ok_requests, 4);
    assert_eq!(a.rows[0].trials, 1);
    // One trial: no standard deviation.
    assert_eq!(a.rows[0].metric("output_tok_s").sd, None);
}

#[test]
fn across_trial_sd_is_the_sample_sd() {
    let configs = vec![config(0, "baseline", 1)];
    // Three trials, one request each: wall = e2e, so tok/s = 4 / e2e.
    let e2es = [1000.0, 2000.0, 4000.0];
    let records: Vec<Record> = e2es
        .iter()
        .enumerate()
        .map(|(i, e)| record(i, 0, 0, 0.0, 10.0, *e, 4))
        .collect();
    let df = requests_frame(&records, &configs).unwrap();
    let a = analyse_without_monitor(&df, &configs);
    let per_trial: Vec<f64> = e2es.iter().map(|e| 4.0 / (e / 1000.0)).collect();
    let r = &a.rows[0];
    assert!(
        (r.metric("output_tok_s").mean.unwrap() - stats::mean(&per_trial).unwrap()).abs() < 1e-9
    );
    assert!(
        (r.metric("output_tok_s").sd.unwrap() - stats::sample_sd(&per_trial).unwrap()).abs() < 1e-9
    );
}

#[test]
fn peak_memory_prefers_the_servers_gpu_share_then_the_device_then_rss() {
    use crate::monitor::Sample;
    let configs = vec![
        config(0, "baseline", 1),
        config(1, "concurrency=2", 2),
        config(2, "concurrency=4", 4),
    ];
    let records = vec![
        record(0, 0, 0, 0.0, 5.0, 100.0, 4),
        record(1, 1, 0, 0.0, 5.0, 100.0, 4),
        record(2, 2, 0, 0.0, 5.0, 100.0, 4),
    ];
    let sample = |trial, name: &str, value| Sample {
        trial,
        t_s: 0.0,
        source: "x".into(),
        name: name.into(),
        value,
    };
    let samples = vec![
        sample(0, "rss_mb", 300.0),
        sample(0, "rss_mb", 350.0),
        sample(0, "gpu_memory_used_mb", 8000.0),
        sample(0, "gpu_memory_used_mb", 9000.0),
        sample(1, "rss_mb", 310.0),
        sample(1, "rss_mb", 330.0),
        sample(2, "rss_mb", 330.0),
        sample(2, "gpu_memory_used_mb", 9000.0),
        sample(2, "gpu_server_memory_mb", 6000.0),
        sample(2, "gpu_server_memory_mb", 6500.0),
    ];
    let df = requests_frame(&records, &configs).unwrap();
    let a = analyse(
        &df,
        &monitor_frame(&samples).unwrap(),
        &configs,
        Default::default(),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(
        (a.rows[0].peak_memory_mb, a.rows[0].memory_kind),
        (Some(9000.0), Some("GPU (device)"))
    );
    assert_eq!(
        (a.rows[2].peak_memory_mb, a.rows[2].memory_kind),
        (Some(6500.0), Some("GPU"))
    );
    assert_eq!(
        (a.rows[1].peak_memory_mb, a.rows[1].memory_kind),
        (Some(330.0), Some("RSS"))
    );
    let mean_rss = a
        .trials
        .column("mean_rss_mb")
        .unwrap()
        .f64()
        .unwrap()
        .get(0);
    assert_eq!(mean_rss, Some(325.0));
}

/// Records with everything the analysis treats apart: failures, cuts at
/// the trial's end, retries, missing TTFT, the server's split, cached
/// tokens, open-loop lateness, SLO misses, and varied gaps.
fn awkward_records() -> Vec<Record> {
    let mut out = Vec::new();
    for trial in 0..6 {
        let config = trial % 3;
        for i in 0..700 {
            let w = ((trial * 7919 + i * 104_729) % 1000) as f64;
            let mut r = record(
                trial,
                config,
                i,
                i as f64 * 0.01 + trial as f64,
                20.0 + config as f64 * 5.0 + w / 50.0,
                200.0 + w / 3.0,
                4 + (i % 5) as u64,
            );
            r.repetition = (trial / 3) as u32;
            r.itl_ms = (0..(i % 7))
                .map(|k| 5.0 + ((i * 31 + k * 17) % 89) as f64 * 0.125)
                .collect();
            r.scheduled_s = Some(i as f64 * 0.01);
            r.queue_ms = Some(w / 100.0);
            r.wait_ms = (i % 3 == 0).then_some(w / 400.0);
            r.server_prompt_ms = (config == 1).then_some(w / 60.0);
            r.cached_tokens = (i % 2 == 0).then_some(i as u64 % 11);
            r.prompt_tokens = Some(10 + (i % 3 == 0) as u64);
            r.retried = i % 97 == 0;
            match i % 53 {
                0 => {
                    r.status = RequestStatus::Failed;
                    r.http_status = Some(503);
                    r.error = Some("overloaded".into());
                    r.ttft_ms = None;
                    r.itl_ms.clear();
                }
                1 => {
                    r.status = RequestStatus::Cancelled;
                    r.http_status = None;
                    r.error = Some("cut off".into());
                }
                2 => r.ttft_ms = None,
                _ => {}
            }
            out.push(r);
        }
    }
    // The journal holds records in the order requests ended.
    out.sort_by_key(|r| (r.trial, (r.request * 37) % 701));
    out
}

/// Frames equal column for column: the same columns and values, floats to
/// within rounding (sums are taken in another order).
fn assert_frames_match(a: &DataFrame, b: &DataFrame, what: &str) {
    let mut names_a: Vec<String> = a.get_column_names().iter().map(|c| c.to_string()).collect();
    let mut names_b: Vec<String> = b.get_column_names().iter().map(|c| c.to_string()).collect();
    names_a.sort();
    names_b.sort();
    assert_eq!(names_a, names_b, "{what}: columns");
    assert_eq!(a.height(), b.height(), "{what}: rows");
    for name in &names_a {
        let (x, y) = (a.column(name).unwrap(), b.column(name).unwrap());
        if x.dtype().is_primitive_numeric() || y.dtype().is_primitive_numeric() {
            let x = x.cast(&DataType::Float64).unwrap();
            let y = y.cast(&DataType::Float64).unwrap();
            for (i, (u, v)) in x
                .f64()
                .unwrap()
                .iter()
                .zip(y.f64().unwrap().iter())
                .enumerate()
            {
                let same = match (u, v) {
                    (Some(u), Some(v)) => (u - v).abs() <= 1e-9 * u.abs().max(1.0),
                    (u, v) => u == v,
                };
                assert!(same, "{what}: {name} row {i}: {u:?} against {v:?}");
            }
        } else {
            assert!(x.equals_missing(y), "{what}: {name}: {x:?} against {y:?}");
        }
    }
}

#[test]
fn the_streamed_analysis_equals_the_analysis_in_memory() {
    let configs = vec![
        config(0, "baseline", 1),
        config(1, "concurrency=2", 2),
        config(2, "concurrency=4", 4),
    ];
    let records = awkward_records();
    let terms = ServiceTerms {
        slo: Slo {
            ttft_ms: Some(30.0),
            e2e_ms: Some(400.0),
            // Percentiles the standard columns lack, ITL's from the gaps.
            percentiles: [("itl_p99.9_ms", 5.0), ("ttft_p90_ms", 40.0)]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            ..Default::default()
        },
        cost: None,
    };
    let monitor = monitor_frame(&[]).unwrap();
    let whole = requests_frame(&records, &configs).unwrap();
    let in_memory = analyse(&whole, &monitor, &configs, Default::default(), &terms).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut s = stream::Streaming::new(&configs, terms.slo.clone(), dir.path()).unwrap();
    // Chunks smaller than a trial, as the report reads them.
    for trial in records.chunk_by(|a, b| a.trial == b.trial) {
        for chunk in trial.chunks(256) {
            s.add(chunk, &requests_frame(chunk, &configs).unwrap())
                .unwrap();
        }
    }
    let (parts, digest) = s.finish().unwrap();
    let streamed = analyse_parts(parts, &monitor, &configs, Default::default(), &terms).unwrap();

    assert_frames_match(&in_memory.trials, &streamed.trials, "trials");
    for c in ["itl_p99.9_ms", "ttft_p90_ms", "slo_ttft_ms_attainment"] {
        assert!(streamed.trials.column(c).is_ok(), "{c} in the trials");
    }
    assert_frames_match(&in_memory.summary, &streamed.summary, "summary");
    assert_eq!(in_memory.rows, streamed.rows);
    assert_eq!(digest.requests, records.len());
    assert_eq!(digest.retried, records.iter().filter(|r| r.retried).count());
    let failed = records.iter().filter(|r| r.config == 1 && !r.ok()).count();
    assert_eq!(digest.configs[1].failed, failed);
    assert_eq!(digest.configs[1].reasons.values().sum::<usize>(), failed);
    // The charts' points are exact order statistics of the pooled values.
    let mut ttft: Vec<f64> = records
        .iter()
        .filter(|r| r.config == 2 && r.ok())
        .filter_map(|r| r.ttft_ms)
        .collect();
    ttft.sort_by(f64::total_cmp);
    let points = &digest.configs[2].ttft_ecdf;
    assert_eq!(points.len(), stream::ECDF_STEPS);
    let k = 199;
    let rank = (k + 1) * ttft.len() / stream::ECDF_STEPS - 1;
    assert_eq!(points[k].0, ttft[rank]);
    // The spill folder is gone with the analysis.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
