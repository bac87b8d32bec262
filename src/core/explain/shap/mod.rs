//! Shapley-value explanations: exact Tree SHAP on tree ensembles read from any library
//! (`trees`, `tree_shap`) and model-agnostic Kernel SHAP (`kernel`).

pub mod kernel;
pub mod leaf_tables;
pub mod tree_shap;
pub mod trees;

/// The Shapley weight of a coalition of `size` players out of `n`: `size! (n-size-1)! / n!`,
/// computed as `1 / (n * C(n-1, size))` so that it stays finite for deep trees.
pub(crate) fn shapley_weight(n: usize, size: usize) -> f64 {
    debug_assert!(size < n);
    let mut binom = 1.0_f64;
    let k = size.min(n - 1 - size);
    for i in 0..k {
        binom = binom * (n - 1 - i) as f64 / (i + 1) as f64;
    }
    1.0 / (n as f64 * binom)
}
