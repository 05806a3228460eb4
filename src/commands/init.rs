//! `infer-bench init [DIR]`: a commented starter experiment and prompt set,
//! so a user with only the binary (the wheel, say) gets a first table with
//! `infer-bench init && infer-bench run experiment.yaml`.

use super::output::{note, outln};
use infer_bench::error::InputError;
use std::path::Path;

/// The starter files, as committed in experiments/starter/ (where a test
/// runs them): name, text.
const FILES: [(&str, &str); 2] = [
    (
        "experiment.yaml",
        include_str!("../../experiments/starter/experiment.yaml"),
    ),
    (
        "prompts.yaml",
        include_str!("../../experiments/starter/prompts.yaml"),
    ),
];

/// Write the starter files and the schema into `dir`; refuse, writing
/// nothing, if any of them is there already.
pub fn init(dir: &Path) -> anyhow::Result<()> {
    let schema = infer_bench::experiment::schema_json();
    let files = FILES
        .iter()
        .map(|(name, text)| (*name, *text))
        .chain([("experiment.schema.json", schema.as_str())]);
    let files: Vec<(&str, &str)> = files.collect();
    for (name, _) in &files {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            return Err(InputError::in_file(
                &path,
                "already exists: init writes only new files (remove it or choose another folder)",
            )
            .into());
        }
    }
    std::fs::create_dir_all(dir)
        .map_err(|e| InputError::in_file(dir, format!("cannot create the folder: {e}")))?;
    for (name, text) in &files {
        let path = dir.join(name);
        // create_new: a file (or link) that appeared since the check is
        // never written through.
        let mut f = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| InputError::in_file(&path, format!("cannot create: {e}")))?;
        std::io::Write::write_all(&mut f, text.as_bytes())
            .map_err(|e| InputError::in_file(&path, format!("cannot write: {e}")))?;
        note!("wrote {}", path.display());
    }
    let run = dir.join("experiment.yaml");
    outln!(
        "next: infer-bench run {}   (the built-in sim: a first table in seconds; edit `target:` for your server)",
        run.display()
    )?;
    Ok(())
}
