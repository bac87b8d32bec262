//! Multivariate two-sample tests on (n, d) samples: MMD, the energy test and the
//! classifier two-sample test.
