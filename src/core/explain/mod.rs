//! Fairness and explanations: group metrics with bootstrap intervals, permutation
//! importance, Kernel SHAP and exact Tree SHAP.

pub mod fairness;
pub mod importance;
pub mod shap;
