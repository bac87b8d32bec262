//! The model under attack, as the core sees it, and the one way attacks query it.
//!
//! A `Model` maps a batch of rows (`n x d`, image inputs flattened by the binding layer)
//! to class scores (`n x k`, probabilities or logits) or to class labels. Attacks never
//! call it directly: they go through an `Oracle`, which
//!
//! * splits a request into batches of at most `batch_size` rows, so an attack can ask for
//!   every still-active sample at once;
//! * counts every call and every row sent;
//! * checks what comes back (shape, number of classes, NaN/infinite scores, labels out of
//!   range) and stops with a clear error instead of attacking garbage;
//! * stops when the caller cancels (Ctrl-C) and reports progress in rows.

use ndarray::{s, Array2, ArrayView2, Axis};

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// What a model returns for a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Scores `n x k` (probabilities or logits: attacks only compare them).
    Scores(Array2<f64>),
    /// Class indices in `0..k`.
    Labels(Vec<i64>),
}

/// A classifier: rows in, scores or labels out. Implemented by the binding layer for a
/// Python callable, and by plain Rust models in the tests.
pub trait Model: Send {
    fn predict(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output>;
}

/// A model given as a Rust closure returning scores (tests, benchmarks).
pub struct ScoreFn<F>(pub F);

impl<F> Model for ScoreFn<F>
where
    F: FnMut(ArrayView2<'_, f64>) -> Array2<f64> + Send,
{
    fn predict(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output> {
        Ok(Output::Scores((self.0)(x)))
    }
}

/// A model given as a Rust closure returning labels (tests of decision-based attacks).
pub struct LabelFn<F>(pub F);

impl<F> Model for LabelFn<F>
where
    F: FnMut(ArrayView2<'_, f64>) -> Vec<i64> + Send,
{
    fn predict(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output> {
        Ok(Output::Labels((self.0)(x)))
    }
}

/// The counted, checked, batched access to a model (see the module).
pub struct Oracle<'a> {
    model: &'a mut dyn Model,
    batch_size: usize,
    classes: Option<usize>,
    gives_scores: Option<bool>,
    progress: &'a Progress,
    /// Model calls made.
    pub calls: u64,
    /// Rows sent, over all calls.
    pub rows: u64,
}

impl<'a> Oracle<'a> {
    /// `batch_size` 0 means no limit (one call per request).
    pub fn new(model: &'a mut dyn Model, batch_size: usize, progress: &'a Progress) -> Self {
        Oracle {
            model,
            batch_size: if batch_size == 0 {
                usize::MAX
            } else {
                batch_size
            },
            classes: None,
            gives_scores: None,
            progress,
            calls: 0,
            rows: 0,
        }
    }

    /// The number of classes, once the model has answered.
    pub fn classes(&self) -> Option<usize> {
        self.classes
    }

    /// Whether the model gives scores (`Some(false)`: labels only), once it has answered.
    pub fn gives_scores(&self) -> Option<bool> {
        self.gives_scores
    }

    /// Fixes the number of classes (from the labels `y`, say) before the first call: a
    /// label-only model cannot tell it.
    pub fn expect_classes(&mut self, k: usize) {
        self.classes = Some(self.classes.map_or(k, |c| c.max(k)));
    }

    fn call(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output> {
        self.progress.check()?;
        let n = x.nrows();
        let out = self.model.predict(x)?;
        self.calls += 1;
        self.rows += n as u64;
        self.progress.advance(n as u64);
        match &out {
            Output::Scores(s) => {
                if s.nrows() != n {
                    return Err(CoreError::Model(format!(
                        "the model returned {} rows of scores for {n} input rows",
                        s.nrows()
                    )));
                }
                let k = s.ncols();
                if k < 2 {
                    return Err(CoreError::Model(format!(
                        "the model returned {k} score column{} per row; a classifier needs \
                         at least 2 (one per class)",
                        if k == 1 { "" } else { "s" }
                    )));
                }
                if let Some(c) = self.classes.filter(|&c| c != k) {
                    if self.gives_scores == Some(true) || k < c {
                        return Err(CoreError::Model(format!(
                            "the model returned {k} score columns where {c} classes are expected"
                        )));
                    }
                }
                if let Some((i, _)) = s
                    .axis_iter(Axis(0))
                    .enumerate()
                    .find(|(_, row)| row.iter().any(|v| !v.is_finite()))
                {
                    return Err(CoreError::Model(format!(
                        "the model returned NaN or infinite scores (row {i} of a batch of {n})"
                    )));
                }
                self.classes = Some(k);
                self.gives_scores = Some(true);
            }
            Output::Labels(l) => {
                if l.len() != n {
                    return Err(CoreError::Model(format!(
                        "the model returned {} labels for {n} input rows",
                        l.len()
                    )));
                }
                let k = self.classes.unwrap_or(usize::MAX);
                if let Some(bad) = l.iter().find(|&&v| v < 0 || v as usize >= k) {
                    return Err(CoreError::Model(format!(
                        "the model returned label {bad}, outside the classes 0..{k}"
                    )));
                }
                self.gives_scores = Some(false);
            }
        }
        Ok(out)
    }

    /// The model's output for every row of `x`, in batches of at most `batch_size`.
    pub fn predict(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output> {
        let n = x.nrows();
        if n == 0 {
            return Ok(Output::Labels(Vec::new()));
        }
        if n <= self.batch_size {
            return self.call(x);
        }
        let mut scores: Option<Array2<f64>> = None;
        let mut labels: Vec<i64> = Vec::new();
        let mut start = 0;
        while start < n {
            let end = (start + self.batch_size).min(n);
            match self.call(x.slice(s![start..end, ..]))? {
                Output::Scores(part) => {
                    let all = scores.get_or_insert_with(|| Array2::zeros((n, part.ncols())));
                    all.slice_mut(s![start..end, ..]).assign(&part);
                }
                Output::Labels(part) => labels.extend(part),
            }
            start = end;
        }
        Ok(match scores {
            Some(s) => Output::Scores(s),
            None => Output::Labels(labels),
        })
    }

    /// Predicted class of every row.
    pub fn labels(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Vec<usize>> {
        Ok(match self.predict(x)? {
            Output::Scores(s) => s.axis_iter(Axis(0)).map(|r| argmax(r.iter())).collect(),
            Output::Labels(l) => l.into_iter().map(|v| v as usize).collect(),
        })
    }

    /// Scores of every row; an error for a model that only gives labels.
    pub fn scores(&mut self, x: ArrayView2<'_, f64>, attack: &str) -> CoreResult<Array2<f64>> {
        if self.gives_scores == Some(false) {
            return Err(label_only(attack));
        }
        match self.predict(x)? {
            Output::Scores(s) => Ok(s),
            Output::Labels(l) if l.is_empty() => Ok(Array2::zeros((0, 0))),
            Output::Labels(_) => Err(label_only(attack)),
        }
    }
}

fn label_only(attack: &str) -> CoreError {
    CoreError::invalid(format!(
        "attack {attack:?} needs class scores, but the model gives labels only (predict); \
         pass a callable returning scores or an object with predict_proba, or use a \
         decision-based attack (hop_skip_jump, noise)"
    ))
}

/// Index of the largest value (the first one on ties).
pub fn argmax<'a>(values: impl Iterator<Item = &'a f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, &v) in values.enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

/// The margin `score[label] - max_{j != label} score[j]`: negative once misclassified.
pub fn margin(scores: &[f64], label: usize) -> f64 {
    let other = scores
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != label)
        .map(|(_, &v)| v)
        .fold(f64::NEG_INFINITY, f64::max);
    scores[label] - other
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn batches_counts_and_checks() {
        let mut model = ScoreFn(|x: ArrayView2<'_, f64>| {
            let mut s = Array2::zeros((x.nrows(), 2));
            for (i, row) in x.axis_iter(Axis(0)).enumerate() {
                s[[i, 1]] = row[0];
            }
            s
        });
        let progress = Progress::new();
        let mut o = Oracle::new(&mut model, 2, &progress);
        let x = array![[1.0], [-1.0], [2.0], [-3.0], [0.5]];
        assert_eq!(o.labels(x.view()).unwrap(), vec![1, 0, 1, 0, 1]);
        assert_eq!((o.calls, o.rows, o.classes()), (3, 5, Some(2)));
    }

    #[test]
    fn bad_outputs_are_errors() {
        let progress = Progress::new();
        let mut nan = ScoreFn(|x: ArrayView2<'_, f64>| Array2::from_elem((x.nrows(), 2), f64::NAN));
        let err = Oracle::new(&mut nan, 0, &progress)
            .labels(array![[1.0]].view())
            .unwrap_err();
        assert!(err.to_string().contains("NaN"));
        let mut short = ScoreFn(|_x: ArrayView2<'_, f64>| Array2::zeros((1, 2)));
        let err = Oracle::new(&mut short, 0, &progress)
            .labels(array![[1.0], [2.0]].view())
            .unwrap_err();
        assert!(err.to_string().contains("1 rows of scores for 2"));
        let mut one = ScoreFn(|x: ArrayView2<'_, f64>| Array2::zeros((x.nrows(), 1)));
        assert!(Oracle::new(&mut one, 0, &progress)
            .labels(array![[1.0]].view())
            .is_err());
        let mut labels = LabelFn(|x: ArrayView2<'_, f64>| vec![5; x.nrows()]);
        let mut o = Oracle::new(&mut labels, 0, &progress);
        o.expect_classes(2);
        assert!(o
            .labels(array![[1.0]].view())
            .unwrap_err()
            .to_string()
            .contains("label 5"));
        assert!(o.scores(array![[1.0]].view(), "square").is_err());
    }

    #[test]
    fn margin_and_argmax() {
        assert_eq!(margin(&[0.2, 0.5, 0.3], 1), 0.2);
        assert!(margin(&[0.6, 0.4], 1) < 0.0);
        assert_eq!(argmax([1.0, 3.0, 3.0].iter()), 1);
    }
}
