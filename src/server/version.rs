//! What a launched engine says of its version where it serves none over
//! HTTP (llama-cpp-python serves its own but not the llama.cpp it bundles):
//! `server.version_command`, run once per launch. Its output is a channel
//! like any answer: bounded in time and size, its process group killed
//! when done, and scrubbed of the run's secrets before the manifest keeps
//! it.

use crate::redact::Secrets;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _};

/// The command's time to answer: a version query, not a server.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes read of its stdout, and of its stderr; the rest is never read.
pub const VERSION_CAP: usize = 4 << 10;
/// Characters the manifest keeps of it.
const VERSION_CHARS: usize = 500;

/// What the command printed (stdout, or stderr where stdout is empty, as
/// `llama-server --version` prints), trimmed and scrubbed; or why it gave
/// nothing (not started, exited with an error, printed nothing whole).
pub async fn version_of(
    argv: &[String],
    env: &[(String, String)],
    secrets: &Secrets,
    within: Duration,
) -> Result<String, String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own group, so that what it forks is killed with it.
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start '{program}': {e}"))?;
    let group = child.id();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
    let read = async { tokio::join!(capped(stdout, &mut out), capped(stderr, &mut err)) };
    // Past the time, what was read is kept but for a line it did not end.
    let read = tokio::time::timeout(within, read).await;
    let in_time = read.is_ok();
    let whole = read.is_ok_and(|(o, e)| o && e);
    let status = tokio::time::timeout(Duration::from_secs(1), child.wait()).await;
    if let Some(pid) = group.and_then(|p| i32::try_from(p).ok()) {
        // SAFETY: killpg only sends a signal; the group is the command's
        // own (process_group(0)), and a group with no member left is ESRCH.
        unsafe { libc::killpg(pid, libc::SIGKILL) };
    }
    // Its exit counts where it said all it had to say (past the cap, its
    // pipe was closed on it).
    if let (true, Ok(Ok(s))) = (whole, &status) {
        if !s.success() {
            return Err(format!("it exited with {s}"));
        }
    }
    let said = if out.iter().any(|b| !b.is_ascii_whitespace()) {
        out
    } else {
        err
    };
    let text = whole_lines(said, in_time);
    let mut text = String::from_utf8_lossy(&text).trim().to_string();
    secrets.scrub(&mut text);
    crate::redact::truncate(&mut text, VERSION_CHARS);
    match text.is_empty() {
        true if !in_time => Err(format!("no answer within {within:?}")),
        true => Err("it printed nothing".into()),
        false => Ok(text),
    }
}

/// At most [`VERSION_CAP`] bytes of `stream` into `buf`; whether it ended
/// there.
async fn capped(stream: Option<impl AsyncRead + Unpin>, buf: &mut Vec<u8>) -> bool {
    let Some(s) = stream else { return true };
    let mut s = s.take(VERSION_CAP as u64);
    s.read_to_end(buf).await.is_ok() && buf.len() < VERSION_CAP
}

/// The output without a last line it did not end (cut by the cap or the
/// time): a secret cut in two would no longer be recognised, and kept.
fn whole_lines(mut bytes: Vec<u8>, ended: bool) -> Vec<u8> {
    if !ended || bytes.len() >= VERSION_CAP {
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(end);
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    async fn version(script: &str, secrets: &Secrets, within: Duration) -> Result<String, String> {
        version_of(&sh(script), &[], secrets, within).await
    }

    #[tokio::test]
    async fn the_answer_is_trimmed_scrubbed_and_bounded() {
        let mut secrets = Secrets::default();
        secrets.add("sk-version-0123");
        let got = version(
            "echo ' engine 1.2 sk-version-0123 '",
            &secrets,
            VERSION_TIMEOUT,
        )
        .await;
        assert_eq!(got.as_deref(), Ok("engine 1.2 ***"));
        // Endless output: the cap is read, the rest never.
        let got = version("yes 0123456789", &secrets, VERSION_TIMEOUT)
            .await
            .unwrap();
        assert!(got.chars().count() <= VERSION_CHARS + 1, "{}", got.len());
        assert!(got.starts_with("0123456789\n0123456789"), "{got}");
        // A secret cut in two by the cap is not kept in part.
        let split = format!("printf '%{}s' ''; echo sk-version-0123", VERSION_CAP - 6);
        let got = version(&split, &secrets, VERSION_TIMEOUT).await;
        assert_eq!(got.unwrap_err(), "it printed nothing");
        // What only stderr says (llama-server --version) is the answer.
        let got = version("echo 'version: 6000 (abc)' >&2", &secrets, VERSION_TIMEOUT).await;
        assert_eq!(got.as_deref(), Ok("version: 6000 (abc)"));
    }

    #[tokio::test]
    async fn a_command_that_lingers_is_cut_off_and_its_group_killed() {
        let none = Secrets::default();
        let slow = Duration::from_millis(500);
        // A child that keeps stdout open past the time: the line already
        // printed is kept, and the child is killed with the group.
        let marker = tempfile::tempdir().unwrap();
        let pidfile = marker.path().join("pid");
        let script = format!("echo v1; sleep 30 & echo $! > {}; wait", pidfile.display());
        let started = std::time::Instant::now();
        let got = version(&script, &none, slow).await;
        assert_eq!(got.as_deref(), Ok("v1"));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Dead, or a zombie until its new parent reaps it.
        let alive = || {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                !s.rsplit(')')
                    .next()
                    .unwrap_or_default()
                    .trim_start()
                    .starts_with('Z')
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(), "the forked sleep ({pid}) outlived the command");
        let why = version("sleep 30", &none, slow).await;
        assert_eq!(why.unwrap_err(), "no answer within 500ms");
    }

    #[tokio::test]
    async fn failures_say_why() {
        let none = Secrets::default();
        let why = version("echo x; exit 3", &none, VERSION_TIMEOUT).await;
        assert!(why.unwrap_err().contains("exit status: 3"));
        let why = version("true", &none, VERSION_TIMEOUT).await;
        assert_eq!(why.unwrap_err(), "it printed nothing");
        let none_such = ["/no/such/program".to_string()];
        let why = version_of(&none_such, &[], &none, VERSION_TIMEOUT).await;
        assert!(why
            .unwrap_err()
            .starts_with("cannot start '/no/such/program'"));
    }
}
