//! Poisoning and backdoor scores on features or activations (`mlsentry.data.poisoning`).
//!
//! Every method gives each row a real score, larger = more suspect, computed within the
//! row's class (kNN: against all rows), and the suspects are, in every class, the
//! `floor(expected_fraction * multiplier * n_class)` rows with the highest scores (ties:
//! the lower row index), as in ART's defences whose `eps_multiplier` is 1.5.
//!
//! * `spectral` (Tran, Li and Madry 2018, "Spectral signatures in backdoor attacks",
//!   Algorithm 1): per class, `v` is the top right singular vector of the class's rows
//!   minus their mean `mu`; the score is `(v . (x_i - mu))^2`. With `centered = false` the
//!   score is ART's `|v . x_i|` on the uncentred rows (`SpectralSignatureDefense.
//!   spectral_signature_scores`). The singular vector is the top eigenvector of the
//!   scatter matrix (`linalg`); a class with no spread (one row, or all rows equal) has no
//!   direction and scores 0.
//! * `activation_clustering` (Chen et al. 2018, ART's `ActivationDefence`): per class the
//!   centred rows are projected on their top `nb_dims` principal components (ART uses
//!   FastICA; PCA keeps the same number of dimensions, is deterministic and reuses the
//!   eigen solver of the spectral method),
//!   then split by 2-means (seeded k-means++ starts, the best of `n_init` runs); the
//!   smaller cluster is the suspect one (or, with `LessCohesive`, the one whose rows lie
//!   farther from its centre on average). The score of a row is
//!   `|p - c_other| - |p - c_suspect|` in the projected space: positive for the rows of
//!   the suspect cluster once k-means has converged (each row is then nearest its own
//!   centre; 0 on a tie), larger the more clearly they belong to it.
//! * `knn`: features standardised by column (mean 0, population standard deviation 1;
//!   constant columns left at 0), then the share of a row's `k` nearest other rows
//!   (Euclidean, ties to the lower index) whose label differs from its own.

pub mod kmeans;
pub mod knn;
pub mod linalg;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// The most classes accepted (one list of rows is kept per class).
pub const MAX_CLASSES: usize = 1 << 24;

/// Which of the two clusters of a class is the suspect one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterAnalysis {
    /// The one with fewer rows (ART's `cluster_analysis="smaller"`).
    Smaller,
    /// The one whose rows lie farther from its centre on average.
    LessCohesive,
}

/// The method and its own parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    Spectral {
        centered: bool,
    },
    ActivationClustering {
        nb_dims: usize,
        n_init: usize,
        seed: u64,
        analysis: ClusterAnalysis,
    },
    Knn {
        k: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub method: Method,
    /// The share of poisoned rows expected in each class, in (0, 1].
    pub expected_fraction: f64,
    /// How many times `expected_fraction` of each class to flag (ART: `eps_multiplier`).
    pub multiplier: f64,
}

/// What one class's computation found beyond its scores.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClassResult {
    pub rows: usize,
    pub suspects: usize,
    /// Named numbers: `sigma_1`, `sigma_ratio` (sigma_2 / sigma_1), `converged` (1/0),
    /// `suspect_cluster_rows`, `other_cluster_rows`, ...
    pub details: Vec<(&'static str, f64)>,
}

/// The scores of one class's rows and its named numbers.
type ClassScores = (Vec<f64>, Vec<(&'static str, f64)>);

#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub scores: Vec<f64>,
    /// Suspect rows, ascending.
    pub suspects: Vec<usize>,
    pub classes: Vec<ClassResult>,
}

/// Scores every row of `x` (`n x d`) with labels in `0..n_classes` and picks the suspects.
pub fn poisoning(
    x: ArrayView2<'_, f64>,
    labels: &[i64],
    n_classes: usize,
    params: &Params,
    progress: &Progress,
) -> CoreResult<Output> {
    let members = check_inputs(x, labels, n_classes, params)?;
    progress.add_total(x.nrows() as u64);
    let mut scores = vec![0.0; x.nrows()];
    let mut classes: Vec<ClassResult> = Vec::with_capacity(n_classes);
    match params.method {
        Method::Knn { k } => {
            let nb = knn_scores(x, labels, k, progress)?;
            scores = nb;
            classes.extend(members.iter().map(|m| ClassResult {
                rows: m.len(),
                ..Default::default()
            }));
        }
        method => {
            for (c, rows) in members.iter().enumerate() {
                progress.check()?;
                let (s, details) = match method {
                    Method::Spectral { centered } => spectral_class(x, rows, centered, progress)?,
                    Method::ActivationClustering {
                        nb_dims,
                        n_init,
                        seed,
                        analysis,
                    } => {
                        let run = Clustering {
                            nb_dims,
                            n_init,
                            seed,
                            analysis,
                        };
                        clustering_class(x, rows, &run, c as u64, progress)?
                    }
                    Method::Knn { .. } => unreachable!("handled above"),
                };
                for (&i, v) in rows.iter().zip(s) {
                    scores[i] = v;
                }
                classes.push(ClassResult {
                    rows: rows.len(),
                    suspects: 0,
                    details,
                });
                progress.advance(rows.len() as u64);
            }
        }
    }
    let mut suspects = Vec::new();
    for (rows, class) in members.iter().zip(classes.iter_mut()) {
        let picked = top_rows(rows, &scores, flagged(params, rows.len()));
        class.suspects = picked.len();
        suspects.extend(picked);
    }
    suspects.sort_unstable();
    Ok(Output {
        scores,
        suspects,
        classes,
    })
}

/// `floor(expected_fraction * multiplier * n)`, forgiving the last bits of rounding
/// (0.05 * 1.5 * 200 is 15, not 14.999...).
pub fn flagged(params: &Params, n: usize) -> usize {
    let want = params.expected_fraction * params.multiplier * n as f64;
    ((want + 1e-9).floor() as usize).min(n)
}

/// The `m` rows of `rows` with the highest scores (ties: lower index first).
fn top_rows(rows: &[usize], scores: &[f64], m: usize) -> Vec<usize> {
    let mut order = rows.to_vec();
    order.sort_unstable_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(m);
    order
}

/// Validates the inputs; the rows of each class.
fn check_inputs(
    x: ArrayView2<'_, f64>,
    labels: &[i64],
    n_classes: usize,
    params: &Params,
) -> CoreResult<Vec<Vec<usize>>> {
    let (n, d) = x.dim();
    if n == 0 {
        return Err(CoreError::invalid("features: no rows"));
    }
    if d == 0 {
        return Err(CoreError::invalid("features: no columns"));
    }
    if labels.len() != n {
        return Err(CoreError::invalid(format!(
            "labels: {} labels for {n} rows of features",
            labels.len()
        )));
    }
    if !(params.expected_fraction > 0.0 && params.expected_fraction <= 1.0) {
        return Err(CoreError::invalid(format!(
            "expected_fraction: expected a number in (0, 1], got {}",
            params.expected_fraction
        )));
    }
    if !(params.multiplier.is_finite() && params.multiplier > 0.0) {
        return Err(CoreError::invalid(format!(
            "multiplier: expected a positive number, got {}",
            params.multiplier
        )));
    }
    match params.method {
        Method::Knn { k: 0 } => return Err(CoreError::invalid("k: expected k >= 1")),
        Method::ActivationClustering { nb_dims: 0, .. } => {
            return Err(CoreError::invalid("nb_dims: expected nb_dims >= 1"))
        }
        _ => {}
    }
    if let Some(i) = labels
        .iter()
        .position(|&l| l < 0 || l as u64 >= n_classes as u64)
    {
        return Err(CoreError::invalid(format!(
            "labels: row {i} has class {}, outside 0..{}",
            labels[i],
            n_classes.saturating_sub(1)
        )));
    }
    let bad = (0..n)
        .into_par_iter()
        .find_first(|&i| x.row(i).iter().any(|v| !v.is_finite()));
    if let Some(i) = bad {
        let j = x.row(i).iter().position(|v| !v.is_finite()).unwrap_or(0);
        let what = if x[[i, j]].is_nan() {
            "NaN"
        } else {
            "infinite"
        };
        return Err(CoreError::invalid(format!(
            "features: row {i}, column {j} is {what}; poisoning scores need finite values"
        )));
    }
    let mut members = vec![Vec::new(); n_classes];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    let present = members.iter().filter(|m| !m.is_empty()).count();
    if present < 2 {
        return Err(CoreError::invalid(format!(
            "labels: every row has the same class; poisoning scores look for rows that do \
             not belong with the rest of their class and need at least 2 classes (got {present})"
        )));
    }
    Ok(members)
}

/// The spectral-signature scores of one class, with `sigma_1`, `sigma_ratio` and
/// `converged`.
fn spectral_class(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    centered: bool,
    progress: &Progress,
) -> CoreResult<ClassScores> {
    if rows.len() < 2 {
        return Ok((vec![0.0; rows.len()], Vec::new()));
    }
    let mean = linalg::mean_of(x, rows, progress)?;
    let scatter = linalg::scatter(x, rows, &mean, progress)?;
    let eig = linalg::top_directions(&scatter, 1, progress)?;
    let details = eigen_details(&eig);
    if eig.values[0] <= 0.0 {
        return Ok((vec![0.0; rows.len()], details));
    }
    let v = eig.vectors.column(0);
    let scores = rows
        .par_iter()
        .map(|&i| {
            let r = x.row(i);
            if centered {
                let p: f64 = r
                    .iter()
                    .zip(&mean)
                    .zip(v)
                    .map(|((a, m), w)| (a - m) * w)
                    .sum();
                p * p
            } else {
                r.dot(&v).abs()
            }
        })
        .collect();
    Ok((scores, details))
}

fn eigen_details(e: &linalg::Eigen) -> Vec<(&'static str, f64)> {
    let l1 = e.values[0].max(0.0);
    let mut out = vec![("sigma_1", l1.sqrt())];
    if let Some(&l2) = e.values.get(1) {
        out.push((
            "sigma_ratio",
            if l1 > 0.0 {
                (l2.max(0.0) / l1).sqrt()
            } else {
                0.0
            },
        ));
    }
    out.push(("converged", if e.converged { 1.0 } else { 0.0 }));
    out.push(("iterations", e.iterations as f64));
    out
}

/// Activation-clustering scores of one class.
struct Clustering {
    nb_dims: usize,
    n_init: usize,
    seed: u64,
    analysis: ClusterAnalysis,
}

fn clustering_class(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    run: &Clustering,
    class: u64,
    progress: &Progress,
) -> CoreResult<ClassScores> {
    let Clustering {
        nb_dims,
        n_init,
        seed,
        analysis,
    } = *run;
    if rows.len() < 2 {
        return Ok((vec![0.0; rows.len()], Vec::new()));
    }
    let mean = linalg::mean_of(x, rows, progress)?;
    let scatter = linalg::scatter(x, rows, &mean, progress)?;
    let eig = linalg::top_directions(&scatter, nb_dims, progress)?;
    let mut details = eigen_details(&eig);
    if eig.values[0] <= 0.0 {
        return Ok((vec![0.0; rows.len()], details));
    }
    let v = &eig.vectors;
    let dims = v.ncols();
    let mut projected = Array2::<f64>::zeros((rows.len(), dims));
    projected
        .outer_iter_mut()
        .into_par_iter()
        .zip(rows.par_iter())
        .for_each(|(mut out, &i)| {
            let centred: Vec<f64> = x.row(i).iter().zip(&mean).map(|(a, m)| a - m).collect();
            for (o, col) in out.iter_mut().zip(v.columns()) {
                *o = col.iter().zip(&centred).map(|(w, c)| w * c).sum();
            }
        });
    let km = kmeans::kmeans(projected.view(), 2, n_init, seed, class, progress)?;
    let sizes = [0, 1].map(|c| km.labels.iter().filter(|&&l| l == c).count());
    let spread = mean_spread(projected.view(), &km);
    // On a tie (equal sizes or spreads) the second cluster is the suspect one.
    let suspect = match analysis {
        ClusterAnalysis::Smaller => usize::from(sizes[0] >= sizes[1]),
        ClusterAnalysis::LessCohesive => usize::from(spread[0] <= spread[1]),
    };
    let (cs, co) = (km.centres.row(suspect), km.centres.row(1 - suspect));
    let scores = projected
        .outer_iter()
        .into_par_iter()
        .map(|p| {
            let ds: f64 = p.iter().zip(cs).map(|(a, b)| (a - b) * (a - b)).sum();
            let dother: f64 = p.iter().zip(co).map(|(a, b)| (a - b) * (a - b)).sum();
            dother.sqrt() - ds.sqrt()
        })
        .collect();
    details.push(("suspect_cluster_rows", sizes[suspect] as f64));
    details.push(("suspect_cluster_spread", spread[suspect]));
    details.push(("other_cluster_spread", spread[1 - suspect]));
    details.push(("other_cluster_rows", sizes[1 - suspect] as f64));
    details.push(("dims", dims as f64));
    Ok((scores, details))
}

/// The mean distance of each cluster's rows to its centre (0 for an empty cluster).
fn mean_spread(p: ArrayView2<'_, f64>, km: &kmeans::Clustering) -> [f64; 2] {
    let dist: Vec<f64> = p
        .outer_iter()
        .into_par_iter()
        .zip(km.labels.par_iter())
        .map(|(row, &l)| {
            let c = km.centres.row(l);
            row.iter()
                .zip(c)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    [0, 1].map(|c| {
        let (sum, n) = dist
            .iter()
            .zip(&km.labels)
            .filter(|(_, &l)| l == c)
            .fold((0.0, 0usize), |(s, n), (d, _)| (s + d, n + 1));
        if n > 0 {
            sum / n as f64
        } else {
            0.0
        }
    })
}

/// kNN label disagreement on standardised features.
fn knn_scores(
    x: ArrayView2<'_, f64>,
    labels: &[i64],
    k: usize,
    progress: &Progress,
) -> CoreResult<Vec<f64>> {
    let all: Vec<usize> = (0..x.nrows()).collect();
    let mean = linalg::mean_of(x, &all, progress)?;
    let z0 = linalg::centred_block(x, &all, &mean);
    let n = x.nrows() as f64;
    let var = linalg::tree_sum(
        z0.nrows(),
        &|r: std::ops::Range<usize>| {
            let mut acc = vec![0.0; z0.ncols()];
            for i in r {
                for (a, v) in acc.iter_mut().zip(z0.row(i)) {
                    *a += v * v;
                }
            }
            Ok(acc)
        },
        &|mut a: Vec<f64>, b: Vec<f64>| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        },
    )?;
    let scale: Vec<f64> = var
        .iter()
        .map(|v| {
            let sd = (v / n).sqrt();
            if sd > 0.0 {
                1.0 / sd
            } else {
                1.0
            }
        })
        .collect();
    let mut z = z0;
    z.outer_iter_mut().into_par_iter().for_each(|mut row| {
        for (v, s) in row.iter_mut().zip(&scale) {
            *v *= s;
        }
    });
    let k_eff = k.min(x.nrows() - 1);
    let nb = knn::neighbours(z.view(), k_eff, progress)?;
    Ok((0..x.nrows())
        .into_par_iter()
        .map(|i| {
            let others = nb[i * k_eff..(i + 1) * k_eff]
                .iter()
                .filter(|&&j| labels[j] != labels[i])
                .count();
            others as f64 / k_eff as f64
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    /// Two classes of Gaussian clouds in `d` dims; the first `poisoned` rows of each class
    /// shifted by `shift` along the first axis. Rows alternate classes.
    fn planted(n: usize, d: usize, poisoned: usize, shift: f64) -> (Array2<f64>, Vec<i64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut x = Array2::<f64>::zeros((n, d));
        let mut labels = vec![0i64; n];
        for i in 0..n {
            let c = (i % 2) as i64;
            labels[i] = c;
            for j in 0..d {
                let z: f64 = rng.sample(StandardNormal);
                x[[i, j]] = z + if j == 1 { 5.0 * c as f64 } else { 0.0 };
            }
            if i / 2 < poisoned {
                x[[i, 0]] += shift;
            }
        }
        (x, labels)
    }

    fn params(method: Method) -> Params {
        Params {
            method,
            expected_fraction: 0.05,
            multiplier: 1.5,
        }
    }

    #[test]
    fn spectral_finds_the_planted_rows() {
        let (x, y) = planted(2000, 16, 50, 8.0);
        let p = params(Method::Spectral { centered: true });
        let out = poisoning(x.view(), &y, 2, &p, &Progress::new()).unwrap();
        assert_eq!(out.suspects.len(), 150);
        let found = out.suspects.iter().filter(|&&i| i / 2 < 50).count();
        assert_eq!(found, 100);
        assert_eq!(out.classes[0].suspects, 75);
    }

    #[test]
    fn clustering_finds_the_planted_rows() {
        let (x, y) = planted(2000, 16, 50, 8.0);
        let m = Method::ActivationClustering {
            nb_dims: 10,
            n_init: 3,
            seed: 0,
            analysis: ClusterAnalysis::Smaller,
        };
        let out = poisoning(x.view(), &y, 2, &params(m), &Progress::new()).unwrap();
        let found = out.suspects.iter().filter(|&&i| i / 2 < 50).count();
        assert_eq!(found, 100);
        assert!(out.scores[..100].iter().all(|&s| s > 0.0));
    }

    #[test]
    fn knn_flags_flipped_labels() {
        let (mut x, mut y) = planted(400, 4, 0, 0.0);
        for (i, &c) in y.iter().enumerate() {
            x[[i, 2]] += 20.0 * c as f64;
        }
        y[10] = 1 - y[10];
        let out = poisoning(
            x.view(),
            &y,
            2,
            &params(Method::Knn { k: 10 }),
            &Progress::new(),
        )
        .unwrap();
        assert!(out.scores[10] >= 0.9);
        assert!(out.suspects.contains(&10));
    }

    #[test]
    fn bad_inputs_are_refused() {
        let (x, y) = planted(20, 3, 0, 0.0);
        let p = params(Method::Spectral { centered: true });
        let msg = |r: CoreResult<Output>| r.unwrap_err().to_string();
        assert!(msg(poisoning(x.view(), &y[..5], 2, &p, &Progress::new())).contains("labels"));
        assert!(msg(poisoning(x.view(), &[0; 20], 2, &p, &Progress::new())).contains("2 classes"));
        let mut y3 = y.clone();
        y3[4] = 2;
        assert!(msg(poisoning(x.view(), &y3, 2, &p, &Progress::new())).contains("row 4"));
        let mut xn = x.clone();
        xn[[3, 1]] = f64::NAN;
        assert!(msg(poisoning(xn.view(), &y, 2, &p, &Progress::new()))
            .contains("row 3, column 1 is NaN"));
        let empty = Array2::<f64>::zeros((0, 3));
        assert!(msg(poisoning(empty.view(), &[], 2, &p, &Progress::new())).contains("no rows"));
    }

    #[test]
    fn the_same_result_on_any_thread_count() {
        let (x, y) = planted(3000, 200, 60, 6.0);
        for m in [
            Method::Spectral { centered: true },
            Method::ActivationClustering {
                nb_dims: 10,
                n_init: 2,
                seed: 1,
                analysis: ClusterAnalysis::Smaller,
            },
        ] {
            let run = |t: usize| {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap();
                pool.install(|| poisoning(x.view(), &y, 2, &params(m), &Progress::new()).unwrap())
            };
            assert_eq!(run(1), run(3));
        }
    }

    #[test]
    fn flagged_forgives_rounding() {
        let p = params(Method::Knn { k: 1 });
        assert_eq!(flagged(&p, 200), 15);
        assert_eq!(flagged(&p, 13), 0);
        assert_eq!(flagged(&p, 1000), 75);
    }
}
