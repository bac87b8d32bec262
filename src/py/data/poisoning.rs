//! Binding of the poisoning scores (`mlsentry.data.poisoning` wraps it).

use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::data::poisoning::{self, ClusterAnalysis, Method, Params};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(data_poisoning, m)?)?;
    Ok(())
}

/// Scores the float64 rows `features` (n, d) with int64 class indices `labels` in
/// `0..n_classes` by `method` and picks the suspects, without the GIL.
#[pyfunction]
#[pyo3(signature = (
    features, labels, n_classes, method, expected_fraction, multiplier,
    centered=true, nb_dims=10, n_init=4, seed=0, k=10, cluster_analysis="smaller",
    callback=None
))]
#[allow(clippy::too_many_arguments)]
fn data_poisoning<'py>(
    py: Python<'py>,
    features: PyReadonlyArray2<'py, f64>,
    labels: PyReadonlyArray1<'py, i64>,
    n_classes: usize,
    method: &str,
    expected_fraction: f64,
    multiplier: f64,
    centered: bool,
    nb_dims: usize,
    n_init: usize,
    seed: u64,
    k: usize,
    cluster_analysis: &str,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let analysis = match cluster_analysis {
        "smaller" => ClusterAnalysis::Smaller,
        "less_cohesive" => ClusterAnalysis::LessCohesive,
        other => {
            return Err(CoreError::invalid(format!(
                "cluster_analysis: expected smaller or less_cohesive, got {other:?}"
            ))
            .into())
        }
    };
    let method = match method {
        "spectral" => Method::Spectral { centered },
        "activation_clustering" => Method::ActivationClustering {
            nb_dims,
            n_init,
            seed,
            analysis,
        },
        "knn" => Method::Knn { k },
        other => {
            return Err(CoreError::invalid(format!(
                "method: expected spectral, activation_clustering or knn, got {other:?}"
            ))
            .into())
        }
    };
    let params = Params {
        method,
        expected_fraction,
        multiplier,
    };
    let x = features.as_array();
    let y = labels
        .as_slice()
        .map_err(|_| CoreError::InvalidType("labels: expected a contiguous int64 array".into()))?;
    let out = runtime::run(py, callback, |p| {
        poisoning::poisoning(x, y, n_classes, &params, p)
    })?;
    let d = PyDict::new(py);
    d.set_item("scores", PyArray1::from_vec(py, out.scores))?;
    let suspects: Vec<i64> = out.suspects.iter().map(|&i| i as i64).collect();
    d.set_item("suspects", PyArray1::from_vec(py, suspects))?;
    let mut classes = Vec::with_capacity(out.classes.len());
    for c in &out.classes {
        let cd = PyDict::new(py);
        cd.set_item("rows", c.rows)?;
        cd.set_item("suspects", c.suspects)?;
        let details = PyDict::new(py);
        for (name, v) in &c.details {
            details.set_item(*name, *v)?;
        }
        cd.set_item("details", details)?;
        classes.push(cd);
    }
    d.set_item("classes", classes)?;
    Ok(d)
}
