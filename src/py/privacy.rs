//! Bindings of privacy (`mlsentry.privacy` wraps them).

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::core::privacy::{bounds, extraction, lira, rmia, roc, signals, summary};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(privacy_roc, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_clopper_pearson, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_epsilon_lower_bound, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_signals, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_summaries, m)?)?;
    m.add_function(wrap_pyfunction!(privacy_signal_summaries, m)?)?;
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

fn summaries_list<'py>(
    py: Python<'py>,
    all: Vec<summary::AttackSummary>,
) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    let as_i64 = |v: Vec<u64>| -> Vec<i64> { v.into_iter().map(|c| c as i64).collect() };
    for a in all {
        let d = PyDict::new(py);
        d.set_item("tp", PyArray1::from_vec(py, as_i64(a.roc.tp)))?;
        d.set_item("fp", PyArray1::from_vec(py, as_i64(a.roc.fp)))?;
        d.set_item("thresholds", PyArray1::from_vec(py, a.roc.thresholds))?;
        d.set_item("n_members", a.roc.n_members)?;
        d.set_item("n_nonmembers", a.roc.n_nonmembers)?;
        d.set_item("auc", a.roc.auc)?;
        d.set_item("tpr", a.tpr)?;
        d.set_item("tpr_low", a.tpr_interval.0)?;
        d.set_item("tpr_high", a.tpr_interval.1)?;
        d.set_item("epsilon", a.epsilon)?;
        let counts: Vec<Vec<i64>> = a
            .per_class
            .iter()
            .map(|c| vec![c.label, c.n_members as i64, c.n_nonmembers as i64])
            .collect();
        let rates: Vec<Vec<f64>> = a.per_class.iter().map(|c| vec![c.auc, c.tpr]).collect();
        d.set_item("class_counts", counts)?;
        d.set_item("class_rates", rates)?;
        let exposed: Vec<i64> = a.exposed.into_iter().map(|i| i as i64).collect();
        d.set_item("exposed", PyArray1::from_vec(py, exposed))?;
        out.append(d)?;
    }
    Ok(out)
}

fn signals_dict<'py>(py: Python<'py>, s: signals::Signals) -> PyResult<Bound<'py, PyDict>> {
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
    signals_dict(py, s)
}

/// The signals of `probs` (n, k) for `labels` (as `privacy_signals`) and the summaries (as
/// `privacy_summaries`, per class by `labels`) of the signal `attacks` named, in one call.
#[pyfunction]
#[pyo3(signature = (probs, labels, attacks, is_member, at_fpr, confidence, delta, exposed))]
#[allow(clippy::too_many_arguments)]
fn privacy_signal_summaries<'py>(
    py: Python<'py>,
    probs: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
    attacks: Vec<String>,
    is_member: PyReadonlyArray1<'py, bool>,
    at_fpr: f64,
    confidence: f64,
    delta: f64,
    exposed: usize,
) -> PyResult<(Bound<'py, PyDict>, Bound<'py, PyList>)> {
    let p = probs.as_array();
    let y = contiguous(&labels, "labels")?;
    let m = contiguous(&is_member, "is_member")?;
    let kinds = attacks
        .iter()
        .map(|a| summary::SignalAttack::from_name(a))
        .collect::<Result<Vec<_>, _>>()?;
    let settings = summary::Settings {
        at_fpr,
        confidence,
        delta,
        exposed,
    };
    let (sig, all) = runtime::run(py, None, move |_| {
        summary::summarize_signals(p, y, &kinds, m, &settings)
    })?;
    Ok((signals_dict(py, sig)?, summaries_list(py, all)?))
}

/// Every attack's report numbers in one call: `scores` (attacks, records), `is_member`,
/// optional `labels` (class indices, for per-class results). One dict per attack: the ROC
/// (`tp`, `fp`, `thresholds`, `n_members`, `n_nonmembers`, `auc`), `tpr`, `tpr_low`,
/// `tpr_high` (at `at_fpr`), `epsilon`,
/// `class_counts` (per class with both sides, ascending: label, members, non-members),
/// `class_rates` (auc, tpr) and `exposed` (int64 positions of the most exposed members).
#[pyfunction]
#[pyo3(signature = (scores, is_member, labels, at_fpr, confidence, delta, exposed))]
#[allow(clippy::too_many_arguments)]
fn privacy_summaries<'py>(
    py: Python<'py>,
    scores: PyReadonlyArray2<'py, f64>,
    is_member: PyReadonlyArray1<'py, bool>,
    labels: Option<PyReadonlyArray1<'py, i64>>,
    at_fpr: f64,
    confidence: f64,
    delta: f64,
    exposed: usize,
) -> PyResult<Bound<'py, PyList>> {
    let sc = scores.as_array();
    let m = contiguous(&is_member, "is_member")?;
    let l = match labels.as_ref() {
        Some(a) => Some(contiguous(a, "labels")?),
        None => None,
    };
    let settings = summary::Settings {
        at_fpr,
        confidence,
        delta,
        exposed,
    };
    let all = runtime::run(py, None, move |_| {
        summary::summarize_all(sc, m, l, &settings)
    })?;
    summaries_list(py, all)
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
