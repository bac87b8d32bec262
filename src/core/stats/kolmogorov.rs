//! Distributions of Kolmogorov-Smirnov statistics, for the p-values of the two-sample test.
//!
//! * `kolmogorov_sf(n, x)`: `P(D_n > x)` for the two-sided one-sample statistic, choosing
//!   among exact and asymptotic methods as Simard & L'Ecuyer (2011) recommend, with the
//!   same cut-offs as `scipy.stats.kstwo` so that the two agree: Ruben-Gambino closed
//!   forms at the ends, the Durbin matrix (Marsaglia, Tsang & Wang 2003), the Pomeranz
//!   recursion (1974), the Pelz-Good series (1976) and twice the one-sided tail.
//! * `smirnov_sf(n, x)`: `P(D+_n > x)` for the one-sided statistic, the Birnbaum-Tingey
//!   sum (Smirnov 1944; van Mulbregt 2018), each term in logarithms from exact parts.
//! * `two_sample_sf(n1, n2, h)`: the exact `P(D_{n1,n2} >= h / lcm(n1, n2))` by counting
//!   lattice paths (Hodges 1958), in the numerically stable form of Viehmann (2021).
//!
//! Everything returns probabilities clipped to `[0, 1]`.

use rayon::prelude::*;

use super::special::{ln_gamma, Sum};

/// `ln` of the smallest positive normal double: an exponent below this underflows.
const MIN_LOG: f64 = -708.396_418_532_264_1;
/// Scale factor of the matrix and recursion methods (their numbers leave double range).
const SCALE_EXP: i32 = 128;

fn scale_up() -> f64 {
    2f64.powi(SCALE_EXP)
}

fn scale_down() -> f64 {
    2f64.powi(-SCALE_EXP)
}

fn ldexp(x: f64, e: i64) -> f64 {
    // Applied in steps so that an intermediate power of two never overflows.
    let mut x = x;
    let mut e = e;
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

fn clip(p: f64) -> f64 {
    if p.is_nan() {
        p
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// `ln(n! / n^n)` from Stirling's series (used for large `n`).
fn ln_factorial_over_power(n: f64) -> f64 {
    // Coefficients B_2k / (2k (2k - 1)) of the series in 1/n, highest power first.
    const C: [f64; 8] = [
        -3617.0 / 122_400.0,
        1.0 / 156.0,
        -691.0 / 360_360.0,
        1.0 / 1188.0,
        -1.0 / 1680.0,
        1.0 / 1260.0,
        -1.0 / 360.0,
        1.0 / 12.0,
    ];
    let r = 1.0 / n;
    let r2 = r * r;
    let series = C.iter().fold(0.0, |acc, &c| acc * r2 + c);
    0.5 * n.ln() - n + 0.5 * (2.0 * std::f64::consts::PI).ln() + r * series
}

/// `P(D_n > x)` for the two-sided one-sample Kolmogorov-Smirnov statistic of `n` values.
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        // Ruben-Gambino: P(D_n <= x) = n!/n^n (2t - 1)^n for 1/(2n) <= x <= 1/n.
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 / nf) * (2.0 * t - 1.0))
        } else {
            (ln_factorial_over_power(nf) + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return clip(1.0 - cdf);
    }
    if t >= nf - 1.0 {
        // Ruben-Gambino: P(D_n > x) = 2 (1 - x)^n for x >= 1 - 1/n.
        return clip(2.0 * (1.0 - x).powf(nf));
    }
    if x >= 0.5 {
        // The two one-sided events are disjoint here.
        return clip(2.0 * smirnov_sf(n, x));
    }
    let nx2 = t * x;
    if n <= 140 {
        let cdf = if nx2 <= 0.754693 {
            durbin_cdf(n, x)
        } else if nx2 <= 4.0 {
            pomeranz_cdf(n, x)
        } else {
            return clip(2.0 * smirnov_sf(n, x));
        };
        return clip(1.0 - cdf);
    }
    if nx2 >= 370.0 {
        return 0.0;
    }
    if nx2 >= 2.2 {
        return clip(2.0 * smirnov_sf(n, x));
    }
    let cdf = if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        durbin_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    clip(1.0 - cdf)
}

/// `P(D_n <= d)` by the Durbin matrix method: the `(k, k)` entry of `H^n` times `n!/n^n`,
/// with powers of two split off to stay in range.
fn durbin_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    // inv_fact[j] = 1/j!
    let mut inv_fact = vec![1.0; m + 1];
    for j in 1..=m {
        inv_fact[j] = inv_fact[j - 1] / j as f64;
    }
    // First column: (1 - h^j)/j! for j = 1..m, the last entry corrected for h > 1/2.
    let mut first = vec![0.0; m];
    for (j, v) in first.iter_mut().enumerate() {
        *v = (1.0 - h.powf(j as f64 + 1.0)) * inv_fact[j + 1];
    }
    first[m - 1] =
        (1.0 + (2.0 * h - 1.0).max(0.0).powf(m as f64) - 2.0 * h.powf(m as f64)) * inv_fact[m];
    let mut hm = vec![0.0; m * m];
    for r in 0..m {
        for c in 1..m {
            if r + 1 >= c {
                hm[r * m + c] = inv_fact[r + 1 - c];
            }
        }
        hm[r * m] = first[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = first[m - 1 - c];
    }
    let matmul = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; m * m];
        for i in 0..m {
            for l in 0..m {
                let a_il = a[i * m + l];
                if a_il == 0.0 {
                    continue;
                }
                let row_b = &b[l * m..(l + 1) * m];
                let row_out = &mut out[i * m..(i + 1) * m];
                for (o, &bv) in row_out.iter_mut().zip(row_b) {
                    *o += a_il * bv;
                }
            }
        }
        out
    };
    let mut power: Vec<f64> = (0..m * m)
        .map(|i| if i / m == i % m { 1.0 } else { 0.0 })
        .collect();
    let mut base = hm;
    let (mut power_exp, mut base_exp) = (0i64, 0i64);
    let mut e = n;
    while e > 0 {
        if e & 1 == 1 {
            power = matmul(&power, &base);
            power_exp += base_exp;
        }
        base = matmul(&base, &base);
        base_exp *= 2;
        if base[(k - 1) * m + (k - 1)].abs() > scale_up() {
            for v in base.iter_mut() {
                *v *= scale_down();
            }
            base_exp += i64::from(SCALE_EXP);
        }
        e >>= 1;
    }
    let mut p = power[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < scale_down() {
            p *= scale_up();
            power_exp -= i64::from(SCALE_EXP);
        }
    }
    clip(ldexp(p, power_exp))
}

/// `P(D_n <= x)` by the Pomeranz recursion over the break points `0, g, 1-g, 1+g, 2-g, ...,
/// n` (in units of 1/n; `g` is the distance of `n x` to the nearest whole number).
fn pomeranz_cdf(n: u64, x: f64) -> f64 {
    let n_us = n as usize;
    let t = n as f64 * x;
    let ll = t.floor() as i64;
    let f = t - ll as f64;
    let g = f.min(1.0 - f);
    let ceilf = i64::from(f > 0.0);
    let roundf = i64::from(f > 0.5);
    let nn = n as i64;
    // Row i holds V[j] for the j with A_i - t < j < A_i + t (clipped to 0..=n).
    let range = |i: i64| -> (i64, i64) {
        let (lo, hi) = if i == 0 {
            (-ll - ceilf + 1, ll + ceilf - 1)
        } else if i == 2 * nn + 1 {
            (nn - ll - ceilf + 1, nn + ll + ceilf - 1)
        } else if i % 2 == 1 {
            let j = (i + 1) / 2; // A_i = j - 1 + g
            (j - ll - roundf, j + ll + ceilf - 2)
        } else {
            let j = i / 2; // A_i = j - g
            (j - ll, j + ll + roundf - 1)
        };
        (lo.max(0), hi.min(nn))
    };
    let npow = 2 * (ll as usize + 1);
    // (w/n)^m / m! for the three step widths g, 2g and 1 - 2g.
    let powers = |w: f64| -> Vec<f64> {
        let mut p = vec![1.0; npow];
        for m in 1..npow {
            p[m] = p[m - 1] * (w / n as f64) / m as f64;
        }
        p
    };
    let (pg, p2g, p12g) = (powers(g), powers(2.0 * g), powers(1.0 - 2.0 * g));
    let mut prev = vec![0.0; npow];
    let mut cur = vec![0.0; npow];
    cur[0] = 1.0;
    let (mut prev_lo, mut cur_lo) = (0i64, 0i64);
    let mut expnt: i64 = 0;
    let (mut lo, _) = range(0);
    for i in 1..=(2 * nn + 1) {
        let k1 = lo;
        std::mem::swap(&mut prev, &mut cur);
        std::mem::swap(&mut prev_lo, &mut cur_lo);
        cur.iter_mut().for_each(|v| *v = 0.0);
        let (j1, j2) = range(i);
        lo = j1;
        let pw = if i == 1 || i == 2 * nn + 1 {
            &pg
        } else if i % 2 == 1 {
            &p2g
        } else {
            &p12g
        };
        if j2 >= k1 {
            // V_i[j] = sum_{k1 <= k <= j} V_{i-1}[k] pw[j - k]
            let mut maxv: f64 = 0.0;
            for j in j1..=j2 {
                let mut s = 0.0;
                for k in k1..=j {
                    let idx = (k - prev_lo) as usize;
                    if idx < prev.len() {
                        s += prev[idx] * pw[(j - k) as usize];
                    }
                }
                cur[(j - j1) as usize] = s;
                maxv = maxv.max(s);
            }
            if maxv > 0.0 && maxv < scale_down() {
                for v in cur.iter_mut() {
                    *v *= scale_up();
                }
                expnt -= i64::from(SCALE_EXP);
            }
            cur_lo = j1;
        }
    }
    let mut ans = cur[(nn - cur_lo) as usize];
    for m in 1..=n_us {
        if ans.abs() > scale_up() {
            ans *= scale_down();
            expnt += i64::from(SCALE_EXP);
        }
        ans *= m as f64;
    }
    clip(ldexp(ans, expnt))
}

/// `P(D_n <= x)` from the Pelz-Good asymptotic series (four terms in powers of `n^-1/2`).
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z * z * z, z.powi(4), z.powi(6));
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let k1 = (-z2, pi2 / 4.0);
    let k2 = (
        6.0 * z6 + 2.0 * z4,
        (2.0 * z4 - 5.0 * z2) * pi2 / 4.0,
        pi4 * (1.0 - 2.0 * z2) / 16.0,
    );
    let k3 = (
        -30.0 * z6 - 90.0 * z.powi(8),
        pi2 * (135.0 * z4 - 96.0 * z6) / 4.0,
        pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0,
        pi6 * (5.0 - 30.0 * z2) / 64.0,
    );
    let maxk = (16.0 * z / PI).ceil() as i64;
    // sum_k q^((2k-1)^2) c(2k-1), by Horner in q^(8k) from the last term down.
    let mut kk = [0.0f64; 4];
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let coeffs = [
            1.0,
            k1.0 + k1.1 * m2,
            k2.0 + k2.1 * m2 + k2.2 * m4,
            k3.0 + k3.1 * m2 + k3.2 * m4 + k3.3 * m6,
        ];
        for (a, c) in kk.iter_mut().zip(coeffs) {
            *a = *a * qp + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let denom = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (a, d) in kk.iter_mut().zip(denom) {
        *a = *a * q * sqrt2pi / d;
    }
    let q2 = (-pi2 / 2.0 / z2).exp();
    let mut extra2 = 0.0;
    let mut extra3 = 0.0;
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let k2f = kf * kf;
        let w = k2f * q2.powf(k2f);
        extra2 += w;
        extra3 += (3.0 * z2 - pi2 * k2f) * w;
    }
    kk[2] += extra2 * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += extra3 * pi2 * sqrt2pi / (216.0 * z6);
    let mut total = 0.0;
    for (r, a) in kk.iter().enumerate() {
        total += a / nf.powf(r as f64 / 2.0);
    }
    total
}

/// `floor(n x)` and the fractional part of `n x`, both exact (the product is split into
/// a double and its rounding error with a fused multiply-add).
fn floor_and_fraction(n: u64, x: f64) -> (u64, f64) {
    let nf = n as f64;
    let p = nf * x;
    let err = nf.mul_add(x, -p);
    let mut fl = p.floor();
    let mut alpha = (p - fl) + err;
    if alpha < 0.0 {
        fl -= 1.0;
        alpha += 1.0;
    }
    if alpha >= 1.0 {
        fl += 1.0;
        alpha -= 1.0;
    }
    (fl as u64, alpha)
}

/// `P(D+_n > x)` for the one-sided Kolmogorov-Smirnov statistic of `n` values.
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x.is_nan() || n == 0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    if n == 1 {
        return 1.0 - x;
    }
    let (nxfl, alpha) = floor_and_fraction(n, x);
    if nxfl == 0 || (nxfl == 1 && alpha == 0.0) {
        // x <= 1/n: P(D+ <= x) = x (1 + x)^(n - 1).
        return clip(1.0 - x * (1.0 + x).powf(nf - 1.0));
    }
    if -2.0 * nf * x * x < MIN_LOG {
        return 0.0;
    }
    if nxfl >= n - 1 {
        return clip((1.0 - x).powf(nf));
    }
    if n > 1_000_000 {
        // Too many terms: the asymptotic form exp(-(6nx + 1)^2 / (18n)).
        let logp = -(6.0 * nf * x + 1.0).powi(2) / 18.0 / nf;
        return clip(if logp < -std::f64::consts::LN_2 {
            logp.exp()
        } else {
            1.0 + logp.exp_m1()
        });
    }
    let upper_terms = if alpha == 0.0 { nxfl } else { nxfl + 1 };
    let use_upper = n >= 10 && upper_terms <= 3 && x <= 0.5 / nf.sqrt();
    // The v-th term of the sum is C(n, v) x (x + v/n)^(v-1) (1 - x - v/n)^(n-v); both
    // bases are formed from whole numbers and the exact fraction of n x.
    let ln_x = x.ln();
    let ln_term = |v: u64, ln_binom: f64| -> (f64, f64) {
        let vf = v as f64;
        let a = ((vf + nxfl as f64) + alpha) / nf; // x + v/n
        let b = ((nf - vf - nxfl as f64) - alpha) / nf; // 1 - x - v/n (may be negative)
        let ln_a = if v == 0 { ln_x } else { a.ln() };
        let sign = if b < 0.0 && (n - v) % 2 == 1 {
            -1.0
        } else {
            1.0
        };
        let ln_b = if v == n {
            0.0
        } else if b > 0.0 && a < 0.5 {
            (nf - vf) * (-a).ln_1p()
        } else {
            (nf - vf) * b.abs().ln()
        };
        (sign, ln_binom + ln_x + (vf - 1.0) * ln_a + ln_b)
    };
    if use_upper {
        // P(D+ <= x) from the few terms with v > n (1 - x) (alternating signs).
        let first = n - upper_terms + 1;
        let mut sum = Sum::default();
        let mut ln_binom = 0.0; // ln C(n, n) = 0, going down in v
        let mut v = n;
        loop {
            let (sign, l) = ln_term(v, ln_binom);
            sum.add(sign * l.exp());
            if v == first {
                break;
            }
            // C(n, v - 1) = C(n, v) v / (n - v + 1)
            ln_binom += (v as f64).ln() - ((n - v + 1) as f64).ln();
            v -= 1;
        }
        return clip(1.0 - sum.value());
    }
    let last = n - nxfl - 1; // v < n (1 - x)
                             // Up to n terms, all of them significant when x is of order 1/sqrt(n): long sums are
                             // cut into chunks summed in parallel. Each chunk starts from ln C(n, v0), the sum of
                             // the ratios ln((n - j + 1) / j) before it (a cheap first parallel pass).
    const CHUNK: u64 = 16_384;
    let ln_ratio = |j: u64| ((n - j + 1) as f64 / j as f64).ln();
    let chunk_sum = |lo: u64, hi: u64, ln_binom0: f64| -> Sum {
        let mut sum = Sum::default();
        let mut ln_binom = ln_binom0;
        for v in lo..=hi {
            if v > lo {
                ln_binom += ln_ratio(v);
            }
            sum.add(ln_term(v, ln_binom).1.exp());
        }
        sum
    };
    if last < 4 * CHUNK {
        let sum = chunk_sum(0, last, 0.0);
        return clip(sum.value());
    }
    let starts: Vec<u64> = (0..=last).step_by(CHUNK as usize).collect();
    let ratio_sums: Vec<f64> = starts
        .par_iter()
        .map(|&lo| {
            let hi = (lo + CHUNK - 1).min(last);
            ((lo + 1).max(1)..=hi)
                .map(ln_ratio)
                .collect::<Sum>()
                .value()
        })
        .collect();
    // ln C(n, start) for each chunk: the ratios of the chunks before, and the first
    // ratio of this chunk's start (chunk sums cover start+1..=end).
    let mut ln_binom_at = Vec::with_capacity(starts.len());
    let mut acc = Sum::default();
    for (i, &lo) in starts.iter().enumerate() {
        if lo > 0 {
            acc.add(ln_ratio(lo));
        }
        ln_binom_at.push(acc.value());
        acc.add(ratio_sums[i]);
    }
    let total: Sum = starts
        .par_iter()
        .zip(ln_binom_at.par_iter())
        .map(|(&lo, &lb)| chunk_sum(lo, (lo + CHUNK - 1).min(last), lb).value())
        .collect::<Vec<f64>>()
        .into_iter()
        .collect();
    clip(total.value())
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The exact `P(D_{n1,n2} >= h / lcm(n1, n2))` of the two-sample statistic, with `h >= 1`.
pub fn two_sample_sf(n1: u64, n2: u64, h: u64) -> f64 {
    if h == 0 {
        return 1.0;
    }
    if n1 == n2 {
        return equal_sizes_sf(n1, h);
    }
    clip(outside_band(n1, n2, h))
}

/// Equal sizes: `2 sum_{k>=1} (-1)^(k+1) C(2n, n - kh) / C(2n, n)`, nested so that every
/// factor is a ratio below one and no term is large (Horner form from the last term).
fn equal_sizes_sf(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = n / h;
    loop {
        // C(2n, n - kh) / C(2n, n - (k-1)h) as a product of h ratios.
        let mut ratio = 1.0;
        for j in 0..h {
            let num = (n as f64) - (k * h) as f64 - j as f64;
            let den = (n as f64) + (k * h) as f64 + j as f64 + 1.0;
            ratio = num * ratio / den;
        }
        p = ratio * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    clip(2.0 * p)
}

/// Unequal sizes: the probability that a uniformly random lattice path from `(0, 0)` to
/// `(m, n)` leaves the band `|x/m - y/n| < h/lcm`, carried column by column as "the path
/// to this point has already left" (Viehmann's recursion), so no large count appears.
fn outside_band(n1: u64, n2: u64, h: u64) -> f64 {
    let (m, n) = if n1 >= n2 { (n1, n2) } else { (n2, n1) };
    let g = gcd(m, n);
    let (mg, ng) = (m / g, n / g);
    let (h, mg, ng) = (h as i128, mg as i128, ng as i128);
    let n_i = n as i128;
    // Cells (i, j) inside the band: |ng i - mg j| < h.
    let window = |i: i128| -> (i128, i128) {
        let lo = ((ng * i - h).div_euclid(mg) + 1).clamp(0, n_i);
        let hi_num = ng * i + h;
        let hi = (hi_num.div_euclid(mg) + i128::from(hi_num.rem_euclid(mg) != 0)).min(n_i + 1);
        (lo, hi)
    };
    let (mut lo, mut hi) = (0i128, ((h + mg - 1) / mg).min(n_i + 1));
    // Column 0: a path straight up has not left the band while inside it.
    let mut col = vec![0.0f64; (hi - lo).max(0) as usize];
    for i in 1..=(m as i128) {
        let (nlo, nhi) = window(i);
        if nhi <= nlo {
            return 1.0;
        }
        let mut next = vec![0.0f64; (nhi - nlo) as usize];
        // Below the window's first cell: outside (already left), unless it is row 0.
        let mut below = if nlo == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for (idx, slot) in next.iter_mut().enumerate() {
            let j = nlo + idx as i128;
            let left = if j >= lo && j < hi {
                col[(j - lo) as usize]
            } else {
                1.0
            };
            let fj = j as f64;
            let v = (left * fi + below * fj) / (fi + fj);
            *slot = v;
            below = v;
        }
        col = next;
        lo = nlo;
        hi = nhi;
    }
    if hi - 1 == n_i {
        col[(hi - 1 - lo) as usize]
    } else {
        1.0
    }
}

/// `n1 / gcd` times `n2`: the lattice of the two-sample statistic.
pub fn lcm(n1: u64, n2: u64) -> u64 {
    (n1 / gcd(n1, n2)) * n2
}

/// `ln C(n, k)`.
pub fn ln_binomial(n: u64, k: u64) -> f64 {
    ln_gamma(n as f64 + 1.0) - ln_gamma(k as f64 + 1.0) - ln_gamma((n - k) as f64 + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rtol: f64) -> bool {
        (a - b).abs() <= rtol * b.abs().max(1e-300)
    }

    #[test]
    fn smirnov_small_n_matches_closed_forms() {
        // n = 2: P(D+ > x) = 1 - x (1+x) - ... ; check the x <= 1/n and x >= 1 - 1/n forms
        assert!(close(smirnov_sf(5, 0.1), 1.0 - 0.1 * 1.1f64.powi(4), 1e-15));
        assert!(close(smirnov_sf(5, 0.9), 0.1f64.powi(5), 1e-12));
    }

    #[test]
    fn durbin_and_pomeranz_agree() {
        // Both are exact methods for P(D_n <= x); they must agree wherever both apply.
        for n in [3u64, 7, 20, 50, 100, 140] {
            for x in [0.08, 0.1, 0.13, 0.2, 0.27, 0.33] {
                if n as f64 * x <= 1.0 || x >= 0.5 {
                    continue;
                }
                let a = durbin_cdf(n, x);
                let b = pomeranz_cdf(n, x);
                assert!(close(a, b, 1e-10), "n={n} x={x}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn durbin_matches_ruben_gambino_edges() {
        // Just above x = 1/(2n) the exact cdf is n!/n^n (2nx - 1)^n.
        let n = 10u64;
        let x = 0.07;
        let t = 10.0 * x;
        let expected = (1..=n).fold(1.0, |p, i| p * (i as f64 / 10.0) * (2.0 * t - 1.0));
        assert!(close(durbin_cdf(n, x), expected, 1e-12));
        assert!(close(pomeranz_cdf(n, x), expected, 1e-12));
    }

    #[test]
    fn two_sample_exact_small_cases() {
        // n1 = n2 = 2: D takes values 1/2 and 1; P(D >= 1) = 2/C(4,2) = 1/3.
        assert!(close(two_sample_sf(2, 2, 2), 1.0 / 3.0, 1e-15));
        assert_eq!(two_sample_sf(2, 2, 0), 1.0);
        // Unequal sizes: brute force over all C(7, 3) splits of 1..7.
        let (n1, n2) = (3u64, 4u64);
        let l = lcm(n1, n2);
        let mut counts = std::collections::BTreeMap::new();
        for mask in 0u32..(1 << 7) {
            if mask.count_ones() != 3 {
                continue;
            }
            let (mut a, mut b, mut dmax) = (0i64, 0i64, 0i64);
            for pos in 0..7 {
                if mask >> pos & 1 == 1 {
                    a += 1;
                } else {
                    b += 1;
                }
                dmax = dmax.max((a * n2 as i64 - b * n1 as i64).abs());
            }
            *counts.entry(dmax as u64 * l / (n1 * n2)).or_insert(0u32) += 1;
        }
        for h in 1..=l {
            let tail: u32 = counts.range(h..).map(|(_, c)| c).sum();
            let p = two_sample_sf(n1, n2, h);
            assert!(close(p, tail as f64 / 35.0, 1e-13), "h={h}: {p}");
        }
    }
}
