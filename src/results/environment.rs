//! What a run ran on, as the manifest recorded it, and what differs between
//! two runs' environments: a reproduction on other hardware must say so
//! above its verdicts.

use super::Manifest;
use crate::server::Launch;
use std::collections::BTreeSet;

/// One line of the environment: what it is, and its value (`–` unknown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub what: &'static str,
    pub value: String,
}

/// Several values (one per launched server, say) as one, sorted, distinct.
fn joined(values: impl IntoIterator<Item = String>) -> String {
    let set: BTreeSet<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
    if set.is_empty() {
        "–".into()
    } else {
        set.into_iter().collect::<Vec<_>>().join(", ")
    }
}

pub fn environment(m: &Manifest) -> Vec<Item> {
    let mut items = machine(m);
    items.extend(servers(&m.servers));
    items
}

fn item(what: &'static str, value: String) -> Item {
    Item { what, value }
}

/// The tool, the machine it ran on, and the target it measured.
fn machine(m: &Manifest) -> Vec<Item> {
    let unknown = || "–".to_string();
    let os = format!(
        "{} {} {}",
        m.host.os,
        m.host.kernel.clone().unwrap_or_default(),
        m.host.arch
    )
    .replace("  ", " ");
    vec![
        item("infer-bench", m.tool.to_string()),
        item("OS", os),
        item("CPU", m.host.cpu_model.clone().unwrap_or_else(unknown)),
        item("cores", m.host.cpus.to_string()),
        item("host", m.host.hostname.clone()),
        item("GPU and driver", m.gpu.clone().unwrap_or_else(unknown)),
        item("target", m.target_url.clone().unwrap_or_else(unknown)),
    ]
}

/// What the launched servers were: program, build, slots, model file.
fn servers(servers: &[Launch]) -> Vec<Item> {
    // The program a launch ran (its first word): two server versions are
    // two programs; llama.cpp's /props adds its build.
    let program = joined(servers.iter().map(|s| {
        s.command
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string()
    }));
    let build = joined(servers.iter().filter_map(|s| s.fingerprint.build()));
    let slots = joined(servers.iter().filter_map(|s| {
        let (ctx, n) = s.fingerprint.slot_context()?;
        Some(format!("{n} slots × {ctx} tokens"))
    }));
    let models = joined(servers.iter().filter_map(|s| {
        let f = s.fingerprint.model_file.as_ref()?;
        let name = std::path::Path::new(&f.path).file_name()?.to_string_lossy();
        Some(format!("{name} sha256 {}", f.sha256_prefix(12)))
    }));
    vec![
        item("server program", program),
        item("server build", build),
        item("server slots", slots),
        item("model", models),
    ]
}

/// The items whose values differ: (what, A's value, B's value). The
/// target's URL is left out: a launched server's port is drawn per run.
pub fn differences(a: &Manifest, b: &Manifest) -> Vec<(&'static str, String, String)> {
    environment(a)
        .into_iter()
        .zip(environment(b))
        .filter(|(x, y)| match x.what {
            "target" => !same_host_port_free(&x.value, &y.value),
            _ => x.value != y.value,
        })
        .map(|(x, y)| (x.what, x.value, y.value))
        .collect()
}

/// Two target URLs that differ only in a port count as one target.
fn same_host_port_free(a: &str, b: &str) -> bool {
    let strip = |u: &str| {
        let (scheme, rest) = u.split_once("://").unwrap_or(("", u));
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        format!("{scheme}://{host}/{path}")
    };
    strip(a) == strip(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest whose one launch ran `program` on a model with `sha`.
    fn manifest(program: &str, sha: &str, cpus: usize) -> Manifest {
        let json = serde_json::json!({
            "run_id": "r", "experiment_name": "x", "status": "complete",
            "tool": {"name": "infer-bench", "version": "0.1.0", "git_commit": "abc"},
            "experiment": {"path": "x.yaml", "sha256": "00", "copy": "experiment.yaml"},
            "prompts": {"path": "p.yaml", "sha256": "00", "copy": "prompts.yaml"},
            "seed": 1,
            "host": {"hostname": "vm", "os": "linux", "arch": "x86_64", "cpus": cpus,
                     "cpu_model": "AMD EPYC", "kernel": "6.1"},
            "target_url": "http://127.0.0.1:4000/v1",
            "started_at": "t", "trials_planned": 1, "trials_done": 1, "requests_recorded": 1,
            "servers": [{
                "index": 0, "command": format!("{program} -m m.gguf --port 4000"), "port": 4000,
                "pid": 1, "configurations": ["baseline"], "started_at": "t", "ready_s": 1.0,
                "log": "server-00.log",
                "fingerprint": {
                    "props": {"build_info": "b0-unknown", "total_slots": 2,
                              "default_generation_settings": {"n_ctx": 512}},
                    "model_file": {"path": "/m/smollm2.gguf", "bytes": 1, "sha256": sha}
                }
            }]
        });
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn differences_name_what_changed_and_nothing_else() {
        let a = manifest("/x/llama-server-2026.10.11549", "aaaaaaaaaaaaaaaa", 2);
        assert!(differences(&a, &a).is_empty());
        let b = manifest("/x/llama-server-2026.6.9713", "bbbbbbbbbbbbbbbb", 16);
        let d = differences(&a, &b);
        let what: Vec<&str> = d.iter().map(|x| x.0).collect();
        assert_eq!(what, ["cores", "server program", "model"], "{d:?}");
        assert_eq!(d[2].1, "smollm2.gguf sha256 aaaaaaaaaaaa");
        let slots = environment(&a)
            .into_iter()
            .find(|i| i.what == "server slots")
            .unwrap();
        assert_eq!(slots.value, "2 slots × 512 tokens");
    }

    #[test]
    fn a_target_on_another_port_is_the_same_target() {
        assert!(same_host_port_free(
            "http://127.0.0.1:4000/v1",
            "http://127.0.0.1:5123/v1"
        ));
        assert!(!same_host_port_free(
            "http://127.0.0.1:4000/v1",
            "http://10.0.0.2:4000/v1"
        ));
    }
}
