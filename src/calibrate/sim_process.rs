//! The calibration sim, in a process of its own so that its work does not
//! run on the client's threads: `infer-bench sim --ttft-ms … --itl-ms …
//! --record-truth` on a free port of 127.0.0.1, stopped on drop.

use super::Truth;
use crate::side_request::{self, Bounds};
use anyhow::Context as _;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The truth log of one calibration point: our own sim, on this host, so
/// generous bounds (a point's requests, each with its gaps, are a few MB).
const TRUTH: Bounds = Bounds {
    timeout: Duration::from_secs(60),
    cap: 512 << 20,
};

pub struct SimProcess {
    child: Child,
    pub base_url: String,
    root: String,
    http: reqwest::Client,
}

impl SimProcess {
    pub fn start(ttft_ms: f64, itl_ms: f64) -> anyhow::Result<SimProcess> {
        let exe = std::env::current_exe().context("finding this program to run its sim")?;
        let mut child = Command::new(exe)
            .args(["sim", "--port", "0", "--record-truth"])
            .args(["--ttft-ms", &ttft_ms.to_string()])
            .args(["--itl-ms", &itl_ms.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting the calibration sim")?;
        let stderr = child.stderr.take().context("the sim's stderr")?;
        let mut lines = BufReader::new(stderr).lines();
        // The sim names its address once listening: `… listening on http://…/v1`.
        let mut seen = Vec::new();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => match line.split_once("listening on ") {
                    Some((_, url)) => break url.trim().to_string(),
                    None => seen.push(line),
                },
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    anyhow::bail!(
                        "the calibration sim ended before listening: {}",
                        seen.join("; ")
                    );
                }
            }
        };
        // Keep draining its stderr so a full pipe never blocks it.
        std::thread::spawn(move || for _ in lines {});
        let root = base_url.trim_end_matches("/v1").to_string();
        crate::tls::install_provider();
        Ok(SimProcess {
            child,
            base_url,
            root,
            http: reqwest::Client::new(),
        })
    }

    /// The sim's CPU time so far, in seconds.
    pub fn cpu_s(&self) -> Option<f64> {
        crate::monitor::cpu_s_of(self.child.id())
    }

    /// What the sim sent since the last call.
    pub async fn take_truth(&self) -> anyhow::Result<Vec<Truth>> {
        #[derive(serde::Deserialize)]
        struct Answer {
            requests: Vec<Truth>,
        }
        let url = format!("{}/sim/truth", self.root);
        let answer = side_request::send(self.http.post(&url), "POST", &url, TRUTH).await?;
        anyhow::ensure!(answer.ok(), "POST {url} answered HTTP {}", answer.status);
        let answer: Answer =
            serde_json::from_slice(&answer.body).context("reading the sim's truth log")?;
        Ok(answer.requests)
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
