//! Permutation importance: the rows one model call scores for a feature (every repeat's
//! permutation of that feature's column, stacked), the permutations themselves, and a
//! Student t interval for the mean importance over the repeats.
//!
//! As in scikit-learn's `permutation_importance`, repeat `r` uses the same row permutation
//! for every feature, so features are compared on equal draws.

use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// `n_repeats` uniform random permutations of `0..n` (one ChaCha8 stream per repeat, so
/// they do not depend on the thread count), one per row.
pub fn permutations(n: usize, n_repeats: usize, seed: u64) -> Array2<i64> {
    let mut out = Array2::<i64>::zeros((n_repeats, n));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(r, mut row)| {
            let mut idx: Vec<i64> = (0..n as i64).collect();
            idx.shuffle(&mut sample_rng(seed, r));
            row.iter_mut().zip(idx).for_each(|(o, v)| *o = v);
        });
    out
}

/// Checks that every row of `perms` is a permutation of `0..n`.
pub fn check_permutations(perms: ArrayView2<'_, i64>, n: usize) -> CoreResult<()> {
    if perms.ncols() != n {
        return Err(CoreError::invalid(format!(
            "permutations: expected {n} row indices per repeat, got {}",
            perms.ncols()
        )));
    }
    perms
        .axis_iter(Axis(0))
        .into_par_iter()
        .enumerate()
        .try_for_each(|(r, row)| {
            let mut seen = vec![false; n];
            for &i in row.iter() {
                match usize::try_from(i).ok().and_then(|i| seen.get_mut(i)) {
                    Some(s) if !*s => *s = true,
                    _ => {
                        return Err(CoreError::invalid(format!(
                            "permutations: repeat {r} is not a permutation of 0..{n}"
                        )))
                    }
                }
            }
            Ok(())
        })
}

/// `x` once per repeat, stacked (`R * n` rows), with column `feature` of block `r` read
/// through permutation `r`: `out[r * n + i, feature] = x[perms[r, i], feature]`.
pub fn permuted_rows(
    x: ArrayView2<'_, f64>,
    feature: usize,
    perms: ArrayView2<'_, i64>,
) -> CoreResult<Array2<f64>> {
    let (n, d) = x.dim();
    if feature >= d {
        return Err(CoreError::invalid(format!(
            "feature {feature} out of range (0..{d})"
        )));
    }
    check_permutations(perms, n)?;
    let r = perms.nrows();
    let mut out = Array2::<f64>::zeros((r * n, d));
    out.axis_iter_mut(Axis(0))
        .into_par_iter()
        .enumerate()
        .for_each(|(k, mut row)| {
            let (rep, i) = (k / n, k % n);
            row.assign(&x.row(i));
            // In range: checked above.
            let src = perms[[rep, i]] as usize;
            row[feature] = x[[src, feature]];
        });
    Ok(out)
}

/// Two-sided Student t interval of the mean of `values` at `confidence` (NaN ends for
/// fewer than two values).
pub fn mean_interval(values: &[f64], confidence: f64) -> CoreResult<(f64, f64)> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(CoreError::invalid("confidence must be in (0, 1)"));
    }
    let m = values.len();
    if m < 2 {
        return Ok((f64::NAN, f64::NAN));
    }
    let mean = values.iter().sum::<f64>() / m as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (m - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (m - 1) as f64)
        .map_err(|e| CoreError::invalid(format!("t distribution: {e}")))?
        .inverse_cdf(0.5 + confidence / 2.0);
    let half = t * (var / m as f64).sqrt();
    Ok((mean - half, mean + half))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn permutations_are_permutations_and_reproducible() {
        let p = permutations(100, 4, 9);
        check_permutations(p.view(), 100).unwrap();
        assert_eq!(p, permutations(100, 4, 9));
        assert_ne!(p.row(0), p.row(1));
        assert_ne!(p, permutations(100, 4, 10));
    }

    #[test]
    fn permuted_rows_change_one_column() {
        let x = array![[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]];
        let perms = array![[2i64, 0, 1], [0, 1, 2]];
        let out = permuted_rows(x.view(), 1, perms.view()).unwrap();
        assert_eq!(
            out,
            array![
                [1.0, 30.0],
                [2.0, 10.0],
                [3.0, 20.0],
                [1.0, 10.0],
                [2.0, 20.0],
                [3.0, 30.0]
            ]
        );
        assert!(permuted_rows(x.view(), 2, perms.view()).is_err());
        let not_perm = array![[0i64, 0, 1]];
        assert!(permuted_rows(x.view(), 0, not_perm.view()).is_err());
        let short = array![[0i64, 1]];
        assert!(permuted_rows(x.view(), 0, short.view()).is_err());
    }

    #[test]
    fn t_interval_matches_scipy() {
        // scipy.stats.t.interval(0.95, 4, loc=3, scale=stats.sem([1,2,3,4,5])) = (1.03676, 4.96324)
        let (lo, hi) = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        assert!((lo - 1.036_756_838_5).abs() < 1e-6 && (hi - 4.963_243_161_5).abs() < 1e-6);
        assert!(mean_interval(&[1.0], 0.95).unwrap().0.is_nan());
        assert!(mean_interval(&[1.0, 2.0], 1.0).is_err());
    }
}
