//! Exact binomial intervals (Clopper-Pearson) and the empirical differential-privacy bound
//! a measured attack proves.
//!
//! Clopper-Pearson: for `k` successes in `n` trials at confidence `c` (alpha = 1 - c), the
//! interval is `[B(alpha/2; k, n-k+1), B(1-alpha/2; k+1, n-k)]` with `B(q; a, b)` the
//! `q`-quantile of the Beta(a, b) distribution (0 when `k = 0`, 1 when `k = n`), as scipy's
//! `binomtest(k, n).proportion_ci(confidence, method="exact")`. Each end is a one-sided
//! bound at level `(1 + c) / 2`.
//!
//! The quantile is found by bisection of the regularised incomplete beta function to the
//! last bit of a double, so its accuracy is that of `statrs`'s `beta_reg`.

use statrs::function::beta::checked_beta_reg;

use crate::core::{CoreError, CoreResult};

/// The `q`-quantile of Beta(a, b), `0 < q < 1`, `a, b > 0`.
pub fn beta_quantile(q: f64, a: f64, b: f64) -> CoreResult<f64> {
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let cdf = checked_beta_reg(a, b, mid)
            .map_err(|e| CoreError::invalid(format!("beta quantile ({a}, {b}): {e}")))?;
        if cdf < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

fn check_confidence(confidence: f64) -> CoreResult<()> {
    if confidence > 0.0 && confidence < 1.0 {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "confidence: expected a number strictly between 0 and 1, got {confidence}"
        )))
    }
}

fn check_counts(k: u64, n: u64, what: &str) -> CoreResult<()> {
    if n == 0 || k > n {
        return Err(CoreError::invalid(format!(
            "{what}: expected 0 <= successes <= trials and trials > 0, got {k} of {n}"
        )));
    }
    Ok(())
}

/// The one-sided upper bound at `level` for `k` successes in `n` trials.
pub fn upper_bound(k: u64, n: u64, level: f64) -> CoreResult<f64> {
    check_counts(k, n, "upper_bound")?;
    if k == n {
        return Ok(1.0);
    }
    beta_quantile(level, (k + 1) as f64, (n - k) as f64)
}

/// The one-sided lower bound at `level` for `k` successes in `n` trials.
pub fn lower_bound(k: u64, n: u64, level: f64) -> CoreResult<f64> {
    check_counts(k, n, "lower_bound")?;
    if k == 0 {
        return Ok(0.0);
    }
    beta_quantile(1.0 - level, k as f64, (n - k + 1) as f64)
}

/// The two-sided Clopper-Pearson interval at `confidence`.
pub fn clopper_pearson(k: u64, n: u64, confidence: f64) -> CoreResult<(f64, f64)> {
    check_confidence(confidence)?;
    let level = (1.0 + confidence) / 2.0;
    Ok((lower_bound(k, n, level)?, upper_bound(k, n, level)?))
}

/// The empirical epsilon that an attack with `tp` of `n_members` members and `fp` of
/// `n_nonmembers` non-members called members proves (Jagielski et al. 2020):
///
/// `max(log((1 - delta - FPR+) / FNR+), log((1 - delta - FNR+) / FPR+))`, where `FPR+`
/// and `FNR+` are one-sided Clopper-Pearson upper bounds at level `(1 + confidence) / 2`;
/// 0 when neither is positive.
pub fn epsilon_lower_bound(
    tp: u64,
    fp: u64,
    n_members: u64,
    n_nonmembers: u64,
    delta: f64,
    confidence: f64,
) -> CoreResult<f64> {
    check_confidence(confidence)?;
    if !(0.0..1.0).contains(&delta) {
        return Err(CoreError::invalid(format!(
            "delta: expected a number in [0, 1), got {delta}"
        )));
    }
    check_counts(tp, n_members, "tpr * n_members")?;
    check_counts(fp, n_nonmembers, "fpr * n_nonmembers")?;
    let level = (1.0 + confidence) / 2.0;
    let fpr_hi = upper_bound(fp, n_nonmembers, level)?;
    let fnr_hi = upper_bound(n_members - tp, n_members, level)?;
    let side = |num: f64, den: f64| {
        if num > 0.0 && den > 0.0 {
            (num / den).ln()
        } else {
            f64::NEG_INFINITY
        }
    };
    let eps = side(1.0 - delta - fpr_hi, fnr_hi).max(side(1.0 - delta - fnr_hi, fpr_hi));
    Ok(if eps > 0.0 { eps } else { 0.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clopper_pearson_known_values() {
        // scipy.stats.binomtest(7, 20).proportion_ci(0.95, "exact")
        let (lo, hi) = clopper_pearson(7, 20, 0.95).unwrap();
        assert!((lo - 0.1539092047845412).abs() < 1e-12, "{lo}");
        assert!((hi - 0.5921885345328283).abs() < 1e-12, "{hi}");
        assert_eq!(clopper_pearson(0, 10, 0.95).unwrap().0, 0.0);
        assert_eq!(clopper_pearson(10, 10, 0.95).unwrap().1, 1.0);
        // k = 0: the upper end is 1 - (alpha / 2)^(1 / n).
        let hi = clopper_pearson(0, 10, 0.95).unwrap().1;
        assert!((hi - (1.0 - 0.025f64.powf(0.1))).abs() < 1e-14);
    }

    #[test]
    fn intervals_shrink_with_samples() {
        let w = |n: u64| {
            let (lo, hi) = clopper_pearson(n / 10, n, 0.95).unwrap();
            hi - lo
        };
        assert!(w(100) > w(1_000) && w(1_000) > w(10_000));
    }

    #[test]
    fn epsilon_bound() {
        // A perfect attack on 1000 + 1000 records: FPR+ = FNR+ = 1 - 0.025^(1/1000).
        let eps = epsilon_lower_bound(1000, 0, 1000, 1000, 1e-5, 0.95).unwrap();
        let up = 1.0 - 0.025f64.powf(1e-3);
        assert!((eps - ((1.0 - 1e-5 - up) / up).ln()).abs() < 1e-10, "{eps}");
        // A useless attack proves nothing.
        assert_eq!(
            epsilon_lower_bound(500, 500, 1000, 1000, 1e-5, 0.95).unwrap(),
            0.0
        );
        assert!(epsilon_lower_bound(5, 0, 4, 10, 1e-5, 0.95).is_err());
        assert!(epsilon_lower_bound(1, 0, 4, 10, 1e-5, 1.5).is_err());
    }
}
