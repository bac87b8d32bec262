//! The surrogates of a model-extraction attack: a softmax (multinomial logistic) regression,
//! or a small network ([`Mlp`]), fitted to the target model's answers (its probabilities, soft labels), so that its
//! agreement with the target on held-out rows measures how well `budget` queries copy it.
//!
//! Fit: features standardised with the training rows' mean and standard deviation (a
//! constant feature is only centred), weights and biases from zero, cross-entropy against
//! the soft labels plus `l2 / 2 * ||W||^2` (biases not penalised), minimised by Nesterov's
//! accelerated gradient with step `1 / L`, `L = (d + 1) / 2 + l2` a bound on the largest
//! eigenvalue of the Hessian for standardised features (`||x||^2 <= d` on average, the
//! softmax Jacobian at most 1/2). Full-batch gradients are summed over fixed blocks of rows
//! in a fixed order, so the fit is the same whatever the thread count.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

const BLOCK: usize = 256;

#[derive(Debug, Clone)]
pub struct Softmax {
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// (d + 1) x k: one row per standardised feature, then the biases.
    weights: Array2<f64>,
}

fn softmax_in_place(z: &mut [f64]) {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut s = 0.0;
    for v in z.iter_mut() {
        *v = (*v - m).exp();
        s += *v;
    }
    for v in z.iter_mut() {
        *v /= s;
    }
}

impl Softmax {
    fn standardised(&self, row: ndarray::ArrayView1<'_, f64>, out: &mut [f64]) {
        for (j, o) in out.iter_mut().enumerate() {
            *o = (row[j] - self.mean[j]) / self.scale[j];
        }
    }

    fn probs_of(&self, xs: &[f64], w: &Array2<f64>, out: &mut [f64]) {
        let d = xs.len();
        for (c, o) in out.iter_mut().enumerate() {
            let mut z = w[[d, c]];
            for (j, &x) in xs.iter().enumerate() {
                z += x * w[[j, c]];
            }
            *o = z;
        }
        softmax_in_place(out);
    }

    /// Class probabilities of every row of `x` (n, d).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
        let d = self.mean.len();
        if x.ncols() != d {
            return Err(CoreError::invalid(format!(
                "X: expected {d} features, got {}",
                x.ncols()
            )));
        }
        let k = self.weights.ncols();
        let rows: Vec<Vec<f64>> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let mut xs = vec![0.0; d];
                self.standardised(x.row(i), &mut xs);
                let mut p = vec![0.0; k];
                self.probs_of(&xs, &self.weights, &mut p);
                p
            })
            .collect();
        let flat: Vec<f64> = rows.into_iter().flatten().collect();
        Array2::from_shape_vec((x.nrows(), k), flat)
            .map_err(|e| CoreError::invalid(format!("predict: {e}")))
    }

    /// The full-batch gradient of the penalised loss at `w` (deterministic block sums).
    fn gradient(
        &self,
        xs: &[f64],
        t: ArrayView2<'_, f64>,
        w: &Array2<f64>,
        l2: f64,
    ) -> Array2<f64> {
        let d = self.mean.len();
        let n = t.nrows();
        let k = t.ncols();
        let blocks: Vec<Array2<f64>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut g = Array2::<f64>::zeros((d + 1, k));
                let mut p = vec![0.0; k];
                for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                    let xr = &xs[i * d..(i + 1) * d];
                    self.probs_of(xr, w, &mut p);
                    for c in 0..k {
                        let r = p[c] - t[[i, c]];
                        for j in 0..d {
                            g[[j, c]] += r * xr[j];
                        }
                        g[[d, c]] += r;
                    }
                }
                g
            })
            .collect();
        let mut g = Array2::<f64>::zeros((d + 1, k));
        for b in blocks {
            g += &b;
        }
        g /= n as f64;
        for j in 0..d {
            for c in 0..k {
                g[[j, c]] += l2 * w[[j, c]];
            }
        }
        g
    }
}

/// Fits the surrogate to `x` (n, d) and the target's probabilities `targets` (n, k).
pub fn fit_softmax(
    x: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    l2: f64,
    iterations: usize,
    progress: &Progress,
) -> CoreResult<Softmax> {
    let (n, d) = x.dim();
    let k = targets.ncols();
    if n == 0 || d == 0 {
        return Err(CoreError::invalid(format!(
            "X: expected at least one row and one feature, got shape ({n}, {d})"
        )));
    }
    if targets.nrows() != n || k < 2 {
        return Err(CoreError::invalid(format!(
            "targets: expected shape ({n}, k >= 2), got ({}, {k})",
            targets.nrows()
        )));
    }
    if x.iter().chain(targets.iter()).any(|v| !v.is_finite()) {
        return Err(CoreError::invalid("X and targets: NaN or infinite values"));
    }
    if !(l2.is_finite() && l2 >= 0.0) {
        return Err(CoreError::invalid(format!("l2: expected >= 0, got {l2}")));
    }
    let mean: Vec<f64> = x.mean_axis(Axis(0)).map(|m| m.to_vec()).unwrap_or_default();
    let scale: Vec<f64> = (0..d)
        .map(|j| {
            let col = x.column(j);
            let var = col.iter().map(|v| (v - mean[j]).powi(2)).sum::<f64>() / n as f64;
            if var > 0.0 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut model = Softmax {
        mean,
        scale,
        weights: Array2::zeros((d + 1, k)),
    };
    let mut xs = vec![0.0; n * d];
    for (i, chunk) in xs.chunks_mut(d).enumerate() {
        model.standardised(x.row(i), chunk);
    }
    let step = 1.0 / (0.5 * (d as f64 + 1.0) + l2);
    let mut w = Array2::<f64>::zeros((d + 1, k));
    let mut y = w.clone();
    let mut t_k = 1.0f64;
    progress.add_total(iterations as u64);
    for _ in 0..iterations {
        progress.check()?;
        let g = model.gradient(&xs, targets, &y, l2);
        let w_next = &y - &(g * step);
        let t_next = (1.0 + (1.0 + 4.0 * t_k * t_k).sqrt()) / 2.0;
        y = &w_next + &((&w_next - &w) * ((t_k - 1.0) / t_next));
        w = w_next;
        t_k = t_next;
        progress.advance(1);
    }
    model.weights = w;
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn recovers_a_softmax_target() {
        // Targets from a known softmax in 2-D: the fit reproduces them closely.
        let n = 400;
        let mut x = Array2::<f64>::zeros((n, 2));
        let mut t = Array2::<f64>::zeros((n, 3));
        for i in 0..n {
            let a = (i as f64 * 0.37).sin() * 2.0;
            let b = (i as f64 * 0.11).cos() * 2.0;
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            let mut z = [a, b, -a - b];
            softmax_in_place(&mut z);
            for c in 0..3 {
                t[[i, c]] = z[c];
            }
        }
        let p = Progress::new();
        let m = fit_softmax(x.view(), t.view(), 0.0, 3000, &p).unwrap();
        let q = m.predict(x.view()).unwrap();
        let worst = (&q - &t).iter().fold(0.0f64, |a, v| a.max(v.abs()));
        assert!(worst < 0.02, "{worst}");
    }

    #[test]
    fn bad_inputs() {
        let p = Progress::new();
        let x = array![[1.0], [2.0]];
        let t = array![[1.0, 0.0]];
        assert!(fit_softmax(x.view(), t.view(), 0.0, 10, &p).is_err());
        let t = array![[f64::NAN, 0.0], [1.0, 0.0]];
        assert!(fit_softmax(x.view(), t.view(), 0.0, 10, &p).is_err());
        let t = array![[1.0, 0.0], [0.0, 1.0]];
        let m = fit_softmax(x.view(), t.view(), 0.0, 10, &p).unwrap();
        assert!(m.predict(array![[1.0, 2.0]].view()).is_err());
    }
}

/// A one-hidden-layer network surrogate (tanh hidden units, softmax output) for models a
/// linear surrogate cannot copy.
///
/// Fit: the same standardisation and soft-label cross-entropy as [`Softmax`], L2 penalty on
/// the weights, Glorot-uniform initial weights from a ChaCha8 stream seeded with `seed`,
/// full-batch Adam (step 0.01, betas 0.9 / 0.999) for `iterations` steps; the gradient is
/// summed over fixed blocks of rows in a fixed order, so the fit is the same whatever the
/// thread count.
#[derive(Debug, Clone)]
pub struct Mlp {
    mean: Vec<f64>,
    scale: Vec<f64>,
    hidden: usize,
    k: usize,
    /// W1 (d x h), b1 (h), W2 (h x k), b2 (k), flattened in that order.
    params: Vec<f64>,
}

impl Mlp {
    fn d(&self) -> usize {
        self.mean.len()
    }

    /// Hidden activations and class probabilities of one standardised row.
    fn forward(&self, p: &[f64], x: &[f64], h: &mut [f64], out: &mut [f64]) {
        let (d, hn, k) = (self.d(), self.hidden, self.k);
        let (w1, rest) = p.split_at(d * hn);
        let (b1, rest) = rest.split_at(hn);
        let (w2, b2) = rest.split_at(hn * k);
        for (u, hu) in h.iter_mut().enumerate() {
            let mut a = b1[u];
            for (j, &xj) in x.iter().enumerate() {
                a += xj * w1[j * hn + u];
            }
            *hu = a.tanh();
        }
        for (c, o) in out.iter_mut().enumerate() {
            let mut z = b2[c];
            for (u, &hu) in h.iter().enumerate() {
                z += hu * w2[u * k + c];
            }
            *o = z;
        }
        softmax_in_place(out);
    }

    fn gradient(&self, p: &[f64], xs: &[f64], t: ArrayView2<'_, f64>, l2: f64) -> Vec<f64> {
        let (d, hn, k) = (self.d(), self.hidden, self.k);
        let n = t.nrows();
        let blocks: Vec<Vec<f64>> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| {
                let mut g = vec![0.0; p.len()];
                let mut h = vec![0.0; hn];
                let mut q = vec![0.0; k];
                let mut dh = vec![0.0; hn];
                let w2 = &p[d * hn + hn..d * hn + hn + hn * k];
                for i in b * BLOCK..((b + 1) * BLOCK).min(n) {
                    let x = &xs[i * d..(i + 1) * d];
                    self.forward(p, x, &mut h, &mut q);
                    for c in 0..k {
                        q[c] -= t[[i, c]];
                    }
                    let (gw1, rest) = g.split_at_mut(d * hn);
                    let (gb1, rest) = rest.split_at_mut(hn);
                    let (gw2, gb2) = rest.split_at_mut(hn * k);
                    for u in 0..hn {
                        let mut s = 0.0;
                        for c in 0..k {
                            gw2[u * k + c] += h[u] * q[c];
                            s += w2[u * k + c] * q[c];
                        }
                        dh[u] = s * (1.0 - h[u] * h[u]);
                        gb1[u] += dh[u];
                    }
                    for c in 0..k {
                        gb2[c] += q[c];
                    }
                    for (j, &xj) in x.iter().enumerate() {
                        for u in 0..hn {
                            gw1[j * hn + u] += xj * dh[u];
                        }
                    }
                }
                g
            })
            .collect();
        let mut g = vec![0.0; p.len()];
        for b in blocks {
            for (a, v) in g.iter_mut().zip(b) {
                *a += v;
            }
        }
        let nf = n as f64;
        for v in g.iter_mut() {
            *v /= nf;
        }
        // L2 on the weights (W1 and W2), not the biases.
        let w2_start = d * hn + hn;
        for (idx, v) in g.iter_mut().enumerate() {
            let is_weight = idx < d * hn || (idx >= w2_start && idx < w2_start + hn * k);
            if is_weight {
                *v += l2 * p[idx];
            }
        }
        g
    }

    /// Class probabilities of every row of `x` (n, d).
    pub fn predict(&self, x: ArrayView2<'_, f64>) -> CoreResult<Array2<f64>> {
        let d = self.d();
        if x.ncols() != d {
            return Err(CoreError::invalid(format!(
                "X: expected {d} features, got {}",
                x.ncols()
            )));
        }
        let k = self.k;
        let rows: Vec<Vec<f64>> = (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let xs: Vec<f64> = (0..d)
                    .map(|j| (x[[i, j]] - self.mean[j]) / self.scale[j])
                    .collect();
                let mut h = vec![0.0; self.hidden];
                let mut q = vec![0.0; k];
                self.forward(&self.params, &xs, &mut h, &mut q);
                q
            })
            .collect();
        let flat: Vec<f64> = rows.into_iter().flatten().collect();
        Array2::from_shape_vec((x.nrows(), k), flat)
            .map_err(|e| CoreError::invalid(format!("predict: {e}")))
    }
}

/// Fits the network surrogate to `x` (n, d) and the target's probabilities (n, k).
pub fn fit_mlp(
    x: ArrayView2<'_, f64>,
    targets: ArrayView2<'_, f64>,
    hidden: usize,
    l2: f64,
    iterations: usize,
    seed: u64,
    progress: &Progress,
) -> CoreResult<Mlp> {
    use rand::{Rng, SeedableRng};

    if hidden == 0 || hidden > 4096 {
        return Err(CoreError::invalid(format!(
            "hidden: expected 1 to 4096 units, got {hidden}"
        )));
    }
    // The same checks and standardisation as the linear surrogate.
    let linear = fit_softmax(x, targets, l2, 0, progress)?;
    let (n, d) = x.dim();
    let k = targets.ncols();
    let mut xs = vec![0.0; n * d];
    for (i, chunk) in xs.chunks_mut(d).enumerate() {
        linear.standardised(x.row(i), chunk);
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut params = Vec::with_capacity(d * hidden + hidden + hidden * k + k);
    let a1 = (6.0 / (d + hidden) as f64).sqrt();
    params.extend((0..d * hidden).map(|_| rng.gen_range(-a1..a1)));
    params.extend(std::iter::repeat_n(0.0, hidden));
    let a2 = (6.0 / (hidden + k) as f64).sqrt();
    params.extend((0..hidden * k).map(|_| rng.gen_range(-a2..a2)));
    params.extend(std::iter::repeat_n(0.0, k));
    let mut model = Mlp {
        mean: linear.mean,
        scale: linear.scale,
        hidden,
        k,
        params,
    };
    let (lr, b1, b2, eps) = (0.01, 0.9f64, 0.999f64, 1e-8);
    let mut m = vec![0.0; model.params.len()];
    let mut v = vec![0.0; model.params.len()];
    progress.add_total(iterations as u64);
    for step in 1..=iterations {
        progress.check()?;
        let g = model.gradient(&model.params, &xs, targets, l2);
        let c1 = 1.0 - b1.powi(step as i32);
        let c2 = 1.0 - b2.powi(step as i32);
        for (i, gi) in g.iter().enumerate() {
            m[i] = b1 * m[i] + (1.0 - b1) * gi;
            v[i] = b2 * v[i] + (1.0 - b2) * gi * gi;
            model.params[i] -= lr * (m[i] / c1) / ((v[i] / c2).sqrt() + eps);
        }
        progress.advance(1);
    }
    Ok(model)
}

#[cfg(test)]
mod mlp_tests {
    use super::*;

    #[test]
    fn copies_what_a_linear_surrogate_cannot() {
        // Class 1 inside a ring: no linear boundary separates it.
        let n = 600;
        let mut x = Array2::<f64>::zeros((n, 2));
        let mut t = Array2::<f64>::zeros((n, 2));
        for i in 0..n {
            let a = (i as f64 * 0.73).sin() * 2.0;
            let b = (i as f64 * 0.29).cos() * 2.0;
            x[[i, 0]] = a;
            x[[i, 1]] = b;
            let inside = if a * a + b * b < 1.5 { 1.0 } else { 0.0 };
            t[[i, 1]] = inside;
            t[[i, 0]] = 1.0 - inside;
        }
        let p = Progress::new();
        let agree = |q: &Array2<f64>| {
            (0..n)
                .filter(|&i| (q[[i, 1]] > 0.5) == (t[[i, 1]] > 0.5))
                .count() as f64
                / n as f64
        };
        let mlp = fit_mlp(x.view(), t.view(), 16, 1e-4, 1500, 7, &p).unwrap();
        let lin = fit_softmax(x.view(), t.view(), 1e-4, 1500, &p).unwrap();
        let (am, al) = (
            agree(&mlp.predict(x.view()).unwrap()),
            agree(&lin.predict(x.view()).unwrap()),
        );
        assert!(am > 0.95 && am > al + 0.1, "mlp {am}, linear {al}");
        // Same seed, same fit.
        let again = fit_mlp(x.view(), t.view(), 16, 1e-4, 50, 7, &p).unwrap();
        let once = fit_mlp(x.view(), t.view(), 16, 1e-4, 50, 7, &p).unwrap();
        assert_eq!(again.params, once.params);
        assert!(fit_mlp(x.view(), t.view(), 0, 1e-4, 5, 7, &p).is_err());
    }
}
