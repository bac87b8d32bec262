//! Bindings for the univariate drift tests (`mlsentry.drift.ks`, `chi2`, ... wrap them).

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::compare::outcome_dict;
use crate::core::drift::compare::{count_test, numeric_test, Test};
use crate::core::drift::ecdf::Method;
use crate::core::stats::sort::sorted_pair;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(drift_numeric_test, m)?)?;
    m.add_function(wrap_pyfunction!(drift_count_test, m)?)?;
    m.add_function(wrap_pyfunction!(kolmogorov_sf, m)?)?;
    m.add_function(wrap_pyfunction!(smirnov_sf, m)?)?;
    Ok(())
}

/// `P(D_n > x)` of the two-sided one-sample Kolmogorov-Smirnov statistic (what the
/// asymptotic two-sample p-value uses); exposed so tests can hold it against scipy.
#[pyfunction]
fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    crate::core::stats::kolmogorov::kolmogorov_sf(n, x)
}

/// `P(D+_n > x)` of the one-sided statistic (scipy.special.smirnov).
#[pyfunction]
fn smirnov_sf(n: u64, x: f64) -> f64 {
    crate::core::stats::kolmogorov::smirnov_sf(n, x)
}

/// Runs one numeric two-sample test. NaN is missing: dropped and counted.
///
/// Returns the outcome dict (statistic, pvalue, method, effect_size, details) plus
/// `n_reference`, `n_current`, `missing_reference` and `missing_current`.
#[pyfunction]
#[pyo3(signature = (test, reference, current, bins=10, method="auto"))]
fn drift_numeric_test<'py>(
    py: Python<'py>,
    test: &str,
    reference: PyReadonlyArray1<'py, f64>,
    current: PyReadonlyArray1<'py, f64>,
    bins: usize,
    method: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let test = Test::parse(test)?;
    let method = Method::parse(method)?;
    let (r, c) = (reference.as_array(), current.as_array());
    let ((rs, mr), (cs, mc), outcome) = runtime::run(py, None, |_| {
        let ((rs, mr), (cs, mc)) = sorted_pair(r, c);
        let outcome = if rs.is_empty() || cs.is_empty() {
            Err(crate::core::CoreError::invalid(format!(
                "{}: no values left after dropping missing ones ({} reference, {} current)",
                test.name(),
                rs.len(),
                cs.len()
            )))
        } else {
            numeric_test(test, &rs, &cs, bins, method)
        };
        Ok(((rs.len(), mr), (cs.len(), mc), outcome?))
    })?;
    let d = outcome_dict(py, &outcome)?;
    d.set_item("n_reference", rs)?;
    d.set_item("n_current", cs)?;
    d.set_item("missing_reference", mr)?;
    d.set_item("missing_current", mc)?;
    Ok(d)
}

/// Runs one test on category counts (equal-length count vectors, reference first).
#[pyfunction]
fn drift_count_test<'py>(
    py: Python<'py>,
    test: &str,
    reference: PyReadonlyArray1<'py, u64>,
    current: PyReadonlyArray1<'py, u64>,
) -> PyResult<Bound<'py, PyDict>> {
    let test = Test::parse(test)?;
    let rc: Vec<u64> = reference.as_array().iter().copied().collect();
    let cc: Vec<u64> = current.as_array().iter().copied().collect();
    let outcome = py.detach(|| count_test(test, &rc, &cc))?;
    let d = outcome_dict(py, &outcome)?;
    d.set_item("n_reference", rc.iter().sum::<u64>())?;
    d.set_item("n_current", cc.iter().sum::<u64>())?;
    d.set_item("test", count_test_name(test, &rc, &cc))?;
    Ok(d)
}

fn count_test_name(test: Test, rc: &[u64], cc: &[u64]) -> &'static str {
    crate::core::drift::compare::resolve_count_test(test, rc, cc).name()
}
