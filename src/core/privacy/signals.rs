//! Membership signals of a model's predicted probabilities, one per record, each oriented
//! so that higher means "more likely a member" (a training record is fitted better):
//!
//! * `loss`: `log p_y` (minus the cross-entropy loss) of the row normalised to sum 1, i.e.
//!   `log(p_y / (p_y + o))` with `o` the sum of the other classes: for `p_y > 1/2` it is
//!   computed as `-log1p(o / p_y)`, so a `p_y` that rounds to 1 (a model sure of the true
//!   class: `1 - p_y` below 1.1e-16) keeps the loss its other classes give instead of 0;
//!   otherwise as `log p_y - log(p_y + o)`;
//! * `confidence`: `p_y`, the probability of the true class;
//! * `entropy`: `sum_i p_i log p_i` (minus the prediction's entropy);
//! * `modified_entropy`: minus Song & Mittal's (2021) `Mentr = -(1 - p_y) log p_y -
//!   sum_{i != y} p_i log(1 - p_i)`, which also punishes confident wrong answers;
//! * `logit`: the logit-scaled confidence of LiRA (Carlini et al. 2022),
//!   `log(p_y + 1e-45) - log(sum_{i != y} p_i + 1e-45)`, which sums the other classes
//!   instead of forming `1 - p_y` and so stays exact for `p_y` near 1.
//!
//! Logarithms of `p_y` inside `loss` and `modified_entropy` take `max(p, 1e-30)` (Song &
//! Mittal's guard), so a zero probability gives a large finite value.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::core::data::labels::ROW_SUM_TOLERANCE;
use crate::core::{CoreError, CoreResult};

const LOG_FLOOR: f64 = 1e-30;
const LOGIT_EPS: f64 = 1e-45;
/// Rows per parallel task: a row's work is tiny, so smaller tasks cost more to hand out
/// than they save.
const ROWS_PER_TASK: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct Signals {
    pub loss: Vec<f64>,
    pub confidence: Vec<f64>,
    pub entropy: Vec<f64>,
    pub modified_entropy: Vec<f64>,
    pub logit: Vec<f64>,
    /// Whether the top-scored class is the true one (ties: the lowest index wins).
    pub correct: Vec<bool>,
}

fn safe_ln(p: f64) -> f64 {
    p.max(LOG_FLOOR).ln()
}

/// Checks that `probs` holds probabilities: finite, in `[-1e-6, 1 + 1e-6]`, rows summing to
/// 1 within `ROW_SUM_TOLERANCE`, and that `labels` are class indices of it.
pub fn check_probs(probs: ArrayView2<'_, f64>, labels: &[i64], what: &str) -> CoreResult<()> {
    let (n, k) = probs.dim();
    if labels.len() != n {
        return Err(CoreError::invalid(format!(
            "{what}: {n} rows of probabilities but {} labels",
            labels.len()
        )));
    }
    if n == 0 {
        return Err(CoreError::invalid(format!("{what}: no records")));
    }
    if k < 2 {
        return Err(CoreError::invalid(format!(
            "{what}: expected at least 2 class columns, got {k}"
        )));
    }
    if let Some(i) = labels.iter().position(|&y| y < 0 || y as usize >= k) {
        return Err(CoreError::invalid(format!(
            "{what}: label {} of record {i} is not a class index 0..{}",
            labels[i],
            k - 1
        )));
    }
    let bad = (0..n)
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .find_first(|&i| {
            let row = probs.row(i);
            let s: f64 = row.iter().sum();
            row.iter()
                .any(|&p| !p.is_finite() || !(-1e-6..=1.0 + 1e-6).contains(&p))
                || (s - 1.0).abs() > ROW_SUM_TOLERANCE
        });
    if let Some(i) = bad {
        let row: Vec<f64> = probs.row(i).iter().copied().take(10).collect();
        return Err(CoreError::invalid(format!(
            "{what}: row {i} is not a probability vector (values in [0, 1] summing to 1 \
             within {ROW_SUM_TOLERANCE}): {row:?}; pass probabilities (softmax of logits)"
        )));
    }
    Ok(())
}

/// `log(p_y / (p_y + others))`, accurate for `p_y` near 1 (see the module documentation).
fn log_true_class(p_y: f64, others: f64) -> f64 {
    if p_y > 0.5 {
        -(others / p_y).ln_1p()
    } else {
        safe_ln(p_y) - (p_y + others).ln()
    }
}

fn row_signals(row: ndarray::ArrayView1<'_, f64>, y: usize) -> [f64; 6] {
    let p_y = row[y];
    let mut entropy = 0.0;
    let mut mentr = -(1.0 - p_y) * safe_ln(p_y);
    let mut others = 0.0;
    let mut best = 0usize;
    for (i, &p) in row.iter().enumerate() {
        if p > 0.0 {
            entropy += p * p.ln();
        }
        if i != y {
            mentr -= p * safe_ln(1.0 - p);
            others += p;
        }
        if p > row[best] {
            best = i;
        }
    }
    let logit = (p_y + LOGIT_EPS).ln() - (others + LOGIT_EPS).ln();
    let correct = if best == y { 1.0 } else { 0.0 };
    [
        log_true_class(p_y, others),
        p_y,
        entropy,
        -mentr,
        logit,
        correct,
    ]
}

/// The signals of every record (rows of `probs`, true classes `labels`), in parallel.
pub fn signals(probs: ArrayView2<'_, f64>, labels: &[i64]) -> CoreResult<Signals> {
    check_probs(probs, labels, "probabilities")?;
    let rows: Vec<[f64; 6]> = (0..labels.len())
        .into_par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map(|i| row_signals(probs.row(i), labels[i] as usize))
        .collect();
    let mut out = Signals::default();
    for r in rows {
        out.loss.push(r[0]);
        out.confidence.push(r[1]);
        out.entropy.push(r[2]);
        out.modified_entropy.push(r[3]);
        out.logit.push(r[4]);
        out.correct.push(r[5] > 0.5);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn signals_of_a_known_row() {
        let p = array![[0.7, 0.2, 0.1]];
        let s = signals(p.view(), &[0]).unwrap();
        assert!((s.loss[0] - 0.7f64.ln()).abs() < 1e-15);
        assert_eq!(s.confidence[0], 0.7);
        let h: f64 = [0.7f64, 0.2, 0.1].iter().map(|p| p * p.ln()).sum();
        assert!((s.entropy[0] - h).abs() < 1e-15);
        let m = -(0.3 * 0.7f64.ln()) - 0.2 * 0.8f64.ln() - 0.1 * 0.9f64.ln();
        assert!((s.modified_entropy[0] + m).abs() < 1e-15);
        assert!((s.logit[0] - (0.7f64 / 0.3).ln()).abs() < 1e-12);
        assert!(s.correct[0]);
    }

    #[test]
    fn the_loss_of_a_sure_answer_comes_from_the_other_classes() {
        // 1 - 1e-20 rounds to 1.0: log(p_y) would be 0 for both rows, a tie; the other
        // classes still tell the two losses apart (log(1 - q) = -q to 1e-16 relative).
        let p = array![
            [1.0 - 1e-20, 1e-20],
            [1.0 - 1e-18, 1e-18],
            [1e-18, 1.0 - 1e-18]
        ];
        let s = signals(p.view(), &[0, 0, 1]).unwrap();
        assert_eq!(p[[0, 0]], 1.0);
        assert!((s.loss[0] / -1e-20 - 1.0).abs() < 1e-12, "{}", s.loss[0]);
        assert!((s.loss[1] / -1e-18 - 1.0).abs() < 1e-12, "{}", s.loss[1]);
        assert!((s.loss[2] / -1e-18 - 1.0).abs() < 1e-12, "{}", s.loss[2]);
        assert!(s.loss[0] > s.loss[1]);
        // Below 1/2: the log of the normalised probability, floored at 1e-30.
        let p = array![[0.25, 0.75], [0.0, 1.0], [0.3, 0.70001]];
        let s = signals(p.view(), &[0, 0, 0]).unwrap();
        assert!((s.loss[0] - 0.25f64.ln()).abs() < 1e-15);
        assert!((s.loss[1] - 1e-30f64.ln()).abs() < 1e-12);
        assert!((s.loss[2] - (0.3f64 / 1.00001).ln()).abs() < 1e-15);
        // Above 1/2, a row off 1 by rounding is normalised too.
        let p = array![[0.70001, 0.3]];
        let s = signals(p.view(), &[0]).unwrap();
        assert!((s.loss[0] - (0.70001f64 / 1.00001).ln()).abs() < 1e-15);
    }

    #[test]
    fn refuses_what_is_not_probabilities() {
        let p = array![[0.7, 0.7]];
        assert!(signals(p.view(), &[0]).is_err());
        let p = array![[f64::NAN, 1.0]];
        assert!(signals(p.view(), &[0]).is_err());
        let p = array![[0.5, 0.5]];
        assert!(signals(p.view(), &[2]).is_err());
        assert!(signals(p.view(), &[0, 1]).is_err());
    }
}
