//! Group metrics of a binary classifier, the disparities fairlearn 0.15 defines, and their
//! percentile bootstrap intervals.
//!
//! Rows arrive as cells: `cell = igroup * 4 + 2 * y_true + y_pred`, where `igroup` is the
//! row's group in the finest grouping (the intersection of every sensitive column). Every
//! metric here depends on a row only through its cell, so one resample is one vector of
//! cell counts, and a coarser grouping (one sensitive column) sums the counts of the
//! intersection groups it maps them to.
//!
//! Definitions (fairlearn's, with scikit-learn's conventions for empty denominators):
//! selection rate (tp + fp) / n; accuracy (tp + tn) / n; true positive rate tp / (tp + fn)
//! and false positive rate fp / (fp + tn), 0 when the group has no positives (negatives),
//! as `confusion_matrix(normalize="true")` gives; precision tp / (tp + fp), 0 without
//! predicted positives (`precision_score`'s `zero_division` default). A group with no
//! rows in a resample is absent from it, as in fairlearn's bootstrap.
//!
//! Disparities over the groups present, `between_groups`: demographic parity difference
//! max - min selection rate and ratio min / max; equal opportunity difference max - min
//! true positive rate; equalized odds difference the larger ("worst_case") or the mean
//! ("mean") of the true- and false-positive-rate differences.
//!
//! The bootstrap draws each resample's cell counts from the multinomial law of n rows
//! drawn with replacement from the data (which is the law of the cell counts of a row
//! resample, so the bootstrap distribution is the same), in O(cells) per resample instead
//! of O(rows); or counts the cells of resamples the caller gives as row indices (to
//! reproduce another tool's resamples exactly). Intervals are numpy's default (linear)
//! quantiles of the resampled values, NaN ignored (`np.nanquantile`, as fairlearn).

use ndarray::ArrayView2;
use rand_distr::{Binomial, Distribution};
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::robustness::common::sample_rng;
use crate::core::{CoreError, CoreResult};

/// Per-group metrics, in this order.
pub const GROUP_METRICS: [&str; 5] = ["selection_rate", "accuracy", "tpr", "fpr", "precision"];
/// Disparities, in this order.
pub const DISPARITIES: [&str; 5] = [
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_difference_mean",
    "equal_opportunity_difference",
];

/// Counts of one group: true negatives, false positives, false negatives, true positives
/// (the cell order `2 * y_true + y_pred`).
pub type Cells = [f64; 4];

/// One grouping: the group of each intersection group.
#[derive(Debug, Clone)]
pub struct Grouping {
    pub map: Vec<usize>,
    pub n_groups: usize,
}

impl Grouping {
    /// Checks that every entry names a group.
    pub fn new(map: Vec<usize>, n_groups: usize) -> CoreResult<Self> {
        if let Some(&g) = map.iter().find(|&&g| g >= n_groups) {
            return Err(CoreError::invalid(format!(
                "grouping maps to group {g} of only {n_groups}"
            )));
        }
        Ok(Grouping { map, n_groups })
    }

    fn sum(&self, counts: &[Cells]) -> Vec<Cells> {
        let mut out = vec![[0.0; 4]; self.n_groups];
        for (ig, c) in counts.iter().enumerate() {
            let o = &mut out[self.map[ig]];
            for k in 0..4 {
                o[k] += c[k];
            }
        }
        out
    }
}

/// The metrics of a group with these counts, NaN throughout for an empty group.
pub fn group_metrics(c: &Cells) -> [f64; 5] {
    let [tn, fp, fn_, tp] = *c;
    let n = tn + fp + fn_ + tp;
    if n == 0.0 {
        return [f64::NAN; 5];
    }
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    [
        (tp + fp) / n,
        (tp + tn) / n,
        ratio(tp, tp + fn_),
        ratio(fp, fp + tn),
        ratio(tp, tp + fp),
    ]
}

fn spread(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut any = false;
    for v in values.filter(|v| !v.is_nan()) {
        any = true;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if any {
        (lo, hi)
    } else {
        (f64::NAN, f64::NAN)
    }
}

/// The five disparities of groups with these metrics (rows of `group_metrics`); empty
/// groups (NaN) are left out.
pub fn disparities(metrics: &[[f64; 5]]) -> [f64; 5] {
    let (sel_lo, sel_hi) = spread(metrics.iter().map(|m| m[0]));
    let (tpr_lo, tpr_hi) = spread(metrics.iter().map(|m| m[2]));
    let (fpr_lo, fpr_hi) = spread(metrics.iter().map(|m| m[3]));
    let tpr_diff = tpr_hi - tpr_lo;
    let fpr_diff = fpr_hi - fpr_lo;
    [
        sel_hi - sel_lo,
        sel_lo / sel_hi,
        tpr_diff.max(fpr_diff),
        (tpr_diff + fpr_diff) / 2.0,
        tpr_diff,
    ]
}

/// Cell counts per intersection group of rows with these cell codes.
pub fn count_cells(cells: &[u32], n_igroups: usize) -> CoreResult<Vec<Cells>> {
    let n_cells = n_igroups * 4;
    let raw = cells
        .par_chunks(1 << 16)
        .map(|chunk| {
            let mut c = vec![0u64; n_cells];
            for &x in chunk {
                match c.get_mut(x as usize) {
                    Some(slot) => *slot += 1,
                    None => return Err(x),
                }
            }
            Ok(c)
        })
        .try_reduce(
            || vec![0u64; n_cells],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                Ok(a)
            },
        )
        .map_err(|x| CoreError::invalid(format!("cell code {x} out of range (0..{n_cells})")))?;
    Ok(raw
        .chunks_exact(4)
        .map(|c| [c[0] as f64, c[1] as f64, c[2] as f64, c[3] as f64])
        .collect())
}

/// Point values of one grouping: per-group metrics, per-group row counts, disparities.
#[derive(Debug, Clone)]
pub struct GroupingValues {
    pub metrics: Vec<[f64; 5]>,
    pub counts: Vec<f64>,
    pub disparities: [f64; 5],
}

pub fn grouping_values(counts: &[Cells], grouping: &Grouping) -> GroupingValues {
    let g = grouping.sum(counts);
    let metrics: Vec<[f64; 5]> = g.iter().map(group_metrics).collect();
    GroupingValues {
        disparities: disparities(&metrics),
        counts: g.iter().map(|c| c.iter().sum()).collect(),
        metrics,
    }
}

/// Where a bootstrap's resamples come from.
pub enum Resamples<'a> {
    /// `n_boot` resamples drawn with the seed (one ChaCha8 stream per resample, so the
    /// result does not depend on the thread count).
    Drawn { n_boot: usize, seed: u64 },
    /// Row indices, one resample per row of the array, into the rows of `cells`.
    Given(ArrayView2<'a, i64>),
}

/// Intervals of one grouping: `[low, high]` of every group metric and disparity.
#[derive(Debug, Clone)]
pub struct GroupingIntervals {
    pub metrics_low: Vec<[f64; 5]>,
    pub metrics_high: Vec<[f64; 5]>,
    pub disparities_low: [f64; 5],
    pub disparities_high: [f64; 5],
}

/// Cell counts of a multinomial draw of `n` rows with the cell frequencies of `counts`:
/// one binomial per non-empty cell, conditional on the cells before it.
fn multinomial(counts: &[Cells], n: f64, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<Cells> {
    let mut out = vec![[0.0; 4]; counts.len()];
    let mut rows_left = n as u64;
    let mut mass_left = n;
    for (o, c) in out.iter_mut().zip(counts) {
        for k in 0..4 {
            if rows_left == 0 || c[k] == 0.0 {
                continue;
            }
            let p = c[k] / mass_left;
            let drawn = if p >= 1.0 {
                rows_left
            } else {
                // `p` is in (0, 1) here, so the law exists.
                Binomial::new(rows_left, p).map_or(0, |b| b.sample(rng))
            };
            o[k] = drawn as f64;
            rows_left -= drawn;
            mass_left -= c[k];
        }
    }
    out
}

fn given_counts(
    row: ndarray::ArrayView1<'_, i64>,
    cells: &[u32],
    n_igroups: usize,
) -> CoreResult<Vec<Cells>> {
    let mut out = vec![[0.0; 4]; n_igroups];
    for &i in row.iter() {
        let cell = usize::try_from(i)
            .ok()
            .and_then(|i| cells.get(i))
            .ok_or_else(|| {
                CoreError::invalid(format!(
                    "resamples: row index {i} out of range (0..{})",
                    cells.len()
                ))
            })?;
        let c = *cell as usize;
        match out.get_mut(c / 4) {
            Some(o) => o[c % 4] += 1.0,
            None => {
                return Err(CoreError::invalid(format!(
                    "cell code {c} out of range (0..{})",
                    n_igroups * 4
                )))
            }
        }
    }
    Ok(out)
}

/// numpy's default (linear) quantile of the values that are not NaN; NaN if none are.
pub fn nan_quantile(values: &mut Vec<f64>, q: f64) -> f64 {
    values.retain(|v| !v.is_nan());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable_by(f64::total_cmp);
    let h = (values.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(values.len() - 1);
    let frac = h - lo as f64;
    // numpy's `_lerp`: a + (b - a) * t, from the far end when t >= 0.5.
    let (a, b) = (values[lo], values[hi]);
    let diff = b - a;
    if frac >= 0.5 {
        b - diff * (1.0 - frac)
    } else {
        a + diff * frac
    }
}

/// Percentile bootstrap intervals at quantiles `(q_low, q_high)` for every grouping.
pub fn bootstrap(
    cells: &[u32],
    n_igroups: usize,
    groupings: &[Grouping],
    resamples: Resamples<'_>,
    quantiles: (f64, f64),
    progress: &Progress,
) -> CoreResult<Vec<GroupingIntervals>> {
    if groupings.iter().any(|g| g.map.len() != n_igroups) {
        return Err(CoreError::invalid(
            "every grouping must map each intersection group",
        ));
    }
    let (lo_q, hi_q) = quantiles;
    if !(0.0..=1.0).contains(&lo_q) || !(0.0..=1.0).contains(&hi_q) {
        return Err(CoreError::invalid("quantiles must be in [0, 1]"));
    }
    let counts = count_cells(cells, n_igroups)?;
    let n = cells.len() as f64;
    let n_boot = match &resamples {
        Resamples::Drawn { n_boot, .. } => *n_boot,
        Resamples::Given(a) => a.nrows(),
    };
    if n_boot == 0 {
        return Err(CoreError::invalid(
            "n_boot: at least one resample is needed",
        ));
    }
    progress.add_total(n_boot as u64);
    // One resample's values: per grouping, its group metrics then its disparities.
    let draws: Vec<Vec<GroupingValues>> = (0..n_boot)
        .into_par_iter()
        .map(|b| -> CoreResult<Vec<GroupingValues>> {
            progress.check()?;
            let c = match &resamples {
                Resamples::Drawn { seed, .. } => multinomial(&counts, n, &mut sample_rng(*seed, b)),
                Resamples::Given(a) => given_counts(a.row(b), cells, n_igroups)?,
            };
            progress.advance(1);
            Ok(groupings.iter().map(|g| grouping_values(&c, g)).collect())
        })
        .collect::<CoreResult<_>>()?;
    let intervals = groupings
        .par_iter()
        .enumerate()
        .map(|(gi, g)| {
            let pick = |f: &dyn Fn(&GroupingValues) -> f64| -> (f64, f64) {
                let mut v: Vec<f64> = draws.iter().map(|d| f(&d[gi])).collect();
                let low = nan_quantile(&mut v, lo_q);
                (low, nan_quantile(&mut v, hi_q))
            };
            let mut metrics_low = vec![[f64::NAN; 5]; g.n_groups];
            let mut metrics_high = vec![[f64::NAN; 5]; g.n_groups];
            for grp in 0..g.n_groups {
                for m in 0..5 {
                    let (l, h) = pick(&|d: &GroupingValues| d.metrics[grp][m]);
                    metrics_low[grp][m] = l;
                    metrics_high[grp][m] = h;
                }
            }
            let mut disparities_low = [f64::NAN; 5];
            let mut disparities_high = [f64::NAN; 5];
            for k in 0..5 {
                let (l, h) = pick(&|d: &GroupingValues| d.disparities[k]);
                disparities_low[k] = l;
                disparities_high[k] = h;
            }
            GroupingIntervals {
                metrics_low,
                metrics_high,
                disparities_low,
                disparities_high,
            }
        })
        .collect();
    Ok(intervals)
}

/// ROC AUC, Brier score and mean score of every group (NaN where a group lacks one of the
/// classes, for the AUC, or has no rows). The AUC is the Mann-Whitney statistic with ties
/// counted half, as scikit-learn's `roc_auc_score`.
pub fn score_metrics(
    score: &[f64],
    y_true: &[u8],
    group: &[u32],
    n_groups: usize,
) -> CoreResult<Vec<[f64; 3]>> {
    if score.len() != y_true.len() || group.len() != y_true.len() {
        return Err(CoreError::invalid(
            "y_score, y_true and the groups must have one value per row",
        ));
    }
    if let Some(&g) = group.iter().find(|&&g| g as usize >= n_groups) {
        return Err(CoreError::invalid(format!("group {g} out of range")));
    }
    let mut order: Vec<u32> = (0..score.len() as u32).collect();
    order.par_sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        group[a].cmp(&group[b]).then(score[a].total_cmp(&score[b]))
    });
    let mut out = vec![[f64::NAN; 3]; n_groups];
    let mut start = 0;
    while start < order.len() {
        let g = group[order[start] as usize];
        let mut end = start;
        while end < order.len() && group[order[end] as usize] == g {
            end += 1;
        }
        out[g as usize] = one_group_scores(&order[start..end], score, y_true);
        start = end;
    }
    Ok(out)
}

fn one_group_scores(rows: &[u32], score: &[f64], y_true: &[u8]) -> [f64; 3] {
    let n = rows.len() as f64;
    let (mut brier, mut mean) = (0.0, 0.0);
    // Walk ascending scores; a positive beats every negative below it and half of those
    // tied with it.
    let (mut neg_below, mut pos, mut wins) = (0.0f64, 0.0f64, 0.0f64);
    let mut i = 0;
    while i < rows.len() {
        let s = score[rows[i] as usize];
        let (mut tie_pos, mut tie_neg) = (0.0, 0.0);
        let mut j = i;
        while j < rows.len() && score[rows[j] as usize] == s {
            let y = f64::from(y_true[rows[j] as usize]);
            brier += (s - y) * (s - y);
            mean += s;
            if y_true[rows[j] as usize] == 1 {
                tie_pos += 1.0;
            } else {
                tie_neg += 1.0;
            }
            j += 1;
        }
        wins += tie_pos * (neg_below + 0.5 * tie_neg);
        pos += tie_pos;
        neg_below += tie_neg;
        i = j;
    }
    let auc = if pos > 0.0 && neg_below > 0.0 {
        wins / (pos * neg_below)
    } else {
        f64::NAN
    };
    [auc, brier / n, mean / n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn cells_of(group: &[u32], yt: &[u8], yp: &[u8]) -> Vec<u32> {
        group
            .iter()
            .zip(yt.iter().zip(yp))
            .map(|(&g, (&t, &p))| g * 4 + 2 * u32::from(t) + u32::from(p))
            .collect()
    }

    #[test]
    fn metrics_and_disparities_by_hand() {
        // group 0: tn=1 fp=1 fn=1 tp=1; group 1: tp=2 tn=2.
        let group = [0, 0, 0, 0, 1, 1, 1, 1];
        let yt = [0, 0, 1, 1, 1, 1, 0, 0];
        let yp = [0, 1, 0, 1, 1, 1, 0, 0];
        let counts = count_cells(&cells_of(&group, &yt, &yp), 2).unwrap();
        let g = Grouping::new(vec![0, 1], 2).unwrap();
        let v = grouping_values(&counts, &g);
        assert_eq!(v.metrics[0], [0.5, 0.5, 0.5, 0.5, 0.5]);
        assert_eq!(v.metrics[1], [0.5, 1.0, 1.0, 0.0, 1.0]);
        assert_eq!(v.counts, vec![4.0, 4.0]);
        assert_eq!(v.disparities, [0.0, 1.0, 0.5, 0.5, 0.5]);
    }

    #[test]
    fn empty_denominators_give_zero_and_empty_groups_are_left_out() {
        assert_eq!(
            group_metrics(&[3.0, 0.0, 0.0, 0.0]),
            [0.0, 1.0, 0.0, 0.0, 0.0]
        );
        assert!(group_metrics(&[0.0; 4])[0].is_nan());
        let d = disparities(&[
            [0.2, 0.0, 0.5, 0.1, 0.0],
            [f64::NAN; 5],
            [0.4, 0.0, 0.7, 0.4, 0.0],
        ]);
        assert!((d[0] - 0.2).abs() < 1e-15 && (d[1] - 0.5).abs() < 1e-15);
        assert!((d[2] - 0.3).abs() < 1e-15 && (d[3] - 0.25).abs() < 1e-15);
    }

    #[test]
    fn quantiles_match_numpy_linear() {
        let mut v = vec![1.0, f64::NAN, 4.0, 2.0, 3.0];
        assert_eq!(nan_quantile(&mut v.clone(), 0.5), 2.5);
        assert_eq!(nan_quantile(&mut v, 0.0), 1.0);
        assert!((nan_quantile(&mut vec![0.0, 10.0], 0.975) - 9.75).abs() < 1e-12);
        assert!(nan_quantile(&mut vec![f64::NAN], 0.5).is_nan());
    }

    #[test]
    fn given_resamples_are_counted() {
        let cells = cells_of(&[0, 0, 1, 1], &[1, 0, 1, 0], &[1, 0, 0, 0]);
        // Resample 0 repeats row 0 (group 0, tp) and row 2 (group 1, fn).
        let idx = Array2::from_shape_vec((1, 4), vec![0, 0, 2, 2]).unwrap();
        let g = Grouping::new(vec![0, 1], 2).unwrap();
        let out = bootstrap(
            &cells,
            2,
            &[g],
            Resamples::Given(idx.view()),
            (0.0, 1.0),
            &Progress::new(),
        )
        .unwrap();
        assert_eq!(out[0].metrics_low[0], [1.0, 1.0, 1.0, 0.0, 1.0]);
        assert_eq!(out[0].disparities_low[0], 1.0);
        let bad = Array2::from_shape_vec((1, 2), vec![0, 9]).unwrap();
        let g = Grouping::new(vec![0, 1], 2).unwrap();
        assert!(bootstrap(
            &cells,
            2,
            &[g],
            Resamples::Given(bad.view()),
            (0.0, 1.0),
            &Progress::new()
        )
        .is_err());
    }

    #[test]
    fn drawn_bootstrap_is_deterministic_and_centred() {
        let n = 4000;
        let group: Vec<u32> = (0..n).map(|i| (i % 3) as u32).collect();
        let yt: Vec<u8> = (0..n).map(|i| ((i / 3) % 2) as u8).collect();
        let yp: Vec<u8> = (0..n)
            .map(|i| u8::from((i * 7919) % 10 < 3 + (i % 3)))
            .collect();
        let cells = cells_of(&group, &yt, &yp);
        let g = || vec![Grouping::new(vec![0, 1, 2], 3).unwrap()];
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                bootstrap(
                    &cells,
                    3,
                    &g(),
                    Resamples::Drawn {
                        n_boot: 400,
                        seed: 5,
                    },
                    (0.025, 0.975),
                    &Progress::new(),
                )
                .unwrap()
            })
        };
        let (a, b) = (run(1), run(3));
        assert_eq!(a[0].disparities_low, b[0].disparities_low);
        assert_eq!(a[0].metrics_high, b[0].metrics_high);
        let point = grouping_values(&count_cells(&cells, 3).unwrap(), &g()[0]);
        for grp in 0..3 {
            let sel = point.metrics[grp][0];
            assert!(a[0].metrics_low[grp][0] < sel && sel < a[0].metrics_high[grp][0]);
            // A binomial proportion's 95% interval is about +-1.96 sd wide.
            let sd = (sel * (1.0 - sel) / point.counts[grp]).sqrt();
            let width = a[0].metrics_high[grp][0] - a[0].metrics_low[grp][0];
            assert!(
                (width / (2.0 * 1.96 * sd) - 1.0).abs() < 0.15,
                "width {width} sd {sd}"
            );
        }
    }

    #[test]
    fn auc_brier_and_mean_score() {
        let score = [0.1, 0.4, 0.35, 0.8, 0.5, 0.5];
        let yt = [0, 0, 1, 1, 0, 1];
        let group = [0, 0, 0, 0, 1, 1];
        let out = score_metrics(&score, &yt, &group, 2).unwrap();
        assert!((out[0][0] - 0.75).abs() < 1e-15);
        assert_eq!(out[1][0], 0.5);
        let brier0 = (0.01 + 0.16 + 0.65f64.powi(2) + 0.04) / 4.0;
        assert!((out[0][1] - brier0).abs() < 1e-15);
        assert!((out[1][2] - 0.5).abs() < 1e-15);
    }
}
