//! `report --slo FILE|KEY=VALUE`: the argument read into an [`SloChange`],
//! a file's faults located in it as an experiment's are.

use super::{check_slo_located, SloChange};
use crate::error::InputError;
use std::path::Path;

/// A file holding an SLO block (the mapping an experiment's `slo:` holds),
/// or `KEY=VALUE`; what an argument that is neither was expected to be.
pub fn slo_change(arg: &str) -> Result<SloChange, InputError> {
    let path = Path::new(arg);
    if path.is_file() {
        return read_slo_file(path).map(SloChange::Replace);
    }
    if !arg.contains('=') {
        return Err(InputError::new(format!(
            "--slo {arg}: no such file, and not KEY=VALUE (e.g. ttft_p95_ms=500)"
        )));
    }
    SloChange::parse_pair(arg).map_err(InputError::new)
}

fn read_slo_file(path: &Path) -> Result<super::Slo, InputError> {
    crate::limits::small_file("an SLO file", path)
        .map_err(|r| InputError::from(r).or_in(path, None))?;
    let source = std::fs::read_to_string(path)
        .map_err(|e| InputError::in_file(path, format!("cannot read it: {e}")))?;
    let slo: super::Slo = crate::yaml::parse(path, &source)?;
    check_slo_located(&slo, path, &source, &[])?;
    Ok(slo)
}
