//! The k x k count matrices of confident learning, computed with the same floating-point
//! operations, in the same order, as numpy does them in cleanlab 2.9 (`count.py`,
//! `filter.py`, `internal/util.py`), so that integer rounding lands on the same side.
//!
//! Matrices are row-major `Vec`s of length `k * k`; `m[i * k + j]` is row `i`, column `j`.

use rayon::prelude::*;

/// cleanlab's `TINY_VALUE`, the floor of every denominator.
const TINY: f64 = 1e-100;
/// cleanlab's `FLOATING_POINT_COMPARISON`.
const FUZZ: f64 = 1e-6;

/// The float types probabilities come in (numpy float32 and float64), with the handful of
/// operations the confident-learning arithmetic needs, done in the type itself as numpy does.
pub trait Prob:
    Copy
    + Send
    + Sync
    + PartialOrd
    + std::fmt::Debug
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Div<Output = Self>
    + 'static
{
    const ZERO: Self;
    fn from_f64(x: f64) -> Self;
    fn from_usize(n: usize) -> Self;
    fn to_f64(self) -> f64;
    fn is_finite(self) -> bool;
    /// `scipy.special.xlogy(x, x)`, in the type itself (`x * logf(x)` for float32).
    fn xlogx(self) -> Self;
}

impl Prob for f64 {
    const ZERO: Self = 0.0;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn from_usize(n: usize) -> Self {
        n as f64
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
    fn xlogx(self) -> Self {
        if self == 0.0 {
            0.0
        } else {
            self * self.ln()
        }
    }
}

impl Prob for f32 {
    const ZERO: Self = 0.0;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn from_usize(n: usize) -> Self {
        n as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
    fn xlogx(self) -> Self {
        if self == 0.0 {
            0.0
        } else {
            self * self.ln()
        }
    }
}

/// numpy's pairwise summation (`np.sum` of a contiguous 1-D array): a plain loop below 8
/// values, eight interleaved accumulators up to 128, halves (cut at a multiple of 8) above.
pub fn pairwise_sum<T: Prob>(a: &[T]) -> T {
    let n = a.len();
    if n < 8 {
        let mut s = T::ZERO;
        for &x in a {
            s = s + x;
        }
        s
    } else if n <= 128 {
        let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
        let whole = n - n % 8;
        let mut i = 8;
        while i < whole {
            for (j, acc) in r.iter_mut().enumerate() {
                *acc = *acc + a[i + j];
            }
            i += 8;
        }
        let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            s = s + x;
        }
        s
    } else {
        let mut half = n / 2;
        half -= half % 8;
        pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
    }
}

/// `np.mean` of a contiguous 1-D array: the pairwise sum divided by the count, in `T`.
pub fn numpy_mean<T: Prob>(a: &[T]) -> T {
    pairwise_sum(a) / T::from_usize(a.len())
}

/// cleanlab's `round_preserving_sum` of one row: round half to even, then move the
/// rounding error onto the entries with the largest (or smallest) remainders. Ties between
/// remainders are broken as a stable argsort would; numpy's argsort is not stable, so the
/// result may differ from cleanlab's only when equal remainders straddle the cut, and the
/// second value says whether that happened (then only numpy itself can say which entries
/// cleanlab changes). The entries to change are selected (O(k)), not sorted.
fn round_preserving_sum(row: &[f64]) -> (Vec<i64>, bool) {
    let mut ints: Vec<f64> = row.iter().map(|x| x.round_ties_even()).collect();
    let orig_sum = pairwise_sum(row).round_ties_even();
    let mut int_sum = pairwise_sum(&ints).round_ties_even();
    let mut unsure = false;
    let mut order: Vec<usize> = Vec::new();
    while (int_sum - orig_sum).abs() > FUZZ {
        let diff = (orig_sum - int_sum).round_ties_even();
        let up = diff >= 0.0;
        let len = row.len();
        let changes = (diff.abs() as usize).min(len);
        let rem: Vec<f64> = row.iter().zip(&ints).map(|(f, i)| f - i).collect();
        // The stable ascending order is by (remainder, index): raising takes its last
        // `changes` entries (`argsort(...)[::-1]`), lowering its first.
        let by_rem = |a: &usize, b: &usize| rem[*a].total_cmp(&rem[*b]).then(a.cmp(b));
        order.clear();
        order.extend(0..len);
        let chosen = if changes == 0 || changes >= len {
            &order[..changes.min(len)]
        } else if up {
            let cut = len - changes;
            order.select_nth_unstable_by(cut, by_rem);
            let first_in = rem[order[cut]];
            unsure |= order[..cut].iter().any(|&i| rem[i] == first_in);
            &order[cut..]
        } else {
            order.select_nth_unstable_by(changes - 1, by_rem);
            let last_in = rem[order[changes - 1]];
            unsure |= order[changes..].iter().any(|&i| rem[i] == last_in);
            &order[..changes]
        };
        let step = if up { 1.0 } else { -1.0 };
        for &i in chosen {
            ints[i] += step;
        }
        int_sum = pairwise_sum(&ints).round_ties_even();
    }
    (ints.iter().map(|&x| x as i64).collect(), unsure)
}

/// cleanlab's `round_preserving_row_totals` of a row-major matrix with `k` columns, rows
/// in parallel. Also returns, in order, the rows whose result depends on how numpy's
/// unstable argsort orders equal remainders (see `round_preserving_sum`).
pub fn round_row_totals(m: &[f64], k: usize) -> (Vec<i64>, Vec<usize>) {
    if k == 0 {
        return (Vec::new(), Vec::new());
    }
    let rows: Vec<(Vec<i64>, bool)> = m.par_chunks(k).map(round_preserving_sum).collect();
    let unsure = rows
        .iter()
        .enumerate()
        .filter(|(_, (_, u))| *u)
        .map(|(i, _)| i)
        .collect();
    (rows.into_iter().flat_map(|(r, _)| r).collect(), unsure)
}

/// cleanlab's `round_preserving_row_totals` (ties by index).
fn round_rows(m: &[f64], k: usize) -> Vec<i64> {
    round_row_totals(m, k).0
}

/// cleanlab's `calibrate_confident_joint`: rows scaled to the given-label counts, the
/// whole scaled to the number of rows, each row rounded preserving its total.
pub fn calibrate(cj: &[i64], label_counts: &[usize], k: usize) -> Vec<i64> {
    let n: usize = label_counts.iter().sum();
    let mut m = vec![0.0f64; k * k];
    for i in 0..k {
        let row = &cj[i * k..(i + 1) * k];
        let total = (row.iter().sum::<i64>() as f64).max(TINY);
        for j in 0..k {
            m[i * k + j] = row[j] as f64 / total * label_counts[i] as f64;
        }
    }
    // cleanlab's matrix is Fortran-ordered (a transposed confusion matrix) and numpy sums
    // it in memory order: column by column.
    let by_column: Vec<f64> = (0..k * k).map(|x| m[(x % k) * k + x / k]).collect();
    let total = pairwise_sum(&by_column).max(TINY);
    for x in &mut m {
        *x = *x / total * n as f64;
    }
    round_rows(&m, k)
}

/// cleanlab's `_keep_at_least_n_per_class(confident_joint.T, n, frac_noise)`: the prune
/// count matrix (transposed to the joint: column `k` holds how many rows given label `k` to
/// prune towards each true class `j`, its diagonal how many to keep).
#[cfg(test)]
pub fn prune_counts(calibrated: &[i64], k: usize, min_keep: usize, frac_noise: f64) -> Vec<i64> {
    let by_given = prune_counts_by_given(calibrated, k, min_keep, frac_noise);
    (0..k * k).map(|x| by_given[(x % k) * k + x / k]).collect()
}

/// The prune count matrix of `prune_counts`, by given label: row `c` (`[c * k + j]`)
/// holds how many rows given label `c` to prune towards each true class `j`, its diagonal
/// how many to keep. cleanlab works on the columns of the transposed joint; each is a row
/// of `calibrated` here, read in order (no strided pass over k x k values), and the
/// arithmetic is cleanlab's, in its order.
pub fn prune_counts_by_given(
    calibrated: &[i64],
    k: usize,
    min_keep: usize,
    frac_noise: f64,
) -> Vec<i64> {
    let mut out = vec![0i64; k * k];
    let mut new = vec![0.0f64; k];
    for (c, (row, dst)) in calibrated
        .chunks_exact(k)
        .zip(out.chunks_exact_mut(k))
        .enumerate()
    {
        // `row[j]` is cleanlab's `m[j, c]` with m = confident_joint.T.
        let d = row[c];
        let new_diag = d.max(min_keep as i64);
        let raised = (new_diag - d) as f64;
        let nonzero = row.iter().filter(|&&x| x != 0).count() as f64;
        let per_rate = raised / (nonzero - 1.0).max(1.0);
        for (v, &x) in new.iter_mut().zip(row) {
            let v2 = x as f64 - per_rate;
            *v = if v2 < 0.0 { 0.0 } else { v2 };
        }
        new[c] = new_diag as f64;
        // `_reduce_prune_counts`: off-diagonal counts times frac_noise, the removed amount
        // moved onto the diagonal (accumulated over true classes in order, as numpy's
        // axis-0 sum; the diagonal adds 0), then truncated to integers.
        let mut moved = 0.0f64;
        for (j, (&v, o)) in new.iter().zip(dst.iter_mut()).enumerate() {
            let reduced = if j == c { v } else { v * frac_noise };
            moved += v - reduced;
            // Already whole numbers: cleanlab's final `round_preserving_row_totals` keeps
            // them.
            *o = reduced as i64;
        }
        dst[c] = (new[c] + moved) as i64;
    }
    out
}

/// `clip_noise_rates`: off-diagonal rates clipped to [0, 0.9999], columns renormalised.
fn clip_noise_rates(nm: &mut [f64], k: usize) {
    for i in 0..k {
        for j in 0..k {
            if i != j {
                nm[i * k + j] = nm[i * k + j].clamp(0.0, 0.9999);
            }
        }
    }
    let mut col = vec![0.0f64; k];
    for i in 0..k {
        for j in 0..k {
            col[j] += nm[i * k + j];
        }
    }
    for i in 0..k {
        for j in 0..k {
            nm[i * k + j] /= col[j].max(TINY);
        }
    }
}

/// The noise matrix of cleanlab's `estimate_latent(confident_joint, labels)`:
/// `P(given = i | true = j)` at `[i * k + j]`, each column summing to 1.
pub fn noise_matrix(calibrated: &[i64], k: usize) -> Vec<f64> {
    let mut col = vec![0i64; k];
    for i in 0..k {
        for j in 0..k {
            col[j] += calibrated[i * k + j];
        }
    }
    let mut nm: Vec<f64> = (0..k * k)
        .map(|x| calibrated[x] as f64 / (col[x % k] as f64).max(TINY))
        .collect();
    clip_noise_rates(&mut nm, k);
    nm
}

/// `estimate_joint`: the calibrated confident joint over its total.
pub fn joint(calibrated: &[i64]) -> Vec<f64> {
    let total = (calibrated.iter().sum::<i64>() as f64).max(TINY);
    calibrated.iter().map(|&c| c as f64 / total).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sum_follows_numpy_blocks() {
        let a: Vec<f64> = (0..300).map(|i| 0.1 * i as f64).collect();
        let naive: f64 = a.iter().sum();
        assert!((pairwise_sum(&a) - naive).abs() < 1e-9);
        // Below 8 values it is a plain left-to-right loop.
        let small = [1e16, 1.0, -1e16];
        assert_eq!(pairwise_sum(&small), (1e16 + 1.0) - 1e16);
        assert_eq!(numpy_mean(&[1.0f32, 2.0, 4.5]), 7.5 / 3.0);
    }

    #[test]
    fn rounding_keeps_row_totals() {
        // 0.5 rounds to even (0), the row total 3 is kept by raising the largest remainder.
        assert_eq!(
            round_preserving_sum(&[0.5, 1.4, 1.1]),
            (vec![1, 1, 1], false)
        );
        assert_eq!(round_preserving_sum(&[2.5, 0.5]), (vec![2, 1], true));
        // Equal remainders across the cut: the last of them is raised first, as a stable
        // argsort(...)[::-1] does, and the row is marked unsure (numpy's is not stable).
        assert_eq!(
            round_preserving_sum(&[1.4, 1.4, 0.2]),
            (vec![1, 2, 0], true)
        );
        assert_eq!(
            round_preserving_sum(&[1.6, 1.6, 0.8]),
            (vec![1, 2, 1], true)
        );
        // Equal remainders all on one side of the cut: nothing to be unsure of.
        assert_eq!(
            round_preserving_sum(&[0.45, 0.45, 0.4, 0.4, 0.3]),
            (vec![1, 1, 0, 0, 0], false)
        );
        assert_eq!(
            round_preserving_sum(&[0.6, 0.6, 0.55, 1.25]),
            (vec![1, 1, 0, 1], false)
        );
    }

    /// The rounding by selection equals the rounding by a full stable sort (the previous
    /// implementation, kept here as the reference) on random rows with many ties.
    #[test]
    fn selection_rounding_equals_a_stable_sort() {
        fn by_sort(row: &[f64]) -> Vec<i64> {
            let mut ints: Vec<f64> = row.iter().map(|x| x.round_ties_even()).collect();
            let orig = pairwise_sum(row).round_ties_even();
            let mut sum = pairwise_sum(&ints).round_ties_even();
            while (sum - orig).abs() > FUZZ {
                let diff = (orig - sum).round_ties_even();
                let changes = (diff.abs() as usize).min(row.len());
                let rem: Vec<f64> = row.iter().zip(&ints).map(|(f, i)| f - i).collect();
                let mut order: Vec<usize> = (0..row.len()).collect();
                order.sort_by(|&a, &b| rem[a].total_cmp(&rem[b]));
                if diff >= 0.0 {
                    order.reverse();
                }
                for &i in &order[..changes] {
                    ints[i] += diff.signum();
                }
                sum = pairwise_sum(&ints).round_ties_even();
            }
            ints.iter().map(|&x| x as i64).collect()
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut unsure_seen = 0;
        for trial in 0..400 {
            let len = 1 + (next() % 40) as usize;
            // Quarters and zeros: remainders tie often.
            let row: Vec<f64> = (0..len)
                .map(|_| match next() % 3 {
                    0 => 0.0,
                    _ => (next() % 20) as f64 * 0.25 + if trial % 2 == 0 { 0.0 } else { 0.1 },
                })
                .collect();
            let (ints, unsure) = round_preserving_sum(&row);
            assert_eq!(ints, by_sort(&row), "{row:?}");
            unsure_seen += usize::from(unsure);
        }
        assert!(unsure_seen > 0);
        let m = [0.5, 1.4, 1.1, 1.4, 1.4, 0.2];
        assert_eq!(round_row_totals(&m, 3), (vec![1, 1, 1, 1, 2, 0], vec![1]));
    }

    #[test]
    fn calibration_scales_rows_to_label_counts() {
        // Given labels: 6 of class 0, 4 of class 1; confident counts from 3 + 2 rows.
        let cj = [2, 1, 1, 1];
        let cal = calibrate(&cj, &[6, 4], 2);
        assert_eq!(cal, vec![4, 2, 2, 2]);
        let j = joint(&cal);
        assert!((j.iter().sum::<f64>() - 1.0).abs() < 1e-15);
        let nm = noise_matrix(&cal, 2);
        // Columns: true 0 has counts (4, 2), true 1 has (2, 2).
        assert!((nm[0] - 4.0 / 6.0).abs() < 1e-15);
        assert!((nm[2] - 2.0 / 6.0).abs() < 1e-15);
        assert!((nm[1] - 0.5).abs() < 1e-15);
    }

    #[test]
    fn prune_counts_keep_at_least_n() {
        // Column 1 (given label 1) has diagonal 0: raised to 1, taken evenly from the noise.
        let cal = [5, 0, 3, 0];
        let p = prune_counts(&cal, 2, 1, 1.0);
        // m = cal.T = [[5, 3], [0, 0]]; column 1: diag 0 -> 1, noise 3 -> 2.
        assert_eq!(p, vec![5, 2, 0, 1]);
        let half = prune_counts(&[5, 4, 0, 1], 2, 1, 0.5);
        // m = [[5, 0], [4, 1]]: column 0 noise 4 halved to 2, diagonal 5 + 2.
        assert_eq!(half, vec![7, 0, 2, 1]);
    }
}
