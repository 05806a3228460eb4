//! The Service levels table, built once and rendered by every format, in a
//! closed and an open loop (an open-loop header once read `… meets SLOs |
//! sent req/s | send lag p99 ms` over rows holding other cells).

use super::*;
use crate::analysis::tests::{config, record};
use crate::analysis::{analyse, monitor_frame, ServiceTerms};
use crate::experiment::Slo;
use crate::record::Record;
use crate::report::document::{Block, Document, Media, Section, SectionId, Title};

/// Two configurations, two trials of four requests each. TTFTs 40, 80, 120,
/// 160 ms (+40 at concurrency 2); the server reports 30 ms of prompt time.
fn records(open_loop: bool) -> Vec<Record> {
    records_reporting(open_loop, Some(30.0))
}

fn records_reporting(open_loop: bool, prompt_ms: Option<f64>) -> Vec<Record> {
    let mut out = Vec::new();
    for (c, extra) in [(0, 0.0), (1, 40.0)] {
        for rep in 0..2 {
            let trial = c * 2 + rep;
            for i in 0..4 {
                let ttft = 40.0 * (i + 1) as f64 + extra;
                let mut r = record(trial, c, i, i as f64 * 0.5, ttft, ttft + 300.0, 11);
                r.repetition = rep as u32;
                r.server_prompt_ms = prompt_ms;
                if open_loop {
                    r.scheduled_s = Some(i as f64 * 0.5);
                    r.queue_ms = Some(2.0);
                    r.wait_ms = Some(0.0);
                }
                out.push(r);
            }
        }
    }
    out
}

fn slo() -> Slo {
    let mut slo = Slo {
        ttft_ms: Some(150.0),
        min_output_tok_s: None,
        p95_latency_s: None,
        min_attainment: 0.75,
        ..Slo::default()
    };
    slo.set("ttft_p95_ms", Some(190.0)).unwrap();
    slo.set("tpot_p99_ms", Some(50.0)).unwrap();
    slo
}

fn rendered(open_loop: bool) -> [String; 3] {
    rendered_from(records(open_loop))
}

fn rendered_from(records: Vec<Record>) -> [String; 3] {
    let configs = [config(0, "baseline", 1), config(1, "concurrency=2", 2)];
    let requests = crate::results::requests_frame(&records, &configs).unwrap();
    let terms = ServiceTerms {
        slo: slo(),
        cost: None,
    };
    let monitor = monitor_frame(&[]).unwrap();
    let a = analyse(&requests, &monitor, &configs, Default::default(), &terms).unwrap();
    let table = service_table_of(&a.rows, &a.estimates);
    let section = Section::new(SectionId::Service, Title::same("Service levels"))
        .with(Media::ALL, Block::Table(table));
    let doc = Document {
        experiment: "slo".into(),
        run_id: "RUN".into(),
        target: None,
        description: None,
        facts: Vec::new(),
        sections: vec![section],
    };
    let page = crate::report::html::render(&doc);
    let start = page.find("<table>").expect("a table on the page");
    let end = page.find("</table>").expect("its end") + "</table>".len();
    let html = page[start..end].replace("<tr", "\n<tr");
    [
        crate::report::table::render_within(&doc, None),
        crate::report::markdown::render(&doc),
        html,
    ]
}

#[test]
fn the_service_table_in_a_closed_loop() {
    let [terminal, markdown, html] = rendered(false);
    assert!(!terminal.contains("sent req/s"));
    insta::assert_snapshot!("service_closed_terminal", terminal);
    insta::assert_snapshot!("service_closed_markdown", markdown);
    insta::assert_snapshot!("service_closed_html", html);
}

#[test]
fn the_service_table_in_an_open_loop() {
    let [terminal, markdown, html] = rendered(true);
    // Every row has as many cells as the header, in each format.
    let header = markdown
        .lines()
        .find(|l| l.starts_with("| configuration"))
        .unwrap();
    let cells = header.matches('|').count();
    for row in markdown.lines().filter(|l| l.starts_with("| baseline")) {
        assert_eq!(row.matches('|').count(), cells, "{row}");
    }
    assert!(header.contains("sent req/s"), "{header}");
    insta::assert_snapshot!("service_open_terminal", terminal);
    insta::assert_snapshot!("service_open_markdown", markdown);
    insta::assert_snapshot!("service_open_html", html);
}

#[test]
fn the_binding_objective_and_the_split_are_shown() {
    let [_, markdown, _] = rendered(false);
    let row = |name: &str| {
        markdown
            .lines()
            .find(|l| l.starts_with(&format!("| {name} ")))
            .unwrap()
            .to_string()
    };
    // Baseline: TTFTs 40–160, 3 of 4 within 150 ms (75 %: met); p95 154 ms.
    // TPOT is 300 / 10 = 30 ms: TTFT ≤ 150 ms binds (margin 0).
    assert!(
        row("baseline").contains("TTFT ≤ 150 ms |"),
        "{}",
        row("baseline")
    );
    // Concurrency 2: TTFTs 80–200, half within 150 ms (margin (0.5 − 0.75) / 0.25 = −1) and
    // p95 194 ms > 190 (margin −0.02): both missed, the first further out.
    let c2 = row("concurrency=2");
    assert!(c2.contains("| 194 |"), "{c2}");
    assert!(c2.contains("TTFT ≤ 150 ms (missed)"), "{c2}");
    let header = markdown
        .lines()
        .find(|l| l.starts_with("| configuration"))
        .unwrap();
    for h in ["prefill p50 ms", "queueing p50 ms", "TTFT p95 ≤ 190 ms"] {
        assert!(header.contains(h), "{h} in {header}");
    }
}

#[test]
fn without_the_servers_prompt_time_the_split_is_absent_not_zero() {
    let configs = [config(0, "baseline", 1), config(1, "concurrency=2", 2)];
    let records = records_reporting(false, None);
    let requests = crate::results::requests_frame(&records, &configs).unwrap();
    let trials = crate::analysis::trial_metrics(&requests, &slo()).unwrap();
    let queueing = trials.column("queueing_p50_ms").unwrap();
    assert_eq!(queueing.null_count(), trials.height(), "null, not 0");
    let [terminal, markdown, html] = rendered_from(records);
    for text in [terminal, markdown, html] {
        assert!(!text.contains("prefill p50 ms"), "{text}");
        assert!(!text.contains("queueing"), "{text}");
    }
}
