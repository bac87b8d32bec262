//! Distances on binned numeric samples: PSI, KL, Jensen-Shannon, Hellinger and total
//! variation, computed on the counts of bins cut at reference quantiles.
//!
//! The bins: `bins` quantile bins over the reference range — cut points at the reference
//! quantiles `i / bins` (linear interpolation, as numpy's default) that lie strictly
//! inside `(min, max)` of the finite reference values, duplicates merged, so heavily tied
//! data simply gets fewer bins — plus one bin below the reference minimum and one above
//! its maximum. Those two are empty in the reference (but for its infinities), so a
//! current value outside the reference range always counts, and a constant reference
//! still detects a current sample that moved away. Intervals are closed on the right:
//! `[min, q1], (q1, q2], ..., (qm, max]`.

use super::categorical;
use super::distance::finite_part;
use super::TestOutcome;
use crate::core::stats::sort::{count_le, count_lt};
use crate::core::{CoreError, CoreResult};

/// Bin edges (from `-inf` to `inf`) and the counts of each side in each bin.
#[derive(Debug, Clone, PartialEq)]
pub struct Bins {
    pub edges: Vec<f64>,
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let i = h.floor() as usize;
    let frac = h - i as f64;
    match sorted.get(i + 1) {
        Some(&next) if frac > 0.0 => sorted[i] + frac * (next - sorted[i]),
        _ => sorted[i],
    }
}

/// Counts of both ascending samples in bins cut at reference quantiles (see the module).
pub fn reference_bins(r: &[f64], c: &[f64], bins: usize) -> CoreResult<Bins> {
    if bins == 0 {
        return Err(CoreError::invalid("bins: expected at least 1 bin"));
    }
    let (rf, _) = finite_part(r);
    if rf.is_empty() || c.is_empty() {
        return Err(CoreError::invalid(format!(
            "binned distances need finite reference values and a current value (got {} \
             finite reference, {} current)",
            rf.len(),
            c.len()
        )));
    }
    let (lo, hi) = (rf[0], rf[rf.len() - 1]);
    let mut edges = vec![f64::NEG_INFINITY, lo];
    for i in 1..bins {
        let q = quantile(rf, i as f64 / bins as f64);
        if q > lo && q < hi && q > *edges.last().unwrap_or(&lo) {
            edges.push(q);
        }
    }
    // The top of the reference range (equal to `lo` for a constant: the bin [lo, lo]).
    edges.push(hi);
    edges.push(f64::INFINITY);
    let counts = |s: &[f64]| -> Vec<u64> {
        // Cumulative counts at each edge: below `lo` strictly, then `<= edge`.
        let mut at: Vec<usize> = Vec::with_capacity(edges.len());
        at.push(0);
        at.push(count_lt(s, lo));
        for &e in &edges[2..edges.len() - 1] {
            at.push(count_le(s, e));
        }
        at.push(s.len());
        at.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
    };
    let (reference, current) = (counts(r), counts(c));
    Ok(Bins {
        edges,
        reference,
        current,
    })
}

fn with_bins(
    r: &[f64],
    c: &[f64],
    bins: usize,
    f: impl Fn(&[u64], &[u64]) -> CoreResult<TestOutcome>,
) -> CoreResult<TestOutcome> {
    let b = reference_bins(r, c, bins)?;
    let mut out = f(&b.reference, &b.current)?;
    out.details.retain(|(k, _)| *k != "cells");
    out.details.push(("bins", b.reference.len() as f64));
    Ok(out)
}

/// Population stability index on reference-quantile bins, frequencies floored at `eps`.
pub fn psi(r: &[f64], c: &[f64], bins: usize, eps: f64) -> CoreResult<TestOutcome> {
    with_bins(r, c, bins, |a, b| categorical::psi_counts(a, b, eps))
}

/// `KL(reference || current)` on reference-quantile bins, frequencies floored at `eps`.
pub fn kl(r: &[f64], c: &[f64], bins: usize, eps: f64) -> CoreResult<TestOutcome> {
    with_bins(r, c, bins, |a, b| categorical::kl_counts(a, b, eps))
}

/// Jensen-Shannon distance on reference-quantile bins.
pub fn jensen_shannon(r: &[f64], c: &[f64], bins: usize) -> CoreResult<TestOutcome> {
    with_bins(r, c, bins, categorical::jensen_shannon_counts)
}

/// Hellinger distance on reference-quantile bins.
pub fn hellinger(r: &[f64], c: &[f64], bins: usize) -> CoreResult<TestOutcome> {
    with_bins(r, c, bins, categorical::hellinger_counts)
}

/// Total variation distance on reference-quantile bins.
pub fn total_variation(r: &[f64], c: &[f64], bins: usize) -> CoreResult<TestOutcome> {
    with_bins(r, c, bins, categorical::total_variation_counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deciles_of_a_uniform_grid() {
        let r: Vec<f64> = (0..=100).map(f64::from).collect();
        let b = reference_bins(&r, &r, 10).unwrap();
        // -inf, 0, 10, 20, ..., 90, 100, inf
        assert_eq!(b.edges.len(), 13);
        assert_eq!(b.reference.iter().sum::<u64>(), 101);
        assert_eq!((b.reference[0], *b.reference.last().unwrap()), (0, 0));
        assert_eq!(b.reference[1], 11); // [0, 10]
        assert_eq!(b.reference[2], 10); // (10, 20]
    }

    #[test]
    fn constant_reference_still_sees_a_move() {
        let r = vec![5.0; 50];
        let same = psi(&r, &[5.0; 10], 10, 1e-4).unwrap();
        assert_eq!(same.statistic, 0.0);
        for c in [[7.0; 10], [3.0; 10]] {
            let moved = total_variation(&r, &c, 10).unwrap();
            assert_eq!(moved.statistic, 1.0);
        }
    }

    #[test]
    fn infinities_land_in_the_outer_bins() {
        let r = [f64::NEG_INFINITY, 1.0, 2.0, 3.0];
        let c = [1.0, 2.0, f64::INFINITY];
        let b = reference_bins(&r, &c, 2).unwrap();
        assert_eq!(b.reference[0], 1);
        assert_eq!(*b.current.last().unwrap(), 1);
        assert!(reference_bins(&[f64::INFINITY], &c, 2).is_err());
    }
}
