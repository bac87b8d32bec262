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

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView1, ArrayView2, LinalgScalar};
use rand::seq::index::sample;
use rayon::prelude::*;

use super::kernel::{pooled, squared_distance, Kernel};
use crate::core::progress::Progress;
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// Rows of the kernel computed (and multiplied) at once.
const BLOCK: usize = 256;

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

/// How the permuted sums `z'Kz` are multiplied out.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Arithmetic {
    /// The kernel blocks and the labellings in f64.
    Exact,
    /// The kernel blocks, each row centred on its mean, and the labellings in f32 (twice
    /// the SIMD width), every product over `CHUNK` columns added into f64 sums. The
    /// observed labelling's sums stay in f64 either way, so the statistic does not change;
    /// the permuted statistics move by far less than the spread of the null distribution
    /// (see the tests: at most about 2e-6 of its standard deviation at 10,000 rows a
    /// side). So that this can only make the p-value larger, never smaller, a permuted
    /// statistic within `MIXED_TIE` standard deviations below the observed one counts as
    /// a tie (`outcome`).
    Mixed,
}

/// Pooled rows from which the RBF kernel's permutations are multiplied in f32: below, the
/// products do not dominate the time and f64 costs little.
pub(crate) const MIXED_MIN_ROWS: usize = 2048;

/// With f32 products, permuted statistics this many standard deviations (of the permuted
/// statistics) below the observed one count as at least as large: fifty times the largest
/// rounding error measured, so every permutation the f64 arithmetic counts is counted and
/// the p-value can only err upwards, by the share of permutations that close (about
/// 4e-5 of them for a normal null).
const MIXED_TIE: f64 = 1e-4;

/// Columns of one f32 product; its sums (centred values) then go into f64.
const CHUNK: usize = 1024;

/// The labellings: column 0 the observed one (the first `n` pooled rows), column `b` the
/// `b`-th permutation.
fn labellings<A: LinalgScalar>(
    n: usize,
    big_n: usize,
    permutations: usize,
    seed: u64,
) -> Array2<A> {
    let cols: Vec<Vec<usize>> = (1..=permutations)
        .into_par_iter()
        .map(|b| {
            let mut rng = sample_rng(seed, b);
            sample(&mut rng, big_n, n).into_vec()
        })
        .collect();
    let mut z = Array2::<A>::zeros((big_n, permutations + 1));
    for i in 0..n {
        z[[i, 0]] = A::one();
    }
    for (b, rows) in cols.iter().enumerate() {
        for &i in rows {
            z[[i, b + 1]] = A::one();
        }
    }
    z
}

/// The labellings in the precision the products use, with (mixed) the number of ones of
/// every labelling at or after each block's first row: `suffix[[k, b]]` counts the rows
/// `>= k * BLOCK`.
enum Labels {
    Exact(Array2<f64>),
    Mixed { z: Array2<f32>, suffix: Array2<f64> },
}

impl Labels {
    fn new(n: usize, big_n: usize, permutations: usize, seed: u64, arithmetic: Arithmetic) -> Self {
        match arithmetic {
            Arithmetic::Exact => Labels::Exact(labellings(n, big_n, permutations, seed)),
            Arithmetic::Mixed => {
                let z: Array2<f32> = labellings(n, big_n, permutations, seed);
                let blocks = big_n.div_ceil(BLOCK);
                let mut suffix = Array2::<f64>::zeros((blocks + 1, z.ncols()));
                for (i, row) in z.outer_iter().enumerate() {
                    let mut count = suffix.row_mut(i / BLOCK);
                    count.zip_mut_with(&row, |c, &v| *c += f64::from(v));
                }
                for k in (0..blocks).rev() {
                    let (mut here, after) = suffix.multi_slice_mut((s![k, ..], s![k + 1, ..]));
                    here += &after;
                }
                Labels::Mixed { z, suffix }
            }
        }
    }

    /// `sum_i z_ib r_i` for every labelling `b`.
    fn dot_columns(&self, r: &[f64]) -> Vec<f64> {
        fn dot<A: LinalgScalar + Into<f64> + Sync>(z: &Array2<A>, r: &[f64]) -> Vec<f64> {
            (0..z.ncols())
                .into_par_iter()
                .map(|b| z.column(b).iter().zip(r).map(|(&v, x)| v.into() * x).sum())
                .collect()
        }
        match self {
            Labels::Exact(z) => dot(z, r),
            Labels::Mixed { z, .. } => dot(z, r),
        }
    }

    fn width(&self) -> usize {
        match self {
            Labels::Exact(z) => z.ncols(),
            Labels::Mixed { z, .. } => z.ncols(),
        }
    }
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
    let big_n = x.nrows() + y.nrows();
    let arithmetic = match kernel {
        Kernel::Rbf { .. } if big_n >= MIXED_MIN_ROWS && permutations > 0 => Arithmetic::Mixed,
        _ => Arithmetic::Exact,
    };
    let stats = all_statistics(x, y, kind, kernel, permutations, seed, progress, arithmetic)?;
    Ok(outcome(&stats, arithmetic))
}

/// The observed statistic and the permutation p-value of the statistics of every
/// labelling (the observed first).
pub(crate) fn outcome(stats: &[f64], arithmetic: Arithmetic) -> PermutationOutcome {
    let observed = stats[0];
    let permutations = stats.len() - 1;
    let pvalue = (permutations > 0).then(|| {
        // Equal up to rounding counts as "at least as large" (a permutation that maps the
        // samples onto themselves must count).
        let mut tol = 1e-12 * observed.abs().max(1e-300);
        if arithmetic == Arithmetic::Mixed {
            tol = tol.max(MIXED_TIE * standard_deviation(&stats[1..]));
        }
        let k = stats[1..].iter().filter(|&&s| s >= observed - tol).count();
        (1 + k) as f64 / (permutations + 1) as f64
    });
    PermutationOutcome {
        statistic: observed,
        pvalue,
        permutations,
    }
}

fn standard_deviation(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

/// The statistic of every labelling: index 0 the observed one, then the permutations.
#[allow(clippy::too_many_arguments)]
pub(crate) fn all_statistics(
    x: ArrayView2<'_, f64>,
    y: ArrayView2<'_, f64>,
    kind: Statistic,
    kernel: Kernel,
    permutations: usize,
    seed: u64,
    progress: &Progress,
    arithmetic: Arithmetic,
) -> CoreResult<Vec<f64>> {
    let (n, m) = (x.nrows(), y.nrows());
    let zrows = pooled(x, y)?;
    let big_n = n + m;
    let labels = Labels::new(n, big_n, permutations, seed, arithmetic);
    let norms: Vec<f64> = zrows.outer_iter().map(|r| r.dot(&r)).collect();
    let width = labels.width();
    let blocks = big_n.div_ceil(BLOCK);
    progress.add_total(blocks as u64);
    // Work per block falls with its index (upper triangle): hand out the big ones first.
    let parts: Vec<CoreResult<BlockPart>> = (0..blocks)
        .into_par_iter()
        .map(|b| {
            progress.check()?;
            let part = block_part(zrows.view(), &norms, &labels, kernel, n, b * BLOCK, BLOCK)?;
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
    let row_dot = labels.dot_columns(&row_sums);
    Ok((0..width)
        .map(|b| {
            let sums = Sums {
                row: row_dot[b],
                quad: quad[b],
            };
            statistic(kind, kernel, n, m, total, sums)
        })
        .collect())
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
    labels: &Labels,
    kernel: Kernel,
    n: usize,
    lo: usize,
    size: usize,
) -> CoreResult<BlockPart> {
    let big_n = z.nrows();
    let hi = (lo + size).min(big_n);
    let rows = hi - lo;
    // Squared distances as |a|^2 + |b|^2 - 2 a.b, the products as one matrix product
    // (clamped at 0; the absolute error is about 1e-16 times the squared norms).
    let mut k = z.slice(s![lo..hi, ..]).dot(&z.slice(s![lo.., ..]).t());
    let mut own_rows = vec![0.0f64; rows];
    let mut later_columns = vec![0.0f64; big_n - hi];
    // The observed labelling's share, in f64 whatever the arithmetic of the others: the
    // rows and columns below `n`.
    let observed_cols = n.saturating_sub(lo);
    let mut observed = 0.0f64;
    // The distance kernel takes a square root, which would turn the rounding error of
    // the product form into about 1e-8 for equal rows: it gets the differences instead.
    let exact = kernel == Kernel::Distance;
    for (i, mut row) in k.outer_iter_mut().enumerate() {
        let ni = norms[lo + i];
        let row_i = z.row(lo + i);
        let row_i = row_i.as_slice().unwrap_or(&[]);
        let Some(row) = row.as_slice_mut() else {
            return Err(CoreError::invalid("kernel block: rows not contiguous"));
        };
        // Squared distances, then the kernel over the whole row at once.
        for (j, v) in row.iter_mut().enumerate() {
            *v = if j == i {
                0.0
            } else if exact {
                squared_distance(row_i, z.row(lo + j).as_slice().unwrap_or(&[]))
            } else {
                (ni + norms[lo + j] - 2.0 * *v).max(0.0)
            };
        }
        kernel.of_squared_slice(row);
        own_rows[i] = row.iter().sum();
        // Columns past the block are doubled: the pair (j, i) is not visited again.
        for (v, later) in row[rows..].iter_mut().zip(later_columns.iter_mut()) {
            *later += *v;
            *v *= 2.0;
        }
        if lo + i < n {
            observed += row.iter().take(observed_cols).sum::<f64>();
        }
    }
    let mut quad = match labels {
        Labels::Exact(z) => exact_products(&k, z.slice(s![lo.., ..])),
        Labels::Mixed { z, suffix } => {
            let block = lo / BLOCK;
            mixed_products(
                &k,
                &own_rows,
                z.slice(s![lo.., ..]),
                suffix.row(block),
                suffix.row(block + 1),
            )
        }
    };
    quad[0] = observed;
    Ok(BlockPart {
        lo,
        hi,
        own_rows,
        later_columns,
        quad,
    })
}

/// `sum_i z_ib (K z_b)_i` over the block's rows `i` in f64; `labels` from the block's
/// first row on.
fn exact_products(k: &Array2<f64>, labels: ArrayView2<'_, f64>) -> Vec<f64> {
    let kz = k.dot(&labels);
    let own = labels.slice(s![..k.nrows(), ..]);
    let mut quad = vec![0.0f64; labels.ncols()];
    for (own_row, kz_row) in own.outer_iter().zip(kz.outer_iter()) {
        for ((q, &zv), &p) in quad.iter_mut().zip(&own_row).zip(&kz_row) {
            *q += zv * p;
        }
    }
    quad
}

/// The same sums as `exact_products` with the products in f32. Row `i` of the block is
/// centred on `c_i`, the mean of its kernel values, before rounding to f32:
/// `(K z)_i = sum_j (v_ij - w_j c_i) z_j + c_i sum_j w_j z_j` (`w_j` 1 inside the block,
/// 2 past it, as in `k`), the second sum counted exactly from `suffix`. The centred values
/// keep the f32 partial sums small (about sqrt(CHUNK) times the spread of the kernel
/// rather than CHUNK times its mean), so their rounding stays small; each product over
/// `CHUNK` columns goes into f64.
fn mixed_products(
    k: &Array2<f64>,
    own_rows: &[f64],
    labels: ArrayView2<'_, f32>,
    ones_from_block: ArrayView1<'_, f64>,
    ones_after_block: ArrayView1<'_, f64>,
) -> Vec<f64> {
    let (rows, len) = k.dim();
    let width = labels.ncols();
    let centre: Vec<f64> = own_rows.iter().map(|s| s / len as f64).collect();
    let mut k32 = Array2::<f32>::zeros((rows, len));
    for ((mut dst, src), &c) in k32.outer_iter_mut().zip(k.outer_iter()).zip(&centre) {
        for (j, (d, &v)) in dst.iter_mut().zip(&src).enumerate() {
            let w = if j < rows { 1.0 } else { 2.0 };
            *d = (v - w * c) as f32;
        }
    }
    let mut kz = Array2::<f64>::zeros((rows, width));
    let mut part = Array2::<f32>::zeros((rows, width));
    for c0 in (0..len).step_by(CHUNK) {
        let c1 = (c0 + CHUNK).min(len);
        general_mat_mul(
            1.0f32,
            &k32.slice(s![.., c0..c1]),
            &labels.slice(s![c0..c1, ..]),
            0.0f32,
            &mut part,
        );
        kz.zip_mut_with(&part, |a, &p| *a += f64::from(p));
    }
    // Weighted count of ones from the block's first row on: once inside, twice after.
    let weighted: Vec<f64> = ones_from_block
        .iter()
        .zip(&ones_after_block)
        .map(|(from, after)| (from - after) + 2.0 * after)
        .collect();
    let own = labels.slice(s![..rows, ..]);
    let mut quad = vec![0.0f64; width];
    for ((own_row, kz_row), &c) in own.outer_iter().zip(kz.outer_iter()).zip(&centre) {
        for (((q, &zv), &p), &w) in quad.iter_mut().zip(&own_row).zip(&kz_row).zip(&weighted) {
            if zv != 0.0 {
                *q += p + c * w;
            }
        }
    }
    quad
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
    /// The statistics of every labelling in both arithmetics: the largest difference of a
    /// permuted statistic in standard deviations of the (exact) permuted ones, and whether
    /// the observed statistics and the p-values agree exactly.
    fn mixed_against_exact(
        x: &Array2<f64>,
        y: &Array2<f64>,
        bandwidth: f64,
        permutations: usize,
        seed: u64,
    ) -> (f64, bool) {
        let run = |a| {
            all_statistics(
                x.view(),
                y.view(),
                Statistic::MmdUnbiased,
                Kernel::Rbf { bandwidth },
                permutations,
                seed,
                &Progress::new(),
                a,
            )
            .unwrap()
        };
        let (exact, mixed) = (run(Arithmetic::Exact), run(Arithmetic::Mixed));
        let null = &exact[1..];
        let mean = null.iter().sum::<f64>() / null.len() as f64;
        let sd =
            (null.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / (null.len() - 1) as f64).sqrt();
        let worst = exact[1..]
            .iter()
            .zip(&mixed[1..])
            .map(|(e, m)| (e - m).abs())
            .fold(0.0, f64::max);
        // The f32 rounding never moves a permutation across the tie line, and the tie
        // rule of the f32 path only ever makes the p-value larger.
        let (p_exact, p_mixed) = (
            outcome(&exact, Arithmetic::Exact),
            outcome(&mixed, Arithmetic::Mixed),
        );
        let same = exact[0] == mixed[0]
            && outcome(&exact, Arithmetic::Mixed) == p_mixed
            && p_mixed.pvalue >= p_exact.pvalue;
        (worst / sd, same)
    }

    #[test]
    fn the_f32_tie_rule_counts_near_ties_and_only_them() {
        // Permuted statistics with standard deviation 1 (about): one just below the
        // observed value (within MIXED_TIE sd), one clearly below, one above.
        let observed = 0.5;
        let mut stats = vec![observed, observed + 1.0, observed - 0.5e-4, observed - 1e-3];
        stats.extend([-1.0, 1.0, -1.5, 1.5, 0.0, 2.0]);
        let exact = outcome(&stats, Arithmetic::Exact);
        let mixed = outcome(&stats, Arithmetic::Mixed);
        let count = |p: Option<f64>| (p.unwrap_or(0.0) * stats.len() as f64).round() as usize - 1;
        assert_eq!(exact.statistic, mixed.statistic);
        assert_eq!(count(exact.pvalue), 4); // observed + 1, 1.0, 1.5, 2.0
        assert_eq!(count(mixed.pvalue), 5); // and the near tie
    }

    #[test]
    fn mixed_products_match_f64_far_below_the_null_spread() {
        // Past MIXED_MIN_ROWS, under the null and under a small shift.
        for (shift, seed) in [(0.0, 11), (0.05, 12)] {
            let x = normal(1200, 5, 0.0, seed);
            let y = normal(1100, 5, shift, seed + 100);
            let (worst, same) = mixed_against_exact(&x, &y, 2.2, 200, seed);
            eprintln!("shift {shift}: largest difference {worst:e} null sd");
            assert!(worst < 1e-5, "{worst}");
            assert!(same);
        }
    }

    #[test]
    fn mixed_products_keep_the_calibration_pvalues() {
        // The calibration tests' setting (20 rows a side, 2 features, 199 permutations),
        // forced through the f32 products: every p-value as in f64.
        let mut worst = 0.0f64;
        for rep in 0..300 {
            let x = normal(20, 2, 0.0, 1000 + 2 * rep);
            let y = normal(20, 2, 0.0, 1001 + 2 * rep);
            let (w, same) = mixed_against_exact(&x, &y, 1.0, 199, rep);
            assert!(same, "replication {rep}");
            worst = worst.max(w);
        }
        assert!(worst < 1e-5, "{worst}");
    }

    #[test]
    #[ignore = "about a minute: the bench's size, run by hand for the error figure"]
    fn mixed_products_at_the_bench_size() {
        let x = normal(10_000, 10, 0.0, 21);
        let y = normal(10_000, 10, 0.05, 22);
        let (worst, same) = mixed_against_exact(&x, &y, 3.04, 1000, 0);
        eprintln!("largest difference: {worst:e} null sd");
        assert!(worst < 1e-5, "{worst}");
        assert!(same);
    }

    #[test]
    fn mixed_products_do_not_depend_on_the_thread_count() {
        let x = normal(1100, 3, 0.0, 31);
        let y = normal(1000, 3, 0.1, 32);
        let run = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                all_statistics(
                    x.view(),
                    y.view(),
                    Statistic::MmdUnbiased,
                    Kernel::Rbf { bandwidth: 1.5 },
                    64,
                    5,
                    &Progress::new(),
                    Arithmetic::Mixed,
                )
                .unwrap()
            })
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(3));
    }
}
