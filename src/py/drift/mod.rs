//! Bindings for drift: univariate tests (`ecdf`, `distance`) and table comparison
//! (`compare`).

use pyo3::prelude::*;

pub mod compare;
pub mod distance;
pub mod ecdf;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    ecdf::register(m)?;
    distance::register(m)?;
    compare::register(m)?;
    Ok(())
}
