//! k-means (Lloyd) with seeded k-means++ starts and a few restarts, the best run by
//! inertia kept. Deterministic for a seed: rows are assigned independently and the centre
//! sums follow the fixed reduction tree of `linalg::tree_sum`.

use std::ops::Range;

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::linalg::tree_sum;
use crate::core::progress::Progress;
use crate::core::CoreResult;

/// Lloyd iterations per run at most (scikit-learn's default too).
pub const MAX_ITER: usize = 300;

#[derive(Debug, Clone)]
pub struct Clustering {
    pub centres: Array2<f64>,
    pub labels: Vec<usize>,
    pub inertia: f64,
}

fn sq_dist(a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// The nearest centre of each row (lowest index on ties) and its squared distance.
fn assign(x: ArrayView2<'_, f64>, centres: &Array2<f64>) -> Vec<(usize, f64)> {
    (0..x.nrows())
        .into_par_iter()
        .map(|i| {
            let mut best = (0, f64::INFINITY);
            for (c, centre) in centres.outer_iter().enumerate() {
                let d = sq_dist(x.row(i), centre);
                if d < best.1 {
                    best = (c, d);
                }
            }
            best
        })
        .collect()
}

/// k-means++ (Arthur and Vassilvitskii 2007): the first centre uniformly, each next one
/// with probability proportional to the squared distance to the nearest centre so far.
fn plus_plus(x: ArrayView2<'_, f64>, k: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
    let n = x.nrows();
    let mut centres = Array2::<f64>::zeros((k, x.ncols()));
    let first = rng.gen_range(0..n);
    centres.row_mut(0).assign(&x.row(first));
    let mut d2: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| sq_dist(x.row(i), x.row(first)))
        .collect();
    for c in 1..k {
        let total: f64 = d2.iter().sum();
        let pick = if total > 0.0 {
            let target = rng.gen::<f64>() * total;
            let mut acc = 0.0;
            let mut chosen = n - 1;
            for (i, &v) in d2.iter().enumerate() {
                acc += v;
                if acc > target {
                    chosen = i;
                    break;
                }
            }
            chosen
        } else {
            rng.gen_range(0..n)
        };
        centres.row_mut(c).assign(&x.row(pick));
        let row = x.row(pick);
        d2.par_iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = v.min(sq_dist(x.row(i), row)));
    }
    centres
}

/// Per-centre sums of the rows assigned to it, and their counts.
fn centre_sums(
    x: ArrayView2<'_, f64>,
    labels: &[usize],
    k: usize,
) -> CoreResult<(Array2<f64>, Vec<usize>)> {
    let d = x.ncols();
    tree_sum(
        x.nrows(),
        &|r: Range<usize>| {
            let mut sums = Array2::<f64>::zeros((k, d));
            let mut counts = vec![0usize; k];
            for i in r {
                let c = labels[i];
                counts[c] += 1;
                let mut row = sums.row_mut(c);
                row += &x.row(i);
            }
            Ok((sums, counts))
        },
        &|(mut s1, mut c1): (Array2<f64>, Vec<usize>), (s2, c2): (Array2<f64>, Vec<usize>)| {
            s1 += &s2;
            for (a, b) in c1.iter_mut().zip(c2) {
                *a += b;
            }
            (s1, c1)
        },
    )
}

fn lloyd(
    x: ArrayView2<'_, f64>,
    mut centres: Array2<f64>,
    progress: &Progress,
) -> CoreResult<Clustering> {
    let k = centres.nrows();
    let mut assigned = assign(x, &centres);
    for _ in 0..MAX_ITER {
        progress.check()?;
        let labels: Vec<usize> = assigned.iter().map(|a| a.0).collect();
        let (sums, counts) = centre_sums(x, &labels, k)?;
        for (c, &count) in counts.iter().enumerate() {
            if count > 0 {
                let mean = &sums.row(c) / count as f64;
                centres.row_mut(c).assign(&mean);
            } else {
                // An empty cluster restarts at the row farthest from its centre.
                let far =
                    (0..assigned.len())
                        .fold(0, |b, i| if assigned[i].1 > assigned[b].1 { i } else { b });
                centres.row_mut(c).assign(&x.row(far));
                assigned[far] = (c, 0.0);
            }
        }
        let next = assign(x, &centres);
        let changed = next.iter().zip(&assigned).any(|(a, b)| a.0 != b.0);
        assigned = next;
        if !changed {
            break;
        }
    }
    let labels: Vec<usize> = assigned.iter().map(|a| a.0).collect();
    let inertia = tree_sum(
        assigned.len(),
        &|r: Range<usize>| Ok(assigned[r].iter().map(|a| a.1).sum::<f64>()),
        &|a, b| a + b,
    )?;
    Ok(Clustering {
        centres,
        labels,
        inertia,
    })
}

/// The best of `n_init` k-means runs (lowest inertia; the earlier run on ties), each
/// started by k-means++ from the ChaCha8 stream `(seed, stream + run)`.
pub fn kmeans(
    x: ArrayView2<'_, f64>,
    k: usize,
    n_init: usize,
    seed: u64,
    stream: u64,
    progress: &Progress,
) -> CoreResult<Clustering> {
    let one = |run: usize| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream.wrapping_mul(1 << 16).wrapping_add(run as u64));
        let start = plus_plus(x, k, &mut rng);
        lloyd(x, start, progress)
    };
    let mut best = one(0)?;
    for run in 1..n_init {
        let c = one(run)?;
        if c.inertia < best.inertia {
            best = c;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_blobs_are_found() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = Array2::<f64>::from_shape_fn((300, 3), |(i, _)| {
            rng.gen_range(-1.0..1.0) + if i < 30 { 10.0 } else { 0.0 }
        });
        let c = kmeans(x.view(), 2, 3, 0, 0, &Progress::new()).unwrap();
        let small = c.labels[0];
        assert!(c.labels[..30].iter().all(|&l| l == small));
        assert!(c.labels[30..].iter().all(|&l| l != small));
    }
}
