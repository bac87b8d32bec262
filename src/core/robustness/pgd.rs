//! Projected gradient descent on the margin loss (Madry, Makelov, Schmidt, Tsipras &
//! Vladu, "Towards deep learning models resistant to adversarial attacks", ICLR 2018):
//! from a random point of the ball, `steps` steps up the loss `-margin` (the sign of the
//! gradient for L-inf, the normalised gradient for L2), each followed by the projection
//! onto the ball; step size `2.5 * eps / steps` unless given. The iterate is projected
//! onto the ball and the bounds only; the model sees its projection onto all the
//! constraints (integer features, one-hot groups: see `Run`).
//!
//! The gradient comes from one of
//!
//! * `User`: the caller's (autograd of the real model, or of a surrogate for a transfer
//!   attack). Its calls are not charged to the samples' query budgets, which count score
//!   queries, but each one counts as a model call in `Oracle::calls` and its rows in
//!   `Oracle::rows` (the model ran on them). The attack itself then only needs labels;
//! * `Nes`: the antithetic Gaussian estimate of Ilyas, Engstrom, Athalye & Lin, "Black-box
//!   adversarial attacks with limited queries and information" (ICML 2018),
//!   `g = sum_i (L(x + sigma u_i) - L(x - sigma u_i)) u_i / (2 sigma n)`, `u_i ~ N(0, I)`;
//! * `Spsa`: the same two-sided estimate with Rademacher directions and step `delta`
//!   (Uesato, O'Donoghue, van den Oord & Kohli, "Adversarial risk and the dangers of
//!   evaluating against weak attacks", ICML 2018), `2 n` queries per step each.
//!
//! Every step sends one request: for each still-active sample its current point (to stop
//! it as soon as it is misclassified) and its estimate's rows. Everything is in scaled
//! units (`constraints`): directions, sigma and delta move `(x - x0) / scale`; immutable
//! features get no direction and no step; estimate rows are clipped to the bounds so the
//! model is only asked about values it can see. A sample stops once misclassified or
//! when its budget cannot pay another step and the confirmation; its last point is then
//! confirmed.

use ndarray::{aview1, Array2, ArrayView2};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::common::{
    check_inputs, confirm, margins, owned_rows, sample_rng, sign, AttackOutcome, Budget, Requests,
};
use super::constraints::{Constraints, Norm};
use super::model::Oracle;
use crate::core::{CoreError, CoreResult};

/// A gradient supplied by the caller.
pub trait Gradient: Send {
    /// The gradient of the loss to increase, one row per row of `x`.
    fn gradient(&mut self, x: ArrayView2<'_, f64>, y: &[usize]) -> CoreResult<Array2<f64>>;
}

/// Where the gradient comes from (see the module).
pub enum GradientSource<'a> {
    User(&'a mut dyn Gradient),
    Nes { samples: usize, sigma: f64 },
    Spsa { samples: usize, delta: f64 },
}

/// Settings of PGD.
#[derive(Debug, Clone, PartialEq)]
pub struct PgdParams {
    pub norm: Norm,
    /// Radius of the ball, in scaled units.
    pub eps: f64,
    pub steps: usize,
    /// Default `2.5 * eps / steps`.
    pub step_size: Option<f64>,
    pub random_start: bool,
    /// Rows per sample, the confirmation included.
    pub max_queries: u64,
    pub seed: u64,
}

/// Runs PGD on every row of `x0` (see the module).
pub fn pgd(
    oracle: &mut Oracle<'_>,
    mut grads: GradientSource<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    p: &PgdParams,
) -> CoreResult<AttackOutcome> {
    check_inputs(oracle, x0, y, constraints, Some(p.eps))?;
    let per_step = 1 + estimate_rows(&grads) as u64;
    check_params(p, &grads, per_step)?;
    let mut run = Run::new(owned_rows(x0), constraints, p);
    for _ in 0..p.steps {
        // A step is paid in full or not taken, and the confirmation stays paid for.
        let active: Vec<usize> = (0..run.x.nrows())
            .filter(|&i| !run.done[i] && run.budget.left(i) > per_step)
            .collect();
        if active.is_empty() {
            break;
        }
        run.step(oracle, &mut grads, y, &active)?;
    }
    // Every last point is checked: the stopped ones again, the others for the first time.
    let all = vec![true; run.x.nrows()];
    confirm(
        oracle,
        run.x0.view(),
        y,
        run.x,
        &all,
        run.budget,
        constraints,
        p.eps,
        p.norm,
    )
}

/// Rows an estimate adds to each step of a sample.
fn estimate_rows(grads: &GradientSource<'_>) -> usize {
    match *grads {
        GradientSource::User(_) => 0,
        GradientSource::Nes { samples, .. } | GradientSource::Spsa { samples, .. } => 2 * samples,
    }
}

fn check_params(p: &PgdParams, grads: &GradientSource<'_>, per_step: u64) -> CoreResult<()> {
    if p.steps == 0 {
        return Err(CoreError::invalid("steps: expected at least 1, got 0"));
    }
    if let Some(a) = p.step_size.filter(|a| !(a.is_finite() && *a > 0.0)) {
        return Err(CoreError::invalid(format!(
            "step_size: expected a positive finite step, got {a}"
        )));
    }
    match *grads {
        GradientSource::Nes { samples: 0, .. } | GradientSource::Spsa { samples: 0, .. } => {
            return Err(CoreError::invalid(
                "samples: a gradient estimate needs at least 1 direction, got 0",
            ));
        }
        GradientSource::Nes { sigma: h, .. } | GradientSource::Spsa { delta: h, .. }
            if !(h.is_finite() && h > 0.0) =>
        {
            let name = match grads {
                GradientSource::Nes { .. } => "sigma",
                _ => "delta",
            };
            return Err(CoreError::invalid(format!(
                "{name}: the estimate's step must be positive and finite, got {h}"
            )));
        }
        _ => {}
    }
    if p.max_queries < per_step + 1 {
        return Err(CoreError::invalid(format!(
            "max_queries: one step costs {per_step} queries per sample and the \
             confirmation 1 more, got {}",
            p.max_queries
        )));
    }
    Ok(())
}

fn row(x: &Array2<f64>, i: usize) -> &[f64] {
    x.row(i).to_slice().expect("contiguous rows")
}

/// The state of every sample.
///
/// Steps of a fraction of eps would be rounded away on an integer feature and never
/// switch a one-hot group, so the iterate `z` is kept relaxed (ball and bounds only) and
/// the model is asked about its projection `x` onto all the constraints: an integer
/// feature moves once the steps add up past the rounding, a category switches once its
/// entry overtakes the current one.
struct Run<'c> {
    x0: Array2<f64>,
    /// The relaxed iterates.
    z: Array2<f64>,
    /// The current points: `z` projected onto the constraints.
    x: Array2<f64>,
    done: Vec<bool>,
    rngs: Vec<ChaCha8Rng>,
    budget: Budget,
    c: &'c Constraints,
    /// `c` without its integer features and one-hot groups.
    relaxed: Constraints,
    p: &'c PgdParams,
    alpha: f64,
}

impl<'c> Run<'c> {
    fn new(x0: Array2<f64>, c: &'c Constraints, p: &'c PgdParams) -> Self {
        let n = x0.nrows();
        let relaxed = Constraints {
            integer: vec![false; c.features()],
            groups: Vec::new(),
            ..c.clone()
        };
        let mut rngs: Vec<ChaCha8Rng> = (0..n).map(|i| sample_rng(p.seed, i)).collect();
        let mut z = x0.clone();
        if p.random_start {
            for (i, rng) in rngs.iter_mut().enumerate() {
                let start = random_start(row(&x0, i), &relaxed, p, rng);
                z.row_mut(i).assign(&aview1(&start));
            }
        }
        let mut run = Run {
            x: z.clone(),
            x0,
            z,
            done: vec![false; n],
            rngs,
            budget: Budget::new(n, p.max_queries),
            c,
            relaxed,
            p,
            alpha: p.step_size.unwrap_or(2.5 * p.eps / p.steps as f64),
        };
        for i in 0..n {
            run.settle(i);
        }
        run
    }

    /// `x[i]`: `z[i]` projected onto all the constraints.
    fn settle(&mut self, i: usize) {
        let mut x = row(&self.z, i).to_vec();
        self.c
            .project(row(&self.x0, i), &mut x, self.p.eps, self.p.norm);
        self.x.row_mut(i).assign(&aview1(&x));
    }

    /// One step of the `active` samples: one request (current points and estimate
    /// rows); the misclassified stop, the others move up their gradient.
    fn step(
        &mut self,
        oracle: &mut Oracle<'_>,
        grads: &mut GradientSource<'_>,
        y: &[usize],
        active: &[usize],
    ) -> CoreResult<()> {
        let mut req = Requests::new(self.x.ncols());
        let mut directions = Vec::with_capacity(active.len());
        for &i in active {
            req.push(i, row(&self.x, i));
            let dirs = self.directions(grads, i);
            for u in &dirs {
                req.push(i, &self.probe(i, u, 1.0, grads));
                req.push(i, &self.probe(i, u, -1.0, grads));
            }
            directions.push(dirs);
        }
        let moves = match grads {
            GradientSource::User(g) => {
                let labels = oracle.labels(req.view())?;
                req.charge(&mut self.budget);
                let going: Vec<usize> = self
                    .stop_misclassified(active, |a| labels[a] != y[active[a]])
                    .into_iter()
                    .map(|a| active[a])
                    .collect();
                let g = user_gradients(oracle, &mut **g, &self.x, y, &going, self.c)?;
                going.into_iter().zip(g).collect::<Vec<_>>()
            }
            GradientSource::Nes { sigma: h, .. } | GradientSource::Spsa { delta: h, .. } => {
                let h = *h;
                let scores = oracle.scores(req.view(), "pgd")?;
                req.charge(&mut self.budget);
                let m = margins(&scores, &req, y);
                // Each sample's rows: its current point, then its probes.
                let per = req.len() / active.len();
                self.stop_misclassified(active, |a| m[a * per] < 0.0)
                    .into_iter()
                    .map(|a| {
                        let probes = &m[a * per + 1..(a + 1) * per];
                        (active[a], estimate(probes, &directions[a], h))
                    })
                    .collect()
            }
        };
        for (i, g) in moves {
            self.advance(i, g);
        }
        Ok(())
    }

    /// Marks as done the active samples whose current point is misclassified
    /// (`wrong(position in active)`); the positions of the others.
    fn stop_misclassified(
        &mut self,
        active: &[usize],
        wrong: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut going = Vec::with_capacity(active.len());
        for (a, &i) in active.iter().enumerate() {
            if wrong(a) {
                self.done[i] = true;
            } else {
                going.push(a);
            }
        }
        going
    }

    /// The directions of sample `i`'s estimate (scaled units, none on immutable
    /// features): Gaussian for NES, Rademacher for SPSA, none for a user gradient.
    fn directions(&mut self, grads: &GradientSource<'_>, i: usize) -> Vec<Vec<f64>> {
        let rng = &mut self.rngs[i];
        let (samples, gaussian) = match *grads {
            GradientSource::User(_) => return Vec::new(),
            GradientSource::Nes { samples, .. } => (samples, true),
            GradientSource::Spsa { samples, .. } => (samples, false),
        };
        (0..samples)
            .map(|_| {
                self.c
                    .mutable
                    .iter()
                    .map(|&m| {
                        let v = if gaussian {
                            rng.sample(StandardNormal)
                        } else if rng.gen::<bool>() {
                            1.0
                        } else {
                            -1.0
                        };
                        if m {
                            v
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// `x + sign * h * scale * u`, clipped to the bounds.
    fn probe(&self, i: usize, u: &[f64], sign: f64, grads: &GradientSource<'_>) -> Vec<f64> {
        let h = match *grads {
            GradientSource::Nes { sigma, .. } => sigma,
            GradientSource::Spsa { delta, .. } => delta,
            GradientSource::User(_) => 0.0,
        };
        let c = self.c;
        row(&self.x, i)
            .iter()
            .zip(u)
            .enumerate()
            .map(|(j, (&v, &d))| (v + sign * h * c.scale[j] * d).clamp(c.lower[j], c.upper[j]))
            .collect()
    }

    /// Sample `i` moved by one step along `g` (a gradient in scaled units).
    fn advance(&mut self, i: usize, mut g: Vec<f64>) {
        let (c, p) = (self.c, self.p);
        for (v, &m) in g.iter_mut().zip(&c.mutable) {
            if !m {
                *v = 0.0;
            }
        }
        let step: Vec<f64> = match p.norm {
            Norm::Linf => g.iter().map(|&v| self.alpha * sign(v)).collect(),
            Norm::L2 => {
                let norm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm == 0.0 {
                    return;
                }
                g.iter().map(|&v| self.alpha * v / norm).collect()
            }
        };
        let mut next: Vec<f64> = row(&self.z, i)
            .iter()
            .zip(&step)
            .zip(&c.scale)
            .map(|((&v, &s), &unit)| v + s * unit)
            .collect();
        self.relaxed
            .project(row(&self.x0, i), &mut next, p.eps, p.norm);
        self.z.row_mut(i).assign(&aview1(&next));
        self.settle(i);
    }
}

/// A random point of the ball around `x0` (uniform in it), projected.
fn random_start(x0: &[f64], c: &Constraints, p: &PgdParams, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let mut delta: Vec<f64> = match p.norm {
        Norm::Linf => x0.iter().map(|_| rng.gen_range(-p.eps..=p.eps)).collect(),
        Norm::L2 => x0.iter().map(|_| rng.sample(StandardNormal)).collect(),
    };
    for (v, &m) in delta.iter_mut().zip(&c.mutable) {
        if !m {
            *v = 0.0;
        }
    }
    if p.norm == Norm::L2 {
        // A uniform point of the d-ball: a uniform direction, radius eps * U^(1/d).
        let d = c.mutable.iter().filter(|&&m| m).count().max(1);
        let norm = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
        let radius = p.eps * rng.gen::<f64>().powf(1.0 / d as f64);
        if norm > 0.0 {
            delta.iter_mut().for_each(|v| *v *= radius / norm);
        }
    }
    let mut x: Vec<f64> = x0
        .iter()
        .zip(&delta)
        .zip(&c.scale)
        .map(|((&v, &dv), &s)| v + s * dv)
        .collect();
    c.project(x0, &mut x, p.eps, p.norm);
    x
}

/// The two-sided estimate `sum_k (L(x + h u_k) - L(x - h u_k)) u_k / (2 h n)` with
/// `L = -margin`, from the margins of the probes `+u_1, -u_1, +u_2, ...`.
fn estimate(m: &[f64], directions: &[Vec<f64>], h: f64) -> Vec<f64> {
    let d = directions.first().map_or(0, Vec::len);
    let mut g = vec![0.0; d];
    let n = directions.len() as f64;
    for (u, pair) in directions.iter().zip(m.chunks_exact(2)) {
        // L(+) - L(-) = m(-) - m(+).
        let w = (pair[1] - pair[0]) / (2.0 * h * n);
        g.iter_mut().zip(u).for_each(|(a, b)| *a += w * b);
    }
    g
}

/// The caller's gradients at the current points of `going`, checked, in scaled units
/// (`d loss / d((x - x0) / scale) = scale * d loss / dx`).
fn user_gradients(
    oracle: &mut Oracle<'_>,
    g: &mut dyn Gradient,
    x: &Array2<f64>,
    y: &[usize],
    going: &[usize],
    c: &Constraints,
) -> CoreResult<Vec<Vec<f64>>> {
    if going.is_empty() {
        return Ok(Vec::new());
    }
    let d = x.ncols();
    let rows = Array2::from_shape_fn((going.len(), d), |(a, j)| x[[going[a], j]]);
    let labels: Vec<usize> = going.iter().map(|&i| y[i]).collect();
    let grad = g.gradient(rows.view(), &labels)?;
    oracle.calls += 1;
    oracle.rows += going.len() as u64;
    if grad.dim() != (going.len(), d) {
        return Err(CoreError::Model(format!(
            "the gradient has shape {:?} for {} rows of {d} features",
            grad.dim(),
            going.len()
        )));
    }
    if grad.iter().any(|v| !v.is_finite()) {
        return Err(CoreError::Model(
            "the gradient has NaN or infinite values".to_string(),
        ));
    }
    Ok(grad
        .outer_iter()
        .map(|r| r.iter().zip(&c.scale).map(|(v, s)| v * s).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::progress::Progress;
    use crate::core::robustness::model::LabelFn;
    use crate::core::robustness::testkit::{
        check_outcome, linear_problem, median_distance, rates, tabular_problem, Linear,
    };

    /// The exact gradient of `-margin` of a linear model: `-w` for class 1, `w` for 0.
    struct Exact(Linear, u64);

    impl Gradient for Exact {
        fn gradient(&mut self, x: ArrayView2<'_, f64>, y: &[usize]) -> CoreResult<Array2<f64>> {
            self.1 += 1;
            Ok(Array2::from_shape_fn(x.dim(), |(i, j)| {
                if y[i] == 1 {
                    -self.0.w[j]
                } else {
                    self.0.w[j]
                }
            }))
        }
    }

    fn params(norm: Norm, eps: f64, max_queries: u64) -> PgdParams {
        PgdParams {
            norm,
            eps,
            steps: 20,
            step_size: None,
            random_start: true,
            max_queries,
            seed: 5,
        }
    }

    fn run(
        model: &Linear,
        grads: GradientSource<'_>,
        x0: ArrayView2<'_, f64>,
        y: &[usize],
        c: &Constraints,
        p: &PgdParams,
        batch_size: usize,
    ) -> (AttackOutcome, u64, u64) {
        let progress = Progress::new();
        let mut m = model.model();
        let mut oracle = Oracle::new(&mut m, batch_size, &progress);
        let out = pgd(&mut oracle, grads, x0, y, c, p).unwrap();
        (out, oracle.calls, oracle.rows)
    }

    #[test]
    fn exact_gradient_reaches_every_sample_inside() {
        let (model, x0, y) = linear_problem(80, 20, 1);
        let c = Constraints::free(20);
        for norm in [Norm::Linf, Norm::L2] {
            let eps = median_distance(&model, x0.view(), norm);
            let p = params(norm, eps, 1000);
            let mut exact = Exact(model.clone(), 0);
            let grads = GradientSource::User(&mut exact);
            let (out, calls, rows) = run(&model, grads, x0.view(), &y, &c, &p, 0);
            let (below, n_below, above, n_above) = rates(&model, x0.view(), &out, norm, eps, 0.95);
            eprintln!(
                "pgd exact {norm:?}: success {below:.3} of {n_below} below 0.95 eps, \
                 {above:.3} of {n_above} above eps; {calls} calls ({} gradient), {rows} rows",
                exact.1
            );
            assert_eq!(below, 1.0);
            assert_eq!(above, 0.0);
            check_outcome(&model, x0.view(), &y, &out, &c, eps, norm, 1000);
            // Per step one query round and one gradient call, then the confirmation.
            assert!(exact.1 <= 20 && calls <= 2 * 20 + 1, "{calls}");
            // Gradient rows are not charged to the budgets.
            assert!(out.queries.iter().all(|&q| q <= 21));
        }
    }

    #[test]
    fn estimated_gradients_reach_most_samples_inside() {
        let (model, x0, y) = linear_problem(80, 20, 1);
        let c = Constraints::free(20);
        for norm in [Norm::Linf, Norm::L2] {
            let eps = median_distance(&model, x0.view(), norm);
            for nes in [true, false] {
                let grads = if nes {
                    GradientSource::Nes {
                        samples: 10,
                        sigma: 1e-3,
                    }
                } else {
                    GradientSource::Spsa {
                        samples: 10,
                        delta: 1e-3,
                    }
                };
                // 20 steps of 21 rows and the confirmation.
                let p = params(norm, eps, 421);
                let (out, calls, rows) = run(&model, grads, x0.view(), &y, &c, &p, 0);
                let (below, n_below, above, n_above) =
                    rates(&model, x0.view(), &out, norm, eps, 0.95);
                let name = if nes { "nes" } else { "spsa" };
                eprintln!(
                    "pgd {name} {norm:?}: success {below:.3} of {n_below} below 0.95 eps, \
                     {above:.3} of {n_above} above eps; {calls} calls, {rows} rows"
                );
                assert!(below >= 0.8, "{below}");
                assert_eq!(above, 0.0);
                check_outcome(&model, x0.view(), &y, &out, &c, eps, norm, 421);
                assert!(calls <= 20 + 1, "{calls}");
                assert!(rows > 20 * calls);
            }
        }
    }

    #[test]
    fn constraints_and_budgets_hold() {
        let (model, x0, y, c) = tabular_problem(60);
        for norm in [Norm::Linf, Norm::L2] {
            // Budget for 4 steps of 11 rows (and a 5th never paid for) and the confirmation.
            let p = params(norm, 1.0, 50);
            let grads = GradientSource::Nes {
                samples: 5,
                sigma: 0.01,
            };
            let (out, ..) = run(&model, grads, x0.view(), &y, &c, &p, 0);
            check_outcome(&model, x0.view(), &y, &out, &c, 1.0, norm, 50);
            assert!(out.queries.iter().all(|&q| q <= 45));
            let found_nes = out.success.iter().filter(|&&s| s).count();

            let mut exact = Exact(model.clone(), 0);
            let p = params(norm, 1.0, 100);
            let grads = GradientSource::User(&mut exact);
            let (out, ..) = run(&model, grads, x0.view(), &y, &c, &p, 0);
            check_outcome(&model, x0.view(), &y, &out, &c, 1.0, norm, 100);
            let found = out.success.iter().filter(|&&s| s).count();
            eprintln!("pgd tabular {norm:?}: nes {found_nes} of 60, exact {found} of 60");
            assert!(found > 0 && found_nes > 0);
        }
    }

    #[test]
    fn same_seed_same_result_whatever_the_batch_size() {
        let (model, x0, y) = linear_problem(23, 20, 2);
        let c = Constraints::free(20);
        let eps = median_distance(&model, x0.view(), Norm::L2);
        let p = params(Norm::L2, eps, 200);
        let spsa = || GradientSource::Spsa {
            samples: 3,
            delta: 0.01,
        };
        let (whole, calls_whole, _) = run(&model, spsa(), x0.view(), &y, &c, &p, 0);
        let (split, calls_split, _) = run(&model, spsa(), x0.view(), &y, &c, &p, 5);
        assert_eq!(whole.adversarial, split.adversarial);
        assert_eq!(whole.success, split.success);
        assert_eq!(whole.queries, split.queries);
        assert!(calls_split > calls_whole);
    }

    #[test]
    fn labels_only_and_bad_settings() {
        let progress = Progress::new();
        let (model, x0, y) = linear_problem(5, 4, 3);
        let c = Constraints::free(4);
        let me = model.clone();
        let mut labels = LabelFn(move |x: ArrayView2<'_, f64>| {
            x.outer_iter()
                .map(|r| me.label(&r.to_vec()) as i64)
                .collect()
        });
        let mut oracle = Oracle::new(&mut labels, 0, &progress);
        let p = params(Norm::Linf, 10.0, 100);
        let nes = GradientSource::Nes {
            samples: 2,
            sigma: 0.1,
        };
        let err = pgd(&mut oracle, nes, x0.view(), &y, &c, &p).unwrap_err();
        assert!(err.to_string().contains("needs class scores"), "{err}");
        // A given gradient only needs the labels (a transfer attack from a surrogate).
        let mut exact = Exact(model.clone(), 0);
        let mut oracle = Oracle::new(&mut labels, 0, &progress);
        let out = pgd(
            &mut oracle,
            GradientSource::User(&mut exact),
            x0.view(),
            &y,
            &c,
            &p,
        )
        .unwrap();
        assert!(out.success.iter().all(|&s| s));

        let mut m = model.model();
        let mut oracle = Oracle::new(&mut m, 0, &progress);
        let mut bad = |grads: GradientSource<'_>, change: &dyn Fn(&mut PgdParams), what: &str| {
            let mut p = params(Norm::L2, 0.5, 100);
            change(&mut p);
            let err = pgd(&mut oracle, grads, x0.view(), &y, &c, &p).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        };
        let nes = |samples, sigma| GradientSource::Nes { samples, sigma };
        bad(nes(2, 0.1), &|p| p.steps = 0, "steps");
        bad(nes(2, 0.1), &|p| p.step_size = Some(-1.0), "step_size");
        bad(nes(0, 0.1), &|_| {}, "samples");
        bad(nes(2, 0.0), &|_| {}, "sigma");
        let spsa = GradientSource::Spsa {
            samples: 2,
            delta: f64::NAN,
        };
        bad(spsa, &|_| {}, "delta");
        bad(nes(2, 0.1), &|p| p.max_queries = 5, "max_queries");

        struct Wrong;
        impl Gradient for Wrong {
            fn gradient(&mut self, x: ArrayView2<'_, f64>, _: &[usize]) -> CoreResult<Array2<f64>> {
                Ok(Array2::zeros((x.nrows(), 1)))
            }
        }
        bad(
            GradientSource::User(&mut Wrong),
            &|_| {},
            "gradient has shape",
        );
    }

    #[test]
    fn small_steps_add_up_on_integer_features() {
        // Only the integer feature matters: steps of eps / 8 must add up to a whole unit.
        let model = Linear {
            w: vec![0.0, 1.0],
            b: -0.5,
        };
        let x0 = ndarray::array![[0.3, 0.0], [-0.2, 0.0]];
        let y = vec![0, 0];
        let mut c = Constraints::free(2);
        c.integer[1] = true;
        let mut p = params(Norm::Linf, 1.0, 100);
        p.random_start = false;
        let mut exact = Exact(model.clone(), 0);
        let (out, ..) = run(
            &model,
            GradientSource::User(&mut exact),
            x0.view(),
            &y,
            &c,
            &p,
            0,
        );
        assert_eq!(out.success, vec![true, true]);
        assert_eq!(out.adversarial.column(1).to_vec(), vec![1.0, 1.0]);
        check_outcome(&model, x0.view(), &y, &out, &c, 1.0, Norm::Linf, 100);
    }
}
