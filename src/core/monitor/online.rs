//! The online MMD detector of Cobb, Van Looveren and Klaise (2021), "Sequential
//! multivariate change detection with calibrated and memoryless false detection rates".
//!
//! At every row `t >= W` after a (re)start, the last `W` rows are compared with the
//! reference set `R` by
//! `S_t = 1/(W(W-1)) sum_{i != j} k(w_i, w_j) - 2/W sum_i mean_r k(w_i, r)`
//! (the unbiased MMD^2 without its constant reference term), and an alarm is raised when
//! `S_t > b_t`. The thresholds make the detector memoryless: given no alarm so far, the
//! chance of a false one at each row is the same `h`, so the run length under no drift is
//! `W - 1` rows of filling plus a geometric wait of mean `1/h`, and `h = 1/(ert - W + 1)`
//! gives the expected run time `ert` counted from the first row.
//!
//! `configure` finds `b_t` by simulation: `streams` streams of rows drawn without
//! replacement from held-out reference rows `C` (not in `R`), their statistics computed
//! from the kernel matrices `K_CC` and the means `mean_r k(c, r)` (computed once), and for
//! `t = W, W+1, ...` the threshold is the `1 - h` quantile of `S_t` over the streams that
//! have not yet alarmed, which are then removed. After `horizon` rows the statistic's
//! conditional law has settled and the last threshold is kept.

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::seq::index::sample;
use rayon::prelude::*;

use crate::core::drift::multivariate::kernel::{squared_distance, Kernel};
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

fn row(a: &ArrayView2<'_, f64>, i: usize) -> Vec<f64> {
    a.row(i).to_vec()
}

/// `mean_r k(x, r)` for every row `x` of `x`.
pub fn reference_means(
    reference: ArrayView2<'_, f64>,
    x: ArrayView2<'_, f64>,
    bandwidth: f64,
) -> Vec<f64> {
    let kernel = Kernel::Rbf { bandwidth };
    let r = reference.as_standard_layout().into_owned();
    let n = r.nrows().max(1) as f64;
    let xs = x.as_standard_layout().into_owned();
    (0..xs.nrows())
        .into_par_iter()
        .map(|i| {
            let a = xs.row(i);
            let a = a.as_slice().unwrap_or(&[]);
            r.outer_iter()
                .map(|b| kernel.of_squared(squared_distance(a, b.as_slice().unwrap_or(&[]))))
                .sum::<f64>()
                / n
        })
        .collect()
}

/// The checks of a threshold configuration, then the per-row hazard `1 / (ert - W + 1)`:
/// `held` held-out `unit` (rows or values) must make streams of `window + horizon` rows.
pub(super) fn checked_hazard(
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    held: usize,
    unit: &str,
) -> CoreResult<f64> {
    if window < 2 {
        return Err(CoreError::invalid(format!(
            "window: expected at least 2, got {window}"
        )));
    }
    if ert.is_nan() || ert <= window as f64 {
        return Err(CoreError::invalid(format!(
            "ert: expected more than window={window}, got {ert}"
        )));
    }
    let length = window + horizon;
    if held < length {
        return Err(CoreError::invalid(format!(
            "reference: {held} held-out {unit} cannot make streams of {length} rows \
             (window + horizon); give more reference rows"
        )));
    }
    if streams < 100 {
        return Err(CoreError::invalid("streams: expected at least 100"));
    }
    Ok(1.0 / (ert - window as f64 + 1.0))
}

/// The thresholds `b_W, b_{W+1}, ...` (`horizon` of them).
#[allow(clippy::too_many_arguments)]
pub fn configure(
    reference: ArrayView2<'_, f64>,
    held_out: ArrayView2<'_, f64>,
    bandwidth: f64,
    window: usize,
    ert: f64,
    horizon: usize,
    streams: usize,
    seed: u64,
) -> CoreResult<Vec<f64>> {
    let c = held_out.nrows();
    let hazard = checked_hazard(window, ert, horizon, streams, c, "rows")?;
    let length = window + horizon;
    let kernel = Kernel::Rbf { bandwidth };
    let means = reference_means(reference, held_out, bandwidth);
    let hs = held_out.as_standard_layout().into_owned();
    let hv = hs.view();
    let kcc: Vec<Vec<f64>> = (0..c)
        .into_par_iter()
        .map(|i| {
            let a = row(&hv, i);
            (0..c)
                .map(|j| {
                    kernel.of_squared(squared_distance(&a, hs.row(j).as_slice().unwrap_or(&[])))
                })
                .collect()
        })
        .collect();
    let wf = window as f64;
    // Each stream's statistics at t = W .. W + horizon - 1.
    let paths: Vec<Vec<f64>> = (0..streams)
        .into_par_iter()
        .map(|s| {
            let mut rng = sample_rng(seed, s);
            let idx = sample(&mut rng, c, length).into_vec();
            let mut out = Vec::with_capacity(horizon);
            for t in window - 1..length - 1 {
                let w = &idx[t + 1 - window..=t];
                out.push(window_stat(w, &kcc, &means, wf));
            }
            out
        })
        .collect();
    thresholds_of_paths(&paths, horizon, hazard)
}

/// The thresholds that give every simulated path the same chance `hazard` of crossing at
/// each step, given that it has not crossed before: at step `t`, the `1 - hazard`
/// quantile of the surviving paths' statistics, the paths above it then removed.
pub(crate) fn thresholds_of_paths(
    paths: &[Vec<f64>],
    horizon: usize,
    hazard: f64,
) -> CoreResult<Vec<f64>> {
    let mut alive: Vec<usize> = (0..paths.len()).collect();
    let mut thresholds = Vec::with_capacity(horizon);
    #[allow(clippy::needless_range_loop)] // `t` indexes every stream's path
    for t in 0..horizon {
        let mut v: Vec<f64> = alive.iter().map(|&s| paths[s][t]).collect();
        v.sort_by(f64::total_cmp);
        let b = quantile(&v, 1.0 - hazard);
        thresholds.push(b);
        alive.retain(|&s| paths[s][t] <= b);
        if alive.len() < 20 {
            return Err(CoreError::invalid(
                "streams: too few simulated streams survive; raise streams",
            ));
        }
    }
    Ok(thresholds)
}

fn window_stat(w: &[usize], kcc: &[Vec<f64>], means: &[f64], wf: f64) -> f64 {
    let mut pairs = 0.0;
    let mut cross = 0.0;
    for (a, &i) in w.iter().enumerate() {
        cross += means[i];
        for &j in &w[a + 1..] {
            pairs += kcc[i][j];
        }
    }
    2.0 * pairs / (wf * (wf - 1.0)) - 2.0 * cross / wf
}

/// The `q` quantile of sorted `v`, interpolated linearly (numpy's default).
fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::INFINITY;
    }
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// The detector's state between batches.
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineState {
    /// The last rows since the (re)start, at most `window`, oldest first.
    pub rows: Vec<Vec<f64>>,
    /// Their `mean_r k(w, r)`.
    pub means: Vec<f64>,
    /// Rows since the (re)start.
    pub t: usize,
}

/// What a batch did: the statistic after each row (NaN while the window fills) and the
/// positions of the rows that raised an alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct StepOutcome {
    pub statistics: Vec<f64>,
    pub alarms: Vec<usize>,
}

/// Feeds `batch` to the detector.
pub fn step(
    reference: ArrayView2<'_, f64>,
    bandwidth: f64,
    thresholds: &[f64],
    window: usize,
    state: &mut OnlineState,
    batch: ArrayView2<'_, f64>,
) -> CoreResult<StepOutcome> {
    if batch.ncols() != reference.ncols() {
        return Err(CoreError::invalid(format!(
            "batch: expected {} features, got {}",
            reference.ncols(),
            batch.ncols()
        )));
    }
    if thresholds.is_empty() || window < 2 {
        return Err(CoreError::invalid("the detector is not configured"));
    }
    let kernel = Kernel::Rbf { bandwidth };
    let means = reference_means(reference, batch, bandwidth);
    let wf = window as f64;
    let mut out = StepOutcome {
        statistics: Vec::with_capacity(batch.nrows()),
        alarms: Vec::new(),
    };
    for (i, x) in batch.outer_iter().enumerate() {
        push(state, x, means[i], window);
        if state.t < window {
            out.statistics.push(f64::NAN);
            continue;
        }
        let mut pairs = 0.0;
        for a in 0..state.rows.len() {
            for b in a + 1..state.rows.len() {
                pairs += kernel.of_squared(squared_distance(&state.rows[a], &state.rows[b]));
            }
        }
        let cross: f64 = state.means.iter().sum();
        let s = 2.0 * pairs / (wf * (wf - 1.0)) - 2.0 * cross / wf;
        out.statistics.push(s);
        let b = thresholds[(state.t - window).min(thresholds.len() - 1)];
        if s > b {
            out.alarms.push(i);
            *state = OnlineState {
                rows: Vec::new(),
                means: Vec::new(),
                t: 0,
            };
        }
    }
    Ok(out)
}

fn push(state: &mut OnlineState, x: ArrayView1<'_, f64>, mean: f64, window: usize) {
    state.rows.push(x.to_vec());
    state.means.push(mean);
    if state.rows.len() > window {
        state.rows.remove(0);
        state.means.remove(0);
    }
    state.t += 1;
}

/// The rows of `state` as a matrix (for saving).
pub fn state_rows(state: &OnlineState, d: usize) -> Array2<f64> {
    let mut a = Array2::<f64>::zeros((state.rows.len(), d));
    for (i, r) in state.rows.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            a[[i, j]] = *v;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use rand_distr::StandardNormal;

    fn normal(rows: usize, shift: f64, seed: u64) -> Array2<f64> {
        let mut rng = sample_rng(seed, 0);
        Array2::from_shape_fn((rows, 2), |_| rng.sample::<f64, _>(StandardNormal) + shift)
    }

    #[test]
    fn detects_a_shift_and_thresholds_are_deterministic() {
        let (r, c) = (normal(300, 0.0, 1), normal(200, 0.0, 2));
        let th = configure(r.view(), c.view(), 1.0, 20, 200.0, 60, 500, 0).unwrap();
        assert_eq!(th.len(), 60);
        assert_eq!(
            th,
            configure(r.view(), c.view(), 1.0, 20, 200.0, 60, 500, 0).unwrap()
        );
        let mut state = OnlineState {
            rows: vec![],
            means: vec![],
            t: 0,
        };
        let out = step(
            r.view(),
            1.0,
            &th,
            20,
            &mut state,
            normal(200, 1.5, 3).view(),
        )
        .unwrap();
        assert!(
            !out.alarms.is_empty() && out.alarms[0] < 60,
            "{:?}",
            out.alarms
        );
        assert!(out.statistics[..19].iter().all(|s| s.is_nan()));
    }

    #[test]
    fn refuses_short_held_out_sets() {
        let (r, c) = (normal(50, 0.0, 1), normal(30, 0.0, 2));
        assert!(configure(r.view(), c.view(), 1.0, 20, 200.0, 60, 500, 0).is_err());
    }
}
