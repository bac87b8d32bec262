//! Bindings of Tree SHAP and Kernel SHAP (`mlsentry.explain` wraps them).

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyReadonlyArray3, PyUntypedArrayMethods,
};
use pyo3::prelude::*;

use crate::core::explain::shap::kernel::{self, Coalitions};
use crate::core::explain::shap::tree_shap::{self, TreeShap};
use crate::core::explain::shap::trees::{Ensemble, EnsembleParts};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TreeEnsemble>()?;
    m.add_function(wrap_pyfunction!(kernel_coalitions, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_stack_rows, m)?)?;
    m.add_function(wrap_pyfunction!(kernel_solve, m)?)?;
    m.add("KERNEL_MAX_EXACT_FEATURES", kernel::MAX_EXACT_FEATURES)?;
    Ok(())
}

fn contiguous<'a, T: numpy::Element>(
    a: &'a PyReadonlyArray1<'_, T>,
    what: &str,
) -> PyResult<&'a [T]> {
    a.as_slice()
        .map_err(|_| CoreError::InvalidType(format!("{what}: expected a contiguous array")).into())
}

fn as_usize(v: &[i64], what: &str) -> PyResult<Vec<usize>> {
    v.iter()
        .map(|&x| {
            usize::try_from(x)
                .map_err(|_| PyErr::from(CoreError::invalid(format!("{what}: negative entry {x}"))))
        })
        .collect()
}

/// A tree ensemble read from any library into flat node arrays (see
/// `core::explain::shap::trees`).
#[pyclass(frozen, module = "mlsentry._core")]
pub struct TreeEnsemble {
    inner: Ensemble,
}

fn shap_arrays<'py>(
    py: Python<'py>,
    r: TreeShap,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)> {
    let values = PyArray1::from_vec(py, r.values).reshape([r.n, r.d, r.k])?;
    Ok((values.into_any(), PyArray1::from_vec(py, r.base)))
}

#[pymethods]
impl TreeEnsemble {
    #[new]
    #[pyo3(signature = (left, right, feature, threshold, flags, cover, values, starts,
                        tree_output, n_outputs, n_features, base_offset, float32_input))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        left: PyReadonlyArray1<'_, i64>,
        right: PyReadonlyArray1<'_, i64>,
        feature: PyReadonlyArray1<'_, i64>,
        threshold: PyReadonlyArray1<'_, f64>,
        flags: PyReadonlyArray1<'_, u8>,
        cover: PyReadonlyArray1<'_, f64>,
        values: PyReadonlyArray2<'_, f64>,
        starts: PyReadonlyArray1<'_, i64>,
        tree_output: PyReadonlyArray1<'_, i64>,
        n_outputs: usize,
        n_features: usize,
        base_offset: PyReadonlyArray1<'_, f64>,
        float32_input: bool,
    ) -> PyResult<Self> {
        let values = values.as_array();
        let parts = EnsembleParts {
            left: contiguous(&left, "left")?.to_vec(),
            right: contiguous(&right, "right")?.to_vec(),
            feature: contiguous(&feature, "feature")?.to_vec(),
            threshold: contiguous(&threshold, "threshold")?.to_vec(),
            flags: contiguous(&flags, "flags")?.to_vec(),
            cover: contiguous(&cover, "cover")?.to_vec(),
            width: values.ncols(),
            values: values.iter().copied().collect(),
            starts: as_usize(contiguous(&starts, "starts")?, "starts")?,
            tree_output: as_usize(contiguous(&tree_output, "tree_output")?, "tree_output")?,
            n_outputs,
            n_features,
            base_offset: contiguous(&base_offset, "base_offset")?.to_vec(),
            float32_input,
        };
        Ok(TreeEnsemble {
            inner: Ensemble::new(parts)?,
        })
    }

    #[getter]
    fn n_trees(&self) -> usize {
        self.inner.n_trees()
    }

    #[getter]
    fn n_outputs(&self) -> usize {
        self.inner.n_outputs
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features
    }

    #[getter]
    fn max_depth(&self) -> usize {
        self.inner.max_depth
    }

    /// Raw outputs `(n, k)`: the trees summed in float64 plus the offset.
    #[pyo3(signature = (x, callback=None))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        callback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let view = x.as_array();
        let n = view.nrows();
        let e = &self.inner;
        let out = runtime::run(py, callback, move |p| tree_shap::predict(e, view, p))?;
        Ok(PyArray1::from_vec(py, out)
            .reshape([n, e.n_outputs])?
            .into_any())
    }

    /// `(values (n, d, k), base (k,))`: path-dependent Tree SHAP, or interventional against
    /// `background`.
    #[pyo3(signature = (x, background=None, callback=None))]
    fn shap<'py>(
        &self,
        py: Python<'py>,
        x: PyReadonlyArray2<'py, f64>,
        background: Option<PyReadonlyArray2<'py, f64>>,
        callback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)> {
        let view = x.as_array();
        let e = &self.inner;
        let r = match &background {
            None => runtime::run(py, callback, move |p| tree_shap::path_dependent(e, view, p))?,
            Some(bg) => {
                let bg = bg.as_array();
                runtime::run(py, callback, move |p| {
                    tree_shap::interventional(e, view, bg, p)
                })?
            }
        };
        shap_arrays(py, r)
    }
}

/// `(masks (c, d) uint8, weights (c,))`: every coalition (`pairs` None) or `pairs` paired
/// samples from the Shapley kernel.
#[pyfunction]
#[pyo3(signature = (d, pairs=None, seed=0))]
fn kernel_coalitions<'py>(
    py: Python<'py>,
    d: usize,
    pairs: Option<usize>,
    seed: u64,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyArray1<f64>>)> {
    let co = match pairs {
        None => kernel::all_coalitions(d)?,
        Some(p) => kernel::sampled_coalitions(d, p, seed)?,
    };
    let c = co.len();
    let masks = PyArray1::from_vec(py, co.masks).reshape([c, d])?;
    Ok((masks.into_any(), PyArray1::from_vec(py, co.weights)))
}

/// The stacked model inputs `(n * c * m, d)` for a batch of coalitions; written into
/// `out` (C-contiguous, exactly that shape) and returned when given.
#[pyfunction]
#[pyo3(signature = (x, background, masks, out=None))]
fn kernel_stack_rows<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    background: PyReadonlyArray2<'py, f64>,
    masks: PyReadonlyArray2<'py, u8>,
    out: Option<Bound<'py, PyArray2<f64>>>,
) -> PyResult<Bound<'py, PyAny>> {
    let (xv, bv) = (x.as_array(), background.as_array());
    let masks: Vec<u8> = masks.as_array().iter().copied().collect();
    let Some(target) = out else {
        let rows = runtime::run(py, None, move |_| kernel::stack_rows(xv, bv, &masks))?;
        return Ok(rows.into_pyarray(py).into_any());
    };
    if !target.is_c_contiguous() {
        return Err(
            CoreError::InvalidType("out: expected a C-contiguous float64 array".into()).into(),
        );
    }
    if target.shape().get(1) != Some(&xv.ncols()) {
        return Err(CoreError::invalid(format!(
            "out: expected {} columns, got shape {:?}",
            xv.ncols(),
            target.shape()
        ))
        .into());
    }
    {
        let mut buffer = target.try_readwrite().map_err(|_| {
            PyErr::from(CoreError::invalid(
                "out: the array is not writeable or is in use",
            ))
        })?;
        let slice = buffer.as_slice_mut().map_err(|_| {
            PyErr::from(CoreError::InvalidType(
                "out: expected a C-contiguous float64 array".into(),
            ))
        })?;
        runtime::run(py, None, move |_| {
            kernel::stack_rows_into(xv, bv, &masks, slice)
        })?;
    }
    Ok(target.into_any())
}

/// `(attributions (n, d, k), order)` from the coalition values `(n, c, k)`: the fit of a
/// polynomial of `order` in the coalition indicators (None: 3 for enough sampled
/// coalitions, else 1; see `kernel::default_order`), and the order actually fitted.
#[pyfunction]
#[pyo3(signature = (masks, weights, values, fnull, fx, order=None, callback=None))]
#[allow(clippy::too_many_arguments)]
fn kernel_solve<'py>(
    py: Python<'py>,
    masks: PyReadonlyArray2<'py, u8>,
    weights: PyReadonlyArray1<'py, f64>,
    values: PyReadonlyArray3<'py, f64>,
    fnull: PyReadonlyArray1<'py, f64>,
    fx: PyReadonlyArray2<'py, f64>,
    order: Option<usize>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let m = masks.as_array();
    let d = m.ncols();
    let co = Coalitions {
        masks: m.iter().copied().collect(),
        weights: weights.as_array().to_vec(),
        d,
    };
    if co.weights.len() != m.nrows() || d == 0 {
        return Err(CoreError::invalid("weights: one per coalition").into());
    }
    let every = d < usize::BITS as usize && co.len() == (1usize << d).saturating_sub(2);
    let order = order.unwrap_or_else(|| kernel::default_order(d, co.len(), every));
    let (v, fx) = (values.as_array(), fx.as_array());
    let (n, _, k) = v.dim();
    let fnull = fnull.as_array().to_vec();
    let (out, used) = runtime::run(py, callback, move |p| {
        kernel::solve(&co, v, &fnull, fx, order, p)
    })?;
    Ok((
        PyArray1::from_vec(py, out).reshape([n, d, k])?.into_any(),
        used,
    ))
}
