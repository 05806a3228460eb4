//! Servers launched per configuration: started when a configuration needs a
//! command line that is not running, kept across trials while it stays the
//! same, restarted when it changes, stopped at the end (and on error or
//! Ctrl-C, by dropping the manager).

mod fingerprint;
mod log;
mod process;
mod version;

use fingerprint::{kept, ANSWER_CAP, MODELS_FIELDS, PROPS_FIELDS};
pub use fingerprint::{model_file, redact, Fingerprint, ModelFile};
pub use process::{free_port, ServerProcess};

use crate::endpoint::{endpoint, Under};
use crate::experiment::ServerSpec;
use crate::plan::Configuration;
use crate::prompts::template;
use crate::redact::Secrets;
use crate::side_request::{self, Bounds, SideError};
use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One launch, as the manifest records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Launch {
    pub index: usize,
    /// The command with secrets redacted.
    pub command: String,
    pub port: u16,
    pub pid: u32,
    /// Configurations served, in the order they ran.
    pub configurations: Vec<String>,
    pub started_at: String,
    pub ready_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<String>,
    /// Log file, relative to the run folder.
    pub log: String,
    pub fingerprint: Fingerprint,
}

struct Running {
    key: String,
    process: ServerProcess,
    base_url: String,
}

pub struct ServerManager {
    spec: ServerSpec,
    base_url_template: String,
    experiment_dir: PathBuf,
    run_dir: PathBuf,
    http: reqwest::Client,
    current: Option<Running>,
    pub launches: Vec<Launch>,
    hashed: HashMap<PathBuf, ModelFile>,
    /// What the server's answers and log are scrubbed of before they are
    /// kept or shown: the run's client secrets and each launch command's.
    secrets: Secrets,
}

/// How long a `/props` or `/v1/models` read may take: the server has just
/// said it is ready, so a slow answer is a broken one.
const FINGERPRINT_TIMEOUT: Duration = Duration::from_secs(5);

impl ServerManager {
    pub fn new(
        spec: ServerSpec,
        base_url: Option<String>,
        experiment_dir: &Path,
        run_dir: &Path,
        secrets: Secrets,
        http: reqwest::Client,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            spec,
            base_url_template: base_url.unwrap_or_else(|| "http://127.0.0.1:{{ port }}/v1".into()),
            experiment_dir: experiment_dir.to_path_buf(),
            run_dir: run_dir.to_path_buf(),
            http,
            current: None,
            launches: Vec::new(),
            hashed: HashMap::new(),
            secrets,
        })
    }

    fn context(&self, config: &Configuration, port: Option<u16>) -> template::Context {
        let mut ctx = template::factor_context(&config.values);
        let port = port.map_or_else(|| minijinja::Value::from("<port>"), minijinja::Value::from);
        ctx.insert("port".into(), port);
        ctx.insert(
            "experiment_dir".into(),
            minijinja::Value::from(self.experiment_dir.display().to_string()),
        );
        ctx
    }

    /// Pid of the running server (its process group id too).
    pub fn pid(&self) -> Option<u32> {
        self.current.as_ref().map(|r| r.process.pid)
    }

    /// Make sure the server `config` needs is running; returns its base URL
    /// and whether it was (re)started.
    pub async fn ensure(&mut self, config: &Configuration) -> anyhow::Result<(String, bool)> {
        // The command with the port left symbolic decides whether the running
        // server can serve this configuration.
        let key = render(&self.context(config, None), &self.spec.command)?;
        if let Some(base_url) = self.reuse(&key, config) {
            return Ok((base_url, false));
        }
        self.stop();
        let base_url = self.launch(config, key).await?;
        Ok((base_url, true))
    }

    /// The running server's base URL if it runs the command `key` and is
    /// alive; the configuration joins its launch.
    fn reuse(&mut self, key: &str, config: &Configuration) -> Option<String> {
        let r = self.current.as_mut()?;
        if r.key != key || r.process.exited().is_some() {
            return None;
        }
        if let Some(l) = self.launches.last_mut() {
            if l.configurations.last() != Some(&config.label) {
                l.configurations.push(config.label.clone());
            }
        }
        Some(r.base_url.clone())
    }

    /// Start the server for `config`, wait until it is ready, and record the
    /// launch; returns its base URL.
    async fn launch(&mut self, config: &Configuration, key: String) -> anyhow::Result<String> {
        let port = match self.spec.port {
            Some(p) => p,
            None => free_port()?,
        };
        let ctx = self.context(config, Some(port));
        let argv = self.argv(&ctx, &self.spec.command.clone(), "server command")?;
        // Split before the server starts: its secrets are then hidden in the
        // server's log from its first line.
        let version_argv = match self.spec.version_command.clone() {
            Some(t) => Some(self.argv(&ctx, &t, "version command")?),
            None => None,
        };
        let base_url = render(&ctx, &self.base_url_template)?;
        let index = self.launches.len();
        let log_name = self.unused_log_name(index);
        let mut process = self.spawn(&argv, &log_name)?;
        let started_at = crate::clock::now_rfc3339();
        let ready = process
            .wait_ready(
                &self.http,
                &endpoint(&base_url, Under::Root, &self.spec.ready),
                self.spec.ready_timeout.0,
                &self.secrets,
            )
            .await
            .with_context(|| {
                format!(
                    "launching the server for {}: {}",
                    config.label,
                    redact(&argv)
                )
            })?;
        let mut fingerprint = self.read_fingerprint(&ctx, &base_url).await?;
        if let Some(v) = version_argv {
            fingerprint.version = self.version(&v).await;
        }
        self.launches.push(Launch {
            index,
            command: redact(&argv),
            port,
            pid: process.pid,
            configurations: vec![config.label.clone()],
            started_at,
            ready_s: ready.as_secs_f64(),
            stopped_at: None,
            exit: None,
            log: log_name,
            fingerprint,
        });
        self.current = Some(Running {
            key,
            process,
            base_url: base_url.clone(),
        });
        Ok(base_url)
    }

    /// `server-NN.log` for launch `index`, or the next number free: a resumed
    /// run folder already holds earlier sessions' logs, never overwrite one.
    fn unused_log_name(&self, index: usize) -> String {
        let mut n = index;
        // `symlink_metadata`, not `exists`: a dangling link is a taken name.
        while self
            .run_dir
            .join(format!("server-{n:02}.log"))
            .symlink_metadata()
            .is_ok()
        {
            n += 1;
        }
        format!("server-{n:02}.log")
    }

    fn spawn(&self, argv: &[String], log_name: &str) -> anyhow::Result<ServerProcess> {
        let env: Vec<(String, String)> = self
            .spec
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        ServerProcess::spawn(
            argv,
            &env,
            &self.run_dir.join(log_name),
            self.spec.stop_grace.0,
            &self.secrets,
        )
    }

    /// What the ready server says of itself, and the model file's hash
    /// (hashed once per path and run).
    async fn read_fingerprint(
        &mut self,
        ctx: &template::Context,
        base_url: &str,
    ) -> anyhow::Result<Fingerprint> {
        let props = self
            .get_json(&endpoint(base_url, Under::Root, "/props"))
            .await;
        let models = self
            .get_json(&endpoint(base_url, Under::Base, "/models"))
            .await;
        let openapi = self
            .get_json(&endpoint(base_url, Under::Root, "/openapi.json"))
            .await;
        let mut fingerprint = Fingerprint {
            props: props.map(|v| kept(v, PROPS_FIELDS, &self.secrets)),
            models: models.map(|v| kept(v, MODELS_FIELDS, &self.secrets)),
            model_file: None,
            engine: openapi.and_then(|v| fingerprint::engine_of(&v, &self.secrets)),
            version: None,
        };
        if let Some(t) = &self.spec.model_path {
            let path = PathBuf::from(render(ctx, t)?);
            fingerprint.model_file = Some(match self.hashed.get(&path) {
                Some(m) => m.clone(),
                None => {
                    let m = model_file(&path)
                        .with_context(|| format!("hashing model file {}", path.display()))?;
                    self.hashed.insert(path, m.clone());
                    m
                }
            });
        }
        Ok(fingerprint)
    }

    /// What `server.version_command` prints; a warning where it fails.
    async fn version(&self, argv: &[String]) -> Option<String> {
        let env: Vec<(String, String)> = self.spec.env.clone().into_iter().collect();
        match version::version_of(argv, &env, &self.secrets, version::VERSION_TIMEOUT).await {
            Ok(v) => Some(v),
            Err(why) => {
                let mut said = format!(
                    "warning: server.version_command ({}): {why}; the fingerprint goes without it",
                    redact(argv)
                );
                self.secrets.scrub(&mut said);
                crate::error::warn(said);
                None
            }
        }
    }

    /// A JSON answer for the fingerprint; none where the server has no such
    /// endpoint, and a warning where it answers too slowly or too much.
    async fn get_json(&self, url: &str) -> Option<serde_json::Value> {
        let bounds = Bounds {
            timeout: FINGERPRINT_TIMEOUT,
            cap: ANSWER_CAP,
        };
        match side_request::get(&self.http, url, bounds).await {
            Ok(a) if a.ok() => serde_json::from_slice(&a.body).ok(),
            Ok(_) | Err(SideError::Transport { .. }) => None,
            Err(e) => {
                let mut why = e.to_string();
                self.secrets.scrub(&mut why);
                crate::error::warn(format!(
                    "warning: {why}; the server's fingerprint goes without it"
                ));
                None
            }
        }
    }

    /// What the server's answers are scrubbed of: the run's secrets and
    /// those of every command launched so far.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The running server's fingerprint.
    pub fn fingerprint(&self) -> Option<&Fingerprint> {
        self.current
            .as_ref()
            .and(self.launches.last())
            .map(|l| &l.fingerprint)
    }

    /// Stop the running server, if any.
    pub fn stop(&mut self) {
        if let Some(mut r) = self.current.take() {
            let exit = r.process.stop();
            if let Some(l) = self.launches.last_mut() {
                l.stopped_at = Some(crate::clock::now_rfc3339());
                l.exit = Some(exit);
            }
        }
    }

    /// The server died during a trial: say so with its log.
    pub fn died(&mut self) -> Option<String> {
        let r = self.current.as_mut()?;
        let status = r.process.exited()?;
        Some(format!(
            "the server exited ({status}); its log ends:\n{}",
            r.process.tail(&self.secrets)
        ))
    }
}

impl ServerManager {
    /// A command template rendered and split into words as a shell would;
    /// its secrets join those every output is scrubbed of.
    fn argv(
        &mut self,
        ctx: &template::Context,
        t: &str,
        what: &str,
    ) -> anyhow::Result<Vec<String>> {
        let command = render(ctx, t)?;
        let argv = shlex::split(&command).with_context(|| {
            format!(
                "cannot split the {what}: {}",
                redact(std::slice::from_ref(&command))
            )
        })?;
        self.secrets.add_command(&argv);
        Ok(argv)
    }
}

fn render(ctx: &template::Context, t: &str) -> anyhow::Result<String> {
    template::render(t, ctx).map_err(anyhow::Error::msg)
}

impl Drop for ServerManager {
    fn drop(&mut self) {
        self.stop();
    }
}
