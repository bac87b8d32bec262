//! The surrogate of a model-extraction attack: a softmax (multinomial logistic) regression
//! fitted to the target model's answers (its probabilities, soft labels), so that its
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
