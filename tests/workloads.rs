//! Workloads on the built-in sim, end to end through the binary: a
//! 60-second Azure-format trace replayed row for row on time, the four
//! synthetic kinds side by side in one randomized run, a Mooncake trace's
//! shared blocks, and located errors for bad data files.

mod common;

use common::{bin, experiment, repo, run, single_run};
use infer_bench::results::read_run;
use infer_bench::workload::trace;

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = p * (v.len() - 1) as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (rank - lo as f64)
}

#[test]
fn a_60_second_azure_trace_is_replayed_row_for_row_on_time() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/workloads/azure-replay.yaml");
    run(tmp.path(), &exp, &[], 0);
    let run = read_run(&single_run(tmp.path(), "azure-replay")).unwrap();

    let rows = trace::read(
        &repo().join("data/azure-code.csv"),
        infer_bench::workload::Format::Azure,
    )
    .unwrap();
    assert!(rows.last().unwrap().at_s > 55.0, "a minute of trace");
    let mut records = run.records.clone();
    records.sort_by_key(|r| r.request);
    assert_eq!(records.len(), rows.len(), "every row sent once");
    for (r, row) in records.iter().zip(&rows) {
        assert!(r.ok(), "{r:?}");
        // (serde_json's float parsing may differ from the written value in the last bit.)
        let due = r.scheduled_s.unwrap();
        assert!(
            (due - row.at_s).abs() < 1e-9,
            "request {} due at {due}, its row at {}",
            r.request,
            row.at_s
        );
        assert_eq!(
            r.prompt_tokens,
            Some(row.input_tokens),
            "request {}: the row's input length",
            r.request
        );
        assert_eq!(
            r.completion_tokens,
            Some(row.output_tokens),
            "request {}: the row's output length",
            r.request
        );
        assert_eq!(r.requested_input_tokens, Some(row.input_tokens));
    }
    let lag: Vec<f64> = records.iter().map(|r| r.queue_ms.unwrap()).collect();
    let p50 = percentile(lag.clone(), 0.5);
    println!(
        "send lag p50 {p50:.3} ms, p99 {:.3} ms over {} rows",
        percentile(lag, 0.99),
        rows.len()
    );
    assert!(p50 < 1.0, "send lag p50 {p50} ms");
}

#[test]
fn four_workload_kinds_in_one_randomized_run() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/workloads/sim-workloads.yaml");
    run(tmp.path(), &exp, &["--repetitions", "2"], 0);
    let run = read_run(&single_run(tmp.path(), "sim-workloads")).unwrap();
    let label = |r: &infer_bench::record::Record| run.configurations[r.config].label.clone();
    assert_eq!(run.records.len(), 4 * 2 * 12);
    assert!(run.records.iter().all(|r| r.ok()), "no request failed");
    for r in &run.records {
        match label(r).as_str() {
            // Drawn lengths, exact on the server's count, not all the same.
            "baseline" | "workload=rag" => {
                assert_eq!(r.prompt_tokens, r.requested_input_tokens, "{r:?}");
                assert_eq!(r.completion_tokens, r.requested_output_tokens, "{r:?}");
            }
            // The dataset's reply lengths, asked and got.
            "workload=conversations" => {
                assert!(r.requested_output_tokens.is_some());
                assert_eq!(r.completion_tokens, r.requested_output_tokens);
            }
            _ => {}
        }
    }
    let asked: std::collections::BTreeSet<_> = run
        .records
        .iter()
        .filter(|r| label(r) == "baseline")
        .map(|r| r.requested_input_tokens)
        .collect();
    assert!(
        asked.len() > 10,
        "a distribution, not a constant: {asked:?}"
    );
    // Sessions: the sim adds no template, so each turn's prompt is the last
    // one plus its reply plus the new 30-token message.
    let mut turns: Vec<_> = run
        .records
        .iter()
        .filter(|r| label(r) == "workload=agent")
        .collect();
    turns.sort_by_key(|r| (r.trial, r.session, r.turn));
    assert_eq!(turns.len(), 24);
    for pair in turns.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.trial == b.trial && a.session == b.session {
            assert_eq!(b.turn, Some(a.turn.unwrap() + 1));
            assert_eq!(
                b.prompt_tokens.unwrap(),
                a.prompt_tokens.unwrap() + a.completion_tokens.unwrap() + 30,
                "turn {:?} of session {:?}",
                b.turn,
                b.session
            );
        } else {
            assert_eq!(b.turn, Some(1));
        }
    }
    // report.md shows the same, from the streamed digest: the lengths as
    // asked and as served, and the conversations turn by turn.
    let md = std::fs::read_to_string(run.dir.join("report.md")).unwrap();
    let fmt = |v: Option<f64>| infer_bench::report::format_num(v);
    let q = |v: &[f64], p: f64| infer_bench::analysis::stats::percentile(v, p);
    let of = |l: &str, f: fn(&infer_bench::record::Record) -> Option<u64>| -> Vec<f64> {
        run.records
            .iter()
            .filter(|r| label(r) == l && r.ok())
            .filter_map(|r| f(r).map(|v| v as f64))
            .collect()
    };
    let asked = of("baseline", |r| r.requested_input_tokens);
    let lengths = md_table(&md, "## Lengths asked and served");
    let baseline = lengths.iter().find(|r| r[0] == "baseline").unwrap();
    assert_eq!(
        baseline[1],
        format!(
            "{} / {} / {}",
            fmt(q(&asked, 0.1)),
            fmt(q(&asked, 0.5)),
            fmt(q(&asked, 0.9))
        ),
        "{lengths:?}"
    );
    assert_eq!(baseline[1], baseline[2], "served exactly as asked");
    let rag = lengths.iter().find(|r| r[0] == "workload=rag").unwrap();
    assert_eq!(rag[1], "432", "a constant length is one number");
    let by_turn = md_table(&md, "## Conversations by turn");
    assert_eq!(
        by_turn.len(),
        3,
        "three turns of one configuration: {by_turn:?}"
    );
    for (row, turn) in by_turn.iter().zip(1u32..) {
        let of_turn = |f: fn(&infer_bench::record::Record) -> Option<f64>| -> Vec<f64> {
            turns
                .iter()
                .filter(|r| r.turn == Some(turn))
                .filter_map(|r| f(r))
                .collect()
        };
        let prompts = of_turn(|r| r.prompt_tokens.map(|v| v as f64));
        let mean = prompts.iter().sum::<f64>() / prompts.len() as f64;
        let ttft = of_turn(|r| r.ttft_ms);
        assert_eq!(
            row[..6],
            [
                "workload=agent".to_string(),
                turn.to_string(),
                format!("{0}/{0}", prompts.len()),
                fmt(Some(mean)),
                "–".to_string(),
                fmt(q(&ttft, 0.5)),
            ],
            "turn {turn}"
        );
    }
}

/// The rows of the Markdown table under `heading`, cells trimmed.
fn md_table(md: &str, heading: &str) -> Vec<Vec<String>> {
    let after = &md[md
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading} in {md}"))..];
    after
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn bad_data_files_name_the_file_and_the_line() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (
            "t.csv",
            "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,2\n2023-11-16 18:17:04.1,ten,2\n",
            "trace: t.csv",
            "t.csv:3:1: ContextTokens 'ten' is not a whole number",
        ),
        (
            "t.jsonl",
            "{\"timestamp\": 0, \"input_length\": 5, \"output_length\": 1, \"hash_ids\": [1]}\n{\"timestamp\": 9, \"input_length\": 5}\n",
            "{trace: t.jsonl, format: mooncake}",
            "t.jsonl:2:1: missing field `output_length`",
        ),
        (
            "d.jsonl",
            "{\"prompt\": \"hi\"}\n{\"prompt\": 3}\n",
            "dataset: d.jsonl",
            "d.jsonl:2:1: invalid type",
        ),
        (
            "d.json",
            "[{\"conversations\": [{\"from\": \"human\"}]}]",
            "dataset: d.json",
            "d.json:1:",
        ),
    ];
    for (file, text, workload, expected) in cases {
        std::fs::write(tmp.path().join(file), text).unwrap();
        let exp = common::experiment(
            tmp.path(),
            "e.yaml",
            &format!(
                "name: bad\ntarget: {{builtin: sim}}\nprompts: {{prompts}}\nworkloads:\n  w: {}\ntrial: {{requests: 2}}\n",
                if workload.starts_with('{') { workload.to_string() } else { format!("{{{workload}}}") }
            ),
        );
        let out = bin().arg("validate").arg(&exp).assert().code(2);
        let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(err.contains(expected), "{file}: {err}");
    }
}

#[test]
fn mooncake_blocks_are_shared_exactly_where_ids_are() {
    let tmp = tempfile::tempdir().unwrap();
    // The committed example, faster: a tenth of the gaps, one repetition.
    let text = std::fs::read_to_string(repo().join("experiments/workloads/mooncake.yaml"))
        .unwrap()
        .replace("time_scale: 0.5", "time_scale: 0.1")
        .replace("../../", &format!("{}/", repo().display()));
    let exp = tmp.path().join("m.yaml");
    std::fs::write(&exp, text).unwrap();
    run(tmp.path(), &exp, &["--repetitions", "1"], 0);
    let run = read_run(&single_run(tmp.path(), "mooncake")).unwrap();
    let rows = trace::read(
        &repo().join("data/mooncake.jsonl"),
        infer_bench::workload::Format::Mooncake,
    )
    .unwrap();
    let kv: Vec<_> = run.records.iter().filter(|r| r.config == 0).collect();
    assert_eq!(kv.len(), rows.len());
    for r in kv {
        assert!(r.ok(), "{r:?}");
        assert_eq!(r.prompt_tokens, Some(rows[r.request].input_tokens));
    }
}

/// Common random numbers: within a block every configuration asks for the
/// same lengths, request by request, so a prefill-bound server's answer to
/// the factor is not mixed with a luckier length draw; the next block draws
/// afresh.
#[test]
fn configurations_in_one_block_get_the_same_draws() {
    let tmp = tempfile::tempdir().unwrap();
    let exp = experiment(
        tmp.path(),
        "crn.yaml",
        "name: crn\nseed: 5\ntarget: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: {prompts}\n\
         workloads:\n  chat:\n    input_tokens: {dist: lognormal, mean: 120, sd: 60, min: 16, max: 512}\n    \
         output_tokens: {dist: uniform, min: 1, max: 12}\n\
         baseline: {workload: chat, concurrency: 1}\nfactors:\n  concurrency: [1, 2, 3]\n\
         repetitions: 2\norder: randomized\nwarmup: {requests: 1}\ntrial: {requests: 10}\n",
    );
    run(tmp.path(), &exp, &[], 0);
    let run = read_run(&single_run(tmp.path(), "crn")).unwrap();
    type Draws = Vec<(Option<u64>, Option<u64>)>;
    let mut by_trial: std::collections::BTreeMap<(u32, usize), Vec<_>> = Default::default();
    for r in &run.records {
        let asked = (r.requested_input_tokens, r.requested_output_tokens);
        by_trial
            .entry((r.repetition, r.config))
            .or_default()
            .push((r.request, asked));
    }
    let draws = |rep: u32| -> Vec<Draws> {
        let mut out = Vec::new();
        for ((r, _), reqs) in &by_trial {
            if *r == rep {
                let mut reqs = reqs.clone();
                reqs.sort();
                out.push(reqs.into_iter().map(|(_, a)| a).collect());
            }
        }
        out
    };
    for rep in 0..2 {
        let d = draws(rep);
        assert_eq!(d.len(), 3, "three configurations in block {rep}");
        assert!(d.iter().all(|x| x == &d[0]), "block {rep}: {d:?}");
        let distinct: std::collections::BTreeSet<_> = d[0].iter().collect();
        assert!(distinct.len() > 5, "drawn, not constant: {:?}", d[0]);
    }
    assert_ne!(draws(0)[0], draws(1)[0], "each block draws afresh");
}
