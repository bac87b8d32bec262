//! Shared statistical machinery used by `drift` and later capabilities: sorting, the
//! merged walk over two sorted samples, special functions and the Kolmogorov-Smirnov
//! distributions.

pub mod kolmogorov;
pub mod merge;
pub mod sort;
pub mod special;
