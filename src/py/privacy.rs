//! Bindings of privacy (`mlsentry.privacy` wraps them).

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::privacy::{bounds, extraction, lira, rmia, roc, signals};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(privacy_roc, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_clopper_pearson, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_epsilon_lower_bound, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_signals, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_lira, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_rmia, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_surrogate, m)?)?;
    Ok(())
}

fn contiguous<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| {
        PyErr::from(CoreError::InvalidType(format!(
            "{what}: expected a contiguous 1-D array"
        )))
    })
}

/// The ROC of membership scores: a dict with `tp`, `fp` (int64 counts per point),
/// `thresholds`, `n_members`, `n_nonmembers` and `auc`.
#[pyfunction]
fn privacy_roc<'py>(
    py: Python<'py>,
    scores: PyReadonlyArray1<'py, f64>,
    is_member: PyReadonlyArray1<'py, bool>,
) -> PyResult<Bound<'py, PyDict>> {
    let s = contiguous(&scores, "scores")?;
    let m = contiguous(&is_member, "is_member")?;
    let r = runtime::run(py, None, move |_| roc::roc(s, m))?;
    let d = PyDict::new(py);
    let as_i64 = |v: Vec<u64>| -> Vec<i64> { v.into_iter().map(|c| c as i64).collect() };
    d.set_item("tp", PyArray1::from_vec(py, as_i64(r.tp)))?;
    d.set_item("fp", PyArray1::from_vec(py, as_i64(r.fp)))?;
    d.set_item("thresholds", PyArray1::from_vec(py, r.thresholds))?;
    d.set_item("n_members", r.n_members)?;
    d.set_item("n_nonmembers", r.n_nonmembers)?;
    d.set_item("auc", r.auc)?;
    Ok(d)
}

/// The two-sided Clopper-Pearson interval of `k` successes in `n` trials.
#[pyfunction]
fn privacy_clopper_pearson(k: u64, n: u64, confidence: f64) -> PyResult<(f64, f64)> {
    Ok(bounds::clopper_pearson(k, n, confidence)?)
}

/// The empirical epsilon an attack with these counts proves.
#[pyfunction]
fn privacy_epsilon_lower_bound(
    tp: u64,
    fp: u64,
    n_members: u64,
    n_nonmembers: u64,
    delta: f64,
    confidence: f64,
) -> PyResult<f64> {
    Ok(bounds::epsilon_lower_bound(
        tp,
        fp,
        n_members,
        n_nonmembers,
        delta,
        confidence,
    )?)
}

/// The membership signals of probabilities `probs` (n, k) for true classes `labels`.
#[pyfunction]
fn privacy_signals<'py>(
    py: Python<'py>,
    probs: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
) -> PyResult<Bound<'py, PyDict>> {
    let p = probs.as_array();
    let y = contiguous(&labels, "labels")?;
    let s = runtime::run(py, None, move |_| signals::signals(p, y))?;
    let d = PyDict::new(py);
    d.set_item("loss", PyArray1::from_vec(py, s.loss))?;
    d.set_item("confidence", PyArray1::from_vec(py, s.confidence))?;
    d.set_item("entropy", PyArray1::from_vec(py, s.entropy))?;
    d.set_item(
        "modified_entropy",
        PyArray1::from_vec(py, s.modified_entropy),
    )?;
    d.set_item("logit", PyArray1::from_vec(py, s.logit))?;
    d.set_item("correct", PyArray1::from_vec(py, s.correct))?;
    Ok(d)
}

/// LiRA scores from precomputed signals.
#[pyfunction]
fn privacy_lira<'py>(
    py: Python<'py>,
    target: PyReadonlyArray1<'py, f64>,
    reference: PyReadonlyArray2<'py, f64>,
    reference_in: PyReadonlyArray2<'py, bool>,
    online: bool,
    fix_variance: bool,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let t = contiguous(&target, "target_signal")?;
    let r = reference.as_array();
    let ins = reference_in.as_array();
    let opts = lira::LiraOptions {
        online,
        fix_variance,
    };
    let s = runtime::run(py, None, move |_| lira::lira_scores(t, r, ins, opts))?;
    Ok(PyArray1::from_vec(py, s))
}

/// Offline RMIA scores from precomputed true-class probabilities.
#[pyfunction]
#[pyo3(signature = (target, reference, reference_in, population_target, population_reference,
                    population_in, gamma, a))]
#[allow(clippy::too_many_arguments)]
fn privacy_rmia<'py>(
    py: Python<'py>,
    target: PyReadonlyArray1<'py, f64>,
    reference: PyReadonlyArray2<'py, f64>,
    reference_in: PyReadonlyArray2<'py, bool>,
    population_target: PyReadonlyArray1<'py, f64>,
    population_reference: PyReadonlyArray2<'py, f64>,
    population_in: Option<PyReadonlyArray2<'py, bool>>,
    gamma: f64,
    a: f64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let t = contiguous(&target, "target_probs")?;
    let r = reference.as_array();
    let ins = reference_in.as_array();
    let pt = contiguous(&population_target, "population_target")?;
    let pr = population_reference.as_array();
    let pin = population_in.as_ref().map(|a| a.as_array());
    let opts = rmia::RmiaOptions { gamma, a };
    let s = runtime::run(py, None, move |_| {
        rmia::rmia_scores(t, r, ins, pt, pr, pin, opts)
    })?;
    Ok(PyArray1::from_vec(py, s))
}

/// Fits the extraction surrogate (`kind`: "logistic" or "mlp") on `x_train` (n, d) and the
/// target's probabilities `targets` (n, k), and returns its probabilities of `x_eval` (m, d).
#[pyfunction]
#[pyo3(signature = (x_train, targets, x_eval, l2, iterations, kind="logistic", hidden=32,
                    seed=0, callback=None))]
#[allow(clippy::too_many_arguments)]
fn privacy_surrogate<'py>(
    py: Python<'py>,
    x_train: PyReadonlyArray2<'py, f64>,
    targets: PyReadonlyArray2<'py, f64>,
    x_eval: PyReadonlyArray2<'py, f64>,
    l2: f64,
    iterations: usize,
    kind: &str,
    hidden: usize,
    seed: u64,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, numpy::PyArray2<f64>>> {
    let x = x_train.as_array();
    let t = targets.as_array();
    let e = x_eval.as_array();
    let out = match kind {
        "logistic" => runtime::run(py, callback, move |p| {
            extraction::fit_softmax(x, t, l2, iterations, p)?.predict(e)
        })?,
        "mlp" => runtime::run(py, callback, move |p| {
            extraction::fit_mlp(x, t, hidden, l2, iterations, seed, p)?.predict(e)
        })?,
        other => {
            return Err(CoreError::invalid(format!(
                "surrogate: expected \"logistic\" or \"mlp\", got {other:?}"
            ))
            .into())
        }
    };
    Ok(numpy::PyArray2::from_owned_array(py, out))
}
