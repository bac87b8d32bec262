//! Maps `CoreError` to the exception tree defined in `mlsentry/errors.py`.
//!
//! The classes live in Python so that they can inherit from both `MlsentryError` and the
//! built-in they refine (`ValueError`, `OSError`, ...). They are looked up once and cached.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;
use pyo3::IntoPyObjectExt;

use crate::core::CoreError;

fn exception_class<'py>(py: Python<'py>, name: &'static str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("mlsentry.errors").map(|m| m.unbind()))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

fn raise<'py, A: IntoPyObjectExt<'py>>(py: Python<'py>, class: &'static str, args: A) -> PyErr {
    match exception_class(py, class) {
        Ok(cls) => match args.into_bound_py_any(py) {
            Ok(args) => PyErr::from_type(cls, args.unbind()),
            Err(e) => e,
        },
        Err(e) => e,
    }
}

impl From<CoreError> for PyErr {
    fn from(err: CoreError) -> PyErr {
        Python::attach(|py| {
            let msg = err.to_string();
            match err {
                CoreError::InvalidInput(_) => raise(py, "InvalidInputError", (msg,)),
                CoreError::InvalidType(_) => raise(py, "InvalidTypeError", (msg,)),
                CoreError::Io { path, source } => {
                    let errno = source.raw_os_error().unwrap_or(0);
                    let class = match source.kind() {
                        std::io::ErrorKind::NotFound => "PathNotFoundError",
                        std::io::ErrorKind::PermissionDenied => "FilePermissionError",
                        _ => "FileAccessError",
                    };
                    raise(
                        py,
                        class,
                        // The path crosses as an OS string, so a non-UTF-8 name keeps its
                        // bytes (surrogateescape), as Python's own OSError does.
                        (errno, strerror(&source), path.into_os_string()),
                    )
                }
                CoreError::UnsafePath { .. } => raise(py, "UnsafePathError", (msg,)),
                CoreError::FileChanged { .. } => raise(py, "FileChangedError", (msg,)),
                CoreError::Manifest(_) => raise(py, "ManifestError", (msg,)),
                CoreError::Key(_) => raise(py, "KeyFormatError", (msg,)),
                CoreError::Signature(_) => raise(py, "SignatureError", (msg,)),
                CoreError::Model(_) => raise(py, "ModelError", (msg,)),
                CoreError::Cancelled => PyKeyboardInterrupt::new_err("interrupted"),
            }
        })
    }
}

/// The OS message without Rust's " (os error N)" suffix (OSError shows errno itself).
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A worker thread that panicked: a bug, reported as an exception instead of a crash.
pub fn internal_error(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!(
        "mlsentry internal error ({what}); please report it with the input that caused it"
    ))
}
