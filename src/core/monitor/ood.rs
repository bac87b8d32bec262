//! Out-of-distribution scores (higher = more unusual).
//!
//! * `knn_distances`: the distance from each query row to its k-th nearest row of a
//!   reference set, exactly the brute force's (the product form of the squared distance
//!   screens the rows; those within its rounding bound of the k-th are measured again
//!   from the differences).
//! * `mahalanobis_*`: the squared Mahalanobis distance to the reference mean under its
//!   covariance (ridge `1e-9 * trace / d` so a singular covariance still works).
//! * `IsolationForest`: Liu, Ting and Zhou (2008): random trees on sub-samples, the score
//!   `2^(-E[h(x)] / c(psi))`.

use std::cmp::Ordering;

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis};
use rand::seq::index::sample;
use rand::Rng;
use rayon::prelude::*;

use crate::core::drift::multivariate::kernel::squared_distance;
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// Query rows per parallel task.
const QUERY_BLOCK: usize = 256;
/// Reference rows per product block: a 256 x 256 block of products (512 KiB) stays in L2.
const REF_BLOCK: usize = 256;

/// The distance from every row of `queries` to its `k`-th nearest row of `reference`:
/// `sqrt` of the `k`-th smallest of `squared_distance(query, row)` over all rows, exactly
/// what a brute force measuring every pair gives (ties and duplicates included).
///
/// Blocks of `|x|^2 - 2 q.x` come from one matrix product of `[-2q, 1]` by `[x, |x|^2]`
/// (matrixmultiply, cache-blocked, vectorised). A row is measured again from the
/// differences only when its product-form value is within `margin` of the `k`-th exact
/// distance found so far, `margin` bounding the rounding of both forms; every row skipped
/// is then farther than the final `k`-th distance, so the result is the brute force's.
/// Memory: one product block and `k` distances per query row of a task.
pub fn knn_distances(
    reference: ArrayView2<'_, f64>,
    queries: ArrayView2<'_, f64>,
    k: usize,
) -> CoreResult<Vec<f64>> {
    let (n, d) = reference.dim();
    if k == 0 || k > n {
        return Err(CoreError::invalid(format!(
            "k: expected 1 to {n} (the reference rows), got {k}"
        )));
    }
    if queries.ncols() != d {
        return Err(CoreError::invalid(format!(
            "X: expected {d} features, got {}",
            queries.ncols()
        )));
    }
    let r = reference.as_standard_layout();
    let rv = r.view();
    let q = queries.as_standard_layout();
    // [x, |x|^2]: the product with [-2q, 1] gives |x|^2 - 2 q.x.
    let mut ra = Array2::<f64>::zeros((n, d + 1));
    ra.slice_mut(s![.., ..d]).assign(&r);
    let mut xmax = 0.0f64;
    for (i, row) in r.outer_iter().enumerate() {
        let norm = row.dot(&row);
        ra[[i, d]] = norm;
        xmax = xmax.max(norm);
    }
    // Rounding of the product form, of the exact form and of the comparison, summed
    // over d + 1 terms: at most a few (d + 4) ulps of |q|^2 + max |x|^2; 16 (d + 4) is
    // a wide bound.
    let ulps = 16.0 * (d as f64 + 4.0) * f64::EPSILON;
    let blocks: Vec<Vec<f64>> = (0..q.nrows().div_ceil(QUERY_BLOCK))
        .into_par_iter()
        .map(|b| {
            let lo = b * QUERY_BLOCK;
            let hi = (lo + QUERY_BLOCK).min(q.nrows());
            let qb = q.slice(s![lo..hi, ..]);
            let mut qa = Array2::<f64>::ones((hi - lo, d + 1));
            qa.slice_mut(s![.., ..d]).assign(&(&qb * -2.0));
            let qnorm: Vec<f64> = qb.outer_iter().map(|v| v.dot(&v)).collect();
            let margin: Vec<f64> = qnorm.iter().map(|&v| ulps * (v + xmax)).collect();
            let mut best: Vec<Vec<f64>> = vec![Vec::with_capacity(k + 1); hi - lo];
            let mut buffer = vec![0.0f64; (hi - lo) * REF_BLOCK.min(n)];
            for rlo in (0..n).step_by(REF_BLOCK) {
                let rhi = (rlo + REF_BLOCK).min(n);
                let w = rhi - rlo;
                let cells = &mut buffer[..(hi - lo) * w];
                let mut g = ArrayViewMut2::from_shape((hi - lo, w), &mut cells[..])
                    .map_err(|e| CoreError::invalid(format!("knn block: {e}")))?;
                general_mat_mul(1.0, &qa, &ra.slice(s![rlo..rhi, ..]).t(), 0.0, &mut g);
                for (qi, row) in cells.chunks_exact(w).enumerate() {
                    let qrow = rows_of(&qb, qi);
                    let list = &mut best[qi];
                    let mut bar = bar_of(list, k, qnorm[qi], margin[qi]);
                    for (c, chunk) in row.chunks(8).enumerate() {
                        // Most chunks hold no candidate: one branch for eight rows.
                        if chunk.len() == 8 && !near(chunk, bar) {
                            continue;
                        }
                        for (t, &v) in chunk.iter().enumerate() {
                            if v > bar {
                                continue;
                            }
                            let j = rlo + 8 * c + t;
                            let exact = squared_distance(qrow, rows_of(&rv, j));
                            if list.len() == k
                                && exact.partial_cmp(&list[k - 1]) != Some(Ordering::Less)
                            {
                                continue;
                            }
                            let at = list.partition_point(|&e| e <= exact);
                            list.insert(at, exact);
                            list.truncate(k);
                            bar = bar_of(list, k, qnorm[qi], margin[qi]);
                        }
                    }
                }
            }
            Ok(best
                .iter()
                .map(|list| list.get(k - 1).map_or(f64::NAN, |v| v.sqrt()))
                .collect())
        })
        .collect::<CoreResult<_>>()?;
    Ok(blocks.into_iter().flatten().collect())
}

/// Whether one of eight product-form values is at most `bar` (or NaN).
#[inline(always)]
fn near(chunk: &[f64], bar: f64) -> bool {
    let mut any = false;
    for &v in &chunk[..8] {
        any |= (v <= bar) | v.is_nan();
    }
    any
}

fn rows_of<'a>(a: &'a ArrayView2<'_, f64>, i: usize) -> &'a [f64] {
    a.row(i).to_slice().unwrap_or(&[])
}

/// The largest product-form value `|x|^2 - 2 q.x` a row can have and still be among the
/// `k` nearest: infinite until `k` rows are measured (or when the norms overflow, which
/// measures every row).
fn bar_of(list: &[f64], k: usize, qnorm: f64, margin: f64) -> f64 {
    if list.len() < k || !margin.is_finite() {
        f64::INFINITY
    } else {
        list[k - 1] + margin - qnorm
    }
}

/// The mean and the lower Cholesky factor of the covariance (divisor n - 1) of `x`.
pub fn mahalanobis_fit(x: ArrayView2<'_, f64>) -> CoreResult<(Array1<f64>, Array2<f64>)> {
    let (n, d) = x.dim();
    if n < 2 {
        return Err(CoreError::invalid(
            "X_train: mahalanobis needs at least 2 rows",
        ));
    }
    let mean = x.mean_axis(Axis(0)).unwrap_or_else(|| Array1::zeros(d));
    let c = &x - &mean;
    let mut cov = c.t().dot(&c) / (n as f64 - 1.0);
    let ridge = 1e-9 * cov.diag().sum().max(f64::MIN_POSITIVE) / d as f64;
    for j in 0..d {
        cov[[j, j]] += ridge;
    }
    let mut l = Array2::<f64>::zeros((d, d));
    for j in 0..d {
        let mut diag = cov[[j, j]];
        for t in 0..j {
            diag -= l[[j, t]] * l[[j, t]];
        }
        if diag.is_nan() || diag <= 0.0 {
            return Err(CoreError::invalid(
                "X_train: the covariance is not positive definite (constant features?)",
            ));
        }
        let diag = diag.sqrt();
        l[[j, j]] = diag;
        for i in j + 1..d {
            let mut v = cov[[i, j]];
            for t in 0..j {
                v -= l[[i, t]] * l[[j, t]];
            }
            l[[i, j]] = v / diag;
        }
    }
    Ok((mean, l))
}

/// Squared Mahalanobis distances `|L^-1 (x - mean)|^2`.
pub fn mahalanobis_scores(
    x: ArrayView2<'_, f64>,
    mean: ArrayView1<'_, f64>,
    chol: ArrayView2<'_, f64>,
) -> CoreResult<Vec<f64>> {
    let d = mean.len();
    if x.ncols() != d || chol.dim() != (d, d) {
        return Err(CoreError::invalid(format!(
            "X: expected {d} features, got {}",
            x.ncols()
        )));
    }
    Ok(x.outer_iter()
        .into_par_iter()
        .map(|row| {
            let mut z = vec![0.0f64; d];
            let mut s = 0.0;
            for i in 0..d {
                let mut v = row[i] - mean[i];
                for t in 0..i {
                    v -= chol[[i, t]] * z[t];
                }
                z[i] = v / chol[[i, i]];
                s += z[i] * z[i];
            }
            s
        })
        .collect())
}

/// `c(n)`: the average path length of an unsuccessful search in a binary search tree of
/// `n` points, which normalises isolation depths.
pub fn average_path(n: usize) -> f64 {
    match n {
        0 | 1 => 0.0,
        2 => 1.0,
        _ => {
            let nf = n as f64;
            2.0 * ((nf - 1.0).ln() + 0.577_215_664_901_532_9) - 2.0 * (nf - 1.0) / nf
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Split {
        feature: usize,
        value: f64,
        left: usize,
        right: usize,
    },
    Leaf {
        size: usize,
    },
}

/// An isolation forest.
#[derive(Debug, Clone, PartialEq)]
pub struct IsolationForest {
    trees: Vec<Vec<Node>>,
    samples: usize,
}

impl IsolationForest {
    /// `trees` trees, each on `max_samples` rows drawn without replacement (tree `t` from
    /// the seeded stream `t`), grown to depth `ceil(log2(max_samples))`.
    pub fn fit(
        x: ArrayView2<'_, f64>,
        trees: usize,
        max_samples: usize,
        seed: u64,
    ) -> CoreResult<Self> {
        let n = x.nrows();
        if n < 2 || trees == 0 {
            return Err(CoreError::invalid(
                "X_train: an isolation forest needs at least 2 rows and 1 tree",
            ));
        }
        let psi = max_samples.clamp(2, n);
        let limit = (psi as f64).log2().ceil() as usize;
        let trees = (0..trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = sample_rng(seed, t);
                let rows = sample(&mut rng, n, psi).into_vec();
                let mut nodes = Vec::new();
                grow(x, rows, 0, limit, &mut rng, &mut nodes);
                nodes
            })
            .collect();
        Ok(IsolationForest {
            trees,
            samples: psi,
        })
    }

    /// `2^(-mean path / c(psi))` of every row: near 1 isolated, below 0.5 ordinary.
    pub fn scores(&self, x: ArrayView2<'_, f64>) -> Vec<f64> {
        let norm = average_path(self.samples);
        x.outer_iter()
            .into_par_iter()
            .map(|row| {
                let total: f64 = self.trees.iter().map(|t| path(t, row)).sum();
                let mean = total / self.trees.len() as f64;
                (2.0f64).powf(-mean / norm)
            })
            .collect()
    }
}

fn grow(
    x: ArrayView2<'_, f64>,
    rows: Vec<usize>,
    depth: usize,
    limit: usize,
    rng: &mut rand_chacha::ChaCha8Rng,
    nodes: &mut Vec<Node>,
) -> usize {
    let at = nodes.len();
    nodes.push(Node::Leaf { size: rows.len() });
    if depth >= limit || rows.len() <= 1 {
        return at;
    }
    // Features that still vary among these rows.
    let d = x.ncols();
    let mut ranges: Vec<(usize, f64, f64)> = Vec::new();
    for j in 0..d {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for &i in &rows {
            lo = lo.min(x[[i, j]]);
            hi = hi.max(x[[i, j]]);
        }
        if hi > lo {
            ranges.push((j, lo, hi));
        }
    }
    if ranges.is_empty() {
        return at;
    }
    let (feature, lo, hi) = ranges[rng.gen_range(0..ranges.len())];
    let value = lo + rng.gen::<f64>() * (hi - lo);
    let (l, r): (Vec<usize>, Vec<usize>) = rows.into_iter().partition(|&i| x[[i, feature]] < value);
    let left = grow(x, l, depth + 1, limit, rng, nodes);
    let right = grow(x, r, depth + 1, limit, rng, nodes);
    nodes[at] = Node::Split {
        feature,
        value,
        left,
        right,
    };
    at
}

fn path(tree: &[Node], row: ArrayView1<'_, f64>) -> f64 {
    let mut at = 0;
    let mut depth = 0.0;
    loop {
        match tree[at] {
            Node::Leaf { size } => return depth + average_path(size),
            Node::Split {
                feature,
                value,
                left,
                right,
            } => {
                at = if row[feature] < value { left } else { right };
                depth += 1.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;
    use rand_distr::StandardNormal;

    #[test]
    fn knn_on_a_line() {
        let r = array![[0.0], [1.0], [3.0], [7.0]];
        let q = array![[0.0], [6.0]];
        assert_eq!(
            knn_distances(r.view(), q.view(), 1).unwrap(),
            vec![0.0, 1.0]
        );
        assert_eq!(
            knn_distances(r.view(), q.view(), 2).unwrap(),
            vec![1.0, 3.0]
        );
        assert!(knn_distances(r.view(), q.view(), 5).is_err());
    }

    /// The k-th smallest `squared_distance` over every reference row, measured pair by pair.
    fn brute(r: &Array2<f64>, q: &Array2<f64>, k: usize) -> Vec<f64> {
        q.outer_iter()
            .map(|qr| {
                let mut all: Vec<f64> = r
                    .outer_iter()
                    .map(|rr| squared_distance(qr.as_slice().unwrap(), rr.as_slice().unwrap()))
                    .collect();
                all.sort_by(f64::total_cmp);
                all[k - 1].sqrt()
            })
            .collect()
    }

    fn same_bits(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    #[test]
    fn knn_equals_the_brute_force() {
        let mut rng = sample_rng(2, 0);
        // Sizes across the block edges (256 query rows, 256 reference rows, chunks of 8).
        for &(n, m, d, k) in &[
            (1, 3, 1, 1),
            (7, 5, 3, 7),
            (300, 300, 20, 5),
            (257, 513, 2, 9),
            (600, 70, 25, 1),
            (513, 40, 4, 513),
        ] {
            let r = Array2::from_shape_fn((n, d), |_| rng.sample::<f64, _>(StandardNormal));
            let q = Array2::from_shape_fn((m, d), |_| rng.sample::<f64, _>(StandardNormal) * 1.5);
            let got = knn_distances(r.view(), q.view(), k).unwrap();
            assert!(
                same_bits(&got, &brute(&r, &q, k)),
                "n={n} m={m} d={d} k={k}"
            );
        }
    }

    #[test]
    fn knn_with_duplicates_ties_and_cancellation() {
        let mut rng = sample_rng(3, 0);
        // Integer grid: many rows repeated, many equal distances.
        let r = Array2::from_shape_fn((700, 3), |_| rng.gen_range(0..4) as f64);
        let q = Array2::from_shape_fn((90, 3), |_| rng.gen_range(0..5) as f64 - 0.5);
        for k in [1, 2, 5, 40, 700] {
            let got = knn_distances(r.view(), q.view(), k).unwrap();
            assert!(same_bits(&got, &brute(&r, &q, k)), "grid k={k}");
        }
        // Queries that are reference rows: the nearest distance is 0.
        let got = knn_distances(r.view(), r.slice(s![..50, ..]), 1).unwrap();
        assert!(got.iter().all(|&v| v == 0.0));
        // A large offset: |x|^2 - 2 q.x loses every digit of the spread, so only the
        // exact distances can rank these rows.
        let r = Array2::from_shape_fn((400, 6), |_| 1e8 + rng.sample::<f64, _>(StandardNormal));
        let q = Array2::from_shape_fn((60, 6), |_| 1e8 + rng.sample::<f64, _>(StandardNormal));
        for k in [1, 3, 17] {
            let got = knn_distances(r.view(), q.view(), k).unwrap();
            assert!(same_bits(&got, &brute(&r, &q, k)), "offset k={k}");
        }
        // All reference rows equal: every row ties.
        let r = Array2::from_elem((300, 4), 0.25);
        let q = Array2::from_shape_fn((10, 4), |_| rng.sample::<f64, _>(StandardNormal));
        let got = knn_distances(r.view(), q.view(), 5).unwrap();
        assert!(same_bits(&got, &brute(&r, &q, 5)));
    }

    #[test]
    fn knn_is_the_same_on_any_thread_count_and_layout() {
        let mut rng = sample_rng(4, 0);
        let r = Array2::from_shape_fn((1000, 5), |_| rng.sample::<f64, _>(StandardNormal));
        let q = Array2::from_shape_fn((700, 5), |_| rng.sample::<f64, _>(StandardNormal));
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| knn_distances(r.view(), q.view(), 5).unwrap())
        };
        let one = run(1);
        assert!(same_bits(&one, &run(3)));
        // Column-major inputs give the same distances.
        let (rt, qt) = (r.t().to_owned(), q.t().to_owned());
        let got = knn_distances(rt.t(), qt.t(), 5).unwrap();
        assert!(same_bits(&one, &got));
        assert!(same_bits(&one, &brute(&r, &q, 5)));
    }

    #[test]
    fn knn_refuses_bad_k_and_widths() {
        let r = Array2::<f64>::zeros((4, 2));
        assert!(knn_distances(r.view(), Array2::zeros((1, 2)).view(), 0).is_err());
        assert!(knn_distances(r.view(), Array2::zeros((1, 3)).view(), 1).is_err());
        assert!(knn_distances(Array2::zeros((0, 2)).view(), r.view(), 1).is_err());
        assert_eq!(
            knn_distances(r.view(), Array2::zeros((0, 2)).view(), 1).unwrap(),
            Vec::<f64>::new()
        );
    }

    #[test]
    fn mahalanobis_of_a_scaled_axis() {
        let mut rng = sample_rng(0, 0);
        let x = Array2::from_shape_fn((2000, 2), |(_, j)| {
            rng.sample::<f64, _>(StandardNormal) * if j == 0 { 2.0 } else { 1.0 }
        });
        let (m, l) = mahalanobis_fit(x.view()).unwrap();
        let s =
            mahalanobis_scores(array![[2.0, 0.0], [0.0, 2.0]].view(), m.view(), l.view()).unwrap();
        assert!(
            (s[0] - 1.0).abs() < 0.15 && (s[1] - 4.0).abs() < 0.4,
            "{s:?}"
        );
    }

    #[test]
    fn isolation_forest_isolates_an_outlier() {
        let mut rng = sample_rng(1, 0);
        let x = Array2::from_shape_fn((500, 3), |_| rng.sample::<f64, _>(StandardNormal));
        let f = IsolationForest::fit(x.view(), 100, 256, 0).unwrap();
        let s = f.scores(array![[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]].view());
        assert!(s[1] > 0.7 && s[0] < 0.5, "{s:?}");
        assert_eq!(f, IsolationForest::fit(x.view(), 100, 256, 0).unwrap());
    }
}
