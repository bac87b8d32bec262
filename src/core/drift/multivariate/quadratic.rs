//! Kernel statistics over all pairs and their permutation tests.
//!
//! With the two samples pooled into `N = n + m` rows, a labelling is a 0/1 vector `z`
//! with `n` ones (the reference rows). Every statistic here is a function of three sums of
//! the kernel matrix `K`: `T = 1'K1`, `z'K1` and `q = z'Kz`. The first does not depend on
//! the labelling, so the permutation test needs `z'K1` and `z'Kz` for every permutation:
//! the pass below computes `K` a block of rows at a time (upper triangle only) and
//! multiplies each block by the matrix `Z` of all labellings at once (a matrix product),
//! so the kernel is evaluated once whatever the number of permutations and never stored
//! whole. Column 0 of `Z` is the observed labelling, so the observed statistic and the
//! permuted ones come from the same arithmetic.
//!
//! Each permutation draws its labelling from its own seeded stream (`sample_rng(seed, b)`)
//! and the blocks are reduced in a fixed order, so the result does not depend on the
//! number of threads.

use ndarray::{s, Array2, ArrayView2};
use rand::seq::index::sample;
use rayon::prelude::*;

use super::kernel::{pooled, squared_distance, Kernel};
use crate::core::progress::Progress;
use crate::core::robustness::common::sample_rng;
use crate::core::CoreResult;

/// Rows of the kernel computed (and multiplied) at once.
const BLOCK: usize = 128;

/// Which statistic of the kernel sums.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// Unbiased MMD^2 (U-statistic within each sample).
    MmdUnbiased,
    /// The energy statistic `nm/(n+m) * (2 mean|X-Y| - mean|X-X'| - mean|Y-Y'|)`, means
    /// over all pairs including `i = j` (the V-statistic of Szekely and Rizzo, as the R
    /// package energy's `eqdist.etest`).
    Energy,
}

/// The observed statistic and, when permutations ran, the permutation p-value
/// `(1 + #{permuted >= observed}) / (B + 1)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PermutationOutcome {
    pub statistic: f64,
    pub pvalue: Option<f64>,
    pub permutations: usize,
}

/// Sums of one labelling.
#[derive(Debug, Clone, Copy)]
struct Sums {
    /// `z'K1`
    row: f64,
    /// `z'Kz`
    quad: f64,
}

fn statistic(kind: Statistic, kernel: Kernel, n: usize, m: usize, total: f64, s: Sums) -> f64 {
    let (nf, mf) = (n as f64, m as f64);
    let diag = kernel.diagonal();
    let xx = s.quad;
    let xy = s.row - s.quad;
    let yy = total - 2.0 * s.row + s.quad;
    match kind {
        Statistic::MmdUnbiased => {
            (xx - nf * diag) / (nf * (nf - 1.0)) + (yy - mf * diag) / (mf * (mf - 1.0))
                - 2.0 * xy / (nf * mf)
        }
        Statistic::Energy => {
            nf * mf / (nf + mf) * (2.0 * xy / (nf * mf) - xx / (nf * nf) - yy / (mf * mf))
        }
    }
}

/// The labellings: column 0 the observed one (the first `n` pooled rows), column `b` the
/// `b`-th permutation.
fn labellings(n: usize, big_n: usize, permutations: usize, seed: u64) -> Array2<f64> {
    let cols: Vec<Vec<usize>> = (1..=permutations)
        .into_par_iter()
        .map(|b| {
            let mut rng = sample_rng(seed, b);
            sample(&mut rng, big_n, n).into_vec()
        })
        .collect();
    let mut z = Array2::<f64>::zeros((big_n, permutations + 1));
    for i in 0..n {
        z[[i, 0]] = 1.0;
    }
    for (b, rows) in cols.iter().enumerate() {
        for &i in rows {
            z[[i, b + 1]] = 1.0;
        }
    }
    z
}

/// The kernel test of `x` (reference, n x d) against `y` (current, m x d) with
/// `permutations` random relabellings (0: the statistic alone). Inputs are checked by the
/// caller (`check_samples`).
pub fn permutation_test(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    kind: Statistic,
    kernel: Kernel,
    permutations: usize,
    seed: u64,
    progress: &Progress,
) -> CoreResult<PermutationOutcome> {
    let (n, m) = (x.nrows(), y.nrows());
    let zrows = pooled(x, y)?;
    let big_n = n + m;
    let labels = labellings(n, big_n, permutations, seed);
    let norms: Vec<f64> = zrows.outer_iter().map(|r| r.dot(&r)).collect();
    let width = permutations + 1;
    let blocks = big_n.div_ceil(BLOCK);
    progress.add_total(blocks as u64);
    // Work per block falls with its index (upper triangle): hand out the big ones first.
    let parts: Vec<CoreResult<BlockPart>> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            progress.check()?;
            let part = block_part(
                zrows.view(),
                &norms,
                labels.view(),
                kernel,
                b * BLOCK,
                BLOCK,
            );
            progress.advance(1);
            Ok(part)
        })
        .collect();
    // Fixed-order reduction: the same sums whatever the thread count.
    let mut row_sums = vec![0.0f64; big_n];
    let mut quad = vec![0.0f64; width];
    for part in parts {
        let part = part?;
        for (i, v) in part.own_rows.iter().enumerate() {
            row_sums[part.lo + i] += v;
        }
        for (j, v) in part.later_columns.iter().enumerate() {
            row_sums[part.hi + j] += v;
        }
        for (q, v) in quad.iter_mut().zip(&part.quad) {
            *q += v;
        }
    }
    let total: f64 = row_sums.iter().sum();
    let row_dot: Vec<f64> = (0..width)
        .into_par_iter()
        .map(|b| {
            labels
                .column(b)
                .iter()
                .zip(&row_sums)
                .map(|(z, r)| z * r)
                .sum()
        })
        .collect();
    let stats: Vec<f64> = (0..width)
        .map(|b| {
            let sums = Sums {
                row: row_dot[b],
                quad: quad[b],
            };
            statistic(kind, kernel, n, m, total, sums)
        })
        .collect();
    let observed = stats[0];
    let pvalue = (permutations > 0).then(|| {
        // Equal up to rounding counts as "at least as large" (a permutation that maps the
        // samples onto themselves must count).
        let tol = 1e-12 * observed.abs().max(1e-300);
        let k = stats[1..].iter().filter(|&&s| s >= observed - tol).count();
        (1 + k) as f64 / (permutations + 1) as f64
    });
    Ok(PermutationOutcome {
        statistic: observed,
        pvalue,
        permutations,
    })
}

/// What one block of rows `lo..hi` contributes.
struct BlockPart {
    lo: usize,
    hi: usize,
    /// `sum_{j >= lo} K_ij` for each row `i` of the block.
    own_rows: Vec<f64>,
    /// `sum_{i in block} K_ij` for each column `j >= hi` (the lower triangle's share of
    /// those rows' sums).
    later_columns: Vec<f64>,
    /// `sum_{i in block} z_i (sum_{j in block} K_ij z_j + 2 sum_{j >= hi} K_ij z_j)` per
    /// labelling.
    quad: Vec<f64>,
}

fn block_part(
    z: ArrayView2<'_, f64>,
    norms: &[f64],
    labels: ArrayView2<'_, f64>,
    kernel: Kernel,
    lo: usize,
    size: usize,
) -> BlockPart {
    let big_n = z.nrows();
    let hi = (lo + size).min(big_n);
    let rows = hi - lo;
    // Squared distances as |a|^2 + |b|^2 - 2 a.b, the products as one matrix product
    // (clamped at 0; the absolute error is about 1e-16 times the squared norms).
    let mut k = z.slice(s![lo..hi, ..]).dot(&z.slice(s![lo.., ..]).t());
    let mut own_rows = vec![0.0f64; rows];
    let mut later_columns = vec![0.0f64; big_n - hi];
    // The distance kernel takes a square root, which would turn the rounding error of
    // the product form into about 1e-8 for equal rows: it gets the differences instead.
    let exact = kernel == Kernel::Distance;
    for (i, mut row) in k.outer_iter_mut().enumerate() {
        let ni = norms[lo + i];
        let row_i = z.row(lo + i);
        let row_i = row_i.as_slice().unwrap_or(&[]);
        let mut sum = 0.0;
        for (j, v) in row.iter_mut().enumerate() {
            let sq = if j == i {
                0.0
            } else if exact {
                squared_distance(row_i, z.row(lo + j).as_slice().unwrap_or(&[]))
            } else {
                (ni + norms[lo + j] - 2.0 * *v).max(0.0)
            };
            let kv = kernel.of_squared(sq);
            sum += kv;
            // Columns past the block are doubled: the pair (j, i) is not visited again.
            if j >= rows {
                later_columns[j - rows] += kv;
                *v = 2.0 * kv;
            } else {
                *v = kv;
            }
        }
        own_rows[i] = sum;
    }
    let kz = k.dot(&labels.slice(s![lo.., ..]));
    let own = labels.slice(s![lo..hi, ..]);
    let width = labels.ncols();
    let mut quad = vec![0.0f64; width];
    for i in 0..rows {
        for (b, q) in quad.iter_mut().enumerate() {
            *q += own[[i, b]] * kz[[i, b]];
        }
    }
    BlockPart {
        lo,
        hi,
        own_rows,
        later_columns,
        quad,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn normal(rows: usize, cols: usize, shift: f64, seed: u64) -> Array2<f64> {
        let mut rng = sample_rng(seed, 0);
        Array2::from_shape_fn((rows, cols), |_| {
            rng.sample::<f64, _>(StandardNormal) + shift
        })
    }

    /// Direct transcription of the unbiased MMD^2.
    fn mmd_direct(x: &Array2<f64>, y: &Array2<f64>, l: f64) -> f64 {
        let k = |a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>| {
            let d: f64 = a.iter().zip(b.iter()).map(|(p, q)| (p - q) * (p - q)).sum();
            (-d / (2.0 * l * l)).exp()
        };
        let (n, m) = (x.nrows(), y.nrows());
        let (mut xx, mut yy, mut xy) = (0.0, 0.0, 0.0);
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    xx += k(x.row(i), x.row(j));
                }
            }
            for j in 0..m {
                xy += k(x.row(i), y.row(j));
            }
        }
        for i in 0..m {
            for j in 0..m {
                if i != j {
                    yy += k(y.row(i), y.row(j));
                }
            }
        }
        let (nf, mf) = (n as f64, m as f64);
        xx / (nf * (nf - 1.0)) + yy / (mf * (mf - 1.0)) - 2.0 * xy / (nf * mf)
    }

    #[test]
    fn mmd_matches_the_definition_across_blocks() {
        let x = normal(150, 3, 0.0, 1);
        let y = normal(170, 3, 0.3, 2);
        let out = permutation_test(
            x.view(),
            y.view(),
            Statistic::MmdUnbiased,
            Kernel::Rbf { bandwidth: 1.3 },
            20,
            0,
            &Progress::new(),
        )
        .unwrap();
        let want = mmd_direct(&x, &y, 1.3);
        assert!(
            (out.statistic - want).abs() < 1e-12,
            "{} {}",
            out.statistic,
            want
        );
    }

    #[test]
    fn energy_matches_the_definition() {
        let x = normal(40, 2, 0.0, 3);
        let y = normal(30, 2, 0.5, 4);
        let d = |a: ndarray::ArrayView1<f64>, b: ndarray::ArrayView1<f64>| -> f64 {
            a.iter()
                .zip(b.iter())
                .map(|(p, q)| (p - q) * (p - q))
                .sum::<f64>()
                .sqrt()
        };
        let mean = |a: &Array2<f64>, b: &Array2<f64>| {
            let mut s = 0.0;
            for r in a.rows() {
                for t in b.rows() {
                    s += d(r, t);
                }
            }
            s / (a.nrows() * b.nrows()) as f64
        };
        let e = 2.0 * mean(&x, &y) - mean(&x, &x) - mean(&y, &y);
        let want = 40.0 * 30.0 / 70.0 * e;
        let out = permutation_test(
            x.view(),
            y.view(),
            Statistic::Energy,
            Kernel::Distance,
            0,
            0,
            &Progress::new(),
        )
        .unwrap();
        assert!((out.statistic - want).abs() < 1e-10);
        assert_eq!(out.pvalue, None);
    }

    #[test]
    fn pvalue_is_deterministic_and_detects_a_shift() {
        let x = normal(60, 2, 0.0, 5);
        let y = normal(60, 2, 1.0, 6);
        let run = || {
            permutation_test(
                x.view(),
                y.view(),
                Statistic::MmdUnbiased,
                Kernel::Rbf { bandwidth: 1.0 },
                199,
                7,
                &Progress::new(),
            )
            .unwrap()
        };
        let a = run();
        assert_eq!(a, run());
        assert_eq!(a.pvalue, Some(1.0 / 200.0));
        let same = normal(60, 2, 0.0, 8);
        let b = permutation_test(
            x.view(),
            same.view(),
            Statistic::MmdUnbiased,
            Kernel::Rbf { bandwidth: 1.0 },
            199,
            7,
            &Progress::new(),
        )
        .unwrap();
        assert!(b.pvalue.unwrap() > 0.05);
    }
}
