//! The walk every two-sample statistic is built on: the distinct values of two sorted
//! samples in increasing order, with how many times each sample holds each value.
//!
//! Tests on ECDFs, ranks and CDF distances all read the pooled sample through this one
//! iterator, so ties are handled the same way everywhere and nothing is re-sorted.

/// One distinct value of the pooled sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    pub value: f64,
    /// Occurrences in the first and second sample.
    pub a: usize,
    pub b: usize,
    /// Values of the first and second sample strictly below `value`.
    pub below_a: usize,
    pub below_b: usize,
}

/// Iterator over the distinct values of two ascending, NaN-free slices.
#[derive(Debug, Clone)]
pub struct Merged<'a> {
    x: &'a [f64],
    y: &'a [f64],
    i: usize,
    j: usize,
}

impl<'a> Merged<'a> {
    #[inline]
    pub fn new(x: &'a [f64], y: &'a [f64]) -> Self {
        Merged { x, y, i: 0, j: 0 }
    }
}

/// The first largest and first smallest value of `a n2 - b n1` over the distinct values of
/// the pooled sample, in increasing order, where `(a, b)` count the values of `x` and `y`
/// that are `<=` it (`n1 n2 (F_x - F_y)` in exact integers: the KS statistic's lattice),
/// each with its `(a, b)`; both start at `(0, 0, 0)`, so only a value beyond 0 is kept.
/// A run of ties ends where the next value taken is larger; only there is the lattice read.
///
/// The walk is split into `SEGMENTS` consecutive stretches of the merged order (found by
/// binary search, "merge path"), walked side by side in one loop: a merge step waits for
/// the comparison before it, so one walk leaves the core idle between steps, four
/// independent walks fill those gaps. The next value is taken with a select. The extremes of
/// the stretches are combined in order, keeping the earlier on ties, so the result is the
/// one a single walk gives.
pub fn lattice_extremes(x: &[f64], y: &[f64]) -> (Extreme, Extreme) {
    const SEGMENTS: usize = 4;
    let (n1, n2) = (x.len(), y.len());
    let none = (0i64, 0u64, 0u64);
    if n1 == 0 || n2 == 0 {
        // One side only: `a n2 - b n1` is 0 everywhere.
        return (none, none);
    }
    let total = n1 + n2;
    let mut i = [0usize; SEGMENTS];
    let mut j = [0usize; SEGMENTS];
    let mut left = [0usize; SEGMENTS];
    // The value taken last before each stretch: a step whose value is above it ends the
    // run of ties before it (where the lattice is read). The run of the last value of all
    // ends at (n1, n2), where the lattice is 0 and changes nothing.
    let mut prev = [f64::NEG_INFINITY; SEGMENTS];
    for k in 0..SEGMENTS {
        let d = total * k / SEGMENTS;
        i[k] = merge_split(x, y, d);
        j[k] = d - i[k];
        left[k] = total * (k + 1) / SEGMENTS - d;
        if i[k] > 0 {
            prev[k] = x[i[k] - 1];
        }
        if j[k] > 0 {
            prev[k] = prev[k].max(y[j[k] - 1]);
        }
    }
    let mut hi = [none; SEGMENTS];
    let mut lo = [none; SEGMENTS];
    let (n1i, n2i) = (n1 as i64, n2 as i64);
    let read = |i: usize, j: usize, hi: &mut Extreme, lo: &mut Extreme| {
        let lattice = i as i64 * n2i - j as i64 * n1i;
        if lattice > hi.0 {
            *hi = (lattice, i as u64, j as u64);
        }
        if lattice < lo.0 {
            *lo = (lattice, i as u64, j as u64);
        }
    };
    // While every stretch has `safe` steps left with a value on both sides, no step
    // needs to look for the end of a sample.
    loop {
        let safe = (0..SEGMENTS)
            .map(|k| left[k].min(n1 - i[k]).min(n2 - j[k]))
            .min()
            .unwrap_or(0);
        if safe < 64 {
            break;
        }
        for _ in 0..safe {
            for k in 0..SEGMENTS {
                let (xv, yv) = (x[i[k]], y[j[k]]);
                let take_x = xv <= yv;
                let v = if take_x { xv } else { yv };
                if v > prev[k] {
                    read(i[k], j[k], &mut hi[k], &mut lo[k]);
                }
                prev[k] = v;
                i[k] += usize::from(take_x);
                j[k] += usize::from(!take_x);
            }
        }
        for l in &mut left {
            *l -= safe;
        }
    }
    // The rest: an exhausted side never comes next.
    for k in 0..SEGMENTS {
        for _ in 0..left[k] {
            let take_x = j[k] >= n2 || (i[k] < n1 && x[i[k]] <= y[j[k]]);
            let v = if take_x { x[i[k]] } else { y[j[k]] };
            if v > prev[k] {
                read(i[k], j[k], &mut hi[k], &mut lo[k]);
            }
            prev[k] = v;
            i[k] += usize::from(take_x);
            j[k] += usize::from(!take_x);
        }
    }
    let (mut best_hi, mut best_lo) = (none, none);
    for k in 0..SEGMENTS {
        if hi[k].0 > best_hi.0 {
            best_hi = hi[k];
        }
        if lo[k].0 < best_lo.0 {
            best_lo = lo[k];
        }
    }
    (best_hi, best_lo)
}

/// `(lattice, a, b)`: a value of `a n2 - b n1` and the counts it was found at.
pub type Extreme = (i64, u64, u64);

/// How many values of `x` come among the first `d` of the stable merge of `x` and `y`
/// (ties: `x` first), `d <= x.len() + y.len()`.
fn merge_split(x: &[f64], y: &[f64], d: usize) -> usize {
    let (mut lo, mut hi) = (d.saturating_sub(y.len()), d.min(x.len()));
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        // mid >= d - y.len() and mid < d: the index is within y.
        if x[mid] <= y[d - mid - 1] {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The length of the run of `value` starting at `s[start]`. Runs are found by galloping
/// so that long runs of ties (discrete data) cost a logarithm, not their length.
#[inline(always)]
fn run_len(s: &[f64], start: usize, value: f64) -> usize {
    let rest = &s[start..];
    if rest.first() != Some(&value) {
        return 0;
    }
    if rest.get(1) != Some(&value) {
        return 1;
    }
    let mut hi = 2;
    while hi < rest.len() && rest[hi] == value {
        hi = (hi * 2).min(rest.len());
    }
    let lo = hi / 2;
    lo + rest[lo..hi].partition_point(|&v| v == value)
}

impl Iterator for Merged<'_> {
    type Item = Step;

    #[inline(always)]
    fn next(&mut self) -> Option<Step> {
        let value = match (self.x.get(self.i), self.y.get(self.j)) {
            (Some(&a), Some(&b)) => {
                if a <= b {
                    a
                } else {
                    b
                }
            }
            (Some(&a), None) => a,
            (None, Some(&b)) => b,
            (None, None) => return None,
        };
        let a = run_len(self.x, self.i, value);
        let b = run_len(self.y, self.j, value);
        let step = Step {
            value,
            a,
            b,
            below_a: self.i,
            below_b: self.j,
        };
        self.i += a;
        self.j += b;
        Some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_distinct_values_with_counts() {
        let x = [1.0, 2.0, 2.0, 2.0, 5.0];
        let y = [0.0, 2.0, 5.0, 5.0, 7.0];
        let steps: Vec<(f64, usize, usize, usize, usize)> = Merged::new(&x, &y)
            .map(|s| (s.value, s.a, s.b, s.below_a, s.below_b))
            .collect();
        assert_eq!(
            steps,
            vec![
                (0.0, 0, 1, 0, 0),
                (1.0, 1, 0, 0, 1),
                (2.0, 3, 1, 1, 1),
                (5.0, 1, 2, 4, 2),
                (7.0, 0, 1, 5, 4),
            ]
        );
        let long = vec![3.0; 1000];
        let s: Vec<Step> = Merged::new(&long, &[]).collect();
        assert_eq!((s.len(), s[0].a), (1, 1000));
        assert_eq!(Merged::new(&[], &[]).count(), 0);
        // -0.0 and 0.0 are one value.
        let s: Vec<Step> = Merged::new(&[-0.0], &[0.0]).collect();
        assert_eq!((s.len(), s[0].a, s[0].b), (1, 1, 1));
    }

    /// The extremes as one walk over `Merged` finds them (the definition).
    fn extremes_by_walk(x: &[f64], y: &[f64]) -> (Extreme, Extreme) {
        let (n1, n2) = (x.len() as i64, y.len() as i64);
        let (mut hi, mut lo) = ((0i64, 0u64, 0u64), (0i64, 0u64, 0u64));
        for s in Merged::new(x, y) {
            let (a, b) = (s.below_a + s.a, s.below_b + s.b);
            let l = a as i64 * n2 - b as i64 * n1;
            if l > hi.0 {
                hi = (l, a as u64, b as u64);
            }
            if l < lo.0 {
                lo = (l, a as u64, b as u64);
            }
        }
        (hi, lo)
    }

    #[test]
    fn lattice_extremes_match_one_walk() {
        let mut s = 7u64;
        let mut next = |m: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 33) % m
        };
        for case in 0..400 {
            let (n1, n2) = (next(40) as usize, next(40) as usize);
            // Few distinct values: long runs of ties across both sides and segments.
            let m = 1 + next(if case % 2 == 0 { 5 } else { 1000 });
            let mut x: Vec<f64> = (0..n1).map(|_| next(m) as f64).collect();
            let mut y: Vec<f64> = (0..n2)
                .map(|_| next(m) as f64 + 0.5 * (case % 3) as f64)
                .collect();
            if case % 7 == 0 && n1 > 0 {
                x[0] = f64::NEG_INFINITY;
                y.push(f64::INFINITY);
                x.push(f64::INFINITY);
            }
            x.sort_by(f64::total_cmp);
            y.sort_by(f64::total_cmp);
            assert_eq!(
                lattice_extremes(&x, &y),
                extremes_by_walk(&x, &y),
                "{x:?} {y:?}"
            );
        }
        let x: Vec<f64> = (0..10_000).map(|i| i as f64).collect();
        let y: Vec<f64> = (0..7_000).map(|i| (i * 3) as f64 / 2.0).collect();
        assert_eq!(lattice_extremes(&x, &y), extremes_by_walk(&x, &y));
        assert_eq!(lattice_extremes(&y, &x), extremes_by_walk(&y, &x));
    }
}
