use super::*;
use indexmap::IndexMap;

fn workloads(yaml: &str) -> IndexMap<String, Workload> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("t.csv"),
        "TIMESTAMP,ContextTokens,GeneratedTokens\n\
         2023-11-16 18:17:00.0000000,10,3\n\
         2023-11-16 18:17:01.0000000,20,4\n\
         2023-11-16 18:17:02.5000000,30,5\n\
         2023-11-16 18:17:09.0000000,40,6\n",
    )
    .unwrap();
    let specs: IndexMap<String, WorkloadSpec> = serde_yaml::from_str(yaml).unwrap();
    specs
        .iter()
        .map(|(name, spec)| {
            let kind = spec.kind().unwrap();
            (name.clone(), read(dir.path(), name, spec, kind).unwrap())
        })
        .collect()
}

fn ask(requests: usize) -> Ask {
    Ask {
        seed: 7,
        trial: 1,
        warmup: 2,
        requests,
        counted: true,
        input_tokens: Some(99),
        output_tokens: None,
    }
}

#[test]
fn a_trace_window_is_cropped_scaled_and_capped() {
    let w = workloads("t: {trace: t.csv, start: 1s, duration: 5s, time_scale: 2}");
    let s = w["t"].shapes(&ask(10));
    let at: Vec<_> = s.measured.iter().map(|r| r.at_s.unwrap()).collect();
    assert_eq!(
        at,
        vec![0.0, 3.0],
        "rows at 1 s and 2.5 s; the one at 9 s is outside"
    );
    assert_eq!(s.measured[1].input_tokens, Some(30));
    assert_eq!(s.warmup.len(), 2);
    assert!(s.warmup.iter().all(|r| r.at_s.is_none()));
    assert_eq!(
        w["t"].shapes(&ask(1)).measured.len(),
        1,
        "trial.requests caps the replay"
    );
}

#[test]
fn lengths_are_the_workloads_or_the_configurations() {
    let w = workloads("a: {output_tokens: {dist: uniform, min: 5, max: 9}}");
    let s = w["a"].shapes(&ask(50));
    assert!(s.measured.iter().all(|r| r.input_tokens == Some(99)));
    assert!(s
        .measured
        .iter()
        .all(|r| (5..=9).contains(&r.output_tokens.unwrap())));
    assert_eq!(s, w["a"].shapes(&ask(50)), "a pure function of the seed");
}

#[test]
fn sessions_are_turns_in_order_the_last_cut_short() {
    let w = workloads(
        "s: {sessions: {turns: 3, first_input_tokens: 40, turn_input_tokens: 8, output_tokens: 5}}",
    );
    let s = w["s"].shapes(&ask(7));
    assert_eq!(s.sessions.len(), 3);
    assert_eq!(s.sessions[0].turns, vec![(40, 5), (8, 5), (8, 5)]);
    assert_eq!(s.sessions[2].turns.len(), 1);
    assert_eq!(s.measured.len(), 7);
}

#[test]
fn shared_prefixes_draw_groups() {
    let w = workloads(
        "p: {shared_prefix: {groups: 3, prefix_tokens: 100, suffix_tokens: 10, output_tokens: 4}}",
    );
    let s = w["p"].shapes(&ask(60));
    let mut seen = std::collections::BTreeSet::new();
    for r in &s.measured {
        assert_eq!(r.input_tokens, Some(110));
        let Text::Prefix(g) = r.text else { panic!() };
        seen.insert(g);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![0, 1, 2]);
}

#[test]
fn typical_lengths_for_the_duration_estimate() {
    let specs: IndexMap<String, WorkloadSpec> = serde_yaml::from_str(
        "chat: {input_tokens: {dist: lognormal, mean: 120, sd: 60, min: 16}, output_tokens: {dist: uniform, min: 10, max: 30}}\n\
         picks: {input_tokens: {dist: empirical, values: [100, 400], weights: [3, 1]}, output_tokens: 8}\n\
         rag: {shared_prefix: {groups: 4, prefix_tokens: 400, suffix_tokens: 32, output_tokens: 16}}\n\
         agent: {sessions: {turns: 3, first_input_tokens: 120, turn_input_tokens: 30, output_tokens: 16, think_time: 60ms}}\n\
         data: {dataset: d.json, output_tokens: from_dataset}\n",
    )
    .unwrap();
    let t = |name: &str| specs[name].typical();
    assert_eq!(
        (t("chat").input_tokens, t("chat").output_tokens),
        (Some(120.0), Some(20.0))
    );
    assert_eq!(t("picks").input_tokens, Some(175.0));
    assert_eq!(
        (t("rag").input_tokens, t("rag").output_tokens),
        (Some(432.0), Some(16.0))
    );
    // Turns send 120, 120 + 46 and 120 + 92 tokens; two of three wait 60 ms.
    let agent = t("agent");
    assert_eq!(agent.input_tokens, Some(166.0));
    assert!((agent.think_s - 0.04).abs() < 1e-12, "{agent:?}");
    // Only the data knows a dataset's lengths.
    assert_eq!(t("data"), Typical::default());
}
