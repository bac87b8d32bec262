//! Bindings for the audit log (`core::integrity::audit`) and Merkle proofs.

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::runtime::run;
use super::signing::{PyPublicKey, PySigningKey};
use crate::core::integrity::{audit, merkle};
use crate::core::CoreError;

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, CoreError> {
    serde_json::from_str(text).map_err(|e| CoreError::invalid(format!("{what}: not JSON ({e})")))
}

fn hash_from_hex(text: &str, what: &str) -> Result<merkle::Hash, CoreError> {
    hex::decode(text)
        .ok()
        .and_then(|v| <merkle::Hash>::try_from(v).ok())
        .ok_or_else(|| CoreError::invalid(format!("{what}: expected 64 hex digits")))
}

/// Appends one event (JSON text of an object); returns (index, leaf hex, line, torn bytes cut).
#[pyfunction]
#[pyo3(signature = (path, event_json, time, durable = true))]
fn audit_append(
    py: Python<'_>,
    path: PathBuf,
    event_json: &str,
    time: &str,
    durable: bool,
) -> PyResult<(u64, String, String, u64)> {
    let event = parse_json(event_json, "event")?;
    let a = py.detach(|| audit::append(&path, &event, time, durable))?;
    Ok((a.index, a.leaf, a.line, a.torn_bytes_removed))
}

/// Verifies a log; returns a dict of counts, the root and the problems found.
/// `expect_size` and `checkpoint` (a checkpoint line, JSON text) are what a record kept
/// outside the log says it held.
#[pyfunction]
#[pyo3(signature = (path, keys = Vec::new(), expect_size = None, checkpoint = None))]
fn audit_verify<'py>(
    py: Python<'py>,
    path: PathBuf,
    keys: Vec<PyRef<'py, PyPublicKey>>,
    expect_size: Option<u64>,
    checkpoint: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let keys: Vec<_> = keys.iter().map(|k| k.inner.clone()).collect();
    let expected = audit::Expected {
        size: expect_size,
        checkpoint: checkpoint
            .map(|t| parse_json(t, "checkpoint"))
            .transpose()?,
    };
    let v = run(py, None, |_| audit::verify(&path, &keys, &expected))?;
    let d = PyDict::new(py);
    d.set_item("entries", v.entries)?;
    d.set_item("checkpoints", v.checkpoints)?;
    d.set_item("checkpoints_signed_ok", v.checkpoints_signed_ok)?;
    d.set_item("torn_bytes", v.torn_bytes)?;
    d.set_item("root", v.root)?;
    let problems: Vec<(u64, Option<u64>, String)> = v
        .problems
        .into_iter()
        .map(|p| (p.line, p.index, p.what))
        .collect();
    d.set_item("problems", problems)?;
    Ok(d)
}

/// Signs the current tree head and appends it; returns the checkpoint line (JSON text).
#[pyfunction]
#[pyo3(signature = (path, key, time, durable = true))]
fn audit_checkpoint(
    py: Python<'_>,
    path: PathBuf,
    key: &PySigningKey,
    time: &str,
    durable: bool,
) -> PyResult<String> {
    let v = py.detach(|| audit::checkpoint(&path, &key.inner, time, durable))?;
    Ok(audit::canonical_json(&v))
}

/// (leaf hex, tree size, root hex, path hexes) for entry `index` of a verified log.
#[pyfunction]
fn audit_inclusion_proof(
    py: Python<'_>,
    path: PathBuf,
    index: u64,
) -> PyResult<(String, u64, String, Vec<String>)> {
    let (leaves, proof) = run(py, None, |_| {
        let leaves = audit::verified_leaves(&path)?;
        let proof = usize::try_from(index)
            .ok()
            .and_then(|i| merkle::inclusion_proof(&leaves, i))
            .ok_or_else(|| {
                CoreError::invalid(format!(
                    "index: the log has {} entries, there is no entry {index}",
                    leaves.len()
                ))
            })?;
        Ok((leaves, proof))
    })?;
    Ok((
        hex::encode(leaves[index as usize]),
        leaves.len() as u64,
        hex::encode(merkle::root(&leaves)),
        proof.iter().map(hex::encode).collect(),
    ))
}

/// (old root, new root, size, path hexes) proving the log's first `old_size` entries are
/// a prefix of the whole.
#[pyfunction]
fn audit_consistency_proof(
    py: Python<'_>,
    path: PathBuf,
    old_size: u64,
) -> PyResult<(String, String, u64, Vec<String>)> {
    run(py, None, |_| {
        let leaves = audit::verified_leaves(&path)?;
        let m = usize::try_from(old_size).unwrap_or(usize::MAX);
        let proof = merkle::consistency_proof(&leaves, m).ok_or_else(|| {
            CoreError::invalid(format!(
                "old_size: expected 1..={}, got {old_size}",
                leaves.len()
            ))
        })?;
        Ok((
            hex::encode(merkle::root(&leaves[..m])),
            hex::encode(merkle::root(&leaves)),
            leaves.len() as u64,
            proof.iter().map(hex::encode).collect(),
        ))
    })
}

#[pyfunction]
fn merkle_verify_inclusion(
    leaf: &str,
    index: u64,
    size: u64,
    proof: Vec<String>,
    root: &str,
) -> PyResult<bool> {
    let proof = proof
        .iter()
        .map(|p| hash_from_hex(p, "proof"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merkle::verify_inclusion(
        &hash_from_hex(leaf, "leaf")?,
        index,
        size,
        &proof,
        &hash_from_hex(root, "root")?,
    ))
}

#[pyfunction]
fn merkle_verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &str,
    new_root: &str,
    proof: Vec<String>,
) -> PyResult<bool> {
    let proof = proof
        .iter()
        .map(|p| hash_from_hex(p, "proof"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(merkle::verify_consistency(
        old_size,
        new_size,
        &hash_from_hex(old_root, "old_root")?,
        &hash_from_hex(new_root, "new_root")?,
        &proof,
    ))
}

/// (index, recomputed leaf hex) of one entry line of a log.
#[pyfunction]
fn audit_entry_leaf(line: &str) -> PyResult<(u64, String)> {
    Ok(audit::entry_line_leaf(line)?)
}

/// The RFC 6962 leaf hash of `data`, hex.
#[pyfunction]
fn merkle_leaf_hash(data: &[u8]) -> String {
    hex::encode(merkle::leaf_hash(data))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(audit_append, m)?)?;
    m.add_function(wrap_pyfunction!(audit_verify, m)?)?;
    m.add_function(wrap_pyfunction!(audit_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(audit_inclusion_proof, m)?)?;
    m.add_function(wrap_pyfunction!(audit_consistency_proof, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_verify_inclusion, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_verify_consistency, m)?)?;
    m.add_function(wrap_pyfunction!(merkle_leaf_hash, m)?)?;
    m.add_function(wrap_pyfunction!(audit_entry_leaf, m)?)?;
    Ok(())
}
