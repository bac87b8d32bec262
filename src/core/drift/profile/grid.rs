//! The fixed grid every numeric column of a profile is counted on.
//!
//! A value's bucket is the top `64 - SHIFT` bits of its order-preserving key
//! (`stats::sort::key`: sign, exponent and the first `MANTISSA_BITS` bits of the
//! mantissa). So the grid needs no parameter fitted to the data, is the same on every
//! machine and partition (no logarithm, only bit operations), and two profiles always
//! share it: counts add exactly.
//!
//! Each bucket is an interval of floats `[lower, upper)` on the order-preserving scale
//! whose width is at most `2^-MANTISSA_BITS` of its values' magnitude (about 0.1 %: the
//! relative accuracy of a quantile read from the grid). Negative values mirror the
//! positive ones; 0.0 and -0.0 are one value, in a bucket that holds only zero and the
//! subnormals below `2^-1064 * 2^MANTISSA_BITS`; each infinity has a bucket of its own.

use crate::core::stats::sort::{key, unkey};

/// Bits of the mantissa kept: 1024 buckets per power of two.
pub const MANTISSA_BITS: u32 = 10;
const SHIFT: u32 = 52 - MANTISSA_BITS;

/// The bucket of a non-NaN value.
#[inline]
pub fn bucket(x: f64) -> u32 {
    let x = if x == 0.0 { 0.0 } else { x };
    // 64 - SHIFT = 22 bits: the cast keeps every bit.
    (key(x) >> SHIFT) as u32
}

/// The smallest value of bucket `b`.
pub fn lower(b: u32) -> f64 {
    unkey(u64::from(b) << SHIFT)
}

/// The first value above bucket `b` (its exclusive upper edge), infinity past the top.
pub fn upper(b: u32) -> f64 {
    let v = unkey((u64::from(b) + 1) << SHIFT);
    if v.is_nan() {
        f64::INFINITY
    } else {
        v
    }
}

/// The bucket of negative infinity (it holds only that value).
pub fn neg_inf() -> u32 {
    bucket(f64::NEG_INFINITY)
}

/// The bucket of positive infinity (it holds only that value).
pub fn pos_inf() -> u32 {
    bucket(f64::INFINITY)
}

/// A value that stands for bucket `b`: its midpoint, kept within `[lo, hi]` (the exact
/// extremes of the column, which lie in its first and last finite buckets).
pub fn representative(b: u32, lo: f64, hi: f64) -> f64 {
    let (a, z) = (lower(b), upper(b));
    let mid = a / 2.0 + z / 2.0;
    mid.clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_narrow() {
        let xs = [
            -1e300, -3.5, -1.0, -1e-300, 0.0, 1e-300, 1.0, 1.001, 3.5, 1e300,
        ];
        for w in xs.windows(2) {
            assert!(bucket(w[0]) <= bucket(w[1]));
        }
        assert_eq!(bucket(-0.0), bucket(0.0));
        for &x in &xs {
            let b = bucket(x);
            assert!(lower(b) <= x && x < upper(b), "{x}");
            if x != 0.0 && x.abs() > 1e-290 {
                assert!((upper(b) - lower(b)).abs() <= x.abs() * 2f64.powi(-10) * 1.0001);
            }
        }
        assert!(neg_inf() < bucket(-f64::MAX) && bucket(f64::MAX) < pos_inf());
        assert_eq!(upper(pos_inf()), f64::INFINITY);
        // Small integers each have a bucket whose lower edge is the integer.
        for i in 1..2048 {
            assert_eq!(lower(bucket(f64::from(i))), f64::from(i));
        }
    }
}
