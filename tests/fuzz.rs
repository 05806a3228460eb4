//! Property tests that stand in for fuzzing in CI: the experiment loader and
//! the SSE parser take arbitrary input without panicking, the loader answers
//! every bad file with a located input error, and the SSE parser's events do
//! not depend on how the bytes were split across socket reads.

use infer_bench::client::sse::{Event, Parser};
use infer_bench::experiment;
use proptest::prelude::*;
use std::path::Path;

const GOOD: &str = "name: fuzz\ntarget: {builtin: sim}\nprompts: ../prompts/general.yaml\nbaseline: {concurrency: 1}\nfactors: {concurrency: [1, 2]}\ntrial: {requests: 2}\n";

fn events(chunks: &[&[u8]]) -> Vec<Event> {
    let mut p = Parser::new();
    let mut out = Vec::new();
    for c in chunks {
        p.feed(c, &mut out);
    }
    p.finish(&mut out);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn the_loader_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let path = Path::new("/nonexistent/fuzz.yaml");
        if let Err(e) = experiment::load_str(path, text) {
            prop_assert!(e.to_string().contains("fuzz.yaml"), "{e}");
        }
    }

    #[test]
    fn the_loader_never_panics_on_a_mangled_good_file(
        cut in 0usize..GOOD.len(),
        insert in "[ \\t:{}\\[\\],'\"a-z0-9\\n-]{0,12}",
    ) {
        let mut text = GOOD.to_string();
        let at = (0..=cut).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &insert);
        // Beside the committed experiments, so the prompt set resolves and
        // validation runs to its end.
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/fuzz.yaml");
        if let Err(e) = experiment::load_str(&path, text) {
            let m = e.to_string();
            prop_assert!(m.contains("fuzz.yaml"), "{m}");
            prop_assert!(!m.is_empty());
        }
    }

    #[test]
    fn sse_events_do_not_depend_on_how_reads_split_the_stream(
        body in proptest::collection::vec(
            prop_oneof![
                Just("data: {\"a\":1}\n\n".to_string()),
                Just("data: x\r\ndata: y\r\n\r\n".to_string()),
                Just(": keep-alive\n".to_string()),
                Just("event: error\ndata: oops\n\n".to_string()),
                Just("data: [DONE]\r\r".to_string()),
                "[ -~]{0,20}",
                Just("\n".to_string()),
                Just("\r\n".to_string()),
            ],
            0..20,
        ),
        cuts in proptest::collection::vec(0usize..400, 0..8),
    ) {
        let bytes: Vec<u8> = body.concat().into_bytes();
        let whole = events(&[&bytes]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
        cuts.sort();
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut last = 0;
        for c in cuts {
            pieces.push(&bytes[last..c]);
            last = c;
        }
        pieces.push(&bytes[last..]);
        prop_assert_eq!(events(&pieces), whole.clone());
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(events(&bytewise), whole);
    }

    #[test]
    fn the_sse_parser_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = events(&[&bytes]);
    }
}

#[test]
fn the_unmangled_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/fuzz.yaml");
    experiment::load_str(&path, GOOD.to_string()).expect("the base of the mangling is valid");
}
