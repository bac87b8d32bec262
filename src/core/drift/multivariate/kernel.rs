//! Distances and kernels between rows.

use ndarray::{Array2, ArrayView2, Axis};
use rand::seq::index::sample;

use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// The kernel of a quadratic-time statistic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kernel {
    /// `exp(-|x - y|^2 / (2 l^2))`.
    Rbf { bandwidth: f64 },
    /// `|x - y|` (the energy statistic's "kernel"; not positive definite, but the
    /// permutation machinery only needs a symmetric function).
    Distance,
}

impl Kernel {
    /// The kernel as a function of the squared distance.
    #[inline]
    pub fn of_squared(&self, sq: f64) -> f64 {
        match *self {
            Kernel::Rbf { bandwidth } => (-sq / (2.0 * bandwidth * bandwidth)).exp(),
            Kernel::Distance => sq.sqrt(),
        }
    }

    /// `k(x, x)`.
    pub fn diagonal(&self) -> f64 {
        self.of_squared(0.0)
    }

    /// `of_squared` over a slice of squared distances, in place. The RBF kernel takes
    /// `exp_nonpositive`, which the compiler vectorises (libm's `exp` is a call per value):
    /// within 2 units in the last place of `exp`, exactly 1 at distance 0.
    pub fn of_squared_slice(&self, values: &mut [f64]) {
        match *self {
            Kernel::Rbf { bandwidth } => {
                let scale = -1.0 / (2.0 * bandwidth * bandwidth);
                for v in values.iter_mut() {
                    *v = exp_nonpositive(*v * scale);
                }
            }
            Kernel::Distance => {
                for v in values.iter_mut() {
                    *v = v.sqrt();
                }
            }
        }
    }
}

/// `exp(x)` for `x <= 0`, without branches so that a loop over it vectorises. Arguments
/// below -708 give `exp(-708)` (about 3e-308) instead of something smaller: an absolute
/// error under 1e-307, and no subnormal results. Cody and Waite's reduction
/// `x = k ln 2 + r`, `|r| <= ln(2)/2`, with `ln 2` split in two so that `k ln2_hi` is exact,
/// then `exp(r)` by its Taylor polynomial of degree 13 (remainder below 5e-18 relative),
/// scaled by `2^k` through the exponent bits.
#[inline]
pub fn exp_nonpositive(x: f64) -> f64 {
    const LOG2_E: f64 = std::f64::consts::LOG2_E;
    // fdlibm's split of ln 2 (bit patterns): the high part has 32 trailing zero bits.
    const LN2_HI: f64 = f64::from_bits(0x3FE6_2E42_FEE0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3DEA_39EF_3579_3C76);
    // 1.5 * 2^52: adding it rounds to an integer, which then sits in the low bits.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    let x = if x < -708.0 { -708.0 } else { x };
    let t = x * LOG2_E + ROUND;
    let k = t - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    let mut p = 1.0 / 6_227_020_800.0;
    p = p * r + 1.0 / 479_001_600.0;
    p = p * r + 1.0 / 39_916_800.0;
    p = p * r + 1.0 / 3_628_800.0;
    p = p * r + 1.0 / 362_880.0;
    p = p * r + 1.0 / 40_320.0;
    p = p * r + 1.0 / 5_040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    // 2^k from the integer in t's low bits (k in -1022..=0 here).
    let bits = t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(1023) << 52;
    p * f64::from_bits(bits)
}

/// `|a - b|^2`, four accumulators so that it vectorises.
#[inline]
pub fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        for l in 0..4 {
            let t = a[4 * c + l] - b[4 * c + l];
            acc[l] += t * t;
        }
    }
    let mut rest = 0.0;
    for i in 4 * chunks..a.len() {
        let t = a[i] - b[i];
        rest += t * t;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + rest
}

/// The rows of `x` then `y` in one contiguous (n + m, d) matrix.
pub fn pooled(x: ArrayView2<'_, f64>, y: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
    ndarray::concatenate(Axis(0), &[x, y])
        .map(|a| a.as_standard_layout().into_owned())
        .map_err(|e| CoreError::invalid(format!("cannot pool the samples: {e}")))
}

/// Rows the median heuristic looks at, at most: the median of the pairwise distances of
/// 2,000 rows drawn without replacement is within a few percent of the full one.
pub const MEDIAN_ROWS: usize = 2000;

/// The median heuristic: the median Euclidean distance between distinct rows of `z`
/// (pairs `i < j`; a seeded sample of `MEDIAN_ROWS` rows when there are more). The
/// median of an even count is the mean of the two middle values, as numpy's.
pub fn median_distance(z: ArrayView2<'_, f64>, seed: u64) -> CoreResult<f64> {
    let n = z.nrows();
    let rows: Vec<usize> = if n > MEDIAN_ROWS {
        let mut rng = sample_rng(seed, usize::MAX);
        let mut idx = sample(&mut rng, n, MEDIAN_ROWS).into_vec();
        idx.sort_unstable();
        idx
    } else {
        (0..n).collect()
    };
    if rows.len() < 2 {
        return Err(CoreError::invalid(
            "bandwidth: the median heuristic needs at least two rows",
        ));
    }
    let zs = z.as_standard_layout();
    let row = |i: usize| {
        zs.row(i)
            .to_slice()
            .map(<[f64]>::to_vec)
            .unwrap_or_default()
    };
    let data: Vec<Vec<f64>> = rows.iter().map(|&i| row(i)).collect();
    let mut d = Vec::with_capacity(rows.len() * (rows.len() - 1) / 2);
    for i in 0..data.len() {
        for j in i + 1..data.len() {
            d.push(squared_distance(&data[i], &data[j]));
        }
    }
    let mid = d.len() / 2;
    let (_, hi, _) = d.select_nth_unstable_by(mid, f64::total_cmp);
    let hi = *hi;
    let med = if d.len() % 2 == 1 {
        hi.sqrt()
    } else {
        let lo = d[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        0.5 * (lo.sqrt() + hi.sqrt())
    };
    if !(med > 0.0 && med.is_finite()) {
        return Err(CoreError::invalid(
            "bandwidth: the median distance between rows is 0 (most rows are equal); \
             pass a positive bandwidth",
        ));
    }
    Ok(med)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn median_of_a_line() {
        // distances between 0, 1, 3: 1, 3, 2 -> median 2
        let z = array![[0.0], [1.0], [3.0]];
        assert_eq!(median_distance(z.view(), 0).unwrap(), 2.0);
        // 0, 1, 3, 6: 1, 3, 6, 2, 5, 3 -> sorted 1 2 3 3 5 6 -> 3
        let z = array![[0.0], [1.0], [3.0], [6.0]];
        assert_eq!(median_distance(z.view(), 0).unwrap(), 3.0);
    }

    #[test]
    fn equal_rows_have_no_bandwidth() {
        let z = array![[1.0, 2.0], [1.0, 2.0], [1.0, 2.0]];
        assert!(median_distance(z.view(), 0).is_err());
    }

    #[test]
    fn exp_nonpositive_is_within_two_ulps_of_exp() {
        assert_eq!(exp_nonpositive(0.0), 1.0);
        assert_eq!(exp_nonpositive(-0.0), 1.0);
        let mut worst = 0.0f64;
        let mut x = 0.0f64;
        // Dense near 0 (where kernels live) and out to the clamp.
        while x > -708.0 {
            let (got, want) = (exp_nonpositive(x), x.exp());
            worst = worst.max((got - want).abs() / (want * f64::EPSILON));
            x -= if x > -40.0 { 1.37e-4 } else { 0.0731 };
        }
        assert!(worst <= 2.0, "{worst} ulp");
        assert!(exp_nonpositive(-800.0) < 1e-307);
        let mut v = vec![0.0, 1.0, 4.0, 1e6];
        Kernel::Rbf { bandwidth: 1.5 }.of_squared_slice(&mut v);
        for (got, sq) in v.iter().zip([0.0, 1.0, 4.0, 1e6]) {
            let want = Kernel::Rbf { bandwidth: 1.5 }.of_squared(sq);
            assert!((got - want).abs() <= 4.0 * f64::EPSILON * want + 1e-307);
        }
    }

    #[test]
    fn squared_distance_matches_the_definition() {
        let a: Vec<f64> = (0..11).map(|i| i as f64 * 0.3).collect();
        let b: Vec<f64> = (0..11).map(|i| (i * i) as f64 * 0.1).collect();
        let want: f64 = a.iter().zip(&b).map(|(p, q)| (p - q) * (p - q)).sum();
        assert!((squared_distance(&a, &b) - want).abs() < 1e-12);
    }
}
