//! Out-of-distribution scores (higher = more unusual).
//!
//! * `knn_distances`: the distance from each query row to its k-th nearest row of a
//!   reference set (exact: candidates found with the product form of the squared
//!   distance, the best ones then measured again from the differences).
//! * `mahalanobis_*`: the squared Mahalanobis distance to the reference mean under its
//!   covariance (ridge `1e-9 * trace / d` so a singular covariance still works).
//! * `IsolationForest`: Liu, Ting and Zhou (2008): random trees on sub-samples, the score
//!   `2^(-E[h(x)] / c(psi))`.

use ndarray::{s, Array1, Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::index::sample;
use rand::Rng;
use rayon::prelude::*;

use crate::core::drift::multivariate::kernel::squared_distance;
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

const QUERY_BLOCK: usize = 256;
const REF_BLOCK: usize = 2048;
/// Candidates kept past k before the exact distances decide.
const SPARE: usize = 4;

fn rows_of(a: &Array2<f64>, i: usize) -> &[f64] {
    a.row(i).to_slice().unwrap_or(&[])
}

/// The distance from every row of `queries` to its `k`-th nearest row of `reference`.
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
    let r = reference.as_standard_layout().into_owned();
    let q = queries.as_standard_layout().into_owned();
    let rnorm: Vec<f64> = r.outer_iter().map(|v| v.dot(&v)).collect();
    let keep = (k + SPARE).min(n);
    let blocks: Vec<Vec<f64>> = (0..q.nrows().div_ceil(QUERY_BLOCK))
        .into_par_iter()
        .map(|b| {
            let lo = b * QUERY_BLOCK;
            let hi = (lo + QUERY_BLOCK).min(q.nrows());
            let qb = q.slice(s![lo..hi, ..]);
            let qnorm: Vec<f64> = qb.outer_iter().map(|v| v.dot(&v)).collect();
            let mut best: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(keep + 1); hi - lo];
            for rlo in (0..n).step_by(REF_BLOCK) {
                let rhi = (rlo + REF_BLOCK).min(n);
                let dots = qb.dot(&r.slice(s![rlo..rhi, ..]).t());
                for (qi, row) in dots.axis_iter(Axis(0)).enumerate() {
                    let list = &mut best[qi];
                    for (rj, &dot) in row.iter().enumerate() {
                        let j = rlo + rj;
                        let dd = (qnorm[qi] + rnorm[j] - 2.0 * dot).max(0.0);
                        if list.len() == keep && dd >= list[keep - 1].0 {
                            continue;
                        }
                        let at = list.partition_point(|e| e.0 <= dd);
                        list.insert(at, (dd, j));
                        list.truncate(keep);
                    }
                }
            }
            best.iter()
                .enumerate()
                .map(|(qi, list)| {
                    let qrow = rows_of(&q, lo + qi);
                    let mut exact: Vec<f64> = list
                        .iter()
                        .map(|&(_, j)| squared_distance(qrow, rows_of(&r, j)))
                        .collect();
                    exact.sort_by(f64::total_cmp);
                    exact[k - 1].sqrt()
                })
                .collect()
        })
        .collect();
    Ok(blocks.into_iter().flatten().collect())
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
