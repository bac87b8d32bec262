//! Kernel SHAP (Lundberg and Lee 2017): the Shapley values of
//! `v(S) = E_z f(x_S, z_{not S})` as the solution of a weighted least-squares fit over
//! coalitions with the Shapley kernel weights, constrained to add up to `f(x) - E f(z)`.
//!
//! * `coalitions`: every coalition (exact: the fit then returns the Shapley values
//!   themselves), or a paired sample (each coalition drawn with its size from the Shapley
//!   kernel's distribution, then its complement), which makes the weights uniform
//!   (Covert and Lee 2021, "Improving KernelSHAP").
//! * `stack_rows`: the rows the model is called on, for all rows of `X` and a batch of
//!   coalitions at once.
//! * `solve`: the constrained fit for every row and output, the constraint eliminated
//!   through the last feature (as the reference implementation does) and the normal
//!   equations solved by Cholesky once for all rows.

use ndarray::{Array2, ArrayView2, ArrayView3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Feature counts above this cannot be enumerated (2^d coalitions).
pub const MAX_EXACT_FEATURES: usize = 30;

/// Coalitions as 0/1 rows `(c, d)` and their weights.
#[derive(Debug, Clone)]
pub struct Coalitions {
    pub masks: Vec<u8>,
    pub weights: Vec<f64>,
    pub d: usize,
}

impl Coalitions {
    pub fn len(&self) -> usize {
        self.weights.len()
    }

    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
    }
}

/// The Shapley kernel of one coalition of size `s` among `d` features:
/// `(d-1) / (C(d, s) s (d-s))`.
fn kernel_weight(d: usize, s: usize) -> f64 {
    let mut binom = 1.0_f64;
    for i in 0..s.min(d - s) {
        binom = binom * (d - i) as f64 / (i + 1) as f64;
    }
    (d - 1) as f64 / (binom * s as f64 * (d - s) as f64)
}

/// Every coalition but the empty and the full one, with its Shapley kernel weight.
pub fn all_coalitions(d: usize) -> CoreResult<Coalitions> {
    if d == 0 {
        return Err(CoreError::invalid("X: no features"));
    }
    if d > MAX_EXACT_FEATURES {
        return Err(CoreError::invalid(format!(
            "nsamples: exact Kernel SHAP enumerates 2^d coalitions; {d} features is too many \
             (at most {MAX_EXACT_FEATURES})"
        )));
    }
    let c = (1usize << d).saturating_sub(2);
    let mut masks = Vec::with_capacity(c * d);
    let mut weights = Vec::with_capacity(c);
    for code in 1..(1usize << d) - 1 {
        masks.extend((0..d).map(|j| (code >> j & 1) as u8));
        weights.push(kernel_weight(d, code.count_ones() as usize));
    }
    Ok(Coalitions { masks, weights, d })
}

/// `pairs` coalitions drawn with their size from the Shapley kernel's distribution
/// (`p(s)` proportional to `(d-1) / (s (d-s))`) and their members uniformly, each followed
/// by its complement; all weights 1. Seeded: the same `seed` gives the same coalitions.
pub fn sampled_coalitions(d: usize, pairs: usize, seed: u64) -> CoreResult<Coalitions> {
    if d < 2 {
        return Err(CoreError::invalid(
            "nsamples: sampling needs at least two features",
        ));
    }
    if pairs == 0 {
        return Err(CoreError::invalid("nsamples: at least 2 coalitions"));
    }
    let cumulative: Vec<f64> = (1..d)
        .scan(0.0, |acc, s| {
            *acc += 1.0 / (s as f64 * (d - s) as f64);
            Some(*acc)
        })
        .collect();
    let total = cumulative[d - 2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut masks = Vec::with_capacity(2 * pairs * d);
    let mut order: Vec<usize> = (0..d).collect();
    let mut mask = vec![0u8; d];
    for _ in 0..pairs {
        let u = rng.gen::<f64>() * total;
        let s = 1 + cumulative
            .iter()
            .take_while(|&&c| c <= u)
            .count()
            .min(d - 2);
        // A partial Fisher-Yates shuffle picks the s members.
        for i in 0..s {
            let j = rng.gen_range(i..d);
            order.swap(i, j);
        }
        mask.fill(0);
        for &j in &order[..s] {
            mask[j] = 1;
        }
        masks.extend_from_slice(&mask);
        masks.extend(mask.iter().map(|&b| 1 - b));
    }
    Ok(Coalitions {
        masks,
        weights: vec![1.0; 2 * pairs],
        d,
    })
}

/// The rows to call the model on, `(n * c * m, d)`, ordered by row of `x`, then coalition,
/// then background row: `x`'s values on the coalition, the background row's elsewhere.
pub fn stack_rows(
    x: ArrayView2<'_, f64>,
    background: ArrayView2<'_, f64>,
    masks: &[u8],
) -> CoreResult<Array2<f64>> {
    let d = x.ncols();
    if d == 0 || !masks.len().is_multiple_of(d) {
        return Err(CoreError::invalid(
            "coalitions: not a multiple of the features",
        ));
    }
    let rows = x
        .nrows()
        .checked_mul(masks.len() / d)
        .and_then(|r| r.checked_mul(background.nrows()))
        .ok_or_else(|| CoreError::invalid("too many rows for one model call"))?;
    let mut out = Array2::<f64>::zeros((rows, d));
    let slice = out
        .as_slice_mut()
        .ok_or_else(|| CoreError::invalid("internal: output not contiguous"))?;
    stack_rows_into(x, background, masks, slice)?;
    Ok(out)
}

/// [`stack_rows`] written into `out` (exactly `n * c * m * d` values), so that one buffer
/// serves every batch of coalitions: no allocation and no fresh pages per model call.
pub fn stack_rows_into(
    x: ArrayView2<'_, f64>,
    background: ArrayView2<'_, f64>,
    masks: &[u8],
    out: &mut [f64],
) -> CoreResult<()> {
    let (n, d, m) = (x.nrows(), x.ncols(), background.nrows());
    if background.ncols() != d {
        return Err(CoreError::invalid(format!(
            "background: {} features, X has {d}",
            background.ncols()
        )));
    }
    if d == 0 || !masks.len().is_multiple_of(d) {
        return Err(CoreError::invalid(
            "coalitions: not a multiple of the features",
        ));
    }
    let c = masks.len() / d;
    let block = c
        .checked_mul(m)
        .and_then(|r| r.checked_mul(d))
        .ok_or_else(|| CoreError::invalid("too many rows for one model call"))?;
    if block.checked_mul(n) != Some(out.len()) {
        return Err(CoreError::invalid(format!(
            "out: {} values, the stacked rows need {n} x {c} x {m} x {d}",
            out.len()
        )));
    }
    if block == 0 {
        return Ok(());
    }
    // Contiguous copies: every stacked row starts as its background row, then takes the
    // explained row's values on the coalition's members.
    let bg = background.as_standard_layout();
    let bg = bg
        .as_slice()
        .ok_or_else(|| CoreError::invalid("internal: background not contiguous"))?;
    let members: Vec<Vec<usize>> = masks
        .chunks(d)
        .map(|mask| (0..d).filter(|&j| mask[j] == 1).collect())
        .collect();
    out.par_chunks_mut(block).enumerate().for_each(|(i, rows)| {
        let xi = x.row(i).to_vec();
        for (on, coalition) in members.iter().zip(rows.chunks_mut(m * d)) {
            coalition.copy_from_slice(bg);
            for row in coalition.chunks_mut(d) {
                for &j in on {
                    row[j] = xi[j];
                }
            }
        }
    });
    Ok(())
}

/// Cholesky factor (lower, row-major) of a symmetric positive definite `a` (p x p).
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for t in 0..j {
                s -= l[i * p + t] * l[j * p + t];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    Some(l)
}

fn cholesky_solve(l: &[f64], p: usize, b: &mut [f64]) {
    for i in 0..p {
        let mut s = b[i];
        for t in 0..i {
            s -= l[i * p + t] * b[t];
        }
        b[i] = s / l[i * p + i];
    }
    for i in (0..p).rev() {
        let mut s = b[i];
        for t in i + 1..p {
            s -= l[t * p + i] * b[t];
        }
        b[i] = s / l[i * p + i];
    }
}

/// The constrained weighted least-squares fit of every row and output.
///
/// `v`: `(n, c, k)` the value of each coalition (the model's mean output over the
/// background with the coalition's features taken from the row); `fnull`: `(k)` the mean
/// output over the background; `fx`: `(n, k)` the outputs of the rows. Returns `(n, d, k)`
/// attributions that add up to `fx - fnull` exactly (up to rounding).
pub fn solve(
    co: &Coalitions,
    v: ArrayView3<'_, f64>,
    fnull: &[f64],
    fx: ArrayView2<'_, f64>,
    progress: &Progress,
) -> CoreResult<Vec<f64>> {
    let (n, c, k) = v.dim();
    let d = co.d;
    if c != co.len() || fx.dim() != (n, k) || fnull.len() != k {
        return Err(CoreError::invalid(
            "internal: coalition values do not match the coalitions",
        ));
    }
    if v.iter()
        .chain(fx.iter())
        .chain(fnull)
        .any(|x| !x.is_finite())
    {
        return Err(CoreError::Model(
            "model: the outputs contain NaN or infinite values".into(),
        ));
    }
    let p = d - 1;
    // Design: a[s][j] = z_sj - z_s,last for the first d-1 features.
    let design: Vec<f64> = co
        .masks
        .chunks(d)
        .flat_map(|z| {
            let last = f64::from(z[p]);
            z[..p].iter().map(move |&b| f64::from(b) - last)
        })
        .collect();
    let mut gram = vec![0.0; p * p];
    for (row, &w) in design.chunks(p.max(1)).zip(&co.weights) {
        if p == 0 {
            break;
        }
        for i in 0..p {
            let wi = w * row[i];
            if wi != 0.0 {
                for j in 0..p {
                    gram[i * p + j] += wi * row[j];
                }
            }
        }
    }
    let chol = if p > 0 {
        Some(cholesky(&gram, p).ok_or_else(|| {
            CoreError::invalid(
                "nsamples: the sampled coalitions do not determine every feature's value; \
                 use more samples",
            )
        })?)
    } else {
        None
    };
    let mut out = vec![0.0; n * d * k];
    progress.add_total(n as u64);
    out.par_chunks_mut(d * k)
        .enumerate()
        .try_for_each(|(i, phi)| {
            progress.check()?;
            for o in 0..k {
                let delta = fx[[i, o]] - fnull[o];
                let mut rhs = vec![0.0; p];
                if let Some(l) = chol.as_ref() {
                    for (s, (row, &w)) in design.chunks(p).zip(&co.weights).enumerate() {
                        let y = v[[i, s, o]] - fnull[o] - f64::from(co.masks[s * d + p]) * delta;
                        let wy = w * y;
                        for j in 0..p {
                            rhs[j] += row[j] * wy;
                        }
                    }
                    cholesky_solve(l, p, &mut rhs);
                }
                let rest: f64 = rhs.iter().sum();
                for j in 0..p {
                    phi[j * k + o] = rhs[j];
                }
                phi[p * k + o] = delta - rest;
            }
            progress.advance(1);
            Ok::<(), CoreError>(())
        })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array3};

    /// v(S) for a small non-additive game, all coalitions; checks exact mode against the
    /// Shapley formula.
    #[test]
    fn exact_fit_is_the_shapley_value() {
        let d = 4;
        let game = |s: &[u8]| -> f64 {
            let x: Vec<f64> = s.iter().map(|&b| f64::from(b)).collect();
            2.0 * x[0] + x[1] * x[2] * 3.0 - x[3] * x[0] + 0.5 * x[1]
        };
        let co = all_coalitions(d).unwrap();
        let v = Array3::from_shape_vec((1, co.len(), 1), co.masks.chunks(d).map(game).collect())
            .unwrap();
        let fx = array![[game(&[1, 1, 1, 1])]];
        let fnull = [game(&[0, 0, 0, 0])];
        let phi = solve(&co, v.view(), &fnull, fx.view(), &Progress::new()).unwrap();
        // Shapley by hand: 2x0 -> 2 to x0; 3 x1 x2 -> 1.5 each; -x3 x0 -> -0.5 each; 0.5 x1.
        let want = [1.5, 2.0, 1.5, -0.5];
        for (j, w) in want.iter().enumerate() {
            assert!((phi[j] - w).abs() < 1e-12, "{j}: {}", phi[j]);
        }
    }

    #[test]
    fn sampled_are_paired_and_seeded() {
        let a = sampled_coalitions(6, 50, 3).unwrap();
        let b = sampled_coalitions(6, 50, 3).unwrap();
        assert_eq!(a.masks, b.masks);
        for pair in a.masks.chunks(12) {
            for j in 0..6 {
                assert_eq!(pair[j] + pair[6 + j], 1);
            }
            let s: u8 = pair[..6].iter().sum();
            assert!((1..6).contains(&s));
        }
        assert_ne!(a.masks, sampled_coalitions(6, 50, 4).unwrap().masks);
    }

    #[test]
    fn stacks_rows_in_order() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let bg = array![[0.0, 0.0], [9.0, 9.0]];
        let rows = stack_rows(x.view(), bg.view(), &[1, 0, 0, 1]).unwrap();
        assert_eq!(rows.nrows(), 8);
        assert_eq!(rows.row(0).to_vec(), vec![1.0, 0.0]);
        assert_eq!(rows.row(1).to_vec(), vec![1.0, 9.0]);
        assert_eq!(rows.row(3).to_vec(), vec![9.0, 2.0]);
        assert_eq!(rows.row(4).to_vec(), vec![3.0, 0.0]);
    }

    #[test]
    fn stacks_into_a_buffer_as_stack_rows_does() {
        let x = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
        let bg = array![[0.0, -1.0, -2.0], [7.0, 8.0, 9.0], [0.5, 0.5, 0.5]];
        let co = all_coalitions(3).unwrap();
        let want = stack_rows(x.view(), bg.view(), &co.masks).unwrap();
        let mut out = vec![f64::NAN; want.len()];
        stack_rows_into(x.view(), bg.view(), &co.masks, &mut out).unwrap();
        assert_eq!(want.as_slice().unwrap(), &out[..]);
        // Row 0, coalition {feature 1} (code 2), background row 1: [7, 2, 9].
        let at = (co.masks.chunks(3).position(|z| z == [0, 1, 0]).unwrap() * 3 + 1) * 3;
        assert_eq!(&out[at..at + 3], &[7.0, 2.0, 9.0]);
        assert!(stack_rows_into(x.view(), bg.view(), &co.masks, &mut out[1..]).is_err());
    }

    #[test]
    fn refuses_bad_input() {
        assert!(all_coalitions(31).is_err());
        assert!(sampled_coalitions(1, 5, 0).is_err());
        let co = all_coalitions(2).unwrap();
        let v = Array3::from_elem((1, 2, 1), f64::NAN);
        let fx = array![[0.0]];
        assert!(solve(&co, v.view(), &[0.0], fx.view(), &Progress::new()).is_err());
    }
}
