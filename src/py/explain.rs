//! Bindings of fairness and explanations.

use pyo3::prelude::*;

pub mod shap;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    shap::register(m)?;
    Ok(())
}
