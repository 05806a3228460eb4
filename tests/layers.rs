//! The data flow's arrows point one way: a module may use only the layers
//! below it (leaves may use each other). Every `crate::` path in `src/` is
//! checked against the table here, so an import that runs back up the flow
//! fails with the file, the line and the rule it breaks.

use std::path::Path;

/// Layers, bottom to top.
const LAYERS: &[&[&str]] = &[
    // Leaves: shared types and helpers with no place in the flow.
    &[
        "error",
        "clock",
        "duration",
        "level",
        "limits",
        "metrics",
        "record",
        "redact",
        "side_request",
        "yaml",
        "tls",
        "endpoint",
    ],
    &["prompts", "workload"],
    &["experiment"],
    &["plan"],
    &["client", "sim", "monitor", "server"],
    &["load"],
    &["results"],
    &["analysis"],
    &["capacity"],
    &["report"],
    &["runner"],
    &["calibrate"],
    // The binary's own (src/main.rs): the command line's types, then the
    // commands they drive, on the library's public paths.
    &["cli"],
    &["commands"],
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module names that follow `crate::` on a line.
fn crate_paths(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .map(|(i, _)| {
            let rest = &line[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

#[test]
fn imports_point_down_the_data_flow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let Some(own) = layer_of(&top) else {
            broken.push(format!(
                "src/{}: module '{top}' is in no layer of tests/layers.rs",
                rel.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for used in crate_paths(line) {
                if used == top {
                    continue;
                }
                let rule = match layer_of(used) {
                    None => format!("'{used}' is in no layer"),
                    Some(l) if l < own || (l == 0 && own == 0) => continue,
                    Some(l) if l == own => {
                        format!("'{top}' and '{used}' share a layer and may not use each other")
                    }
                    Some(_) => format!("'{top}' may not use '{used}', which is above it"),
                };
                broken.push(format!("src/{}:{}: {rule}", rel.display(), n + 1));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the data flow:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_checker_sees_paths() {
    assert_eq!(
        crate_paths("use crate::plan::{Plan}; let x = crate::results::read_run(d);"),
        vec!["plan", "results"]
    );
    assert_eq!(layer_of("prompts"), Some(1));
    assert_eq!(layer_of("nonsense"), None);
}
