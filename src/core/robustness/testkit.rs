//! Models with known answers for the attack tests: a linear classifier with scores
//! `[0, w.x + b]`, whose smallest adversarial perturbation is `|w.x + b| / ||w||_1` in
//! L-inf and `|w.x + b| / ||w||_2` in L2 (the dual norms), and helpers to check outcomes.

use ndarray::{Array2, ArrayView2, Axis};
use rand::Rng;
use rand_distr::StandardNormal;

use super::common::{sample_rng, AttackOutcome};
use super::constraints::{Constraints, Norm};
use super::model::ScoreFn;

/// A linear binary classifier: class 1 where `w.x + b > 0`.
#[derive(Debug, Clone)]
pub struct Linear {
    pub w: Vec<f64>,
    pub b: f64,
}

impl Linear {
    pub fn value(&self, x: &[f64]) -> f64 {
        self.w.iter().zip(x).map(|(a, b)| a * b).sum::<f64>() + self.b
    }

    pub fn label(&self, x: &[f64]) -> usize {
        usize::from(self.value(x) > 0.0)
    }

    pub fn labels(&self, x: ArrayView2<'_, f64>) -> Vec<usize> {
        x.outer_iter().map(|r| self.label(&r.to_vec())).collect()
    }

    /// The smallest perturbation (unit scale) that reaches the decision boundary.
    pub fn distance(&self, x: &[f64], norm: Norm) -> f64 {
        let dual = match norm {
            Norm::Linf => self.w.iter().map(|v| v.abs()).sum::<f64>(),
            Norm::L2 => self.w.iter().map(|v| v * v).sum::<f64>().sqrt(),
        };
        self.value(x).abs() / dual
    }

    /// The model as the oracle sees it.
    pub fn model(&self) -> ScoreFn<impl FnMut(ArrayView2<'_, f64>) -> Array2<f64> + Send> {
        self.model_within(None)
    }

    /// The model, panicking if it is asked about a row outside the bounds, integer and
    /// one-hot rules of `c` (attacks that project every row they send).
    pub fn model_within(
        &self,
        c: Option<Constraints>,
    ) -> ScoreFn<impl FnMut(ArrayView2<'_, f64>) -> Array2<f64> + Send> {
        let me = self.clone();
        ScoreFn(move |x: ArrayView2<'_, f64>| {
            if let Some(c) = &c {
                c.check_rows(x)
                    .expect("the model is only asked about valid rows");
            }
            let mut s = Array2::zeros((x.nrows(), 2));
            for (i, row) in x.axis_iter(Axis(0)).enumerate() {
                s[[i, 1]] = me.value(&row.to_vec());
            }
            s
        })
    }
}

/// Standard normal values, `n x d`, from `seed`.
pub fn gaussian(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = sample_rng(seed, usize::MAX);
    Array2::from_shape_fn((n, d), |_| rng.sample(StandardNormal))
}

/// A linear model with Gaussian weights on `d` features and `n` Gaussian rows labelled
/// by it.
pub fn linear_problem(n: usize, d: usize, seed: u64) -> (Linear, Array2<f64>, Vec<usize>) {
    let model = Linear {
        w: gaussian(1, d, seed).into_raw_vec_and_offset().0,
        b: 0.1,
    };
    let x = gaussian(n, d, seed + 1);
    let y = model.labels(x.view());
    (model, x, y)
}

/// A tabular problem of 8 features: 0 bounded to [-1, 1], 1 immutable (and the most
/// useful to the attacker), 2 integer, 3..6 one-hot, 6 and 7 free, 7 in units of 2.
pub fn tabular_problem(n: usize) -> (Linear, Array2<f64>, Vec<usize>, Constraints) {
    let mut c = Constraints::free(8);
    c.lower[0] = -1.0;
    c.upper[0] = 1.0;
    c.mutable[1] = false;
    c.integer[2] = true;
    c.groups = vec![vec![3, 4, 5]];
    c.scale[7] = 2.0;
    let mut x = gaussian(n, 8, 11);
    for (i, mut row) in x.outer_iter_mut().enumerate() {
        row[0] = row[0].clamp(-1.0, 1.0);
        row[2] = (2.0 * row[2]).round();
        for j in 3..6 {
            row[j] = if j - 3 == i % 3 { 1.0 } else { 0.0 };
        }
    }
    let model = Linear {
        w: vec![1.0, 5.0, 0.7, 0.5, -0.5, 0.2, 1.0, 0.4],
        b: -0.3,
    };
    let y = model.labels(x.view());
    (model, x, y, c)
}

/// The median of the exact distances of the rows of `x`.
pub fn median_distance(model: &Linear, x: ArrayView2<'_, f64>, norm: Norm) -> f64 {
    let mut d: Vec<f64> = x
        .outer_iter()
        .map(|r| model.distance(&r.to_vec(), norm))
        .collect();
    d.sort_by(f64::total_cmp);
    d[d.len() / 2]
}

/// Success rates among the samples whose exact distance is below `below * eps` and among
/// those above `eps`, with their counts: `(rate_below, n_below, rate_above, n_above)`.
pub fn rates(
    model: &Linear,
    x0: ArrayView2<'_, f64>,
    out: &AttackOutcome,
    norm: Norm,
    eps: f64,
    below: f64,
) -> (f64, usize, f64, usize) {
    let (mut hit_in, mut n_in, mut hit_out, mut n_out) = (0, 0, 0, 0);
    for (i, row) in x0.outer_iter().enumerate() {
        let dist = model.distance(&row.to_vec(), norm);
        if dist < below * eps {
            n_in += 1;
            hit_in += usize::from(out.success[i]);
        } else if dist > eps {
            n_out += 1;
            hit_out += usize::from(out.success[i]);
        }
    }
    let rate = |hit: usize, n: usize| hit as f64 / n.max(1) as f64;
    (rate(hit_in, n_in), n_in, rate(hit_out, n_out), n_out)
}

/// Every success is feasible and misclassified by `model`; every failure is the original
/// row; no sample went over `max_queries` rows.
#[allow(clippy::too_many_arguments)]
pub fn check_outcome(
    model: &Linear,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    out: &AttackOutcome,
    c: &Constraints,
    eps: f64,
    norm: Norm,
    max_queries: u64,
) {
    for (i, orig) in x0.outer_iter().enumerate() {
        let orig = orig.to_vec();
        let adv = out.adversarial.row(i).to_vec();
        if out.success[i] {
            assert!(c.feasible(&orig, &adv, eps, norm), "sample {i} infeasible");
            assert_ne!(model.label(&adv), y[i], "sample {i} not misclassified");
        } else {
            assert_eq!(orig, adv, "failed sample {i} must keep its row");
        }
        assert!(
            out.queries[i] <= max_queries,
            "sample {i}: {} rows",
            out.queries[i]
        );
    }
}
