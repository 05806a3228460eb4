//! One launched server process: spawn in its own process group, wait until
//! it answers, stop it (TERM to the group, KILL after a grace period).

use super::log::{LogCopy, LOG_CAP};
use crate::redact::Secrets;
use crate::side_request::{self, Bounds};
use anyhow::Context as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One readiness probe: a few seconds, and a body of the size of what
/// `ready` paths answer (`/health`, or `/v1/models` and `/props`, whose
/// chat template can be tens of KB).
const PROBE: Bounds = Bounds {
    timeout: Duration::from_secs(2),
    cap: 4 << 20,
};
/// Bytes read from a log's end for its tail (a server log can be GBs).
const TAIL_BYTES: u64 = 64 << 10;
/// Characters kept of one line of a log's tail.
const TAIL_LINE_CHARS: usize = 500;

pub struct ServerProcess {
    child: Child,
    pub pid: u32,
    pub log: PathBuf,
    copy: LogCopy,
    grace: Duration,
    exit: Option<String>,
}

/// How long the log's copy may take to catch up once the server is gone.
const LOG_CATCH_UP: Duration = Duration::from_secs(2);

impl ServerProcess {
    /// Start `argv` with stdout and stderr copied to `log`, scrubbed of
    /// `secrets`.
    pub fn spawn(
        argv: &[String],
        env: &[(String, String)],
        log: &Path,
        grace: Duration,
        secrets: &Secrets,
    ) -> anyhow::Result<Self> {
        let (program, args) = argv.split_first().context("the server command is empty")?;
        // A new file only: a link planted at the log's name is never
        // followed (the name is chosen free of links too).
        let out = File::options()
            .write(true)
            .create_new(true)
            .open(log)
            .with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: stopping it reaches the workers it forks
        // (vLLM does), and a Ctrl-C in our terminal reaches it only through us.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        // If infer-bench dies without stopping it (SIGKILL, OOM), the kernel
        // sends the server SIGTERM. The signal follows the spawning thread, a
        // tokio worker that lives as long as the run.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe, as pre_exec requires.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting server '{program}'"))?;
        let mut streams: Vec<Box<dyn std::io::Read + Send>> = Vec::new();
        if let Some(o) = child.stdout.take() {
            streams.push(Box::new(o));
        }
        if let Some(e) = child.stderr.take() {
            streams.push(Box::new(e));
        }
        Ok(Self {
            pid: child.id(),
            child,
            log: log.to_path_buf(),
            copy: LogCopy::start(out, streams, secrets.clone(), LOG_CAP),
            grace,
            exit: None,
        })
    }

    /// The exit status, if the process has ended.
    pub fn exited(&mut self) -> Option<String> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status.to_string());
            }
        }
        self.exit.clone()
    }

    /// Poll `url` until it answers 200; fail early, with the log's tail
    /// (scrubbed of `secrets`), if the process exits. Returns the time it took.
    pub async fn wait_ready(
        &mut self,
        http: &reqwest::Client,
        url: &str,
        timeout: Duration,
        secrets: &Secrets,
    ) -> anyhow::Result<Duration> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.exited() {
                anyhow::bail!(
                    "the server exited ({status}) before it was ready; its log ends:\n{}",
                    self.tail(secrets)
                );
            }
            let last = match side_request::get(http, url, PROBE).await {
                Ok(a) if a.ok() => return Ok(start.elapsed()),
                Ok(a) => format!("HTTP {}", a.status),
                Err(e) => e.to_string(),
            };
            if start.elapsed() > timeout {
                let mut last = last;
                secrets.scrub(&mut last);
                anyhow::bail!(
                    "the server did not answer {} within {}s (last probe: {last}); its log ends:\n{}",
                    crate::redact::url(url),
                    timeout.as_secs(),
                    self.tail(secrets)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// TERM the process group, KILL what is left of it after the grace
    /// period (or at once once the leader is gone, for stray workers).
    /// Returns how the leader ended.
    pub fn stop(&mut self) -> String {
        let group = -(self.pid as i32);
        if self.exited().is_none() {
            // SAFETY: kill(2) with a negative pid signals our own child's group.
            unsafe { libc::kill(group, libc::SIGTERM) };
            let deadline = Instant::now() + self.grace;
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // SAFETY: as above; the group is gone already when this fails (ESRCH).
        unsafe { libc::kill(group, libc::SIGKILL) };
        if self.exited().is_none() {
            let _ = self.child.wait();
            self.exit = Some(format!("killed after {}s grace", self.grace.as_secs_f64()));
        }
        self.copy.finish(LOG_CATCH_UP);
        self.exit.clone().unwrap_or_default()
    }

    /// The last lines of the log, once what the server printed before it
    /// ended is in it.
    pub fn tail(&mut self, secrets: &Secrets) -> String {
        if self.exited().is_some() {
            self.copy.finish(LOG_CATCH_UP);
        }
        log_tail(&self.log, 15, secrets)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last `n` lines of a log file, as they may be shown or stored: read
/// from its last [`TAIL_BYTES`] only, scrubbed of `secrets` (before any
/// cut), each line cut to [`TAIL_LINE_CHARS`].
pub fn log_tail(path: &Path, n: usize, secrets: &Secrets) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut bytes = Vec::new();
    let mut from_middle = false;
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map_or(0, |m| m.len());
        from_middle = len > TAIL_BYTES;
        if f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
            .is_ok()
        {
            let _ = f.take(TAIL_BYTES).read_to_end(&mut bytes);
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    // A line begun before the bytes read is partial: a secret's tail in
    // it would escape the scrub.
    let skip = usize::from(from_middle);
    let lines: Vec<&str> = text.lines().skip(skip).collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|line| {
            let mut line = line.to_string();
            secrets.scrub(&mut line);
            crate::redact::truncate(&mut line, TAIL_LINE_CHARS);
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A port that was free a moment ago.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_tail_is_read_from_the_end_scrubbed_and_cut() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        let mut text = "sk-old-secret-1 ".repeat(1 << 20);
        text.push('\n');
        for i in 0..20 {
            text.push_str(&format!("line {i} --api-key sk-old-secret-1\n"));
        }
        text.push_str(&"z".repeat(10_000));
        std::fs::write(&log, text).unwrap();
        let mut secrets = Secrets::default();
        secrets.add_command(&["x".into(), "--api-key".into(), "sk-old-secret-1".into()]);
        let tail = log_tail(&log, 3, &secrets);
        let want = format!(
            "line 18 --api-key ***\nline 19 --api-key ***\n{}…",
            "z".repeat(TAIL_LINE_CHARS)
        );
        assert_eq!(tail, want);
    }

    #[test]
    fn a_log_shorter_than_the_bytes_read_keeps_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("server.log");
        std::fs::write(&log, "first\nsecond\n").unwrap();
        assert_eq!(log_tail(&log, 15, &Secrets::default()), "first\nsecond");
        assert_eq!(
            log_tail(&dir.path().join("none"), 15, &Secrets::default()),
            ""
        );
    }
}
