//! API keys come from the environment and go nowhere else: a planted key
//! must appear in no file of the run folder and in no output, while the
//! requests did carry it (the sim, in a process of its own, refuses any
//! request without it).

mod common;

use common::{bin, experiment, single_run, SimProcess};

const KEY: &str = "sk-planted-7f3a9c2e41d8b6";

fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_planted_api_key_appears_nowhere_in_the_run_folder_or_the_output() {
    let sim = SimProcess::start_with_env(&["--api-key-env", "SIM_KEY"], &[("SIM_KEY", KEY)]);
    let port = sim.port;
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "secret.yaml",
        &r#"
name: secret
target: {base_url: "http://127.0.0.1:PORT/v1", model: sim-q4_K_M, api_key_env: INFER_BENCH_PLANTED_KEY}
prompts: "{prompts}"
baseline: {concurrency: 2, input_tokens: 20, output_tokens: 4}
repetitions: 1
warmup: {requests: 1}
trial: {requests: 4}
"#
        .replace("PORT", &port.to_string()),
    );
    let assert = bin()
        .env("INFER_BENCH_PLANTED_KEY", KEY)
        .args(["run", "--format", "table,json,md,csv,html", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .success();
    let o = assert.get_output();
    for stream in [&o.stdout, &o.stderr] {
        assert!(!String::from_utf8_lossy(stream).contains(KEY));
    }
    let dir = single_run(out.path(), "secret");
    let data = infer_bench::results::read_run(&dir).unwrap();
    assert!(
        data.records.iter().all(|r| r.ok()),
        "the keyed sim answered every request: {:?}",
        data.records.iter().find_map(|r| r.error.clone())
    );
    let all = files(&dir);
    assert!(all.len() >= 10, "{all:?}");
    for f in all {
        let bytes = std::fs::read(&f).unwrap();
        let hit = bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes());
        assert!(!hit, "{} holds the key", f.display());
    }
    // The variable's name is recorded (so a rerun knows what to set), its value not.
    let manifest = std::fs::read_to_string(dir.join("experiment.yaml")).unwrap();
    assert!(manifest.contains("INFER_BENCH_PLANTED_KEY"));

    // A missing variable is a clear input error, not a silent unauthenticated run.
    let assert = bin()
        .env_remove("INFER_BENCH_PLANTED_KEY")
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(stderr.contains("INFER_BENCH_PLANTED_KEY"), "{stderr}");
}

/// A server that answers every request 401 with the request's head echoed
/// twice: as sent and JSON-escaped (as an error object would carry it).
fn echo_server() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut r = BufReader::new(conn.try_clone().unwrap());
                let (mut head, mut len) = (String::new(), 0usize);
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                    head.push_str(&line);
                }
                let _ = r.read_exact(&mut vec![0; len]);
                let json = serde_json::to_string(&head).unwrap();
                let body = format!("{{\"error\":{json}}} plain: {head}");
                let _ = (&conn).write_all(
                    format!(
                        "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    port
}

/// Run `exp` with `env` through every report format and `history`, then
/// hold that no `secret` is in any file of the run folder, the history
/// page, or any output. Returns the run folder.
fn run_keeps_secrets(
    out: &std::path::Path,
    name: &str,
    exp: &std::path::Path,
    env: &[(&str, &str)],
    secrets: &[&str],
) -> std::path::PathBuf {
    let mut cmd = bin();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let run = cmd
        .args(["run", "--format", "table,json,md,csv,html", "--out"])
        .arg(out)
        .arg(exp)
        .assert();
    let dir = single_run(out, name);
    let history = bin()
        .arg("history")
        .arg(out.join(name))
        .arg("--html")
        .arg(dir.join("history.html"))
        .assert();
    let report = bin()
        .args(["report", "--format", "table,md,html"])
        .arg(&dir)
        .assert();
    let outputs = [run.get_output(), history.get_output(), report.get_output()];
    for (i, o) in outputs.iter().enumerate() {
        for stream in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(stream);
            for s in secrets {
                assert!(!text.contains(s), "output {i} shows {s}: {text}");
            }
            // What was hidden leaves the kept experiment a working one:
            // its SLOs and expectations still judge the run.
            assert!(!text.contains("unusable"), "output {i}: {text}");
        }
    }
    let all = files(&dir);
    assert!(all.iter().any(|f| f.ends_with("history.html")), "{all:?}");
    for f in all {
        let bytes = std::fs::read(&f).unwrap();
        for s in secrets {
            let hit = bytes.windows(s.len()).any(|w| w == s.as_bytes());
            assert!(!hit, "{} holds {s}", f.display());
        }
    }
    dir
}

fn errors(dir: &std::path::Path) -> Vec<String> {
    infer_bench::results::read_run(dir)
        .unwrap()
        .records
        .iter()
        .filter_map(|r| r.error.clone())
        .collect()
}

const ECHO_EXPERIMENT: &str = r#"
name: NAME
target:
  base_url: "URL"
  model: m
  timeout: 5s
  HEADERS
prompts: "{prompts}"
baseline: {concurrency: 1}
repetitions: 1
warmup: {requests: 0}
trial: {requests: 2}
"#;

fn echo_experiment(
    dir: &std::path::Path,
    name: &str,
    url: &str,
    headers: &str,
) -> std::path::PathBuf {
    experiment(
        dir,
        &format!("{name}.yaml"),
        &ECHO_EXPERIMENT
            .replace("NAME", name)
            .replace("URL", url)
            .replace("HEADERS", headers),
    )
}

#[test]
fn a_url_password_and_its_basic_echo_appear_nowhere() {
    const PASS: &str = "pw-userinfo-5d1e9a";
    // base64("bob:pw-userinfo-5d1e9a"), as an Authorization: Basic header carries it.
    const BASIC: &str = "Ym9iOnB3LXVzZXJpbmZvLTVkMWU5YQ==";
    let port = echo_server();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://bob:{PASS}@127.0.0.1:{port}/v1");
    let exp = echo_experiment(out.path(), "userinfo", &url, "");
    let dir = run_keeps_secrets(out.path(), "userinfo", &exp, &[], &[PASS, BASIC]);
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    assert!(manifest.contains("http://bob:***@127.0.0.1"), "{manifest}");
    let copy = std::fs::read_to_string(dir.join("experiment.yaml")).unwrap();
    assert!(copy.contains("bob:<redacted>@"), "{copy}");
    let errors = errors(&dir);
    assert!(
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e.contains("401") && e.contains("Basic ***")),
        "{errors:?}"
    );
}

#[test]
fn a_token_as_the_url_user_and_a_query_key_appear_nowhere() {
    const TOKEN: &str = "sk-live-usertoken-99";
    const QUERY: &str = "querysecret-77a1";
    const SPACED: &str = "pass word-5c2e";
    let port = echo_server();
    let out = tempfile::tempdir().unwrap();
    for (name, url) in [
        ("usertoken", format!("http://{TOKEN}@127.0.0.1:{port}/v1")),
        (
            "querykey",
            format!("http://127.0.0.1:{port}/v1?api_key={QUERY}"),
        ),
        ("spaced", format!("http://u:{SPACED}@127.0.0.1:{port}/v1")),
    ] {
        let exp = echo_experiment(out.path(), name, &url, "");
        run_keeps_secrets(out.path(), name, &exp, &[], &[TOKEN, QUERY, SPACED]);
    }
}

#[test]
fn credential_headers_echoed_plain_and_json_escaped_appear_nowhere() {
    const HKEY: &str = "hdr-key-2b7c41f0";
    const COOKIE: &str = "ck-\"quoted\"-9e3d";
    const TOKEN: &str = "tok-upstream-77aa01";
    let port = echo_server();
    let out = tempfile::tempdir().unwrap();
    let headers = format!(
        "headers: {{X-Api-Key: {HKEY}, Cookie: 'session={COOKIE}', X-Upstream-Token: {TOKEN}, X-Tag: visible-tag-31}}"
    );
    let url = format!("http://127.0.0.1:{port}/v1");
    let exp = echo_experiment(out.path(), "headers", &url, &headers);
    // JSON-escaped, the cookie reads ck-\"quoted\"-9e3d.
    let escaped = COOKIE.replace('"', "\\\"");
    let dir = run_keeps_secrets(
        out.path(),
        "headers",
        &exp,
        &[],
        &[HKEY, COOKIE, &escaped, TOKEN],
    );
    let errors = errors(&dir);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("visible-tag-31") && e.contains("***")),
        "the echo reached the record, redacted: {errors:?}"
    );
}

#[test]
fn an_api_key_echoed_by_a_server_appears_nowhere() {
    let port = echo_server();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1");
    let exp = echo_experiment(
        out.path(),
        "keyecho",
        &url,
        "api_key_env: INFER_BENCH_ECHO_KEY",
    );
    let dir = run_keeps_secrets(
        out.path(),
        "keyecho",
        &exp,
        &[("INFER_BENCH_ECHO_KEY", KEY)],
        &[KEY],
    );
    assert!(errors(&dir).iter().any(|e| e.contains("Bearer ***")));
}

#[test]
fn header_values_from_the_environment_are_secrets_whatever_their_names() {
    // `X-Tenant` is no credential's name: only its coming from the
    // environment marks the value secret.
    const TENANT: &str = "tenant-from-env-8e21c4";
    let port = echo_server();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/v1");
    let headers = "headers_env: {X-Tenant: INFER_BENCH_TENANT}\n  headers: {X-Tag: visible-tag-52}";
    let exp = echo_experiment(out.path(), "headerenv", &url, headers);
    let dir = run_keeps_secrets(
        out.path(),
        "headerenv",
        &exp,
        &[("INFER_BENCH_TENANT", TENANT)],
        &[TENANT],
    );
    let errors = errors(&dir);
    assert!(
        !errors.is_empty()
            && errors
                .iter()
                .all(|e| e.contains("X-Tenant: ***") && e.contains("visible-tag-52")),
        "the header went out and its echo was hidden: {errors:?}"
    );
    // An unset variable is refused before any request, naming the key.
    bin()
        .env_remove("INFER_BENCH_TENANT")
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "target.headers_env.X-Tenant names 'INFER_BENCH_TENANT', which is not set",
        ));
}

#[test]
fn launch_command_secrets_in_every_spelling_appear_nowhere() {
    const ENV: &str = "env-secret-4c8d2e";
    const SH_FLAG: &str = "sh-flag-secret-a19f";
    const SH_EQ: &str = "sh-eq-secret-60b2";
    // A server's environment, named like a credential.
    const HF: &str = "hf-env-secret-3f9a71";
    let out = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("infer-bench");
    let command = format!(
        "/usr/bin/env LAUNCH_SECRET={ENV} sh -c 'true --api-key {SH_FLAG} --hf-token={SH_EQ} --host 127.0.0.1; echo args --api-key {SH_FLAG} $LAUNCH_SECRET; echo env HF_TOKEN=$HF_TOKEN {SH_EQ} >&2; exec {} sim --port {{{{ port }}}} --jitter 0'",
        bin.display()
    );
    let exp = experiment(
        out.path(),
        "launch.yaml",
        &format!(
            "name: launch\ntarget:\n  model: m\n  server:\n    command: \"{}\"\n    ready: /health\n    env: {{HF_TOKEN: {HF}, LOG_COLORS: plain-visible}}\nprompts: \"{{prompts}}\"\nbaseline: {{concurrency: 1, output_tokens: 2}}\nrepetitions: 1\ntrial: {{requests: 2}}\n",
            command.replace('"', "\\\"")
        ),
    );
    let dir = run_keeps_secrets(out.path(), "launch", &exp, &[], &[ENV, SH_FLAG, SH_EQ, HF]);
    let copy = std::fs::read_to_string(dir.join("experiment.yaml")).unwrap();
    assert!(
        copy.contains("HF_TOKEN: <redacted>") && copy.contains("plain-visible"),
        "{copy}"
    );
    // The server printed them all; its log keeps the lines, not the secrets.
    let log = std::fs::read_to_string(dir.join("server-00.log")).unwrap();
    assert!(log.contains("args --api-key *** ***\n"), "{log}");
    assert!(log.contains("env HF_TOKEN=*** ***\n"), "{log}");
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    // The redacted command still says what ran: `--host` is shown.
    assert!(
        manifest.contains("LAUNCH_SECRET=<redacted>") && manifest.contains("--host 127.0.0.1"),
        "{manifest}"
    );
}

#[test]
fn a_password_stored_by_an_older_version_is_shown_redacted() {
    const OLD: &str = "pw-stored-earlier-e41b";
    let sim = SimProcess::start();
    let out = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/v1", sim.port);
    let exp = echo_experiment(out.path(), "older", &url, "");
    bin()
        .args(["run", "--quiet", "--out"])
        .arg(out.path())
        .arg(&exp)
        .assert()
        .success();
    let dir = single_run(out.path(), "older");
    // As a folder written before URLs were redacted holds it.
    let manifest = dir.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let planted = url.replace("http://", &format!("http://carol:{OLD}@"));
    std::fs::write(&manifest, text.replace(&url, &planted)).unwrap();
    let report = bin()
        .args(["report", "--format", "table,md,html"])
        .arg(&dir)
        .assert()
        .success();
    let history = bin()
        .arg("history")
        .arg(out.path().join("older"))
        .arg("--html")
        .arg(out.path().join("history.html"))
        .assert()
        .success();
    for o in [report.get_output(), history.get_output()] {
        for stream in [&o.stdout, &o.stderr] {
            let text = String::from_utf8_lossy(stream);
            assert!(!text.contains(OLD), "{text}");
        }
    }
    let history_out = String::from_utf8_lossy(&history.get_output().stdout).to_string();
    assert!(history_out.contains("carol:***@"), "{history_out}");
    for f in [
        dir.join("report.md"),
        dir.join("report.html"),
        out.path().join("history.html"),
    ] {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(!text.contains(OLD), "{} holds the password", f.display());
    }
}
