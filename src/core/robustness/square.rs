//! The Square Attack (Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a
//! query-efficient black-box adversarial attack via random search", ECCV 2020):
//! untargeted, score-based random search on the margin loss
//! `score[y] - max_{j != y} score[j]` inside an L-inf or an L2 ball.
//!
//! Each sample keeps its best point. Every iteration proposes one candidate per active
//! sample that changes the perturbation only inside a random square window (all
//! channels), asks the model about all candidates in one request, and keeps each
//! candidate that lowers its sample's margin; a sample stops as soon as its margin is
//! negative (misclassified). The window covers a share `p` of the image: `p_init`, halved
//! after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000 and 8000 of a 10 000-iteration
//! run (the paper's schedule), those marks scaled to the iterations the budget allows.
//!
//! * L-inf (the paper's section 3.1): the start is vertical stripes of width one, each
//!   stripe and channel at +eps or -eps; a candidate sets its window to +eps or -eps, one
//!   random sign per channel, so the perturbation stays on the vertices of the ball.
//! * L2 (section 3.2): the start tiles the image with "meta-squares" (two halves of
//!   opposite sign whose mass grows towards their centres), a random sign per tile and
//!   channel, scaled to norm eps. A candidate takes two windows, empties the second and
//!   puts the mass both held (plus any budget left unused) into the first, as the old
//!   window perturbation plus a fresh meta-square; the whole perturbation is then scaled
//!   back to norm eps.
//!
//! Tabular rows (`Layout::Flat`) have no spatial neighbourhood, so there a window is a
//! random subset of `max(1, round(p * d))` features. For L-inf each feature of it gets
//! its own random sign (the start is a random vertex: the stripes of a `1 x d` image);
//! for L2 the subset has at least 2 features (as the image windows are at least 3 x 3),
//! the fresh shape is a Gaussian direction on it (the meta-square's role: mass of both
//! signs and varied size) and the start a random sign vector of norm eps.
//!
//! Perturbations live in scaled units (`(x - x0) / scale`, see `constraints`) and
//! immutable features carry none. Every candidate is projected onto the constraints
//! before it is queried, so every point the model sees is feasible. Rows per sample: the
//! clean row and the start (one round), one per iteration, one for the confirmation; a
//! sample the model already gets wrong is its own adversarial example (distance 0).

use ndarray::{Array2, ArrayView1, ArrayView2};
use rand::seq::index::sample as sample_indices;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::common::{
    check_inputs, confirm, margins, owned_rows, sample_rng, AttackOutcome, Budget, Requests,
};
use super::constraints::{Constraints, Norm};
use super::model::Oracle;
use crate::core::{CoreError, CoreResult};

/// How a row's values are arranged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Tabular features without spatial order.
    Flat,
    /// A flattened image: `(height, width, channels)` row-major when `channels_last`,
    /// else `(channels, height, width)`.
    Image {
        height: usize,
        width: usize,
        channels: usize,
        channels_last: bool,
    },
}

/// Settings of the Square Attack.
#[derive(Debug, Clone, PartialEq)]
pub struct SquareParams {
    pub norm: Norm,
    /// Radius of the ball, in scaled units.
    pub eps: f64,
    /// Rows per sample, the confirmation included (at least 3).
    pub max_queries: u64,
    /// Initial share of the image (or of the features) a window covers, in (0, 1].
    pub p_init: f64,
    pub layout: Layout,
    pub seed: u64,
}

/// The iterations (of 10 000) after which the paper halves the window's share.
const HALVINGS: [f64; 9] = [
    10.0, 50.0, 200.0, 500.0, 1000.0, 2000.0, 4000.0, 6000.0, 8000.0,
];

/// Rows per sample outside the iterations: the clean row, the start, the confirmation.
const FIXED_ROWS: u64 = 3;

/// Fresh draws of an L-inf window allowed to find one that changes the point (bounds or
/// immutable features can make a window a no-op); after that the sample sits out a round.
const REDRAWS: usize = 16;

/// Runs the Square Attack on every row of `x0` (see the module).
pub fn square(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    p: &SquareParams,
) -> CoreResult<AttackOutcome> {
    check_inputs(oracle, x0, y, constraints, Some(p.eps))?;
    check_params(p, x0.ncols())?;
    let mut search = Search::new(owned_rows(x0), p);
    search.start(oracle, y, constraints, p)?;
    let iterations = p.max_queries - FIXED_ROWS;
    for it in 0..iterations {
        let share = share_at(p.p_init, it, iterations);
        if !search.step(oracle, y, constraints, p, share)? {
            break;
        }
    }
    let Search {
        x0,
        best,
        done,
        budget,
        ..
    } = search;
    confirm(
        oracle,
        x0.view(),
        y,
        best,
        &done,
        budget,
        constraints,
        p.eps,
        p.norm,
    )
}

fn check_params(p: &SquareParams, d: usize) -> CoreResult<()> {
    if p.max_queries < FIXED_ROWS {
        return Err(CoreError::invalid(format!(
            "max_queries: the Square Attack needs at least {FIXED_ROWS} queries per sample \
             (the clean row, the start and the confirmation), got {}",
            p.max_queries
        )));
    }
    if !(p.p_init > 0.0 && p.p_init <= 1.0) {
        return Err(CoreError::invalid(format!(
            "p_init: expected a share of the image in (0, 1], got {}",
            p.p_init
        )));
    }
    if let Layout::Image {
        height,
        width,
        channels,
        ..
    } = p.layout
    {
        if height == 0 || width == 0 || channels == 0 || height * width * channels != d {
            return Err(CoreError::invalid(format!(
                "layout: an image of {height} x {width} x {channels} does not match rows \
                 of {d} features"
            )));
        }
    }
    Ok(())
}

/// The window's share at iteration `it` of `iterations`: `p_init` halved once for every
/// mark of the paper's schedule that `it`, rescaled to 10 000 iterations, has passed.
fn share_at(p_init: f64, it: u64, iterations: u64) -> f64 {
    let scaled = it as f64 / iterations as f64 * 10_000.0;
    let halvings = HALVINGS.iter().filter(|&&mark| scaled > mark).count();
    p_init / f64::powi(2.0, halvings as i32)
}

/// Where each sample stands.
struct Search {
    best: Array2<f64>,
    margin: Vec<f64>,
    done: Vec<bool>,
    rngs: Vec<ChaCha8Rng>,
    budget: Budget,
    x0: Array2<f64>,
}

impl Search {
    fn new(x0: Array2<f64>, p: &SquareParams) -> Self {
        let n = x0.nrows();
        Search {
            best: x0.clone(),
            margin: vec![f64::INFINITY; n],
            done: vec![false; n],
            rngs: (0..n).map(|i| sample_rng(p.seed, i)).collect(),
            budget: Budget::new(n, p.max_queries),
            x0,
        }
    }

    /// The first round: every clean row and every start point. A clean row already
    /// misclassified ends its sample there.
    fn start(
        &mut self,
        oracle: &mut Oracle<'_>,
        y: &[usize],
        c: &Constraints,
        p: &SquareParams,
    ) -> CoreResult<()> {
        let d = self.x0.ncols();
        let mut req = Requests::new(d);
        for i in 0..self.x0.nrows() {
            let orig = self.x0.row(i);
            let orig = orig.as_slice().expect("contiguous rows");
            let point = point_from(orig, start_delta(d, c, p, &mut self.rngs[i]), c, p);
            req.push(i, orig);
            req.push(i, &point);
        }
        let scores = oracle.scores(req.view(), "square")?;
        req.charge(&mut self.budget);
        for (k, m) in margins(&scores, &req, y).into_iter().enumerate() {
            let i = req.owners()[k];
            if !self.done[i] {
                self.keep(i, req.row(k), m);
            }
        }
        Ok(())
    }

    /// One iteration: a candidate per active sample, one request. `false` once no
    /// sample is active.
    fn step(
        &mut self,
        oracle: &mut Oracle<'_>,
        y: &[usize],
        c: &Constraints,
        p: &SquareParams,
        share: f64,
    ) -> CoreResult<bool> {
        let mut req = Requests::new(self.x0.ncols());
        let mut active = false;
        let mut scratch = Scratch {
            window_only: c.groups.is_empty() && !c.integer.iter().any(|&b| b),
            cand: Vec::new(),
            touched: Vec::new(),
        };
        for i in 0..self.x0.nrows() {
            // One row stays in reserve for the confirmation.
            if self.done[i] || self.budget.left(i) < 2 {
                continue;
            }
            active = true;
            let (orig, best) = (self.x0.row(i), self.best.row(i));
            let orig = orig.as_slice().expect("contiguous rows");
            let best = best.as_slice().expect("contiguous rows");
            let rng = &mut self.rngs[i];
            match p.norm {
                Norm::Linf => {
                    if linf_candidate(orig, best, share, c, p, rng, &mut scratch) {
                        req.push(i, &scratch.cand);
                    }
                }
                Norm::L2 => req.push(i, &l2_candidate(orig, best, share, c, p, rng)),
            }
        }
        if req.is_empty() {
            return Ok(active);
        }
        let scores = oracle.scores(req.view(), "square")?;
        req.charge(&mut self.budget);
        for (k, m) in margins(&scores, &req, y).into_iter().enumerate() {
            let i = req.owners()[k];
            if m < self.margin[i] {
                self.keep(i, req.row(k), m);
            }
        }
        Ok(true)
    }

    fn keep(&mut self, i: usize, row: &[f64], m: f64) {
        self.best.row_mut(i).assign(&ArrayView1::from(row));
        self.margin[i] = m;
        self.done[i] = m < 0.0;
    }
}

/// `x0 + scale * delta`, immutable features left alone, projected onto the constraints.
fn point_from(x0: &[f64], delta: Vec<f64>, c: &Constraints, p: &SquareParams) -> Vec<f64> {
    let mut x = delta;
    for (j, v) in x.iter_mut().enumerate() {
        *v = if c.mutable[j] {
            x0[j] + *v * c.scale[j]
        } else {
            x0[j]
        };
    }
    c.project(x0, &mut x, p.eps, p.norm);
    x
}

/// The start's perturbation (scaled units): stripes for L-inf, meta-squares scaled to
/// eps for L2.
fn start_delta(d: usize, c: &Constraints, p: &SquareParams, rng: &mut ChaCha8Rng) -> Vec<f64> {
    match p.norm {
        Norm::Linf => linf_start(&p.layout, d, p.eps, rng),
        Norm::L2 => at_radius(l2_start(&p.layout, d, rng), c, p.eps),
    }
}

/// `delta` without its immutable features (the projection would drop them, wasting part
/// of the budget), scaled to L2 norm `eps`.
fn at_radius(mut delta: Vec<f64>, c: &Constraints, eps: f64) -> Vec<f64> {
    for (v, &mutable) in delta.iter_mut().zip(&c.mutable) {
        if !mutable {
            *v = 0.0;
        }
    }
    scale_to(&mut delta, eps);
    delta
}

/// The position of pixel `(row, col)`, channel `k`, in a flattened image.
fn image_index(layout: &Layout, row: usize, col: usize, k: usize) -> usize {
    match *layout {
        Layout::Image {
            height,
            width,
            channels,
            channels_last,
        } => {
            if channels_last {
                (row * width + col) * channels + k
            } else {
                (k * height + row) * width + col
            }
        }
        // A flat row is one row of one channel.
        Layout::Flat => col,
    }
}

/// `(height, width, channels)` of an image layout.
fn image_shape(layout: &Layout) -> Option<(usize, usize, usize)> {
    match *layout {
        Layout::Image {
            height,
            width,
            channels,
            ..
        } => Some((height, width, channels)),
        Layout::Flat => None,
    }
}

fn random_sign(rng: &mut ChaCha8Rng) -> f64 {
    if rng.gen::<bool>() {
        1.0
    } else {
        -1.0
    }
}

/// The L-inf start (scaled units): vertical stripes, one sign per column and channel; a
/// flat row is a `1 x d` image, so every feature gets its own sign.
fn linf_start(layout: &Layout, d: usize, eps: f64, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let Some((h, w, ch)) = image_shape(layout) else {
        return (0..d).map(|_| eps * random_sign(rng)).collect();
    };
    let mut delta = vec![0.0; d];
    for col in 0..w {
        for k in 0..ch {
            let v = eps * random_sign(rng);
            for row in 0..h {
                delta[image_index(layout, row, col, k)] = v;
            }
        }
    }
    delta
}

/// The side of a square window covering a share `share` of an `h x w` image, at least
/// `least` and at most the image.
fn window_side(share: f64, h: usize, w: usize, least: usize) -> usize {
    let side = (share * (h * w) as f64).sqrt().round() as usize;
    side.max(least).min(h.min(w)).max(1)
}

/// A random square window of side `side`: one list of positions per channel, each in
/// row-major order of the window.
fn image_window(layout: &Layout, side: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let (h, w, ch) = image_shape(layout).expect("an image layout");
    let top = rng.gen_range(0..=h - side);
    let left = rng.gen_range(0..=w - side);
    (0..ch)
        .map(|k| {
            (top..top + side)
                .flat_map(|row| (left..left + side).map(move |col| (row, col)))
                .map(|(row, col)| image_index(layout, row, col, k))
                .collect()
        })
        .collect()
}

/// A random subset of `max(least, round(share * d))` of the `d` features of a flat row
/// (all of them if there are fewer).
fn flat_window(d: usize, share: f64, least: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let m = ((share * d as f64).round() as usize).max(least).clamp(1, d);
    sample_indices(rng, d, m).into_vec()
}

/// Buffers reused by every L-inf candidate of a round.
struct Scratch {
    /// Only bounds and fixed features: a candidate differs from the best point in its
    /// window alone.
    window_only: bool,
    cand: Vec<f64>,
    touched: Vec<usize>,
}

/// An L-inf candidate in `scratch.cand`: the best point with one window set to `x0 +- eps` (one
/// sign per channel; per feature in a flat row), projected. `false` when no draw changes
/// the point. With only bounds and fixed features (`window_only`), the window is all that
/// can move and all that is projected: the rest of the best point is feasible already.
fn linf_candidate(
    x0: &[f64],
    best: &[f64],
    share: f64,
    c: &Constraints,
    p: &SquareParams,
    rng: &mut ChaCha8Rng,
    scratch: &mut Scratch,
) -> bool {
    let Scratch {
        window_only,
        cand,
        touched,
    } = scratch;
    let window_only = *window_only;
    for _ in 0..REDRAWS {
        cand.clear();
        cand.extend_from_slice(best);
        touched.clear();
        let mut set = |j: usize, v: f64, cand: &mut Vec<f64>| {
            cand[j] = x0[j] + v * c.scale[j];
            touched.push(j);
        };
        match image_shape(&p.layout) {
            Some((h, w, ch)) => {
                let side = window_side(share, h, w, 1);
                let top = rng.gen_range(0..=h - side);
                let left = rng.gen_range(0..=w - side);
                for k in 0..ch {
                    let v = p.eps * random_sign(rng);
                    for row in top..top + side {
                        for col in left..left + side {
                            set(image_index(&p.layout, row, col, k), v, cand);
                        }
                    }
                }
            }
            None => {
                for j in flat_window(x0.len(), share, 1, rng) {
                    let v = p.eps * random_sign(rng);
                    set(j, v, cand);
                }
            }
        }
        if window_only {
            let mut changed = false;
            for &j in touched.iter() {
                cand[j] = if c.mutable[j] {
                    let r = p.eps * c.scale[j];
                    cand[j]
                        .clamp(x0[j] - r, x0[j] + r)
                        .clamp(c.lower[j], c.upper[j])
                } else {
                    x0[j]
                };
                changed |= cand[j] != best[j];
            }
            if changed {
                return true;
            }
        } else {
            c.project(x0, cand, p.eps, Norm::Linf);
            if cand.as_slice() != best {
                return true;
            }
        }
    }
    false
}

/// Weight of cell `(r, col)` of a `rows x cols` rectangle in the paper's L2 shape:
/// `sum_{j = t + 1}^{n} 1 / j^2`, with `t` the Chebyshev distance to the centre and
/// `n = max(rows, cols) / 2 + 1`, so mass grows in concentric rings towards the centre
/// and every cell gets some.
fn ring_weight(rows: usize, cols: usize, r: usize, col: usize) -> f64 {
    let t = r.abs_diff(rows / 2).max(col.abs_diff(cols / 2));
    let n = rows.max(cols) / 2 + 1;
    (t + 1..=n).map(|j| 1.0 / (j * j) as f64).sum()
}

/// The paper's meta-square on an `s x s` window (row-major, unit L2 norm): the top half
/// positive, the bottom half negative, each ringed towards its centre; transposed half of
/// the time so the halves also fall left and right.
fn meta_square(s: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let top = s / 2;
    let mut v = vec![0.0; s * s];
    for r in 0..s {
        let (rows, r_in, sign) = if r < top {
            (top, r, 1.0)
        } else {
            (s - top, r - top, -1.0)
        };
        for col in 0..s {
            v[r * s + col] = sign * ring_weight(rows, s, r_in, col);
        }
    }
    if rng.gen::<bool>() {
        v = (0..s * s).map(|i| v[(i % s) * s + i / s]).collect();
    }
    scale_to(&mut v, 1.0);
    v
}

fn norm2(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Rescales `v` to L2 norm `target` (a zero vector stays zero).
fn scale_to(v: &mut [f64], target: f64) {
    let norm = norm2(v);
    if norm > 0.0 {
        v.iter_mut().for_each(|a| *a *= target / norm);
    }
}

/// The L2 start (scaled units, before the scaling to eps): the image tiled by
/// meta-squares of side `min(h, w) / 5`, each with a random sign per channel; a flat row
/// gets random signs.
fn l2_start(layout: &Layout, d: usize, rng: &mut ChaCha8Rng) -> Vec<f64> {
    let Some((h, w, ch)) = image_shape(layout) else {
        return (0..d).map(|_| random_sign(rng)).collect();
    };
    let side = (h.min(w) / 5).max(1);
    let mut delta = vec![0.0; d];
    for top in (h % side / 2..=h - side).step_by(side) {
        for left in (w % side / 2..=w - side).step_by(side) {
            let shape = meta_square(side, rng);
            for k in 0..ch {
                let sign = random_sign(rng);
                for (cell, &v) in shape.iter().enumerate() {
                    let (row, col) = (top + cell / side, left + cell % side);
                    delta[image_index(layout, row, col, k)] = sign * v;
                }
            }
        }
    }
    delta
}

/// The first window, the second, and a fresh shape per group of the first.
type L2Draw = (Vec<Vec<usize>>, Vec<Vec<usize>>, Vec<Vec<f64>>);

/// Two windows of the same size and the fresh shape for each group of the first: per
/// channel a signed meta-square for an image, one Gaussian direction for a flat row.
fn l2_draw(d: usize, share: f64, layout: &Layout, rng: &mut ChaCha8Rng) -> L2Draw {
    match image_shape(layout) {
        Some((h, w, _)) => {
            // At least 3 x 3, so that the meta-square has two halves and a centre.
            let side = window_side(share, h, w, 3);
            let first = image_window(layout, side, rng);
            let second = image_window(layout, side, rng);
            let shape = meta_square(side, rng);
            let fresh = first
                .iter()
                .map(|_| {
                    let sign = random_sign(rng);
                    shape.iter().map(|v| sign * v).collect()
                })
                .collect();
            (first, second, fresh)
        }
        None => {
            // At least 2 features: on one, the old direction plus a fresh one can only
            // double or cancel, and the search stalls far from the best direction.
            let first = flat_window(d, share, 2, rng);
            let second = flat_window(d, share, 2, rng);
            let mut fresh: Vec<f64> = first
                .iter()
                .map(|_| rng.sample::<f64, _>(StandardNormal))
                .collect();
            scale_to(&mut fresh, 1.0);
            (vec![first], vec![second], vec![fresh])
        }
    }
}

/// An L2 candidate (see the module): the mass of both windows, per channel, plus an
/// equal part of the unused budget goes to the first window as its old direction plus a
/// fresh shape; the second window is emptied; the whole perturbation is scaled to eps.
fn l2_candidate(
    x0: &[f64],
    best: &[f64],
    share: f64,
    c: &Constraints,
    p: &SquareParams,
    rng: &mut ChaCha8Rng,
) -> Vec<f64> {
    let d = x0.len();
    let mut delta: Vec<f64> = (0..d).map(|j| (best[j] - x0[j]) / c.scale[j]).collect();
    let (first, second, fresh) = l2_draw(d, share, &p.layout, rng);
    let unused = (p.eps * p.eps - norm2(&delta).powi(2)).max(0.0) / first.len() as f64;
    let mut in_union = vec![false; d];
    let mut windows = Vec::with_capacity(first.len());
    for ((w1, w2), shape) in first.iter().zip(&second).zip(fresh) {
        let held: f64 = union_mass(w1, w2, &delta, &mut in_union);
        let old: Vec<f64> = w1.iter().map(|&j| delta[j]).collect();
        let old_norm = norm2(&old);
        let mut new: Vec<f64> = shape;
        if old_norm > 0.0 {
            new.iter_mut()
                .zip(&old)
                .for_each(|(a, b)| *a += b / old_norm);
        }
        scale_to(&mut new, (held + unused).sqrt());
        windows.push(new);
    }
    for &j in second.iter().flatten() {
        delta[j] = 0.0;
    }
    for (w1, new) in first.iter().zip(windows) {
        for (&j, v) in w1.iter().zip(new) {
            delta[j] = v;
        }
    }
    point_from(x0, at_radius(delta, c, p.eps), c, p)
}

/// The squared L2 mass `delta` holds on the union of two windows of one channel
/// (`mark` is scratch space of `d` falses, left as it was found).
fn union_mass(w1: &[usize], w2: &[usize], delta: &[f64], mark: &mut [bool]) -> f64 {
    let mut mass = 0.0;
    for &j in w1.iter().chain(w2) {
        if !mark[j] {
            mark[j] = true;
            mass += delta[j] * delta[j];
        }
    }
    for &j in w1.iter().chain(w2) {
        mark[j] = false;
    }
    mass
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::progress::Progress;
    use crate::core::robustness::model::LabelFn;
    use crate::core::robustness::testkit::{
        check_outcome, gaussian, linear_problem, median_distance, rates, tabular_problem, Linear,
    };

    fn params(norm: Norm, eps: f64, max_queries: u64, layout: Layout) -> SquareParams {
        SquareParams {
            norm,
            eps,
            max_queries,
            p_init: if norm == Norm::Linf { 0.3 } else { 0.1 },
            layout,
            seed: 7,
        }
    }

    fn run(
        model: &Linear,
        x0: ArrayView2<'_, f64>,
        y: &[usize],
        c: &Constraints,
        p: &SquareParams,
        batch_size: usize,
    ) -> (AttackOutcome, u64, u64) {
        let progress = Progress::new();
        let mut m = model.model();
        let mut oracle = Oracle::new(&mut m, batch_size, &progress);
        let out = square(&mut oracle, x0, y, c, p).unwrap();
        (out, oracle.calls, oracle.rows)
    }

    /// Succeeds below the exact distance, never above it, in rounds and within budget.
    fn inside_not_outside(norm: Norm, min_rate: f64) {
        let (model, x0, y) = linear_problem(80, 20, 1);
        let eps = median_distance(&model, x0.view(), norm);
        let c = Constraints::free(20);
        let p = params(norm, eps, 400, Layout::Flat);
        let (out, calls, rows) = run(&model, x0.view(), &y, &c, &p, 0);
        let (below, n_below, above, n_above) = rates(&model, x0.view(), &out, norm, eps, 0.9);
        eprintln!(
            "square {norm:?}: success {below:.3} of {n_below} below 0.9 eps, {above:.3} of \
             {n_above} above eps; {calls} calls, {rows} rows"
        );
        assert!(n_below >= 25 && n_above >= 25);
        assert!(below >= min_rate, "{below}");
        assert_eq!(above, 0.0);
        check_outcome(&model, x0.view(), &y, &out, &c, eps, norm, 400);
        // One call per iteration plus the start and the confirmation, whatever n is.
        assert!(calls <= 400 - FIXED_ROWS + 2, "{calls} calls");
        assert!(rows > 10 * calls);
    }

    #[test]
    fn linf_finds_what_exists_and_nothing_else() {
        inside_not_outside(Norm::Linf, 0.95);
    }

    #[test]
    fn l2_finds_what_exists_and_nothing_else() {
        inside_not_outside(Norm::L2, 0.9);
    }

    /// A linear model on 8 x 8 x 3 images in [0, 1], rows in [0.2, 0.8].
    fn image_problem(n: usize) -> (Linear, Array2<f64>, Vec<usize>, Constraints) {
        let w = gaussian(1, 192, 3).into_raw_vec_and_offset().0;
        let b = -0.5 * w.iter().sum::<f64>();
        let model = Linear { w, b };
        let x0 = gaussian(n, 192, 4).mapv(|v| (0.5 + 0.1 * v).clamp(0.2, 0.8));
        let y = model.labels(x0.view());
        let mut c = Constraints::free(192);
        c.lower = vec![0.0; 192];
        c.upper = vec![1.0; 192];
        (model, x0, y, c)
    }

    /// `x` (rows of 8 x 8 x 3 images, channels last) with channels first.
    fn channels_first(x: &Array2<f64>) -> Array2<f64> {
        Array2::from_shape_fn(x.dim(), |(i, j)| {
            let (k, r, col) = (j / 64, j / 8 % 8, j % 8);
            x[[i, (r * 8 + col) * 3 + k]]
        })
    }

    #[test]
    fn images_in_both_layouts() {
        let (model, x0, y, c) = image_problem(40);
        let w_first = channels_first(&Array2::from_shape_vec((1, 192), model.w.clone()).unwrap());
        let model_first = Linear {
            w: w_first.into_raw_vec_and_offset().0,
            b: model.b,
        };
        let x0_first = channels_first(&x0);
        let layout = |channels_last| Layout::Image {
            height: 8,
            width: 8,
            channels: 3,
            channels_last,
        };
        // L2 windows carry fixed shapes, which cannot follow weights that change sign
        // pixel by pixel: count L2 successes well inside the ball.
        for (norm, below_share) in [(Norm::Linf, 0.9), (Norm::L2, 0.5)] {
            let eps = median_distance(&model, x0.view(), norm);
            let (out, calls, rows) = run(
                &model,
                x0.view(),
                &y,
                &c,
                &params(norm, eps, 500, layout(true)),
                0,
            );
            let p_first = params(norm, eps, 500, layout(false));
            let (out_first, ..) = run(&model_first, x0_first.view(), &y, &c, &p_first, 0);
            // The same search, only stored differently.
            assert_eq!(out.success, out_first.success);
            let moved = channels_first(&out.adversarial) - &out_first.adversarial;
            // (L2 norms sum in another order: rounding drifts a little.)
            assert!(moved.iter().all(|v| v.abs() < 1e-6));
            let (below, n_below, above, _) = rates(&model, x0.view(), &out, norm, eps, below_share);
            eprintln!(
                "square image {norm:?}: success {below:.3} of {n_below} below {below_share} eps, \
                 {above:.3} above eps; {calls} calls, {rows} rows"
            );
            assert!(below >= 0.9, "{below}");
            assert_eq!(above, 0.0);
            check_outcome(&model, x0.view(), &y, &out, &c, eps, norm, 500);
            if norm == Norm::Linf {
                // On the vertices of the ball (the rows are far enough from the bounds).
                for (adv, orig) in out.adversarial.outer_iter().zip(x0.outer_iter()) {
                    for (a, b) in adv.iter().zip(orig) {
                        let step = (a - b).abs();
                        assert!(step < 1e-12 || (step - eps).abs() < 1e-12, "{step}");
                    }
                }
            }
        }
    }

    #[test]
    fn constraints_hold_at_every_query() {
        let (model, x0, y, c) = tabular_problem(60);
        for norm in [Norm::Linf, Norm::L2] {
            for eps in [0.3, 1.0] {
                let p = params(norm, eps, 200, Layout::Flat);
                let progress = Progress::new();
                let mut m = model.model_within(Some(c.clone()));
                let mut oracle = Oracle::new(&mut m, 0, &progress);
                let out = square(&mut oracle, x0.view(), &y, &c, &p).unwrap();
                check_outcome(&model, x0.view(), &y, &out, &c, eps, norm, 200);
                let found = out.success.iter().filter(|&&s| s).count();
                eprintln!("square tabular {norm:?} eps {eps}: {found} of 60");
                assert!(found > 0);
            }
        }
    }

    #[test]
    fn a_column_major_input_gives_the_row_major_result() {
        let (model, x0, y) = linear_problem(9, 6, 5);
        let c = Constraints::free(6);
        let eps = median_distance(&model, x0.view(), Norm::Linf);
        let p = params(Norm::Linf, eps, 50, Layout::Flat);
        let mut fortran = Array2::<f64>::zeros(ndarray::ShapeBuilder::f((9, 6)));
        fortran.assign(&x0);
        assert!(fortran.as_slice().is_none(), "the copy is column-major");
        let (rows, ..) = run(&model, x0.view(), &y, &c, &p, 0);
        let (cols, ..) = run(&model, fortran.view(), &y, &c, &p, 0);
        assert_eq!(rows.adversarial, cols.adversarial);
        assert_eq!(rows.success, cols.success);
    }

    #[test]
    fn same_seed_same_result_whatever_the_batch_size() {
        let (model, x0, y) = linear_problem(23, 20, 2);
        let c = Constraints::free(20);
        for norm in [Norm::Linf, Norm::L2] {
            let eps = median_distance(&model, x0.view(), norm);
            let p = params(norm, eps, 100, Layout::Flat);
            let (whole, calls_whole, rows_whole) = run(&model, x0.view(), &y, &c, &p, 0);
            let (split, calls_split, rows_split) = run(&model, x0.view(), &y, &c, &p, 5);
            assert_eq!(whole.adversarial, split.adversarial);
            assert_eq!(whole.success, split.success);
            assert_eq!(whole.queries, split.queries);
            assert_eq!(rows_whole, rows_split);
            assert!(calls_split > calls_whole);
            assert_eq!(rows_whole, whole.queries.iter().sum::<u64>());
        }
    }

    #[test]
    fn refuses_labels_only_and_bad_settings() {
        let progress = Progress::new();
        let x0 = gaussian(3, 4, 1);
        let y = vec![0, 1, 0];
        let c = Constraints::free(4);
        let mut labels = LabelFn(|x: ArrayView2<'_, f64>| vec![0; x.nrows()]);
        let mut oracle = Oracle::new(&mut labels, 0, &progress);
        let p = params(Norm::Linf, 0.1, 50, Layout::Flat);
        let err = square(&mut oracle, x0.view(), &y, &c, &p).unwrap_err();
        assert!(err.to_string().contains("needs class scores"), "{err}");

        let model = Linear {
            w: vec![1.0; 4],
            b: 0.0,
        };
        let mut m = model.model();
        let mut oracle = Oracle::new(&mut m, 0, &progress);
        let mut bad = |change: &dyn Fn(&mut SquareParams), what: &str| {
            let mut p = params(Norm::L2, 0.1, 50, Layout::Flat);
            change(&mut p);
            let err = square(&mut oracle, x0.view(), &y, &c, &p).unwrap_err();
            assert!(err.to_string().contains(what), "{err}");
        };
        bad(&|p| p.max_queries = 2, "max_queries");
        bad(&|p| p.p_init = 0.0, "p_init");
        bad(&|p| p.eps = f64::NAN, "eps");
        bad(
            &|p| {
                p.layout = Layout::Image {
                    height: 2,
                    width: 2,
                    channels: 3,
                    channels_last: true,
                }
            },
            "layout",
        );
        assert_eq!(oracle.calls, 0);
        // No rows: nothing to do, no call.
        let none = Array2::zeros((0, 4));
        let p = params(Norm::Linf, 0.1, 50, Layout::Flat);
        let out = square(&mut oracle, none.view(), &[], &c, &p).unwrap();
        assert!(out.success.is_empty());
        assert_eq!(oracle.calls, 0);
    }

    #[test]
    fn schedule_halves_at_the_papers_marks() {
        assert_eq!(share_at(0.8, 0, 10_000), 0.8);
        assert_eq!(share_at(0.8, 10, 10_000), 0.8);
        assert_eq!(share_at(0.8, 11, 10_000), 0.4);
        assert_eq!(share_at(0.8, 9_999, 10_000), 0.8 / 512.0);
        // Scaled to the budget: mark 500 of 10 000 is iteration 50 of 1000.
        assert_eq!(share_at(0.8, 50, 1_000), 0.8 / 8.0);
        assert_eq!(share_at(0.8, 51, 1_000), 0.8 / 16.0);
    }

    #[test]
    fn l2_candidates_stay_on_the_sphere() {
        let c = Constraints::free(192);
        let x0 = vec![0.0; 192];
        let mut rng = sample_rng(1, 0);
        for layout in [
            Layout::Flat,
            Layout::Image {
                height: 8,
                width: 8,
                channels: 3,
                channels_last: false,
            },
        ] {
            let p = params(Norm::L2, 2.0, 10, layout);
            let mut best = point_from(&x0, start_delta(192, &c, &p, &mut rng), &c, &p);
            for share in [0.3, 0.05] {
                for _ in 0..50 {
                    assert!((c.distance(&x0, &best, Norm::L2) - 2.0).abs() < 1e-9);
                    best = l2_candidate(&x0, &best, share, &c, &p, &mut rng);
                }
            }
        }
        // The meta-square: unit norm, halves of opposite sign, heaviest at their centres.
        let m = meta_square(5, &mut rng);
        assert!((norm2(&m) - 1.0).abs() < 1e-12);
        assert_eq!(m.iter().filter(|v| **v > 0.0).count(), 10);
        assert_eq!(m.iter().filter(|v| **v < 0.0).count(), 15);
    }
}
