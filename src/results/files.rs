//! The one way infer-bench writes a file: under a fresh temporary name in
//! the destination's folder, then renamed over it. A rename replaces a
//! symbolic link planted at the destination instead of writing through it,
//! and the temporary name is created exclusively, so a link planted there
//! cannot be followed either: a shared run folder cannot make `report` or
//! `compare` overwrite a file elsewhere. Logs that are appended to refuse a
//! link outright.

use anyhow::Context as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// A file being written under a temporary name beside `dest`: named `dest`
/// by [`Staged::commit`], removed if dropped first (a write cut short leaves
/// the last complete file, not half of a new one).
pub struct Staged {
    tmp: tempfile::TempPath,
    dest: PathBuf,
}

impl Staged {
    /// The staged file and its handle for writing.
    pub fn new(dest: &Path) -> anyhow::Result<(Self, File)> {
        let folder = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            // Mode 0666 less the umask, as `File::create` gives: a report
            // others could read stays readable.
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(folder)
            .with_context(|| format!("writing {}", dest.display()))?;
        let (file, tmp) = file.into_parts();
        let dest = dest.to_path_buf();
        Ok((Staged { tmp, dest }, file))
    }

    /// Give the file its name, replacing whatever held it (a link included).
    pub fn commit(self) -> anyhow::Result<()> {
        let Staged { tmp, dest } = self;
        tmp.persist(&dest)
            .map_err(|e| e.error)
            .with_context(|| format!("writing {}", dest.display()))
    }
}

/// Write `dest` whole with `bytes`.
pub fn write_file(dest: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    write_with(dest, |f| Ok(f.write_all(bytes.as_ref())?))
}

/// Write `dest` whole through `fill`, buffered.
pub fn write_with(
    dest: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (staged, file) = Staged::new(dest)?;
    let mut out = BufWriter::new(file);
    fill(&mut out).with_context(|| format!("writing {}", dest.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", dest.display()))?;
    staged.commit()
}

/// Open log `path` for appending, creating it; a symbolic link there is
/// refused (`O_NOFOLLOW`), never written through.
pub fn append_log(path: &Path) -> anyhow::Result<File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => anyhow::anyhow!(
                "refusing to append to {}: it is a symbolic link, expected a plain file \
                 (a link in a run folder could send records anywhere)",
                path.display()
            ),
            _ => anyhow::Error::new(e).context(format!("opening {}", path.display())),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_at_the_destination_is_replaced_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "keep").unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir(&run).unwrap();
        let dest = run.join("report.md");
        std::os::unix::fs::symlink(&outside, &dest).unwrap();
        write_file(&dest, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        assert!(!dest.symlink_metadata().unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "new");
        let log = run.join("done.jsonl");
        std::os::unix::fs::symlink(&outside, &log).unwrap();
        let err = append_log(&log).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep");
        // Nothing staged is left behind.
        assert_eq!(std::fs::read_dir(&run).unwrap().count(), 2);
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("summary.csv");
        std::fs::write(&dest, "old").unwrap();
        let r = write_with(&dest, |_| anyhow::bail!("stopped"));
        assert!(r.is_err());
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
