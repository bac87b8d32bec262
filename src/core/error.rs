//! The one error type of the core. `crate::error` maps each variant to a Python exception.

use std::io;
use std::path::{Path, PathBuf};

pub type CoreResult<T> = Result<T, CoreError>;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// An argument has the wrong value (maps to `InvalidInputError`, a `ValueError`).
    #[error("{0}")]
    InvalidInput(String),
    /// An argument has the wrong type (maps to `InvalidTypeError`, a `TypeError`).
    #[error("{0}")]
    InvalidType(String),
    /// The operating system refused an operation on a path.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A path that cannot be hashed safely: a FIFO, a device, a symlink loop or a link
    /// leaving the tree.
    #[error("{path}: {reason}")]
    UnsafePath { path: PathBuf, reason: String },
    /// A file changed while it was being read.
    #[error("{path}: {reason}")]
    FileChanged { path: PathBuf, reason: String },
    /// A manifest (or other stored document) is malformed.
    #[error("invalid manifest: {0}")]
    Manifest(String),
    /// A key that cannot be used (malformed, wrong type, wrong passphrase).
    #[error("{0}")]
    Key(String),
    /// A signature or signed document that does not verify.
    #[error("{0}")]
    Signature(String),
    /// The model under test misbehaved: wrong output shape, NaN scores, labels out of
    /// range (maps to `ModelError`).
    #[error("{0}")]
    Model(String),
    /// The caller asked to stop (Ctrl-C).
    #[error("interrupted")]
    Cancelled,
}

impl CoreError {
    pub fn io(path: &Path, source: io::Error) -> Self {
        CoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn invalid(msg: impl Into<String>) -> Self {
        CoreError::InvalidInput(msg.into())
    }
}
