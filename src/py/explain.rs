//! Bindings of fairness and explanations.

use pyo3::prelude::*;

pub mod fairness;
pub mod importance;
pub mod shap;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fairness::register(m)?;
    importance::register(m)?;
    shap::register(m)?;
    Ok(())
}
