//! The HTML reports on real run folders: self-contained (no script, nothing
//! fetched), every chart present, untrusted text escaped, and rendered by a
//! real headless Chromium into a non-blank screenshot whose DOM holds the
//! expected titles. `compare` and `history` write their pages too.
//!
//! Chromium comes from Debian's `chromium` package (`.ci/run` installs it);
//! without it the browser part is skipped, unless INFER_BENCH_REQUIRE_CHROMIUM
//! is set (CI sets it), where it fails.

mod common;

use common::{bin, experiment, repo, run, single_run};
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let found = std::env::var_os("INFER_BENCH_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| {
            candidates.iter().find_map(|c| {
                let out = Command::new("which").arg(c).output().ok()?;
                out.status
                    .success()
                    .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("INFER_BENCH_REQUIRE_CHROMIUM").is_none(),
            "chromium missing: apt-get install chromium"
        );
        eprintln!("skipped: no chromium to render the report with");
    }
    found
}

/// Headless Chromium with the flags a closed, sandboxed machine needs.
fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut c = Command::new(chromium);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Share of pixels that are not (near) white, and whether the chart blue is there.
fn ink(png_path: &Path) -> (f64, bool, (u32, u32)) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let (mut inked, mut blue, mut total) = (0usize, false, 0usize);
    for p in pixels.chunks(channels) {
        total += 1;
        let (r, g, b) = (p[0], p[1], p[2]);
        if r < 235 || g < 235 || b < 235 {
            inked += 1;
        }
        // The first series colour, #0072b2, allowing for antialiasing.
        if r < 30 && (100..130).contains(&g) && (160..200).contains(&b) {
            blue = true;
        }
    }
    (inked as f64 / total as f64, blue, (info.width, info.height))
}

#[test]
fn quickstart_report_renders_in_chromium_with_every_chart() {
    let out = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/quickstart.yaml");
    let (stdout, stderr) = run(out.path(), &exp, &["--requests", "4"], 0);
    assert!(stdout.contains("configuration"), "{stdout}");
    let dir = single_run(out.path(), "quickstart");
    let report = dir.join("report.html");
    assert!(
        stderr.contains(&report.display().to_string()),
        "run names its report: {stderr}"
    );
    let html = std::fs::read_to_string(&report).unwrap();

    // Self-contained: no script, no external stylesheet, image or font.
    assert!(!html.contains("<script"), "no scripts");
    for fetch in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(fetch), "fetches nothing: found {fetch}");
    }
    for title in [
        "Effect of concurrency",
        "Effect of input_tokens",
        "Throughput vs concurrency",
        "TTFT vs concurrency",
        "TTFT vs input length",
        "TTFT distribution",
        "E2E distribution",
        "Against the baseline",
        "Expectations",
        "Errors",
    ] {
        assert!(html.contains(title), "report has '{title}'");
    }

    let Some(chromium) = chromium() else { return };
    let profile = tempfile::tempdir().unwrap();
    let shot = out.path().join("report.png");
    let status = headless(&chromium, profile.path())
        .arg("--window-size=1280,2400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", report.display()))
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "chromium screenshot");
    let (inked, blue, size) = ink(&shot);
    assert_eq!(size, (1280, 2400));
    assert!(
        inked > 0.03,
        "the page is not blank: {:.1}% inked",
        inked * 100.0
    );
    assert!(blue, "the charts' series colour is on screen");

    let dom = headless(&chromium, profile.path())
        .arg("--dump-dom")
        .arg(format!("file://{}", report.display()))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(dom.status.success());
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<h1>quickstart</h1>"),
        "{}",
        &dom[..dom.len().min(500)]
    );
    for title in [
        "Throughput vs concurrency",
        "TTFT distribution",
        "Against the baseline",
    ] {
        assert!(dom.contains(title), "DOM has '{title}'");
    }
    let charts = dom.matches("<svg").count();
    assert!(charts >= 15, "{charts} charts in the DOM");
}

#[test]
fn compare_and_history_write_their_pages_from_real_runs() {
    let out = tempfile::tempdir().unwrap();
    let exp = repo().join("experiments/quickstart.yaml");
    for _ in 0..2 {
        run(
            out.path(),
            &exp,
            &["--requests", "3", "--repetitions", "2"],
            0,
        );
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out.path().join("quickstart"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2);
    let page = out.path().join("cmp.html");
    bin()
        .arg("compare")
        .args(&runs)
        .arg("--html")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("B against A") && html.contains("Change in output tok/s"));
    assert!(html.contains("<svg") && !html.contains("<script"));

    let assert = bin()
        .arg("history")
        .arg(out.path().join("quickstart"))
        .args(["--metric", "ttft_p50_ms"])
        .assert()
        .success();
    let table = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    for r in &runs {
        let id = r.file_name().unwrap().to_string_lossy().to_string();
        assert!(table.contains(&id), "history lists {id}: {table}");
    }
    let html = std::fs::read_to_string(out.path().join("quickstart/history.html")).unwrap();
    assert!(html.contains("TTFT p50 ms across runs"));
    bin()
        .arg("history")
        .arg(out.path().join("quickstart"))
        .args(["--metric", "nope"])
        .assert()
        .code(2);
}

#[test]
fn untrusted_text_is_escaped_in_every_report() {
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "hostile.yaml",
        r#"
name: hostile
description: "<script>alert('description')</script> & <b>bold</b>"
target: {builtin: sim, model: "sim-<img src=x onerror=alert(1)>{{ tag }}"}
prompts: "{prompts}"
baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4, tag: "<b>x</b>"}
factors: {tag: ["<b>x</b>", "<i>y</i>"]}
repetitions: 2
warmup: {requests: 0}
trial: {requests: 2}
"#,
    );
    run(out.path(), &exp, &["--format", "json"], 0);
    let dir = single_run(out.path(), "hostile");
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(!html.contains("<script>alert"), "description escaped");
    assert!(!html.contains("<img src=x"), "model name escaped");
    assert!(
        !html.contains("<i>y</i>") && html.contains("tag=&lt;i&gt;y&lt;/i&gt;"),
        "levels escaped"
    );
    // Markdown renders inline HTML, so report.md escapes it too.
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(
        !md.contains("<i>y</i>") && md.contains("tag=&lt;i&gt;y&lt;/i&gt;"),
        "{md}"
    );
    assert!(html.contains(
        "&lt;script&gt;alert(&#39;description&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
    ));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["schema_version"], 1);
    assert_eq!(json["configurations"].as_array().unwrap().len(), 2);
    // The document has the fields its committed schema names, and the
    // configurations theirs.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("schemas/summary.schema.json")).unwrap(),
    )
    .unwrap();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    // Every field is one the schema names, and every field it requires is
    // there (a capacity search's rows only in a capacity run).
    let named = keys(&schema["properties"]);
    assert!(
        keys(&json).iter().all(|k| named.contains(k)),
        "{:?}",
        keys(&json)
    );
    for required in schema["required"].as_array().unwrap() {
        assert!(json.get(required.as_str().unwrap()).is_some(), "{required}");
    }
    assert!(!schema["required"]
        .as_array()
        .unwrap()
        .contains(&"capacity".into()));
    assert_eq!(
        keys(&json["configurations"][0]),
        keys(&schema["$defs"]["ConfigSummary"]["properties"])
    );
}

#[test]
fn the_design_box_names_the_design_and_the_protocol_the_run_followed() {
    let out = tempfile::tempdir().unwrap();
    let body = "target: {builtin: sim, model: m, sim: {jitter: 0}}\nprompts: \"{prompts}\"\n\
                baseline: {concurrency: 1, input_tokens: 20, output_tokens: 4}\n\
                factors: {concurrency: [1, 2]}\nrepetitions: 3\nwarmup: {requests: 0}\ntrial: {requests: 4}\n";
    for (name, design) in [("ofat", "ofat"), ("crossed", "factorial")] {
        let text = format!("name: {name}\ndesign: {design}\n{body}");
        let exp = experiment(out.path(), &format!("{name}.yaml"), &text);
        run(
            out.path(),
            &exp,
            &["--repetitions", "2", "--requests", "2"],
            0,
        );
        let html =
            std::fs::read_to_string(single_run(out.path(), name).join("report.html")).unwrap();
        let (title, other) = match design {
            "ofat" => ("Factors, one at a time", "every combination"),
            _ => ("Factors, every combination (factorial)", "one at a time"),
        };
        assert!(html.contains(title) && !html.contains(other), "{name}");
        assert!(
            html.contains("2 (--repetitions; the file says 3)"),
            "{name}: the repetitions run, not the file's"
        );
        assert!(
            html.contains(":2}") && html.contains("(--requests; the file says 4)"),
            "{name}: the requests run"
        );
    }
}

/// Each chart's title and the values of its y axis's ticks, read from the SVG.
fn y_axes(html: &str) -> Vec<(String, Vec<f64>)> {
    html.split("<svg")
        .skip(1)
        .map(|svg| {
            let svg = &svg[..svg.find("</svg>").unwrap()];
            let title = svg
                .split("<title>")
                .nth(1)
                .unwrap()
                .split("</title>")
                .next();
            let ticks = svg
                .split("<text class=\"tick\"")
                .skip(1)
                // The y axis's ticks end at the axis; the x axis's are centred or turned.
                .filter(|t| {
                    let head = &t[..t.find('>').unwrap()];
                    head.contains("text-anchor=\"end\"") && !head.contains("transform")
                })
                .map(|t| {
                    let text = &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()];
                    text.replace('−', "-").parse::<f64>().unwrap()
                })
                .collect();
            (title.unwrap().to_string(), ticks)
        })
        .collect()
}

/// The boxes of every chart's x-axis labels as the browser lays them out:
/// a copy of the page that measures them (the page itself runs no script)
/// and writes them into the DOM it dumps. Per chart, (left, top, right, bottom).
fn label_boxes(chromium: &Path, page: &Path) -> Vec<Vec<[f64; 4]>> {
    let html = std::fs::read_to_string(page).unwrap();
    let csp_at = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .unwrap();
    let csp_end = csp_at + html[csp_at..].find('>').unwrap() + 1;
    let script = "<script>\
        const out = [...document.querySelectorAll('svg.chart')].map(svg => \
          [...svg.querySelectorAll('text.tick')].filter(t => \
            t.getAttribute('text-anchor') === 'middle' || t.hasAttribute('transform')) \
          .map(t => { const b = t.getBoundingClientRect(); \
            return [b.left, b.top, b.right, b.bottom].map(v => v.toFixed(2)).join(','); }).join(';'));\
        const pre = document.createElement('pre'); pre.id = 'boxes'; \
        pre.textContent = out.join('|'); document.body.appendChild(pre);\
        </script>";
    let measured = format!("{}{}", &html[..csp_at], &html[csp_end..])
        .replace("</body>", &format!("{script}</body>"));
    let copy = page.with_extension("measured.html");
    std::fs::write(&copy, measured).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let dom = headless(chromium, profile.path())
        .args(["--window-size=1280,2400", "--dump-dom"])
        .arg(format!("file://{}", copy.display()))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(dom.status.success());
    let dom = String::from_utf8_lossy(&dom.stdout);
    let boxes = dom
        .split("<pre id=\"boxes\">")
        .nth(1)
        .and_then(|b| b.split("</pre>").next())
        .unwrap_or_else(|| {
            panic!(
                "the measuring script ran: {}",
                &dom[dom.len().saturating_sub(500)..]
            )
        });
    boxes
        .split('|')
        .map(|chart| {
            chart
                .split(';')
                .filter(|b| !b.is_empty())
                .map(|b| {
                    let v: Vec<f64> = b.split(',').map(|v| v.parse().unwrap()).collect();
                    [v[0], v[1], v[2], v[3]]
                })
                .collect()
        })
        .collect()
}

#[test]
fn compare_labels_do_not_overlap_and_no_axis_of_a_non_negative_metric_goes_below_zero() {
    let out = tempfile::tempdir().unwrap();
    let exp = experiment(
        out.path(),
        "long.yaml",
        "name: long\nseed: 5\ntarget: {builtin: sim, model: \"m-{{ deployment }}\"}\nprompts: \"{prompts}\"\n\
         baseline: {deployment: replica-set-alpha-in-region-one, concurrency: 1, input_tokens: 20, output_tokens: 4}\n\
         factors:\n  deployment: [replica-set-alpha-in-region-one, replica-set-bravo-in-region-two, replica-set-charlie-in-region-three]\n  \
         concurrency: [1, 2]\nrepetitions: 2\nwarmup: {requests: 0}\ntrial: {requests: 3}\n",
    );
    for _ in 0..2 {
        run(out.path(), &exp, &[], 0);
    }
    let mut runs: Vec<PathBuf> = std::fs::read_dir(out.path().join("long"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    // An OFAT slice says where it holds the other factors.
    let report = std::fs::read_to_string(runs[0].join("report.html")).unwrap();
    assert!(
        report.contains("Others at baseline: concurrency=1.")
            && report.contains("Others at baseline: deployment=replica-set-alpha-in-region-one."),
        "the slices say what they hold fixed"
    );
    assert!(report.contains(
        "Each chart varies its own factor, the others at baseline: \
         deployment=replica-set-alpha-in-region-one, concurrency=1."
    ));
    let page = out.path().join("cmp.html");
    bin()
        .arg("compare")
        .args(&runs)
        .arg("--html")
        .arg(&page)
        .assert()
        .success();
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("rotate(-90 "), "long labels are turned");

    for (title, ticks) in y_axes(&html).iter().chain(&y_axes(&report)) {
        assert!(ticks.len() > 1, "{title}: an axis with ticks");
        // A relative change may fall; every other metric charted here cannot.
        if !title.starts_with("Change in") {
            let lowest = ticks.iter().copied().fold(f64::INFINITY, f64::min);
            assert!(lowest >= 0.0, "{title}: the axis goes to {lowest}");
        }
    }

    let Some(chromium) = chromium() else { return };
    let charts = label_boxes(&chromium, &page);
    assert!(charts.len() >= 4, "{} charts measured", charts.len());
    for (i, boxes) in charts.iter().enumerate() {
        assert_eq!(boxes.len(), 4, "chart {i}: one label per configuration");
        for (k, a) in boxes.iter().enumerate() {
            assert!(a[2] > a[0] && a[3] > a[1], "chart {i}: a label is drawn");
            for b in &boxes[k + 1..] {
                let apart = a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1];
                assert!(apart, "chart {i}: labels {a:?} and {b:?} overlap");
            }
        }
    }
}
