//! Privacy: membership-inference scores and their ROC reported as TPR at low FPR with
//! exact intervals, reference-model attacks (LiRA, RMIA) from precomputed signals,
//! extraction surrogates and empirical differential-privacy bounds.
//!
//! Every score here follows one convention: higher means "more likely a member".

pub mod bounds;
pub mod extraction;
pub mod lira;
pub mod rmia;
pub mod roc;
pub mod signals;
pub mod summary;

use super::{CoreError, CoreResult};

/// Checks that every value of `values` (named `what`) is finite.
fn check_finite(values: &[f64], what: &str) -> CoreResult<()> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(CoreError::invalid(format!(
            "{what}: NaN or infinite value at position {i}"
        ))),
        None => Ok(()),
    }
}
