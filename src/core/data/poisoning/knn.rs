//! Exact k nearest neighbours by blocked brute force: squared Euclidean distances as
//! `|a|^2 + |b|^2 - 2 a.b` (clamped at 0) with the products done a block at a time, query
//! blocks in parallel; neighbours ordered by (distance, index), the row itself excluded.
//! Advances `progress` by the rows done (the caller sets the total).

use ndarray::{s, Array1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::CoreResult;

const QUERY_BLOCK: usize = 256;
const REF_BLOCK: usize = 2048;

/// The `k` nearest other rows of every row of `x`, nearest first (`n x k`, row-major).
pub fn neighbours(x: ArrayView2<'_, f64>, k: usize, progress: &Progress) -> CoreResult<Vec<usize>> {
    let n = x.nrows();
    let k = k.min(n.saturating_sub(1));
    let norms: Array1<f64> = x.outer_iter().map(|r| r.dot(&r)).collect();
    let blocks: Vec<CoreResult<Vec<usize>>> = (0..n.div_ceil(QUERY_BLOCK))
        .into_par_iter()
        .map(|b| {
            progress.check()?;
            let lo = b * QUERY_BLOCK;
            let hi = (lo + QUERY_BLOCK).min(n);
            let q = x.slice(s![lo..hi, ..]);
            // Per query: its best (distance, index) so far, sorted ascending.
            let mut best: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(k + 1); hi - lo];
            for rlo in (0..n).step_by(REF_BLOCK) {
                let rhi = (rlo + REF_BLOCK).min(n);
                let dots = q.dot(&x.slice(s![rlo..rhi, ..]).t());
                for (qi, row) in dots.axis_iter(Axis(0)).enumerate() {
                    let i = lo + qi;
                    let list = &mut best[qi];
                    for (rj, &dot) in row.iter().enumerate() {
                        let j = rlo + rj;
                        if j == i {
                            continue;
                        }
                        let d = (norms[i] + norms[j] - 2.0 * dot).max(0.0);
                        if list.len() == k && !less(d, j, list[k - 1]) {
                            continue;
                        }
                        let at = list.partition_point(|&e| less(e.0, e.1, (d, j)));
                        list.insert(at, (d, j));
                        list.truncate(k);
                    }
                }
            }
            progress.advance((hi - lo) as u64);
            Ok(best
                .into_iter()
                .flat_map(|l| l.into_iter().map(|e| e.1))
                .collect())
        })
        .collect();
    let mut out = Vec::with_capacity(n * k);
    for b in blocks {
        out.extend(b?);
    }
    Ok(out)
}

fn less(d: f64, j: usize, e: (f64, usize)) -> bool {
    d < e.0 || (d == e.0 && j < e.1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn neighbours_on_a_line() {
        let x = Array2::from_shape_fn((5, 1), |(i, _)| (i * i) as f64);
        let nb = neighbours(x.view(), 2, &Progress::new()).unwrap();
        // points 0, 1, 4, 9, 16
        assert_eq!(&nb[0..2], &[1, 2]);
        assert_eq!(&nb[2..4], &[0, 2]);
        assert_eq!(&nb[8..10], &[3, 2]);
    }

    #[test]
    fn ties_go_to_the_lower_index() {
        let x = Array2::from_shape_fn((4, 1), |(i, _)| if i == 0 { 0.0 } else { 1.0 });
        let nb = neighbours(x.view(), 2, &Progress::new()).unwrap();
        assert_eq!(&nb[0..2], &[1, 2]);
        assert_eq!(&nb[6..8], &[1, 2]);
    }
}
