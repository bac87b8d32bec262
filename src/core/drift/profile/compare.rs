//! One column of two profiles compared: what `mlsentry.drift.compare` reports when a side
//! is a profile (the other side is profiled first, so a table and its profile give the
//! same report).
//!
//! * Categorical: the count tests and distances of `drift::compare` on the categories
//!   both profiles keep at the higher of their two levels, plus one cell for the rest
//!   when either side has one. Exact counts, so exactly the frame's numbers when neither
//!   side passed the category cap (rare categories are pooled by the same rule as on
//!   frames).
//! * Numeric, binned tests (`psi`, `jensen_shannon`, `hellinger`, `kl`,
//!   `total_variation`): the bins of `drift::binned` (reference quantiles, plus one bin
//!   below the reference minimum and one above its maximum) with each cut moved to the
//!   upper edge of the grid bucket holding the quantile's order statistic. The counts are
//!   exact; when no value of either side lies between a frame cut and that edge (integer
//!   data, say), the bins and so the numbers are the frame's.
//! * Numeric, `ks`: the grid knows each empirical CDF exactly at bucket edges, so
//!   `D_low = max |F_r - F_c|` over the edges is attained, and inside a bucket holding
//!   values of both sides neither CDF leaves its edge values, so `D <= D_high` (the
//!   largest gap between one side's CDF after the bucket and the other's before it).
//!   The statistic reported is `(D_low + D_high) / 2` with the error bound
//!   `e = (D_high - D_low) / 2`: the rank error of the grid, at most the largest share
//!   of a side in one bucket (about 0.04 % of a standard normal sample per bucket near
//!   one standard deviation). The p-value is the asymptotic Kolmogorov distribution at
//!   `n1 n2 / (n1 + n2)`, and `pvalue_low = p(D_high)`, `pvalue_high = p(D_low)` bound it.
//! * The effect (normalised Wasserstein distance) puts each bucket at its midpoint.

use rayon::prelude::*;

use super::super::categorical;
use super::super::compare::{
    count_test, missing_test, resolve_count_test, top_categories, ColumnOutput, Histogram, Test,
    PSI_EPS,
};
use super::super::TestOutcome;
use super::{grid, CategoryProfile, ColumnData, NumericProfile};
use crate::core::progress::Progress;
use crate::core::stats::kolmogorov::kolmogorov_sf;
use crate::core::{CoreError, CoreResult};

/// The label of the cell that holds the categories past the cap.
pub const OTHER_LABEL: &str = "(other categories)";
/// Pooling of rare categories, as the frame comparison does it.
const POOL_ABOVE: usize = 1000;
const RARE_EXPECTED: f64 = 5.0;

/// A test on the counts of the two sides.
type CountTest = dyn Fn(&[u64], &[u64]) -> CoreResult<TestOutcome>;

/// One column's comparison, with what the report needs beyond `ColumnOutput`.
#[derive(Debug, Clone, Default)]
pub struct PairOutput {
    pub output: ColumnOutput,
    /// Names of the histogram's category codes (categorical).
    pub labels: Vec<String>,
    /// Categories kept in current that the reference lacks.
    pub new_categories: usize,
    pub note: String,
}

pub struct Pair<'a> {
    pub name: &'a str,
    pub reference: &'a ColumnData,
    pub current: &'a ColumnData,
    pub test: Test,
    pub bins: usize,
}

/// Compares every pair, in parallel.
pub fn compare(pairs: &[Pair<'_>], progress: &Progress) -> CoreResult<Vec<PairOutput>> {
    progress.add_total(pairs.len() as u64);
    pairs
        .par_iter()
        .map(|p| {
            progress.check()?;
            let out = compare_pair(p).map_err(|e| match e {
                CoreError::InvalidInput(m) => {
                    CoreError::InvalidInput(format!("column {:?}: {m}", p.name))
                }
                other => other,
            });
            progress.advance(1);
            out
        })
        .collect()
}

pub fn compare_pair(p: &Pair<'_>) -> CoreResult<PairOutput> {
    match (p.reference, p.current) {
        (ColumnData::Numeric(r), ColumnData::Numeric(c)) => numeric(r, c, p.test, p.bins),
        (ColumnData::Categorical(r), ColumnData::Categorical(c)) => categorical(r, c, p.test),
        _ => Err(CoreError::invalid(
            "the column is numeric on one side and categorical on the other",
        )),
    }
}

fn keep(out: &mut ColumnOutput, outcome: CoreResult<TestOutcome>) -> CoreResult<()> {
    match outcome {
        Ok(o) => out.outcome = Some(o),
        Err(CoreError::InvalidInput(msg)) => out.error = Some(msg),
        Err(e) => return Err(e),
    }
    Ok(())
}

fn numeric(
    r: &NumericProfile,
    c: &NumericProfile,
    test: Test,
    bins: usize,
) -> CoreResult<PairOutput> {
    let test = if test == Test::Auto { Test::Ks } else { test };
    let (nr, nc) = (r.present(), c.present());
    let (mr, mc) = (r.missing, c.missing);
    let infinite = |p: &NumericProfile| p.count_of(grid::neg_inf()) + p.count_of(grid::pos_inf());
    let mut out = ColumnOutput {
        test: test.name(),
        n_reference: nr as usize,
        n_current: nc as usize,
        missing_reference: mr as usize,
        missing_current: mc as usize,
        missing_test: missing_test(mr as usize, nr as usize, mc as usize, nc as usize)?,
        infinite_reference: infinite(r) as usize,
        infinite_current: infinite(c) as usize,
        ..Default::default()
    };
    let cuts = quantile_cuts(r, bins.max(1));
    out.histogram = histogram(r, c, &cuts);
    if nr == 0 || nc == 0 {
        return Ok(PairOutput {
            output: out,
            ..Default::default()
        });
    }
    let binned = |f: &CountTest| {
        let (rb, cb) = binned_counts(r, c, bins.max(1))?;
        let mut o = f(&rb, &cb)?;
        o.details.retain(|(k, _)| *k != "cells");
        o.details.push(("bins", rb.len() as f64));
        Ok(o)
    };
    let outcome = match test {
        Test::Ks => ks(r, c),
        Test::Psi => binned(&|a, b| categorical::psi_counts(a, b, PSI_EPS)),
        Test::Kl => binned(&|a, b| categorical::kl_counts(a, b, PSI_EPS)),
        Test::JensenShannon => binned(&categorical::jensen_shannon_counts),
        Test::Hellinger => binned(&categorical::hellinger_counts),
        Test::TotalVariation => binned(&categorical::total_variation_counts),
        other => Err(CoreError::invalid(format!(
            "test {:?} needs the values themselves; from a profile a numeric column \
             supports ks, psi, jensen_shannon, hellinger, kl and total_variation",
            other.name()
        ))),
    };
    keep(&mut out, outcome)?;
    out.effect = wasserstein(r, c).ok();
    Ok(PairOutput {
        output: out,
        ..Default::default()
    })
}

/// Cumulative count of `p` through bucket `b` (inclusive).
fn through(p: &NumericProfile, b: u32) -> u64 {
    let end = p.buckets.partition_point(|&k| k <= b);
    p.counts[..end].iter().sum()
}

/// The reference's bin cuts: bin `j` ends after bucket `cuts[j]` (see the module).
pub fn quantile_cuts(r: &NumericProfile, bins: usize) -> Vec<u32> {
    let (ninf, pinf) = (grid::neg_inf(), grid::pos_inf());
    let finite: Vec<(u32, u64)> = r
        .buckets
        .iter()
        .zip(&r.counts)
        .filter(|(&b, _)| b != ninf && b != pinf)
        .map(|(&b, &k)| (b, k))
        .collect();
    let nf: u64 = finite.iter().map(|x| x.1).sum();
    if nf == 0 {
        return Vec::new();
    }
    let (blo, bhi) = (grid::bucket(r.min), grid::bucket(r.max));
    // The bucket of the i-th finite value (0-based), by a walk over the cumulative counts
    // that goes on from the bucket of the last question (questions come in nearly
    // increasing order, so the buckets are walked about once, not once per bin).
    // `before`: the values in the buckets before `finite[pos]`.
    let (mut pos, mut before) = (0usize, 0u64);
    let mut at = |i: u64| -> u32 {
        if i < before {
            (pos, before) = (0, 0);
        }
        while let Some(&(b, k)) = finite.get(pos) {
            if i < before + k {
                return b;
            }
            before += k;
            pos += 1;
        }
        bhi
    };
    let mut cuts: Vec<u32> = Vec::new();
    for i in 1..bins {
        let h = (nf - 1) as f64 * (i as f64 / bins as f64);
        let idx = h.floor() as u64;
        let frac = h - idx as f64;
        let b = at(idx);
        let above_lo = b > blo || (frac > 0.0 && idx + 1 < nf && at(idx + 1) > blo);
        if above_lo && b < bhi && cuts.last().is_none_or(|&l| b > l) {
            cuts.push(b);
        }
    }
    cuts
}

/// Counts of both sides in the reference's bins: below the reference minimum's bucket,
/// between cuts, above the maximum's bucket.
fn binned_counts(
    r: &NumericProfile,
    c: &NumericProfile,
    bins: usize,
) -> CoreResult<(Vec<u64>, Vec<u64>)> {
    let finite_r = r.present() - r.count_of(grid::neg_inf()) - r.count_of(grid::pos_inf());
    if finite_r == 0 {
        return Err(CoreError::invalid(format!(
            "binned distances need finite reference values and a current value (got 0 \
             finite reference, {} current)",
            c.present()
        )));
    }
    let cuts = quantile_cuts(r, bins);
    let (blo, bhi) = (grid::bucket(r.min), grid::bucket(r.max));
    let counts = |p: &NumericProfile| -> Vec<u64> {
        let mut at = vec![0u64];
        at.push(if blo == 0 { 0 } else { through(p, blo - 1) });
        for &b in &cuts {
            at.push(through(p, b));
        }
        at.push(through(p, bhi));
        at.push(p.present());
        at.windows(2).map(|w| w[1] - w[0]).collect()
    };
    Ok((counts(r), counts(c)))
}

/// The report's histogram: the finite values in the reference's quantile bins, from the
/// smallest to the largest finite value of both sides.
fn histogram(r: &NumericProfile, c: &NumericProfile, cuts: &[u32]) -> Histogram {
    let lo = r.min.min(c.min);
    let hi = r.max.max(c.max);
    if lo > hi {
        return Histogram::default();
    }
    let (ninf, pinf) = (grid::neg_inf(), grid::pos_inf());
    let inner: Vec<u32> = cuts
        .iter()
        .copied()
        .filter(|&b| grid::upper(b) > lo && grid::upper(b) < hi)
        .collect();
    let mut edges = vec![lo];
    edges.extend(inner.iter().map(|&b| grid::upper(b)));
    edges.push(hi);
    let counts = |p: &NumericProfile| -> Vec<u64> {
        let finite_through = |b: u32| through(p, b) - p.count_of(ninf);
        let mut at = vec![0u64];
        at.extend(inner.iter().map(|&b| finite_through(b)));
        at.push(p.present() - p.count_of(ninf) - p.count_of(pinf));
        at.windows(2).map(|w| w[1] - w[0]).collect()
    };
    Histogram {
        reference: counts(r),
        current: counts(c),
        edges,
        codes: Vec::new(),
    }
}

/// Kolmogorov-Smirnov from the grid: the statistic within its error bound (see the
/// module).
pub fn ks(r: &NumericProfile, c: &NumericProfile) -> CoreResult<TestOutcome> {
    let (n1, n2) = (r.present(), c.present());
    if n1 == 0 || n2 == 0 {
        return Err(CoreError::invalid("ks needs at least 1 value on each side"));
    }
    // F_r - F_c = (a n2 - b n1) / (n1 n2), in exact integers.
    let (n1i, n2i) = (i128::from(n1), i128::from(n2));
    let gap = |a: u64, b: u64| i128::from(a) * n2i - i128::from(b) * n1i;
    let (mut low, mut high) = (0i128, 0i128);
    let (mut a, mut b) = (0u64, 0u64);
    let (mut i, mut j) = (0usize, 0usize);
    while i < r.buckets.len() || j < c.buckets.len() {
        let kr = r.buckets.get(i).copied().unwrap_or(u32::MAX);
        let kc = c.buckets.get(j).copied().unwrap_or(u32::MAX);
        let k = kr.min(kc);
        let (a0, b0) = (a, b);
        if kr == k {
            a += r.counts[i];
            i += 1;
        }
        if kc == k {
            b += c.counts[j];
            j += 1;
        }
        let edge = gap(a, b).abs();
        low = low.max(edge);
        high = high.max(edge);
        if a != a0 && b != b0 {
            // Both sides have values inside this bucket: the CDFs may cross anywhere.
            high = high.max(gap(a, b0)).max(-gap(a0, b));
        }
    }
    let scale = (n1 as f64) * (n2 as f64);
    let (d_low, d_high) = (low as f64 / scale, (high as f64 / scale).min(1.0));
    let d = (d_low + d_high) / 2.0;
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even().max(1.0) as u64;
    let p = |x: f64| kolmogorov_sf(en, x).clamp(0.0, 1.0);
    Ok(TestOutcome {
        statistic: d,
        pvalue: Some(p(d)),
        method: "asymptotic (profile grid)",
        effect_size: Some(d),
        details: vec![
            ("error_bound", (d_high - d_low) / 2.0),
            ("statistic_low", d_low),
            ("statistic_high", d_high),
            ("pvalue_low", p(d_high)),
            ("pvalue_high", p(d_low)),
        ],
    })
}

/// Finite buckets at their representative values, with counts.
fn points(p: &NumericProfile) -> Vec<(f64, u64)> {
    let (ninf, pinf) = (grid::neg_inf(), grid::pos_inf());
    p.buckets
        .iter()
        .zip(&p.counts)
        .filter(|(&b, _)| b != ninf && b != pinf)
        .map(|(&b, &k)| (grid::representative(b, p.min, p.max), k))
        .collect()
}

/// Mean and population standard deviation of the finite values, each bucket at its
/// midpoint (NaN without finite values): within the grid's relative accuracy of the exact
/// ones, and the same whatever the order the rows were profiled in.
pub fn moments(p: &NumericProfile) -> (f64, f64) {
    moments_of(&points(p))
}

fn moments_of(points: &[(f64, u64)]) -> (f64, f64) {
    let n = points.iter().map(|x| x.1).sum::<u64>() as f64;
    let mean = points.iter().map(|&(v, k)| v * k as f64).sum::<f64>() / n;
    let var = points
        .iter()
        .map(|&(v, k)| (v - mean) * (v - mean) * k as f64)
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

/// The Wasserstein-1 distance with each bucket at its midpoint, and its value divided by
/// the reference's standard deviation (computed the same way) as the effect size.
pub fn wasserstein(r: &NumericProfile, c: &NumericProfile) -> CoreResult<TestOutcome> {
    let (pr, pc) = (points(r), points(c));
    let n1: u64 = pr.iter().map(|x| x.1).sum();
    let n2: u64 = pc.iter().map(|x| x.1).sum();
    if n1 == 0 || n2 == 0 {
        return Err(CoreError::invalid(
            "wasserstein needs finite values on each side",
        ));
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let (mut a, mut b) = (0u64, 0u64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    while i < pr.len() || j < pc.len() {
        let vr = pr.get(i).map_or(f64::INFINITY, |x| x.0);
        let vc = pc.get(j).map_or(f64::INFINITY, |x| x.0);
        let v = vr.min(vc);
        if let Some(p) = prev {
            total += (a as f64 / f1 - b as f64 / f2).abs() * (v - p);
        }
        if vr == v {
            a += pr[i].1;
            i += 1;
        }
        if vc == v {
            b += pc[j].1;
            j += 1;
        }
        prev = Some(v);
    }
    let (_, sd) = moments_of(&pr);
    let normalised = if sd > 0.0 {
        total / sd
    } else if total == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    Ok(TestOutcome {
        statistic: total,
        pvalue: None,
        method: "distance (profile grid)",
        effect_size: Some(normalised),
        details: vec![("normalized", normalised), ("reference_std", sd)],
    })
}

fn categorical(r: &CategoryProfile, c: &CategoryProfile, test: Test) -> CoreResult<PairOutput> {
    let level = r.level.max(c.level);
    let (r, c) = (r.at_level(level), c.at_level(level));
    // The union of kept categories, ascending, and the cell of the rest.
    let mut labels: Vec<String> = r.names.iter().chain(&c.names).cloned().collect();
    labels.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    labels.dedup();
    let count_in = |p: &CategoryProfile| -> Vec<u64> {
        labels
            .iter()
            .map(
                |l| match p.names.binary_search_by(|n| n.as_bytes().cmp(l.as_bytes())) {
                    Ok(i) => p.counts[i],
                    Err(_) => 0,
                },
            )
            .collect()
    };
    let (mut rc, mut cc) = (count_in(&r), count_in(&c));
    if r.other + c.other > 0 {
        labels.push(OTHER_LABEL.to_string());
        rc.push(r.other);
        cc.push(c.other);
    }
    let new_categories = rc
        .iter()
        .zip(&cc)
        .take(labels.len() - usize::from(r.other + c.other > 0))
        .filter(|(&a, &b)| a == 0 && b > 0)
        .count();
    let (nr, nc) = (r.present(), c.present());
    let mut note = String::new();
    if test == Test::Auto && nr > 0 && nc > 0 && needs_pooling(&rc, &cc) {
        let (pooled, pr, pc) = pool_rare(&labels, &rc, &cc);
        note = format!(
            "{} rare categories pooled (expected count below {RARE_EXPECTED} on the smaller \
             side)",
            labels.len() + 2 - pooled.len()
        );
        (labels, rc, cc) = (pooled, pr, pc);
    }
    let test = resolve_count_test(test, &rc, &cc);
    let used: Vec<usize> = (0..rc.len()).collect();
    let mut out = ColumnOutput {
        test: test.name(),
        n_reference: nr as usize,
        n_current: nc as usize,
        missing_reference: r.missing as usize,
        missing_current: c.missing as usize,
        missing_test: missing_test(
            r.missing as usize,
            nr as usize,
            c.missing as usize,
            nc as usize,
        )?,
        categories: rc.len(),
        histogram: top_categories(&used, &rc, &cc),
        ..Default::default()
    };
    if nr > 0 && nc > 0 {
        keep(&mut out, count_test(test, &rc, &cc))?;
        out.effect = categorical::jensen_shannon_counts(&rc, &cc).ok();
    }
    Ok(PairOutput {
        output: out,
        labels,
        new_categories,
        note,
    })
}

fn expected(rc: &[u64], cc: &[u64]) -> Vec<f64> {
    let nr: u64 = rc.iter().sum();
    let nc: u64 = cc.iter().sum();
    let small = nr.min(nc) as f64;
    let n = (nr + nc) as f64;
    rc.iter()
        .zip(cc)
        .map(|(a, b)| (a + b) as f64 * small / n)
        .collect()
}

/// More than `POOL_ABOVE` categories, or more than a fifth of the cells expecting fewer
/// than 5 values (Cochran's rule).
fn needs_pooling(rc: &[u64], cc: &[u64]) -> bool {
    let e = expected(rc, cc);
    let rare = e.iter().filter(|&&x| x < RARE_EXPECTED).count();
    rc.len() > 2 && (rc.len() > POOL_ABOVE || rare * 5 > rc.len())
}

/// Rare categories pooled in two cells: those the reference has, and those new in
/// current.
fn pool_rare(labels: &[String], rc: &[u64], cc: &[u64]) -> (Vec<String>, Vec<u64>, Vec<u64>) {
    let e = expected(rc, cc);
    let (mut l, mut r, mut c) = (Vec::new(), Vec::new(), Vec::new());
    let (mut seen, mut new) = ((0u64, 0u64), 0u64);
    for i in 0..rc.len() {
        if e[i] >= RARE_EXPECTED {
            l.push(labels[i].clone());
            r.push(rc[i]);
            c.push(cc[i]);
        } else if rc[i] > 0 {
            seen.0 += rc[i];
            seen.1 += cc[i];
        } else {
            new += cc[i];
        }
    }
    if seen.0 + seen.1 > 0 {
        l.push("(rare categories)".into());
        r.push(seen.0);
        c.push(seen.1);
    }
    if new > 0 {
        l.push("(new rare categories)".into());
        r.push(0);
        c.push(new);
    }
    (l, r, c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::drift::binned;
    use crate::core::drift::ecdf::{self, Method};
    use ndarray::Array1;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn prof(x: &[f64]) -> NumericProfile {
        NumericProfile::fit(Array1::from(x.to_vec()).view())
    }

    fn sorted(x: &[f64]) -> Vec<f64> {
        let mut s = x.to_vec();
        s.sort_by(f64::total_cmp);
        s
    }

    #[test]
    fn binned_counts_equal_the_frame_bins_on_integer_data() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let r: Vec<f64> = (0..3000)
            .map(|_| f64::from(rng.gen_range(-40..60)))
            .collect();
        let c: Vec<f64> = (0..2000)
            .map(|_| f64::from(rng.gen_range(-50..70)))
            .collect();
        for bins in [1, 3, 10, 25] {
            let frame = binned::reference_bins(&sorted(&r), &sorted(&c), bins).unwrap();
            let (rb, cb) = binned_counts(&prof(&r), &prof(&c), bins).unwrap();
            assert_eq!((rb, cb), (frame.reference, frame.current), "bins={bins}");
        }
    }

    #[test]
    fn ks_interval_holds_the_exact_statistic() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for shift in [0.0, 0.02, 0.3] {
            let r: Vec<f64> = (0..4000).map(|_| rng.gen::<f64>() * 3.0).collect();
            let c: Vec<f64> = (0..3000).map(|_| rng.gen::<f64>() * 3.0 + shift).collect();
            let exact = ecdf::ks(&sorted(&r), &sorted(&c), Method::Asymptotic).unwrap();
            let g = ks(&prof(&r), &prof(&c)).unwrap();
            let get = |k: &str| g.details.iter().find(|d| d.0 == k).unwrap().1;
            assert!(get("statistic_low") <= exact.statistic + 1e-12);
            assert!(exact.statistic <= get("statistic_high") + 1e-12);
            assert!(get("error_bound") < 0.01);
            let p = exact.pvalue.unwrap();
            assert!(get("pvalue_low") <= p + 1e-12 && p <= get("pvalue_high") + 1e-12);
        }
    }

    #[test]
    fn identical_profiles_show_nothing() {
        let x: Vec<f64> = (0..1000).map(|i| f64::from(i).sqrt()).collect();
        let p = prof(&x);
        let out = numeric(&p, &p, Test::Auto, 10).unwrap();
        let o = out.output.outcome.unwrap();
        assert_eq!(o.details[1].1, 0.0);
        assert_eq!(o.details[4].1, 1.0);
        assert_eq!(out.output.effect.unwrap().statistic, 0.0);
        let h = out.output.histogram;
        assert_eq!(h.reference.iter().sum::<u64>(), 1000);
        assert_eq!(h.edges.len(), h.reference.len() + 1);
    }

    #[test]
    fn categories_compare_as_counts() {
        let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let rc = Array1::from(vec![0i64, 0, 1, 1, 2, -1]);
        let cc = Array1::from(vec![0i64, 1, 1, 1, 1, 1]);
        let r = CategoryProfile::fit(&super::super::Codes::I64(rc.view()), &labels).unwrap();
        let c = CategoryProfile::fit(&super::super::Codes::I64(cc.view()), &labels[..2]).unwrap();
        let out = categorical(&r, &c, Test::Chi2).unwrap();
        let o = out.output.outcome.unwrap();
        let direct = categorical::chi2(&[2, 2, 1], &[1, 5, 0]).unwrap();
        assert_eq!(o.statistic, direct.statistic);
        assert_eq!(out.output.missing_reference, 1);
        assert_eq!(out.labels, labels);
    }
}
