//! Random-noise invariance: does the prediction survive random perturbations of a given
//! size? Not an attack that searches, but the baseline every robustness report starts
//! from (a model fooled by noise needs no adversary), and it works with models that only
//! give labels.
//!
//! Each sample gets `trials` noisy copies, every copy projected onto the constraints:
//!
//! * `Uniform`: every (scaled) feature moved by `U(-eps, eps)`: uniform in the L-inf ball;
//! * `Gaussian`: every (scaled) feature moved by `N(0, (eps / sqrt(d))^2)`, `d` the
//!   mutable features, so the typical norm is eps, then projected onto the L2 ball of
//!   radius eps;
//! * `Relative`: `x_j * (1 + U(-eps, eps))`, noise in proportion to each value (a
//!   measurement error of a given percentage); there is no ball, only the constraints.
//!
//! All samples and all trials go to the model together (the oracle splits them by
//! `batch_size`; very large requests are cut into rounds of whole trials to bound
//! memory). A sample succeeds when at least one copy is misclassified: its first such
//! copy is the adversarial example, confirmed by a fresh query. The share of copies whose
//! prediction changed (`changed / trials`) is what the report shows.

use ndarray::ArrayView2;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::common::{
    check_inputs, confirm, owned_rows, sample_rng, AttackOutcome, Budget, Requests,
};
use super::constraints::{Constraints, Norm};
use super::model::Oracle;
use crate::core::{CoreError, CoreResult};

/// The kind of noise (see the module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoiseKind {
    Uniform,
    Gaussian,
    Relative,
}

/// Settings of the noise test.
#[derive(Debug, Clone, PartialEq)]
pub struct NoiseParams {
    pub kind: NoiseKind,
    /// Size of the noise: the radius of the ball in scaled units, or the relative change.
    pub eps: f64,
    /// Noisy copies per sample.
    pub trials: u64,
    pub seed: u64,
}

/// The result of the noise test.
#[derive(Debug, Clone)]
pub struct NoiseOutcome {
    /// Per sample, the first misclassified copy (confirmed) where there was one.
    pub outcome: AttackOutcome,
    /// Per sample, the copies whose prediction differed from the label.
    pub changed: Vec<u64>,
    /// Per sample, the copies tried.
    pub trials: Vec<u64>,
}

/// Values held by one round's request at most (8 bytes each: 256 MiB).
const ROUND_VALUES: usize = 1 << 25;

/// Runs the noise test on every row of `x0` (see the module).
pub fn noise(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    p: &NoiseParams,
) -> CoreResult<NoiseOutcome> {
    check_inputs(oracle, x0, y, constraints, Some(p.eps))?;
    if p.trials == 0 {
        return Err(CoreError::invalid(
            "trials: expected at least 1 noisy copy per sample, got 0",
        ));
    }
    let x0 = owned_rows(x0);
    let (n, d) = x0.dim();
    let (eps, norm) = ball(p);
    let mut rngs: Vec<ChaCha8Rng> = (0..n).map(|i| sample_rng(p.seed, i)).collect();
    let mut budget = Budget::new(n, p.trials + 1);
    let mut changed = vec![0u64; n];
    let mut found = vec![false; n];
    let mut adversarial = x0.clone();
    let per_round = (ROUND_VALUES / (n * d).max(1)).max(1) as u64;
    let mut first = 0;
    while first < p.trials {
        let count = per_round.min(p.trials - first);
        let mut req = Requests::new(d);
        for (i, rng) in rngs.iter_mut().enumerate() {
            let orig = x0.row(i);
            let orig = orig.as_slice().expect("contiguous rows");
            for _ in 0..count {
                req.push(i, &noisy(orig, constraints, p, rng));
            }
        }
        let labels = oracle.labels(req.view())?;
        req.charge(&mut budget);
        for (k, (&i, &label)) in req.owners().iter().zip(&labels).enumerate() {
            if label != y[i] {
                changed[i] += 1;
                if !found[i] {
                    found[i] = true;
                    adversarial.row_mut(i).assign(&ndarray::aview1(req.row(k)));
                }
            }
        }
        first += count;
    }
    let outcome = confirm(
        oracle,
        x0.view(),
        y,
        adversarial,
        &found,
        budget,
        constraints,
        eps,
        norm,
    )?;
    Ok(NoiseOutcome {
        outcome,
        changed,
        trials: vec![p.trials; n],
    })
}

/// The ball the copies are projected onto (and confirmed in): none for relative noise.
fn ball(p: &NoiseParams) -> (f64, Norm) {
    match p.kind {
        NoiseKind::Uniform => (p.eps, Norm::Linf),
        NoiseKind::Gaussian => (p.eps, Norm::L2),
        NoiseKind::Relative => (f64::INFINITY, Norm::Linf),
    }
}

/// One noisy copy of `x0`, projected onto the constraints.
fn noisy(x0: &[f64], c: &Constraints, p: &NoiseParams, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mutable = c.mutable.iter().filter(|&&m| m).count().max(1);
    let std = p.eps / (mutable as f64).sqrt();
    let mut x: Vec<f64> = x0
        .iter()
        .zip(&c.scale)
        .map(|(&v, &s)| match p.kind {
            NoiseKind::Uniform => v + s * rng.gen_range(-p.eps..=p.eps),
            NoiseKind::Gaussian => v + s * std * rng.sample::<f64, _>(StandardNormal),
            NoiseKind::Relative => v * (1.0 + rng.gen_range(-p.eps..=p.eps)),
        })
        .collect();
    let (eps, norm) = ball(p);
    c.project(x0, &mut x, eps, norm);
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::progress::Progress;
    use crate::core::robustness::model::LabelFn;
    use crate::core::robustness::testkit::{check_outcome, gaussian, tabular_problem, Linear};
    use ndarray::Array2;

    /// Class 1 once feature 0 passes `at`; rows with feature 0 at `start`, class 0.
    fn threshold(n: usize, start: f64, at: f64) -> (Linear, Array2<f64>, Vec<usize>) {
        let model = Linear {
            w: vec![1.0, 0.0, 0.0, 0.0],
            b: -at,
        };
        let mut x0 = gaussian(n, 4, 5);
        x0.column_mut(0).fill(start);
        (model, x0, vec![0; n])
    }

    fn run(
        model: &Linear,
        x0: &Array2<f64>,
        y: &[usize],
        c: &Constraints,
        p: &NoiseParams,
        batch_size: usize,
    ) -> (NoiseOutcome, u64) {
        let progress = Progress::new();
        let mut m = model.model_within(Some(c.clone()));
        let mut oracle = Oracle::new(&mut m, batch_size, &progress);
        let out = noise(&mut oracle, x0.view(), y, c, p).unwrap();
        (out, oracle.calls)
    }

    fn share(out: &NoiseOutcome) -> f64 {
        out.changed.iter().sum::<u64>() as f64 / out.trials.iter().sum::<u64>() as f64
    }

    #[test]
    fn flips_beyond_the_threshold_only() {
        let c = Constraints::free(4);
        // (kind, start, threshold, eps that reaches it, eps that does not, expected share)
        let cases = [
            (NoiseKind::Uniform, 0.0, 0.5, 1.0, 0.4, 0.25),
            // N(0, 0.5^2) on feature 0 passes 0.5 one time in six (before the L2 ball).
            (NoiseKind::Gaussian, 0.0, 0.5, 1.0, 0.4, 0.16),
            (NoiseKind::Relative, 1.0, 1.5, 0.6, 0.4, 0.1 / 1.2),
        ];
        for (kind, start, at, far, near, expected) in cases {
            let (model, x0, y) = threshold(10, start, at);
            let p = |eps| NoiseParams {
                kind,
                eps,
                trials: 300,
                seed: 3,
            };
            let (out, calls) = run(&model, &x0, &y, &c, &p(far), 0);
            let (eps, norm) = ball(&p(far));
            check_outcome(&model, x0.view(), &y, &out.outcome, &c, eps, norm, 301);
            eprintln!(
                "noise {kind:?} eps {far}: share changed {:.3} (expected about {expected:.3}), \
                 {} of 10 flipped; {calls} calls",
                share(&out),
                out.outcome.success.iter().filter(|&&s| s).count()
            );
            assert!(out.outcome.success.iter().all(|&s| s));
            // The Gaussian share is lower than the unprojected one: the ball cuts tails.
            let tolerance = if kind == NoiseKind::Gaussian {
                0.08
            } else {
                0.04
            };
            assert!(
                (share(&out) - expected).abs() < tolerance,
                "{}",
                share(&out)
            );
            assert_eq!(calls, 2);
            assert!(out.outcome.queries.iter().all(|&q| q == 301));

            let (out, _) = run(&model, &x0, &y, &c, &p(near), 0);
            assert!(out.outcome.success.iter().all(|&s| !s));
            assert!(out.changed.iter().all(|&k| k == 0));
            assert!(out.outcome.queries.iter().all(|&q| q == 300));
            assert_eq!(out.outcome.adversarial, x0);
        }
    }

    #[test]
    fn constraints_hold_at_every_query() {
        let (model, x0, y, c) = tabular_problem(40);
        for kind in [NoiseKind::Uniform, NoiseKind::Gaussian, NoiseKind::Relative] {
            let p = NoiseParams {
                kind,
                eps: 1.0,
                trials: 50,
                seed: 1,
            };
            let (out, _) = run(&model, &x0, &y, &c, &p, 7);
            let (eps, norm) = ball(&p);
            check_outcome(&model, x0.view(), &y, &out.outcome, &c, eps, norm, 51);
            let found = out.outcome.success.iter().filter(|&&s| s).count();
            eprintln!(
                "noise tabular {kind:?}: {found} of 40, share {:.3}",
                share(&out)
            );
            assert!(found > 0);
        }
    }

    #[test]
    fn same_seed_same_result_whatever_the_batch_size() {
        let (model, x0, y) = threshold(12, 0.0, 0.5);
        let c = Constraints::free(4);
        let p = NoiseParams {
            kind: NoiseKind::Gaussian,
            eps: 1.0,
            trials: 40,
            seed: 9,
        };
        let (whole, calls_whole) = run(&model, &x0, &y, &c, &p, 0);
        let (split, calls_split) = run(&model, &x0, &y, &c, &p, 5);
        assert_eq!(whole.outcome.adversarial, split.outcome.adversarial);
        assert_eq!(whole.outcome.success, split.outcome.success);
        assert_eq!(whole.changed, split.changed);
        assert_eq!(calls_whole, 2);
        assert!(calls_split > 12 * 40 / 5);
    }

    #[test]
    fn works_with_labels_only_and_refuses_no_trials() {
        let progress = Progress::new();
        let (_, x0, y) = threshold(6, 0.0, 0.5);
        let c = Constraints::free(4);
        let mut labels = LabelFn(|x: ArrayView2<'_, f64>| {
            x.outer_iter().map(|r| i64::from(r[0] > 0.5)).collect()
        });
        let mut oracle = Oracle::new(&mut labels, 0, &progress);
        let mut p = NoiseParams {
            kind: NoiseKind::Uniform,
            eps: 1.0,
            trials: 100,
            seed: 0,
        };
        let out = noise(&mut oracle, x0.view(), &y, &c, &p).unwrap();
        assert!(out.outcome.success.iter().all(|&s| s));
        p.trials = 0;
        let err = noise(&mut oracle, x0.view(), &y, &c, &p).unwrap_err();
        assert!(err.to_string().contains("trials"));
    }
}
