//! Tests and distances on counts: categories of a categorical column, or the bins of a
//! numeric one (`binned`). Counts come as two slices of equal length, reference first;
//! categories absent on both sides must already be dropped.
//!
//! * `chi2`, `g_test`: the 2 x k contingency table as `scipy.stats.chi2_contingency`
//!   (Yates' correction when there is one degree of freedom; `g_test` is
//!   `lambda_="log-likelihood"`).
//! * `fisher`: Fisher's exact test on a 2 x 2 table, two-sided, as
//!   `scipy.stats.fisher_exact` (tables at most as likely as the observed one, with a
//!   relative tolerance of 1e-14).
//! * Distances between the two frequency vectors `p` (reference) and `q` (current):
//!   `psi`, `kl` (both with a floor `eps` on frequencies so that empty cells stay
//!   finite), `jensen_shannon` (a distance: the square root of the divergence, natural
//!   log, as `scipy.spatial.distance.jensenshannon`), `hellinger` and `total_variation`.

use super::TestOutcome;
use crate::core::stats::special::{chi2_sf, Sum};
use crate::core::{CoreError, CoreResult};

fn check(rc: &[u64], cc: &[u64], test: &str) -> CoreResult<(f64, f64)> {
    if rc.len() != cc.len() {
        return Err(CoreError::invalid(format!(
            "{test}: reference and current counts differ in length ({} vs {})",
            rc.len(),
            cc.len()
        )));
    }
    let nr: u64 = rc.iter().sum();
    let nc: u64 = cc.iter().sum();
    if nr == 0 || nc == 0 {
        return Err(CoreError::invalid(format!(
            "{test} needs at least one value on each side (got {nr} reference, {nc} current)"
        )));
    }
    Ok((nr as f64, nc as f64))
}

/// Observed and expected cells of the 2 x k table, with Yates' correction at one degree
/// of freedom (moving each cell towards its expectation by at most 0.5).
fn table(rc: &[u64], cc: &[u64], nr: f64, nc: f64) -> (Vec<f64>, Vec<f64>, usize) {
    let n = nr + nc;
    let mut obs = Vec::with_capacity(2 * rc.len());
    let mut exp = Vec::with_capacity(2 * rc.len());
    for (row, total) in [(rc, nr), (cc, nc)] {
        for (i, &o) in row.iter().enumerate() {
            obs.push(o as f64);
            exp.push(total * (rc[i] + cc[i]) as f64 / n);
        }
    }
    let dof = rc.len() - 1;
    if dof == 1 {
        for (o, e) in obs.iter_mut().zip(&exp) {
            let diff = e - *o;
            *o += diff.signum() * diff.abs().min(0.5);
        }
    }
    (obs, exp, dof)
}

fn contingency(
    rc: &[u64],
    cc: &[u64],
    test: &str,
    term: impl Fn(f64, f64) -> f64,
) -> CoreResult<TestOutcome> {
    let (nr, nc) = check(rc, cc, test)?;
    if rc.iter().zip(cc).any(|(a, b)| a + b == 0) {
        return Err(CoreError::invalid(format!(
            "{test}: a category with no count on either side (expected frequency 0)"
        )));
    }
    if rc.len() < 2 {
        return Ok(TestOutcome {
            statistic: 0.0,
            pvalue: Some(1.0),
            method: "asymptotic",
            effect_size: Some(0.0),
            details: vec![("dof", 0.0)],
        });
    }
    let (obs, exp, dof) = table(rc, cc, nr, nc);
    let stat: f64 = obs
        .iter()
        .zip(&exp)
        .map(|(&o, &e)| term(o, e))
        .collect::<Sum>()
        .value();
    let n = nr + nc;
    // Cramér's V for a 2 x k table: sqrt(chi2 / n).
    let v = (stat.max(0.0) / n).sqrt();
    Ok(TestOutcome {
        statistic: stat,
        pvalue: Some(chi2_sf(dof as f64, stat)),
        method: "asymptotic",
        effect_size: Some(v),
        details: vec![("dof", dof as f64)],
    })
}

/// Pearson's chi-squared test of homogeneity on the 2 x k table.
pub fn chi2(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    contingency(rc, cc, "chi2", |o, e| (o - e) * (o - e) / e)
}

/// The G-test (log-likelihood ratio) on the 2 x k table.
pub fn g_test(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    contingency(rc, cc, "g_test", |o, e| {
        if o == 0.0 {
            0.0
        } else {
            2.0 * o * (o / e).ln()
        }
    })
}

/// Fisher's exact test on `[[rc0, rc1], [cc0, cc1]]`; the statistic is the odds ratio.
pub fn fisher(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    check(rc, cc, "fisher")?;
    // One category seen on either side is a 2 x 2 table with a column of zeros (scipy's
    // fisher_exact gives p = 1 and a NaN odds ratio there).
    let (a, b, c, d) = match (rc, cc) {
        ([a], [c]) => (*a, 0, *c, 0),
        ([a, b], [c, d]) => (*a, *b, *c, *d),
        _ => {
            return Err(CoreError::invalid(format!(
                "fisher needs at most two categories (a 2 x 2 table), got {}: use chi2 or \
                 g_test",
                rc.len()
            )))
        }
    };
    let odds = if b > 0 && c > 0 {
        (a as f64 * d as f64) / (b as f64 * c as f64)
    } else if a == 0 || d == 0 {
        f64::NAN
    } else {
        f64::INFINITY
    };
    let out = |p: f64| TestOutcome {
        statistic: odds,
        pvalue: Some(p.min(1.0)),
        method: "exact",
        effect_size: None,
        details: vec![],
    };
    // Margins: row totals r1 = a + b, r2 = c + d; first column total k = a + c.
    let (r1, r2, k) = (a + b, c + d, a + c);
    if r1 == 0 || r2 == 0 || k == 0 || b + d == 0 {
        return Ok(out(1.0));
    }
    // Hypergeometric weights of x = cell (0, 0) over its support, relative to the mode,
    // from the exact ratio w(x+1)/w(x) = (r1 - x)(k - x) / ((x + 1)(r2 - k + x + 1)).
    let lo = k.saturating_sub(r2);
    let hi = k.min(r1);
    let mode = ((k + 1) as f64 * (r1 + 1) as f64 / (r1 + r2 + 2) as f64) as u64;
    let mode = mode.clamp(lo, hi);
    let len = (hi - lo + 1) as usize;
    let mut w = vec![0.0f64; len];
    w[(mode - lo) as usize] = 1.0;
    for x in mode..hi {
        let ratio = ((r1 - x) as f64 * (k - x) as f64) / ((x + 1) as f64 * (r2 - k + x + 1) as f64);
        w[(x + 1 - lo) as usize] = w[(x - lo) as usize] * ratio;
    }
    for x in (lo..mode).rev() {
        // w(x) = w(x+1) (x + 1)(r2 - k + x + 1) / ((r1 - x)(k - x))
        let ratio = ((x + 1) as f64 * (r2 - k + x + 1) as f64) / ((r1 - x) as f64 * (k - x) as f64);
        w[(x - lo) as usize] = w[(x + 1 - lo) as usize] * ratio;
    }
    let total: Sum = w.iter().copied().collect();
    let observed = w[(a - lo) as usize];
    if (observed - 1.0).abs() <= 1e-14 {
        return Ok(out(1.0));
    }
    let cutoff = observed * (1.0 + 1e-14);
    let tail: Sum = w.iter().copied().filter(|&v| v <= cutoff).collect();
    Ok(out(tail.value() / total.value()))
}

/// Frequencies of both sides.
fn frequencies(rc: &[u64], cc: &[u64], test: &str) -> CoreResult<(Vec<f64>, Vec<f64>)> {
    let (nr, nc) = check(rc, cc, test)?;
    Ok((
        rc.iter().map(|&v| v as f64 / nr).collect(),
        cc.iter().map(|&v| v as f64 / nc).collect(),
    ))
}

fn distance(statistic: f64, details: Vec<(&'static str, f64)>) -> TestOutcome {
    TestOutcome {
        statistic,
        pvalue: None,
        method: "distance",
        effect_size: Some(statistic),
        details,
    }
}

/// Population stability index `sum (q - p) ln(q / p)`, frequencies floored at `eps`.
pub fn psi_counts(rc: &[u64], cc: &[u64], eps: f64) -> CoreResult<TestOutcome> {
    let (p, q) = frequencies(rc, cc, "psi")?;
    let s: Sum = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| {
            let (p, q) = (p.max(eps), q.max(eps));
            (q - p) * (q / p).ln()
        })
        .collect();
    Ok(distance(
        s.value(),
        vec![("cells", p.len() as f64), ("eps", eps)],
    ))
}

/// Kullback-Leibler divergence `KL(p || q) = sum p ln(p / q)`, frequencies floored at
/// `eps`.
pub fn kl_counts(rc: &[u64], cc: &[u64], eps: f64) -> CoreResult<TestOutcome> {
    let (p, q) = frequencies(rc, cc, "kl")?;
    let s: Sum = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| {
            let (pe, qe) = (p.max(eps), q.max(eps));
            pe * (pe / qe).ln()
        })
        .collect();
    Ok(distance(
        s.value(),
        vec![("cells", p.len() as f64), ("eps", eps)],
    ))
}

/// Jensen-Shannon distance: the square root of `(KL(p||m) + KL(q||m)) / 2`, `m` the mean.
pub fn jensen_shannon_counts(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    let (p, q) = frequencies(rc, cc, "jensen_shannon")?;
    let rel = |a: f64, m: f64| if a > 0.0 { a * (a / m).ln() } else { 0.0 };
    let s: Sum = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| {
            let m = 0.5 * (p + q);
            rel(p, m) + rel(q, m)
        })
        .collect();
    Ok(distance(
        (s.value() / 2.0).max(0.0).sqrt(),
        vec![("cells", p.len() as f64)],
    ))
}

/// Hellinger distance `sqrt(1 - sum sqrt(p q))`, in `[0, 1]`.
pub fn hellinger_counts(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    let (p, q) = frequencies(rc, cc, "hellinger")?;
    // sum (sqrt p - sqrt q)^2 / 2 equals 1 - sum sqrt(pq) without its cancellation.
    let s: Sum = p
        .iter()
        .zip(&q)
        .map(|(&p, &q)| (p.sqrt() - q.sqrt()).powi(2))
        .collect();
    Ok(distance(
        (s.value() / 2.0).max(0.0).sqrt(),
        vec![("cells", p.len() as f64)],
    ))
}

/// Total variation distance `sum |p - q| / 2`, in `[0, 1]`.
pub fn total_variation_counts(rc: &[u64], cc: &[u64]) -> CoreResult<TestOutcome> {
    let (p, q) = frequencies(rc, cc, "total_variation")?;
    let s: Sum = p.iter().zip(&q).map(|(&p, &q)| (p - q).abs()).collect();
    Ok(distance(s.value() / 2.0, vec![("cells", p.len() as f64)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chi2_two_by_two_with_yates() {
        // [[10, 20], [30, 40]]: expected [[12, 18], [28, 42]], Yates -> 0.4464285714...
        let o = chi2(&[10, 20], &[30, 40]).unwrap();
        let expected = 1.5f64.powi(2) * (1.0 / 12.0 + 1.0 / 18.0 + 1.0 / 28.0 + 1.0 / 42.0);
        assert!((o.statistic - expected).abs() < 1e-12);
    }

    #[test]
    fn fisher_tea_tasting() {
        // Fisher's lady tasting tea: [[3, 1], [1, 3]] two-sided p = 34/70.
        let o = fisher(&[3, 1], &[1, 3]).unwrap();
        assert!((o.pvalue.unwrap() - 34.0 / 70.0).abs() < 1e-14);
        assert_eq!(o.statistic, 9.0);
        assert!(fisher(&[0, 0], &[1, 2]).is_err());
        assert!(fisher(&[1, 2, 3], &[1, 2, 3]).is_err());
        // A category absent from both samples: scipy gives p = 1, odds ratio NaN.
        for (rc, cc) in [(&[5u64][..], &[3u64][..]), (&[5, 0][..], &[3, 0][..])] {
            let o = fisher(rc, cc).unwrap();
            assert_eq!(o.pvalue, Some(1.0));
            assert!(o.statistic.is_nan());
        }
    }

    #[test]
    fn distances_of_identical_and_disjoint() {
        let same = [5, 5, 10];
        assert_eq!(total_variation_counts(&same, &same).unwrap().statistic, 0.0);
        assert_eq!(jensen_shannon_counts(&same, &same).unwrap().statistic, 0.0);
        assert_eq!(hellinger_counts(&same, &same).unwrap().statistic, 0.0);
        assert_eq!(psi_counts(&same, &same, 1e-4).unwrap().statistic, 0.0);
        let tv = total_variation_counts(&[1, 0], &[0, 1]).unwrap().statistic;
        let h = hellinger_counts(&[1, 0], &[0, 1]).unwrap().statistic;
        let js = jensen_shannon_counts(&[1, 0], &[0, 1]).unwrap().statistic;
        assert_eq!((tv, h), (1.0, 1.0));
        assert!((js - std::f64::consts::LN_2.sqrt()).abs() < 1e-15);
    }
}
