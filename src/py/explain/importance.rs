//! Binding of permutation importance's row work (`mlsentry.explain.permutation_importance`
//! wraps it; the model is called from Python, once per feature).

use numpy::{PyArray2, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;

use crate::core::explain::importance::{
    check_permutations, mean_interval, permutations, permuted_rows,
};
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(importance_permutations, m)?)?;
    m.add_function(wrap_pyfunction!(importance_rows, m)?)?;
    m.add_function(wrap_pyfunction!(importance_interval, m)?)?;
    Ok(())
}

/// `n_repeats` seeded permutations of `0..n`: int64 (n_repeats, n); with `given`, checks
/// that each of its rows is a permutation of `0..n` and returns it.
#[pyfunction]
#[pyo3(signature = (n, n_repeats, seed, given=None))]
fn importance_permutations<'py>(
    py: Python<'py>,
    n: usize,
    n_repeats: usize,
    seed: u64,
    given: Option<PyReadonlyArray2<'py, i64>>,
) -> PyResult<Bound<'py, PyArray2<i64>>> {
    match given {
        Some(g) => {
            let view = g.as_array();
            runtime::run(py, None, move |_| check_permutations(view, n))?;
            Ok(view.to_pyarray(py))
        }
        None => {
            let out = runtime::run(py, None, move |_| Ok(permutations(n, n_repeats, seed)))?;
            Ok(PyArray2::from_owned_array(py, out))
        }
    }
}

/// The rows one model call scores for `feature`: `x` once per permutation, stacked, with
/// that column permuted. float64 (n_repeats * n, d).
#[pyfunction]
fn importance_rows<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    feature: usize,
    perms: PyReadonlyArray2<'py, i64>,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let (xv, pv) = (x.as_array(), perms.as_array());
    let out = runtime::run(py, None, move |_| permuted_rows(xv, feature, pv))?;
    Ok(PyArray2::from_owned_array(py, out))
}

/// Student t interval of the mean of each row of `values` (features x repeats).
#[pyfunction]
fn importance_interval<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, f64>,
    confidence: f64,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let v = values.as_array();
    let mut out = ndarray::Array2::<f64>::zeros((v.nrows(), 2));
    for (i, row) in v.rows().into_iter().enumerate() {
        let r: Vec<f64> = row.to_vec();
        let (lo, hi) = mean_interval(&r, confidence).map_err(PyErr::from)?;
        out[[i, 0]] = lo;
        out[[i, 1]] = hi;
    }
    Ok(PyArray2::from_owned_array(py, out))
}
