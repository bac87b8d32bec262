//! Bindings of the multivariate drift tests (`mlsentry.drift.mmd`, `energy` on (n, d)
//! samples and `classifier_test` wrap them).

use numpy::{PyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::drift::multivariate::check_samples;
use crate::core::drift::multivariate::classifier::classifier_test;
use crate::core::drift::multivariate::kernel::{median_distance, pooled, Kernel};
use crate::core::drift::multivariate::linear::linear_mmd;
use crate::core::drift::multivariate::quadratic::{permutation_test, Statistic};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(drift_mmd, m)?)?;
    m.add_function(wrap_pyfunction!(drift_energy_test, m)?)?;
    m.add_function(wrap_pyfunction!(drift_classifier_test, m)?)?;
    Ok(())
}

/// MMD^2 of float64 (n, d) and (m, d) samples with an RBF kernel: `method` "quadratic"
/// (unbiased, permutation p-value) or "linear" (linear-time, normal p-value).
/// `bandwidth` None: the median heuristic on the pooled rows.
#[pyfunction]
#[pyo3(signature = (reference, current, bandwidth=None, permutations=1000, seed=0, method="quadratic", callback=None))]
#[allow(clippy::too_many_arguments)]
fn drift_mmd<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    current: PyReadonlyArray2<'py, f64>,
    bandwidth: Option<f64>,
    permutations: usize,
    seed: u64,
    method: &str,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let linear = match method {
        "quadratic" => false,
        "linear" => true,
        other => {
            return Err(CoreError::invalid(format!(
                "method: expected quadratic or linear, got {other:?}"
            ))
            .into())
        }
    };
    if let Some(b) = bandwidth {
        if !(b > 0.0 && b.is_finite()) {
            return Err(CoreError::invalid(format!(
                "bandwidth: expected a positive number, got {b}"
            ))
            .into());
        }
    }
    let (x, y) = (reference.as_array(), current.as_array());
    let d = PyDict::new(py);
    let (l, stat, pvalue, extra) = runtime::run(py, callback, |progress| {
        check_samples(x, y, if linear { 4 } else { 2 })?;
        let l = match bandwidth {
            Some(b) => b,
            None => median_distance(pooled(x, y)?.view(), seed)?,
        };
        if linear {
            let o = linear_mmd(x, y, l, seed)?;
            Ok((l, o.statistic, Some(o.pvalue), Some((o.pairs, o.sd))))
        } else {
            let kernel = Kernel::Rbf { bandwidth: l };
            let o = permutation_test(
                x,
                y,
                Statistic::MmdUnbiased,
                kernel,
                permutations,
                seed,
                progress,
            )?;
            Ok((l, o.statistic, o.pvalue, None))
        }
    })?;
    d.set_item("statistic", stat)?;
    d.set_item("pvalue", pvalue)?;
    d.set_item("bandwidth", l)?;
    if let Some((pairs, sd)) = extra {
        d.set_item("pairs", pairs)?;
        d.set_item("sd", sd)?;
    }
    Ok(d)
}

/// The energy statistic of (n, d) and (m, d) samples with a permutation p-value.
#[pyfunction]
#[pyo3(signature = (reference, current, permutations=1000, seed=0, callback=None))]
fn drift_energy_test<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    current: PyReadonlyArray2<'py, f64>,
    permutations: usize,
    seed: u64,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, y) = (reference.as_array(), current.as_array());
    let o = runtime::run(py, callback, |progress| {
        check_samples(x, y, 1)?;
        permutation_test(
            x,
            y,
            Statistic::Energy,
            Kernel::Distance,
            permutations,
            seed,
            progress,
        )
    })?;
    let d = PyDict::new(py);
    d.set_item("statistic", o.statistic)?;
    d.set_item("pvalue", o.pvalue)?;
    Ok(d)
}

/// The classifier two-sample test: held-out AUC and its one-sided Mann-Whitney p-value.
#[pyfunction]
#[pyo3(signature = (reference, current, holdout=0.5, seed=0))]
fn drift_classifier_test<'py>(
    py: Python<'py>,
    reference: PyReadonlyArray2<'py, f64>,
    current: PyReadonlyArray2<'py, f64>,
    holdout: f64,
    seed: u64,
) -> PyResult<Bound<'py, PyDict>> {
    let (x, y) = (reference.as_array(), current.as_array());
    let o = runtime::run(py, None, |_| {
        check_samples(x, y, 2)?;
        classifier_test(x, y, holdout, seed)
    })?;
    let d = PyDict::new(py);
    d.set_item("auc", o.auc)?;
    d.set_item("pvalue", o.pvalue)?;
    d.set_item("held_out", o.held_out)?;
    d.set_item("terms", o.terms)?;
    d.set_item("scores", PyArray1::from_vec(py, o.scores))?;
    Ok(d)
}
