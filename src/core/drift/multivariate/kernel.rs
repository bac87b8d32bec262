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
    fn squared_distance_matches_the_definition() {
        let a: Vec<f64> = (0..11).map(|i| i as f64 * 0.3).collect();
        let b: Vec<f64> = (0..11).map(|i| (i * i) as f64 * 0.1).collect();
        let want: f64 = a.iter().zip(&b).map(|(p, q)| (p - q) * (p - q)).sum();
        assert!((squared_distance(&a, &b) - want).abs() < 1e-12);
    }
}
