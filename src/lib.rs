//! `mlsentry._core`: the native module. Registration only; see `core` for the algorithms
//! and `py` for the bindings.

pub mod core;
pub mod error;
mod py;

use pyo3::prelude::*;

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    py::integrity::register(m)?;
    py::fingerprint::register(m)?;
    py::signing::register(m)?;
    py::audit::register(m)?;
    py::data::register(m)?;
    py::drift::register(m)?;
    py::explain::register(m)?;
    py::monitor::register(m)?;
    py::privacy::register(m)?;
    py::robustness::register(m)?;
    py::scan::register(m)?;
    Ok(())
}

/// The number of worker threads the next parallel call will use (`MLSENTRY_NUM_THREADS`).
#[pyfunction]
fn num_threads() -> PyResult<usize> {
    Ok(core::parallel::configured_threads()?)
}
