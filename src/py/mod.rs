//! The binding layer: converts Python inputs to Rust data, runs the core through
//! `runtime::run` (GIL released, Ctrl-C checked, progress reported) and maps errors.

pub mod array;
pub mod audit;
pub mod data;
pub mod drift;
pub mod explain;
pub mod fingerprint;
pub mod integrity;
pub mod monitor;
pub mod privacy;
pub mod robustness;
pub mod runtime;
pub mod scan;
pub mod signing;
