//! Perturbation budgets and what a perturbed row may look like.
//!
//! A budget is a norm ball around the original row `x0`: `||(x - x0) / scale|| <= eps`,
//! with `scale` per feature (1 by default, or each feature's standard deviation so that
//! `eps` means "this many standard deviations"). `Constraints` add what real tabular data
//! needs: per-feature bounds, features that may not change, integer features, and one-hot
//! groups that must stay one-hot.
//!
//! `project` maps any candidate to a feasible row near it, in this order: immutable
//! features back to `x0`; the norm ball (in scaled units); the bounds; integer features
//! rounded (towards `x0` where rounding away would leave the ball); one-hot groups set to
//! their largest entry (and left as in `x0` where switching the category would leave the
//! ball). Every candidate an attack reports goes through it.

use ndarray::ArrayView2;

use crate::core::{CoreError, CoreResult};

/// The norm of a perturbation budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Norm {
    L2,
    Linf,
}

impl Norm {
    pub fn parse(name: &str) -> CoreResult<Norm> {
        match name {
            "l2" | "L2" | "2" => Ok(Norm::L2),
            "linf" | "Linf" | "inf" => Ok(Norm::Linf),
            other => Err(CoreError::invalid(format!(
                "norm: expected \"l2\" or \"linf\", got {other:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Norm::L2 => "l2",
            Norm::Linf => "linf",
        }
    }

    /// The norm of a vector.
    pub fn of(self, v: impl Iterator<Item = f64>) -> f64 {
        match self {
            Norm::L2 => v.map(|x| x * x).sum::<f64>().sqrt(),
            Norm::Linf => v.map(f64::abs).fold(0.0, f64::max),
        }
    }
}

/// Slack of the feasibility checks (floating-point rounding of the projections).
const TOLERANCE: f64 = 1e-9;

/// What a perturbed row may look like (see the module).
#[derive(Debug, Clone, PartialEq)]
pub struct Constraints {
    pub lower: Vec<f64>,
    pub upper: Vec<f64>,
    pub mutable: Vec<bool>,
    pub integer: Vec<bool>,
    /// Disjoint groups of feature indices, each one-hot in every valid row.
    pub groups: Vec<Vec<usize>>,
    /// The unit of `eps` per feature (positive).
    pub scale: Vec<f64>,
}

impl Constraints {
    /// No constraint on `d` features: unbounded, all mutable, continuous, unit scale.
    pub fn free(d: usize) -> Self {
        Constraints {
            lower: vec![f64::NEG_INFINITY; d],
            upper: vec![f64::INFINITY; d],
            mutable: vec![true; d],
            integer: vec![false; d],
            groups: Vec::new(),
            scale: vec![1.0; d],
        }
    }

    pub fn features(&self) -> usize {
        self.lower.len()
    }

    /// Checks the constraints themselves (lengths, bounds in order, positive scales,
    /// groups disjoint and in range).
    pub fn validate(&self) -> CoreResult<()> {
        let d = self.features();
        for (name, len) in [
            ("upper", self.upper.len()),
            ("mutable", self.mutable.len()),
            ("integer", self.integer.len()),
            ("scale", self.scale.len()),
        ] {
            if len != d {
                return Err(CoreError::invalid(format!(
                    "constraints: {name} has {len} entries for {d} features"
                )));
            }
        }
        for j in 0..d {
            let (lo, hi) = (self.lower[j], self.upper[j]);
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(CoreError::invalid(format!(
                    "constraints: feature {j} has bounds [{lo}, {hi}]"
                )));
            }
            let s = self.scale[j];
            if !(s.is_finite() && s > 0.0) {
                return Err(CoreError::invalid(format!(
                    "constraints: feature {j} has scale {s}; scales must be positive and \
                     finite (a constant feature has standard deviation 0: make it \
                     immutable or give its scale)"
                )));
            }
        }
        let mut seen = vec![false; d];
        for (g, group) in self.groups.iter().enumerate() {
            if group.len() < 2 {
                return Err(CoreError::invalid(format!(
                    "constraints: one-hot group {g} has {} feature(s); a group needs at least 2",
                    group.len()
                )));
            }
            for &j in group {
                if j >= d {
                    return Err(CoreError::invalid(format!(
                        "constraints: one-hot group {g} names feature {j} of {d}"
                    )));
                }
                if seen[j] {
                    return Err(CoreError::invalid(format!(
                        "constraints: feature {j} is in two one-hot groups"
                    )));
                }
                seen[j] = true;
            }
        }
        Ok(())
    }

    /// Checks that every row of `x` satisfies the constraints (the attacks start there).
    pub fn check_rows(&self, x: ArrayView2<'_, f64>) -> CoreResult<()> {
        for (i, row) in x.outer_iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if v < self.lower[j] || v > self.upper[j] {
                    return Err(CoreError::invalid(format!(
                        "X row {i}, feature {j}: {v} is outside its bounds [{}, {}]",
                        self.lower[j], self.upper[j]
                    )));
                }
                if self.integer[j] && v != v.round() {
                    return Err(CoreError::invalid(format!(
                        "X row {i}, feature {j}: {v} is not a whole number (integer feature)"
                    )));
                }
            }
            for (g, group) in self.groups.iter().enumerate() {
                if !is_one_hot(group.iter().map(|&j| row[j])) {
                    return Err(CoreError::invalid(format!(
                        "X row {i}: one-hot group {g} is not one-hot"
                    )));
                }
            }
        }
        Ok(())
    }

    /// `||(x - x0) / scale||` (immutable features included: they should not differ).
    pub fn distance(&self, x0: &[f64], x: &[f64], norm: Norm) -> f64 {
        norm.of(x
            .iter()
            .zip(x0)
            .zip(&self.scale)
            .map(|((a, b), s)| (a - b) / s))
    }

    /// Whether `x` is a valid perturbation of `x0` within `eps` (up to rounding slack).
    pub fn feasible(&self, x0: &[f64], x: &[f64], eps: f64, norm: Norm) -> bool {
        let d = self.features();
        if x.len() != d || x0.len() != d {
            return false;
        }
        let slack = TOLERANCE * (1.0 + eps.abs());
        if eps.is_finite() && self.distance(x0, x, norm) > eps + slack {
            return false;
        }
        for j in 0..d {
            let v = x[j];
            if !v.is_finite() && v != x0[j] {
                return false;
            }
            if !self.mutable[j] && v != x0[j] {
                return false;
            }
            if v < self.lower[j] - slack || v > self.upper[j] + slack {
                return false;
            }
            if self.integer[j] && v != v.round() {
                return false;
            }
        }
        self.groups
            .iter()
            .all(|g| is_one_hot(g.iter().map(|&j| x[j])))
    }

    /// A feasible row near `x` (see the module); `eps` may be infinite (no ball).
    pub fn project(&self, x0: &[f64], x: &mut [f64], eps: f64, norm: Norm) {
        for ((v, &orig), &mutable) in x.iter_mut().zip(x0).zip(&self.mutable) {
            if !mutable || !v.is_finite() {
                *v = orig;
            }
        }
        for group in &self.groups {
            if group.iter().any(|&j| !self.mutable[j]) {
                for &j in group {
                    x[j] = x0[j];
                }
            }
        }
        self.project_ball(x0, x, eps, norm);
        for ((v, &lo), &hi) in x.iter_mut().zip(&self.lower).zip(&self.upper) {
            *v = v.clamp(lo, hi);
        }
        self.round_integers(x0, x, eps, norm);
        self.settle_groups(x0, x, eps, norm);
    }

    fn project_ball(&self, x0: &[f64], x: &mut [f64], eps: f64, norm: Norm) {
        if !eps.is_finite() {
            return;
        }
        match norm {
            Norm::Linf => {
                for j in 0..x.len() {
                    let r = eps * self.scale[j];
                    x[j] = x[j].clamp(x0[j] - r, x0[j] + r);
                }
            }
            Norm::L2 => {
                let dist = self.distance(x0, x, Norm::L2);
                if dist > eps {
                    let f = eps / dist;
                    for j in 0..x.len() {
                        x[j] = x0[j] + (x[j] - x0[j]) * f;
                    }
                }
            }
        }
    }

    /// Integer features to whole numbers: the nearest one inside the bounds, or the one
    /// towards `x0` where the nearest would leave the ball (`x0` itself is whole).
    fn round_integers(&self, x0: &[f64], x: &mut [f64], eps: f64, norm: Norm) {
        let lower_whole = |j: usize| self.lower[j].ceil();
        let upper_whole = |j: usize| self.upper[j].floor();
        let mut away = Vec::new();
        for j in 0..x.len() {
            if !self.integer[j] {
                continue;
            }
            let nearest = x[j].round().clamp(lower_whole(j), upper_whole(j));
            let toward = if x[j] >= x0[j] {
                x[j].floor().max(x0[j])
            } else {
                x[j].ceil().min(x0[j])
            };
            x[j] = nearest;
            if nearest != toward {
                away.push((j, toward));
            }
        }
        if !eps.is_finite() || away.is_empty() {
            return;
        }
        match norm {
            Norm::Linf => {
                for (j, toward) in away {
                    if (x[j] - x0[j]).abs() / self.scale[j] > eps {
                        x[j] = toward;
                    }
                }
            }
            Norm::L2 => {
                // Pull back the roundings that cost the most until the row fits.
                away.sort_by(|a, b| {
                    let cost = |&(j, t): &(usize, f64)| {
                        ((x[j] - x0[j]).powi(2) - (t - x0[j]).powi(2)) / self.scale[j].powi(2)
                    };
                    cost(b).total_cmp(&cost(a))
                });
                for (j, toward) in away {
                    if self.distance(x0, x, Norm::L2) <= eps {
                        break;
                    }
                    x[j] = toward;
                }
            }
        }
    }

    /// One-hot groups to their largest entry, or back to `x0` if that leaves the ball.
    fn settle_groups(&self, x0: &[f64], x: &mut [f64], eps: f64, norm: Norm) {
        for group in &self.groups {
            let original = group.iter().position(|&j| x0[j] == 1.0);
            let best = group
                .iter()
                .enumerate()
                .max_by(|a, b| x[*a.1].total_cmp(&x[*b.1]).then(b.0.cmp(&a.0)))
                .map(|(i, _)| i);
            // Ties keep the original category.
            let choice = match (best, original) {
                (Some(b), Some(o)) if x[group[b]] <= x[group[o]] => o,
                (Some(b), _) => b,
                (None, o) => o.unwrap_or(0),
            };
            for (i, &j) in group.iter().enumerate() {
                x[j] = if i == choice { 1.0 } else { 0.0 };
            }
            if eps.is_finite() && self.distance(x0, x, norm) > eps * (1.0 + TOLERANCE) {
                for &j in group {
                    x[j] = x0[j];
                }
            }
        }
    }
}

fn is_one_hot(values: impl Iterator<Item = f64>) -> bool {
    let mut ones = 0;
    for v in values {
        if v == 1.0 {
            ones += 1;
        } else if v != 0.0 {
            return false;
        }
    }
    ones == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cons() -> Constraints {
        let mut c = Constraints::free(6);
        c.lower[0] = 0.0;
        c.upper[0] = 1.0;
        c.mutable[1] = false;
        c.integer[2] = true;
        c.groups = vec![vec![3, 4, 5]];
        c
    }

    #[test]
    fn projection_is_feasible() {
        let c = cons();
        c.validate().unwrap();
        let x0 = [0.5, 2.0, 3.0, 1.0, 0.0, 0.0];
        for norm in [Norm::L2, Norm::Linf] {
            for eps in [0.3, 1.0, 2.5, f64::INFINITY] {
                let mut x = [1.7, 5.0, 4.6, 0.2, 0.9, 0.1];
                c.project(&x0, &mut x, eps, norm);
                assert!(c.feasible(&x0, &x, eps, norm), "{norm:?} {eps}: {x:?}");
                assert_eq!(x[1], 2.0);
            }
        }
        // A switch of category within budget happens; beyond it, it does not.
        let mut x = [0.5, 2.0, 3.0, 0.0, 1.0, 0.0];
        c.project(&x0, &mut x, 10.0, Norm::L2);
        assert_eq!(&x[3..], &[0.0, 1.0, 0.0]);
        let mut x = [0.5, 2.0, 3.0, 0.0, 1.0, 0.0];
        c.project(&x0, &mut x, 1.0, Norm::L2);
        assert_eq!(&x[3..], &[1.0, 0.0, 0.0]);
    }

    #[test]
    fn bad_constraints_and_rows_are_refused() {
        let mut c = cons();
        c.groups.push(vec![5, 0]);
        assert!(c.validate().is_err());
        let mut c = cons();
        c.scale[0] = 0.0;
        assert!(c.validate().unwrap_err().to_string().contains("scale"));
        let c = cons();
        let bad = ndarray::array![[0.5, 2.0, 3.5, 1.0, 0.0, 0.0]];
        assert!(c.check_rows(bad.view()).is_err());
        let bad = ndarray::array![[0.5, 2.0, 3.0, 1.0, 1.0, 0.0]];
        assert!(c.check_rows(bad.view()).is_err());
    }
}
