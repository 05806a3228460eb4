//! The target for the run: a fixed URL, the in-process sim, or servers
//! launched per configuration; and the client that talks to it.

use crate::client::{Client, ClientConfig};
use crate::error::InputError;
use crate::experiment::LoadedExperiment;
use crate::monitor::{Gpu, Targets};
use crate::plan::Configuration;
use crate::server::{Launch, ServerManager};
use crate::sim::SimHandle;
use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

enum Backend {
    Fixed(String),
    Sim(SimHandle),
    Launched(Box<ServerManager>),
}

pub struct Session {
    backend: Backend,
    client: Option<(String, Arc<Client>)>,
    gpu: Option<Arc<Gpu>>,
    metric_prefixes: Vec<String>,
}

/// A configuration's connection: its client and whether its server was just (re)started.
pub struct Connection {
    pub client: Arc<Client>,
    pub base_url: String,
    pub restarted: bool,
}

impl Session {
    pub fn start(
        l: &LoadedExperiment,
        run_dir: &Path,
        gpu: Option<Arc<Gpu>>,
    ) -> anyhow::Result<Session> {
        let t = &l.experiment.target;
        let backend = match (&t.builtin, &t.server, &t.base_url) {
            (Some(_), _, _) => Backend::Sim(
                SimHandle::start(t.sim.clone().unwrap_or_default())
                    .context("starting the built-in sim")?,
            ),
            (None, Some(server), url) => {
                // The launched server's side requests carry the client's
                // credentials (its URL is not known until it is launched).
                let side = crate::client::side_client(&client_config(
                    l,
                    url.as_deref().unwrap_or_default(),
                )?)?;
                let manager = ServerManager::new(
                    server.clone(),
                    url.clone(),
                    &l.dir(),
                    run_dir,
                    secrets(l),
                    side,
                )?;
                Backend::Launched(Box::new(manager))
            }
            (None, None, Some(url)) => Backend::Fixed(url.clone()),
            (None, None, None) => {
                return Err(InputError::in_file(
                    &l.path,
                    "target has no base_url, server or builtin",
                )
                .into())
            }
        };
        let metric_prefixes = t
            .server
            .as_ref()
            .map(|s| s.metrics.clone())
            .unwrap_or_default();
        Ok(Session {
            backend,
            client: None,
            gpu,
            metric_prefixes,
        })
    }

    /// Make the target ready for `config` (launching or restarting its server).
    pub async fn connect(
        &mut self,
        l: &LoadedExperiment,
        config: &Configuration,
    ) -> anyhow::Result<Connection> {
        let (base_url, restarted) = match &mut self.backend {
            // The URL may be a template over the factors: a `server` factor
            // puts two targets into one randomized run.
            Backend::Fixed(url) => {
                let ctx = crate::prompts::template::factor_context(&config.values);
                (
                    crate::prompts::template::render(url, &ctx).map_err(anyhow::Error::msg)?,
                    false,
                )
            }
            Backend::Sim(sim) => (sim.base_url(), false),
            Backend::Launched(m) => {
                let (url, restarted) = m.ensure(config).await?;
                check_slot_context(l, m, config)?;
                (url, restarted)
            }
        };
        // The tokenize path may name a factor too: two engines keep their
        // tokenizers at different paths.
        let ctx = crate::prompts::template::factor_context(&config.values);
        let tokenize = crate::prompts::template::render(&l.experiment.target.tokenize, &ctx)
            .map_err(anyhow::Error::msg)?;
        let key = format!("{base_url} {tokenize}");
        let client = match &self.client {
            Some((k, c)) if *k == key => c.clone(),
            _ => {
                let mut config = client_config(l, &base_url)?;
                config.tokenize_path = tokenize;
                let c = Arc::new(Client::new(config)?);
                self.client = Some((key, c.clone()));
                c
            }
        };
        Ok(Connection {
            client,
            base_url,
            restarted,
        })
    }

    /// What the monitor samples during a trial.
    pub fn monitor_targets(&self, base_url: &str) -> Targets {
        let mut targets = Targets {
            gpu: self
                .gpu
                .clone()
                .map(|g| g as Arc<dyn crate::monitor::GpuReader>),
            interval: Duration::from_millis(250),
            // The built-in sim runs in this process, so it is apart as ours.
            host: Some(crate::monitor::HostScope {
                server_pgid: None,
                server_apart: !matches!(self.backend, Backend::Fixed(_)),
            }),
            ..Targets::default()
        };
        if let Backend::Launched(m) = &self.backend {
            targets.pgid = m.pid();
            targets.host = Some(crate::monitor::HostScope {
                server_pgid: m.pid(),
                server_apart: true,
            });
            let metrics =
                crate::endpoint::endpoint(base_url, crate::endpoint::Under::Root, "/metrics");
            targets.metrics = Some((metrics, self.metric_prefixes.clone()));
            targets.http = self.client.as_ref().and_then(|(_, c)| c.side_http().ok());
            targets.secrets = Arc::new(m.secrets().clone());
        }
        targets
    }

    /// An error if the launched server died during the last trial.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Backend::Launched(m) = &mut self.backend {
            if let Some(why) = m.died() {
                anyhow::bail!(why);
            }
        }
        Ok(())
    }

    pub fn launches(&self) -> Vec<Launch> {
        match &self.backend {
            Backend::Launched(m) => m.launches.clone(),
            _ => Vec::new(),
        }
    }

    /// Stop any launched server now.
    pub fn stop(&mut self) {
        if let Backend::Launched(m) = &mut self.backend {
            m.stop();
        }
    }
}

/// llama.cpp splits its context between slots: a request whose prompt and
/// output do not fit its slot is cut short or refused, so say so up front.
fn check_slot_context(
    l: &LoadedExperiment,
    m: &ServerManager,
    config: &Configuration,
) -> anyhow::Result<()> {
    let (Some((n_ctx, slots)), Some(input), Some(output)) = (
        m.fingerprint().and_then(|f| f.slot_context()),
        config.input_tokens(),
        config.output_tokens(),
    ) else {
        return Ok(());
    };
    if input + output > n_ctx {
        return Err(InputError::in_file(
            &l.path,
            format!(
                "{}: input_tokens {input} + output_tokens {output} do not fit the server's slot context of {n_ctx} tokens \
                 ({slots} slots); give the server a larger context (-c) or fewer slots (-np)",
                config.label
            ),
        )
        .into());
    }
    Ok(())
}

/// What a launched server's answers, log, metrics and version are scrubbed
/// of: the client's credentials (key, URL password, credential headers,
/// those read from the environment) and the server's own environment
/// values named like credentials.
fn secrets(l: &LoadedExperiment) -> crate::redact::Secrets {
    let t = &l.experiment.target;
    let mut s = crate::redact::Secrets::of_client(
        t.base_url.as_deref().unwrap_or_default(),
        t.headers.iter(),
        None,
    );
    for value in t.env_secrets() {
        s.add(&value);
    }
    for (name, value) in t.server.iter().flat_map(|s| &s.env) {
        s.add_header(name, value);
    }
    s
}

/// What a client of the target needs: its URL, headers and credentials.
fn client_config(l: &LoadedExperiment, base_url: &str) -> anyhow::Result<ClientConfig> {
    let t = &l.experiment.target;
    let api_key = match &t.api_key_env {
        Some(var) => Some(from_env(l, var, &["target", "api_key_env"])?),
        None => None,
    };
    let secret_headers = t
        .headers_env
        .iter()
        .map(|(name, var)| {
            Ok((
                name.clone(),
                from_env(l, var, &["target", "headers_env", name])?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(ClientConfig {
        base_url: base_url.to_string(),
        api: t.api,
        headers: t
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        secret_headers,
        api_key,
        timeout: t.timeout.0,
        tokenize_path: t.tokenize.clone(),
        model: t.model.clone(),
    })
}

/// The value of environment variable `var`, which the experiment names at `key`.
fn from_env(l: &LoadedExperiment, var: &str, key: &[&str]) -> anyhow::Result<String> {
    std::env::var(var).map_err(|_| {
        let field = key.join(".");
        InputError::in_file(
            &l.path,
            format!("{field} names '{var}', which is not set in the environment"),
        )
        .at(crate::yaml::locate_key(&l.source, key))
        .into()
    })
}
