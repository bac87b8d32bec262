//! Pure-Rust algorithms. Nothing below this module knows about Python: it takes slices,
//! `ndarray` views and paths and returns `Result<_, CoreError>`.

pub mod array;
pub mod data;
pub mod drift;
pub mod error;
pub mod explain;
pub mod integrity;
pub mod mapped;
pub mod monitor;
pub mod parallel;
pub mod privacy;
pub mod progress;
pub mod robustness;
pub mod scan;
pub mod stats;

pub use error::{CoreError, CoreResult};
