//! The ROC curve of a membership score, as the membership-inference literature reports it.
//!
//! The curve has one point per distinct score: the attack calls a record a member when its
//! score is at least the threshold. Points are kept as counts (`tp`, `fp`) so the exact
//! binomial intervals of `bounds` apply to them. The first point is `(0, 0)` (threshold
//! `+inf`), the last `(n_members, n_nonmembers)`.
//!
//! * AUC: the area under the step-free (trapezoid) curve through these points, which equals
//!   the Mann-Whitney probability `P(S_member > S_nonmember) + P(tie) / 2`.
//! * TPR at FPR `a`: the largest TPR over thresholds whose FPR is at most `a` (no
//!   interpolation: a threshold the attacker can actually use).

use rayon::prelude::*;

use crate::core::{CoreError, CoreResult};

/// Scores from which the sort runs on the thread pool; below, handing the work to other
/// threads costs more than it saves.
const PAR_SORT_MIN: usize = 1 << 15;

#[derive(Debug, Clone)]
pub struct Roc {
    /// Members called members at each threshold (non-decreasing, from 0).
    pub tp: Vec<u64>,
    /// Non-members called members at each threshold (non-decreasing, from 0).
    pub fp: Vec<u64>,
    /// The score threshold of each point (`+inf` for the first).
    pub thresholds: Vec<f64>,
    pub n_members: u64,
    pub n_nonmembers: u64,
    pub auc: f64,
}

impl Roc {
    /// The largest TPR over the points whose FPR is at most `fpr`, with its counts.
    pub fn tpr_at(&self, fpr: f64) -> (f64, u64, u64) {
        let n0 = self.n_nonmembers as f64;
        // fp is non-decreasing: the last point with fp / n0 <= fpr has the largest tp.
        let idx = self
            .fp
            .partition_point(|&f| (f as f64) / n0 <= fpr)
            .saturating_sub(1);
        let tp = self.tp[idx];
        (tp as f64 / self.n_members as f64, tp, self.fp[idx])
    }

    /// The attacker's advantage: the largest `TPR - FPR` over the thresholds.
    pub fn advantage(&self) -> f64 {
        let (n1, n0) = (self.n_members as f64, self.n_nonmembers as f64);
        self.tp
            .iter()
            .zip(&self.fp)
            .map(|(&t, &f)| t as f64 / n1 - f as f64 / n0)
            .fold(0.0, f64::max)
    }
}

/// The ROC of `scores` (higher = more likely a member) against the truth `is_member`.
/// Scores may be `+-inf` (a sure call either way), not NaN; both classes must occur.
pub fn roc(scores: &[f64], is_member: &[bool]) -> CoreResult<Roc> {
    if scores.len() != is_member.len() {
        return Err(CoreError::invalid(format!(
            "scores has {} values but is_member has {}",
            scores.len(),
            is_member.len()
        )));
    }
    if let Some(i) = scores.iter().position(|s| s.is_nan()) {
        return Err(CoreError::invalid(format!("scores: NaN at position {i}")));
    }
    let n1 = is_member.iter().filter(|&&m| m).count() as u64;
    let n0 = is_member.len() as u64 - n1;
    if n1 == 0 || n0 == 0 {
        return Err(CoreError::invalid(format!(
            "is_member: needs both members and non-members, got {n1} members and {n0} \
             non-members"
        )));
    }
    let mut order: Vec<(f64, bool)> = scores
        .iter()
        .copied()
        .zip(is_member.iter().copied())
        .collect();
    // Descending by score; ties are grouped into one point below, so their order is free
    // (and the curve the same whichever sort ran).
    if order.len() >= PAR_SORT_MIN {
        order.par_sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    } else {
        order.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    }
    let mut tp = vec![0u64];
    let mut fp = vec![0u64];
    let mut thresholds = vec![f64::INFINITY];
    let (mut t, mut f) = (0u64, 0u64);
    let mut auc2 = 0u128; // twice the area, in units of 1 / (n1 n0)
    let mut i = 0;
    while i < order.len() {
        let s = order[i].0;
        let (t0, f0) = (t, f);
        while i < order.len() && order[i].0 == s {
            if order[i].1 {
                t += 1;
            } else {
                f += 1;
            }
            i += 1;
        }
        // Trapezoid between (f0, t0) and (f, t): (f - f0) * (t0 + t) / 2.
        auc2 += u128::from(f - f0) * u128::from(t0 + t);
        tp.push(t);
        fp.push(f);
        thresholds.push(s);
    }
    let auc = auc2 as f64 / (2.0 * n1 as f64 * n0 as f64);
    Ok(Roc {
        tp,
        fp,
        thresholds,
        n_members: n1,
        n_nonmembers: n0,
        auc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::stats::special::norm_sf;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    #[test]
    fn auc_counts_ties_half() {
        // Members 3, 2; non-members 2, 1: pairs (3>2, 3>1, 2=2, 2>1) -> (3 + 0.5) / 4.
        let r = roc(&[3.0, 2.0, 2.0, 1.0], &[true, true, false, false]).unwrap();
        assert!((r.auc - 3.5 / 4.0).abs() < 1e-15);
        assert_eq!(r.tp, vec![0, 1, 2, 2]);
        assert_eq!(r.fp, vec![0, 0, 1, 2]);
        assert_eq!(r.tpr_at(0.0).0, 0.5);
        assert_eq!(r.tpr_at(0.5).0, 1.0);
        assert!((r.advantage() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn perfect_and_reversed_scores() {
        let r = roc(&[1.0, 0.0], &[true, false]).unwrap();
        assert_eq!(r.auc, 1.0);
        let r = roc(&[0.0, 1.0], &[true, false]).unwrap();
        assert_eq!(r.auc, 0.0);
        assert_eq!(r.tpr_at(0.0).0, 0.0);
    }

    #[test]
    fn bad_inputs_are_refused() {
        assert!(roc(&[1.0], &[true, false]).is_err());
        assert!(roc(&[1.0, 2.0], &[true, true]).is_err());
        assert!(roc(&[f64::NAN, 2.0], &[true, false]).is_err());
        assert!(roc(&[f64::INFINITY, 2.0], &[true, false]).is_ok());
    }

    fn phi_inv_upper(a: f64) -> f64 {
        // Bisection of norm_sf(z) = a; plenty for a test.
        let (mut lo, mut hi) = (-10.0, 10.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if norm_sf(mid) > a {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    #[test]
    fn gaussian_scores_match_the_closed_form() {
        // Members N(d, 1), non-members N(0, 1): TPR at FPR a is 1 - Phi(Phi^-1(1-a) - d),
        // the AUC Phi(d / sqrt 2).
        let n = 1_000_000;
        let d = 2.0;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut scores = Vec::with_capacity(2 * n);
        let mut member = Vec::with_capacity(2 * n);
        for i in 0..2 * n {
            let z: f64 = StandardNormal.sample(&mut rng);
            let m = i < n;
            scores.push(if m { z + d } else { z });
            member.push(m);
        }
        let r = roc(&scores, &member).unwrap();
        for (a, expected) in [(0.001, 0.1378), (0.01, 0.3721)] {
            let t = phi_inv_upper(a);
            let exact = norm_sf(t - d);
            assert!((exact - expected).abs() < 1e-4, "{exact}");
            // Delta-method sd: binomial TPR noise plus the threshold's FPR noise times the
            // ROC slope phi(t - d) / phi(t) = exp(d t - d^2 / 2).
            let slope = (d * t - d * d / 2.0).exp();
            let nf = n as f64;
            let sd = (exact * (1.0 - exact) / nf + slope * slope * a * (1.0 - a) / nf).sqrt();
            let got = r.tpr_at(a).0;
            assert!(
                (got - exact).abs() < 4.0 * sd,
                "a={a}: {got} vs {exact} (sd {sd})"
            );
        }
        let auc = 1.0 - norm_sf(d / std::f64::consts::SQRT_2);
        assert!((r.auc - auc).abs() < 0.002, "{} vs {auc}", r.auc);
    }
}
