//! Bindings for drift: the univariate tests (`tests`) and the table comparison
//! (`compare`).

use pyo3::prelude::*;

pub mod compare;
pub mod multivariate;
pub mod profile;
pub mod tests;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    tests::register(m)?;
    compare::register(m)?;
    multivariate::register(m)?;
    profile::register(m)?;
    Ok(())
}
