//! Binding of the group metrics and their bootstrap (`mlsentry.fairness.evaluate` wraps it).

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::explain::fairness::{
    bootstrap, count_cells, grouping_values, score_metrics, Grouping, Resamples, DISPARITIES,
    GROUP_METRICS,
};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(fairness_groups, m)?)?;
    m.add_function(wrap_pyfunction!(fairness_scores, m)?)?;
    m.add("FAIRNESS_GROUP_METRICS", GROUP_METRICS.to_vec())?;
    m.add("FAIRNESS_DISPARITIES", DISPARITIES.to_vec())?;
    Ok(())
}

fn contiguous<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| CoreError::InvalidType(format!("{what}: expected a contiguous array")).into())
}

fn flat<T: Copy>(rows: &[[T; 5]]) -> Vec<T> {
    rows.iter().flat_map(|r| r.iter().copied()).collect()
}

fn rows5<'py>(py: Python<'py>, rows: &[[f64; 5]]) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, flat(rows))
        .reshape([rows.len(), 5])?
        .into_any())
}

/// Group metrics, disparities and (with `n_boot > 0` or `resamples`) their percentile
/// bootstrap intervals, without the GIL.
///
/// `cells`: uint32 (n,), `igroup * 4 + 2 * y_true + y_pred`; `maps`: one int64 array per
/// grouping, the group of each intersection group; `n_groups`: the size of each grouping.
/// Returns one dict per grouping: `metrics` (g, 5), `counts` (g,), `disparities` (5,) and,
/// when bootstrapped, `metrics_low`/`metrics_high` (g, 5) and `disparities_low`/`_high`.
#[pyfunction]
#[pyo3(signature = (cells, n_igroups, maps, n_groups, n_boot, seed, quantiles, resamples=None,
                    callback=None))]
#[allow(clippy::too_many_arguments)]
fn fairness_groups<'py>(
    py: Python<'py>,
    cells: PyReadonlyArray1<'py, u32>,
    n_igroups: usize,
    maps: Vec<PyReadonlyArray1<'py, i64>>,
    n_groups: Vec<usize>,
    n_boot: usize,
    seed: u64,
    quantiles: (f64, f64),
    resamples: Option<PyReadonlyArray2<'py, i64>>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    if maps.len() != n_groups.len() {
        return Err(CoreError::invalid("maps and n_groups must have the same length").into());
    }
    let mut groupings = Vec::with_capacity(maps.len());
    for (m, &k) in maps.iter().zip(&n_groups) {
        let map = contiguous(m, "maps")?
            .iter()
            .map(|&g| usize::try_from(g).unwrap_or(usize::MAX))
            .collect();
        groupings.push(Grouping::new(map, k)?);
    }
    let cells = contiguous(&cells, "cells")?;
    let view = resamples.as_ref().map(|r| r.as_array());
    let groupings_ref = &groupings;
    let (points, intervals) = runtime::run(py, callback, move |p| {
        let counts = count_cells(cells, n_igroups)?;
        let points: Vec<_> = groupings_ref
            .iter()
            .map(|g| grouping_values(&counts, g))
            .collect();
        let source = match view {
            Some(v) => Some(Resamples::Given(v)),
            None if n_boot > 0 => Some(Resamples::Drawn { n_boot, seed }),
            None => None,
        };
        let intervals = match source {
            Some(s) => Some(bootstrap(cells, n_igroups, groupings_ref, s, quantiles, p)?),
            None => None,
        };
        Ok((points, intervals))
    })?;
    let mut out = Vec::with_capacity(points.len());
    for (i, v) in points.iter().enumerate() {
        let d = PyDict::new(py);
        d.set_item("metrics", rows5(py, &v.metrics)?)?;
        d.set_item("counts", PyArray1::from_vec(py, v.counts.clone()))?;
        d.set_item(
            "disparities",
            PyArray1::from_vec(py, v.disparities.to_vec()),
        )?;
        if let Some(iv) = intervals.as_ref().and_then(|all| all.get(i)) {
            d.set_item("metrics_low", rows5(py, &iv.metrics_low)?)?;
            d.set_item("metrics_high", rows5(py, &iv.metrics_high)?)?;
            d.set_item(
                "disparities_low",
                PyArray1::from_vec(py, iv.disparities_low.to_vec()),
            )?;
            d.set_item(
                "disparities_high",
                PyArray1::from_vec(py, iv.disparities_high.to_vec()),
            )?;
        }
        out.push(d);
    }
    Ok(out)
}

/// ROC AUC, Brier score and mean score per group: float64 (g, 3), NaN where undefined.
#[pyfunction]
fn fairness_scores<'py>(
    py: Python<'py>,
    score: PyReadonlyArray1<'py, f64>,
    y_true: PyReadonlyArray1<'py, u8>,
    group: PyReadonlyArray1<'py, u32>,
    n_groups: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (s, y, g) = (
        contiguous(&score, "y_score")?,
        contiguous(&y_true, "y_true")?,
        contiguous(&group, "groups")?,
    );
    let out = runtime::run(py, None, move |_| score_metrics(s, y, g, n_groups))?;
    let flat: Vec<f64> = out.iter().flat_map(|r| r.iter().copied()).collect();
    Ok(PyArray1::from_vec(py, flat)
        .reshape([out.len(), 3])?
        .into_any())
}
