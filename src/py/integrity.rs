//! Bindings for file hashing and manifests (`mlsentry.integrity` wraps them).
//!
//! Paths cross as `bytes` (`os.fsencode`), so any Unix file name works; relative paths
//! come back as `bytes` and Python decodes them with `surrogateescape`.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pyo3::prelude::*;

use crate::core::integrity::hashing::{self, Algorithm, Digest};
use crate::core::integrity::manifest::{self, Entry, Options};
use crate::core::CoreError;
use crate::py::runtime;

/// (path, size, digest, shard digests or None), as exchanged with Python.
type RawEntry = (Vec<u8>, u64, String, Option<Vec<String>>);

fn to_raw(e: &Entry) -> RawEntry {
    (
        e.path.clone(),
        e.size,
        e.digest.to_string(),
        e.shards
            .as_ref()
            .map(|s| s.iter().map(|d| d.to_string()).collect()),
    )
}

fn parse_digest(text: &str, what: &dyn Fn() -> String) -> Result<Digest, CoreError> {
    Digest::parse(text).ok_or_else(|| {
        CoreError::Manifest(format!(
            "{}: {text:?} is not a digest like \"sha256:<64 lowercase hex digits>\"",
            what()
        ))
    })
}

/// The digest of the whole file at ``path`` (``"sha256:<hex>"``), hashed without the GIL.
#[pyfunction]
#[pyo3(signature = (path, algorithm, callback=None))]
fn hash_file(
    py: Python<'_>,
    path: Vec<u8>,
    algorithm: &str,
    callback: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let algorithm = Algorithm::parse(algorithm)?;
    let path = Path::new(OsStr::from_bytes(&path));
    runtime::run(py, callback, |progress| {
        hashing::hash_file(path, algorithm, progress).map(|d| d.to_string())
    })
}

/// The manifest of a file or folder: ``(root, [(path, size, digest, shards), ...])`` in
/// canonical order.
#[pyfunction]
#[pyo3(signature = (path, algorithm, shard_size, ignore, follow_symlinks, callback=None))]
fn build_manifest(
    py: Python<'_>,
    path: Vec<u8>,
    algorithm: &str,
    shard_size: Option<u64>,
    ignore: Vec<String>,
    follow_symlinks: bool,
    callback: Option<&Bound<'_, PyAny>>,
) -> PyResult<(String, Vec<RawEntry>)> {
    let opts = Options {
        algorithm: Algorithm::parse(algorithm)?,
        shard_size,
        ignore,
        follow_symlinks,
    };
    let path = Path::new(OsStr::from_bytes(&path));
    let m = runtime::run(py, callback, |progress| {
        manifest::build(path, &opts, progress)
    })?;
    Ok((m.root.to_string(), m.entries.iter().map(to_raw).collect()))
}

/// For each relative path (bytes), whether the ignore patterns leave it out: it or a
/// folder above it matches, as in a walk.
#[pyfunction]
fn ignored_paths(patterns: Vec<String>, paths: Vec<Vec<u8>>) -> PyResult<Vec<bool>> {
    let ignore = manifest::Ignore::new(&patterns)?;
    Ok(paths.iter().map(|p| ignore.covers(p)).collect())
}

/// Checks a stored manifest's content (digests, paths, shards, root) and returns the
/// permutation that puts its entries in canonical order; raises ``ManifestError``.
#[pyfunction]
#[pyo3(signature = (algorithm, shard_size, entries, root))]
fn check_manifest(
    algorithm: &str,
    shard_size: Option<u64>,
    entries: Vec<RawEntry>,
    root: &str,
) -> PyResult<Vec<usize>> {
    let algorithm = Algorithm::parse(algorithm)
        .map_err(|_| CoreError::Manifest(format!("unknown algorithm {algorithm:?}")))?;
    let root = parse_digest(root, &|| "root".to_string())?;
    let mut parsed = Vec::with_capacity(entries.len());
    for (path, size, digest, shards) in entries {
        let name = || String::from_utf8_lossy(&path).into_owned();
        let digest = parse_digest(&digest, &|| format!("digest of {:?}", name()))?;
        let shards = match shards {
            None => None,
            Some(s) => Some(
                s.iter()
                    .map(|d| parse_digest(d, &|| format!("shard digest of {:?}", name())))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        parsed.push(Entry {
            path,
            size,
            digest,
            shards,
        });
    }
    let (_, order) = manifest::check(algorithm, shard_size, parsed, root)?;
    Ok(order)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hash_file, m)?)?;
    m.add_function(wrap_pyfunction!(build_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(check_manifest, m)?)?;
    m.add_function(wrap_pyfunction!(ignored_paths, m)?)?;
    Ok(())
}
