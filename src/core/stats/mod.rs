//! Shared statistical machinery (sorting, ranks, special functions) used by `drift` and
//! later capabilities.

pub mod sort;
