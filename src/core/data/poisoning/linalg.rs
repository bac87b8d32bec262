//! The dense linear algebra the poisoning scores need, without LAPACK: a deterministic
//! parallel sum, the scatter matrix of a class, and the top eigenvectors of a symmetric
//! positive semi-definite matrix.
//!
//! Top eigenvectors: a matrix of order at most `FULL_JACOBI_MAX` is diagonalised outright
//! by cyclic Jacobi rotations (accurate to a few ulps of the largest eigenvalue). A larger
//! one goes through subspace iteration with Rayleigh-Ritz: a block of `k + 8` vectors is
//! passed through a degree-8 Chebyshev polynomial of the matrix that damps the spectrum
//! below the block's smallest Ritz value (Zhou and Saad 2007), then re-orthonormalised,
//! until the residual `||A v - theta v||`
//! of each wanted Ritz vector is below `1e-12` times its eigengap (so the direction is
//! right to about `1e-12` radians) or at the rounding floor `32 eps sqrt(n) theta_1`. The
//! top Ritz vector converges at the rate `lambda_{k+9} / lambda_1`, not `lambda_2 /
//! lambda_1`, so two nearly equal top eigenvalues do not stall it; but when they are
//! equal the top direction itself is not determined (any vector of their plane is one),
//! and neither this code nor LAPACK's SVD can promise a particular one. Callers report
//! the ratio `lambda_2 / lambda_1` so a reader can tell.

use std::ops::Range;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Rows per leaf of the reduction tree. Fixed, so that the order of every floating-point
/// addition, and hence the result, does not depend on the number of threads.
pub const LEAF_ROWS: usize = 256;
/// Matrices up to this order are diagonalised by Jacobi rotations directly.
pub const FULL_JACOBI_MAX: usize = 160;
/// Extra vectors in the subspace-iteration block.
const OVERSAMPLE: usize = 8;
/// Subspace iterations before giving up (the result then says `converged: false`).
const MAX_ITERATIONS: usize = 3000;
/// Degree of the Chebyshev filter applied between Rayleigh-Ritz steps.
const FILTER_DEGREE: usize = 8;
/// Relative gap tolerance of the residual test.
const GAP_TOL: f64 = 1e-12;

/// Sums `leaf(range)` over `0..n` cut into `LEAF_ROWS`-row leaves, combining them along a
/// binary tree whose shape depends on `n` only: deterministic whatever the thread count.
pub fn tree_sum<T, F, A>(n: usize, leaf: &F, add: &A) -> CoreResult<T>
where
    T: Send,
    F: Fn(Range<usize>) -> CoreResult<T> + Sync,
    A: Fn(T, T) -> T + Sync,
{
    tree_sum_by(n, LEAF_ROWS, leaf, add)
}

/// `tree_sum` with leaves of `size` rows (a function of the data's shape only).
pub fn tree_sum_by<T, F, A>(n: usize, size: usize, leaf: &F, add: &A) -> CoreResult<T>
where
    T: Send,
    F: Fn(Range<usize>) -> CoreResult<T> + Sync,
    A: Fn(T, T) -> T + Sync,
{
    fn go<T, F, A>(lo: usize, hi: usize, size: usize, leaf: &F, add: &A) -> CoreResult<T>
    where
        T: Send,
        F: Fn(Range<usize>) -> CoreResult<T> + Sync,
        A: Fn(T, T) -> T + Sync,
    {
        let leaves = (hi - lo).div_ceil(size);
        if leaves <= 1 {
            return leaf(lo..hi);
        }
        let mid = lo + (leaves / 2) * size;
        let (a, b) = rayon::join(
            || go(lo, mid, size, leaf, add),
            || go(mid, hi, size, leaf, add),
        );
        Ok(add(a?, b?))
    }
    go(0, n, size.max(1), leaf, add)
}

/// The mean of the rows `rows` of `x`.
pub fn mean_of(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    progress: &Progress,
) -> CoreResult<Vec<f64>> {
    let d = x.ncols();
    let sum = tree_sum(
        rows.len(),
        &|r: Range<usize>| {
            progress.check()?;
            let mut acc = vec![0.0; d];
            for &i in &rows[r] {
                for (a, v) in acc.iter_mut().zip(x.row(i)) {
                    *a += v;
                }
            }
            Ok(acc)
        },
        &add_vec,
    )?;
    let n = rows.len().max(1) as f64;
    Ok(sum.into_iter().map(|s| s / n).collect())
}

fn add_vec(mut a: Vec<f64>, b: Vec<f64>) -> Vec<f64> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

/// The rows `rows` of `x` minus `mean`, as an owned matrix.
pub fn centred_block(x: ArrayView2<'_, f64>, rows: &[usize], mean: &[f64]) -> Array2<f64> {
    let d = x.ncols();
    let mut b = Array2::<f64>::zeros((rows.len(), d));
    for (mut out, &i) in b.outer_iter_mut().zip(rows) {
        for ((o, v), m) in out.iter_mut().zip(x.row(i)).zip(mean) {
            *o = v - m;
        }
    }
    b
}

/// The scatter matrix of a class in its cheaper form: `M^T M` (`d x d`) when the class has
/// at least `d` rows, else the Gram matrix `M M^T` (`n_c x n_c`), where `M` holds the
/// class's rows minus their mean.
pub enum Scatter {
    Columns(Array2<f64>),
    Rows {
        gram: Array2<f64>,
        centred: Array2<f64>,
    },
}

pub fn scatter(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &[f64],
    progress: &Progress,
) -> CoreResult<Scatter> {
    let d = x.ncols();
    if rows.len() < d {
        let m = centred_block(x, rows, mean);
        let n = m.nrows();
        let mut gram = Array2::<f64>::zeros((n, n));
        // Row strips of the upper triangle are independent products: parallel and exact.
        gram.axis_chunks_iter_mut(Axis(0), STRIP)
            .into_par_iter()
            .enumerate()
            .for_each(|(b, mut out)| {
                let lo = b * STRIP;
                let hi = lo + out.nrows();
                let mut upper = out.slice_mut(s![.., lo..]);
                let left = m.slice(s![lo..hi, ..]);
                let right = m.slice(s![lo.., ..]);
                general_mat_mul(1.0, &left, &right.t(), 0.0, &mut upper);
            });
        mirror_upper(&mut gram);
        progress.check()?;
        return Ok(Scatter::Rows { gram, centred: m });
    }
    // Leaves of about d rows (at least LEAF_ROWS) bound the number of d x d partial sums
    // alive at once; each leaf accumulates LEAF_ROWS-row blocks into its upper triangle.
    let leaf_rows = d.div_ceil(LEAF_ROWS).max(1) * LEAF_ROWS;
    let mut c = tree_sum_by(
        rows.len(),
        leaf_rows,
        &|r: Range<usize>| {
            let mut acc = Array2::<f64>::zeros((d, d));
            for block in rows[r].chunks(LEAF_ROWS) {
                progress.check()?;
                let b = centred_block(x, block, mean);
                for lo in (0..d).step_by(STRIP) {
                    let hi = (lo + STRIP).min(d);
                    let mut upper = acc.slice_mut(s![lo..hi, lo..]);
                    general_mat_mul(
                        1.0,
                        &b.slice(s![.., lo..hi]).t(),
                        &b.slice(s![.., lo..]),
                        1.0,
                        &mut upper,
                    );
                }
            }
            Ok(acc)
        },
        &|mut a: Array2<f64>, b: Array2<f64>| {
            a += &b;
            a
        },
    )?;
    mirror_upper(&mut c);
    Ok(Scatter::Columns(c))
}

/// Rows per strip of the upper-triangle products.
const STRIP: usize = 64;

/// Copies the upper triangle of a square matrix onto its lower one.
fn mirror_upper(m: &mut Array2<f64>) {
    let n = m.nrows();
    for i in 1..n {
        for j in 0..i {
            m[[i, j]] = m[[j, i]];
        }
    }
}

/// The top eigenpairs of a symmetric positive semi-definite matrix.
#[derive(Debug, Clone)]
pub struct Eigen {
    /// The `k` largest eigenvalues, descending, then the next one when known (the
    /// `(k+1)`-th, for the eigengap), else nothing.
    pub values: Vec<f64>,
    /// Unit eigenvectors as columns (`n x k`), each with its largest-magnitude entry
    /// positive (the sign of an eigenvector is arbitrary).
    pub vectors: Array2<f64>,
    pub converged: bool,
    pub iterations: usize,
}

/// The top eigenvectors of the scatter matrix as directions in feature space (`d x k`),
/// with the scatter's eigenvalues.
pub fn top_directions(s: &Scatter, k: usize, progress: &Progress) -> CoreResult<Eigen> {
    match s {
        Scatter::Columns(c) => top_eigen(c, k, progress),
        Scatter::Rows { gram, centred } => {
            let mut e = top_eigen(gram, k.min(gram.nrows()), progress)?;
            // v = M^T u / ||M^T u||: the right singular vector of M for the left one u.
            let mut v = centred.t().dot(&e.vectors);
            for mut col in v.axis_iter_mut(Axis(1)) {
                let norm = col.dot(&col).sqrt();
                if norm > 0.0 {
                    col /= norm;
                }
            }
            let d = centred.ncols();
            let k_all = k.min(d);
            let mut out = Array2::<f64>::zeros((d, k_all));
            out.slice_mut(s![.., ..v.ncols()]).assign(&v);
            fix_signs(&mut out);
            e.vectors = out;
            Ok(e)
        }
    }
}

/// The `k` top eigenpairs of the symmetric PSD matrix `a`.
pub fn top_eigen(a: &Array2<f64>, k: usize, progress: &Progress) -> CoreResult<Eigen> {
    let n = a.nrows();
    let k = k.min(n);
    if n <= FULL_JACOBI_MAX || k + OVERSAMPLE >= n {
        let (values, vectors) = jacobi_eigen(a.view());
        let mut vecs = vectors.slice(s![.., ..k]).to_owned();
        fix_signs(&mut vecs);
        let keep = (k + 1).min(n);
        return Ok(Eigen {
            values: values[..keep].to_vec(),
            vectors: vecs,
            converged: true,
            iterations: 1,
        });
    }
    subspace_iteration(a, k, progress)
}

fn subspace_iteration(a: &Array2<f64>, k: usize, progress: &Progress) -> CoreResult<Eigen> {
    let n = a.nrows();
    let p = (k + OVERSAMPLE).min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut q = Array2::<f64>::from_shape_fn((n, p), |_| rng.gen_range(-1.0..1.0));
    orthonormalise(&mut q);
    let mut result = None;
    for it in 1..=MAX_ITERATIONS {
        progress.check()?;
        let z = multiply(a, &q);
        let h = q.t().dot(&z);
        let (theta, w) = jacobi_eigen(h.view());
        let v = q.dot(&w);
        let av = z.dot(&w);
        let top = theta[0].max(0.0);
        let floor = 32.0 * f64::EPSILON * (n as f64).sqrt() * top;
        let done = top == 0.0
            || (0..k).all(|j| {
                let r = &av.column(j) - &(&v.column(j) * theta[j]);
                let res = r.dot(&r).sqrt();
                let below = theta[j] - theta[j + 1];
                let gap = if j == 0 {
                    below
                } else {
                    below.min(theta[j - 1] - theta[j])
                };
                res <= (GAP_TOL * gap).max(floor)
            });
        if done || it == MAX_ITERATIONS {
            let mut vecs = v.slice(s![.., ..k]).to_owned();
            fix_signs(&mut vecs);
            result = Some(Eigen {
                values: theta[..=k].to_vec(),
                vectors: vecs,
                converged: done,
                iterations: it,
            });
            break;
        }
        // The next block: the Ritz basis through a Chebyshev filter that damps the
        // unwanted part of the spectrum, [0, theta_p], and amplifies what lies above it.
        let cut = theta[p - 1].max(0.0);
        q = if cut > 0.0 && cut < top * (1.0 - 1e-9) {
            chebyshev_filter(a, v, av, 0.0, cut, top)
        } else {
            av
        };
        orthonormalise(&mut q);
    }
    result.ok_or_else(|| CoreError::invalid("eigenvectors: the iteration ran no step"))
}

/// `T_m` of `a` mapped so that `[lo, hi]` goes to `[-1, 1]`, applied to `x` (whose
/// product `a x` is `ax`), scaled so the value at `top` stays near 1 (Zhou and Saad 2007,
/// Chebyshev filtered subspace iteration). Degree `FILTER_DEGREE`.
fn chebyshev_filter(
    a: &Array2<f64>,
    x: Array2<f64>,
    ax: Array2<f64>,
    lo: f64,
    hi: f64,
    top: f64,
) -> Array2<f64> {
    let e = (hi - lo) / 2.0;
    let c = (hi + lo) / 2.0;
    let mut sigma = e / (top - c);
    let tau = 2.0 / sigma;
    let mut prev = x;
    let mut y = (&ax - &(&prev * c)) * (sigma / e);
    for _ in 1..FILTER_DEGREE {
        let next_sigma = 1.0 / (tau - sigma);
        let ay = multiply(a, &y);
        let next = (&ay - &(&y * c)) * (2.0 * next_sigma / e) - &(&prev * (sigma * next_sigma));
        prev = y;
        y = next;
        sigma = next_sigma;
    }
    y
}

/// `a . q` with row blocks of `a` in parallel (each output entry is one fixed dot
/// product, so the result does not depend on the thread count).
fn multiply(a: &Array2<f64>, q: &Array2<f64>) -> Array2<f64> {
    let mut z = Array2::<f64>::zeros((a.nrows(), q.ncols()));
    z.axis_chunks_iter_mut(Axis(0), 64)
        .into_par_iter()
        .enumerate()
        .for_each(|(b, mut out)| {
            let lo = b * 64;
            let hi = lo + out.nrows();
            out.assign(&a.slice(s![lo..hi, ..]).dot(q));
        });
    z
}

/// Modified Gram-Schmidt, twice (enough for orthogonality to rounding). A column that
/// vanishes (a rank-deficient block) is replaced by the first unit vector that survives.
fn orthonormalise(q: &mut Array2<f64>) {
    let (n, p) = q.dim();
    for j in 0..p {
        for _pass in 0..2 {
            for i in 0..j {
                let proj = q.column(i).dot(&q.column(j));
                let qi = q.column(i).to_owned();
                q.column_mut(j).scaled_add(-proj, &qi);
            }
        }
        let mut norm = q.column(j).dot(&q.column(j)).sqrt();
        let mut e = 0;
        while norm <= 1e-300 && e < n {
            q.column_mut(j).fill(0.0);
            q[[e, j]] = 1.0;
            for i in 0..j {
                let proj = q.column(i).dot(&q.column(j));
                let qi = q.column(i).to_owned();
                q.column_mut(j).scaled_add(-proj, &qi);
            }
            norm = q.column(j).dot(&q.column(j)).sqrt();
            e += 1;
        }
        if norm > 1e-300 {
            q.column_mut(j).mapv_inplace(|v| v / norm);
        }
    }
}

/// Makes the largest-magnitude entry of each column positive (first one on ties).
pub fn fix_signs(v: &mut Array2<f64>) {
    for mut col in v.axis_iter_mut(Axis(1)) {
        let mut best = 0.0f64;
        let mut sign = 1.0;
        for &x in col.iter() {
            if x.abs() > best {
                best = x.abs();
                sign = x.signum();
            }
        }
        if sign < 0.0 {
            col.mapv_inplace(|x| -x);
        }
    }
}

/// Every eigenpair of the symmetric matrix `a` by cyclic Jacobi rotations: eigenvalues
/// descending, eigenvectors as the columns of the second result.
pub fn jacobi_eigen(a: ArrayView2<'_, f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    // Symmetrise (the input is symmetric up to rounding of its products).
    let mut m = Array2::<f64>::from_shape_fn((n, n), |(i, j)| 0.5 * (a[[i, j]] + a[[j, i]]));
    let mut v = Array2::<f64>::eye(n);
    for sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .map(|(i, j)| m[[i, j]].abs())
            .sum();
        if off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[[p, q]];
                let app = m[[p, p]];
                let aqq = m[[q, q]];
                // After a few sweeps an element below the rounding of both diagonal
                // entries is set to zero rather than rotated (the classical test).
                let g = 100.0 * apq.abs();
                if sweep > 3 && app.abs() + g == app.abs() && aqq.abs() + g == aqq.abs() {
                    m[[p, q]] = 0.0;
                    m[[q, p]] = 0.0;
                    continue;
                }
                if apq == 0.0 {
                    continue;
                }
                let theta = (aqq - app) / (2.0 * apq);
                let t = if theta == 0.0 {
                    1.0
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                rotate(&mut m, &mut v, p, q, c, s);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    let diag: Vec<f64> = (0..n).map(|i| m[[i, i]]).collect();
    order.sort_by(|&i, &j| diag[j].total_cmp(&diag[i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| diag[i]).collect();
    let mut vectors = Array2::<f64>::zeros((n, n));
    for (dst, &src) in order.iter().enumerate() {
        vectors.column_mut(dst).assign(&v.column(src));
    }
    (values, vectors)
}

/// Applies the Jacobi rotation in the plane `(p, q)` that zeroes `m[p, q]`.
fn rotate(m: &mut Array2<f64>, v: &mut Array2<f64>, p: usize, q: usize, c: f64, s: f64) {
    let n = m.nrows();
    for k in 0..n {
        let mkp = m[[k, p]];
        let mkq = m[[k, q]];
        m[[k, p]] = c * mkp - s * mkq;
        m[[k, q]] = s * mkp + c * mkq;
    }
    for k in 0..n {
        let mpk = m[[p, k]];
        let mqk = m[[q, k]];
        m[[p, k]] = c * mpk - s * mqk;
        m[[q, k]] = s * mpk + c * mqk;
    }
    for k in 0..n {
        let vkp = v[[k, p]];
        let vkq = v[[k, q]];
        v[[k, p]] = c * vkp - s * vkq;
        v[[k, q]] = s * vkp + c * vkq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sym(n: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let b = Array2::<f64>::from_shape_fn((n + 5, n), |_| rng.gen_range(-1.0..1.0));
        b.t().dot(&b)
    }

    fn check_pairs(a: &Array2<f64>, e: &Eigen, tol: f64) {
        for j in 0..e.vectors.ncols() {
            let v = e.vectors.column(j);
            let r = &a.dot(&v) - &(&v * e.values[j]);
            assert!(r.dot(&r).sqrt() <= tol * e.values[0], "pair {j}");
            assert!((v.dot(&v) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn jacobi_diagonalises() {
        let a = sym(12, 1);
        let (vals, vecs) = jacobi_eigen(a.view());
        let back = vecs
            .dot(&Array2::from_diag(&ndarray::Array1::from(vals.clone())))
            .dot(&vecs.t());
        for (x, y) in back.iter().zip(a.iter()) {
            assert!((x - y).abs() < 1e-12 * vals[0]);
        }
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn subspace_iteration_matches_jacobi() {
        let a = sym(200, 2);
        let p = Progress::new();
        let e = top_eigen(&a, 3, &p).unwrap();
        assert!(e.converged);
        let (vals, vecs) = jacobi_eigen(a.view());
        for j in 0..3 {
            assert!((e.values[j] - vals[j]).abs() <= 1e-12 * vals[0]);
            let cos = e.vectors.column(j).dot(&vecs.column(j)).abs();
            assert!((cos - 1.0).abs() < 1e-12, "{cos}");
        }
        check_pairs(&a, &e, 1e-12);
    }

    #[test]
    fn tree_sum_is_the_same_whatever_the_threads() {
        let x: Vec<f64> = (0..10_000)
            .map(|i| ((i * 7919) % 1000) as f64 * 0.1 + 1e-7)
            .collect();
        let leaf = |r: Range<usize>| -> CoreResult<f64> { Ok(x[r].iter().sum()) };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let four = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let a = one
            .install(|| tree_sum(x.len(), &leaf, &|a, b| a + b))
            .unwrap();
        let b = four
            .install(|| tree_sum(x.len(), &leaf, &|a, b| a + b))
            .unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
    }

    #[test]
    fn a_zero_matrix_has_zero_eigenvalues() {
        let a = Array2::<f64>::zeros((300, 300));
        let e = top_eigen(&a, 2, &Progress::new()).unwrap();
        assert_eq!(e.values[0], 0.0);
        assert_eq!(e.vectors.ncols(), 2);
    }
}
