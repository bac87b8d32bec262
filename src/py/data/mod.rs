//! Bindings of the data checks (`mlsentry.data` wraps them).

use pyo3::prelude::*;

pub mod labels;
pub mod leakage;
pub mod poisoning;
pub mod schema;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    labels::register(m)?;
    leakage::register(m)?;
    poisoning::register(m)?;
    schema::register(m)?;
    Ok(())
}
