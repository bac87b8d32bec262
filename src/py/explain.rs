//! Bindings of fairness and explanations.

use pyo3::prelude::*;

pub mod fairness;
pub mod importance;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    fairness::register(m)?;
    importance::register(m)?;
    Ok(())
}
