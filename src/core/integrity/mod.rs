//! Integrity: content fingerprints, file hashing, manifests and their verification.

pub mod audit;
pub mod fingerprint;
pub mod hashing;
pub mod manifest;
pub mod merkle;
pub mod sha256x;
pub mod signing;
