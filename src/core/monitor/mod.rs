//! Monitoring in production: out-of-distribution scores with conformal p-values and online
//! drift detectors whose thresholds are calibrated for an expected run time.
//!
//! * `ood`: k-th neighbour distances, Mahalanobis distances, isolation forests.
//! * `online`: the online MMD detector (Cobb et al. 2021) and its threshold calibration.
//! * `features`: one univariate online detector per feature, combined by the union bound
//!   (the monitor built from a profile).

pub mod features;
pub mod online;
pub mod ood;
