//! The reference server's endpoints, as a user would call them.

use infer_bench::sim::{tokenizer, SimHandle, SimModel};
use serde_json::{json, Value};

fn sim() -> SimHandle {
    // reqwest is built without a default TLS provider.
    infer_bench::tls::install_provider();
    SimHandle::start(SimModel {
        jitter: 0.0,
        ..SimModel::default()
    })
    .unwrap()
}

async fn post(url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn health_models_and_tokenize_in_both_shapes() {
    let s = sim();
    let root = format!("http://{}", s.addr);
    let health: Value = reqwest::get(format!("{root}/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let models: Value = reqwest::get(format!("{root}/v1/models"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["data"][0]["id"], "sim");

    // The README's tokenizer, by hand: The| keeper| climbed| one| hundred|
    // and| twelve| steps|. = 9 tokens.
    let text = "The keeper climbed one hundred and twelve steps.";
    let (status, llama) = post(format!("{root}/tokenize"), json!({"content": text})).await;
    assert_eq!(status, 200);
    assert_eq!(llama["tokens"].as_array().unwrap().len(), 9);
    let (_, vllm) = post(
        format!("{root}/tokenize"),
        json!({"prompt": text, "model": "x"}),
    )
    .await;
    assert_eq!(vllm["count"], json!(9));
}

#[tokio::test]
async fn non_streaming_completions_and_chat_report_usage() {
    let s = sim();
    let base = s.base_url();
    let prompt = "Tell me about tides.";
    let (status, c) = post(
        format!("{base}/completions"),
        json!({"model": "m", "prompt": prompt, "max_tokens": 7, "ignore_eos": true}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(c["usage"]["completion_tokens"], 7);
    // Tell| me| about| tides|. = 5 tokens.
    assert_eq!(c["usage"]["prompt_tokens"], json!(5));
    assert_eq!(c["choices"][0]["finish_reason"], "length");
    assert_eq!(
        tokenizer::count(c["choices"][0]["text"].as_str().unwrap()),
        7
    );

    let (_, chat) = post(
        format!("{base}/chat/completions"),
        json!({"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": prompt}], "max_tokens": 3, "min_tokens": 3}),
    )
    .await;
    assert_eq!(chat["object"], "chat.completion");
    assert_eq!(chat["usage"]["completion_tokens"], 3);
    // The sim's chat template adds nothing: the messages' tokens add up.
    // Be| brief|. = 3, and the prompt's 5.
    assert_eq!(chat["usage"]["prompt_tokens"], json!(3 + 5));
}

#[tokio::test]
async fn without_ignore_eos_the_model_may_stop_early() {
    infer_bench::tls::install_provider();
    let fast = SimModel {
        decode_ms_per_token: 0.1,
        jitter: 0.0,
        ..SimModel::default()
    };
    let s = SimHandle::start(fast).unwrap();
    let mut lengths = Vec::new();
    for _ in 0..20 {
        let (_, c) = post(
            format!("{}/completions", s.base_url()),
            json!({"prompt": "x", "max_tokens": 200}),
        )
        .await;
        let n = c["usage"]["completion_tokens"].as_u64().unwrap();
        let finish = c["choices"][0]["finish_reason"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(finish == "length", n == 200);
        lengths.push(n);
    }
    assert!(lengths.iter().any(|n| *n < 200), "{lengths:?}");
}

#[tokio::test]
async fn bad_requests_get_openai_style_errors() {
    let s = sim();
    let (status, e) = post(
        format!("{}/completions", s.base_url()),
        json!({"model": "m"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(e["error"]["message"], "missing 'prompt'");
    let r = reqwest::Client::new()
        .post(format!("{}/completions", s.base_url()))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
