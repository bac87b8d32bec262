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
fn binomial(d: usize, s: usize) -> usize {
    (0..s.min(d - s)).fold(1usize, |acc, i| acc.saturating_mul(d - i) / (i + 1))
}

/// The next `members.len()`-subset of `0..d` in lexicographic order; false after the last.
fn next_combination(members: &mut [usize], d: usize) -> bool {
    let s = members.len();
    let Some(i) = (0..s).rev().find(|&i| members[i] < d - s + i) else {
        return false;
    };
    members[i] += 1;
    for j in i + 1..s {
        members[j] = members[j - 1] + 1;
    }
    true
}

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

/// `pairs` coalitions and their complements. The smallest sizes are taken whole, each
/// coalition with its own kernel weight (they carry the largest weight per coalition):
/// size 1 with its complements, then size 2, ... while the coalitions taken whole number at
/// most `pairs` (half the budget). The other pairs are drawn with their size from the
/// Shapley kernel's distribution over the remaining sizes, so each drawn coalition carries
/// the same share of the remaining kernel weight. Seeded: the same `seed` gives the same
/// coalitions.
pub fn sampled_coalitions(d: usize, pairs: usize, seed: u64) -> CoreResult<Coalitions> {
    if d < 2 {
        return Err(CoreError::invalid(
            "nsamples: sampling needs at least two features",
        ));
    }
    if pairs == 0 {
        return Err(CoreError::invalid("nsamples: at least 2 coalitions"));
    }
    let mut masks = Vec::with_capacity(2 * pairs * d);
    let mut weights = Vec::with_capacity(2 * pairs);
    let mut first = 1;
    while 2 * first < d && weights.len() + 2 * binomial(d, first) <= pairs {
        let mut members: Vec<usize> = (0..first).collect();
        loop {
            let mut z = vec![0u8; d];
            for &j in &members {
                z[j] = 1;
            }
            masks.extend_from_slice(&z);
            masks.extend(z.iter().map(|&b| 1 - b));
            weights.extend([kernel_weight(d, first), kernel_weight(d, d - first)]);
            if !next_combination(&mut members, d) {
                break;
            }
        }
        first += 1;
    }
    let drawn = pairs - weights.len() / 2;
    // Sizes first..=d-first, drawn with probability proportional to 1 / (s (d - s)).
    let cumulative: Vec<f64> = (first..=d - first)
        .scan(0.0, |acc, s| {
            *acc += 1.0 / (s as f64 * (d - s) as f64);
            Some(*acc)
        })
        .collect();
    let total = cumulative.last().copied().unwrap_or(0.0);
    // Each drawn coalition's weight: the remaining sizes' kernel weight (d - 1) * total,
    // shared equally by the 2 * drawn coalitions.
    let share = if drawn > 0 {
        (d - 1) as f64 * total / (2 * drawn) as f64
    } else {
        0.0
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..d).collect();
    let mut mask = vec![0u8; d];
    for _ in 0..drawn {
        let u = rng.gen::<f64>() * total;
        let s = first
            + cumulative
                .iter()
                .take_while(|&&c| c <= u)
                .count()
                .min(cumulative.len() - 1);
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
        weights.extend([share, share]);
    }
    Ok(Coalitions { masks, weights, d })
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

/// Cholesky factor (lower, row-major) of a symmetric positive definite `a` (p x p); None
/// when a pivot falls to `PIVOT` times its diagonal entry or below (singular to working
/// precision: the fit would amplify rounding in the undetermined directions).
fn cholesky(a: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = a[i * p + j];
            for t in 0..j {
                s -= l[i * p + t] * l[j * p + t];
            }
            if i == j {
                if s <= PIVOT * a[i * p + i] || !s.is_finite() {
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

/// The interaction terms of a polynomial of `order` in the coalition indicators: every
/// set of 1..=order features, as feature lists (singles, then pairs, then triples, ...).
fn terms(d: usize, order: usize) -> Vec<Vec<usize>> {
    let mut all: Vec<Vec<usize>> = (0..d).map(|j| vec![j]).collect();
    let mut last = all.clone();
    for _ in 1..order {
        let mut next = Vec::new();
        for t in &last {
            let top = t.last().copied().unwrap_or(0);
            for j in top + 1..d {
                let mut u = t.clone();
                u.push(j);
                next.push(u);
            }
        }
        all.extend(next.iter().cloned());
        last = next;
    }
    all
}

/// Number of terms of the order-3 polynomial in `d` indicators.
fn cubic_terms(d: usize) -> usize {
    d + d * d.saturating_sub(1) / 2 + d * d.saturating_sub(1) * d.saturating_sub(2) / 6
}

/// The polynomial order `solve` fits when not told: 3 (every interaction of up to three
/// features) for sampled coalitions when they number at least 1.25 times its terms and it
/// has at most `MAX_CUBIC_TERMS` terms, else 1. Every coalition: 1 (already exact).
pub fn default_order(d: usize, coalitions: usize, every: bool) -> usize {
    let t = cubic_terms(d);
    if every || d < 4 || t > MAX_CUBIC_TERMS || 4 * coalitions < 5 * t {
        1
    } else {
        3
    }
}

/// Relative pivot below which a normal matrix counts as singular.
const PIVOT: f64 = 1e-10;

/// The ridge on undetermined interaction terms, relative to the mean diagonal weight.
const RIDGE: f64 = 1e-8;

/// The largest order-3 polynomial fitted (d = 18 has 987 terms).
pub const MAX_CUBIC_TERMS: usize = 1_000;

/// The linear map from a row's coalition values to its attributions, for one set of
/// coalitions: `phi = a y + u (delta - r . y) / q`, with `y` the values minus the null
/// output and `delta = f(x) - f(null)`. None when the coalitions do not determine the fit.
struct Map {
    a: Vec<f64>, // (d, c)
    u: Vec<f64>, // (d)
    r: Vec<f64>, // (c)
    q: f64,
}

/// The constrained weighted least-squares fit of a polynomial `g(S) = sum_T beta_T
/// [T in S]` over the terms `T`, to `v(S) - v(empty)` with the kernel weights, under
/// `sum_T beta_T = f(x) - v(empty)` (so `g` takes both end values). Its Shapley values,
/// each term's coefficient shared equally by its features, are linear in the values:
/// `Map` holds that map.
fn fit_map(co: &Coalitions, order: usize) -> Option<Map> {
    let d = co.d;
    let terms = terms(d, order);
    let p = terms.len();
    let c = co.len();
    // The terms each coalition switches on (every feature of the term is in it).
    let active: Vec<Vec<usize>> = co
        .masks
        .chunks(d)
        .map(|z| {
            (0..p)
                .filter(|&i| terms[i].iter().all(|&j| z[j] == 1))
                .collect()
        })
        .collect();
    let mut h = vec![0.0; p * p];
    for (on, &w) in active.iter().zip(&co.weights) {
        for &i in on {
            for &j in on {
                h[i * p + j] += w;
            }
        }
    }
    // When the coalitions do not determine every interaction term, the fit that keeps
    // the undetermined interaction terms near zero: a ridge on the terms of two or three
    // features, tiny against the weights (the single-feature terms are not penalised).
    let l = match cholesky(&h, p) {
        Some(l) => l,
        None if order > 1 => {
            let scale = (0..p).map(|i| h[i * p + i]).sum::<f64>() / p as f64;
            for (i, t) in terms.iter().enumerate() {
                if t.len() > 1 {
                    h[i * p + i] += RIDGE * scale;
                }
            }
            cholesky(&h, p)?
        }
        None => return None,
    };
    // share[t] = 1 / |T| for the features of T: the Shapley values of the polynomial.
    let mut lt = vec![0.0; p * d]; // H^-1 L^T, (p, d), column by column
    for f in 0..d {
        let mut col: Vec<f64> = terms
            .iter()
            .map(|t| {
                if t.contains(&f) {
                    1.0 / t.len() as f64
                } else {
                    0.0
                }
            })
            .collect();
        cholesky_solve(&l, p, &mut col);
        for i in 0..p {
            lt[i * d + f] = col[i];
        }
    }
    let mut g = vec![1.0; p];
    cholesky_solve(&l, p, &mut g);
    let q: f64 = g.iter().sum();
    if !(q.is_finite() && q > 0.0) {
        return None;
    }
    let mut a = vec![0.0; d * c];
    let mut r = vec![0.0; c];
    for (s, (on, &w)) in active.iter().zip(&co.weights).enumerate() {
        for &i in on {
            for f in 0..d {
                a[f * c + s] += w * lt[i * d + f];
            }
            r[s] += w * g[i];
        }
    }
    let u = (0..d)
        .map(|f| (0..p).map(|i| lt[i * d + f]).sum())
        .collect();
    Some(Map { a, u, r, q })
}

/// The constrained weighted least-squares fit of every row and output, with a polynomial
/// of `order` (1: the classic Kernel SHAP fit; 3: every interaction of up to three
/// features, several times more accurate on sampled coalitions and still exact on every
/// coalition). Falls back to order 1 when the coalitions do not determine the higher fit.
///
/// `v`: `(n, c, k)` the value of each coalition (the model's mean output over the
/// background with the coalition's features taken from the row); `fnull`: `(k)` the mean
/// output over the background; `fx`: `(n, k)` the outputs of the rows. Returns the `(n, d,
/// k)` attributions, which add up to `fx - fnull` exactly (up to rounding), and the order
/// fitted.
pub fn solve(
    co: &Coalitions,
    v: ArrayView3<'_, f64>,
    fnull: &[f64],
    fx: ArrayView2<'_, f64>,
    order: usize,
    progress: &Progress,
) -> CoreResult<(Vec<f64>, usize)> {
    let (n, c, k) = v.dim();
    let d = co.d;
    if d == 0 || c != co.len() || fx.dim() != (n, k) || fnull.len() != k {
        return Err(CoreError::invalid(
            "internal: coalition values do not match the coalitions",
        ));
    }
    if !(1..=3).contains(&order) {
        return Err(CoreError::invalid(format!("order: 1, 2 or 3, got {order}")));
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
    let (map, order) = match fit_map(co, order) {
        Some(m) => (m, order),
        None if order > 1 => fit_map(co, 1).map(|m| (m, 1)).ok_or_else(unidentified)?,
        None => return Err(unidentified()),
    };
    let mut out = vec![0.0; n * d * k];
    progress.add_total(n as u64);
    out.par_chunks_mut(d * k)
        .enumerate()
        .try_for_each(|(i, phi)| {
            progress.check()?;
            let mut y = vec![0.0; c];
            for o in 0..k {
                let delta = fx[[i, o]] - fnull[o];
                for (s, ys) in y.iter_mut().enumerate() {
                    *ys = v[[i, s, o]] - fnull[o];
                }
                let ry: f64 = map.r.iter().zip(&y).map(|(r, y)| r * y).sum();
                let lambda = (delta - ry) / map.q;
                let mut sum = 0.0;
                for f in 0..d {
                    let row = &map.a[f * c..(f + 1) * c];
                    let ay: f64 = row.iter().zip(&y).map(|(a, y)| a * y).sum();
                    phi[f * k + o] = ay + map.u[f] * lambda;
                    sum += phi[f * k + o];
                }
                // The fit adds up to delta in exact arithmetic; an ill-conditioned (ridged)
                // fit can miss by rounding, so project back onto the constraint.
                let fix = (delta - sum) / d as f64;
                for f in 0..d {
                    phi[f * k + o] += fix;
                }
            }
            progress.advance(1);
            Ok::<(), CoreError>(())
        })?;
    Ok((out, order))
}

fn unidentified() -> CoreError {
    CoreError::invalid(
        "nsamples: the sampled coalitions do not determine every feature's value; use more \
         samples",
    )
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
        let (phi, order) = solve(&co, v.view(), &fnull, fx.view(), 1, &Progress::new()).unwrap();
        assert_eq!(order, 1);
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
        assert!(solve(&co, v.view(), &[0.0], fx.view(), 1, &Progress::new()).is_err());
        let ok = Array3::from_elem((1, 2, 1), 0.5);
        assert!(solve(&co, ok.view(), &[0.0], fx.view(), 4, &Progress::new()).is_err());
    }

    /// A game with interactions of up to three features and its Shapley values by hand.
    fn cubic_game(z: &[u8]) -> f64 {
        let x: Vec<f64> = z.iter().map(|&b| f64::from(b)).collect();
        1.5 * x[0] - 0.7 * x[3] + 2.0 * x[1] * x[4] - 1.2 * x[2] * x[5] * x[6]
            + 0.9 * x[0] * x[7] * x[2]
            + 0.3
    }

    fn cubic_shapley(d: usize) -> Vec<f64> {
        let mut phi = vec![0.0; d];
        phi[0] += 1.5;
        phi[3] -= 0.7;
        phi[1] += 1.0;
        phi[4] += 1.0;
        for j in [2, 5, 6] {
            phi[j] -= 0.4;
        }
        for j in [0, 7, 2] {
            phi[j] += 0.3;
        }
        phi
    }

    fn game_values(co: &Coalitions, game: impl Fn(&[u8]) -> f64) -> Array3<f64> {
        let c = co.len();
        Array3::from_shape_vec((1, c, 1), co.masks.chunks(co.d).map(game).collect()).unwrap()
    }

    #[test]
    fn cubic_fit_is_exact_on_every_coalition_and_on_a_sample_of_a_cubic_game() {
        let d = 9;
        let want = cubic_shapley(d);
        let full = vec![1u8; d];
        let fx = array![[cubic_game(&full)]];
        let fnull = [cubic_game(&[0; 9])];
        // Every coalition, orders 1 and 3: both the Shapley values.
        let every = all_coalitions(d).unwrap();
        let v = game_values(&every, cubic_game);
        for order in [1, 3] {
            let (phi, used) =
                solve(&every, v.view(), &fnull, fx.view(), order, &Progress::new()).unwrap();
            assert_eq!(used, order);
            for j in 0..d {
                assert!(
                    (phi[j] - want[j]).abs() < 1e-10,
                    "order {order}, {j}: {}",
                    phi[j]
                );
            }
        }
        // A sample: the cubic fit reproduces a cubic game, so its values are exact; the
        // linear fit (paired) is exact only up to pairwise interactions and misses here.
        let co = sampled_coalitions(d, 300, 7).unwrap();
        let v = game_values(&co, cubic_game);
        let (phi, used) = solve(&co, v.view(), &fnull, fx.view(), 3, &Progress::new()).unwrap();
        assert_eq!(used, 3);
        for j in 0..d {
            assert!(
                (phi[j] - want[j]).abs() < 1e-9,
                "{j}: {} vs {}",
                phi[j],
                want[j]
            );
        }
        let (lin, _) = solve(&co, v.view(), &fnull, fx.view(), 1, &Progress::new()).unwrap();
        let worst = (0..d).map(|j| (lin[j] - want[j]).abs()).fold(0.0, f64::max);
        assert!(
            worst > 1e-3,
            "the linear fit should miss the triple terms: {worst}"
        );
        // Efficiency holds for both.
        let delta = fx[[0, 0]] - fnull[0];
        assert!((phi.iter().sum::<f64>() - delta).abs() < 1e-10);
        assert!((lin.iter().sum::<f64>() - delta).abs() < 1e-10);
    }

    #[test]
    fn pairwise_games_are_exact_with_paired_samples_at_order_one() {
        // Paired sampling makes the linear fit exact for games without triple terms.
        let d = 7;
        let game = |z: &[u8]| {
            let x: Vec<f64> = z.iter().map(|&b| f64::from(b)).collect();
            x[0] - 2.0 * x[1] * x[2] + 0.5 * x[3] * x[6]
        };
        let co = sampled_coalitions(d, 40, 1).unwrap();
        let v = game_values(&co, game);
        let fx = array![[game(&[1; 7])]];
        let (phi, _) = solve(&co, v.view(), &[0.0], fx.view(), 1, &Progress::new()).unwrap();
        let want = [1.0, -1.0, -1.0, 0.25, 0.0, 0.0, 0.25];
        for j in 0..d {
            assert!((phi[j] - want[j]).abs() < 1e-10, "{j}: {}", phi[j]);
        }
    }

    #[test]
    fn an_undetermined_cubic_fit_stays_efficient_and_the_rule_does_not_pick_it() {
        // 20 coalitions cannot determine the 92 terms of the cubic at 8 features: the
        // ridge picks the fit with small interaction terms, which still adds up.
        let d = 8;
        let co = sampled_coalitions(d, 10, 0).unwrap();
        assert_eq!(default_order(d, co.len(), false), 1);
        let v = game_values(&co, cubic_game);
        let fx = array![[cubic_game(&[1; 8])]];
        let (phi, used) = solve(&co, v.view(), &[0.3], fx.view(), 3, &Progress::new()).unwrap();
        assert_eq!(used, 3);
        assert!(phi.iter().all(|p| p.is_finite()));
        let gap = (phi.iter().sum::<f64>() - (fx[[0, 0]] - 0.3)).abs();
        assert!(gap < 1e-12, "efficiency gap {gap}");
        // One pair cannot separate the features even linearly: a clear error.
        let one = sampled_coalitions(d, 1, 0).unwrap();
        let v = game_values(&one, cubic_game);
        assert!(solve(&one, v.view(), &[0.3], fx.view(), 1, &Progress::new()).is_err());
    }

    #[test]
    fn default_order_rule() {
        assert_eq!(default_order(12, 4094, true), 1);
        assert_eq!(cubic_terms(12), 298);
        assert_eq!(default_order(12, 372, false), 1);
        assert_eq!(default_order(12, 373, false), 3);
        assert_eq!(cubic_terms(18), 987);
        assert_eq!(default_order(18, 2000, false), 3);
        assert_eq!(default_order(19, 100_000, false), 1);
        assert_eq!(default_order(3, 100, false), 1);
        assert_eq!(terms(4, 3).len(), cubic_terms(4));
    }

    #[test]
    fn sampled_weights_carry_the_whole_kernel() {
        for (d, pairs) in [(6usize, 50usize), (12, 250), (5, 3)] {
            let co = sampled_coalitions(d, pairs, 2).unwrap();
            assert_eq!(co.len(), 2 * pairs);
            let total: f64 = (1..d).map(|s| (d - 1) as f64 / (s * (d - s)) as f64).sum();
            let got: f64 = co.weights.iter().sum();
            assert!(
                (got - total).abs() < 1e-9 * total,
                "{d} {pairs}: {got} vs {total}"
            );
        }
        // 50 pairs at 6 features: sizes 1 and 2 and their complements whole (12 + 30
        // coalitions), once each; the other 29 pairs (of size 3) drawn.
        let co = sampled_coalitions(6, 50, 2).unwrap();
        let size = |z: &[u8]| z.iter().map(|&b| usize::from(b)).sum::<usize>();
        for s in [1, 2, 4, 5] {
            let mut seen: Vec<&[u8]> = co.masks.chunks(6).filter(|z| size(z) == s).collect();
            assert_eq!(seen.len(), binomial(6, s), "size {s}");
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), binomial(6, s), "size {s} repeats");
        }
        assert_eq!(co.masks.chunks(6).filter(|z| size(z) == 3).count(), 58);
        assert_eq!(binomial(12, 3), 220);
        assert_eq!(binomial(30, 15), 155_117_520);
    }
}
