//! Sorting of f64 samples, written once: every drift test sorts each sample exactly once
//! and reuses the sorted copy.
//!
//! `sorted_finite_or_inf` copies a sample without its NaNs (counting them) and sorts it
//! with an LSD radix sort on the IEEE-754 bits mapped to an order-preserving `u64` (four
//! passes of 16 bits; -0.0 and +0.0 compare equal to every test that uses ties, since both
//! map next to each other and tests compare values, not bits). Small inputs use the
//! standard unstable sort.

use ndarray::ArrayView1;

/// Below this length a comparison sort is faster than four radix passes.
const RADIX_MIN: usize = 2048;

#[inline]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    // Negative numbers: flip all bits; positive: flip the sign bit. Then unsigned order is
    // numeric order (for non-NaN values).
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

#[inline]
fn unkey(k: u64) -> f64 {
    let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(b)
}

/// Sorts NaN-free values ascending.
pub fn sort_f64(values: &mut [f64]) {
    if values.len() < RADIX_MIN {
        values.sort_unstable_by(|a, b| a.total_cmp(b));
        // total_cmp puts -0.0 before +0.0: harmless, both are equal as values.
        return;
    }
    let mut keys: Vec<u64> = values.iter().map(|&x| key(x)).collect();
    let mut tmp = vec![0u64; keys.len()];
    let mut counts = vec![[0usize; 1 << 16]; 4];
    for &k in &keys {
        for (pass, c) in counts.iter_mut().enumerate() {
            c[((k >> (16 * pass)) & 0xffff) as usize] += 1;
        }
    }
    let (mut src, mut dst) = (&mut keys, &mut tmp);
    for (pass, c) in counts.iter_mut().enumerate() {
        // A pass where every key has the same digit moves nothing: skip it.
        if c.contains(&src.len()) {
            continue;
        }
        let mut sum = 0usize;
        for slot in c.iter_mut() {
            let n = *slot;
            *slot = sum;
            sum += n;
        }
        let shift = 16 * pass;
        for &k in src.iter() {
            let d = ((k >> shift) & 0xffff) as usize;
            dst[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(&mut src, &mut dst);
    }
    for (v, &k) in values.iter_mut().zip(src.iter()) {
        *v = unkey(k);
    }
}

/// A sorted copy of `sample` without its NaNs, and how many NaNs there were.
/// Infinities are kept (they are ordered values).
pub fn sorted_without_nan(sample: ArrayView1<'_, f64>) -> (Vec<f64>, usize) {
    let mut out: Vec<f64> = match sample.as_slice() {
        Some(s) => s.iter().copied().filter(|x| !x.is_nan()).collect(),
        None => sample.iter().copied().filter(|x| !x.is_nan()).collect(),
    };
    let nan = sample.len() - out.len();
    sort_f64(&mut out);
    (out, nan)
}

/// Both samples sorted, in parallel when they are large.
pub fn sorted_pair(
    a: ArrayView1<'_, f64>,
    b: ArrayView1<'_, f64>,
) -> ((Vec<f64>, usize), (Vec<f64>, usize)) {
    if a.len() + b.len() >= 1 << 16 {
        rayon::join(|| sorted_without_nan(a), || sorted_without_nan(b))
    } else {
        (sorted_without_nan(a), sorted_without_nan(b))
    }
}

/// Number of elements of sorted `s` that are `<= x`.
#[inline]
pub fn count_le(s: &[f64], x: f64) -> usize {
    s.partition_point(|&v| v <= x)
}

/// Number of elements of sorted `s` that are `< x`.
#[inline]
pub fn count_lt(s: &[f64], x: f64) -> usize {
    s.partition_point(|&v| v < x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;

    fn lcg(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 1e3
            })
            .collect()
    }

    #[test]
    fn radix_matches_comparison_sort() {
        for n in [0, 1, 5, 2047, 2048, 10_000, 100_003] {
            let mut v = lcg(n, n as u64 + 1);
            if n > 10 {
                v[3] = f64::INFINITY;
                v[4] = f64::NEG_INFINITY;
                v[5] = -0.0;
                v[6] = 0.0;
                v[7] = f64::MIN_POSITIVE / 4.0; // subnormal
                v[8] = -1e300;
            }
            let mut expected = v.clone();
            expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
            sort_f64(&mut v);
            assert!(v.iter().zip(&expected).all(|(a, b)| a == b), "n={n}");
        }
    }

    #[test]
    fn nan_dropped_and_counted_any_layout() {
        let a = Array1::from(vec![3.0, f64::NAN, 1.0, 2.0, f64::NAN, -1.0]);
        let strided = a.slice(ndarray::s![..;2]);
        let (s, nan) = sorted_without_nan(a.view());
        assert_eq!((s, nan), (vec![-1.0, 1.0, 2.0, 3.0], 2));
        let (s, nan) = sorted_without_nan(strided);
        assert_eq!((s, nan), (vec![1.0, 3.0], 1));
    }

    #[test]
    fn counts() {
        let s = [1.0, 2.0, 2.0, 3.0];
        assert_eq!((count_le(&s, 2.0), count_lt(&s, 2.0)), (3, 1));
    }
}
