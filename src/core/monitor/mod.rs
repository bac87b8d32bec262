//! Monitoring in production: out-of-distribution scores with conformal p-values and online
//! drift detectors whose thresholds are calibrated for an expected run time.
