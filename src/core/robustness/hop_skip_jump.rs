//! HopSkipJump: the decision-based attack of Chen, Jordan & Wainwright, "HopSkipJumpAttack:
//! A Query-Efficient Decision-Based Attack" (IEEE Symposium on Security and Privacy 2020),
//! untargeted, for L2 and L-inf. It needs the model's labels only.
//!
//! From an adversarial starting point it walks along the decision boundary towards the
//! original row `x0`, repeating the steps of the paper's Algorithm 1:
//!
//! 1. a binary search between `x0` and the adversarial point puts it on the boundary, to
//!    within `theta = gamma / d^(3/2)` (L2) or `gamma / d^2` (L-inf) of the segment;
//! 2. the direction of the boundary's normal is estimated from the labels of
//!    `min(init_eval * sqrt(t), max_eval)` random points on a sphere of radius `delta`
//!    around the boundary point, with the share of adversarial labels as baseline;
//! 3. a step of `dist / sqrt(t)` along that direction (L2) or its sign (L-inf), halved
//!    until the point is adversarial again (the geometric progression), and back to 1.
//!
//! The first iteration samples at `delta = 0.1 * range`, the later ones at
//! `delta = sqrt(d) * theta * dist` (L2) or `d * theta * dist` (L-inf).
//!
//! Everything is measured in the scaled coordinates of `Constraints` (`(x - x0) / scale`),
//! `d` counts the mutable features, and every point is projected onto the constraints
//! before it is queried, so the walk stays among valid rows.
//!
//! Every sample is a small state machine (`Phase`). Each round asks every active sample for
//! the rows of its next step (a whole gradient estimate, one binary-search point or one
//! step-size trial), sends all of them in one oracle call, and hands the labels back, so
//! samples in different phases share calls and the number of calls is that of the slowest
//! sample, not the sum over samples. A sample first queries `x0` itself (a row already
//! misclassified is its own adversarial), keeps one row of its budget for the final
//! confirmation, and shortens its last gradient estimate so that the step and the binary
//! search after it still fit; when the budget runs out it stops with its best point.
//!
//! Where this differs from the paper (and from IBM ART, which follows it):
//!
//! * the binary-search threshold is relative to the segment for L-inf as for L2 (ART uses
//!   `min(theta * dist, theta)` for L-inf, absolute once the distance exceeds 1, which
//!   assumes inputs in `[0, 1]`);
//! * the first `delta` is a tenth of the root-mean-square scaled range of the mutable
//!   features (ART: of `clip_max - clip_min`), and never more than a tenth of the first
//!   boundary distance, which is all there is where a feature is unbounded;
//! * starting points are drawn uniformly within the bounds, and around `x0` with Gaussian
//!   noise of `2^attempt` scaled units where a feature is unbounded (the paper assumes a
//!   bounded input domain);
//! * `d` in `theta` and `delta` counts the mutable features only (the dimension the walk
//!   can move in; the paper's input dimension where every feature may change);
//! * the step-size search gives up after `MAX_HALVINGS` halvings (the paper halves until
//!   it succeeds, which the projection onto the constraints could prevent);
//! * the last binary search (after the step of iteration `max_iter`) halves `FINAL_HALVINGS`
//!   times more, to `theta / 2^FINAL_HALVINGS`: the distance returned is then that of the
//!   boundary point to within a hundredth of `theta` (ART returns the point after the last
//!   step, not searched again, about a third farther than the boundary on a linear model;
//!   `theta` alone leaves up to `theta` of the segment, about 1% in 20 dimensions, of
//!   noise on every distance, which blurs a ranking of records by distance).

use std::ops::Range;

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::common::{self, confirm, owned_rows, sample_rng, sign, AttackOutcome, Budget, Requests};
use super::constraints::{Constraints, Norm};
use super::model::Oracle;
use crate::core::{CoreError, CoreResult};

/// The parameters of HopSkipJump (defaults: the paper's and ART's).
#[derive(Debug, Clone, PartialEq)]
pub struct HsjParams {
    pub norm: Norm,
    /// Iterations of estimate, step and binary search.
    pub max_iter: usize,
    /// Most rows of one gradient estimate.
    pub max_eval: usize,
    /// Rows of the first gradient estimate (then `init_eval * sqrt(t)`).
    pub init_eval: usize,
    /// Random starting points tried before a sample counts as a failure.
    pub init_size: usize,
    /// Sets the binary-search threshold `theta`.
    pub gamma: f64,
    /// Rows per sample, the final confirmation included.
    pub max_queries: u64,
    pub seed: u64,
}

impl Default for HsjParams {
    fn default() -> Self {
        HsjParams {
            norm: Norm::L2,
            max_iter: 50,
            max_eval: 10_000,
            init_eval: 100,
            init_size: 100,
            gamma: 1.0,
            max_queries: u64::MAX,
            seed: 0,
        }
    }
}

/// Halvings of the step size after which a sample stops (the step is then a billionth of
/// the distance: the boundary point cannot be moved).
const MAX_HALVINGS: usize = 30;

/// Halvings of the last binary search beyond `theta` (a few rows per sample).
const FINAL_HALVINGS: u32 = 7;

/// Attacks every row of x0 (all correctly classified as y by the caller's contract; a row
/// already misclassified is returned as its own adversarial with success). Returns each
/// sample's smallest adversarial perturbation found (measured with `constraints.distance`
/// in `p.norm`), confirmed by a fresh model call.
pub fn hop_skip_jump(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    p: &HsjParams,
) -> CoreResult<AttackOutcome> {
    check_params(oracle, x0, y, constraints, p)?;
    let x0 = owned_rows(x0);
    let row = |i: usize| x0.row(i).to_slice().expect("contiguous rows");
    let n = x0.nrows();
    let setup = Setup::new(constraints, p);
    let mut samples: Vec<Sample> = (0..n).map(|i| Sample::new(sample_rng(p.seed, i))).collect();
    let mut budget = Budget::new(n, p.max_queries);
    loop {
        let mut req = Requests::new(x0.ncols());
        for (i, sample) in samples.iter_mut().enumerate() {
            sample.ask(i, row(i), budget.left(i), &setup, &mut req);
        }
        if req.is_empty() {
            break;
        }
        let labels = oracle.labels(req.view())?;
        req.charge(&mut budget);
        for (i, sample) in samples.iter_mut().enumerate() {
            sample.answer(row(i), y[i], &req, &labels, &setup);
        }
    }
    let (adversarial, found) = best_points(&samples, &x0);
    confirm(
        oracle,
        x0.view(),
        y,
        adversarial,
        &found,
        budget,
        constraints,
        f64::INFINITY,
        p.norm,
    )
}

/// Each sample's best adversarial point (its original row where it has none), and
/// whether it has one.
fn best_points(samples: &[Sample], x0: &Array2<f64>) -> (Array2<f64>, Vec<bool>) {
    let mut adversarial = x0.clone();
    for (i, sample) in samples.iter().enumerate() {
        if let Some(best) = &sample.best {
            adversarial
                .row_mut(i)
                .assign(&ArrayView1::from(best.point.as_slice()));
        }
    }
    (
        adversarial,
        samples.iter().map(|s| s.best.is_some()).collect(),
    )
}

/// The checks of every attack, then HopSkipJump's own parameters.
fn check_params(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    p: &HsjParams,
) -> CoreResult<()> {
    common::check_inputs(oracle, x0, y, constraints, None)?;
    if !(p.gamma.is_finite() && p.gamma > 0.0) {
        return Err(CoreError::invalid(format!(
            "gamma: expected a positive number, got {}",
            p.gamma
        )));
    }
    if p.init_eval == 0 || p.max_eval == 0 {
        return Err(CoreError::invalid(format!(
            "init_eval and max_eval: expected at least 1 row per gradient estimate, got {} \
             and {}",
            p.init_eval, p.max_eval
        )));
    }
    Ok(())
}

/// What every sample shares: the constraints, the parameters and the quantities derived
/// from them.
struct Setup<'a> {
    c: &'a Constraints,
    p: &'a HsjParams,
    /// Mutable features: the dimension `d` of the search (at least 1 in the formulas).
    mutable: usize,
    theta: f64,
    /// Rows of one binary search (halvings of `[0, 1]` down to `theta`).
    search_steps: u64,
    /// Threshold of the last binary search.
    final_theta: f64,
    /// Root-mean-square range of the mutable features in scaled units (infinite where
    /// one is unbounded).
    range: f64,
}

impl<'a> Setup<'a> {
    fn new(c: &'a Constraints, p: &'a HsjParams) -> Self {
        let mutable = c.mutable.iter().filter(|&&m| m).count();
        let d = mutable.max(1) as f64;
        let theta = match p.norm {
            Norm::L2 => p.gamma / d.powf(1.5),
            Norm::Linf => p.gamma / (d * d),
        };
        let mut search_steps = 0;
        let mut width = 1.0;
        while width > theta {
            width /= 2.0;
            search_steps += 1;
        }
        let squares: f64 = (0..c.features())
            .filter(|&j| c.mutable[j])
            .map(|j| ((c.upper[j] - c.lower[j]) / c.scale[j]).powi(2))
            .sum();
        Setup {
            c,
            p,
            mutable,
            theta,
            search_steps,
            final_theta: theta / 2f64.powi(FINAL_HALVINGS as i32),
            range: (squares / d).sqrt(),
        }
    }

    fn dim(&self) -> f64 {
        self.mutable.max(1) as f64
    }

    fn num_eval(&self, t: usize) -> u64 {
        let rows = (self.p.init_eval as f64 * (t as f64).sqrt()) as usize;
        rows.min(self.p.max_eval) as u64
    }

    /// Radius of the sphere the gradient estimate samples, for iteration `t` at a
    /// boundary point at `dist` from `x0`.
    fn delta(&self, t: usize, dist: f64) -> f64 {
        if t == 1 {
            return 0.1 * self.range.min(dist);
        }
        match self.p.norm {
            Norm::L2 => self.dim().sqrt() * self.theta * dist,
            Norm::Linf => self.dim() * self.theta * dist,
        }
    }

    fn distance(&self, x0: &[f64], x: &[f64]) -> f64 {
        self.c.distance(x0, x, self.p.norm)
    }

    fn project(&self, x0: &[f64], mut x: Vec<f64>) -> Vec<f64> {
        self.c.project(x0, &mut x, f64::INFINITY, self.p.norm);
        x
    }

    /// A random starting point: uniform within finite bounds, Gaussian around `x0` with
    /// a standard deviation of `2^attempt` scaled units along unbounded features, so that
    /// the search widens until it reaches another class.
    fn random_start(&self, x0: &[f64], attempt: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let sigma = 2f64.powi(attempt.min(1023) as i32);
        let x = (0..x0.len())
            .map(|j| {
                let (lo, hi) = (self.c.lower[j], self.c.upper[j]);
                if lo.is_finite() && hi.is_finite() {
                    lo + (hi - lo) * rng.gen::<f64>()
                } else {
                    let z: f64 = rng.sample(StandardNormal);
                    x0[j] + sigma * self.c.scale[j] * z
                }
            })
            .collect();
        self.project(x0, x)
    }

    /// A point at `delta` from `boundary` in a uniformly random direction of the mutable
    /// features (immutable ones would only be projected back).
    fn around(&self, x0: &[f64], boundary: &[f64], delta: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let u: Vec<f64> = (0..x0.len())
            .map(|j| {
                if self.c.mutable[j] {
                    rng.sample(StandardNormal)
                } else {
                    0.0
                }
            })
            .collect();
        let length = Norm::L2.of(u.iter().copied()).max(f64::MIN_POSITIVE);
        let x = (0..x0.len())
            .map(|j| boundary[j] + delta * self.c.scale[j] * u[j] / length)
            .collect();
        self.project(x0, x)
    }

    /// The point at `alpha` in `[0, 1]` of the way from `x0` to `search.far`: on the
    /// segment for L2, `far` clipped to the L-inf ball of `alpha` times its distance for
    /// L-inf.
    fn between(&self, x0: &[f64], search: &Search, alpha: f64) -> Vec<f64> {
        let far = &search.far;
        let x = match self.p.norm {
            Norm::L2 => (0..x0.len())
                .map(|j| x0[j] + alpha * (far[j] - x0[j]))
                .collect(),
            Norm::Linf => (0..x0.len())
                .map(|j| {
                    let r = alpha * search.radius * self.c.scale[j];
                    far[j].clamp(x0[j] - r, x0[j] + r)
                })
                .collect(),
        };
        self.project(x0, x)
    }

    /// The step direction from the labels of the points around `boundary` (the paper's
    /// Monte-Carlo estimate with the mean label as baseline), as a unit L2 vector for L2
    /// and a sign vector for L-inf, in scaled units; `None` when it vanishes.
    fn direction<'r>(
        &self,
        boundary: &[f64],
        points: impl Iterator<Item = &'r [f64]>,
        adversarial: &[bool],
    ) -> Option<Vec<f64>> {
        let phi = |a: bool| if a { 1.0 } else { -1.0 };
        let mean = adversarial.iter().map(|&a| phi(a)).sum::<f64>() / adversarial.len() as f64;
        let mut grad = vec![0.0; boundary.len()];
        for (x, &a) in points.zip(adversarial) {
            // With every label alike the baseline would cancel everything: the paper
            // then takes the mean direction, signed by the label.
            let weight = if mean.abs() == 1.0 {
                mean
            } else {
                phi(a) - mean
            };
            // The displacement actually queried, after the projection.
            for j in 0..grad.len() {
                grad[j] += weight * (x[j] - boundary[j]) / self.c.scale[j];
            }
        }
        let length = Norm::L2.of(grad.iter().copied());
        if !(length > 0.0 && length.is_finite()) {
            return None;
        }
        Some(match self.p.norm {
            Norm::L2 => grad.iter().map(|g| g / length).collect(),
            Norm::Linf => grad.iter().map(|&g| sign(g)).collect(),
        })
    }

    /// `from + xi * direction` (direction in scaled units), projected.
    fn step(&self, x0: &[f64], from: &[f64], direction: &[f64], xi: f64) -> Vec<f64> {
        let x = (0..x0.len())
            .map(|j| from[j] + xi * self.c.scale[j] * direction[j])
            .collect();
        self.project(x0, x)
    }
}

/// A binary search between `x0` (not adversarial, at 0) and `far` (adversarial, at 1).
#[derive(Debug, Clone)]
struct Search {
    far: Vec<f64>,
    /// Scaled L-inf distance of `far` (the clipping radius at 1).
    radius: f64,
    low: f64,
    high: f64,
    /// The search ends once `high - low` is at most this.
    threshold: f64,
}

impl Search {
    fn new(x0: &[f64], far: Vec<f64>, threshold: f64, s: &Setup<'_>) -> Self {
        let radius = s.c.distance(x0, &far, Norm::Linf);
        Search {
            far,
            radius,
            low: 0.0,
            high: 1.0,
            threshold,
        }
    }

    fn mid(&self) -> f64 {
        0.5 * (self.low + self.high)
    }
}

/// Where a sample is in the attack.
#[derive(Debug, Clone)]
enum Phase {
    /// Is `x0` already misclassified?
    Check,
    /// Random starting points, the next one being number `attempt`.
    Init {
        attempt: usize,
    },
    /// Binary search towards `x0` (after the start and after every step).
    Search(Search),
    /// The gradient-direction estimate at the boundary point.
    Estimate,
    /// The geometric step-size search along `direction`, trying `xi` next.
    Step {
        direction: Vec<f64>,
        xi: f64,
        halvings: usize,
    },
    Done,
}

/// The smallest adversarial point found so far.
#[derive(Debug, Clone)]
struct Best {
    point: Vec<f64>,
    distance: f64,
}

/// One sample's attack.
struct Sample {
    rng: ChaCha8Rng,
    phase: Phase,
    /// Its rows in this round's requests.
    rows: Range<usize>,
    /// The iteration `t` of the paper (1 once the first boundary point is found).
    t: usize,
    /// The current adversarial point near the boundary, and its distance once settled.
    boundary: Vec<f64>,
    dist: f64,
    best: Option<Best>,
}

impl Sample {
    fn new(rng: ChaCha8Rng) -> Self {
        Sample {
            rng,
            phase: Phase::Check,
            rows: 0..0,
            t: 0,
            boundary: Vec::new(),
            dist: 0.0,
            best: None,
        }
    }

    /// Adds this round's rows to `req` (none once done), with `left` rows of budget.
    fn ask(&mut self, owner: usize, x0: &[f64], left: u64, s: &Setup<'_>, req: &mut Requests) {
        let start = req.len();
        // One row stays for the final confirmation.
        let available = left.saturating_sub(1);
        while let Some(next) = self.push_rows(owner, x0, available, s, req) {
            self.phase = next;
        }
        self.rows = start..req.len();
    }

    /// Pushes the rows of the current phase, or returns the phase to move to first.
    fn push_rows(
        &mut self,
        owner: usize,
        x0: &[f64],
        available: u64,
        s: &Setup<'_>,
        req: &mut Requests,
    ) -> Option<Phase> {
        let needed = match &self.phase {
            Phase::Done => return None,
            Phase::Search(search) if search.high - search.low <= search.threshold => {
                return Some(self.settle(x0, s));
            }
            Phase::Init { attempt } if *attempt >= s.p.init_size || s.mutable == 0 => {
                return Some(Phase::Done);
            }
            Phase::Step { halvings, .. } if *halvings > MAX_HALVINGS => {
                return Some(Phase::Done);
            }
            // Room is left for the step and the binary search that follow.
            Phase::Estimate => {
                let last = if self.t >= s.p.max_iter {
                    u64::from(FINAL_HALVINGS)
                } else {
                    0
                };
                s.num_eval(self.t)
                    .min(available.saturating_sub(1 + s.search_steps + last))
            }
            _ => 1,
        };
        if needed == 0 || needed > available {
            return Some(Phase::Done);
        }
        match &self.phase {
            Phase::Check => req.push(owner, x0),
            Phase::Init { attempt } => {
                req.push(owner, &s.random_start(x0, *attempt, &mut self.rng));
            }
            Phase::Search(search) => req.push(owner, &s.between(x0, search, search.mid())),
            Phase::Estimate => {
                let delta = s.delta(self.t, self.dist);
                for _ in 0..needed {
                    req.push(owner, &s.around(x0, &self.boundary, delta, &mut self.rng));
                }
            }
            Phase::Step { direction, xi, .. } => {
                req.push(owner, &s.step(x0, &self.boundary, direction, *xi));
            }
            Phase::Done => {}
        }
        None
    }

    /// The boundary point is settled: the next iteration, or the end.
    fn settle(&mut self, x0: &[f64], s: &Setup<'_>) -> Phase {
        self.dist = s.distance(x0, &self.boundary);
        self.t += 1;
        if self.t > s.p.max_iter || self.dist <= 0.0 {
            Phase::Done
        } else {
            Phase::Estimate
        }
    }

    /// Reads this round's labels and moves on.
    fn answer(&mut self, x0: &[f64], y: usize, req: &Requests, labels: &[usize], s: &Setup<'_>) {
        if self.rows.is_empty() {
            return;
        }
        let rows = self.rows.clone();
        let adversarial: Vec<bool> = labels[rows.clone()].iter().map(|&l| l != y).collect();
        for (k, &a) in rows.clone().zip(&adversarial) {
            if a {
                self.keep_if_best(x0, req.row(k), s);
            }
        }
        let first = req.row(rows.start);
        self.phase = match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Check if adversarial[0] => Phase::Done,
            Phase::Check => Phase::Init { attempt: 0 },
            Phase::Init { .. } if adversarial[0] => self.search_from(x0, first, s),
            Phase::Init { attempt } => Phase::Init {
                attempt: attempt + 1,
            },
            Phase::Search(mut search) => {
                let mid = search.mid();
                if adversarial[0] {
                    search.high = mid;
                    self.boundary = first.to_vec();
                } else {
                    search.low = mid;
                }
                Phase::Search(search)
            }
            Phase::Estimate => {
                let points = rows.map(|k| req.row(k));
                match s.direction(&self.boundary, points, &adversarial) {
                    Some(direction) => Phase::Step {
                        direction,
                        xi: self.dist / (self.t as f64).sqrt(),
                        halvings: 0,
                    },
                    None => Phase::Done,
                }
            }
            Phase::Step { .. } if adversarial[0] => self.search_from(x0, first, s),
            Phase::Step {
                direction,
                xi,
                halvings,
            } => Phase::Step {
                direction,
                xi: xi / 2.0,
                halvings: halvings + 1,
            },
            Phase::Done => Phase::Done,
        };
    }

    /// A binary search from the adversarial point `far`, which is the boundary point
    /// until the search finds a nearer one.
    fn search_from(&mut self, x0: &[f64], far: &[f64], s: &Setup<'_>) -> Phase {
        self.boundary = far.to_vec();
        // The search after the last step (or after the start, without iterations) is the
        // last one: it goes finer.
        let threshold = if self.t >= s.p.max_iter {
            s.final_theta
        } else {
            s.theta
        };
        Phase::Search(Search::new(x0, far.to_vec(), threshold, s))
    }

    fn keep_if_best(&mut self, x0: &[f64], x: &[f64], s: &Setup<'_>) {
        let distance = s.distance(x0, x);
        if self.best.as_ref().is_none_or(|b| distance < b.distance) {
            self.best = Some(Best {
                point: x.to_vec(),
                distance,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::progress::Progress;
    use crate::core::robustness::model::{LabelFn, Model, ScoreFn};
    use ndarray::{Array1, Array2, Axis};
    use rand::SeedableRng;

    /// A linear binary classifier: class 1 where `w.x + b > 0`.
    #[derive(Clone)]
    struct Linear {
        w: Array1<f64>,
        b: f64,
    }

    impl Linear {
        fn random(d: usize, rng: &mut ChaCha8Rng) -> Self {
            Linear {
                w: (0..d).map(|_| rng.sample(StandardNormal)).collect(),
                b: rng.sample(StandardNormal),
            }
        }

        fn value(&self, x: ArrayView1<'_, f64>) -> f64 {
            x.dot(&self.w) + self.b
        }

        fn labels(&self, x: ArrayView2<'_, f64>) -> Vec<usize> {
            x.outer_iter()
                .map(|r| usize::from(self.value(r) > 0.0))
                .collect()
        }

        fn scores(&self) -> ScoreFn<impl FnMut(ArrayView2<'_, f64>) -> Array2<f64> + Send> {
            let m = self.clone();
            ScoreFn(move |x: ArrayView2<'_, f64>| {
                let mut s = Array2::zeros((x.nrows(), 2));
                for (i, r) in x.outer_iter().enumerate() {
                    s[[i, 1]] = m.value(r);
                }
                s
            })
        }

        /// The smallest adversarial distance of `x` in scaled units: the margin over the
        /// dual norm of `w * scale`.
        fn exact(&self, x: ArrayView1<'_, f64>, scale: &[f64], norm: Norm) -> f64 {
            let ws = self.w.iter().zip(scale).map(|(w, s)| w * s);
            let dual = match norm {
                Norm::L2 => Norm::L2.of(ws),
                Norm::Linf => ws.map(f64::abs).sum(),
            };
            self.value(x).abs() / dual
        }
    }

    struct Run {
        out: AttackOutcome,
        calls: u64,
        rows: u64,
    }

    fn run(
        model: &mut dyn Model,
        x: &Array2<f64>,
        y: &[usize],
        c: &Constraints,
        p: &HsjParams,
        batch_size: usize,
    ) -> Run {
        let progress = Progress::new();
        let mut oracle = Oracle::new(model, batch_size, &progress);
        let out = hop_skip_jump(&mut oracle, x.view(), y, c, p).unwrap();
        Run {
            out,
            calls: oracle.calls,
            rows: oracle.rows,
        }
    }

    fn gaussian_rows(n: usize, d: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        Array2::from_shape_fn((n, d), |_| rng.sample(StandardNormal))
    }

    /// Ratios found / exact distance of every sample (all must have succeeded).
    fn ratios(m: &Linear, x: &Array2<f64>, r: &Run, scale: &[f64], norm: Norm) -> Vec<f64> {
        let c = Constraints::free(x.ncols());
        (0..x.nrows())
            .map(|i| {
                assert!(r.out.success[i], "sample {i} failed");
                let row = x.row(i);
                let adv = r.out.adversarial.row(i);
                let found = Constraints {
                    scale: scale.to_vec(),
                    ..c.clone()
                }
                .distance(row.as_slice().unwrap(), adv.as_slice().unwrap(), norm);
                found / m.exact(row, scale, norm)
            })
            .collect()
    }

    /// (share within 10% of the exact distance, median ratio), after checking that no
    /// distance is below the exact one.
    fn summary(ratios: &[f64]) -> (f64, f64) {
        assert!(
            ratios.iter().all(|&q| q >= 1.0 - 1e-9),
            "a distance below the exact minimum: {ratios:?}"
        );
        let within = ratios.iter().filter(|&&q| q <= 1.1).count() as f64 / ratios.len() as f64;
        let mut sorted = ratios.to_vec();
        sorted.sort_by(f64::total_cmp);
        (within, sorted[sorted.len() / 2])
    }

    fn linear_problem(n: usize, d: usize, seed: u64) -> (Linear, Array2<f64>, Vec<usize>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m = Linear::random(d, &mut rng);
        let x = gaussian_rows(n, d, &mut rng);
        let y = m.labels(x.view());
        (m, x, y)
    }

    #[test]
    fn l2_distances_match_the_linear_model() {
        let (m, x, y) = linear_problem(100, 20, 1);
        let p = HsjParams {
            max_queries: 3000,
            ..HsjParams::default()
        };
        let c = Constraints::free(20);
        let r = run(&mut m.scores(), &x, &y, &c, &p, 0);
        let (within, median) = summary(&ratios(&m, &x, &r, &c.scale, Norm::L2));
        println!(
            "L2: {:.0}% within 10% of the exact distance, median ratio {median:.4}; \
             {} calls for {} rows",
            100.0 * within,
            r.calls,
            r.rows
        );
        assert!(within >= 0.9, "{within}");
        assert!(r.out.queries.iter().all(|&q| q <= 3000));
        assert!(r.calls * 50 <= r.rows, "{} calls, {} rows", r.calls, r.rows);
    }

    /// The short runs of a label-only membership attack (10 iterations, at most 200 rows
    /// per estimate): the distance returned is the boundary's, about 1.4% above the exact
    /// minimum (the direction after 10 estimates), not a step beyond it (ART's last point,
    /// a third farther) nor `theta` of the segment more (about 1% in 20 dimensions).
    #[test]
    fn short_runs_end_on_the_boundary() {
        let (m, x, y) = linear_problem(100, 20, 9);
        let p = HsjParams {
            max_iter: 10,
            max_eval: 200,
            init_eval: 50,
            ..HsjParams::default()
        };
        let c = Constraints::free(20);
        let r = run(&mut m.scores(), &x, &y, &c, &p, 0);
        let q = ratios(&m, &x, &r, &c.scale, Norm::L2);
        let (within, median) = summary(&q);
        let worst = q.iter().copied().fold(0.0, f64::max);
        println!("short runs: median ratio {median:.5}, worst {worst:.5}, {within}");
        assert!(median < 1.02, "{median}");
        assert!(worst < 1.04, "{worst}");
    }

    #[test]
    fn linf_distances_match_the_linear_model() {
        let (m, x, y) = linear_problem(100, 20, 2);
        let mut rng = ChaCha8Rng::seed_from_u64(20);
        let mut c = Constraints::free(20);
        c.lower = vec![-50.0; 20];
        c.upper = vec![50.0; 20];
        c.scale = (0..20).map(|_| rng.gen_range(0.5..2.0)).collect();
        let p = HsjParams {
            norm: Norm::Linf,
            max_queries: 3000,
            ..HsjParams::default()
        };
        let r = run(&mut m.scores(), &x, &y, &c, &p, 0);
        let (within, median) = summary(&ratios(&m, &x, &r, &c.scale, Norm::Linf));
        println!(
            "L-inf: {:.0}% within 10% of the exact distance, median ratio {median:.4}; \
             {} calls for {} rows",
            100.0 * within,
            r.calls,
            r.rows
        );
        assert!(within >= 0.9, "{within}");
        assert!(r.calls * 50 <= r.rows, "{} calls, {} rows", r.calls, r.rows);
    }

    #[test]
    fn same_seed_same_result_whatever_the_batch_size() {
        let (m, x, y) = linear_problem(12, 6, 3);
        let c = Constraints::free(6);
        let p = HsjParams {
            max_queries: 600,
            seed: 5,
            ..HsjParams::default()
        };
        let bits = |r: &Run| r.out.adversarial.mapv(f64::to_bits);
        let a = run(&mut m.scores(), &x, &y, &c, &p, 0);
        let b = run(&mut m.scores(), &x, &y, &c, &p, 7);
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(a.out.queries, b.out.queries);
        assert_eq!(a.out.success, b.out.success);
        assert!(b.calls > a.calls);
        let other = HsjParams { seed: 6, ..p };
        let d = run(&mut m.scores(), &x, &y, &c, &other, 0);
        assert_ne!(bits(&a), bits(&d));
    }

    /// Bounds everywhere, an immutable feature (1), an integer one (2), a one-hot group
    /// (5, 6, 7).
    fn tabular() -> Constraints {
        let mut c = Constraints::free(8);
        c.lower = vec![-3.0, -3.0, -5.0, -3.0, -3.0, 0.0, 0.0, 0.0];
        c.upper = vec![3.0, 3.0, 5.0, 3.0, 3.0, 1.0, 1.0, 1.0];
        c.mutable[1] = false;
        c.integer[2] = true;
        c.groups = vec![vec![5, 6, 7]];
        c.scale = vec![1.0, 1.0, 2.0, 1.0, 0.5, 1.0, 1.0, 1.0];
        c
    }

    fn tabular_rows(n: usize, rng: &mut ChaCha8Rng) -> Array2<f64> {
        let mut x = Array2::zeros((n, 8));
        for mut row in x.axis_iter_mut(Axis(0)) {
            for j in [0, 1, 3, 4] {
                row[j] = rng.gen_range(-2.0..2.0);
            }
            row[2] = rng.gen_range(-5..=5) as f64;
            row[rng.gen_range(5..8)] = 1.0;
        }
        x
    }

    #[test]
    fn constraints_are_never_violated() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let m = Linear::random(8, &mut rng);
        let x = tabular_rows(40, &mut rng);
        let y = m.labels(x.view());
        let c = tabular();
        for norm in [Norm::L2, Norm::Linf] {
            let p = HsjParams {
                norm,
                max_queries: 1500,
                ..HsjParams::default()
            };
            let r = run(&mut m.scores(), &x, &y, &c, &p, 0);
            let successes = r.out.success.iter().filter(|&&s| s).count();
            assert!(successes >= 30, "{norm:?}: {successes} successes of 40");
            let (mut moved_integer, mut moved_category) = (0, 0);
            let rows = x.outer_iter().zip(r.out.adversarial.outer_iter());
            for (i, (x0, adv)) in rows.enumerate() {
                let (x0, adv) = (x0.as_slice().unwrap(), adv.as_slice().unwrap());
                assert_eq!(adv[1], x0[1]);
                if !r.out.success[i] {
                    assert_eq!(adv, x0);
                    continue;
                }
                assert!(c.feasible(x0, adv, f64::INFINITY, norm), "{norm:?} {adv:?}");
                assert_ne!(
                    m.labels(ArrayView2::from_shape((1, 8), adv).unwrap())[0],
                    y[i]
                );
                moved_integer += usize::from(adv[2] != x0[2]);
                moved_category += usize::from(adv[5..] != x0[5..]);
            }
            // The walk did cross the integer and categorical features.
            assert!(moved_integer > 0 && moved_category > 0);
            println!(
                "{norm:?}: {successes} of 40 succeeded, {moved_integer} moved the integer \
                 feature, {moved_category} the category"
            );
        }
    }

    #[test]
    fn the_budget_is_kept() {
        let (m, x, y) = linear_problem(30, 10, 5);
        let c = Constraints::free(10);
        for norm in [Norm::L2, Norm::Linf] {
            let p = HsjParams {
                norm,
                max_queries: 50,
                ..HsjParams::default()
            };
            let r = run(&mut m.scores(), &x, &y, &c, &p, 0);
            assert!(
                r.out.queries.iter().all(|&q| q <= 50),
                "{:?}",
                r.out.queries
            );
            assert_eq!(r.out.queries.iter().sum::<u64>(), r.rows);
            assert!(r.out.success.iter().filter(|&&s| s).count() >= 25);
        }
    }

    #[test]
    fn a_label_only_model_works() {
        let (m, x, y) = linear_problem(20, 10, 6);
        let labels = m.clone();
        let mut model = LabelFn(move |x: ArrayView2<'_, f64>| {
            labels.labels(x).into_iter().map(|l| l as i64).collect()
        });
        let c = Constraints::free(10);
        let p = HsjParams {
            max_queries: 2000,
            ..HsjParams::default()
        };
        let r = run(&mut model, &x, &y, &c, &p, 0);
        let (within, _) = summary(&ratios(&m, &x, &r, &c.scale, Norm::L2));
        assert!(within >= 0.8, "{within}");
    }

    #[test]
    fn a_misclassified_row_is_its_own_adversarial() {
        let (m, x, mut y) = linear_problem(3, 4, 7);
        y[1] = 1 - y[1];
        let r = run(
            &mut m.scores(),
            &x,
            &y,
            &Constraints::free(4),
            &HsjParams::default(),
            0,
        );
        assert!(r.out.success[1]);
        assert_eq!(r.out.adversarial.row(1), x.row(1));
        assert_eq!(r.out.queries[1], 2);
    }

    #[test]
    fn cancellation_and_bad_inputs_are_errors() {
        let (m, x, y) = linear_problem(3, 4, 8);
        let progress = Progress::new();
        progress.cancel();
        let mut model = m.scores();
        let mut oracle = Oracle::new(&mut model, 0, &progress);
        let c = Constraints::free(4);
        let p = HsjParams::default();
        let err = hop_skip_jump(&mut oracle, x.view(), &y, &c, &p).unwrap_err();
        assert!(matches!(err, CoreError::Cancelled));
        let progress = Progress::new();
        let mut oracle = Oracle::new(&mut model, 0, &progress);
        assert!(hop_skip_jump(&mut oracle, x.view(), &y[..2], &c, &p).is_err());
        assert!(hop_skip_jump(&mut oracle, x.view(), &y, &Constraints::free(3), &p).is_err());
        let bad = HsjParams {
            gamma: 0.0,
            ..HsjParams::default()
        };
        assert!(hop_skip_jump(&mut oracle, x.view(), &y, &c, &bad).is_err());
        assert_eq!(oracle.calls, 0);
    }
}
