//! `infer-bench slurm submit`: a readable sbatch script with one array task
//! per shard (`SLURM_ARRAY_TASK_ID` → `run --shard`), submitted with
//! `sbatch`; with `--wait`, squeue is polled until the tasks are gone and the
//! shards' run folders are checked (and merged with `--merge`). Slurm is the
//! scheduler; infer-bench only writes the script and reads the results.

use super::output::{out, outln};
use anyhow::Context as _;
use infer_bench::error::InputError;
use infer_bench::experiment;
use infer_bench::plan::{self, Shard};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use crate::cli::SubmitArgs as Submit;

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    Ok(if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()?.join(p)
    })
}

/// Single-quote for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

pub fn script(o: &Submit, name: &str, exe: &Path, exp: &Path, out: &Path) -> String {
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by `infer-bench slurm submit`: experiment '{name}' in {n} shards,\n\
         # one per array task; `infer-bench merge` joins their run folders.\n",
        n = o.shards
    ));
    s.push_str(&format!("#SBATCH --job-name=infer-bench-{name}\n"));
    s.push_str(&format!("#SBATCH --array=0-{}\n", o.shards - 1));
    s.push_str(&format!(
        "#SBATCH --output={}/slurm-%A_%a.out\n",
        out.join(name).display()
    ));
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(g) = &o.gres {
        s.push_str(&format!("#SBATCH --gres={g}\n"));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    for a in &o.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str(&format!(
        "exec {} run {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{}\" --out {} --quiet\n",
        quote(&exe.display().to_string()),
        quote(&exp.display().to_string()),
        o.shards,
        quote(&out.display().to_string())
    ));
    s
}

fn sbatch_output(cmd: &mut Command, what: &str) -> anyhow::Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("running {what} (is Slurm installed and SLURM_CONF set?)"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{what} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

pub fn submit(o: &Submit) -> anyhow::Result<()> {
    let loaded = experiment::load(&o.experiment)?;
    if o.shards == 0 {
        return Err(InputError::new("--shards must be at least 1").into());
    }
    // Every shard must be valid before anything is submitted: whole
    // repetition blocks of a fixed plan, or whole configurations of a
    // capacity search (each node searches its own).
    let shard = Shard {
        index: 0,
        count: o.shards,
    };
    let e = &loaded.experiment;
    let valid = if e.design == infer_bench::experiment::Design::Capacity {
        shard.searches(plan::configurations(e).len()).map(|_| ())
    } else {
        shard.trials(&plan::expand(e)).map(|_| ())
    };
    valid.map_err(|m| InputError::in_file(&o.experiment, m))?;
    let name = &loaded.experiment.name;
    let (exe, exp, out) = (
        std::env::current_exe()?,
        absolute(&o.experiment)?,
        absolute(&o.out)?,
    );
    let text = script(o, name, &exe, &exp, &out);
    if o.dry_run {
        out!("{text}")?;
        return Ok(());
    }
    let folder = out.join(name);
    let job = sbatch(o, &folder, &text)?;
    if !o.wait {
        return Ok(());
    }
    wait_gone(&job)?;
    collect(o, &folder, &job)
}

/// Write the script into `folder` and submit it; returns the job id.
fn sbatch(o: &Submit, folder: &Path, text: &str) -> anyhow::Result<String> {
    std::fs::create_dir_all(folder)?;
    let path = folder.join(format!(
        "slurm-{}.sbatch",
        infer_bench::results::now_rfc3339().replace([':', '-'], "")
    ));
    std::fs::write(&path, text)?;
    let answer = sbatch_output(
        Command::new("sbatch").arg("--parsable").arg(&path),
        "sbatch",
    )?;
    // `--parsable` prints `jobid` or `jobid;cluster`.
    let job = answer.split(';').next().unwrap_or_default().to_string();
    outln!(
        "submitted job {job}: {} tasks ({})",
        o.shards,
        path.display()
    )?;
    Ok(job)
}

/// Wait until squeue no longer lists the job: it lists the array's tasks
/// until the last one has ended.
fn wait_gone(job: &str) -> anyhow::Result<()> {
    loop {
        let left = sbatch_output(
            Command::new("squeue").args(["-h", "-j", job, "-o", "%i %T"]),
            "squeue",
        )?;
        if left.is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Say how each shard of the ended job went; merge them (`--merge`) or say
/// how, once every shard completed.
fn collect(o: &Submit, folder: &Path, job: &str) -> anyhow::Result<()> {
    let shards = shard_runs(folder, job)?;
    let complete = shards
        .iter()
        .filter(|(_, m)| m.status == infer_bench::results::Status::Complete)
        .count();
    for (dir, m) in &shards {
        outln!(
            "  shard {}: {:?}, {} trials ({})",
            m.shard.map(|s| s.to_string()).unwrap_or_default(),
            m.status,
            m.trials_done,
            dir.display()
        )?;
    }
    if complete != o.shards {
        anyhow::bail!(
            "job {job}: {complete} of {} shards completed; see {}/slurm-{job}_*.out",
            o.shards,
            folder.display()
        );
    }
    let dirs: Vec<PathBuf> = shards.into_iter().map(|(d, _)| d).collect();
    if o.merge {
        super::merge::merge(&dirs, None)
    } else {
        outln!(
            "merge them with: infer-bench merge {}",
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        )?;
        Ok(())
    }
}

/// The run folders under `folder` that job `job` wrote.
fn shard_runs(
    folder: &Path,
    job: &str,
) -> anyhow::Result<Vec<(PathBuf, infer_bench::results::Manifest)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder)?.flatten() {
        let manifest = entry.path().join(infer_bench::results::MANIFEST);
        let Ok(text) = infer_bench::results::read_document(&manifest) else {
            continue;
        };
        let Ok(m) = serde_json::from_str::<infer_bench::results::Manifest>(&text) else {
            continue;
        };
        if m.slurm_job.as_deref() == Some(job) {
            out.push((entry.path(), m));
        }
    }
    out.sort_by_key(|(_, m)| m.shard.map_or(0, |s| s.index));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_one_shard_per_array_task() {
        let o = Submit {
            experiment: "e.yaml".into(),
            shards: 4,
            out: "results".into(),
            partition: Some("gpu".into()),
            gres: Some("gpu:1".into()),
            time: Some("01:00:00".into()),
            sbatch_args: vec!["--mem=16G".into()],
            dry_run: true,
            wait: false,
            merge: false,
        };
        let s = script(
            &o,
            "quick",
            Path::new("/opt/ib"),
            Path::new("/x/it's.yaml"),
            Path::new("/r"),
        );
        assert!(s.starts_with("#!/bin/bash\n"));
        for line in [
            "#SBATCH --array=0-3",
            "#SBATCH --partition=gpu",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --time=01:00:00",
            "#SBATCH --mem=16G",
            "#SBATCH --output=/r/quick/slurm-%A_%a.out",
        ] {
            assert!(s.contains(line), "{line} in {s}");
        }
        assert!(s.contains(r#"--shard "${SLURM_ARRAY_TASK_ID}/4""#));
        assert!(s.contains(r"'/x/it'\''s.yaml'"), "quoted for bash: {s}");
    }
}
