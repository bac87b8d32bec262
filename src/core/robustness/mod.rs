//! Robustness: how easily a model is fooled. Black-box attacks on any model (`model`),
//! run for all still-active samples at once with one model call per round (`common`),
//! under perturbation budgets and tabular constraints (`constraints`).
//!
//! * `noise`: random perturbations (uniform L-inf, Gaussian L2, relative), an
//!   invariance test;
//! * `square`: the Square Attack (score-based, L-inf and L2);
//! * `hop_skip_jump`: HopSkipJump (decision-based, L2 and L-inf), the smallest
//!   adversarial perturbation found per sample;
//! * `pgd`: projected gradient descent with given or estimated (NES, SPSA) gradients.

pub mod common;
pub mod constraints;
pub mod hop_skip_jump;
pub mod model;
pub mod noise;
pub mod pgd;
pub mod square;
#[cfg(test)]
pub mod testkit;
