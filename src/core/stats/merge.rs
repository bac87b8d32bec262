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

/// Cumulative counts `(a, b)` of both samples at the end of every distinct value, in
/// increasing order: `f(a, b)` is called once per distinct value with how many values of
/// each sample are `<=` it. The same walk as `Merged`, without a data-dependent branch
/// per value while both samples last (a merge of random data mispredicts every other
/// step otherwise): the next value is taken with a select, and the end of a run of ties
/// is a comparison folded into the caller's update.
#[inline(always)]
pub fn for_each_cumulative(x: &[f64], y: &[f64], mut f: impl FnMut(usize, usize, bool)) {
    let (n1, n2) = (x.len(), y.len());
    let (mut i, mut j) = (0usize, 0usize);
    // While a value remains on each side after the one taken, the next value is known.
    while i + 1 < n1 && j + 1 < n2 {
        let take_x = x[i] <= y[j];
        let v = if take_x { x[i] } else { y[j] };
        i += usize::from(take_x);
        j += usize::from(!take_x);
        let next = x[i].min(y[j]);
        f(i, j, next > v);
    }
    // The rest (at most one value left on a side): the general walk from here.
    let rest = Merged { x, y, i, j };
    // A run of ties may straddle the hand-over; `Merged` yields its remainder as one
    // step, whose end is the run's end.
    for s in rest {
        f(s.below_a + s.a, s.below_b + s.b, true);
    }
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
}
