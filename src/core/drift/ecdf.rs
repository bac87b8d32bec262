//! Two-sample tests on the empirical distribution functions and ranks of sorted samples:
//! Kolmogorov-Smirnov, k-sample Anderson-Darling (k = 2), Cramér-von Mises and
//! Mann-Whitney U. Each matches the scipy.stats function of the same test (statistic and
//! p-value method, including when it switches between exact and asymptotic p-values);
//! the docs of each function say which.
//!
//! Inputs are ascending and NaN-free (`stats::sort`); infinities are ordinary values here.
//! Ranks and sums of squared rank differences are kept in exact integers (ranks are
//! multiples of 1/2), so the statistics carry one rounding, not one per value.

use super::TestOutcome;
use crate::core::stats::kolmogorov::{kolmogorov_sf, lcm, two_sample_sf};
use crate::core::stats::merge::{lattice_extremes, Merged};
use crate::core::stats::special::{bessel_k, gamma_half_ratio, norm_sf, Sum};
use crate::core::{CoreError, CoreResult};

/// How a p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Exact for small samples, asymptotic for large ones (each test's documented rule).
    Auto,
    Exact,
    Asymptotic,
}

impl Method {
    pub fn parse(name: &str) -> CoreResult<Method> {
        match name {
            "auto" => Ok(Method::Auto),
            "exact" => Ok(Method::Exact),
            "asymptotic" | "asymp" => Ok(Method::Asymptotic),
            other => Err(CoreError::invalid(format!(
                "method: expected \"auto\", \"exact\" or \"asymptotic\", got {other:?}"
            ))),
        }
    }
}

fn need_values(r: &[f64], c: &[f64], at_least: usize, test: &str) -> CoreResult<()> {
    if r.len() < at_least || c.len() < at_least {
        return Err(CoreError::invalid(format!(
            "{test} needs at least {at_least} value{} on each side (got {} reference, {} \
             current)",
            if at_least == 1 { "" } else { "s" },
            r.len(),
            c.len()
        )));
    }
    Ok(())
}

/// Two-sample Kolmogorov-Smirnov test, two-sided, as `scipy.stats.ks_2samp`.
///
/// `D = max |F_r - F_c|`. `Auto` is exact when both samples have at most 10,000 values
/// (`scipy`'s rule), asymptotic otherwise. Exact: the lattice-path probability of
/// `D >= h / lcm(n1, n2)` (`h` the integer on that lattice). Asymptotic: the one-sample
/// distribution `kstwo` at `n = round(n1 n2 / (n1 + n2))`. A requested exact p-value on a
/// lattice too large for it (`lcm >= 2^31 - 1` as in scipy) is asymptotic, and says so.
pub fn ks(r: &[f64], c: &[f64], method: Method) -> CoreResult<TestOutcome> {
    need_values(r, c, 1, "ks")?;
    if (r.len() as u128) * (c.len() as u128) >= 1 << 62 {
        return Err(CoreError::invalid("ks: samples too large (n1 n2 >= 2^62)"));
    }
    let (n1, n2) = (r.len() as u64, c.len() as u64);
    let (f1, f2) = (n1 as f64, n2 as f64);
    // Walk in exact integers: F_r - F_c = (a n2 - b n1) / (n1 n2). The extremes are then
    // turned into doubles the way scipy forms them (a / n1 - b / n2), so the statistic is
    // the same number; no division happens per value.
    // (n1 n2 < 2^62 for any sample that fits in memory, so i64 holds the lattice.)
    let (hi, lo) = lattice_extremes(r, c);
    let as_f64 = |(_, a, b): (i64, u64, u64)| a as f64 / f1 - b as f64 / f2;
    let (max_diff, min_diff) = (as_f64(hi), as_f64(lo));
    let max_abs_lattice = u128::from(hi.0.unsigned_abs().max(lo.0.unsigned_abs()));
    let min_s = (-min_diff).clamp(0.0, 1.0);
    let mut d = if min_s > max_diff { min_s } else { max_diff };
    let g = (n1 * n2) / lcm(n1, n2);
    let l = lcm(n1, n2);
    let mut used = match method {
        Method::Auto if n1.max(n2) <= 10_000 => Method::Exact,
        Method::Auto => Method::Asymptotic,
        m => m,
    };
    let mut note = 0.0;
    if used == Method::Exact && (n1 / g) as f64 >= f64::from(i32::MAX) / (n2 / g) as f64 {
        used = Method::Asymptotic;
        note = 1.0;
    }
    let pvalue = if used == Method::Exact {
        // |a n2 - b n1| / g is D on the lattice of step 1/lcm, exactly.
        let h = (max_abs_lattice / u128::from(g)) as u64;
        d = h as f64 / l as f64;
        two_sample_sf(n1, n2, h)
    } else {
        let (m, n) = if f1 >= f2 { (f1, f2) } else { (f2, f1) };
        let en = (m * n / (m + n)).round_ties_even();
        kolmogorov_sf(en as u64, d)
    };
    let mut details = vec![];
    if note != 0.0 {
        details.push(("exact_unavailable", 1.0));
    }
    Ok(TestOutcome {
        statistic: d,
        pvalue: Some(pvalue.clamp(0.0, 1.0)),
        method: if used == Method::Exact {
            "exact"
        } else {
            "asymptotic"
        },
        effect_size: Some(d),
        details,
    })
}

/// Significance levels and the Scholz & Stephens (1987, table 2) interpolation
/// coefficients of the k-sample Anderson-Darling critical values.
const AD_SIG: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
const AD_B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
const AD_B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
const AD_B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];

/// Least-squares quadratic through `(x_i, y_i)`: coefficients `[c0, c1, c2]` of
/// `c0 + c1 u + c2 u^2` in the centred, scaled variable `u = (x - centre) / scale`,
/// solved by Householder QR (no normal equations).
fn quadratic_fit(x: &[f64], y: &[f64]) -> ([f64; 3], f64, f64) {
    let n = x.len();
    let centre = x.iter().sum::<f64>() / n as f64;
    let scale = x.iter().map(|v| (v - centre).abs()).fold(0.0, f64::max);
    let mut a: Vec<[f64; 3]> = x
        .iter()
        .map(|v| {
            let u = (v - centre) / scale;
            [1.0, u, u * u]
        })
        .collect();
    let mut b = y.to_vec();
    for col in 0..3 {
        let norm = (col..n).map(|i| a[i][col] * a[i][col]).sum::<f64>().sqrt();
        let alpha = if a[col][col] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (0..n)
            .map(|i| if i < col { 0.0 } else { a[i][col] })
            .collect();
        v[col] -= alpha;
        let vv: f64 = v.iter().map(|t| t * t).sum();
        if vv == 0.0 {
            continue;
        }
        for k in col..3 {
            let dot: f64 = (col..n).map(|i| v[i] * a[i][k]).sum();
            for (row, vi) in a.iter_mut().zip(&v).skip(col) {
                row[k] -= 2.0 * dot / vv * vi;
            }
        }
        let dot: f64 = (col..n).map(|i| v[i] * b[i]).sum();
        for i in col..n {
            b[i] -= 2.0 * dot / vv * v[i];
        }
    }
    let mut c = [0.0; 3];
    for row in (0..3).rev() {
        let s: f64 = (row + 1..3).map(|k| a[row][k] * c[k]).sum();
        c[row] = (b[row] - s) / a[row][row];
    }
    (c, centre, scale)
}

/// Two-sample (k = 2) Anderson-Darling test, as `scipy.stats.anderson_ksamp` with
/// `variant="midrank"` (its default).
///
/// The statistic is the standardised midrank `A2akN` of Scholz & Stephens (1987, eq. 7).
/// The p-value is interpolated from their table of critical values (a quadratic in the
/// statistic fitted to the log significance levels) and, as in scipy, capped at 0.25 and
/// floored at 0.001 (`details["capped"]` / `details["floored"]` say when).
pub fn anderson(r: &[f64], c: &[f64]) -> CoreResult<TestOutcome> {
    need_values(r, c, 1, "anderson")?;
    let (n1, n2) = (r.len() as f64, c.len() as f64);
    let nn = n1 + n2;
    if nn < 4.0 {
        return Err(CoreError::invalid(format!(
            "anderson needs at least 4 values in all (got {})",
            nn
        )));
    }
    let mut a2 = Sum::default();
    let mut distinct = 0usize;
    for s in Merged::new(r, c) {
        distinct += 1;
        let l = (s.a + s.b) as f64;
        let bj = (s.below_a + s.below_b) as f64 + l / 2.0;
        let denom = bj * (nn - bj) - nn * l / 4.0;
        for (below, at, n) in [(s.below_a, s.a, n1), (s.below_b, s.b, n2)] {
            let m = (below + at) as f64 - at as f64 / 2.0;
            let inner = l / nn * (nn * m - bj * n).powi(2) / denom;
            a2.add(inner / n);
        }
    }
    if distinct < 2 {
        return Err(CoreError::invalid(
            "anderson needs at least two distinct values in the pooled sample",
        ));
    }
    let a2akn = a2.value() * (nn - 1.0) / nn;
    // Variance of A2akN under the null (Scholz & Stephens 1987, eq. 4), k = 2.
    let k = 2.0;
    let hh = 1.0 / n1 + 1.0 / n2;
    let n_int = nn as u64;
    // h = sum_{i=1}^{N-1} 1/i ; g = sum_{i=1}^{N-2} sum_{j=i+1}^{N-1} 1/((N - i) j)
    let mut tail = Sum::default(); // sum_{j=N-1-idx}^{N-1} 1/j
    let mut g = Sum::default();
    for idx in 0..n_int.saturating_sub(2) {
        tail.add(1.0 / (n_int - 1 - idx) as f64);
        g.add(tail.value() / (idx + 2) as f64);
    }
    let h = tail.value() + 1.0;
    let g = g.value();
    let a = (4.0 * g - 6.0) * (k - 1.0) + (10.0 - 6.0 * g) * hh;
    let b = (2.0 * g - 4.0) * k * k + 8.0 * h * k + (2.0 * g - 14.0 * h - 4.0) * hh - 8.0 * h
        + 4.0 * g
        - 6.0;
    let cc = (6.0 * h + 2.0 * g - 2.0) * k * k
        + (4.0 * h - 4.0 * g + 6.0) * k
        + (2.0 * h - 6.0) * hh
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * k * k - 4.0 * h * k;
    let sigmasq =
        (a * nn.powi(3) + b * nn * nn + cc * nn + d) / ((nn - 1.0) * (nn - 2.0) * (nn - 3.0));
    let m = k - 1.0;
    let stat = (a2akn - m) / sigmasq.sqrt();
    let critical: Vec<f64> = (0..7)
        .map(|i| AD_B0[i] + AD_B1[i] / m.sqrt() + AD_B2[i] / m)
        .collect();
    let lo = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut details = vec![];
    let pvalue = if stat < lo {
        details.push(("capped", 1.0));
        0.25
    } else if stat > hi {
        details.push(("floored", 1.0));
        0.001
    } else {
        let logs: Vec<f64> = AD_SIG.iter().map(|s| s.ln()).collect();
        let (coef, centre, scale) = quadratic_fit(&critical, &logs);
        let u = (stat - centre) / scale;
        (coef[0] + coef[1] * u + coef[2] * u * u).exp()
    };
    details.push(("a2akn", a2akn));
    Ok(TestOutcome {
        statistic: stat,
        pvalue: Some(pvalue),
        method: "interpolated",
        effect_size: None,
        details,
    })
}

/// For each sample, `sum_i (2 (rank_i - i))^2` over its sorted values, where `rank_i` is
/// the midrank in the pooled sample (exact: midranks are halves).
fn squared_rank_gaps(r: &[f64], c: &[f64]) -> (i128, i128) {
    let (mut sx, mut sy) = (0i128, 0i128);
    for s in Merged::new(r, c) {
        // Twice the midrank of this value.
        let twice_rank = 2 * (s.below_a + s.below_b) as i128 + (s.a + s.b) as i128 + 1;
        for i in (s.below_a + 1)..=(s.below_a + s.a) {
            let d = twice_rank - 2 * i as i128;
            sx += d * d;
        }
        for j in (s.below_b + 1)..=(s.below_b + s.b) {
            let d = twice_rank - 2 * j as i128;
            sy += d * d;
        }
    }
    (sx, sy)
}

/// Two-sample Cramér-von Mises test, as `scipy.stats.cramervonmises_2samp`.
///
/// `T` of Anderson (1962) from midranks. `Auto` is exact when both samples have at most
/// 20 values (scipy's rule): the distribution of `U` over all splits of the pooled
/// ranks (Xiao, Gordon & Yakovlev 2006). Asymptotic: the normalised statistic against the
/// limiting one-sample distribution (Csörgő & Faraway 1996), summed until a term falls
/// below 1e-7 as scipy does.
pub fn cramer_von_mises(r: &[f64], c: &[f64], method: Method) -> CoreResult<TestOutcome> {
    need_values(r, c, 2, "cramer_von_mises")?;
    let (nx, ny) = (r.len() as i128, c.len() as i128);
    let (sx, sy) = squared_rank_gaps(r, c);
    // 4U = nx * sx + ny * sy (sx, sy hold squares of doubled gaps).
    let u4 = nx * sx + ny * sy;
    let k = nx * ny;
    let nn = nx + ny;
    // T = U/(kN) - (4k - 1)/(6N) = (6 (4U) - 4 (4k - 1) k) / (24 k N), exact numerator.
    let t = (6 * u4 - 4 * (4 * k - 1) * k) as f64 / (24 * k * nn) as f64;
    let used = match method {
        Method::Auto if nx.max(ny) <= 20 => Method::Exact,
        Method::Auto => Method::Asymptotic,
        m => m,
    };
    let pvalue = if used == Method::Exact {
        cvm_exact_sf(u4, nx as u64, ny as u64)?
    } else {
        let (kf, nf, nxf, nyf) = (k as f64, nn as f64, nx as f64, ny as f64);
        let et = (1.0 + 1.0 / nf) / 6.0;
        let vt = (nf + 1.0) * (4.0 * kf * nf - 3.0 * (nxf * nxf + nyf * nyf) - 2.0 * kf)
            / (45.0 * nf * nf * 4.0 * kf);
        let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
        if tn < 0.003 {
            1.0
        } else {
            (1.0 - cvm_limit_cdf(tn)).max(0.0)
        }
    };
    Ok(TestOutcome {
        statistic: t,
        pvalue: Some(pvalue.min(1.0)),
        method: if used == Method::Exact {
            "exact"
        } else {
            "asymptotic"
        },
        effect_size: None,
        details: vec![],
    })
}

/// CDF of the limiting distribution of the one-sample Cramér-von Mises statistic
/// (Csörgő & Faraway 1996, eq. 1.2): a series of Bessel K_{1/4} terms.
fn cvm_limit_cdf(x: f64) -> f64 {
    let mut total = 0.0;
    let mut k = 0u32;
    loop {
        let y = f64::from(4 * k + 1);
        let q = y * y / (16.0 * x);
        let u = gamma_half_ratio(k) / (std::f64::consts::PI.powf(1.5) * x.sqrt());
        let term = u * y.sqrt() * (-q).exp() * bessel_k(0.25, q);
        total += term;
        if term.abs() < 1e-7 || k > 10_000 {
            break;
        }
        k += 1;
    }
    total
}

/// The exact `P(U >= u)` of the two-sample Cramér-von Mises statistic: every split of
/// the ranks is a lattice path, and `U` is a sum over its points of `(a v - b u)^2`
/// (Xiao et al. 2006, algorithm 1). Counted per lattice point as sorted (value, count)
/// lists; needs `C(m + n, m)` below 2^127.
fn cvm_exact_sf(u4: i128, m: u64, n: u64) -> CoreResult<f64> {
    let total = binomial_u128(m + n, m).ok_or_else(|| {
        CoreError::invalid(format!(
            "cramer_von_mises: an exact p-value for samples of {m} and {n} values is too \
             large to count; use method=\"asymptotic\""
        ))
    })?;
    let l = lcm(m, n) as i128;
    let (a, b) = (l / m as i128, l / n as i128);
    let (mi, ni) = (m as i128, n as i128);
    // zeta = floor(lcm^2 (m + n) (6U - mn(4mn - 1)) / (6 m^2 n^2)), with 6U = 3 (4U) / 2.
    let mn = mi * ni;
    let num2 = l * l * (mi + ni) * (3 * u4 - 2 * mn * (4 * mn - 1));
    let zeta = num2.div_euclid(12 * mn * mn);
    type Dist = Vec<(i128, u128)>;
    let merge = |x: &Dist, y: &Dist| -> Dist {
        let mut out = Vec::with_capacity(x.len() + y.len());
        let (mut i, mut j) = (0, 0);
        while i < x.len() || j < y.len() {
            match (x.get(i), y.get(j)) {
                (Some(&(vx, cx)), Some(&(vy, cy))) if vx == vy => {
                    out.push((vx, cx + cy));
                    i += 1;
                    j += 1;
                }
                (Some(&(vx, cx)), Some(&(vy, _))) if vx < vy => {
                    out.push((vx, cx));
                    i += 1;
                }
                (Some(_), Some(&(vy, cy))) => {
                    out.push((vy, cy));
                    j += 1;
                }
                (Some(&p), None) => {
                    out.push(p);
                    i += 1;
                }
                (None, Some(&p)) => {
                    out.push(p);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        out
    };
    // prev[v]: distribution at (u - 1, v); cur[v]: at (u, v).
    let mut prev: Vec<Dist> = vec![Vec::new(); m as usize + 1];
    for u in 0..=ni {
        let mut cur: Vec<Dist> = Vec::with_capacity(m as usize + 1);
        for v in 0..=mi {
            let from_left: Dist = if u == 0 && v == 0 {
                vec![(0, 1)]
            } else {
                prev[v as usize].clone()
            };
            let mut d = match v {
                0 => from_left,
                _ => merge(&cur[v as usize - 1], &from_left),
            };
            let add = (a * v - b * u).pow(2);
            for e in d.iter_mut() {
                e.0 += add;
            }
            cur.push(d);
        }
        prev = cur;
    }
    let tail: u128 = prev[m as usize]
        .iter()
        .filter(|(v, _)| *v >= zeta)
        .map(|(_, c)| c)
        .sum();
    Ok(tail as f64 / total as f64)
}

fn binomial_u128(n: u64, k: u64) -> Option<u128> {
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 1..=u128::from(k) {
        r = r.checked_mul(u128::from(n - k) + i)? / i;
    }
    (r < (1u128 << 127)).then_some(r)
}

/// Mann-Whitney U test, two-sided, as `scipy.stats.mannwhitneyu` (`use_continuity`
/// applies to the asymptotic p-value).
///
/// The statistic is `U` of the reference sample. `Auto` is exact when either sample has
/// at most 8 values and there are no ties (scipy's rule): the null distribution of `U`
/// counted exactly. Otherwise the normal approximation with the tie correction. The effect
/// size is the rank-biserial correlation `|1 - 2U / (n1 n2)|`.
pub fn mann_whitney(
    r: &[f64],
    c: &[f64],
    method: Method,
    continuity: bool,
) -> CoreResult<TestOutcome> {
    need_values(r, c, 1, "mann_whitney")?;
    let (n1, n2) = (r.len() as u64, c.len() as u64);
    let mut twice_r1: u128 = 0;
    let mut tie_term = Sum::default();
    let mut ties = false;
    for s in Merged::new(r, c) {
        let t = (s.a + s.b) as u128;
        let twice_rank = 2 * (s.below_a + s.below_b) as u128 + t + 1;
        twice_r1 += s.a as u128 * twice_rank;
        if t > 1 {
            ties = true;
            let tf = t as f64;
            tie_term.add(tf * tf * tf - tf);
        }
    }
    let u1 = (twice_r1 - u128::from(n1) * u128::from(n1 + 1)) as f64 / 2.0;
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u2 = f1 * f2 - u1;
    let u = u1.max(u2);
    let used = match method {
        Method::Auto if (n1 > 8 && n2 > 8) || ties => Method::Asymptotic,
        Method::Auto => Method::Exact,
        m => m,
    };
    let pvalue = if used == Method::Exact {
        let kc = (f1 * f2 - u) as u64; // U >= n1 n2 / 2, so P(U' >= U) = P(U' <= kc)
        2.0 * mwu_cdf(n1, n2, kc)
    } else {
        let mu = f1 * f2 / 2.0;
        let n = f1 + f2;
        let s = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term.value() / (n * (n - 1.0)))).sqrt();
        let num = u - mu - if continuity { 0.5 } else { 0.0 };
        2.0 * norm_sf(num / s)
    };
    Ok(TestOutcome {
        statistic: u1,
        pvalue: Some(pvalue.clamp(0.0, 1.0)),
        method: if used == Method::Exact {
            "exact"
        } else {
            "asymptotic"
        },
        effect_size: Some((1.0 - 2.0 * u1 / (f1 * f2)).abs()),
        details: vec![("auc", u1 / (f1 * f2))],
    })
}

/// `P(U <= k)` under the null: the coefficients of the Gaussian binomial
/// `[n1 + n2 choose n1]_q` (counts of U) up to degree `k`, over `C(n1 + n2, n1)`.
/// Built factor by factor, `prod_i (1 - q^(L+i)) / (1 - q^i)`, in exact integers while
/// they fit in 127 bits and in doubles beyond.
fn mwu_cdf(n1: u64, n2: u64, k: u64) -> f64 {
    let (s, l) = (n1.min(n2) as usize, n1.max(n2) as usize);
    let len = k as usize + 1;
    fn coefficients<T>(s: usize, l: usize, len: usize) -> Vec<T>
    where
        T: Copy + std::ops::AddAssign + std::ops::SubAssign + From<u8>,
    {
        let mut c = vec![T::from(0u8); len];
        c[0] = T::from(1u8);
        for i in 1..=s {
            // times (1 - q^(l + i)), from the top so each term uses the old value
            let shift = l + i;
            for d in (shift..len).rev() {
                let v = c[d - shift];
                c[d] -= v;
            }
            // divided by (1 - q^i): a running sum with stride i
            for d in i..len {
                let v = c[d - i];
                c[d] += v;
            }
        }
        c
    }
    let ln_total = crate::core::stats::kolmogorov::ln_binomial((s + l) as u64, s as u64);
    if ln_total < 120.0 * std::f64::consts::LN_2 {
        let c: Vec<i128> = coefficients::<i128>(s, l, len);
        let total = binomial_i128(s + l, s);
        let tail: i128 = c.iter().sum();
        tail as f64 / total as f64
    } else {
        let c: Vec<f64> = coefficients::<f64>(s, l, len);
        let tail: Sum = c.iter().copied().collect();
        (tail.value().ln() - ln_total).exp()
    }
}

fn binomial_i128(n: usize, k: usize) -> i128 {
    let mut r: i128 = 1;
    for i in 1..=k as i128 {
        r = r * ((n - k) as i128 + i) / i;
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_statistic_and_exact_small() {
        let r = [1.0, 2.0, 3.0];
        let c = [4.0, 5.0, 6.0];
        let o = ks(&r, &c, Method::Auto).unwrap();
        assert_eq!(o.statistic, 1.0);
        // D = 1 for n = 3: 2 / C(6, 3) = 0.1
        assert!((o.pvalue.unwrap() - 0.1).abs() < 1e-15);
        assert_eq!(o.method, "exact");
        let same = ks(&r, &r, Method::Auto).unwrap();
        assert_eq!((same.statistic, same.pvalue), (0.0, Some(1.0)));
    }

    #[test]
    fn mwu_counts_match_brute_force() {
        // n1 = 3, n2 = 4: U over all C(7, 3) = 35 splits.
        let mut hist = [0u32; 13];
        for mask in 0u32..(1 << 7) {
            if mask.count_ones() != 3 {
                continue;
            }
            // U = number of (x, y) pairs with y < x
            let mut u = 0;
            let mut ys = 0;
            for pos in 0..7 {
                if mask >> pos & 1 == 1 {
                    u += ys;
                } else {
                    ys += 1;
                }
            }
            hist[u] += 1;
        }
        let mut cum = 0;
        for (k, h) in hist.iter().enumerate() {
            cum += h;
            let p = mwu_cdf(3, 4, k as u64);
            assert!((p - cum as f64 / 35.0).abs() < 1e-15, "k={k}");
        }
    }

    #[test]
    fn cvm_exact_tail_is_a_probability() {
        let r = [0.1, 0.5, 0.9, 1.3];
        let c = [0.2, 0.3, 2.0, 2.5, 3.0];
        let o = cramer_von_mises(&r, &c, Method::Exact).unwrap();
        let p = o.pvalue.unwrap();
        assert!(p > 0.0 && p <= 1.0);
        // The smallest U (perfectly interleaved) has p = 1.
        let o = cramer_von_mises(&[1.0, 3.0], &[2.0, 4.0], Method::Exact).unwrap();
        assert!(o.pvalue.unwrap() > 0.6);
    }

    #[test]
    fn too_few_values_are_refused() {
        assert!(ks(&[], &[1.0], Method::Auto).is_err());
        assert!(cramer_von_mises(&[1.0], &[1.0, 2.0], Method::Auto).is_err());
        assert!(anderson(&[1.0], &[1.0, 1.0, 1.0]).is_err());
    }
}
