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
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

use ndarray::ArrayView2;
use rayon::prelude::*;

pub use counts::{pairwise_sum, round_row_totals, Prob};

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
/// Labels per block of the range check.
const LABEL_BLOCK: usize = 1 << 14;
/// Rows at most this wide (classes) are scanned with bit masks (one bit per class).
const MASK_CLASSES: usize = 64;

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

/// What pass 2 keeps of a row besides its score, packed in a `u32`: the confidently
/// guessed true class in the low 30 bits (`NO_GUESS` when no class reached its threshold),
/// `LABEL_WINS` when the given label is the argmax once it gets `1e-6` more (cleanlab's
/// `_reduce_issues`), `ARGMAX_ELSEWHERE` when `argmax(p)` is not the given label.
const GUESS_BITS: u32 = (1 << 30) - 1;
const NO_GUESS: u32 = GUESS_BITS;
const LABEL_WINS: u32 = 1 << 30;
const ARGMAX_ELSEWHERE: u32 = 1 << 31;

fn cmp<T: Prob>(a: T, b: T) -> Ordering {
    a.partial_cmp(&b).unwrap_or(Ordering::Equal)
}

/// `f(i, row, scratch)` for every row, in parallel, both halves of the results in row order
/// (written straight into their vectors). A standard-layout array is read in place; other
/// layouts are copied one row (k values) at a time.
fn map_rows<T, A, B, F>(probs: &ArrayView2<T>, f: F) -> (Vec<A>, Vec<B>)
where
    T: Prob,
    A: Send,
    B: Send,
    F: Fn(usize, &[T], &mut Vec<T>) -> (A, B) + Sync + Send,
{
    let (n, k) = probs.dim();
    let narrow = k * std::mem::size_of::<T>() < PREFETCH_ROW_BYTES;
    let mut a = Vec::with_capacity(n);
    let mut b = Vec::with_capacity(n);
    match probs.as_slice() {
        Some(flat) => flat
            .par_chunks_exact(k)
            .with_min_len(MIN_ROWS_PER_TASK)
            .enumerate()
            .map_init(Vec::new, |scratch, (i, row)| {
                if narrow {
                    prefetch_row(flat, i + NARROW_AHEAD, k);
                }
                f(i, row, scratch)
            })
            .unzip_into_vecs(&mut a, &mut b),
        None => (0..n)
            .into_par_iter()
            .with_min_len(MIN_ROWS_PER_TASK)
            .map_init(
                || (Vec::with_capacity(k), Vec::new()),
                |(row, scratch), i| {
                    row.clear();
                    row.extend(probs.row(i).iter().copied());
                    f(i, row, scratch)
                },
            )
            .unzip_into_vecs(&mut a, &mut b),
    }
    (a, b)
}

/// Why a row of probabilities is refused (0: it is fine).
const ROW_OK: u8 = 0;
const ROW_NOT_FINITE: u8 = 1;
const ROW_OUT_OF_RANGE: u8 = 2;
const ROW_SUM: u8 = 3;
const ROW_NOT_EXACT: u8 = 4;

fn row_status<T: Prob>(row: &[T], exact: bool) -> u8 {
    let low = T::from_f64(-FUZZ);
    let high = T::from_f64(1.0 + FUZZ);
    let mut sum = 0.0f64;
    let mut inexact = false;
    for &p in row {
        if !p.is_finite() {
            return ROW_NOT_FINITE;
        }
        if p < low || p > high {
            return ROW_OUT_OF_RANGE;
        }
        inexact |= p < T::ZERO || p > T::from_f64(1.0);
        sum += p.to_f64();
    }
    if (sum - 1.0).abs() > ROW_SUM_TOLERANCE {
        ROW_SUM
    } else if exact && inexact {
        ROW_NOT_EXACT
    } else {
        ROW_OK
    }
}

fn row_error<T: Prob>(i: usize, row: &[T], status: u8) -> CoreError {
    let low = T::from_f64(-FUZZ);
    let high = T::from_f64(1.0 + FUZZ);
    CoreError::invalid(match status {
        ROW_NOT_FINITE => {
            let p = row
                .iter()
                .find(|p| !p.is_finite())
                .copied()
                .unwrap_or(T::ZERO);
            format!("pred_probs row {i} holds {p:?}: probabilities must be finite")
        }
        ROW_OUT_OF_RANGE => {
            let p = row
                .iter()
                .find(|&&p| p < low || p > high)
                .copied()
                .unwrap_or(T::ZERO);
            format!("pred_probs row {i} holds {p:?}: probabilities must be between 0 and 1")
        }
        ROW_SUM => {
            let s: f64 = row.iter().map(|p| p.to_f64()).sum();
            format!(
                "pred_probs row {i} sums to {s}, not 1 (tolerance {ROW_SUM_TOLERANCE}): pass \
                 predicted probabilities, e.g. softmax outputs or predict_proba"
            )
        }
        _ => format!(
            "pred_probs row {i} has a value outside [0, 1]: confidence_weighted_entropy \
             needs exact probabilities"
        ),
    })
}

/// Checks shapes, options and labels as cleanlab's `assert_valid_inputs` does.
fn validate_shape<T: Prob>(
    probs: &ArrayView2<T>,
    labels: &[i64],
    opts: &Options,
) -> CoreResult<usize> {
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
    if k >= NO_GUESS as usize {
        return Err(CoreError::invalid(format!(
            "pred_probs has {k} columns: at most {} classes are supported",
            NO_GUESS - 1
        )));
    }
    if !(opts.frac_noise > 0.0 && opts.frac_noise <= 1.0) {
        return Err(CoreError::invalid(format!(
            "frac_noise must be in (0, 1], got {}",
            opts.frac_noise
        )));
    }
    // Blocks of labels are checked without a branch per label (`as u64` sends negative
    // labels past `k`); only a block holding a bad label is searched for it.
    let out_of_range = |l: i64| l as u64 >= k as u64;
    let bad = labels
        .par_chunks(LABEL_BLOCK)
        .position_first(|b| b.iter().fold(false, |acc, &l| acc | out_of_range(l)))
        .and_then(|b| {
            let at = b * LABEL_BLOCK;
            labels[at..]
                .iter()
                .position(|&l| out_of_range(l))
                .map(|j| at + j)
        });
    if let Some(i) = bad {
        return Err(CoreError::invalid(format!(
            "labels[{i}] = {} is out of range: pred_probs has {k} columns, so labels must be in 0..{}",
            labels[i],
            k - 1
        )));
    }
    Ok(k)
}

/// The self-confidences grouped by given label, in row order within a class: class `c`
/// holds `values[start[c]..start[c + 1]]` (what numpy's `pred_probs[:, c][labels == c]`
/// holds, for its mean).
struct ByClass<T> {
    start: Vec<usize>,
    values: Vec<T>,
}

impl<T: Prob> ByClass<T> {
    /// `own(i)`: the self-confidence of row `i`; `labels` are checked to be in `0..k`.
    fn new(labels: &[i64], k: usize, own: impl Fn(usize) -> T) -> Self {
        let mut start = vec![0usize; k + 1];
        for &l in labels {
            start[l as usize + 1] += 1;
        }
        for c in 0..k {
            start[c + 1] += start[c];
        }
        let mut next = start.clone();
        let mut values = vec![T::ZERO; labels.len()];
        for (i, &l) in labels.iter().enumerate() {
            let l = l as usize;
            values[next[l]] = own(i);
            next[l] += 1;
        }
        ByClass { start, values }
    }

    fn of(&self, c: usize) -> &[T] {
        &self.values[self.start[c]..self.start[c + 1]]
    }
}

/// cleanlab's `get_confident_thresholds`, returned with the values rows are compared with
/// (`threshold - 1e-6`), in f64. With every class present numpy subtracts in the
/// probabilities' type; with a class missing its threshold list becomes float64.
fn compare_thresholds<T: Prob>(groups: &ByClass<T>, k: usize) -> (Vec<f64>, Vec<f64>) {
    let means: Vec<Option<T>> = (0..k)
        .into_par_iter()
        .map(|c| {
            let vals = groups.of(c);
            if vals.is_empty() {
                None
            } else {
                Some(counts::numpy_mean(vals))
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
fn row_score<T: Prob>(row: &[T], label: usize, rank_by: RankBy, scratch: &mut Vec<T>) -> f64 {
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
            scratch.clear();
            scratch.extend(row.iter().map(|p| p.xlogx()));
            // -np.sum(xlogy(p, p), axis=1) in T, then / np.log(k), a float64.
            let entropy = (T::ZERO - pairwise_sum(scratch)).to_f64() / (row.len() as f64).ln();
            let floor = T::from_f64(CLIP_FLOOR);
            let sc = if sc < floor { floor } else { sc };
            let s = entropy / sc.to_f64();
            (s + 1.0).ln() / s.max(CLIP_FLOOR)
        }
    }
}

/// Accumulators per lane of `summarize`: independent lanes let the compiler keep them in
/// vector registers (one accumulator would serialise the loop).
const LANES: usize = 8;

/// What one read of a row tells: its sum (for the row check), its smallest and largest
/// value, and how many values reach their class's threshold.
struct RowSummary<T> {
    sum: f64,
    min: T,
    max: T,
    confident: u64,
}

fn summarize<T: Prob>(row: &[T], cut: &[f64]) -> RowSummary<T> {
    let first = row[0];
    let mut sum = [0.0f64; LANES];
    let mut min = [first; LANES];
    let mut max = [first; LANES];
    let mut confident = [0u64; LANES];
    let values = row.chunks_exact(LANES);
    let cuts = cut.chunks_exact(LANES);
    let (tail, cut_tail) = (values.remainder(), cuts.remainder());
    for (ps, ts) in values.zip(cuts) {
        for l in 0..LANES {
            let p = ps[l];
            sum[l] += p.to_f64();
            min[l] = if p < min[l] { p } else { min[l] };
            max[l] = if p > max[l] { p } else { max[l] };
            confident[l] += u64::from(p.to_f64() >= ts[l]);
        }
    }
    let mut out = RowSummary {
        sum: sum.iter().sum(),
        min: min
            .iter()
            .copied()
            .fold(first, |a, b| if b < a { b } else { a }),
        max: max
            .iter()
            .copied()
            .fold(first, |a, b| if b > a { b } else { a }),
        confident: confident.iter().sum(),
    };
    for (&p, &t) in tail.iter().zip(cut_tail) {
        out.sum += p.to_f64();
        out.min = if p < out.min { p } else { out.min };
        out.max = if p > out.max { p } else { out.max };
        out.confident += u64::from(p.to_f64() >= t);
    }
    out
}

/// Scans one row: its score and its packed code (confident guess, argmax, the
/// `_reduce_issues` test). `ok` is cleared when the row fails `row_status`'s checks.
///
/// One vectorised read of the row (`summarize`) gives what the checks and the confident
/// joint need; the argmax is then the first value equal to the maximum, and the given
/// label wins `argmax(p + 1e-6 at the label)` when it is the argmax, or when its lifted
/// value beats the maximum (strictly when the maximum comes first, as argmax keeps the
/// first of equal values). Later scans stop early and find the row in cache.
fn row_facts<T: Prob>(
    row: &[T],
    label: usize,
    cut: &[f64],
    rank_by: RankBy,
    scratch: &mut Vec<T>,
    ok: &mut bool,
) -> (f64, u32) {
    let exact = rank_by == RankBy::ConfidenceWeightedEntropy;
    let (low, high) = if exact {
        (T::ZERO, T::from_f64(1.0))
    } else {
        (T::from_f64(-FUZZ), T::from_f64(1.0 + FUZZ))
    };
    let s = summarize(row, cut);
    *ok = s.min >= low && s.max <= high && (s.sum - 1.0).abs() <= ROW_SUM_TOLERANCE;
    // Narrow rows: one more branch-free read (the row is in cache) marks the values equal
    // to the maximum and those reaching their threshold, one bit per class; the argmax and
    // the only confident class are then the lowest bits set, with no early exit to
    // mispredict.
    let masks = (row.len() <= MASK_CLASSES).then(|| {
        let mut at_max = 0u64;
        let mut confident = 0u64;
        for (j, (&p, &t)) in row.iter().zip(cut).enumerate() {
            at_max |= u64::from(p == s.max) << j;
            confident |= u64::from(p.to_f64() >= t) << j;
        }
        (at_max, confident)
    });
    let argmax = match masks {
        Some((at_max, _)) if at_max != 0 => at_max.trailing_zeros() as usize,
        _ => row.iter().position(|&p| p == s.max).unwrap_or(0),
    };
    // `pred_probs_copy[i, label] += 1e-6; argmax(...)`, in T.
    let lifted = row[label] + T::from_f64(FUZZ);
    let label_wins = match argmax.cmp(&label) {
        Ordering::Equal => true,
        Ordering::Less => lifted > s.max,
        Ordering::Greater => lifted >= s.max,
    };
    let mut code = match (s.confident, masks) {
        (0, _) => NO_GUESS,
        (1, Some((_, confident))) if confident != 0 => confident.trailing_zeros(),
        (1, _) => row
            .iter()
            .zip(cut)
            .position(|(&p, &t)| p.to_f64() >= t)
            .map_or(NO_GUESS, |j| j as u32),
        _ => argmax as u32,
    };
    if label_wins {
        code |= LABEL_WINS;
    }
    if argmax != label {
        code |= ARGMAX_ELSEWHERE;
    }
    (row_score(row, label, rank_by, scratch), code)
}

/// Keeps the `cap` smallest `(key, row)` pairs offered (ordered by key, then row: equal keys
/// keep the earlier row, as a stable argsort would). Candidates below the current cut are
/// buffered; at twice `cap` the buffer is cut back to the `cap` smallest, so each offer
/// costs O(1) amortised and the memory stays under 2 * cap pairs.
struct Keeper<T> {
    cap: usize,
    buf: Vec<(T, usize)>,
    /// The largest kept pair after the last cut: only smaller pairs can still be kept.
    cut: Option<(T, usize)>,
}

fn before<T: Prob>(a: &(T, usize), b: &(T, usize)) -> Ordering {
    cmp(a.0, b.0).then(a.1.cmp(&b.1))
}

impl<T: Prob> Keeper<T> {
    fn new(cap: usize) -> Self {
        Keeper {
            cap,
            buf: Vec::new(),
            cut: None,
        }
    }

    /// Rows must be offered in increasing order (then a row is after every pair held, and
    /// only its key decides whether it comes before the cut). Keys are finite.
    fn offer(&mut self, key: T, row: usize) {
        if self.cap == 0 || self.cut.is_some_and(|c| key >= c.0) {
            return;
        }
        self.buf.push((key, row));
        if self.buf.len() >= 2 * self.cap {
            self.shrink();
        }
    }

    /// Offers with a key at or above this value are refused (`-inf`: every offer;
    /// `+inf`: none yet), as f64 (exact for f32 keys too).
    fn bound(&self) -> f64 {
        match self.cut {
            _ if self.cap == 0 => f64::NEG_INFINITY,
            Some(c) => c.0.to_f64(),
            None => f64::INFINITY,
        }
    }

    fn shrink(&mut self) {
        if self.buf.len() > self.cap {
            // The pair at `cap - 1` is then the largest of the `cap` kept.
            let (_, &mut last, _) = self.buf.select_nth_unstable_by(self.cap - 1, before);
            self.buf.truncate(self.cap);
            self.cut = Some(last);
        }
    }

    fn merge(&mut self, other: Keeper<T>) {
        self.buf.extend(other.buf);
        self.shrink();
    }

    /// How many pairs held have a negative key.
    fn below_zero(&self) -> usize {
        self.buf.iter().filter(|p| p.0 < T::ZERO).count()
    }

    fn rows(mut self) -> Vec<usize> {
        self.shrink();
        self.buf.into_iter().map(|(_, row)| row).collect()
    }
}

/// One selection of the pruning filters: among the rows given one class c, the `cap` with
/// the smallest keys.
#[derive(Clone, Copy)]
struct Selection {
    /// `None`: by self-confidence (prune_by_class); `Some(j)`: by `p[c] - p[j]`
    /// (prune_by_noise_rate towards true class j; `a - b` is exactly `-(b - a)`, so the
    /// smallest keys are cleanlab's largest margins `p[j] - p[class]`).
    other: Option<usize>,
    cap: usize,
}

/// The selections of the pruning filters, grouped by class (`start[c]..start[c + 1]`), from
/// the prune counts by given label (`counts::prune_counts_by_given`).
fn selections(
    prune: &[i64],
    given: &[usize],
    k: usize,
    opts: &Options,
) -> (Vec<Selection>, Vec<usize>) {
    let by_class = matches!(opts.filter, Filter::PruneByClass | Filter::Both);
    let by_rate = matches!(opts.filter, Filter::PruneByNoiseRate | Filter::Both);
    let mut sel = Vec::new();
    let mut start = vec![0usize; k + 1];
    for c in 0..k {
        let m = given[c];
        // cleanlab prunes nothing in a class of at most `min_examples_per_class` rows, and
        // writes no mask back for a class of one row.
        if m > opts.min_examples_per_class && m > 1 {
            let keep = prune[c * k + c].max(0) as usize;
            if by_class && m > keep {
                sel.push(Selection {
                    other: None,
                    cap: m - keep,
                });
            }
            if by_rate {
                for j in (0..k).filter(|&j| j != c && prune[c * k + j] > 0) {
                    let cap = (prune[c * k + j] as usize).min(m);
                    sel.push(Selection {
                        other: Some(j),
                        cap,
                    });
                }
            }
        }
        start[c + 1] = sel.len();
    }
    (sel, start)
}

/// Runs every selection in one pass over the rows listed in `rows` (increasing; `None`: every
/// row), in row order (memory is streamed, not gathered), in parallel over blocks of rows
/// whose keepers are merged after. Keys tie-break on the row index, so the result does not
/// depend on the blocks. Returns each selection's keeper.
fn select_rows<T: Prob>(
    probs: &ArrayView2<T>,
    labels: &[i64],
    sel: &[Selection],
    start: &[usize],
    rows: Option<&[usize]>,
) -> Vec<Keeper<T>> {
    let (n, k) = probs.dim();
    let empty = || -> Vec<Keeper<T>> { sel.iter().map(|s| Keeper::new(s.cap)).collect() };
    let m = rows.map_or(n, <[usize]>::len);
    if sel.is_empty() || m == 0 {
        return empty();
    }
    let row_at = |t: usize| rows.map_or(t, |r| r[t]);
    let flat = probs.as_slice();
    // One block per thread: each block holds a keeper per selection, and a keeper that
    // sees more rows cuts sooner (fewer rows buffered, fewer partitions).
    let block = m
        .div_ceil(rayon::current_num_threads())
        .max(MIN_ROWS_PER_TASK);
    // The other class of each selection (`BY_CLASS`: the key is the self-confidence).
    let others: Vec<usize> = sel.iter().map(|s| s.other.unwrap_or(BY_CLASS)).collect();
    // Wide rows: each row needs a few scattered values, one cache miss each; asking for a
    // later row's values ahead of time overlaps the misses. Rows picked from a list are
    // not in stream order either: their values are asked for ahead of time too.
    let wide = k * std::mem::size_of::<T>() >= PREFETCH_ROW_BYTES;
    let ahead = if wide { PREFETCH_ROWS } else { NARROW_AHEAD };
    (0..m.div_ceil(block))
        .into_par_iter()
        .map(|b| {
            let mut heaps = empty();
            // Each keeper's bound, side by side: most offers are refused by one compare
            // with it, without touching the keeper.
            let mut bounds: Vec<f64> = heaps.iter().map(Keeper::bound).collect();
            let mut row_buf: Vec<T> = Vec::new();
            let end = ((b + 1) * block).min(m);
            for t in b * block..end {
                if let Some(f) = flat {
                    if t + ahead < end {
                        let i = row_at(t + ahead);
                        if wide {
                            prefetch_keys(f, labels, sel, start, i, k);
                        } else {
                            prefetch_row(f, i, k);
                        }
                    }
                }
                let i = row_at(t);
                let c = labels[i] as usize;
                let range = start[c]..start[c + 1];
                if range.is_empty() {
                    continue;
                }
                let row: &[T] = match flat {
                    Some(f) => &f[i * k..(i + 1) * k],
                    None => {
                        row_buf.clear();
                        row_buf.extend(probs.row(i).iter().copied());
                        &row_buf
                    }
                };
                let own = row[c];
                for at in range {
                    let key = match others[at] {
                        BY_CLASS => own,
                        j => own - row[j],
                    };
                    if key.to_f64() < bounds[at] {
                        heaps[at].offer(key, i);
                        bounds[at] = heaps[at].bound();
                    }
                }
            }
            heaps
        })
        .reduce(empty, |mut a, b| {
            for (ka, kb) in a.iter_mut().zip(b) {
                ka.merge(kb);
            }
            a
        })
}

/// The rows each selection keeps, visiting as few rows as the result allows.
///
/// A row whose given label is its argmax has no negative margin key `p[c] - p[j]`. So the
/// selections by noise rate first see only the rows whose argmax lies elsewhere; a class's
/// other rows are visited after (and merged: the keepers' order is by key then row) only
/// when one of its selections has not yet filled its cap with negative keys, or when the
/// class has a selection by self-confidence (which any row may enter). The rows kept are
/// those of one pass over every row.
fn pruned_rows<T: Prob>(
    probs: &ArrayView2<T>,
    labels: &[i64],
    codes: &[u32],
    sel: &[Selection],
    start: &[usize],
) -> Vec<Vec<usize>> {
    let k = start.len() - 1;
    let by_class: Vec<bool> = (0..k)
        .map(|c| {
            sel[start[c]..start[c + 1]]
                .iter()
                .any(|s| s.other.is_none())
        })
        .collect();
    let first = |i: usize, l: i64| codes[i] & ARGMAX_ELSEWHERE != 0 || by_class[l as usize];
    let listed: Vec<usize> = labels
        .par_iter()
        .enumerate()
        .with_min_len(MIN_ROWS_PER_TASK)
        .filter(|&(i, &l)| first(i, l))
        .map(|(i, _)| i)
        .collect();
    let mut keepers = select_rows(probs, labels, sel, start, Some(&listed));
    drop(listed);
    let open: Vec<bool> = (0..k)
        .map(|c| {
            !by_class[c]
                && (start[c]..start[c + 1]).any(|at| keepers[at].below_zero() < sel[at].cap)
        })
        .collect();
    if open.iter().any(|&o| o) {
        let rest: Vec<usize> = labels
            .par_iter()
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .filter(|&(i, &l)| open[l as usize] && !first(i, l))
            .map(|(i, _)| i)
            .collect();
        let more = select_rows(probs, labels, sel, start, Some(&rest));
        for (ka, kb) in keepers.iter_mut().zip(more) {
            ka.merge(kb);
        }
    }
    keepers.into_iter().map(Keeper::rows).collect()
}

/// `select_rows`' mark of a selection by self-confidence (no other class).
const BY_CLASS: usize = usize::MAX;

/// Rows ahead of the current one whose values `select_rows` asks the cache for.
const PREFETCH_ROWS: usize = 8;
/// Rows at least this wide (bytes) are prefetched (narrower ones stream in order).
const PREFETCH_ROW_BYTES: usize = 512;

/// Rows ahead of the current one that narrow-row passes ask the cache for: in order as
/// they are, the hardware's own prefetching was measured to leave most of a pass waiting
/// for memory (1M x 10 float64, one thread).
const NARROW_AHEAD: usize = 16;

/// Asks the cache for every line of row `i` of the row-major `flat` (rows of `k` values);
/// nothing past the end.
#[inline(always)]
fn prefetch_row<T>(flat: &[T], i: usize, k: usize) {
    let step = (64 / std::mem::size_of::<T>().max(1)).max(1);
    let start = i * k;
    let mut at = start;
    while at < start + k {
        prefetch(flat, at);
        at += step;
    }
    prefetch(flat, (start + k).saturating_sub(1));
}

/// Asks the cache for the values of row `i` that the selections of its class read.
fn prefetch_keys<T>(
    flat: &[T],
    labels: &[i64],
    sel: &[Selection],
    start: &[usize],
    i: usize,
    k: usize,
) {
    let c = labels[i] as usize;
    let base = i * k;
    prefetch(flat, base + c);
    for s in &sel[start[c]..start[c + 1]] {
        if let Some(j) = s.other {
            prefetch(flat, base + j);
        }
    }
}

/// A hint to the processor to start loading `values[at]` into its cache; results do not
/// depend on it, and it does nothing off x86_64 or past the end.
#[inline(always)]
fn prefetch<T>(values: &[T], at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(v) = values.get(at) {
        // SAFETY: `_mm_prefetch` only hints the cache: it never faults and changes no
        // memory or register the program sees, and SSE is part of the x86_64 baseline.
        // The address comes from a live reference.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                std::ptr::from_ref(v).cast::<i8>(),
            );
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, at);
}

/// Computes the calibrated confident joint from the raw one and the given-label counts.
pub type Calibrate<'a> = &'a (dyn Fn(&[i64], &[usize]) -> CoreResult<Vec<i64>> + Sync);

/// Finds label issues in `labels` given out-of-sample `probs` (n x k).
///
/// `calibrate`: how the raw confident joint (`[given * k + true]`, diagonal at least 1) is
/// calibrated; `None` calibrates here (ties between rounding remainders by index). The
/// Python layer passes numpy's own rounding, so that tied remainders are broken exactly as
/// cleanlab breaks them on the same machine.
pub fn find_label_issues<T: Prob>(
    probs: ArrayView2<T>,
    labels: &[i64],
    opts: &Options,
    calibrate: Option<Calibrate<'_>>,
    progress: &Progress,
) -> CoreResult<LabelIssues> {
    let k = validate_shape(&probs, labels, opts)?;
    let n = labels.len();
    progress.add_total(3 * n as u64);
    // Labels are in 0..k from here on.
    let label = |i: usize| labels[i] as usize;
    // Pass 1: the self-confidences, grouped by class (one value per row, dropped before
    // pass 2).
    // The reads (one cache line per row) run in parallel; the grouping is a counting sort.
    let flat = probs.as_slice();
    let own: Vec<T> = match flat {
        Some(f) => labels
            .par_iter()
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .map(|(i, &l)| f[i * k + l as usize])
            .collect(),
        None => labels
            .par_iter()
            .enumerate()
            .with_min_len(MIN_ROWS_PER_TASK)
            .map(|(i, &l)| probs[[i, l as usize]])
            .collect(),
    };
    let groups = ByClass::new(labels, k, |i| own[i]);
    drop(own);
    let given_counts: Vec<usize> = (0..k).map(|c| groups.of(c).len()).collect();
    if given_counts.iter().filter(|&&c| c > 0).count() < 2 {
        return Err(CoreError::invalid(
            "labels must contain at least 2 classes: every row has the same label",
        ));
    }
    // Thresholds from unchecked rows are thrown away below if a row is refused.
    let (thresholds, cut) = compare_thresholds(&groups, k);
    drop(groups);
    progress.advance(n as u64);
    progress.check()?;

    // Pass 2: every value of every row, checked and scanned; the scores are the result's.
    let exact = opts.rank_by == RankBy::ConfidenceWeightedEntropy;
    // The first refused row, whatever the order the tasks ran in.
    let first_bad = AtomicUsize::new(usize::MAX);
    let (scores, codes): (Vec<f64>, Vec<u32>) = map_rows(&probs, |i, row, scratch| {
        let mut ok = true;
        let out = row_facts(row, label(i), &cut, opts.rank_by, scratch, &mut ok);
        if !ok {
            first_bad.fetch_min(i, AtomicOrdering::Relaxed);
        }
        out
    });
    let bad = first_bad.into_inner();
    if bad != usize::MAX {
        let row: Vec<T> = probs.row(bad).iter().copied().collect();
        return Err(row_error(bad, &row, row_status(&row, exact)));
    }
    progress.advance(n as u64);
    progress.check()?;

    let mut raw_joint = vec![0i64; k * k];
    for (&code, &l) in codes.iter().zip(labels) {
        let guess = code & GUESS_BITS;
        if guess != NO_GUESS {
            raw_joint[l as usize * k + guess as usize] += 1;
        }
    }
    for c in 0..k {
        raw_joint[c * k + c] = raw_joint[c * k + c].max(1);
    }
    let confident_joint = match calibrate {
        None => counts::calibrate(&raw_joint, &given_counts, k),
        Some(f) => {
            let c = f(&raw_joint, &given_counts)?;
            if c.len() != k * k || c.iter().any(|&x| x < 0) {
                return Err(CoreError::invalid(format!(
                    "the calibrated confident joint must be a {k} x {k} matrix of counts"
                )));
            }
            c
        }
    };

    let mut mask = vec![false; n];
    match opts.filter {
        Filter::ConfidentLearning => {
            for ((m, &code), &l) in mask.iter_mut().zip(&codes).zip(labels) {
                let guess = code & GUESS_BITS;
                *m = guess != NO_GUESS && guess as i64 != l;
            }
        }
        Filter::PredictedNeqGiven => {
            for (m, &code) in mask.iter_mut().zip(&codes) {
                *m = code & ARGMAX_ELSEWHERE != 0;
            }
        }
        _ => {
            let prune = counts::prune_counts_by_given(
                &confident_joint,
                k,
                opts.min_examples_per_class,
                opts.frac_noise,
            );
            let (sel, start) = selections(&prune, &given_counts, k, opts);
            let kept = pruned_rows(&probs, labels, &codes, &sel, &start);
            // Both: a row needs the two marks (bit 1 by class, bit 2 by noise rate).
            let mut marks = if opts.filter == Filter::Both {
                vec![0u8; n]
            } else {
                Vec::new()
            };
            for (s, rows) in sel.iter().zip(&kept) {
                let bit = if s.other.is_none() { 1 } else { 2 };
                for &i in rows {
                    match opts.filter {
                        Filter::Both => marks[i] |= bit,
                        Filter::PruneByClass if bit == 1 => mask[i] = true,
                        Filter::PruneByNoiseRate if bit == 2 => mask[i] = true,
                        _ => {}
                    }
                }
            }
            if opts.filter == Filter::Both {
                for (m, &b) in mask.iter_mut().zip(&marks) {
                    *m = b == 3;
                }
            }
        }
    }
    mask.par_iter_mut()
        .zip(codes.par_iter())
        .with_min_len(MIN_ROWS_PER_TASK)
        .for_each(|(m, &code)| *m &= code & LABEL_WINS == 0);
    drop(codes);
    progress.advance(n as u64);

    // (score, row) pairs are all distinct, so an unstable sort of them is deterministic.
    let mut keyed: Vec<(f64, usize)> = (0..n)
        .into_par_iter()
        .with_min_len(MIN_ROWS_PER_TASK)
        .filter(|&i| mask[i])
        .map(|i| (scores[i], i))
        .collect();
    keyed.par_sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let ranked: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();
    let mut flagged_counts = vec![0usize; k];
    for &i in &ranked {
        flagged_counts[label(i)] += 1;
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
        let seen = std::sync::Mutex::new(None);
        let spy = |raw: &[i64], given: &[usize]| {
            *seen.lock().unwrap() = Some((raw.to_vec(), given.to_vec()));
            Ok(counts::calibrate(raw, given, 2))
        };
        let opts = Options::default();
        find_label_issues(p.view(), &labels, &opts, Some(&spy), &Progress::new()).unwrap();
        let raw_and_given = seen.lock().unwrap().take();
        assert_eq!(raw_and_given, Some((vec![4, 1, 1, 4], vec![5, 5])));
    }

    #[test]
    fn a_calibrated_joint_from_the_caller_drives_the_pruning() {
        let (p, labels) = two_classes();
        let opts = Options::default();
        // Keep all of class 0 (no noise counted in its column): only row 8 is pruned.
        let cal = |_: &[i64], _: &[usize]| Ok(vec![5, 0, 1, 4]);
        let r = find_label_issues(p.view(), &labels, &opts, Some(&cal), &Progress::new()).unwrap();
        assert_eq!(r.ranked, vec![8]);
        assert_eq!(r.confident_joint, vec![5, 0, 1, 4]);
        let short = |_: &[i64], _: &[usize]| Ok(vec![1, 2]);
        let bad = find_label_issues(p.view(), &labels, &opts, Some(&short), &Progress::new());
        assert!(bad.unwrap_err().to_string().contains("2 x 2"));
        let failing = |_: &[i64], _: &[usize]| Err(CoreError::invalid("no numpy"));
        let bad = find_label_issues(p.view(), &labels, &opts, Some(&failing), &Progress::new());
        assert!(bad.unwrap_err().to_string().contains("no numpy"));
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
    fn pruning_from_listed_rows_keeps_what_one_pass_over_all_rows_keeps() {
        use rand::{Rng, SeedableRng};
        // Values on a 0.05 grid: many equal keys, zero margins among them.
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
        let (n, k) = (3000, 5);
        let p = Array2::from_shape_fn((n, k), |_| f64::from(rng.gen_range(0u8..20)) * 0.05);
        let labels: Vec<i64> = (0..n).map(|_| rng.gen_range(0..k as i64)).collect();
        let codes: Vec<u32> = (0..n)
            .map(|i| {
                let row = p.row(i);
                let max = row.iter().copied().fold(f64::MIN, f64::max);
                let argmax = row.iter().position(|&x| x == max).unwrap();
                if argmax == labels[i] as usize {
                    0
                } else {
                    ARGMAX_ELSEWHERE
                }
            })
            .collect();
        let given: Vec<usize> = (0..k)
            .map(|c| labels.iter().filter(|&&l| l == c as i64).count())
            .collect();
        // Small caps (filled from the listed rows), caps up to the whole class (the other
        // rows are needed), with and without selections by self-confidence.
        for (caps, by_class) in [(5, false), (150, false), (700, false), (40, true)] {
            let mut sel = Vec::new();
            let mut start = vec![0usize];
            for (c, &m) in given.iter().enumerate() {
                if by_class && c % 2 == 0 {
                    sel.push(Selection {
                        other: None,
                        cap: caps,
                    });
                }
                for j in (0..k).filter(|&j| j != c) {
                    let cap = (caps * (j + 1) / 3).clamp(1, m);
                    sel.push(Selection {
                        other: Some(j),
                        cap,
                    });
                }
                start.push(sel.len());
            }
            let all: Vec<Vec<usize>> = select_rows(&p.view(), &labels, &sel, &start, None)
                .into_iter()
                .map(Keeper::rows)
                .collect();
            for threads in [1, 3] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let got = pool.install(|| pruned_rows(&p.view(), &labels, &codes, &sel, &start));
                for (s, (a, b)) in all.iter().zip(&got).enumerate() {
                    let (mut a, mut b) = (a.clone(), b.clone());
                    a.sort_unstable();
                    b.sort_unstable();
                    assert_eq!(a, b, "caps {caps}, selection {s}, {threads} threads");
                    assert_eq!(a.len(), sel[s].cap);
                }
            }
        }
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
