//! Distances between the distributions of two sorted samples: Wasserstein-1 and the
//! energy distance, as `scipy.stats.wasserstein_distance` and `energy_distance` define
//! them (integrals of `|F_r - F_c|` and `(F_r - F_c)^2` over the line).
//!
//! Both need finite values: infinities are left out and counted in `details`
//! (`infinite_reference`, `infinite_current`). Each distance is also given scale-free,
//! divided by the reference's standard deviation (Wasserstein) or its square root
//! (energy, which grows as the square root of the scale); that normalised value is the
//! effect size and what drift thresholds apply to.

use super::TestOutcome;
use crate::core::stats::merge::Merged;
use crate::core::stats::special::Sum;
use crate::core::{CoreError, CoreResult};

/// The finite part of an ascending sample and how many infinities were cut off.
pub fn finite_part(s: &[f64]) -> (&[f64], usize) {
    let lo = s.partition_point(|&v| v == f64::NEG_INFINITY);
    let hi = s.partition_point(|&v| v < f64::INFINITY);
    (&s[lo..hi], lo + (s.len() - hi))
}

/// Population standard deviation (two passes, compensated sums).
pub fn std_dev(s: &[f64]) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let n = s.len() as f64;
    let mean = s.iter().copied().collect::<Sum>().value() / n;
    let var = s
        .iter()
        .map(|&v| (v - mean) * (v - mean))
        .collect::<Sum>()
        .value()
        / n;
    var.sqrt()
}

/// `sum over gaps between pooled distinct values of f(F_r - F_c) * gap`.
fn cdf_integral(r: &[f64], c: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let (n1, n2) = (r.len() as f64, c.len() as f64);
    let mut total = Sum::default();
    let mut prev: Option<(f64, f64)> = None; // (value, F_r - F_c after it)
    for s in Merged::new(r, c) {
        if let Some((v, diff)) = prev {
            total.add(f(diff) * (s.value - v));
        }
        let diff = (s.below_a + s.a) as f64 / n1 - (s.below_b + s.b) as f64 / n2;
        prev = Some((s.value, diff));
    }
    total.value()
}

/// The finite parts of both samples and the details that count what was cut.
type FinitePair<'a> = (&'a [f64], &'a [f64], Vec<(&'static str, f64)>);

fn finite_pair<'a>(r: &'a [f64], c: &'a [f64], test: &str) -> CoreResult<FinitePair<'a>> {
    let (rf, ri) = finite_part(r);
    let (cf, ci) = finite_part(c);
    if rf.is_empty() || cf.is_empty() {
        return Err(CoreError::invalid(format!(
            "{test} needs at least one finite value on each side (got {} reference, {} \
             current)",
            rf.len(),
            cf.len()
        )));
    }
    let mut details = vec![];
    if ri + ci > 0 {
        details.push(("infinite_reference", ri as f64));
        details.push(("infinite_current", ci as f64));
    }
    Ok((rf, cf, details))
}

/// `raw / scale`, defined as 0 for two identical constants and infinity for a constant
/// reference and any difference.
fn normalise(raw: f64, scale: f64) -> f64 {
    if scale > 0.0 {
        raw / scale
    } else if raw == 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

/// Wasserstein-1 distance `∫ |F_r - F_c|`; the effect size divides it by the reference's
/// standard deviation.
pub fn wasserstein(r: &[f64], c: &[f64]) -> CoreResult<TestOutcome> {
    let (rf, cf, mut details) = finite_pair(r, c, "wasserstein")?;
    let raw = cdf_integral(rf, cf, f64::abs);
    let sd = std_dev(rf);
    let normalised = normalise(raw, sd);
    details.push(("normalized", normalised));
    details.push(("reference_std", sd));
    Ok(TestOutcome {
        statistic: raw,
        pvalue: None,
        method: "distance",
        effect_size: Some(normalised),
        details,
    })
}

/// Energy distance `sqrt(2 ∫ (F_r - F_c)^2)`; the effect size divides it by the square
/// root of the reference's standard deviation.
pub fn energy(r: &[f64], c: &[f64]) -> CoreResult<TestOutcome> {
    let (rf, cf, mut details) = finite_pair(r, c, "energy")?;
    let raw = (2.0 * cdf_integral(rf, cf, |d| d * d)).sqrt();
    let sd = std_dev(rf);
    let normalised = normalise(raw, sd.sqrt());
    details.push(("normalized", normalised));
    details.push(("reference_std", sd));
    Ok(TestOutcome {
        statistic: raw,
        pvalue: None,
        method: "distance",
        effect_size: Some(normalised),
        details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_of_a_point_mass() {
        let o = wasserstein(&[0.0], &[3.0]).unwrap();
        assert_eq!(o.statistic, 3.0);
        assert_eq!(o.effect_size, Some(f64::INFINITY));
        let o = energy(&[0.0], &[3.0]).unwrap();
        assert!((o.statistic - 6f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn infinities_are_cut_and_counted() {
        let r = [f64::NEG_INFINITY, 0.0, 1.0];
        let c = [0.0, 1.0, f64::INFINITY, f64::INFINITY];
        let o = wasserstein(&r, &c).unwrap();
        assert_eq!(o.statistic, 0.0);
        assert!(o.details.contains(&("infinite_current", 2.0)));
        assert!(wasserstein(&[f64::INFINITY], &[1.0]).is_err());
    }

    #[test]
    fn uniform_shift_equals_the_shift() {
        let r: Vec<f64> = (0..100).map(f64::from).collect();
        let c: Vec<f64> = r.iter().map(|v| v + 0.5).collect();
        let o = wasserstein(&r, &c).unwrap();
        assert!((o.statistic - 0.5).abs() < 1e-12);
    }
}
