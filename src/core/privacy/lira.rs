//! LiRA, the likelihood-ratio attack of Carlini et al. (2022, "Membership Inference Attacks
//! From First Principles"), scored from precomputed signals.
//!
//! Inputs: the target model's signal `s_i` for each record `i` (the logit-scaled confidence
//! of `signals`), the signals `r_ji` of `m` reference models and whether record `i` was in
//! the training set of reference `j` (`in_ji`). For record `i`, `IN_i = {r_ji : in_ji}` and
//! `OUT_i = {r_ji : not in_ji}`.
//!
//! * Means: `mu_in_i = median(IN_i)`, `mu_out_i = median(OUT_i)` (the median, as the
//!   reference code; numpy's median for an even count).
//! * Variance, per example: `sd_in_i = std(IN_i)`, `sd_out_i = std(OUT_i)` (population
//!   standard deviation, ddof 0). Fixed (global): `sd_in = std` of every IN signal of every
//!   record pooled, `sd_out` of every OUT signal, as the reference code's `fix_variance`.
//!   Both have `1e-30` added, as there.
//! * Online score: `log N(s_i; mu_in_i, sd_in) - log N(s_i; mu_out_i, sd_out)`, the log
//!   likelihood ratio of the two Gaussian fits.
//! * Offline score: `(s_i - mu_out_i) / sd_out`, the statistic of the one-sided test that
//!   `s_i` is larger than the OUT models produce; the paper's score `1 - P(Z > s_i)`,
//!   `Z ~ N(mu_out_i, sd_out^2)`, is `Phi` of it, so the ranking (and the ROC) is the same,
//!   while the z-value keeps distinct values far into the tail where `Phi` rounds to 1.
//!
//! Higher = more likely a member in both.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::check_finite;
use crate::core::{CoreError, CoreResult};

const SD_EPS: f64 = 1e-30;

#[derive(Debug, Clone, Copy)]
pub struct LiraOptions {
    pub online: bool,
    pub fix_variance: bool,
}

/// numpy's median of `v` (sorted in place).
fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn std(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt()
}

fn log_normal_pdf_without_constant(x: f64, mu: f64, sd: f64) -> f64 {
    let z = (x - mu) / sd;
    -0.5 * z * z - sd.ln()
}

/// Checks the shapes and values shared by LiRA and RMIA: `target` (n), `reference` (m, n),
/// `reference_in` (m, n).
pub(super) fn check_reference_shapes(
    n: usize,
    reference: ArrayView2<'_, f64>,
    reference_in: ArrayView2<'_, bool>,
    names: [&str; 3],
) -> CoreResult<()> {
    let (m, nr) = reference.dim();
    if nr != n {
        return Err(CoreError::invalid(format!(
            "{}: expected shape (m, {n}) (one column per record of {}), got ({m}, {nr})",
            names[1], names[0]
        )));
    }
    if reference_in.dim() != (m, n) {
        let (a, b) = reference_in.dim();
        return Err(CoreError::invalid(format!(
            "{}: expected shape ({m}, {n}) like {}, got ({a}, {b})",
            names[2], names[1]
        )));
    }
    if m == 0 || n == 0 {
        return Err(CoreError::invalid(format!(
            "{}: needs at least one reference model and one record, got shape ({m}, {n})",
            names[1]
        )));
    }
    if let Some(v) = reference.iter().find(|v| !v.is_finite()) {
        return Err(CoreError::invalid(format!(
            "{}: NaN or infinite value {v}",
            names[1]
        )));
    }
    Ok(())
}

struct Fit {
    mu_in: f64,
    mu_out: f64,
    sd_in: f64,
    sd_out: f64,
}

fn split(
    reference: ArrayView2<'_, f64>,
    reference_in: ArrayView2<'_, bool>,
    i: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut ins = Vec::new();
    let mut outs = Vec::new();
    for (r, &is_in) in reference.column(i).iter().zip(reference_in.column(i)) {
        if is_in {
            ins.push(*r);
        } else {
            outs.push(*r);
        }
    }
    (ins, outs)
}

/// LiRA scores of `target` (n) given `reference` signals (m, n) and `reference_in` (m, n).
pub fn lira_scores(
    target: &[f64],
    reference: ArrayView2<'_, f64>,
    reference_in: ArrayView2<'_, bool>,
    opts: LiraOptions,
) -> CoreResult<Vec<f64>> {
    let n = target.len();
    let names = ["target_signal", "reference_signals", "reference_in"];
    check_reference_shapes(n, reference, reference_in, names)?;
    check_finite(target, "target_signal")?;
    let need = if opts.fix_variance { 1 } else { 2 };
    let short = (0..n).into_par_iter().find_first(|&i| {
        let k_in = reference_in.column(i).iter().filter(|&&b| b).count();
        let k_out = reference_in.nrows() - k_in;
        k_out < need || (opts.online && k_in < need)
    });
    if let Some(i) = short {
        let k_in = reference_in.column(i).iter().filter(|&&b| b).count();
        let sides = if opts.online { "IN and OUT" } else { "OUT" };
        return Err(CoreError::invalid(format!(
            "reference_in: record {i} has {k_in} IN and {} OUT reference models; {} LiRA \
             with {} variance needs at least {need} {sides} reference(s) per record",
            reference_in.nrows() - k_in,
            if opts.online { "online" } else { "offline" },
            if opts.fix_variance {
                "fixed"
            } else {
                "per-example"
            },
        )));
    }
    let mut fits: Vec<Fit> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (mut ins, mut outs) = split(reference, reference_in, i);
            let (sd_in, sd_out) = if opts.fix_variance {
                (0.0, 0.0)
            } else {
                (if ins.len() >= 2 { std(&ins) } else { 0.0 }, std(&outs))
            };
            Fit {
                mu_in: if ins.is_empty() {
                    0.0
                } else {
                    median(&mut ins)
                },
                mu_out: median(&mut outs),
                sd_in,
                sd_out,
            }
        })
        .collect();
    if opts.fix_variance {
        let mut ins = Vec::new();
        let mut outs = Vec::new();
        for (r, &is_in) in reference.iter().zip(reference_in.iter()) {
            if is_in {
                ins.push(*r);
            } else {
                outs.push(*r);
            }
        }
        let sd_in = if ins.is_empty() { 0.0 } else { std(&ins) };
        let sd_out = std(&outs);
        for f in &mut fits {
            f.sd_in = sd_in;
            f.sd_out = sd_out;
        }
    }
    let scores: Vec<f64> = target
        .par_iter()
        .zip(fits.par_iter())
        .map(|(&s, f)| {
            let sd_out = f.sd_out + SD_EPS;
            if opts.online {
                log_normal_pdf_without_constant(s, f.mu_in, f.sd_in + SD_EPS)
                    - log_normal_pdf_without_constant(s, f.mu_out, sd_out)
            } else {
                (s - f.mu_out) / sd_out
            }
        })
        .collect();
    if let Some(i) = scores.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::invalid(format!(
            "reference_signals: the reference signals of record {i} do not vary (standard \
             deviation 0), so no Gaussian can be fitted; use fix_variance=True"
        )));
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn online_score_by_hand() {
        // Record 0: IN {2, 4} (median 3, sd 1), OUT {0, 1} (median 0.5, sd 0.5).
        let refs = array![[2.0], [4.0], [0.0], [1.0]];
        let ins = array![[true], [true], [false], [false]];
        let opts = LiraOptions {
            online: true,
            fix_variance: false,
        };
        let s = lira_scores(&[2.5], refs.view(), ins.view(), opts).unwrap();
        let expected = (-0.5 * 0.25 - 1f64.ln()) - (-0.5 * 16.0 - 0.5f64.ln());
        assert!((s[0] - expected).abs() < 1e-12, "{} vs {expected}", s[0]);
        let off = LiraOptions {
            online: false,
            fix_variance: false,
        };
        let s = lira_scores(&[2.5], refs.view(), ins.view(), off).unwrap();
        assert!((s[0] - 4.0).abs() < 1e-12);
    }

    #[test]
    fn missing_references_are_reported() {
        let refs = array![[2.0], [4.0]];
        let ins = array![[true], [true]];
        let opts = LiraOptions {
            online: true,
            fix_variance: true,
        };
        let e = lira_scores(&[1.0], refs.view(), ins.view(), opts).unwrap_err();
        assert!(e.to_string().contains("record 0"));
        assert!(lira_scores(&[1.0, 2.0], refs.view(), ins.view(), opts).is_err());
    }
}
