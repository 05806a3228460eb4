//! The channels beside the token stream, against the hostile server
//! (tests/hostile/channels.rs): `/tokenize`, `/props`, `/v1/models`,
//! `/metrics`, readiness probes and a dying server's log. Each is bounded
//! in time and in bytes, keeps a bounded amount of what it answers, and
//! keeps no secret of it.

mod common;
#[path = "hostile/server.rs"]
mod server;

use common::experiment;
use server::{Hostile, KEY};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Its definition in tests/hostile/channels.rs, which this crate reaches
/// only through the server's private module.
const LAUNCH_SECRET: &str = "launch-secret-7f3a9c";

/// A credential header's value the run reads from its environment
/// (`target.headers_env`).
const HEADER_SECRET: &str = "header-secret-5d2e";

/// One finished `infer-bench run`.
struct Ran {
    code: Option<i32>,
    stderr: String,
    took: Duration,
    out: tempfile::TempDir,
    name: String,
}

impl Ran {
    fn dir(&self) -> PathBuf {
        common::single_run(self.out.path(), &self.name)
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name)).unwrap()
    }

    fn manifest(&self) -> serde_json::Value {
        serde_json::from_str(&self.file("manifest.json")).unwrap()
    }

    /// The first launch's fingerprint.
    fn fingerprint(&self) -> serde_json::Value {
        self.manifest()["servers"][0]["fingerprint"].clone()
    }

    /// How often `text` is on stderr.
    fn said(&self, text: &str) -> usize {
        self.stderr.matches(text).count()
    }

    /// No secret on the terminal nor in any file of the run folder but
    /// the server's own log (which the server writes itself).
    fn keeps_no_secret(&self) {
        assert!(!self.stderr.contains(KEY) && !self.stderr.contains(LAUNCH_SECRET));
        for entry in std::fs::read_dir(self.dir()).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy();
            if path.is_dir() || name.starts_with("server-") {
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            for secret in [KEY, LAUNCH_SECRET] {
                assert!(!text.contains(secret), "{} holds {secret}", path.display());
            }
        }
    }
}

/// `infer-bench run` of an experiment against `url` (`HOSTILE_KEY` set to
/// the key), `target` and `rest` its YAML beside the common part.
fn run(name: &str, url: &str, target: &str, rest: &str) -> Ran {
    let out = tempfile::tempdir().unwrap();
    let text = format!(
        "name: {name}\nseed: 1\ntarget:\n  base_url: {url}\n  model: m\n  api_key_env: HOSTILE_KEY\n{target}prompts: {{prompts}}\nfactors: {{}}\nrepetitions: 1\nwarmup: {{requests: 0}}\n{rest}"
    );
    let exp = experiment(out.path(), &format!("{name}.yaml"), &text);
    let started = Instant::now();
    let o = common::bin()
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(&exp)
        .env("HOSTILE_KEY", KEY)
        .env("HOSTILE_HEADER", HEADER_SECRET)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    Ran {
        code: o.status.code(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        took: started.elapsed(),
        out,
        name: name.into(),
    }
}

/// A run whose server is launched (a `sleep` with a secret on its command
/// line) and answered for by the hostile server in `mode`.
fn launched(h: &Hostile, mode: &str, server: &str, rest: &str) -> Ran {
    let target = format!(
        "  timeout: 5s\n  server:\n    command: \"sh -c 'exec sleep 120' --api-key {LAUNCH_SECRET}\"\n    ready_timeout: 2s\n    metrics: [\"llamacpp:\"]\n{server}"
    );
    let rest = if rest.starts_with("baseline") {
        rest.to_string()
    } else {
        format!("baseline: {{concurrency: 1}}\n{rest}")
    };
    run(mode, &h.url(mode), &target, &rest)
}

/// Three requests, the common trial.
const THREE: &str = "trial: {requests: 3}\n";

/// The largest resident set of any child this test process has waited for.
fn children_peak_rss_mb() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) };
    u.ru_maxrss as f64 / 1024.0
}

fn monitor_rows(ran: &Ran) -> Vec<serde_json::Value> {
    ran.file("monitor.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

// ---- /tokenize, from the client ----

#[tokio::test]
async fn a_tokenize_that_never_answers_fails_within_the_target_timeout() {
    let h = Hostile::start();
    let c = server::client(h.url("tokenize-silent"), Duration::from_secs(1));
    let started = Instant::now();
    let e = c.count_tokens("one two three").await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{e:#}");
    assert_eq!(
        e.to_string(),
        format!(
            "POST http://127.0.0.1:{}/tokenize-silent/tokenize: no complete answer within 1s",
            h.port
        )
    );
}

#[tokio::test]
async fn a_tokenize_answer_without_end_fails_at_the_cap() {
    let h = Hostile::start();
    let c = server::client(h.url("tokenize-huge"), Duration::from_secs(60));
    let started = Instant::now();
    let e = c.count_tokens("one").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(30), "{e}");
    let prefix = format!(
        "POST http://127.0.0.1:{}/tokenize-huge/tokenize: the answer passed the cap of 67108864 bytes (",
        h.port
    );
    assert!(e.starts_with(&prefix), "{e}");
    // Stopped within a read of the cap, not at the 1.5 GB sent.
    let received: usize = e[prefix.len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((64 << 20..65 << 20).contains(&received), "{e}");
}

#[tokio::test]
async fn a_tokenize_answer_announced_at_1_5_gb_fails_before_its_body() {
    let h = Hostile::start();
    let c = server::client(h.url("tokenize-huge-announced"), Duration::from_secs(60));
    let started = Instant::now();
    let e = c.count_tokens("one").await.unwrap_err().to_string();
    assert!(started.elapsed() < Duration::from_secs(5), "{e}");
    assert!(
        e.ends_with("the cap of 67108864 bytes (0 bytes received, 1500000000 announced)"),
        "{e}"
    );
}

#[tokio::test]
async fn a_good_tokenize_still_counts() {
    let h = Hostile::start();
    let c = server::client(h.url("launched"), Duration::from_secs(5));
    assert_eq!(c.count_tokens("one two three").await.unwrap(), 4);
    // The channel modes serve a good stream beside.
    let o = c.generate(&server::request()).await;
    assert!(o.ok(), "{:?}", o.error);
    assert_eq!(o.completion_tokens, Some(3));
    assert_eq!(h.requests(), 2);
}

// ---- /tokenize, in a run's preparation ----

#[test]
fn a_run_whose_tokenize_never_answers_fails_its_preparation_at_the_timeout() {
    let h = Hostile::start();
    let ran = run(
        "tokenize-silent",
        &h.url("tokenize-silent"),
        "  timeout: 2s\n",
        "baseline: {concurrency: 1, input_tokens: 20, output_tokens: 3}\ntrial: {requests: 2}\n",
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(30), "took {:?}", ran.took);
    let want = format!(
        "POST http://127.0.0.1:{}/tokenize-silent/tokenize: no complete answer within 2s",
        h.port
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    assert_eq!(ran.file("requests.jsonl"), "", "no request was sent");
    ran.keeps_no_secret();
}

#[test]
fn a_run_whose_tokenize_answers_1_5_gb_fails_at_the_cap_in_bounded_memory() {
    let h = Hostile::start();
    let ran = run(
        "tokenize-huge",
        &h.url("tokenize-huge"),
        "  timeout: 60s\n",
        "baseline: {concurrency: 1, input_tokens: 20, output_tokens: 3}\ntrial: {requests: 2}\n",
    );
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(60), "took {:?}", ran.took);
    assert_eq!(
        ran.said("/tokenize-huge/tokenize: the answer passed the cap of 67108864 bytes ("),
        1,
        "{}",
        ran.stderr
    );
    let peak = children_peak_rss_mb();
    assert!(peak < 400.0, "a child reached {peak} MB");
    assert_eq!(ran.file("requests.jsonl"), "");
}

// ---- /props and /v1/models of a launched server ----

#[test]
fn a_props_answer_without_end_is_not_kept_and_the_run_goes_on() {
    let h = Hostile::start();
    let ran = launched(&h, "props-huge", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let want = format!(
        "warning: GET http://127.0.0.1:{}/props-huge/props: the answer passed the cap of 4194304 bytes (",
        h.port
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    let f = ran.fingerprint();
    assert!(f.get("props").is_none(), "{f}");
    assert_eq!(f["models"]["data"][0]["id"], "hostile-model");
    let size = std::fs::metadata(ran.dir().join("manifest.json"))
        .unwrap()
        .len();
    assert!(size < 64 << 10, "manifest.json is {size} bytes");
    assert_eq!(ran.file("requests.jsonl").lines().count(), 3);
    ran.keeps_no_secret();
}

#[test]
fn a_long_props_keeps_the_fields_read_and_a_cut_excerpt() {
    let h = Hostile::start();
    let ran = launched(&h, "props-big", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let props = ran.fingerprint()["props"].clone();
    assert_eq!(props["build_info"], "b-hostile-big");
    assert_eq!(
        props["default_generation_settings"],
        serde_json::json!({"n_ctx": 2048})
    );
    assert_eq!(props["total_slots"], 3);
    let cut = props["infer_bench_cut"].as_str().unwrap();
    assert!(
        cut.starts_with("the answer was 1")
            && cut.ends_with(
                "bytes; kept the fields infer-bench reads and its first 2000 characters"
            ),
        "{cut}"
    );
    assert_eq!(props["excerpt"].as_str().unwrap().chars().count(), 2001);
    let size = std::fs::metadata(ran.dir().join("manifest.json"))
        .unwrap()
        .len();
    assert!(size < 32 << 10, "manifest.json is {size} bytes");
    // The slot check and the reports still read them.
}

#[test]
fn an_openapi_without_end_is_not_kept() {
    let h = Hostile::start();
    let ran = launched(&h, "openapi-huge", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let want = format!(
        "warning: GET http://127.0.0.1:{}/openapi-huge/openapi.json: the answer passed the cap of 4194304 bytes (",
        h.port
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    let f = ran.fingerprint();
    assert!(f.get("engine").is_none(), "{f}");
    assert_eq!(f["models"]["data"][0]["id"], "hostile-model");
}

/// The engine's name and version (`/openapi.json`) and what the version
/// command prints are channels too: cut to a line, and scrubbed.
#[test]
fn the_engines_name_and_version_command_keep_no_secret_and_stay_bounded() {
    let h = Hostile::start();
    let endless =
        format!("    version_command: \"sh -c 'while :; do echo {LAUNCH_SECRET} {KEY}; done'\"\n");
    let ran = launched(&h, "openapi-echo-key", &endless, THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(40), "took {:?}", ran.took);
    let f = ran.fingerprint();
    assert_eq!(f["engine"]["version"], "1.0 ***", "{f}");
    let title = f["engine"]["title"].as_str().unwrap();
    assert!(
        title.starts_with("*** engine ttt") && title.chars().count() == 201,
        "{title}"
    );
    let version = f["version"].as_str().unwrap();
    assert!(version.starts_with("*** ***\n*** ***"), "{version}");
    assert!(version.chars().count() <= 501, "{}", version.len());
    ran.keeps_no_secret();
    // A secret on the version command's own line is hidden wherever it
    // goes: its output, and the experiment's copy.
    let token = "version-secret-91ab";
    let keyed = format!("    version_command: \"sh -c 'echo v $2' x --token {token}\"\n");
    let ran = launched(&h, "launched", &keyed, THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.fingerprint()["version"], "v ***");
    for entry in std::fs::read_dir(ran.dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains(token), "{} holds {token}", path.display());
    }
    // A credential read from the environment for a header is hidden from
    // the server's channels too: here the version command prints it (its
    // environment is the run's).
    let target = "  headers_env: {X-Proxy-Token: HOSTILE_HEADER}\n";
    let printing = "    version_command: \"sh -c 'echo v $HOSTILE_HEADER'\"\n";
    let ran = launched(&h, "launched", &format!("{printing}{target}"), THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(ran.fingerprint()["version"], "v ***");
    for entry in std::fs::read_dir(ran.dir()).unwrap() {
        let path = entry.unwrap().path();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        assert!(!text.contains(HEADER_SECRET), "{} holds it", path.display());
    }
    // A version command that fails is said, and the run goes on.
    let failing = "    version_command: \"sh -c 'exit 4'\"\n";
    let ran = launched(&h, "launched", failing, THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.said("it exited with exit status: 4; the fingerprint goes without it"),
        1,
        "{}",
        ran.stderr
    );
    assert!(ran.fingerprint().get("version").is_none());
}

#[test]
fn a_long_props_still_holds_the_slot_check() {
    let h = Hostile::start();
    let ran = launched(
        &h,
        "props-big",
        "",
        "baseline: {concurrency: 1, input_tokens: 2000, output_tokens: 100}\ntrial: {requests: 1}\n",
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert_eq!(
        ran.said("input_tokens 2000 + output_tokens 100 do not fit the server's slot context of 2048 tokens (3 slots)"),
        1,
        "{}",
        ran.stderr
    );
}

#[test]
fn a_props_that_never_answers_costs_the_fingerprint_timeout_only() {
    let h = Hostile::start();
    let ran = launched(&h, "props-silent", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(40), "took {:?}", ran.took);
    let want = format!(
        "warning: GET http://127.0.0.1:{}/props-silent/props: no complete answer within 5s; the server's fingerprint goes without it",
        h.port
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    assert!(ran.fingerprint().get("props").is_none());
    assert_eq!(ran.file("requests.jsonl").lines().count(), 3);
}

#[test]
fn a_model_list_without_end_is_not_kept() {
    let h = Hostile::start();
    let ran = launched(&h, "models-huge", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.said("/models-huge/v1/models: the answer passed the cap of 4194304 bytes ("),
        1,
        "{}",
        ran.stderr
    );
    let f = ran.fingerprint();
    assert!(f.get("models").is_none(), "{f}");
    assert_eq!(f["props"]["build_info"], "b-hostile");
    let size = std::fs::metadata(ran.dir().join("manifest.json"))
        .unwrap()
        .len();
    assert!(size < 64 << 10, "manifest.json is {size} bytes");
}

#[test]
fn a_long_model_list_keeps_its_first_id() {
    let h = Hostile::start();
    let ran = launched(&h, "models-big", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let models = ran.fingerprint()["models"].clone();
    assert_eq!(models["data"], serde_json::json!([{"id": "model-0"}]));
    assert!(models["infer_bench_cut"]
        .as_str()
        .unwrap()
        .starts_with("the answer was "));
    let size = std::fs::metadata(ran.dir().join("manifest.json"))
        .unwrap()
        .len();
    assert!(size < 32 << 10, "manifest.json is {size} bytes");
}

#[test]
fn props_echoing_the_key_and_launch_secrets_are_stored_scrubbed() {
    let h = Hostile::start();
    let ran = launched(&h, "props-echo-key", "", THREE);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let props = ran.fingerprint()["props"].clone();
    assert_eq!(props["build_info"], "b-echo ***");
    assert_eq!(props["args"], "llama-server --api-key *** --port 1");
    assert_eq!(props["***"], "***");
    ran.keeps_no_secret();
}

// ---- /metrics ----

#[test]
fn a_metrics_page_of_100000_series_keeps_200_a_reading_with_one_warning() {
    let h = Hostile::start();
    let ran = launched(&h, "metrics-many-series", "", "trial: {duration: 2s}\n");
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(
        ran.said("warning: /metrics lists 100000 series under llamacpp:; each reading keeps the first 200"),
        1,
        "{}",
        ran.stderr
    );
    let rows = monitor_rows(&ran);
    let metrics: Vec<_> = rows.iter().filter(|r| r["source"] == "metrics").collect();
    let mut readings: Vec<f64> = metrics.iter().map(|r| r["t_s"].as_f64().unwrap()).collect();
    readings.dedup();
    assert!(!readings.is_empty());
    for t in &readings {
        let n = metrics
            .iter()
            .filter(|r| r["t_s"].as_f64() == Some(*t))
            .count();
        assert_eq!(n, 200, "at {t}s");
    }
    // A reading every 250 ms of a 2 s trial, each at most 200 rows.
    assert!(readings.len() <= 12, "{} readings", readings.len());
    let size = std::fs::metadata(ran.dir().join("monitor.jsonl"))
        .unwrap()
        .len();
    assert!(size < 12 * 200 * 150, "monitor.jsonl is {size} bytes");
    assert_eq!(metrics[0]["name"], "llamacpp:s{n=\"0\"}");
    assert_eq!(metrics[199]["name"], "llamacpp:s{n=\"199\"}");
}

#[test]
fn a_metrics_page_without_end_is_not_sampled_and_memory_stays_flat() {
    let h = Hostile::start();
    let ran = launched(&h, "metrics-huge", "", "trial: {duration: 2s}\n");
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let want = format!(
        "warning: GET http://127.0.0.1:{}/metrics-huge/metrics: the answer passed the cap of 8388608 bytes (",
        h.port
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    let rows = monitor_rows(&ran);
    assert!(rows.iter().all(|r| r["source"] != "metrics"), "{rows:?}");
    let peak = children_peak_rss_mb();
    assert!(peak < 400.0, "a child reached {peak} MB");
}

#[test]
fn metrics_echoing_secrets_are_stored_scrubbed() {
    let h = Hostile::start();
    let ran = launched(&h, "metrics-echo-key", "", "trial: {duration: 1s}\n");
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let rows = monitor_rows(&ran);
    assert!(rows
        .iter()
        .any(|r| r["name"] == "llamacpp:echo{key=\"***\",launch=\"***\"}"));
    assert!(rows
        .iter()
        .any(|r| r["name"] == "llamacpp:requests_processing"));
    ran.keeps_no_secret();
}

#[test]
fn a_server_asking_for_its_key_everywhere_gets_it_on_every_side_channel() {
    // /props, /v1/models and /metrics answer 401 without the key, as
    // llama.cpp's `--api-key` does: they once went without it.
    let h = Hostile::start();
    let ran = launched(&h, "side-needs-key", "", "trial: {duration: 1s}\n");
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    let fingerprint = ran.fingerprint();
    assert_eq!(
        fingerprint["props"]["build_info"], "b-hostile",
        "{fingerprint}"
    );
    assert!(fingerprint["models"].is_object(), "{fingerprint}");
    assert!(!ran.stderr.contains("goes without it"), "{}", ran.stderr);
    assert!(monitor_rows(&ran)
        .iter()
        .any(|r| r["name"] == "llamacpp:requests_processing"));
    ran.keeps_no_secret();
}

// ---- readiness ----

#[test]
fn a_health_that_never_answers_fails_the_launch_at_its_ready_timeout() {
    let h = Hostile::start();
    let ran = launched(&h, "health-silent", "", THREE);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(20), "took {:?}", ran.took);
    let url = format!("http://127.0.0.1:{}/health-silent/health", h.port);
    let want = format!(
        "the server did not answer {url} within 2s (last probe: GET {url}: no complete answer within 2s)"
    );
    assert_eq!(ran.said(&want), 1, "{}", ran.stderr);
    ran.keeps_no_secret();
}

#[test]
fn a_health_answer_without_end_is_never_ready() {
    let h = Hostile::start();
    let ran = launched(&h, "health-huge", "", THREE);
    assert_eq!(ran.code, Some(1), "{}", ran.stderr);
    assert!(ran.took < Duration::from_secs(20), "took {:?}", ran.took);
    assert_eq!(
        ran.said("/health-huge/health: the answer passed the cap of 4194304 bytes ("),
        1,
        "{}",
        ran.stderr
    );
}

// ---- a dying server's log ----

#[test]
fn a_dying_server_s_log_tail_is_shown_and_stored_scrubbed() {
    let h = Hostile::start();
    let target = format!(
        "  timeout: 5s\n  server:\n    command: \"sh -c 'echo serving --api-key {LAUNCH_SECRET}; echo key $HOSTILE_KEY; sleep 1; exit 3' --api-key {LAUNCH_SECRET}\"\n    ready_timeout: 2s\n"
    );
    let ran = run(
        "dying",
        &h.url("launched"),
        &target,
        "baseline: {concurrency: 1}\ntrial: {duration: 3s}\n",
    );
    let manifest = ran.manifest();
    assert_eq!(ran.code, Some(0), "{}\n{manifest}", ran.stderr);
    assert_eq!(
        manifest["failed_trials"][0]["reason"],
        "the server exited (exit status: 3); its log ends:\nserving --api-key ***\nkey ***",
        "{manifest}"
    );
    ran.keeps_no_secret();
}
