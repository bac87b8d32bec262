//! The linear-time MMD (Gretton et al. 2012, "A kernel two-sample test", section 6):
//! the rows of each sample are shuffled (seeded) and paired, `(x1, x2)` with `(y1, y2)`,
//! and `h = k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)` is averaged over the
//! `p = floor(min(n, m) / 2)` quadruples. The mean is an unbiased estimate of MMD^2 and is
//! asymptotically normal, so the p-value is `P(Z > mean / (sd / sqrt(p)))` with the
//! sample standard deviation of `h`: one pass, constant memory, no permutations.

use ndarray::ArrayView2;
use rand::seq::SliceRandom;
use rayon::prelude::*;

use super::kernel::{squared_distance, Kernel};
use crate::core::robustness::common::sample_rng;
use crate::core::stats::special::norm_sf;
use crate::core::{CoreError, CoreResult};

#[derive(Debug, Clone, PartialEq)]
pub struct LinearOutcome {
    /// The mean of `h`: an unbiased estimate of MMD^2.
    pub statistic: f64,
    pub pvalue: f64,
    /// The number of quadruples averaged.
    pub pairs: usize,
    /// The standard deviation of `h`.
    pub sd: f64,
}

pub fn linear_mmd(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    bandwidth: f64,
    seed: u64,
) -> CoreResult<LinearOutcome> {
    let pairs = x.nrows().min(y.nrows()) / 2;
    if pairs < 2 {
        return Err(CoreError::invalid(
            "the linear-time MMD needs at least 4 rows in each sample",
        ));
    }
    let kernel = Kernel::Rbf { bandwidth };
    let order = |rows: usize, stream: usize| {
        let mut idx: Vec<usize> = (0..rows).collect();
        idx.shuffle(&mut sample_rng(seed, stream));
        idx
    };
    let (ox, oy) = (order(x.nrows(), 0), order(y.nrows(), 1));
    let (xs, ys) = (x.as_standard_layout(), y.as_standard_layout());
    let h: Vec<f64> = (0..pairs)
        .into_par_iter()
        .map(|p| {
            let x1 = xs.row(ox[2 * p]);
            let x2 = xs.row(ox[2 * p + 1]);
            let y1 = ys.row(oy[2 * p]);
            let y2 = ys.row(oy[2 * p + 1]);
            let (x1, x2, y1, y2) = (
                x1.as_slice().unwrap_or(&[]),
                x2.as_slice().unwrap_or(&[]),
                y1.as_slice().unwrap_or(&[]),
                y2.as_slice().unwrap_or(&[]),
            );
            let k = |a: &[f64], b: &[f64]| kernel.of_squared(squared_distance(a, b));
            k(x1, x2) + k(y1, y2) - k(x1, y2) - k(x2, y1)
        })
        .collect();
    let pf = pairs as f64;
    let mean = h.iter().sum::<f64>() / pf;
    let var = h.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (pf - 1.0);
    let sd = var.sqrt();
    let pvalue = if sd > 0.0 {
        norm_sf(mean / (sd / pf.sqrt()))
    } else if mean > 0.0 {
        0.0
    } else {
        1.0
    };
    Ok(LinearOutcome {
        statistic: mean,
        pvalue,
        pairs,
        sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng;
    use rand_distr::StandardNormal;

    #[test]
    fn detects_a_shift_and_not_its_absence() {
        let mut rng = sample_rng(1, 0);
        let mut draw = |shift: f64| {
            Array2::from_shape_fn((4000, 3), |_| rng.sample::<f64, _>(StandardNormal) + shift)
        };
        let (x, y, z) = (draw(0.0), draw(0.5), draw(0.0));
        let shifted = linear_mmd(x.view(), y.view(), 1.5, 0).unwrap();
        assert!(shifted.pvalue < 1e-6, "{shifted:?}");
        let same = linear_mmd(x.view(), z.view(), 1.5, 0).unwrap();
        assert!(same.pvalue > 0.001, "{same:?}");
        assert_eq!(same.pairs, 2000);
    }
}
