//! Drift: two-sample tests and distances between a reference and a current sample, and
//! the per-column comparison of two tables.
//!
//! * `ecdf`: tests on sorted samples and ranks (KS, Anderson-Darling k-sample,
//!   Cramér-von Mises, Mann-Whitney U).
//! * `distance`: Wasserstein and energy distances; `binned`: PSI, Jensen-Shannon,
//!   Hellinger, KL and total variation on reference-quantile bins.
//! * `categorical`: chi-squared, G-test and Fisher's exact test on category counts, and the
//!   frequency distances.
//! * `compare`: columns of two tables, automatic test choice, multiple-testing correction;
//!   `factorize`: joint category codes of text columns read in Arrow's layout.
//!
//! Every test takes samples already sorted and NaN-free (`stats::sort`), so a column is
//! sorted once whatever number of tests run on it.

pub mod binned;
pub mod categorical;
pub mod compare;
pub mod distance;
pub mod ecdf;
pub mod factorize;
pub mod multivariate;
pub mod profile;

/// What every univariate test or distance returns.
#[derive(Debug, Clone, PartialEq)]
pub struct TestOutcome {
    /// The test statistic or the distance.
    pub statistic: f64,
    /// The p-value, for tests that have one.
    pub pvalue: Option<f64>,
    /// How the p-value (or statistic) was computed: "exact", "asymptotic",
    /// "interpolated", "permutation", "distance", ...
    pub method: &'static str,
    /// A scale-free size of the difference where the test defines one.
    pub effect_size: Option<f64>,
    /// Further named numbers (e.g. the normalised Wasserstein distance, bins used).
    pub details: Vec<(&'static str, f64)>,
}
