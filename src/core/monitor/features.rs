//! The online drift detector of a monitor built from a profile: one univariate online MMD
//! detector (`online`) per feature, combined by the union bound.
//!
//! A profile keeps each column's distribution but not the joint one, so the detector
//! watches each of the `d` features on its own: feature `j` compares its last `W` values
//! with a reference sample `R_j` drawn from the profile's column with the statistic of
//! `online`, and its thresholds are simulated as `online::configure` does, from no-drift
//! streams drawn without replacement from a pool of further values of that same column,
//! with the hazard `h = H / d`, where `H = 1 / (ert - W + 1)` is the hazard of a single
//! detector of expected run time `ert`. On one feature the window's sums are updated as
//! it slides (`O(W)` a row instead of `O(W^2)`), so the simulation affords `d` times as
//! many streams per feature as one detector would use: each threshold rests on about as
//! many simulated crossings as a single detector's. The combined detector alarms when any feature's
//! statistic passes its threshold, and all features restart together after an alarm.
//!
//! What this guarantees under no drift (each feature's stream drawn from its profile
//! column):
//!
//! * under any dependence between the features, the chance of a false alarm within `k`
//!   rows after the first full window is at most `k H` (union bound over features and
//!   rows: each feature's chance per row, given its own past, is `h`);
//! * for independent features the rows between alarms are `W - 1` rows of filling plus a
//!   geometric wait with hazard `1 - (1 - h)^d`, of mean `W - 1 + 1 / (1 - (1 - H/d)^d)`,
//!   which lies between `ert` and `ert (1 + H)`;
//! * features that move together (positively dependent) alarm together, and their mean
//!   run time is longer than for independent ones.

use ndarray::{Array2, ArrayView1, ArrayView2, Axis};
use rand::seq::index::sample;
use rayon::prelude::*;

use super::online::{checked_hazard, reference_means, thresholds_of_paths};
use crate::core::drift::multivariate::kernel::Kernel;
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// The per-feature expected run time that gives the combined detector `ert`.
pub fn feature_ert(ert: f64, window: usize, features: usize) -> f64 {
    let w = window as f64;
    w - 1.0 + features as f64 * (ert - w + 1.0)
}

fn feature_seed(seed: u64, j: usize) -> u64 {
    seed.wrapping_add((j as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// `online::configure` on one feature, the window's sums updated as it slides: the same
/// streams (the same seeded draws from `pool`) and statistics, to rounding.
#[allow(clippy::too_many_arguments)]
pub fn configure_univariate(
    reference: ArrayView1<'_, f64>,
    pool: ArrayView1<'_, f64>,
    bandwidth: f64,
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    seed: u64,
) -> CoreResult<Vec<f64>> {
    let c = pool.len();
    let hazard = checked_hazard(window, ert, horizon, streams, c, "values")?;
    let length = window + horizon;
    let kernel = Kernel::Rbf { bandwidth };
    let means = reference_means(
        reference.insert_axis(Axis(1)),
        pool.insert_axis(Axis(1)),
        bandwidth,
    );
    let values = pool.to_vec();
    let kcc: Vec<f64> = (0..c)
        .into_par_iter()
        .flat_map_iter(|i| {
            let a = values[i];
            values
                .iter()
                .map(move |&b| kernel.of_squared((a - b) * (a - b)))
        })
        .collect();
    let wf = window as f64;
    let paths: Vec<Vec<f64>> = (0..streams)
        .into_par_iter()
        .map(|s| {
            let mut rng = sample_rng(seed, s);
            let idx = sample(&mut rng, c, length).into_vec();
            let (mut pairs, mut cross) = (0.0, 0.0);
            let mut out = Vec::with_capacity(horizon);
            for t in 0..length - 1 {
                if t >= window {
                    let old = idx[t - window];
                    let row = &kcc[old * c..(old + 1) * c];
                    pairs -= idx[t - window + 1..t].iter().map(|&j| row[j]).sum::<f64>();
                    cross -= means[old];
                }
                let new = idx[t];
                let row = &kcc[new * c..(new + 1) * c];
                pairs += idx[(t + 1).saturating_sub(window)..t]
                    .iter()
                    .map(|&j| row[j])
                    .sum::<f64>();
                cross += means[new];
                if t + 1 >= window {
                    out.push(2.0 * pairs / (wf * (wf - 1.0)) - 2.0 * cross / wf);
                }
            }
            out
        })
        .collect();
    thresholds_of_paths(&paths, horizon, hazard)
}

/// The thresholds of every feature: a `(horizon, d)` matrix, column `j` for feature `j`.
/// `reference` and `held_out` hold one column per feature (samples of each feature's
/// no-drift distribution); `bandwidths` one RBF bandwidth per feature; each feature
/// simulates `streams * d` streams.
#[allow(clippy::too_many_arguments)]
pub fn configure_features(
    reference: ArrayView2<'_, f64>,
    held_out: ArrayView2<'_, f64>,
    bandwidths: &[f64],
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    seed: u64,
) -> CoreResult<Array2<f64>> {
    let d = reference.ncols();
    if d == 0 || held_out.ncols() != d || bandwidths.len() != d {
        return Err(CoreError::invalid(format!(
            "reference: expected the same features in the reference ({d}), the held-out \
             rows ({}) and the bandwidths ({})",
            held_out.ncols(),
            bandwidths.len()
        )));
    }
    if bandwidths.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(CoreError::invalid("bandwidth: expected positive numbers"));
    }
    if ert.is_nan() || ert <= window as f64 {
        return Err(CoreError::invalid(format!(
            "ert: expected more than window={window}, got {ert}"
        )));
    }
    let per = feature_ert(ert, window, d);
    let mut out = Array2::<f64>::zeros((horizon, d));
    for j in 0..d {
        let th = configure_univariate(
            reference.column(j),
            held_out.column(j),
            bandwidths[j],
            window,
            per,
            horizon,
            streams.saturating_mul(d),
            feature_seed(seed, j),
        )?;
        for (t, b) in th.into_iter().enumerate() {
            out[[t, j]] = b;
        }
    }
    Ok(out)
}

/// The combined detector's state between batches.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FeaturesState {
    /// The last rows since the (re)start, at most `window`, oldest first.
    pub rows: Vec<Vec<f64>>,
    /// Per row, each feature's `mean_r k(x_j, r)` over its reference sample.
    pub means: Vec<Vec<f64>>,
    /// Rows since the (re)start.
    pub t: usize,
}

/// What a batch did. `margins[i]`: after row `i`, the largest excess of a feature's
/// statistic over its threshold (NaN while the window fills; an alarm when above 0).
/// `alarms`: the rows that raised one, each with the features above their threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct FeaturesOutcome {
    pub margins: Vec<f64>,
    pub alarms: Vec<(usize, Vec<usize>)>,
}

/// Feeds `batch` (rows of `d` features) to the combined detector.
pub fn step_features(
    reference: ArrayView2<'_, f64>,
    bandwidths: &[f64],
    thresholds: ArrayView2<'_, f64>,
    window: usize,
    state: &mut FeaturesState,
    batch: ArrayView2<'_, f64>,
) -> CoreResult<FeaturesOutcome> {
    let d = reference.ncols();
    if batch.ncols() != d {
        return Err(CoreError::invalid(format!(
            "batch: expected {d} features, got {}",
            batch.ncols()
        )));
    }
    if thresholds.nrows() == 0 || thresholds.ncols() != d || bandwidths.len() != d || window < 2 {
        return Err(CoreError::invalid("the detector is not configured"));
    }
    if state.rows.iter().chain(&state.means).any(|r| r.len() != d) {
        return Err(CoreError::invalid(
            "the detector's state does not match its features",
        ));
    }
    let kernels: Vec<Kernel> = bandwidths
        .iter()
        .map(|&bandwidth| Kernel::Rbf { bandwidth })
        .collect();
    // Each feature's reference means for the whole batch (in parallel inside).
    let cols: Vec<Vec<f64>> = (0..d)
        .map(|j| {
            reference_means(
                reference.column(j).insert_axis(Axis(1)),
                batch.column(j).insert_axis(Axis(1)),
                bandwidths[j],
            )
        })
        .collect();
    let wf = window as f64;
    let last = thresholds.nrows() - 1;
    let mut out = FeaturesOutcome {
        margins: Vec::with_capacity(batch.nrows()),
        alarms: Vec::new(),
    };
    // `sum_{j in window} k(x, w_j)` for feature `f`, leaving out the first `skip` rows.
    let with = |rows: &[Vec<f64>], f: usize, x: f64, kernel: &Kernel| -> f64 {
        rows.iter()
            .map(|r| kernel.of_squared((x - r[f]) * (x - r[f])))
            .sum::<f64>()
    };
    // The window's sums, carried from row to row as it slides.
    let mut pairs: Vec<f64> = (0..d)
        .map(|f| {
            (0..state.rows.len())
                .map(|a| with(&state.rows[a + 1..], f, state.rows[a][f], &kernels[f]))
                .sum()
        })
        .collect();
    let mut cross: Vec<f64> = (0..d)
        .map(|f| state.means.iter().map(|m| m[f]).sum())
        .collect();
    for (i, x) in batch.outer_iter().enumerate() {
        if state.rows.len() >= window {
            let old = state.rows.remove(0);
            let old_means = state.means.remove(0);
            for f in 0..d {
                pairs[f] -= with(&state.rows, f, old[f], &kernels[f]);
                cross[f] -= old_means[f];
            }
        }
        let new = x.to_vec();
        for f in 0..d {
            pairs[f] += with(&state.rows, f, new[f], &kernels[f]);
            cross[f] += cols[f][i];
        }
        state.rows.push(new);
        state.means.push(cols.iter().map(|c| c[i]).collect());
        state.t += 1;
        if state.t < window {
            out.margins.push(f64::NAN);
            continue;
        }
        let row = (state.t - window).min(last);
        let mut margin = f64::NEG_INFINITY;
        let mut above = Vec::new();
        for j in 0..d {
            let s = 2.0 * pairs[j] / (wf * (wf - 1.0)) - 2.0 * cross[j] / wf;
            let excess = s - thresholds[[row, j]];
            margin = margin.max(excess);
            if excess > 0.0 {
                above.push(j);
            }
        }
        out.margins.push(margin);
        if !above.is_empty() {
            out.alarms.push((i, above));
            *state = FeaturesState::default();
            pairs
                .iter_mut()
                .chain(cross.iter_mut())
                .for_each(|v| *v = 0.0);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::monitor::online::{configure, step, OnlineState};
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn normal(rows: usize, cols: usize, shift: f64, seed: u64) -> Array2<f64> {
        let mut rng = sample_rng(seed, 0);
        Array2::from_shape_fn((rows, cols), |_| {
            rng.sample::<f64, _>(StandardNormal) + shift
        })
    }

    #[test]
    fn one_feature_is_the_univariate_detector() {
        // With d = 1 the per-feature ert is ert itself, and the thresholds, statistics and
        // alarms are those of `online::configure` and `online::step` on the same column
        // (to rounding: the sliding sums add in another order).
        let (r, c) = (normal(300, 1, 0.0, 1), normal(200, 1, 0.0, 2));
        assert_eq!(feature_ert(200.0, 20, 1), 200.0);
        let th = configure_features(r.view(), c.view(), &[1.0], 20, 200.0, 60, 500, 0).unwrap();
        let th1 = configure(
            r.view(),
            c.view(),
            1.0,
            20,
            200.0,
            60,
            500,
            feature_seed(0, 0),
        )
        .unwrap();
        for (a, b) in th.column(0).iter().zip(&th1) {
            assert!((a - b).abs() < 1e-9, "{a} {b}");
        }
        let batch = normal(150, 1, 1.0, 3);
        let mut s = FeaturesState::default();
        let out = step_features(r.view(), &[1.0], th.view(), 20, &mut s, batch.view()).unwrap();
        let mut s1 = OnlineState {
            rows: vec![],
            means: vec![],
            t: 0,
        };
        let out1 = step(r.view(), 1.0, &th1, 20, &mut s1, batch.view()).unwrap();
        let alarms: Vec<usize> = out.alarms.iter().map(|a| a.0).collect();
        assert_eq!(alarms, out1.alarms);
        assert!(!alarms.is_empty());
        // Before the first alarm, margin = statistic - threshold.
        for i in 19..=alarms[0] {
            let b = th1[(i - 19).min(59)];
            assert!((out.margins[i] - (out1.statistics[i] - b)).abs() < 1e-9);
        }
    }

    #[test]
    fn batching_does_not_change_the_outcome_and_a_shift_alarms() {
        let (r, c) = (normal(300, 3, 0.0, 1), normal(200, 3, 0.0, 2));
        let bw = [1.0, 1.2, 0.8];
        let th = configure_features(r.view(), c.view(), &bw, 15, 300.0, 40, 400, 7).unwrap();
        assert_eq!(th.dim(), (40, 3));
        let mut stream = normal(200, 3, 0.0, 5);
        stream
            .slice_mut(ndarray::s![100.., 1])
            .mapv_inplace(|v| v + 2.0);
        let mut whole = FeaturesState::default();
        let a = step_features(r.view(), &bw, th.view(), 15, &mut whole, stream.view()).unwrap();
        let mut parts = FeaturesState::default();
        let mut margins = Vec::new();
        let mut alarms = Vec::new();
        for k in 0..4 {
            let part = stream.slice(ndarray::s![k * 50..(k + 1) * 50, ..]);
            let o = step_features(r.view(), &bw, th.view(), 15, &mut parts, part).unwrap();
            margins.extend(o.margins);
            alarms.extend(o.alarms.into_iter().map(|(i, f)| (i + 50 * k, f)));
        }
        assert_eq!(whole, parts);
        assert_eq!(a.alarms, alarms);
        assert!(a
            .margins
            .iter()
            .zip(&margins)
            .all(|(x, y)| (x - y).abs() < 1e-9 || (x.is_nan() && y.is_nan())));
        let late: Vec<_> = a.alarms.iter().filter(|(i, _)| *i >= 100).collect();
        assert!(!late.is_empty() && late[0].0 < 140 && late[0].1.contains(&1));
    }

    #[test]
    fn refuses_mismatched_inputs() {
        let (r, c) = (normal(300, 2, 0.0, 1), normal(200, 2, 0.0, 2));
        assert!(configure_features(r.view(), c.view(), &[1.0], 20, 200.0, 60, 500, 0).is_err());
        assert!(
            configure_features(r.view(), c.view(), &[1.0, 0.0], 20, 200.0, 60, 500, 0).is_err()
        );
        let th = Array2::<f64>::zeros((5, 2));
        let mut s = FeaturesState::default();
        let bad = normal(5, 3, 0.0, 3);
        assert!(step_features(r.view(), &[1.0, 1.0], th.view(), 3, &mut s, bad.view()).is_err());
    }
}
