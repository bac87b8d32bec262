//! Binding of the label-issue search (`mlsentry.data.label_issues` wraps it).

use numpy::{PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::data::labels::{
    find_label_issues, round_row_totals as round_rows, Calibrate, Filter, LabelIssues, Options,
    RankBy, ROW_SUM_TOLERANCE,
};
use crate::core::parallel;
use crate::core::{CoreError, CoreResult};
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(label_issues, m)?)?;
    m.add_function(wrap_pyfunction!(round_row_totals, m)?)?;
    m.add("LABEL_FILTERS", Filter::NAMES.to_vec())?;
    m.add("LABEL_RANKINGS", RankBy::NAMES.to_vec())?;
    m.add("LABEL_ROW_SUM_TOLERANCE", ROW_SUM_TOLERANCE)?;
    Ok(())
}

enum HeldProbs<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
}

impl<'py> HeldProbs<'py> {
    fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray2<'py, f64>>() {
            Ok(HeldProbs::F64(a))
        } else if let Ok(a) = obj.extract::<PyReadonlyArray2<'py, f32>>() {
            Ok(HeldProbs::F32(a))
        } else {
            Err(CoreError::InvalidType(
                "pred_probs: expected a 2-D float64 or float32 numpy array".into(),
            )
            .into())
        }
    }
}

fn square<'py>(
    py: Python<'py>,
    v: Vec<impl numpy::Element>,
    k: usize,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(PyArray1::from_vec(py, v).reshape([k, k])?.into_any())
}

fn output<'py>(py: Python<'py>, r: LabelIssues) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let k = r.k;
    let ranked: Vec<i64> = r.ranked.iter().map(|&i| i as i64).collect();
    let as_i64 = |v: &[usize]| -> Vec<i64> { v.iter().map(|&c| c as i64).collect() };
    d.set_item("mask", PyArray1::from_vec(py, r.mask))?;
    d.set_item("ranked", PyArray1::from_vec(py, ranked))?;
    d.set_item("scores", PyArray1::from_vec(py, r.scores))?;
    d.set_item("thresholds", PyArray1::from_vec(py, r.thresholds))?;
    d.set_item("confident_joint", square(py, r.confident_joint, k)?)?;
    d.set_item("joint", square(py, r.joint, k)?)?;
    d.set_item("noise_matrix", square(py, r.noise_matrix, k)?)?;
    d.set_item(
        "given_counts",
        PyArray1::from_vec(py, as_i64(&r.given_counts)),
    )?;
    d.set_item(
        "flagged_counts",
        PyArray1::from_vec(py, as_i64(&r.flagged_counts)),
    )?;
    d.set_item("true_counts", PyArray1::from_vec(py, r.true_counts))?;
    Ok(d)
}

/// `calibrate(raw, given)` in Python: the raw confident joint (k x k int64) and the
/// given-label counts in, the calibrated joint (k x k integers) out. Called once, from the
/// worker thread, which takes the GIL for it.
fn call_calibrate(f: &Py<PyAny>, raw: &[i64], given: &[usize]) -> CoreResult<Vec<i64>> {
    Python::attach(|py| -> PyResult<Vec<i64>> {
        let k = given.len();
        let raw = square(py, raw.to_vec(), k)?;
        let given: Vec<i64> = given.iter().map(|&c| c as i64).collect();
        let out = f.call1(py, (raw, PyArray1::from_vec(py, given)))?;
        let out: PyReadonlyArray2<'_, i64> = out.extract(py)?;
        let values: Vec<i64> = out.as_array().iter().copied().collect();
        Ok(values)
    })
    .map_err(|e| CoreError::invalid(format!("calibrating the confident joint failed: {e}")))
}

/// Confident learning on out-of-sample probabilities, without the GIL.
///
/// `labels`: int64 (n,); `pred_probs`: float64 or float32 (n, k), any strides, read in
/// place; `calibrate`: a Python function `(raw, given) -> calibrated` for the k x k
/// calibration, or None to calibrate in Rust. Returns a dict of numpy arrays (see
/// `LabelIssues`).
#[pyfunction]
#[pyo3(signature = (labels, pred_probs, method="prune_by_noise_rate", rank_by="self_confidence",
                    frac_noise=1.0, min_examples_per_class=1, calibrate=None, callback=None))]
#[allow(clippy::too_many_arguments)]
fn label_issues<'py>(
    py: Python<'py>,
    labels: PyReadonlyArray1<'py, i64>,
    pred_probs: &Bound<'py, PyAny>,
    method: &str,
    rank_by: &str,
    frac_noise: f64,
    min_examples_per_class: usize,
    calibrate: Option<Bound<'py, PyAny>>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = Options {
        filter: Filter::parse(method)?,
        rank_by: RankBy::parse(rank_by)?,
        frac_noise,
        min_examples_per_class,
    };
    let held = HeldProbs::extract(pred_probs)?;
    let labels = labels.as_slice().map_err(|_| {
        PyErr::from(CoreError::InvalidType(
            "labels: expected a contiguous int64 array".into(),
        ))
    })?;
    let calibrate: Option<Py<PyAny>> = calibrate.map(Bound::unbind);
    let by_python = |raw: &[i64], given: &[usize]| match &calibrate {
        Some(f) => call_calibrate(f, raw, given),
        None => Err(CoreError::invalid("no calibration function")),
    };
    let cal: Option<Calibrate<'_>> = if calibrate.is_some() {
        Some(&by_python)
    } else {
        None
    };
    let result = match &held {
        HeldProbs::F64(a) => {
            let view = a.as_array();
            runtime::run(py, callback, move |p| {
                find_label_issues(view, labels, &opts, cal, p)
            })?
        }
        HeldProbs::F32(a) => {
            let view = a.as_array();
            runtime::run(py, callback, move |p| {
                find_label_issues(view, labels, &opts, cal, p)
            })?
        }
    };
    output(py, result)
}

/// cleanlab's `round_preserving_row_totals` of a C-contiguous float64 matrix (r, c), rows in
/// parallel without the GIL, equal remainders ordered by column. Returns the int64 matrix
/// and the rows (int64, ascending) where numpy's unstable argsort could choose otherwise.
#[pyfunction]
fn round_row_totals<'py>(
    py: Python<'py>,
    scaled: PyReadonlyArray2<'py, f64>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<i64>>)> {
    let view = scaled.as_array();
    let (rows, cols) = view.dim();
    // ndarray's `as_slice` is C order only (numpy's would take Fortran order too).
    let values = view.as_slice().ok_or_else(|| {
        PyErr::from(CoreError::InvalidType(
            "scaled: expected a C-contiguous float64 matrix".into(),
        ))
    })?;
    if let Some(x) = values.iter().find(|x| !x.is_finite()) {
        return Err(CoreError::invalid(format!("scaled: values must be finite, got {x}")).into());
    }
    let (ints, unsure) = py.detach(|| parallel::install(|| round_rows(values, cols)))?;
    let unsure: Vec<i64> = unsure.iter().map(|&i| i as i64).collect();
    let ints = PyArray1::from_vec(py, ints)
        .reshape([rows, cols])?
        .into_any();
    Ok((ints, PyArray1::from_vec(py, unsure)))
}
