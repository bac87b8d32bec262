//! Binding for the model-file scanner (`mlsentry.scan` wraps it).
//!
//! Paths cross as `bytes` (`os.fsencode`); findings come back as plain tuples that the
//! Python side turns into `Finding` dataclasses.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::scan::{self, Finding, Format, Limits, Policy};
use crate::core::CoreError;
use crate::py::runtime;

/// (file, members, offset, global, severity, rule, message), as Python reads a finding.
type RawFinding = (
    Vec<u8>,
    Vec<String>,
    Option<u64>,
    Option<String>,
    &'static str,
    &'static str,
    String,
);

fn to_raw(f: Finding) -> RawFinding {
    (
        f.location.file,
        f.location.members,
        f.location.offset,
        f.global,
        f.severity.name(),
        f.rule,
        f.message,
    )
}

/// The built-in policy, extended by a user's policy text when one is given.
fn policy(text: Option<&str>, format: &str) -> PyResult<Policy> {
    let mut policy = Policy::new();
    if let Some(text) = text {
        let format = match format {
            "toml" => Format::Toml,
            "json" => Format::Json,
            other => {
                return Err(CoreError::InvalidInput(format!(
                    "policy format: expected 'toml' or 'json', got {other:?}"
                ))
                .into())
            }
        };
        policy.extend_from_str(text, format)?;
    }
    Ok(policy)
}

/// Scans a file or folder: ``{"findings": [RawFinding, ...], "files": [(path, format,
/// streams, bytes), ...]}``.
#[pyfunction]
#[pyo3(signature = (path, policy_text, policy_format, callback=None))]
fn scan_path<'py>(
    py: Python<'py>,
    path: Vec<u8>,
    policy_text: Option<&str>,
    policy_format: &str,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let policy = policy(policy_text, policy_format)?;
    let limits = Limits::default();
    let path = Path::new(OsStr::from_bytes(&path));
    let result = runtime::run(py, callback, |progress| {
        scan::scan(path, &policy, &limits, progress)
    })?;
    let out = PyDict::new(py);
    let findings: Vec<RawFinding> = result.findings.into_iter().map(to_raw).collect();
    let files: Vec<(Vec<u8>, String, usize, u64)> = result
        .files
        .into_iter()
        .map(|s| (s.path, s.format, s.streams, s.bytes))
        .collect();
    out.set_item("findings", findings)?;
    out.set_item("files", files)?;
    Ok(out)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(scan_path, m)?)?;
    Ok(())
}
