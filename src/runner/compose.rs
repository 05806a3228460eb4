//! Request texts from a trial's shapes: prompts rendered from the prompt
//! set and filled to exact lengths by the server's tokenizer, dataset
//! entries taken in the trial's order, shared prefixes and trace blocks
//! built once per trial and reused by every request that names them.

use crate::client::{ChatCounter, Client, GenRequest};
use crate::experiment::{Api, CachePolicy, LoadedExperiment};
use crate::plan::{Configuration, Trial};
use crate::prompts::{cache_buster, fill_to, template, TokenCounter};
use crate::workload::{Kind, OutputLength, Shape, Text, TrialShapes, Workload};
use anyhow::Context as _;
use std::collections::HashMap;

use super::prepare::DEFAULT_MAX_TOKENS;

/// Salts that keep prefix and block texts apart from per-request tags.
const PREFIX_SALT: u64 = 0x5052_4546_4958;
const BLOCK_SALT: u64 = 0x424C_4F43_4B53;

pub(super) struct Composer<'a> {
    l: &'a LoadedExperiment,
    client: &'a Client,
    config: &'a Configuration,
    trial: &'a Trial,
    workload: Option<&'a Workload>,
    /// A sessions workload: lengths are of each message's content, and a
    /// turn's prompt (the whole history) has no asked length.
    sessions: bool,
    bodies: std::vec::IntoIter<String>,
    filler: Vec<&'a str>,
    /// Datasets: the trial's order, and how far it has been taken.
    entries: &'a [usize],
    next_entry: usize,
    prefixes: HashMap<u32, String>,
    blocks: HashMap<u64, String>,
    chat: ChatCounter<'a>,
}

impl<'a> Composer<'a> {
    pub(super) async fn new(
        l: &'a LoadedExperiment,
        client: &'a Client,
        config: &'a Configuration,
        trial: &'a Trial,
        ctx: &template::Context,
        shapes: &'a TrialShapes,
    ) -> anyhow::Result<Self> {
        let e = &l.experiment;
        let n = shapes.warmup.len() + shapes.measured.len();
        // Texts are the trial's own, unlike its lengths (`Trial::draws`): a
        // text one configuration sent must not be a cached prefix of the
        // next one's, cache or no cache-busting tag.
        let seed = e.seed ^ (trial.index as u64 + 1).wrapping_mul(0xA076_1D64_78BD_642F);
        let mut bodies = Vec::with_capacity(n);
        for (i, body) in l.prompts.draws(ctx, seed).take(n).enumerate() {
            bodies.push(body.map_err(|m| anyhow::anyhow!("{}: {m}", l.prompts_path.display()))?);
            pause_now_and_then(i).await;
        }
        Ok(Composer {
            l,
            client,
            config,
            trial,
            workload: l.workload_of(config),
            sessions: l
                .workload_of(config)
                .is_some_and(|w| w.kind == Kind::Sessions),
            bodies: bodies.into_iter(),
            filler: l.prompts.filler_words(),
            entries: &shapes.entries,
            next_entry: 0,
            prefixes: HashMap::new(),
            blocks: HashMap::new(),
            chat: ChatCounter {
                client,
                system: l.prompts.system.as_deref(),
                templated: std::sync::OnceLock::new(),
            },
        })
    }

    /// The requests of `shapes`, the first numbered `first` in the trial;
    /// with a batch, `batch` shapes make one request.
    pub(super) async fn requests(
        &mut self,
        template: &GenRequest,
        shapes: &[Shape],
        first: usize,
        batch: usize,
    ) -> anyhow::Result<Vec<GenRequest>> {
        let mut out = Vec::with_capacity(shapes.len());
        for (k, shape) in shapes.iter().enumerate() {
            out.push(self.one(template, shape, first + k).await?);
            pause_now_and_then(k).await;
        }
        if batch > 1 {
            out = out
                .chunks(batch)
                .map(|group| {
                    let mut first = group[0].clone();
                    first.batch = group[1..].iter().map(|r| r.prompt.clone()).collect();
                    let sum = |f: fn(&GenRequest) -> Option<u64>| group.iter().map(f).sum();
                    first.requested_input_tokens = sum(|r| r.requested_input_tokens);
                    first.requested_output_tokens = sum(|r| r.requested_output_tokens);
                    first
                })
                .collect();
        }
        Ok(out)
    }

    async fn one(
        &mut self,
        template: &GenRequest,
        shape: &Shape,
        i: usize,
    ) -> anyhow::Result<GenRequest> {
        let e = &self.l.experiment;
        let head = match e.cache {
            CachePolicy::Defeat => cache_buster(e.seed, self.trial.index, i),
            CachePolicy::Allow => String::new(),
        };
        let mut req = template.clone();
        let mut output = shape.output_tokens;
        let body = self.bodies.next().unwrap_or_default();
        req.prompt = match &shape.text {
            Text::Prompt => {
                self.filled(&head, &body, shape.input_tokens, i as u64)
                    .await?
            }
            Text::Entry => {
                let (prompt, history, from_dataset) = self.entry().await?;
                req.history = history;
                if from_dataset.is_some() {
                    output = from_dataset;
                }
                format!("{head}{prompt}")
            }
            Text::Prefix(g) => {
                let prefix = self.prefix(*g).await?;
                let head = format!("{prefix}{head}");
                self.filled(&head, &body, shape.input_tokens, i as u64)
                    .await?
            }
            Text::Blocks(ids) => {
                self.blocks(ids, &head, shape.input_tokens.unwrap_or(1), i)
                    .await?
            }
        };
        req.requested_input_tokens = shape.input_tokens.filter(|_| !self.sessions);
        req.requested_output_tokens = output;
        req.max_tokens = Some(output.unwrap_or(DEFAULT_MAX_TOKENS));
        req.exact_output = e.target.exact_output && output.is_some();
        Ok(req)
    }

    /// `head + filler + body` with exactly `n` tokens (as the server counts
    /// them), or `head + body` where no length is asked. The filler starts
    /// at a place of its own per request, so padding never makes a shared
    /// prefix that the experiment did not ask for (a cache would reuse it).
    async fn filled(
        &self,
        head: &str,
        body: &str,
        n: Option<u64>,
        salt: u64,
    ) -> anyhow::Result<String> {
        let Some(n) = n else {
            return Ok(format!("{head}{body}"));
        };
        let filler = rotated(&self.filler, self.l.experiment.seed, self.trial.index, salt);
        // A single chat prompt's length is of the whole templated conversation.
        let filled = match (self.l.experiment.target.api, self.sessions) {
            (Api::Chat, false) => fill_to(&self.chat, head, body, &filler, n as usize).await,
            _ => fill_to(self.client, head, body, &filler, n as usize).await,
        };
        Ok(filled
            .map_err(|e| super::prepare::fill_error(self.l, self.config, n, e))?
            .text)
    }

    /// Shared prefix `g` of this trial, built once.
    async fn prefix(&mut self, g: u32) -> anyhow::Result<String> {
        if let Some(p) = self.prefixes.get(&g) {
            return Ok(p.clone());
        }
        let tokens = self
            .workload
            .and_then(|w| w.spec.shared_prefix.as_ref())
            .map_or(1, |p| p.prefix_tokens);
        let e = &self.l.experiment;
        let tag = cache_buster(e.seed ^ PREFIX_SALT, self.trial.index, g as usize);
        let filler = rotated(
            &self.filler,
            e.seed ^ PREFIX_SALT,
            self.trial.index,
            u64::from(g),
        );
        let text = fill_to(self.client, &tag, "", &filler, tokens as usize)
            .await
            .with_context(|| format!("building shared prefix {g} of {tokens} tokens"))?
            .text;
        self.prefixes.insert(g, text.clone());
        Ok(text)
    }

    /// Mooncake: the blocks that fit (each exactly `block_tokens`, shared
    /// by every request of the trial that names its id), then filler to
    /// exactly `n` tokens. The cache tag goes after the blocks: their reuse
    /// is the point.
    async fn blocks(
        &mut self,
        ids: &[u64],
        head: &str,
        n: u64,
        i: usize,
    ) -> anyhow::Result<String> {
        let size = self
            .workload
            .and_then(|w| w.spec.block_tokens)
            .unwrap_or(crate::workload::DEFAULT_BLOCK_TOKENS);
        let e = &self.l.experiment;
        let mut full = ids.len().min((n / size) as usize);
        loop {
            let mut prefix = String::new();
            for id in &ids[..full] {
                if !self.blocks.contains_key(id) {
                    let tag = cache_buster(e.seed ^ BLOCK_SALT, self.trial.index, *id as usize);
                    let filler = rotated(&self.filler, e.seed ^ BLOCK_SALT, self.trial.index, *id);
                    let text = fill_to(self.client, &tag, "", &filler, size as usize)
                        .await
                        .with_context(|| format!("building block {id} of {size} tokens"))?
                        .text;
                    self.blocks.insert(*id, text);
                }
                prefix.push_str(&self.blocks[id]);
            }
            prefix.push_str(head);
            let filler = rotated(&self.filler, e.seed, self.trial.index, i as u64);
            match fill_to(self.client, &prefix, "", &filler, n as usize).await {
                Ok(f) => return Ok(f.text),
                // Blocks joined can count a token more than apart: one fewer.
                Err(err) if full > 0 && err.is::<crate::error::InputError>() => full -= 1,
                Err(err) => return Err(err.context(format!("filling a trace row to {n} tokens"))),
            }
        }
    }

    /// The next dataset entry this trial admits: its prompt, its history and
    /// (with `output_tokens: from_dataset`) its output length.
    async fn entry(
        &mut self,
    ) -> anyhow::Result<(String, Vec<crate::workload::Message>, Option<u64>)> {
        let w = self
            .workload
            .context("a dataset shape without a dataset workload")?;
        let dataset = w
            .dataset
            .as_ref()
            .context("a dataset workload without its data")?;
        let from_dataset = matches!(w.spec.output_tokens, Some(OutputLength::FromDataset));
        while let Some(&index) = self.entries.get(self.next_entry) {
            self.next_entry += 1;
            let entry = &dataset.entries[index];
            if let Some(filter) = &w.spec.filter {
                let n = self.client.count(&entry.prompt).await? as u64;
                if !filter.admits(n) {
                    continue;
                }
            }
            let output = match (from_dataset, entry.output_tokens, &entry.reply) {
                (false, _, _) => None,
                (true, Some(n), _) => Some(n),
                (true, None, Some(reply)) => Some(self.client.count(reply).await?.max(1) as u64),
                // No reply to take a length from: skipped, as vLLM does.
                (true, None, None) => continue,
            };
            return Ok((entry.prompt.clone(), entry.history.clone(), output));
        }
        Err(crate::error::InputError::in_file(
            &self.l.path,
            format!(
                "workload '{}': too few of the dataset's {} prompts pass its filter (and have a reply, with from_dataset) for the trial's requests",
                w.name,
                dataset.entries.len()
            ),
        )
        .at(crate::yaml::locate_key(&self.l.source, &["workloads", &w.name]))
        .into())
    }
}

/// The filler words from a seeded place of their own.
/// A trial of millions of requests takes a while to compose without
/// awaiting anything; yielding now and then lets the run's select hear a
/// signal meanwhile.
async fn pause_now_and_then(i: usize) {
    if i % 1024 == 1023 {
        tokio::task::yield_now().await;
    }
}

fn rotated<'w>(filler: &[&'w str], seed: u64, trial: usize, salt: u64) -> Vec<&'w str> {
    if filler.is_empty() {
        return Vec::new();
    }
    let mut rng = crate::workload::length::request_rng(seed, trial, salt as usize, 9);
    let at = rand::RngExt::random_range(&mut rng, 0..filler.len());
    filler[at..].iter().chain(&filler[..at]).copied().collect()
}
