//! Multivariate two-sample tests on (n, d) samples: MMD, the energy test and the
//! classifier two-sample test.
//!
//! * `kernel`: squared distances, the RBF and distance kernels, the median heuristic.
//! * `quadratic`: the kernel statistics over all pairs (unbiased MMD^2, the energy
//!   statistic) with their permutation p-values, every permutation done in one blocked pass
//!   over the kernel matrix.
//! * `linear`: the linear-time MMD of Gretton et al. (2012, section 6) with its normal
//!   p-value, for samples too large for all pairs.
//! * `classifier`: held-out AUC of a ridge logistic model on quadratic features, with
//!   the Mann-Whitney p-value of that AUC.

pub mod classifier;
pub mod kernel;
pub mod linear;
pub mod quadratic;

use ndarray::ArrayView2;

use crate::core::{CoreError, CoreResult};

/// Checks two samples of the same width, at least `min_rows` rows each, all finite.
pub fn check_samples(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    min_rows: usize,
) -> CoreResult<()> {
    if x.ncols() != y.ncols() {
        return Err(CoreError::invalid(format!(
            "reference and current differ in number of features ({} vs {})",
            x.ncols(),
            y.ncols()
        )));
    }
    if x.ncols() == 0 {
        return Err(CoreError::invalid("reference: no features (0 columns)"));
    }
    for (name, s) in [("reference", &x), ("current", &y)] {
        if s.nrows() < min_rows {
            return Err(CoreError::invalid(format!(
                "{name}: needs at least {min_rows} rows, got {}",
                s.nrows()
            )));
        }
        if s.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::invalid(format!(
                "{name}: contains NaN or infinite values"
            )));
        }
    }
    Ok(())
}
