//! Mergeable reference profiles: exact counts on a fixed grid, category counts, missing
//! counts and moments, which add exactly across partitions.
