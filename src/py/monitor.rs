//! Bindings of monitor: out-of-distribution scores and the online MMD detector
//! (`mlsentry.monitor` wraps them).

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::monitor::features::{configure_features, step_features, FeaturesState};
use crate::core::monitor::online::{configure, state_rows, step, OnlineState};
use crate::core::monitor::ood::{
    knn_distances, mahalanobis_fit, mahalanobis_scores, IsolationForest,
};
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(monitor_knn, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_mahalanobis_fit, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_mahalanobis, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_isolation, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_online_configure, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_online_step, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_features_configure, m)?)?;
    m.add_function(wrap_pyfunction!(monitor_features_step, m)?)?;
    Ok(())
}

/// Distance from each row of `queries` to its `k`-th nearest row of `reference`.
#[pyfunction]
fn monitor_knn<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    queries: PyReadonlyArray2<'py, f64>,
    k: usize,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (r, q) = (reference.as_array(), queries.as_array());
    let out = runtime::run(py, None, |_| knn_distances(r, q, k))?;
    Ok(PyArray1::from_vec(py, out))
}

type MeanAndFactor<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray2<f64>>);

/// Mean and lower Cholesky factor of the covariance of `x`.
#[pyfunction]
fn monitor_mahalanobis_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
) -> PyResult<MeanAndFactor<'py>> {
    let v = x.as_array();
    let (mean, chol) = runtime::run(py, None, |_| mahalanobis_fit(v))?;
    Ok((mean.to_pyarray(py), chol.to_pyarray(py)))
}

/// Squared Mahalanobis distances of the rows of `x`.
#[pyfunction]
fn monitor_mahalanobis<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    mean: PyReadonlyArray1<'py, f64>,
    chol: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (v, m, l) = (x.as_array(), mean.as_array(), chol.as_array());
    let out = runtime::run(py, None, |_| mahalanobis_scores(v, m, l))?;
    Ok(PyArray1::from_vec(py, out))
}

/// Isolation-forest scores of `queries` from a forest grown (deterministically from
/// `seed`) on `train`.
#[pyfunction]
fn monitor_isolation<'py>(
    py: Python<'py>,
    train: PyReadonlyArray2<'py, f64>,
    queries: PyReadonlyArray2<'py, f64>,
    trees: usize,
    max_samples: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (t, q) = (train.as_array(), queries.as_array());
    let out = runtime::run(py, None, |_| {
        if q.ncols() != t.ncols() {
            return Err(crate::core::CoreError::invalid(format!(
                "X: expected {} features, got {}",
                t.ncols(),
                q.ncols()
            )));
        }
        Ok(IsolationForest::fit(t, trees, max_samples, seed)?.scores(q))
    })?;
    Ok(PyArray1::from_vec(py, out))
}

/// Thresholds of the online MMD detector, calibrated by simulation for `ert`.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn monitor_online_configure<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    held_out: PyReadonlyArray2<'py, f64>,
    bandwidth: f64,
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (r, c) = (reference.as_array(), held_out.as_array());
    let out = runtime::run(py, None, |_| {
        configure(r, c, bandwidth, window, ert, horizon, streams, seed)
    })?;
    Ok(PyArray1::from_vec(py, out))
}

/// Feeds `batch` to the online detector whose state is (`rows`, `means`, `t`); returns
/// the statistics, the alarm positions and the new state.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn monitor_online_step<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    bandwidth: f64,
    thresholds: PyReadonlyArray1<'py, f64>,
    window: usize,
    rows: PyReadonlyArray2<'py, f64>,
    means: PyReadonlyArray1<'py, f64>,
    t: usize,
    batch: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let r = reference.as_array();
    let th = thresholds.as_array().to_vec();
    let mut state = OnlineState {
        rows: rows.as_array().outer_iter().map(|v| v.to_vec()).collect(),
        means: means.as_array().to_vec(),
        t,
    };
    let b = batch.as_array();
    let d = r.ncols();
    let (out, state) = runtime::run(py, None, move |_| {
        let out = step(r, bandwidth, &th, window, &mut state, b)?;
        Ok((out, state))
    })?;
    let dict = PyDict::new(py);
    dict.set_item("statistics", PyArray1::from_vec(py, out.statistics))?;
    dict.set_item("alarms", out.alarms)?;
    dict.set_item("rows", state_rows(&state, d).to_pyarray(py))?;
    dict.set_item("means", PyArray1::from_vec(py, state.means))?;
    dict.set_item("t", state.t)?;
    Ok(dict)
}

/// Thresholds `(horizon, d)` of the per-feature online detectors, calibrated by simulation
/// so that the combined detector has `ert` (see `core::monitor::features`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn monitor_features_configure<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    held_out: PyReadonlyArray2<'py, f64>,
    bandwidths: Vec<f64>,
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    seed: u64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (r, c) = (reference.as_array(), held_out.as_array());
    let out = runtime::run(py, None, |_| {
        configure_features(r, c, &bandwidths, window, ert, horizon, streams, seed)
    })?;
    Ok(out.to_pyarray(py))
}

/// Feeds `batch` to the per-feature detectors whose state is (`rows`, `means`, `t`);
/// returns the margins, the alarms (row, features) and the new state.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn monitor_features_step<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    bandwidths: Vec<f64>,
    thresholds: PyReadonlyArray2<'py, f64>,
    window: usize,
    rows: PyReadonlyArray2<'py, f64>,
    means: PyReadonlyArray2<'py, f64>,
    t: usize,
    batch: PyReadonlyArray2<'py, f64>,
) -> PyResult<Bound<'py, PyDict>> {
    let (r, th, b) = (
        reference.as_array(),
        thresholds.as_array(),
        batch.as_array(),
    );
    let mut state = FeaturesState {
        rows: rows.as_array().outer_iter().map(|v| v.to_vec()).collect(),
        means: means.as_array().outer_iter().map(|v| v.to_vec()).collect(),
        t,
    };
    let d = r.ncols();
    let (out, state) = runtime::run(py, None, move |_| {
        let out = step_features(r, &bandwidths, th, window, &mut state, b)?;
        Ok((out, state))
    })?;
    let matrix = |v: &[Vec<f64>]| {
        let mut a = ndarray::Array2::<f64>::zeros((v.len(), d));
        for (i, row) in v.iter().enumerate() {
            for (j, x) in row.iter().enumerate() {
                a[[i, j]] = *x;
            }
        }
        a
    };
    let dict = PyDict::new(py);
    dict.set_item("margins", PyArray1::from_vec(py, out.margins))?;
    dict.set_item("alarms", out.alarms)?;
    dict.set_item("rows", matrix(&state.rows).to_pyarray(py))?;
    dict.set_item("means", matrix(&state.means).to_pyarray(py))?;
    dict.set_item("t", state.t)?;
    Ok(dict)
}
