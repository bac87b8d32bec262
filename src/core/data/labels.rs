//! Label issues by confident learning (Northcutt, Jiang and Chuang, "Confident Learning:
//! Estimating Uncertainty in Dataset Labels", JAIR 2021), with the semantics of cleanlab
//! 2.9's `filter.find_label_issues(labels, pred_probs, filter_by=..., return_indices_ranked_by=...)`
//! for single-label classification.
//!
//! The steps, each as cleanlab does them:
//! 1. per-class thresholds: the mean self-confidence of the rows given that class (numpy's
//!    pairwise mean), at least `2e-6`; a class no row is given gets threshold 2;
//! 2. the confident joint: a row counts towards (given label, guessed true class) when at
//!    least one probability reaches its class threshold minus `1e-6`; the guess is the only
//!    such class, or the argmax when several reach theirs. The diagonal is at least 1;
//! 3. calibration: rows scaled to the given-label counts, the total to n, rows rounded
//!    preserving their totals (`counts` has the exact arithmetic);
//! 4. the filter (`Filter`), then rows whose given label is (within `1e-6`) the argmax are
//!    never flagged;
//! 5. label-quality scores (`RankBy`) for every row; flagged rows ranked by score.
//!
//! Ties: numpy's default argsort is not stable; where cleanlab orders by it (which rows of a
//! class are pruned, the ranking), equal values are ordered here by row index. Only exact
//! ties at a cut can make the two differ.
//!
//! Memory: nothing of size n x k is allocated; the probabilities are read in place
//! (float32 or float64, any strides) and the per-row state is a few scalars.

mod counts;

use std::cmp::Ordering;

use ndarray::{ArrayView1, ArrayView2};
use rayon::prelude::*;

pub use counts::{pairwise_sum, Prob};

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// cleanlab's `FLOATING_POINT_COMPARISON`.
const FUZZ: f64 = 1e-6;
/// cleanlab's `CONFIDENT_THRESHOLDS_LOWER_BOUND`.
const THRESHOLD_FLOOR: f64 = 2e-6;
/// cleanlab's `CLIPPING_LOWER_BOUND`.
const CLIP_FLOOR: f64 = 1e-6;
/// How far a row's probabilities may sum from 1 (cleanlab does not check; a row that does
/// not sum to 1 is not a probability vector and its thresholds mean nothing).
pub const ROW_SUM_TOLERANCE: f64 = 1e-4;
/// Rows per parallel task.
const MIN_ROWS_PER_TASK: usize = 4096;

/// Which rows to flag (cleanlab's `filter_by`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Per given class k and true class j, the `prune_count[j][k]` rows with the largest
    /// margin `p[j] - p[k]` (cleanlab's default).
    PruneByNoiseRate,
    /// Per given class, the rows beyond the calibrated diagonal count with the lowest
    /// self-confidence.
    PruneByClass,
    /// Flagged by both of the above.
    Both,
    /// The off-diagonal rows of the confident joint.
    ConfidentLearning,
    /// The argmax is not the given label.
    PredictedNeqGiven,
}

impl Filter {
    pub const NAMES: [&'static str; 5] = [
        "prune_by_noise_rate",
        "prune_by_class",
        "both",
        "confident_learning",
        "predicted_neq_given",
    ];

    pub fn parse(name: &str) -> CoreResult<Self> {
        Ok(match name {
            "prune_by_noise_rate" => Filter::PruneByNoiseRate,
            "prune_by_class" => Filter::PruneByClass,
            "both" => Filter::Both,
            "confident_learning" => Filter::ConfidentLearning,
            "predicted_neq_given" => Filter::PredictedNeqGiven,
            _ => {
                return Err(CoreError::invalid(format!(
                    "method must be one of {}, got {name:?}",
                    Self::NAMES.join(", ")
                )))
            }
        })
    }
}

/// How label quality is scored (cleanlab's `rank.get_label_quality_scores` methods).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RankBy {
    SelfConfidence,
    NormalizedMargin,
    ConfidenceWeightedEntropy,
}

impl RankBy {
    pub const NAMES: [&'static str; 3] = [
        "self_confidence",
        "normalized_margin",
        "confidence_weighted_entropy",
    ];

    pub fn parse(name: &str) -> CoreResult<Self> {
        Ok(match name {
            "self_confidence" => RankBy::SelfConfidence,
            "normalized_margin" => RankBy::NormalizedMargin,
            "confidence_weighted_entropy" => RankBy::ConfidenceWeightedEntropy,
            _ => {
                return Err(CoreError::invalid(format!(
                    "rank_by must be one of {}, got {name:?}",
                    Self::NAMES.join(", ")
                )))
            }
        })
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub filter: Filter,
    pub rank_by: RankBy,
    /// cleanlab's `frac_noise` (pruning filters only): the share of the estimated issues
    /// to flag, in (0, 1].
    pub frac_noise: f64,
    /// cleanlab's `min_examples_per_class`: pruning keeps at least this many rows per class.
    pub min_examples_per_class: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            filter: Filter::PruneByNoiseRate,
            rank_by: RankBy::SelfConfidence,
            frac_noise: 1.0,
            min_examples_per_class: 1,
        }
    }
}

/// What `find_label_issues` returns. Matrices are row-major k x k.
#[derive(Clone, Debug)]
pub struct LabelIssues {
    pub k: usize,
    /// One flag per row.
    pub mask: Vec<bool>,
    /// The flagged rows, lowest score first (ties by row index).
    pub ranked: Vec<usize>,
    /// The label-quality score of every row (low = worse), as f64.
    pub scores: Vec<f64>,
    /// Per-class thresholds, as f64.
    pub thresholds: Vec<f64>,
    /// The calibrated confident joint: `[given * k + true]`.
    pub confident_joint: Vec<i64>,
    /// The calibrated confident joint over its total (`estimate_joint`).
    pub joint: Vec<f64>,
    /// `P(given = i | true = j)` at `[i * k + j]` (`estimate_latent`'s noise matrix).
    pub noise_matrix: Vec<f64>,
    /// Rows given each label.
    pub given_counts: Vec<usize>,
    /// Flagged rows per given label.
    pub flagged_counts: Vec<usize>,
    /// Rows estimated to truly belong to each class (column sums of the calibrated joint).
    pub true_counts: Vec<i64>,
}

/// The facts about one row the filters and scores need.
#[derive(Clone, Copy)]
struct RowFacts {
    /// The confidently guessed true class, `u32::MAX` when no class reached its threshold.
    guess: u32,
    /// `argmax(p)`.
    argmax: u32,
    /// The given label is the argmax once it gets `1e-6` more (cleanlab's `_reduce_issues`).
    label_wins: bool,
    score: f64,
}

fn cmp<T: Prob>(a: T, b: T) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// Checks the inputs as cleanlab's `assert_valid_inputs` does, plus finiteness and row sums.
fn validate<T: Prob>(probs: &ArrayView2<T>, labels: &[i64], opts: &Options) -> CoreResult<usize> {
    let (n, k) = probs.dim();
    if n == 0 {
        return Err(CoreError::invalid(
            "pred_probs is empty: there are no rows to check",
        ));
    }
    if labels.len() != n {
        return Err(CoreError::invalid(format!(
            "labels has {} entries but pred_probs has {n} rows",
            labels.len()
        )));
    }
    if k < 2 {
        return Err(CoreError::invalid(format!(
            "pred_probs must have at least 2 columns (one per class), got {k}"
        )));
    }
    if !(opts.frac_noise > 0.0 && opts.frac_noise <= 1.0) {
        return Err(CoreError::invalid(format!(
            "frac_noise must be in (0, 1], got {}",
            opts.frac_noise
        )));
    }
    if let Some(i) = labels
        .par_iter()
        .position_first(|&l| l < 0 || l >= k as i64)
    {
        return Err(CoreError::invalid(format!(
            "labels[{i}] = {} is out of range: pred_probs has {k} columns, so labels must be in 0..{}",
            labels[i],
            k - 1
        )));
    }
    let low = T::from_f64(-FUZZ);
    let high = T::from_f64(1.0 + FUZZ);
    let bad_row = (0..n)
        .into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .position_first(|i| {
            let row = probs.row(i);
            let mut sum = 0.0f64;
            for &p in row {
                if !p.is_finite() || p < low || p > high {
                    return true;
                }
                sum += p.to_f64();
            }
            (sum - 1.0).abs() > ROW_SUM_TOLERANCE
        });
    if let Some(i) = bad_row {
        let row = probs.row(i);
        let msg = if let Some(p) = row.iter().find(|p| !p.is_finite()) {
            format!("pred_probs row {i} holds {p:?}: probabilities must be finite")
        } else if let Some(p) = row.iter().find(|&&p| p < low || p > high) {
            format!("pred_probs row {i} holds {p:?}: probabilities must be between 0 and 1")
        } else {
            let s: f64 = row.iter().map(|p| p.to_f64()).sum();
            format!(
                "pred_probs row {i} sums to {s}, not 1 (tolerance {ROW_SUM_TOLERANCE}): pass \
                 predicted probabilities, e.g. softmax outputs or predict_proba"
            )
        };
        return Err(CoreError::invalid(msg));
    }
    if opts.rank_by == RankBy::ConfidenceWeightedEntropy {
        let zero = T::ZERO;
        let one = T::from_f64(1.0);
        if let Some(i) = (0..n)
            .into_par_iter()
            .with_min_len(MIN_ROWS_PER_TASK)
            .position_first(|i| probs.row(i).iter().any(|&p| p < zero || p > one))
        {
            return Err(CoreError::invalid(format!(
                "pred_probs row {i} has a value outside [0, 1]: confidence_weighted_entropy \
                 needs exact probabilities"
            )));
        }
    }
    Ok(k)
}

/// Rows grouped by given label, in row order within a class.
struct Groups {
    start: Vec<usize>,
    rows: Vec<usize>,
}

impl Groups {
    fn new(labels: &[usize], k: usize) -> Self {
        let mut start = vec![0usize; k + 1];
        for &l in labels {
            start[l + 1] += 1;
        }
        for c in 0..k {
            start[c + 1] += start[c];
        }
        let mut next = start.clone();
        let mut rows = vec![0usize; labels.len()];
        for (i, &l) in labels.iter().enumerate() {
            rows[next[l]] = i;
            next[l] += 1;
        }
        Groups { start, rows }
    }

    fn of(&self, c: usize) -> &[usize] {
        &self.rows[self.start[c]..self.start[c + 1]]
    }
}

/// cleanlab's `get_confident_thresholds`, returned as the values rows are compared with
/// (`threshold - 1e-6`), in f64. With every class present numpy subtracts in the
/// probabilities' type; with a class missing its threshold list becomes float64.
fn compare_thresholds<T: Prob>(self_conf: &[T], groups: &Groups, k: usize) -> (Vec<f64>, Vec<f64>) {
    let means: Vec<Option<T>> = (0..k)
        .into_par_iter()
        .map(|c| {
            let rows = groups.of(c);
            if rows.is_empty() {
                None
            } else {
                let vals: Vec<T> = rows.iter().map(|&i| self_conf[i]).collect();
                Some(counts::numpy_mean(&vals))
            }
        })
        .collect();
    let all_present = means.iter().all(Option::is_some);
    let floor = T::from_f64(THRESHOLD_FLOOR);
    let mut thresholds = Vec::with_capacity(k);
    let mut cut = Vec::with_capacity(k);
    for m in means {
        let (t, c) = match m {
            Some(m) if all_present => {
                let t = if m < floor { floor } else { m };
                (t.to_f64(), (t - T::from_f64(FUZZ)).to_f64())
            }
            Some(m) => {
                let t = m.to_f64().max(THRESHOLD_FLOOR);
                (t, t - FUZZ)
            }
            None => (2.0, 2.0 - FUZZ),
        };
        thresholds.push(t);
        cut.push(c);
    }
    (thresholds, cut)
}

/// The label-quality score of one row (cleanlab's `rank` module), as f64.
fn row_score<T: Prob>(row: &ArrayView1<T>, label: usize, rank_by: RankBy, buf: &mut Vec<T>) -> f64 {
    let sc = row[label];
    match rank_by {
        RankBy::SelfConfidence => sc.to_f64(),
        RankBy::NormalizedMargin => {
            let mut other: Option<T> = None;
            for (j, &p) in row.iter().enumerate() {
                if j != label && other.is_none_or(|o| p > o) {
                    other = Some(p);
                }
            }
            let other = other.unwrap_or(T::ZERO);
            ((sc - other + T::from_f64(1.0)) / T::from_f64(2.0)).to_f64()
        }
        RankBy::ConfidenceWeightedEntropy => {
            buf.clear();
            buf.extend(row.iter().map(|p| p.xlogx()));
            let k = row.len();
            // -np.sum(xlogy(p, p), axis=1) in T, then / np.log(k), a float64.
            let entropy = (T::ZERO - pairwise_sum(buf)).to_f64() / (k as f64).ln();
            let floor = T::from_f64(CLIP_FLOOR);
            let sc = if sc < floor { floor } else { sc };
            let s = entropy / sc.to_f64();
            (s + 1.0).ln() / s.max(CLIP_FLOOR)
        }
    }
}

/// Scans one row: confident guess, argmax, the `_reduce_issues` test and the score.
fn row_facts<T: Prob>(
    row: ArrayView1<T>,
    label: usize,
    cut: &[f64],
    rank_by: RankBy,
    buf: &mut Vec<T>,
) -> RowFacts {
    let mut confident = 0usize;
    let mut first_confident = u32::MAX;
    let mut argmax = 0usize;
    let mut best = row[0];
    // `pred_probs_copy[i, label] += 1e-6; argmax(...)`, in T.
    let lifted = row[label] + T::from_f64(FUZZ);
    let mut lifted_argmax = 0usize;
    let mut lifted_best = if label == 0 { lifted } else { row[0] };
    for (j, &p) in row.iter().enumerate() {
        if p.to_f64() >= cut[j] {
            if confident == 0 {
                first_confident = j as u32;
            }
            confident += 1;
        }
        if p > best {
            best = p;
            argmax = j;
        }
        let q = if j == label { lifted } else { p };
        if q > lifted_best {
            lifted_best = q;
            lifted_argmax = j;
        }
    }
    let guess = match confident {
        0 => u32::MAX,
        1 => first_confident,
        _ => argmax as u32,
    };
    RowFacts {
        guess,
        argmax: argmax as u32,
        label_wins: lifted_argmax == label,
        score: row_score(&row, label, rank_by, buf),
    }
}

/// Marks the `count` rows of `rows` that come first under `order` (a total order).
fn mark_first<F>(rows: &[usize], count: usize, mask: &mut [bool], order: F)
where
    F: Fn(usize, usize) -> Ordering,
{
    let count = count.min(rows.len());
    if count == 0 {
        return;
    }
    let mut pos: Vec<usize> = (0..rows.len()).collect();
    if count < pos.len() {
        pos.select_nth_unstable_by(count - 1, |&a, &b| order(a, b));
    }
    for &p in &pos[..count] {
        mask[p] = true;
    }
}

/// The pruning filters for one given class `c`: a mask over `groups.of(c)`.
fn prune_class<T: Prob>(
    probs: &ArrayView2<T>,
    rows: &[usize],
    c: usize,
    prune: &[i64],
    k: usize,
    opts: &Options,
) -> (Vec<bool>, Vec<bool>) {
    let m = rows.len();
    let by_class = matches!(opts.filter, Filter::PruneByClass | Filter::Both);
    let by_rate = matches!(opts.filter, Filter::PruneByNoiseRate | Filter::Both);
    let mut class_mask = vec![false; m];
    let mut rate_mask = vec![false; m];
    // cleanlab prunes nothing in a class of at most `min_examples_per_class` rows, and
    // writes no mask back for a class of one row.
    if m <= opts.min_examples_per_class || m <= 1 {
        return (class_mask, rate_mask);
    }
    if by_class {
        let keep = prune[c * k + c].max(0) as usize;
        let own: Vec<T> = rows.iter().map(|&i| probs[[i, c]]).collect();
        mark_first(rows, m.saturating_sub(keep), &mut class_mask, |a, b| {
            cmp(own[a], own[b]).then(a.cmp(&b))
        });
    }
    if by_rate {
        let mut margin: Vec<T> = vec![T::ZERO; m];
        for j in 0..k {
            let count = prune[j * k + c];
            if j == c || count <= 0 {
                continue;
            }
            for (slot, &i) in margin.iter_mut().zip(rows) {
                *slot = probs[[i, j]] - probs[[i, c]];
            }
            mark_first(rows, count as usize, &mut rate_mask, |a, b| {
                cmp(margin[b], margin[a]).then(a.cmp(&b))
            });
        }
    }
    (class_mask, rate_mask)
}

/// What one scan of the rows gives: everything but the calibration and the filter.
struct Scan {
    k: usize,
    labels: Vec<usize>,
    groups: Groups,
    given_counts: Vec<usize>,
    thresholds: Vec<f64>,
    facts: Vec<RowFacts>,
    raw_joint: Vec<i64>,
}

fn scan<T: Prob>(
    probs: &ArrayView2<T>,
    labels: &[i64],
    opts: &Options,
    progress: &Progress,
) -> CoreResult<Scan> {
    let k = validate(probs, labels, opts)?;
    let n = labels.len();
    progress.add_total(3 * n as u64);
    let labels: Vec<usize> = labels.iter().map(|&l| l as usize).collect();
    let groups = Groups::new(&labels, k);
    let given_counts: Vec<usize> = (0..k).map(|c| groups.of(c).len()).collect();
    if given_counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Err(CoreError::invalid(
            "labels must contain at least 2 classes: every row has the same label",
        ));
    }

    let self_conf: Vec<T> = (0..n)
        .into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .map(|i| probs[[i, labels[i]]])
        .collect();
    let (thresholds, cut) = compare_thresholds(&self_conf, &groups, k);
    drop(self_conf);
    progress.advance(n as u64);
    progress.check()?;

    let facts: Vec<RowFacts> = (0..n)
        .into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .map_init(Vec::new, |buf, i| {
            row_facts(probs.row(i), labels[i], &cut, opts.rank_by, buf)
        })
        .collect();
    progress.advance(n as u64);
    progress.check()?;

    let mut raw_joint = vec![0i64; k * k];
    for (f, &l) in facts.iter().zip(&labels) {
        if f.guess != u32::MAX {
            raw_joint[l * k + f.guess as usize] += 1;
        }
    }
    for c in 0..k {
        raw_joint[c * k + c] = raw_joint[c * k + c].max(1);
    }
    Ok(Scan {
        k,
        labels,
        groups,
        given_counts,
        thresholds,
        facts,
        raw_joint,
    })
}

/// The uncalibrated confident joint (`[given * k + true]`, diagonal at least 1) and the
/// number of rows given each label: cleanlab's `compute_confident_joint(calibrate=False)`.
pub fn raw_confident_joint<T: Prob>(
    probs: ArrayView2<T>,
    labels: &[i64],
    progress: &Progress,
) -> CoreResult<(Vec<i64>, Vec<usize>)> {
    let s = scan(&probs, labels, &Options::default(), progress)?;
    Ok((s.raw_joint, s.given_counts))
}

/// Finds label issues in `labels` given out-of-sample `probs` (n x k).
///
/// `calibrated`: the calibrated confident joint when the caller computed it (the Python
/// layer rounds with numpy's own argsort, so that tied remainders are broken exactly as
/// cleanlab breaks them on the same machine); `None` calibrates here, ties by index.
pub fn find_label_issues<T: Prob>(
    probs: ArrayView2<T>,
    labels: &[i64],
    opts: &Options,
    calibrated: Option<&[i64]>,
    progress: &Progress,
) -> CoreResult<LabelIssues> {
    let Scan {
        k,
        labels,
        groups,
        given_counts,
        thresholds,
        facts,
        raw_joint,
    } = scan(&probs, labels, opts, progress)?;
    let n = labels.len();
    let confident_joint = match calibrated {
        None => counts::calibrate(&raw_joint, &given_counts, k),
        Some(c) => {
            if c.len() != k * k || c.iter().any(|&x| x < 0) {
                return Err(CoreError::invalid(format!(
                    "the calibrated confident joint must be a {k} x {k} matrix of counts"
                )));
            }
            c.to_vec()
        }
    };

    let mut mask = vec![false; n];
    match opts.filter {
        Filter::ConfidentLearning => {
            for (i, f) in facts.iter().enumerate() {
                mask[i] = f.guess != u32::MAX && f.guess as usize != labels[i];
            }
        }
        Filter::PredictedNeqGiven => {
            for (i, f) in facts.iter().enumerate() {
                mask[i] = f.argmax as usize != labels[i];
            }
        }
        _ => {
            let prune = counts::prune_counts(
                &confident_joint,
                k,
                opts.min_examples_per_class,
                opts.frac_noise,
            );
            let per_class: Vec<(Vec<bool>, Vec<bool>)> = (0..k)
                .into_par_iter()
                .map(|c| prune_class(&probs, groups.of(c), c, &prune, k, opts))
                .collect();
            for (c, (by_class, by_rate)) in per_class.iter().enumerate() {
                for (p, &i) in groups.of(c).iter().enumerate() {
                    mask[i] = match opts.filter {
                        Filter::PruneByClass => by_class[p],
                        Filter::PruneByNoiseRate => by_rate[p],
                        _ => by_class[p] && by_rate[p],
                    };
                }
            }
        }
    }
    for (m, f) in mask.iter_mut().zip(&facts) {
        if f.label_wins {
            *m = false;
        }
    }
    progress.advance(n as u64);

    let scores: Vec<f64> = facts.iter().map(|f| f.score).collect();
    let mut ranked: Vec<usize> = (0..n).filter(|&i| mask[i]).collect();
    ranked.par_sort_by(|&a, &b| scores[a].total_cmp(&scores[b]).then(a.cmp(&b)));
    let mut flagged_counts = vec![0usize; k];
    for &i in &ranked {
        flagged_counts[labels[i]] += 1;
    }
    let true_counts: Vec<i64> = (0..k)
        .map(|j| (0..k).map(|i| confident_joint[i * k + j]).sum())
        .collect();
    Ok(LabelIssues {
        k,
        joint: counts::joint(&confident_joint),
        noise_matrix: counts::noise_matrix(&confident_joint, k),
        mask,
        ranked,
        scores,
        thresholds,
        confident_joint,
        given_counts,
        flagged_counts,
        true_counts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    fn run(p: &Array2<f64>, labels: &[i64], filter: Filter) -> LabelIssues {
        let opts = Options {
            filter,
            ..Options::default()
        };
        find_label_issues(p.view(), labels, &opts, None, &Progress::new()).unwrap()
    }

    /// Two classes, five rows each; rows 3 and 8 look like the other class.
    fn two_classes() -> (Array2<f64>, Vec<i64>) {
        let p = array![
            [0.9, 0.1],
            [0.8, 0.2],
            [0.85, 0.15],
            [0.1, 0.9],
            [0.7, 0.3],
            [0.2, 0.8],
            [0.1, 0.9],
            [0.3, 0.7],
            [0.95, 0.05],
            [0.25, 0.75],
        ];
        (p, vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1])
    }

    #[test]
    fn flags_the_planted_rows_with_every_filter() {
        let (p, labels) = two_classes();
        for filter in [
            Filter::PruneByNoiseRate,
            Filter::PruneByClass,
            Filter::Both,
            Filter::ConfidentLearning,
            Filter::PredictedNeqGiven,
        ] {
            let r = run(&p, &labels, filter);
            let flagged: Vec<usize> = (0..10).filter(|&i| r.mask[i]).collect();
            assert_eq!(flagged, vec![3, 8], "{filter:?}");
            // Row 8 has self-confidence 0.05, row 3 has 0.1: row 8 first.
            assert_eq!(r.ranked, vec![8, 3]);
        }
    }

    #[test]
    fn thresholds_and_confident_joint_by_hand() {
        let (p, labels) = two_classes();
        let r = run(&p, &labels, Filter::ConfidentLearning);
        // Class 0: mean of 0.9, 0.8, 0.85, 0.1, 0.7 = 0.67; class 1: 0.8, 0.9, 0.7, 0.05, 0.75.
        assert!((r.thresholds[0] - 0.67).abs() < 1e-12);
        assert!((r.thresholds[1] - 0.64).abs() < 1e-12);
        // Confident counts: given 0 -> true 0 rows 0, 1, 2, 4; row 3 -> true 1. Given 1:
        // rows 5, 6, 7, 9 -> true 1, row 8 -> true 0. Calibration keeps them (n = 10).
        assert_eq!(r.confident_joint, vec![4, 1, 1, 4]);
        assert_eq!(r.joint, vec![0.4, 0.1, 0.1, 0.4]);
        assert_eq!(r.noise_matrix, vec![0.8, 0.2, 0.2, 0.8]);
        assert_eq!(r.given_counts, vec![5, 5]);
        assert_eq!(r.flagged_counts, vec![1, 1]);
        assert_eq!(r.true_counts, vec![5, 5]);
        let (raw, given) = raw_confident_joint(p.view(), &labels, &Progress::new()).unwrap();
        assert_eq!((raw, given), (vec![4, 1, 1, 4], vec![5, 5]));
    }

    #[test]
    fn a_calibrated_joint_from_the_caller_drives_the_pruning() {
        let (p, labels) = two_classes();
        let opts = Options::default();
        // Keep all of class 0 (no noise counted in its column): only row 8 is pruned.
        let cal = [5, 0, 1, 4];
        let r = find_label_issues(p.view(), &labels, &opts, Some(&cal), &Progress::new()).unwrap();
        assert_eq!(r.ranked, vec![8]);
        assert_eq!(r.confident_joint, cal.to_vec());
        let bad = find_label_issues(p.view(), &labels, &opts, Some(&[1, 2]), &Progress::new());
        assert!(bad.unwrap_err().to_string().contains("2 x 2"));
    }

    #[test]
    fn scores_by_method() {
        let (p, labels) = two_classes();
        let opts = Options {
            rank_by: RankBy::NormalizedMargin,
            ..Options::default()
        };
        let r = find_label_issues(p.view(), &labels, &opts, None, &Progress::new()).unwrap();
        assert!((r.scores[0] - (0.9 - 0.1 + 1.0) / 2.0).abs() < 1e-15);
        assert!((r.scores[8] - (0.05 - 0.95 + 1.0) / 2.0).abs() < 1e-15);
        let opts = Options {
            rank_by: RankBy::ConfidenceWeightedEntropy,
            ..Options::default()
        };
        let r = find_label_issues(p.view(), &labels, &opts, None, &Progress::new()).unwrap();
        let h = -(0.9f64 * 0.9f64.ln() + 0.1 * 0.1f64.ln()) / 2f64.ln();
        let s = h / 0.9;
        assert!((r.scores[0] - (s + 1.0).ln() / s).abs() < 1e-15);
    }

    #[test]
    fn a_close_second_is_not_an_issue() {
        // Row 1 is given class 1 and p[1] is within 1e-6 of the argmax: never flagged.
        let p = array![[0.9, 0.1], [0.5000004, 0.4999996], [0.2, 0.8], [0.1, 0.9]];
        let r = run(&p, &[0, 1, 1, 1], Filter::PredictedNeqGiven);
        assert_eq!(r.mask, vec![false, false, false, false]);
    }

    #[test]
    fn float32_input_gives_the_same_flags() {
        let (p, labels) = two_classes();
        let p32 = p.mapv(|x| x as f32);
        let r = find_label_issues(
            p32.view(),
            &labels,
            &Options::default(),
            None,
            &Progress::new(),
        )
        .unwrap();
        assert_eq!(r.ranked, vec![8, 3]);
    }

    #[test]
    fn strided_views_are_read_in_place() {
        let (p, labels) = two_classes();
        let wide = ndarray::concatenate![ndarray::Axis(1), p, p];
        let view = wide.slice(ndarray::s![.., 0..2]);
        let r =
            find_label_issues(view, &labels, &Options::default(), None, &Progress::new()).unwrap();
        assert_eq!(r.ranked, vec![8, 3]);
    }

    #[test]
    fn bad_inputs_are_refused_with_a_reason() {
        let (p, labels) = two_classes();
        let err = |p: &Array2<f64>, l: &[i64]| {
            find_label_issues(p.view(), l, &Options::default(), None, &Progress::new())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&p, &labels[..9]).contains("10 rows"));
        assert!(err(&p, &[0, 0, 0, 0, 0, 1, 1, 1, 1, 2]).contains("labels[9] = 2"));
        assert!(err(&p, &[0; 10]).contains("at least 2 classes"));
        assert!(err(&p, &[0, 0, 0, 0, 0, 1, 1, 1, 1, -1]).contains("out of range"));
        let mut q = p.clone();
        q[[4, 1]] = f64::NAN;
        assert!(err(&q, &labels).contains("row 4"));
        let mut q = p.clone();
        q[[2, 0]] = 0.5;
        assert!(err(&q, &labels).contains("sums to"));
        let mut q = p.clone();
        q[[2, 0]] = 1.2;
        q[[2, 1]] = -0.2;
        assert!(err(&q, &labels).contains("between 0 and 1"));
        assert!(err(&Array2::zeros((0, 2)), &[]).contains("empty"));
        assert!(err(&Array2::ones((2, 1)), &[0, 0]).contains("at least 2 columns"));
    }

    #[test]
    fn names_round_trip() {
        for name in Filter::NAMES {
            assert!(Filter::parse(name).is_ok());
        }
        for name in RankBy::NAMES {
            assert!(RankBy::parse(name).is_ok());
        }
        assert!(Filter::parse("nope").is_err());
        assert!(RankBy::parse("nope").is_err());
    }
}
