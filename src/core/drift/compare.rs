//! The per-column comparison of two tables (`mlsentry.drift.compare`).
//!
//! Python normalises each table once into columns: numeric ones as `f64` (NaN = missing)
//! and categorical ones as `i64` codes factorised jointly over both sides (`-1` =
//! missing). This module does the heavy work, one column per rayon task:
//!
//! * numeric: ONE sort per side (`sorted_without_nan`), then the chosen test, the
//!   normalised Wasserstein distance as effect size, and a 20-bin histogram on a common
//!   range for the report, all on those sorted copies (dropped before the next column);
//! * categorical: one bincount per side, then the count-based test, the Jensen-Shannon
//!   distance as effect size, and the most frequent categories for the report;
//! * both: missing counts and, when either side has missing values, a two-proportion
//!   test on `[missing, present]` (chi-squared, Fisher's exact test when an expected count
//!   is below 5).
//!
//! Multiple-testing correction and the dataset decision are done in Python on the
//! p-values returned here (a few numbers per column).

use ndarray::ArrayView1;
use rayon::prelude::*;

use super::binned;
use super::categorical;
use super::distance;
use super::ecdf::{self, Method};
use super::TestOutcome;
use crate::core::progress::Progress;
use crate::core::stats::sort::{count_le, count_lt, sorted_without_nan};
use crate::core::{CoreError, CoreResult};

/// Bins of the report's numeric histogram.
pub const HIST_BINS: usize = 20;
/// Categories shown in the report's bar chart (the most frequent over both sides).
pub const TOP_CATEGORIES: usize = 12;
/// Expected count under which a 2 x 2 table uses Fisher's exact test instead of chi-squared.
pub const FISHER_BELOW: f64 = 5.0;
/// Epsilon for empty bins of PSI on category counts.
pub const PSI_EPS: f64 = 1e-4;

/// A test the comparison can run on a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test {
    Auto,
    Ks,
    Anderson,
    CramerVonMises,
    MannWhitney,
    Wasserstein,
    Energy,
    Psi,
    JensenShannon,
    Hellinger,
    Kl,
    TotalVariation,
    Chi2,
    GTest,
    Fisher,
}

/// Every test name accepted, in the order error messages list them.
pub const TEST_NAMES: [&str; 15] = [
    "auto",
    "ks",
    "anderson",
    "cramer_von_mises",
    "mann_whitney",
    "wasserstein",
    "energy",
    "psi",
    "jensen_shannon",
    "hellinger",
    "kl",
    "total_variation",
    "chi2",
    "g_test",
    "fisher",
];

impl Test {
    pub fn parse(name: &str) -> CoreResult<Test> {
        Ok(match name {
            "auto" => Test::Auto,
            "ks" => Test::Ks,
            "anderson" => Test::Anderson,
            "cramer_von_mises" => Test::CramerVonMises,
            "mann_whitney" => Test::MannWhitney,
            "wasserstein" => Test::Wasserstein,
            "energy" => Test::Energy,
            "psi" => Test::Psi,
            "jensen_shannon" => Test::JensenShannon,
            "hellinger" => Test::Hellinger,
            "kl" => Test::Kl,
            "total_variation" => Test::TotalVariation,
            "chi2" => Test::Chi2,
            "g_test" => Test::GTest,
            "fisher" => Test::Fisher,
            other => {
                return Err(CoreError::invalid(format!(
                    "tests: unknown test {other:?}; expected one of {}",
                    TEST_NAMES.join(", ")
                )))
            }
        })
    }

    pub fn name(self) -> &'static str {
        TEST_NAMES[self as usize]
    }

    /// Every test name that applies to numeric columns (`numeric`) or to categorical ones.
    pub fn names_for(numeric: bool) -> Vec<&'static str> {
        TEST_NAMES
            .iter()
            .filter(|name| {
                let t = Test::parse(name).unwrap_or(Test::Auto);
                if numeric {
                    !t.categorical_only()
                } else {
                    !t.numeric_only()
                }
            })
            .copied()
            .collect()
    }

    /// Tests that need the numbers themselves (not only category counts).
    fn numeric_only(self) -> bool {
        matches!(
            self,
            Test::Ks
                | Test::Anderson
                | Test::CramerVonMises
                | Test::MannWhitney
                | Test::Wasserstein
                | Test::Energy
        )
    }

    fn categorical_only(self) -> bool {
        matches!(self, Test::Chi2 | Test::GTest | Test::Fisher)
    }
}

/// The data of one column on both sides.
#[derive(Debug, Clone)]
pub enum Sides<'a> {
    /// NaN marks a missing value; infinities are values.
    Numeric {
        reference: ArrayView1<'a, f64>,
        current: ArrayView1<'a, f64>,
    },
    /// Codes in `0..k`, `-1` for a missing value.
    Categorical {
        reference: Codes<'a>,
        current: Codes<'a>,
        k: usize,
    },
}

/// Category codes of one side: 32-bit when the categories allow (half the memory of a
/// million-row column), 64-bit otherwise.
#[derive(Debug, Clone)]
pub enum Codes<'a> {
    I32(ArrayView1<'a, i32>),
    I64(ArrayView1<'a, i64>),
}

impl Codes<'_> {
    /// Count of each code in `0..k`, and of the missing ones (negative codes).
    pub fn bincount(&self, k: usize) -> CoreResult<(Vec<u64>, usize)> {
        fn count<T: Copy + Into<i64>>(
            codes: &ArrayView1<'_, T>,
            k: usize,
        ) -> CoreResult<(Vec<u64>, usize)> {
            let mut counts = vec![0u64; k];
            let mut missing = 0usize;
            for &v in codes.iter() {
                let v: i64 = v.into();
                if v < 0 {
                    missing += 1;
                } else {
                    match counts.get_mut(v as usize) {
                        Some(slot) => *slot += 1,
                        None => {
                            return Err(CoreError::invalid(format!(
                                "category code {v} out of range 0..{k}"
                            )))
                        }
                    }
                }
            }
            Ok((counts, missing))
        }
        match self {
            Codes::I32(a) => count(a, k),
            Codes::I64(a) => count(a, k),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ColumnInput<'a> {
    pub name: String,
    pub sides: Sides<'a>,
    pub test: Test,
    /// Bins for the binned distances on numeric columns.
    pub bins: usize,
}

/// What the report draws: numeric bins (`edges` has one more entry than the counts) or
/// the most frequent categories (`codes`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub edges: Vec<f64>,
    pub codes: Vec<i64>,
    pub reference: Vec<u64>,
    pub current: Vec<u64>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnOutput {
    /// The test that ran (`auto` resolved).
    pub test: &'static str,
    /// `None` when a side has no value left (empty or all missing).
    pub outcome: Option<TestOutcome>,
    /// Normalised Wasserstein distance (numeric) or Jensen-Shannon distance (categorical).
    pub effect: Option<TestOutcome>,
    /// Values used on each side (missing ones dropped).
    pub n_reference: usize,
    pub n_current: usize,
    pub missing_reference: usize,
    pub missing_current: usize,
    /// The two-proportion test on missing rates, when either side has missing values.
    pub missing_test: Option<TestOutcome>,
    /// Categories with a count on either side (categorical) or distinct-free 0 (numeric).
    pub categories: usize,
    /// Infinite values on each side (numeric): kept by the tests, left out of the plot.
    pub infinite_reference: usize,
    pub infinite_current: usize,
    pub histogram: Histogram,
    /// Why the test could not run on this column (too few values, ...), if it could not.
    pub error: Option<String>,
}

impl ColumnOutput {
    /// Keeps a test's outcome, or why it could not run (a refusal of these values, not a
    /// failure of the comparison), and the effect size: the outcome itself when the test
    /// is the effect's distance, else `effect()`.
    fn record(
        &mut self,
        outcome: CoreResult<TestOutcome>,
        outcome_is_effect: bool,
        effect: impl FnOnce() -> CoreResult<TestOutcome>,
    ) -> CoreResult<()> {
        match outcome {
            Ok(o) => self.outcome = Some(o),
            Err(CoreError::InvalidInput(msg)) => self.error = Some(msg),
            Err(e) => return Err(e),
        }
        self.effect = match (&self.outcome, outcome_is_effect) {
            (Some(o), true) => Some(o.clone()),
            _ => effect().ok(),
        };
        Ok(())
    }
}

/// Compares every column, in parallel; one progress step per column.
pub fn compare(columns: &[ColumnInput<'_>], progress: &Progress) -> CoreResult<Vec<ColumnOutput>> {
    progress.add_total(columns.len() as u64);
    columns
        .par_iter()
        .map(|col| {
            progress.check()?;
            let out = compare_column(col).map_err(|e| match e {
                CoreError::InvalidInput(m) => {
                    CoreError::InvalidInput(format!("column {:?}: {m}", col.name))
                }
                other => other,
            });
            progress.advance(1);
            out
        })
        .collect()
}

pub fn compare_column(col: &ColumnInput<'_>) -> CoreResult<ColumnOutput> {
    match &col.sides {
        Sides::Numeric { reference, current } => {
            numeric(reference.view(), current.view(), col.test, col.bins)
        }
        Sides::Categorical {
            reference,
            current,
            k,
        } => categorical_column(reference, current, *k, col.test),
    }
}

/// Runs one numeric test on two ascending NaN-free samples (`Auto` is `ks`).
pub fn numeric_test(
    test: Test,
    r: &[f64],
    c: &[f64],
    bins: usize,
    method: Method,
) -> CoreResult<TestOutcome> {
    match test {
        Test::Auto | Test::Ks => ecdf::ks(r, c, method),
        Test::Anderson => ecdf::anderson(r, c),
        Test::CramerVonMises => ecdf::cramer_von_mises(r, c, method),
        Test::MannWhitney => ecdf::mann_whitney(r, c, method, true),
        Test::Wasserstein => distance::wasserstein(r, c),
        Test::Energy => distance::energy(r, c),
        Test::Psi => binned::psi(r, c, bins, PSI_EPS),
        Test::JensenShannon => binned::jensen_shannon(r, c, bins),
        Test::Hellinger => binned::hellinger(r, c, bins),
        Test::Kl => binned::kl(r, c, bins, PSI_EPS),
        Test::TotalVariation => binned::total_variation(r, c, bins),
        Test::Chi2 | Test::GTest | Test::Fisher => Err(CoreError::invalid(format!(
            "test {:?} needs a categorical column (counts); numeric tests: ks, anderson, \
             cramer_von_mises, mann_whitney, wasserstein, energy, psi, jensen_shannon, \
             hellinger, kl, total_variation",
            test.name()
        ))),
    }
}

/// Runs one test on category counts (categories absent on both sides already dropped).
/// `Auto` is Fisher's exact test for two categories with an expected count below 5,
/// chi-squared otherwise.
pub fn count_test(test: Test, rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    let test = resolve_count_test(test, rc, cc);
    match test {
        Test::Chi2 | Test::Auto => categorical::chi2(rc, cc),
        Test::GTest => categorical::g_test(rc, cc),
        Test::Fisher => categorical::fisher(rc, cc),
        Test::Psi => categorical::psi_counts(rc, cc, PSI_EPS),
        Test::JensenShannon => categorical::jensen_shannon_counts(rc, cc),
        Test::Hellinger => categorical::hellinger_counts(rc, cc),
        Test::Kl => categorical::kl_counts(rc, cc, PSI_EPS),
        Test::TotalVariation => categorical::total_variation_counts(rc, cc),
        Test::Ks
        | Test::Anderson
        | Test::CramerVonMises
        | Test::MannWhitney
        | Test::Wasserstein
        | Test::Energy => Err(CoreError::invalid(format!(
            "test {:?} needs numbers; categorical tests: chi2, g_test, fisher, psi, \
             jensen_shannon, hellinger, kl, total_variation",
            test.name()
        ))),
    }
}

pub fn resolve_count_test(test: Test, rc: &[u64], cc: &[u64]) -> Test {
    match test {
        Test::Auto if rc.len() == 2 && min_expected(rc, cc) < FISHER_BELOW => Test::Fisher,
        Test::Auto => Test::Chi2,
        t => t,
    }
}

fn numeric(
    reference: ArrayView1<'_, f64>,
    current: ArrayView1<'_, f64>,
    test: Test,
    bins: usize,
) -> CoreResult<ColumnOutput> {
    if test.categorical_only() {
        // The same refusal as the test itself gives, before any work.
        numeric_test(test, &[], &[], bins, Method::Auto)?;
    }
    let test = if test == Test::Auto { Test::Ks } else { test };
    let (r, mr) = sorted_without_nan(reference);
    let (c, mc) = sorted_without_nan(current);
    let mut out = ColumnOutput {
        test: test.name(),
        n_reference: r.len(),
        n_current: c.len(),
        missing_reference: mr,
        missing_current: mc,
        missing_test: missing_test(mr, r.len(), mc, c.len())?,
        ..Default::default()
    };
    let (h, ir, ic) = numeric_histogram(&r, &c);
    out.histogram = h;
    out.infinite_reference = ir;
    out.infinite_current = ic;
    if r.is_empty() || c.is_empty() {
        return Ok(out);
    }
    out.record(
        numeric_test(test, &r, &c, bins.max(1), Method::Auto),
        test == Test::Wasserstein,
        || distance::wasserstein(&r, &c),
    )?;
    Ok(out)
}

/// 20 equal bins over the finite range common to both sorted samples; infinities counted
/// apart.
fn numeric_histogram(r: &[f64], c: &[f64]) -> (Histogram, usize, usize) {
    let finite = |s: &[f64]| {
        let lo = count_le(s, f64::NEG_INFINITY);
        let hi = count_lt(s, f64::INFINITY);
        (lo, hi)
    };
    let (rl, rh) = finite(r);
    let (cl, ch) = finite(c);
    let inf_r = rl + (r.len() - rh);
    let inf_c = cl + (c.len() - ch);
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (s, a, b) in [(r, rl, rh), (c, cl, ch)] {
        if a < b {
            lo = lo.min(s[a]);
            hi = hi.max(s[b - 1]);
        }
    }
    if lo > hi {
        // No finite value on either side.
        return (Histogram::default(), inf_r, inf_c);
    }
    let nb = if lo == hi { 1 } else { HIST_BINS };
    let width = (hi - lo) / nb as f64;
    let mut edges: Vec<f64> = (0..=nb).map(|i| lo + width * i as f64).collect();
    edges[nb] = hi;
    let counts = |s: &[f64], a: usize, b: usize| -> Vec<u64> {
        let s = &s[a..b];
        let mut prev = 0usize;
        (1..=nb)
            .map(|i| {
                let upto = if i == nb {
                    s.len()
                } else {
                    count_lt(s, edges[i])
                };
                let n = upto - prev;
                prev = upto;
                n as u64
            })
            .collect()
    };
    let h = Histogram {
        reference: counts(r, rl, rh),
        current: counts(c, cl, ch),
        edges,
        codes: Vec::new(),
    };
    (h, inf_r, inf_c)
}

fn categorical_column(
    reference: &Codes<'_>,
    current: &Codes<'_>,
    k: usize,
    test: Test,
) -> CoreResult<ColumnOutput> {
    if test.numeric_only() {
        // The same refusal as the test itself gives, before any work.
        count_test(test, &[], &[])?;
    }
    let (rc_all, mr) = reference.bincount(k)?;
    let (cc_all, mc) = current.bincount(k)?;
    // Categories seen on neither side (unused pandas categories) carry no information.
    let used: Vec<usize> = (0..k).filter(|&i| rc_all[i] + cc_all[i] > 0).collect();
    let rc: Vec<u64> = used.iter().map(|&i| rc_all[i]).collect();
    let cc: Vec<u64> = used.iter().map(|&i| cc_all[i]).collect();
    let nr: u64 = rc.iter().sum();
    let nc: u64 = cc.iter().sum();
    let test = resolve_count_test(test, &rc, &cc);
    let mut out = ColumnOutput {
        test: test.name(),
        n_reference: nr as usize,
        n_current: nc as usize,
        missing_reference: mr,
        missing_current: mc,
        missing_test: missing_test(mr, nr as usize, mc, nc as usize)?,
        categories: used.len(),
        histogram: top_categories(&used, &rc, &cc),
        ..Default::default()
    };
    if nr == 0 || nc == 0 {
        return Ok(out);
    }
    out.record(
        count_test(test, &rc, &cc),
        test == Test::JensenShannon,
        || categorical::jensen_shannon_counts(&rc, &cc),
    )?;
    Ok(out)
}

/// The smallest expected count of the 2 x k table under "same distribution".
fn min_expected(rc: &[u64], cc: &[u64]) -> f64 {
    let nr: u64 = rc.iter().sum();
    let nc: u64 = cc.iter().sum();
    let n = (nr + nc) as f64;
    if n == 0.0 {
        return 0.0;
    }
    let small = nr.min(nc) as f64;
    rc.iter()
        .zip(cc)
        .map(|(a, b)| (a + b) as f64 * small / n)
        .fold(f64::INFINITY, f64::min)
}

/// Missing rate reference vs current: chi-squared on the 2 x 2 table `[missing, present]`,
/// Fisher's exact test when an expected count is below 5. `None` when neither side has a
/// missing value (nothing to test) or a side is empty.
pub fn missing_test(mr: usize, pr: usize, mc: usize, pc: usize) -> CoreResult<Option<TestOutcome>> {
    if mr + mc == 0 || mr + pr == 0 || mc + pc == 0 {
        return Ok(None);
    }
    let rc = [mr as u64, pr as u64];
    let cc = [mc as u64, pc as u64];
    if pr + pc == 0 {
        // Everything missing on both sides: same rate.
        return Ok(Some(TestOutcome {
            statistic: 0.0,
            pvalue: Some(1.0),
            method: "all missing",
            effect_size: None,
            details: Vec::new(),
        }));
    }
    Ok(Some(if min_expected(&rc, &cc) < FISHER_BELOW {
        categorical::fisher(&rc, &cc)?
    } else {
        categorical::chi2(&rc, &cc)?
    }))
}

/// The most frequent categories over both sides (at most `TOP_CATEGORIES`), by total
/// count, ties by code; codes are the original ones (`used[i]`).
pub fn top_categories(used: &[usize], rc: &[u64], cc: &[u64]) -> Histogram {
    let mut idx: Vec<usize> = (0..used.len()).collect();
    let key = |i: usize| (std::cmp::Reverse(rc[i] + cc[i]), i);
    if idx.len() > TOP_CATEGORIES {
        idx.select_nth_unstable_by_key(TOP_CATEGORIES, |&i| key(i));
        idx.truncate(TOP_CATEGORIES);
    }
    idx.sort_unstable_by_key(|&i| key(i));
    Histogram {
        edges: Vec::new(),
        codes: idx.iter().map(|&i| used[i] as i64).collect(),
        reference: idx.iter().map(|&i| rc[i]).collect(),
        current: idx.iter().map(|&i| cc[i]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    #[test]
    fn parse_names_round_trip() {
        for name in TEST_NAMES {
            assert_eq!(Test::parse(name).unwrap().name(), name);
        }
        let err = Test::parse("nope").unwrap_err().to_string();
        assert!(err.contains("chi2") && err.contains("ks"));
    }

    #[test]
    fn histogram_counts_every_finite_value() {
        let r = vec![f64::NEG_INFINITY, 0.0, 1.0, 2.0, 3.0];
        let c = vec![0.5, 1.5, 10.0, f64::INFINITY];
        let (h, ir, ic) = numeric_histogram(&r, &c);
        assert_eq!((ir, ic), (1, 1));
        assert_eq!(h.edges.len(), HIST_BINS + 1);
        assert_eq!(h.reference.iter().sum::<u64>(), 4);
        assert_eq!(h.current.iter().sum::<u64>(), 3);
        assert_eq!(*h.current.last().unwrap(), 1);
        let (h, _, _) = numeric_histogram(&[2.0, 2.0], &[2.0]);
        assert_eq!((h.reference.clone(), h.current.clone()), (vec![2], vec![1]));
    }

    #[test]
    fn categorical_counts_missing_and_top() {
        let r = Array1::from(vec![0i64, 1, 1, -1, 2]);
        let c = Array1::from(vec![1i64, 1, 2, 2, 2]);
        let out = categorical_column(&Codes::I64(r.view()), &Codes::I64(c.view()), 4, Test::Auto)
            .unwrap();
        assert_eq!((out.missing_reference, out.missing_current), (1, 0));
        assert_eq!(out.categories, 3);
        assert_eq!(out.histogram.codes, vec![1, 2, 0]);
        assert!(out.outcome.is_some() && out.missing_test.is_some());
        let bad = Array1::from(vec![7i32]);
        assert!(categorical_column(
            &Codes::I32(bad.view()),
            &Codes::I64(c.view()),
            4,
            Test::Auto
        )
        .is_err());
    }

    #[test]
    fn wrong_kind_of_test_is_refused() {
        let r = Array1::from(vec![0i64, 1]);
        let r = Codes::I64(r.view());
        assert!(categorical_column(&r, &r, 2, Test::Ks).is_err());
        let x = Array1::from(vec![0.0, 1.0]);
        assert!(numeric(x.view(), x.view(), Test::Chi2, 10).is_err());
    }
}
