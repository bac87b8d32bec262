//! Distances between the distributions of two sorted samples: Wasserstein-1 and the
//! energy distance, as `scipy.stats.wasserstein_distance` and `energy_distance` define
//! them (integrals of `|F_r - F_c|` and `(F_r - F_c)^2` over the line; the first is
//! computed as the equal integral of the distance between the quantile functions).
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

/// Population standard deviation: two passes, each summed in blocks (plain sums of 256
/// values, the block sums added with compensation), so the error stays near one rounding
/// without a compensated step per value.
pub fn std_dev(s: &[f64]) -> f64 {
    if s.is_empty() {
        return f64::NAN;
    }
    let n = s.len() as f64;
    let mean = block_sum(s.iter().copied()) / n;
    let var = block_sum(s.iter().map(|&v| (v - mean) * (v - mean))) / n;
    var.sqrt()
}

fn block_sum(values: impl Iterator<Item = f64>) -> f64 {
    let mut total = Sum::default();
    let mut block = 0.0;
    for (i, v) in values.enumerate() {
        block += v;
        if i % 256 == 255 {
            total.add(block);
            block = 0.0;
        }
    }
    total.add(block);
    total.value()
}

/// `sum over gaps between pooled distinct values of f(F_r - F_c) * gap`, with
/// `F_r - F_c = (a n2 - b n1) / (n1 n2)` carried in exact integers (no division per value;
/// `n1 n2 < 2^62` for any sample that fits in memory).
fn cdf_integral(r: &[f64], c: &[f64], f: impl Fn(f64) -> f64) -> f64 {
    let (n1, n2) = (r.len() as i64, c.len() as i64);
    let scale = 1.0 / (n1 as f64 * n2 as f64);
    // Before the first value both CDFs are 0 (and f(0) = 0 for every integrand here).
    let mut prev_value = r[0].min(c[0]);
    let mut prev_diff = 0.0;
    let mut total = Sum::default();
    let (mut block, mut in_block) = (0.0, 0u32);
    for s in Merged::new(r, c) {
        block += f(prev_diff) * (s.value - prev_value);
        let lattice = (s.below_a + s.a) as i64 * n2 - (s.below_b + s.b) as i64 * n1;
        prev_value = s.value;
        prev_diff = lattice as f64 * scale;
        in_block += 1;
        if in_block == 256 {
            total.add(block);
            (block, in_block) = (0.0, 0);
        }
    }
    total.add(block);
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

/// `∫ |F_r^-1(u) - F_c^-1(u)| du` over `(0, 1)`, equal to `∫ |F_r - F_c| dx`: the two
/// quantile functions are step functions with steps at `i / n1` and `j / n2`, so the walk
/// over their pieces follows a fixed pattern (no comparison of data decides the next step)
/// and is a plain loop over the sorted arrays. Positions are integers in units of
/// `1 / (n1 n2)`.
fn quantile_l1(r: &[f64], c: &[f64]) -> f64 {
    let (n1, n2) = (r.len() as u64, c.len() as u64);
    let (mut i, mut j, mut pos) = (0usize, 0usize, 0u64);
    let mut total = Sum::default();
    let (mut block, mut in_block) = (0.0, 0u32);
    while i < r.len() && j < c.len() {
        let end_r = (i as u64 + 1) * n2;
        let end_c = (j as u64 + 1) * n1;
        let end = end_r.min(end_c);
        block += (r[i] - c[j]).abs() * (end - pos) as f64;
        pos = end;
        i += usize::from(end_r == end);
        j += usize::from(end_c == end);
        in_block += 1;
        if in_block == 256 {
            total.add(block);
            (block, in_block) = (0.0, 0);
        }
    }
    total.add(block);
    total.value() / (n1 as f64 * n2 as f64)
}

/// `x * 2^e`, in steps small enough that no factor overflows or underflows (`2^1024` alone
/// is infinite although `x * 2^1024` may be finite for `x < 1`). Exact for whole `e` while
/// the result is a normal number.
fn times_pow2(x: f64, e: f64) -> f64 {
    let mut out = x;
    let mut left = e;
    while left != 0.0 {
        let step = left.clamp(-500.0, 500.0);
        out *= 2f64.powf(step);
        left -= step;
    }
    out
}

/// A distance of the finite parts of both samples, `raw(r, c)`, with its normalised value
/// `raw / scale(std of the reference)` as the effect size.
///
/// Values whose magnitude passes `2^500` are first divided by a power of two (exact), so
/// that differences, squares and sums cannot overflow; `degree` says how the distance
/// grows with the scale of the data (1 for Wasserstein, 1/2 for energy), and the
/// normalised value needs no scaling back. A distance that still cannot be computed is an
/// error, never a NaN that a threshold would read.
fn scaled_distance(
    r: &[f64],
    c: &[f64],
    test: &str,
    raw: impl Fn(&[f64], &[f64]) -> f64,
    scale: impl Fn(f64) -> f64,
    degree: f64,
) -> CoreResult<TestOutcome> {
    let (rf, cf, mut details) = finite_pair(r, c, test)?;
    let largest = [rf[0], rf[rf.len() - 1], cf[0], cf[cf.len() - 1]]
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let (value, sd, normalised) = if largest > 2f64.powi(500) {
        let shift = largest.log2().ceil() as i32;
        let down = |v: &f64| times_pow2(*v, -f64::from(shift));
        let rs: Vec<f64> = rf.iter().map(down).collect();
        let cs: Vec<f64> = cf.iter().map(down).collect();
        let (value, sd) = (raw(&rs, &cs), std_dev(&rs));
        let back = f64::from(shift) * degree;
        (
            times_pow2(value, back),
            times_pow2(sd, f64::from(shift)),
            normalise(value, scale(sd)),
        )
    } else {
        let (value, sd) = (raw(rf, cf), std_dev(rf));
        (value, sd, normalise(value, scale(sd)))
    };
    if value.is_nan() || normalised.is_nan() {
        return Err(CoreError::invalid(format!(
            "{test}: the distance cannot be computed for these values"
        )));
    }
    details.push(("normalized", normalised));
    details.push(("reference_std", sd));
    Ok(TestOutcome {
        statistic: value,
        pvalue: None,
        method: "distance",
        effect_size: Some(normalised),
        details,
    })
}

/// Wasserstein-1 distance `∫ |F_r - F_c|`; the effect size divides it by the reference's
/// standard deviation.
pub fn wasserstein(r: &[f64], c: &[f64]) -> CoreResult<TestOutcome> {
    scaled_distance(r, c, "wasserstein", quantile_l1, |sd| sd, 1.0)
}

/// Energy distance `sqrt(2 ∫ (F_r - F_c)^2)`; the effect size divides it by the square
/// root of the reference's standard deviation.
pub fn energy(r: &[f64], c: &[f64]) -> CoreResult<TestOutcome> {
    let raw = |rf: &[f64], cf: &[f64]| (2.0 * cdf_integral(rf, cf, |d| d * d)).sqrt();
    scaled_distance(r, c, "energy", raw, f64::sqrt, 0.5)
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
    fn huge_finite_values_do_not_overflow() {
        // scipy: wasserstein_distance = 6.333333333333333e+307 and
        // energy_distance = 6.49786289653931e+153 for these samples.
        let r = [-1e308, 5e307, 1e308];
        let c = [-1.7e308, 0.0, 1.7e308];
        let w = wasserstein(&r, &c).unwrap();
        assert!(
            (w.statistic / 6.333333333333333e307 - 1.0).abs() < 1e-12,
            "{w:?}"
        );
        assert!(w.effect_size.unwrap().is_finite());
        let e = energy(&r, &c).unwrap();
        assert!(
            (e.statistic / 6.49786289653931e153 - 1.0).abs() < 1e-12,
            "{e:?}"
        );
        // The same samples a million times smaller: the same normalised distances.
        let small = |v: &[f64]| v.iter().map(|x| x * 1e-300).collect::<Vec<f64>>();
        let ws = wasserstein(&small(&r), &small(&c)).unwrap();
        assert!((ws.effect_size.unwrap() / w.effect_size.unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn uniform_shift_equals_the_shift() {
        let r: Vec<f64> = (0..100).map(f64::from).collect();
        let c: Vec<f64> = r.iter().map(|v| v + 0.5).collect();
        let o = wasserstein(&r, &c).unwrap();
        assert!((o.statistic - 0.5).abs() < 1e-12);
    }
}
