//! What a launched engine says of its version where it serves none over
//! HTTP (llama-cpp-python serves its own but not the llama.cpp it bundles):
//! `server.version_command`, run once per launch. Its stdout is a channel
//! like any answer: bounded in time and size, and scrubbed of the run's
//! secrets before the manifest keeps it.

use crate::redact::Secrets;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

/// The command's time to answer: a version query, not a server.
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(15);
/// Bytes of its stdout read; the rest is never read.
pub const VERSION_CAP: usize = 4 << 10;
/// Characters the manifest keeps of it.
const VERSION_CHARS: usize = 500;

/// The command's stdout, trimmed and scrubbed; the reason it gave none
/// (not started, timed out, exited with an error, printed nothing).
pub async fn version_of(
    argv: &[String],
    env: &[(String, String)],
    secrets: &Secrets,
    within: Duration,
) -> Result<String, String> {
    let (program, args) = argv.split_first().ok_or("the command is empty")?;
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start '{program}': {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut bytes = Vec::new();
    let mut capped = stdout.take(VERSION_CAP as u64);
    let read = capped.read_to_end(&mut bytes);
    match tokio::time::timeout(within, read).await {
        Err(_) => return Err(format!("no answer within {within:?}")),
        Ok(Err(e)) => return Err(format!("reading its output: {e}")),
        Ok(Ok(_)) => {}
    }
    // Past the cap, or done: what it has not said is not waited for.
    let status = match tokio::time::timeout(Duration::from_secs(1), child.wait()).await {
        Ok(Ok(s)) => Some(s),
        _ => None,
    };
    if let Some(s) = status.filter(|s| !s.success()) {
        return Err(format!("it exited with {s}"));
    }
    let mut text = String::from_utf8_lossy(&bytes).trim().to_string();
    secrets.scrub(&mut text);
    crate::redact::truncate(&mut text, VERSION_CHARS);
    if text.is_empty() {
        return Err("it printed nothing".into());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn the_answer_is_trimmed_scrubbed_and_bounded() {
        let mut secrets = Secrets::default();
        secrets.add("sk-version-0123");
        let got = version_of(
            &sh("echo ' engine 1.2 sk-version-0123 '"),
            &[],
            &secrets,
            VERSION_TIMEOUT,
        )
        .await;
        assert_eq!(got.as_deref(), Ok("engine 1.2 ***"));
        // Endless output: the cap is read, the rest never.
        let got = version_of(&sh("yes 0123456789"), &[], &secrets, VERSION_TIMEOUT)
            .await
            .unwrap();
        assert!(got.chars().count() <= VERSION_CHARS + 3, "{}", got.len());
        assert!(got.starts_with("0123456789\n0123456789"), "{got}");
    }

    #[tokio::test]
    async fn failures_say_why() {
        let none = Secrets::default();
        let why = version_of(&sh("echo x; exit 3"), &[], &none, VERSION_TIMEOUT).await;
        assert!(why.unwrap_err().contains("exit status: 3"));
        let why = version_of(&sh("true"), &[], &none, VERSION_TIMEOUT).await;
        assert_eq!(why.unwrap_err(), "it printed nothing");
        let slow = Duration::from_millis(300);
        let why = version_of(&sh("sleep 30"), &[], &none, slow).await;
        assert_eq!(why.unwrap_err(), "no answer within 300ms");
        let why = version_of(&["/no/such/program".into()], &[], &none, VERSION_TIMEOUT).await;
        assert!(why
            .unwrap_err()
            .starts_with("cannot start '/no/such/program'"));
    }
}
