//! `infer-bench calibrate`: the harness's error against a sim in its own
//! process, joined request by request with what the sim says it sent.

mod common;

use common::{bin, SimProcess};
use serde_json::Value;

#[test]
fn calibrate_reports_small_errors_against_the_sims_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("calibration.json");
    let out = bin()
        .args([
            "calibrate",
            "--concurrency",
            "1,20",
            "--rate",
            "40",
            "--rounds",
            "2",
        ])
        .args([
            "--seconds",
            "1",
            "--ttft-ms",
            "30",
            "--itl-ms",
            "5",
            "--tokens",
            "12",
        ])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("TTFT err p50"), "{stdout}");
    assert!(
        stdout.contains("20 streams") && stdout.contains("40 req/s"),
        "{stdout}"
    );

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["sim"]["ttft_ms"], 30.0);
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{report:#}");
    let f = |row: &Value, key: &str| {
        row[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing: {row:#}"))
    };
    for row in rows {
        for key in [
            "ttft_error_p50_ms",
            "ttft_error_p99_ms",
            "itl_error_p50_ms",
            "itl_error_p99_ms",
            "events_per_s",
            "peak_rss_mb",
        ] {
            f(row, key);
        }
        assert_eq!(row["failed"], 0, "{row:#}");
        assert_eq!(
            row["unmatched"], 0,
            "every record has the sim's truth: {row:#}"
        );
        // The sim kept its own schedule: what it really sent is close to
        // the 30 ms and 5 ms it was told...
        let true_ttft = f(row, "true_ttft_p50_ms");
        assert!((30.0..36.0).contains(&true_ttft), "{row:#}");
        assert!((4.0..6.5).contains(&f(row, "true_itl_p50_ms")), "{row:#}");
        // ...and the error is what the client adds on top: small next to
        // the TTFT (an error not taken against the truth would be ~30 ms),
        // and never much below zero (a client cannot see an event before
        // it was sent).
        let p50 = f(row, "ttft_error_p50_ms");
        assert!((-0.5..5.0).contains(&p50), "{row:#}");
        assert!(f(row, "itl_error_p50_ms").abs() < 2.0, "{row:#}");
        assert!(f(row, "events_per_s") > 0.0);
        assert!(f(row, "peak_rss_mb") > 1.0);
    }
    assert_eq!(rows[0]["concurrency"], 1);
    assert_eq!(rows[0]["requests"], 10, "at least 10 requests a point");
    assert_eq!(rows[1]["requests"], 40);
    assert_eq!(rows[2]["load"], "open");
    assert_eq!(rows[2]["requests"], 40);
    assert!(rows[2]["send_lag_p50_ms"].as_f64().is_some());
}

#[test]
fn the_truth_log_is_only_kept_when_asked_for() {
    let plain = SimProcess::start();
    let url = |port: u16| format!("http://127.0.0.1:{port}/sim/truth");
    let status = |port| {
        std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "-X",
                "POST",
                &url(port),
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
    };
    let Ok(code) = status(plain.port) else {
        eprintln!("skipped: no curl");
        return;
    };
    assert_eq!(code, "404");
    let keeping = SimProcess::start_with(&["--record-truth"]);
    assert_eq!(status(keeping.port).unwrap(), "200");
}

#[test]
fn bad_calibration_arguments_exit_2() {
    for args in [
        &["calibrate", "--concurrency", "0"][..],
        &["calibrate", "--rate", "-5"][..],
        &["calibrate", "--tokens", "0"][..],
    ] {
        let out = bin().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("error:"));
    }
}
