//! Exact Tree SHAP on an [`Ensemble`].
//!
//! * Path-dependent (`path_dependent`): Lundberg, Erion, Chen et al. (2018/2020),
//!   "Consistent individualized feature attribution for tree ensembles", Algorithm 2. The
//!   expectation over the missing features follows the training covers of the nodes; the
//!   polynomial-time recursion carries, for every distinct feature on the path to a node,
//!   the fraction of "zero" (feature left out: the cover share) and "one" (feature kept:
//!   1 when the row goes that way) paths, and the weights of the subset sizes, extending
//!   and unwinding them as it goes down. `path_dependent` computes the same values from
//!   per-leaf tables (see `leaf_tables`), `O(L D)` per row and tree, and keeps this
//!   recursion (`path_dependent_recursive`) for trees with paths of more than 64 distinct
//!   features.
//! * Interventional (`interventional`): the exact Shapley values of
//!   `v(S) = f(x_S, z_{not S})` for one background row `z`, averaged over the background.
//!   For one tree, a leaf is reached for coalition `S` exactly when `A` (the features where
//!   the path follows `x` but not `z`) is inside `S` and `B` (where it follows `z` but not
//!   `x`) is outside; that game's Shapley values are `(a-1)! b!/(a+b)!` for each feature of
//!   `A` and `-a! (b-1)!/(a+b)!` for each of `B`, times the leaf value.
//!
//! Both run in parallel over the rows; each row's values depend on that row alone, so
//! the result does not depend on the thread count.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::leaf_tables::Plan;
use super::trees::{Ensemble, Tree};
use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Rows per unit of parallel work (and per progress step).
const ROWS_PER_TASK: usize = 16;

/// Attributions `(n, d, k)` (row-major) and the base value of each of the `k` outputs.
#[derive(Debug, Clone)]
pub struct TreeShap {
    pub values: Vec<f64>,
    pub base: Vec<f64>,
    pub n: usize,
    pub d: usize,
    pub k: usize,
}

fn check_rows(e: &Ensemble, x: &ArrayView2<'_, f64>, what: &str) -> CoreResult<()> {
    if x.ncols() != e.n_features {
        return Err(CoreError::invalid(format!(
            "{what}: {} features per row, the model has {}",
            x.ncols(),
            e.n_features
        )));
    }
    if x.iter().any(|v| v.is_infinite()) {
        return Err(CoreError::invalid(format!(
            "{what}: infinite values (NaN is read as missing, infinities are refused)"
        )));
    }
    Ok(())
}

/// The raw outputs `(n, k)` of the ensemble, summed in float64.
pub fn predict(e: &Ensemble, x: ArrayView2<'_, f64>, progress: &Progress) -> CoreResult<Vec<f64>> {
    check_rows(e, &x, "X")?;
    let k = e.n_outputs;
    let mut out = vec![0.0; x.nrows() * k];
    progress.add_total(x.nrows() as u64);
    out.par_chunks_mut(k * ROWS_PER_TASK.max(1))
        .enumerate()
        .try_for_each_init(Vec::new, |row, (c, chunk)| {
            progress.check()?;
            for (j, o) in chunk.chunks_mut(k).enumerate() {
                e.prepare_row(x.row(c * ROWS_PER_TASK + j).iter().copied(), row);
                e.predict_row(row, o);
            }
            progress.advance((chunk.len() / k) as u64);
            Ok(())
        })?;
    Ok(out)
}

#[derive(Clone, Copy, Default)]
struct Elem {
    feature: usize,
    zero: f64,
    one: f64,
    weight: f64,
}

/// Adds a feature with its zero and one fractions at depth `ud` of `path`.
fn extend(path: &mut [Elem], ud: usize, zero: f64, one: f64, feature: usize) {
    path[ud] = Elem {
        feature,
        zero,
        one,
        weight: if ud == 0 { 1.0 } else { 0.0 },
    };
    let inv = 1.0 / (ud + 1) as f64;
    for i in (0..ud).rev() {
        path[i + 1].weight += one * path[i].weight * (i + 1) as f64 * inv;
        path[i].weight = zero * path[i].weight * (ud - i) as f64 * inv;
    }
}

/// Removes the feature at `idx` from a path of depth `ud`, undoing its `extend`.
fn unwind(path: &mut [Elem], ud: usize, idx: usize) {
    let (zero, one) = (path[idx].zero, path[idx].one);
    let denom = (ud + 1) as f64;
    let mut next = path[ud].weight;
    if one != 0.0 {
        let scale = denom / one;
        let zero_scale = zero / denom;
        for i in (0..ud).rev() {
            let here = path[i].weight;
            path[i].weight = next * scale / (i + 1) as f64;
            next = here - path[i].weight * zero_scale * (ud - i) as f64;
        }
    } else {
        let scale = denom / zero;
        for i in (0..ud).rev() {
            path[i].weight *= scale / (ud - i) as f64;
        }
    }
    for i in idx..ud {
        path[i].feature = path[i + 1].feature;
        path[i].zero = path[i + 1].zero;
        path[i].one = path[i + 1].one;
    }
}

/// The total weight of the path with the feature at `idx` unwound (without changing it).
/// `inv[j]` is `1 / j`.
fn unwound_sum(path: &[Elem], ud: usize, idx: usize, inv: &[f64]) -> f64 {
    let (zero, one) = (path[idx].zero, path[idx].one);
    let denom = (ud + 1) as f64;
    let mut total = 0.0;
    if one != 0.0 {
        let scale = denom / one;
        let zero_scale = zero / denom;
        let mut next = path[ud].weight;
        for i in (0..ud).rev() {
            let w = next * scale * inv[i + 1];
            total += w;
            next = path[i].weight - w * zero_scale * (ud - i) as f64;
        }
    } else if zero != 0.0 {
        for i in (0..ud).rev() {
            total += path[i].weight * inv[ud - i];
        }
        total *= denom / zero;
    }
    total
}

/// One tree, one row: the recursion of Algorithm 2, the path of each depth in its own
/// segment of `path` (a child's segment starts after its parent's).
struct PathWalk<'a> {
    tree: Tree<'a>,
    x: &'a [f64],
    k: usize,
    path: &'a mut [Elem],
    phi: &'a mut [f64],
    /// `inv[j]` = `1 / j`.
    inv: &'a [f64],
}

impl PathWalk<'_> {
    #[allow(clippy::too_many_arguments)]
    fn recurse(&mut self, node: usize, seg: usize, ud: usize, zero: f64, one: f64, feat: usize) {
        extend(&mut self.path[seg..], ud, zero, one, feat);
        let t = self.tree;
        if t.is_leaf(node) {
            let value = t.value(node);
            for i in 1..=ud {
                let e = self.path[seg + i];
                let w = unwound_sum(&self.path[seg..], ud, i, self.inv) * (e.one - e.zero);
                let at = e.feature * self.k + t.output;
                for (p, v) in self.phi[at..at + t.width].iter_mut().zip(value) {
                    *p += w * v;
                }
            }
            return;
        }
        let f = t.feature[node];
        let hot = t.next(node, self.x[f]);
        let cold = if hot == t.left[node] as usize {
            t.right[node] as usize
        } else {
            t.left[node] as usize
        };
        let (mut in_zero, mut in_one, mut depth) = (1.0, 1.0, ud);
        if let Some(k) = (1..=ud).find(|&k| self.path[seg + k].feature == f) {
            in_zero = self.path[seg + k].zero;
            in_one = self.path[seg + k].one;
            unwind(&mut self.path[seg..], ud, k);
            depth -= 1;
        }
        let cover = t.cover[node];
        for (child, one) in [(hot, in_one), (cold, 0.0)] {
            let zero = in_zero * t.cover[child] / cover;
            if zero == 0.0 && one == 0.0 {
                continue; // no path of any coalition reaches this child
            }
            let next = seg + depth + 1;
            self.path.copy_within(seg..seg + depth + 1, next);
            self.recurse(child, next, depth + 1, zero, one, f);
        }
    }
}

/// The mean of a tree's output under its covers (the path-dependent expectation).
fn expected_value(t: &Tree<'_>, node: usize, out: &mut [f64], scale: f64) {
    if t.is_leaf(node) {
        for (o, v) in out.iter_mut().zip(t.value(node)) {
            *o += scale * v;
        }
        return;
    }
    let cover = t.cover[node];
    for c in [t.left[node] as usize, t.right[node] as usize] {
        let s = scale * t.cover[c] / cover;
        if s != 0.0 {
            expected_value(t, c, out, s);
        }
    }
}

fn check_covers(e: &Ensemble) -> CoreResult<()> {
    for t in 0..e.n_trees() {
        let tree = e.tree(t);
        for node in 0..tree.left.len() {
            if !tree.is_leaf(node) && tree.cover[node] <= 0.0 {
                return Err(CoreError::invalid(format!(
                    "model: tree {t} node {node} has no training cover; path-dependent Tree \
                     SHAP needs the covers (give a background for interventional values)"
                )));
            }
        }
    }
    Ok(())
}

fn path_len(e: &Ensemble) -> usize {
    let d = e.max_depth + 2;
    d * (d + 1) / 2 + d
}

/// The path-dependent base values: the offset plus each tree's mean under its covers.
fn path_dependent_base(e: &Ensemble) -> Vec<f64> {
    let mut base = e.base_offset.clone();
    for t in 0..e.n_trees() {
        let tree = e.tree(t);
        expected_value(
            &tree,
            0,
            &mut base[tree.output..tree.output + tree.width],
            1.0,
        );
    }
    base
}

fn inverses(e: &Ensemble) -> Vec<f64> {
    (0..e.max_depth + 3)
        .map(|j| if j == 0 { 0.0 } else { 1.0 / j as f64 })
        .collect()
}

/// Rows per unit of parallel work with the leaf tables: every tree is applied to the
/// block's rows in turn, so a tree's tables stay in cache across those rows.
const ROWS_PER_BLOCK: usize = 128;

/// Path-dependent Tree SHAP of every row of `x` (NaN is missing), with per-leaf tables
/// ([`leaf_tables`](super::leaf_tables)); a tree with a path of more than 64 distinct
/// features goes through the classic recursion. Equal to [`path_dependent_recursive`] up
/// to rounding.
pub fn path_dependent(
    e: &Ensemble,
    x: ArrayView2<'_, f64>,
    progress: &Progress,
) -> CoreResult<TreeShap> {
    path_dependent_planned(e, x, progress, x.nrows())
}

/// [`path_dependent`] with the leaf tables planned for `plan_rows` rows (0: no table,
/// `usize::MAX`: every leaf within the caps gets one).
fn path_dependent_planned(
    e: &Ensemble,
    x: ArrayView2<'_, f64>,
    progress: &Progress,
    plan_rows: usize,
) -> CoreResult<TreeShap> {
    check_rows(e, &x, "X")?;
    check_covers(e)?;
    let (n, d, k) = (x.nrows(), e.n_features, e.n_outputs);
    let base = path_dependent_base(e);
    let mut values = vec![0.0; n * d * k];
    progress.add_total(n as u64);
    let plan = Plan::new(e, plan_rows);
    let len = path_len(e);
    let inv = inverses(e);
    if n > 0 {
        values
            .par_chunks_mut(d * k * ROWS_PER_BLOCK)
            .enumerate()
            .try_for_each_init(
                || (plan.scratch(), Vec::new(), Vec::new()),
                |(scratch, rows, path), (c, chunk)| {
                    progress.check()?;
                    let m = chunk.len() / (d * k);
                    rows.clear();
                    let mut row = Vec::with_capacity(d);
                    for j in 0..m {
                        e.prepare_row(x.row(c * ROWS_PER_BLOCK + j).iter().copied(), &mut row);
                        rows.extend_from_slice(&row);
                    }
                    for t in 0..e.n_trees() {
                        let tree = e.tree(t);
                        match plan.tree(t) {
                            Some(tt) => plan.add_rows(tt, &tree, rows, d, chunk, scratch),
                            None => {
                                if path.is_empty() {
                                    path.resize(len, Elem::default());
                                }
                                for (phi, row) in chunk.chunks_mut(d * k).zip(rows.chunks(d)) {
                                    PathWalk {
                                        tree,
                                        x: row,
                                        k,
                                        path,
                                        phi,
                                        inv: &inv,
                                    }
                                    .recurse(
                                        0,
                                        0,
                                        0,
                                        1.0,
                                        1.0,
                                        usize::MAX,
                                    );
                                }
                            }
                        }
                    }
                    progress.advance(m as u64);
                    Ok::<(), CoreError>(())
                },
            )?;
    }
    Ok(TreeShap {
        values,
        base,
        n,
        d,
        k,
    })
}

/// Path-dependent Tree SHAP by the classic recursion alone (Algorithm 2), `O(L D^2)` per
/// row and tree: the reference the leaf tables are tested against.
pub fn path_dependent_recursive(
    e: &Ensemble,
    x: ArrayView2<'_, f64>,
    progress: &Progress,
) -> CoreResult<TreeShap> {
    check_rows(e, &x, "X")?;
    check_covers(e)?;
    let (n, d, k) = (x.nrows(), e.n_features, e.n_outputs);
    let base = path_dependent_base(e);
    let mut values = vec![0.0; n * d * k];
    progress.add_total(n as u64);
    let len = path_len(e);
    let inv = inverses(e);
    if n > 0 {
        values
            .par_chunks_mut(d * k * ROWS_PER_TASK)
            .enumerate()
            .try_for_each_init(
                || (vec![Elem::default(); len], Vec::with_capacity(d)),
                |(path, row), (c, chunk)| {
                    progress.check()?;
                    for (j, phi) in chunk.chunks_mut(d * k).enumerate() {
                        e.prepare_row(x.row(c * ROWS_PER_TASK + j).iter().copied(), row);
                        for t in 0..e.n_trees() {
                            let mut walk = PathWalk {
                                tree: e.tree(t),
                                x: row,
                                k,
                                path,
                                phi,
                                inv: &inv,
                            };
                            walk.recurse(0, 0, 0, 1.0, 1.0, usize::MAX);
                        }
                    }
                    progress.advance((chunk.len() / (d * k)) as u64);
                    Ok::<(), CoreError>(())
                },
            )?;
    }
    Ok(TreeShap {
        values,
        base,
        n,
        d,
        k,
    })
}

/// `weights[a][b]` = `(a-1)! b! / (a+b)!`, the Shapley value of a feature of `A` in the
/// game "1 when A is in S and B is not" (a >= 1).
fn single_reference_weights(depth: usize) -> Vec<Vec<f64>> {
    (0..=depth + 1)
        .map(|a| {
            (0..=depth + 1)
                .map(|b| {
                    if a == 0 {
                        0.0
                    } else {
                        super::shapley_weight(a + b, b)
                    }
                })
                .collect()
        })
        .collect()
}

/// One tree, one foreground row `x`, one reference `z`.
struct Reference<'a> {
    tree: Tree<'a>,
    x: &'a [f64],
    z: &'a [f64],
    k: usize,
    /// Per feature: 0 not on the path yet, 1 following `x`, 2 following `z`.
    side: &'a mut [u8],
    on_x: &'a mut Vec<usize>,
    on_z: &'a mut Vec<usize>,
    weights: &'a [Vec<f64>],
    phi: &'a mut [f64],
}

impl Reference<'_> {
    fn recurse(&mut self, node: usize) {
        let t = self.tree;
        if t.is_leaf(node) {
            let (a, b) = (self.on_x.len(), self.on_z.len());
            let value = t.value(node);
            if a > 0 {
                let w = self.weights[a][b];
                for &f in self.on_x.iter() {
                    let at = f * self.k + t.output;
                    for (p, v) in self.phi[at..at + t.width].iter_mut().zip(value) {
                        *p += w * v;
                    }
                }
            }
            if b > 0 {
                // By symmetry a feature of B has minus the weight of A's with roles swapped.
                let w = self.weights[b][a];
                for &f in self.on_z.iter() {
                    let at = f * self.k + t.output;
                    for (p, v) in self.phi[at..at + t.width].iter_mut().zip(value) {
                        *p -= w * v;
                    }
                }
            }
            return;
        }
        let f = t.feature[node];
        let to_x = t.next(node, self.x[f]);
        let to_z = t.next(node, self.z[f]);
        if to_x == to_z {
            return self.recurse(to_x);
        }
        match self.side[f] {
            1 => self.recurse(to_x),
            2 => self.recurse(to_z),
            _ => {
                self.side[f] = 1;
                self.on_x.push(f);
                self.recurse(to_x);
                self.on_x.pop();
                self.side[f] = 2;
                self.on_z.push(f);
                self.recurse(to_z);
                self.on_z.pop();
                self.side[f] = 0;
            }
        }
    }
}

/// Interventional Tree SHAP: every row of `x` against every row of `background`, averaged.
pub fn interventional(
    e: &Ensemble,
    x: ArrayView2<'_, f64>,
    background: ArrayView2<'_, f64>,
    progress: &Progress,
) -> CoreResult<TreeShap> {
    check_rows(e, &x, "X")?;
    check_rows(e, &background, "background")?;
    let m = background.nrows();
    if m == 0 {
        return Err(CoreError::invalid("background: no rows"));
    }
    let (n, d, k) = (x.nrows(), e.n_features, e.n_outputs);
    let mut refs = Vec::with_capacity(m * d);
    let mut row = Vec::with_capacity(d);
    for r in background.rows() {
        e.prepare_row(r.iter().copied(), &mut row);
        refs.extend_from_slice(&row);
    }
    // The base is the mean output over the background.
    let mut base = vec![0.0; k];
    let mut out = vec![0.0; k];
    for z in refs.chunks(d) {
        e.predict_row(z, &mut out);
        for (b, o) in base.iter_mut().zip(&out) {
            *b += o;
        }
    }
    for b in base.iter_mut() {
        *b /= m as f64;
    }
    let weights = single_reference_weights(e.max_depth);
    let mut values = vec![0.0; n * d * k];
    progress.add_total(n as u64);
    if n > 0 {
        values.par_chunks_mut(d * k).enumerate().try_for_each_init(
            || (vec![0u8; d], Vec::new(), Vec::new(), Vec::with_capacity(d)),
            |(side, on_x, on_z, row), (i, phi)| {
                progress.check()?;
                e.prepare_row(x.row(i).iter().copied(), row);
                for z in refs.chunks(d) {
                    for t in 0..e.n_trees() {
                        let mut walk = Reference {
                            tree: e.tree(t),
                            x: row,
                            z,
                            k,
                            side,
                            on_x,
                            on_z,
                            weights: &weights,
                            phi,
                        };
                        walk.recurse(0);
                    }
                }
                for p in phi.iter_mut() {
                    *p /= m as f64;
                }
                progress.advance(1);
                Ok::<(), CoreError>(())
            },
        )?;
    }
    Ok(TreeShap {
        values,
        base,
        n,
        d,
        k,
    })
}

#[cfg(test)]
mod tests {
    use super::super::trees::tests::small;
    use super::super::trees::{flags, Ensemble, EnsembleParts};
    use super::*;
    use ndarray::{array, Array2};

    /// Brute force: Shapley values of `v(S)` by enumerating all coalitions.
    fn brute(d: usize, mut v: impl FnMut(&[bool]) -> f64) -> Vec<f64> {
        let mut phi = vec![0.0; d];
        for mask in 0u32..(1 << d) {
            let s: Vec<bool> = (0..d).map(|j| mask >> j & 1 == 1).collect();
            let size = s.iter().filter(|&&b| b).count();
            for i in 0..d {
                if !s[i] {
                    let mut with = s.clone();
                    with[i] = true;
                    phi[i] +=
                        crate::core::explain::shap::shapley_weight(d, size) * (v(&with) - v(&s));
                }
            }
        }
        phi
    }

    /// The path-dependent value function of one tree: at a split on a feature of `S`
    /// follow `x`, otherwise average the children by cover.
    fn cond(t: &Tree<'_>, node: usize, x: &[f64], s: &[bool]) -> f64 {
        if t.is_leaf(node) {
            return t.value(node)[0];
        }
        let f = t.feature[node];
        if s[f] {
            return cond(t, t.next(node, x[f]), x, s);
        }
        let (l, r) = (t.left[node] as usize, t.right[node] as usize);
        (t.cover[l] * cond(t, l, x, s) + t.cover[r] * cond(t, r, x, s)) / t.cover[node]
    }

    /// A deeper random tree with repeated features, for the comparisons below.
    fn random_tree(seed: u64, d: usize, depth: usize) -> Ensemble {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut parts = EnsembleParts {
            left: vec![],
            right: vec![],
            feature: vec![],
            threshold: vec![],
            flags: vec![],
            cover: vec![],
            values: vec![],
            width: 1,
            starts: vec![0],
            tree_output: vec![0],
            n_outputs: 1,
            n_features: d,
            base_offset: vec![0.5],
            float32_input: false,
        };
        // Breadth-first: node i at level < depth splits; children appended.
        let mut queue = vec![(0usize, 100.0f64)];
        parts.left.push(-1);
        parts.right.push(-1);
        parts.feature.push(-1);
        parts.threshold.push(0.0);
        parts.flags.push(0);
        parts.cover.push(100.0);
        parts.values.push(0.0);
        let mut level = vec![0usize];
        let mut qi = 0;
        while qi < queue.len() {
            let (node, cover) = queue[qi];
            qi += 1;
            if level[node] == depth {
                parts.values[node] = rng.gen_range(-2.0..2.0);
                continue;
            }
            let share: f64 = rng.gen_range(0.1..0.9);
            let l = parts.left.len();
            parts.left[node] = l as i64;
            parts.right[node] = (l + 1) as i64;
            parts.feature[node] = rng.gen_range(0..d) as i64;
            parts.threshold[node] = rng.gen_range(-1.0..1.0);
            for c in [cover * share, cover * (1.0 - share)] {
                parts.left.push(-1);
                parts.right.push(-1);
                parts.feature.push(-1);
                parts.threshold.push(0.0);
                parts.flags.push(0);
                parts.cover.push(c);
                parts.values.push(0.0);
                level.push(level[node] + 1);
                queue.push((parts.left.len() - 1, c));
            }
        }
        parts.starts.push(parts.left.len());
        Ensemble::new(parts).unwrap()
    }

    /// Random ensembles for the leaf-table tests: unbalanced trees (a node stops early
    /// with probability `stop`), repeated features, every missing-value rule, some zero
    /// covers, `width` values per leaf on `n_outputs` outputs.
    fn random_ensemble(
        seed: u64,
        d: usize,
        n_trees: usize,
        depth: usize,
        stop: f64,
        width: usize,
        n_outputs: usize,
    ) -> Ensemble {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut p = EnsembleParts {
            left: vec![],
            right: vec![],
            feature: vec![],
            threshold: vec![],
            flags: vec![],
            cover: vec![],
            values: vec![],
            width,
            starts: vec![0],
            tree_output: vec![],
            n_outputs,
            n_features: d,
            base_offset: (0..n_outputs).map(|o| o as f64 * 0.25).collect(),
            float32_input: seed.is_multiple_of(2),
        };
        for t in 0..n_trees {
            let s = p.left.len();
            // (local id, level, cover); children appended after their parent.
            let mut queue = vec![(0usize, 0usize, 50.0f64)];
            let push = |p: &mut EnsembleParts, cover: f64| {
                p.left.push(-1);
                p.right.push(-1);
                p.feature.push(-1);
                p.threshold.push(0.0);
                p.flags.push(0);
                p.cover.push(cover);
                p.values.extend(std::iter::repeat_n(0.0, width));
            };
            push(&mut p, 50.0);
            let mut qi = 0;
            while qi < queue.len() {
                let (node, level, cover) = queue[qi];
                qi += 1;
                let g = s + node;
                if level == depth || cover == 0.0 || (level > 0 && rng.gen_bool(stop)) {
                    for v in &mut p.values[g * width..(g + 1) * width] {
                        *v = rng.gen_range(-2.0..2.0);
                    }
                    continue;
                }
                let share: f64 = if rng.gen_bool(0.05) {
                    0.0
                } else {
                    rng.gen_range(0.05..0.95)
                };
                let l = p.left.len() - s;
                p.left[g] = l as i64;
                p.right[g] = (l + 1) as i64;
                p.feature[g] = rng.gen_range(0..d) as i64;
                p.threshold[g] = rng.gen_range(-1.0..1.0);
                p.flags[g] = rng.gen_range(0..=flags::ALL);
                for (c, cv) in [(l, cover * share), (l + 1, cover * (1.0 - share))] {
                    push(&mut p, cv);
                    queue.push((c, level + 1, cv));
                }
            }
            p.starts.push(p.left.len());
            p.tree_output.push((t * width) % (n_outputs - width + 1));
        }
        Ensemble::new(p).unwrap()
    }

    /// Rows with a share of NaN and of exact zeros (LightGBM's zero band).
    fn random_rows(seed: u64, n: usize, d: usize) -> Array2<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, d), |_| match rng.gen_range(0..10) {
            0 => f64::NAN,
            1 => 0.0,
            _ => rng.gen_range(-1.2..1.2),
        })
    }

    fn assert_close(a: &TreeShap, b: &TreeShap, tol: f64) {
        assert_eq!(a.values.len(), b.values.len());
        for (i, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
            assert!((x - y).abs() <= tol, "value {i}: {x} vs {y}");
        }
        for (x, y) in a.base.iter().zip(&b.base) {
            assert!((x - y).abs() <= tol);
        }
    }

    #[test]
    fn leaf_tables_equal_brute_force_on_random_trees() {
        // Property test: many small random ensembles, every coalition of d = 5 features,
        // with the tables forced on and off.
        let d = 5;
        for seed in 0..40u64 {
            let e = random_ensemble(seed, d, 3, 2 + (seed as usize % 6), 0.2, 1, 1);
            let xs = random_rows(seed + 1000, 4, d);
            let p = Progress::new();
            let with = path_dependent_planned(&e, xs.view(), &p, usize::MAX).unwrap();
            let without = path_dependent_planned(&e, xs.view(), &p, 0).unwrap();
            for (i, x) in xs.rows().into_iter().enumerate() {
                let mut x: Vec<f64> = x.to_vec();
                if e.float32_input {
                    x = x.iter().map(|&v| f64::from(v as f32)).collect();
                }
                let want = brute(d, |s| {
                    (0..e.n_trees()).map(|t| cond(&e.tree(t), 0, &x, s)).sum()
                });
                for (j, w) in want.iter().enumerate() {
                    let (a, b) = (with.values[i * d + j], without.values[i * d + j]);
                    assert!(
                        (a - w).abs() < 1e-12,
                        "seed {seed} row {i} f {j}: {a} vs {w}"
                    );
                    assert!(
                        (b - w).abs() < 1e-12,
                        "seed {seed} row {i} f {j}: {b} vs {w}"
                    );
                }
            }
        }
    }

    #[test]
    fn leaf_tables_equal_the_recursion() {
        // Multi-output, deeper and wider: tables, per-row leaves and the planner's own
        // choice all agree with the classic recursion.
        for seed in 0..12u64 {
            let (width, k) = if seed.is_multiple_of(3) {
                (3, 3)
            } else {
                (1, 2)
            };
            let e = random_ensemble(seed, 12, 6, 9, 0.1, width, k);
            let xs = random_rows(seed + 7, 30, 12);
            let p = Progress::new();
            let want = path_dependent_recursive(&e, xs.view(), &p).unwrap();
            for rows in [0, 30, usize::MAX] {
                let got = path_dependent_planned(&e, xs.view(), &p, rows).unwrap();
                assert_close(&got, &want, 1e-10);
            }
        }
    }

    #[test]
    fn row_blocks_and_thread_counts_do_not_change_values() {
        // More rows than a block and a parallel chunk, not a multiple of either; one and
        // three threads give the same bits, and every row equals the recursion.
        let n = 2 * ROWS_PER_BLOCK + 37;
        for (seed, width, k) in [(3u64, 1, 1), (4, 2, 2)] {
            let e = random_ensemble(seed, 9, 5, 8, 0.15, width, k);
            let xs = random_rows(seed + 50, n, 9);
            let p = Progress::new();
            let run = |threads: usize| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| path_dependent(&e, xs.view(), &p).unwrap())
            };
            let (one, three) = (run(1), run(3));
            assert_eq!(one.values, three.values);
            let want = path_dependent_recursive(&e, xs.view(), &p).unwrap();
            assert_close(&one, &want, 1e-10);
            // A row alone, with the plan of the whole call, gets the same bits as in its
            // block.
            for i in [0, ROWS_PER_BLOCK - 1, ROWS_PER_BLOCK, n - 1] {
                let row = xs.slice(ndarray::s![i..i + 1, ..]);
                let alone = path_dependent_planned(&e, row, &p, n).unwrap();
                let dk = 9 * k;
                assert_eq!(alone.values[..], one.values[i * dk..(i + 1) * dk]);
            }
        }
    }

    #[test]
    fn tiny_and_zero_cover_shares_equal_the_recursion() {
        // A table entry is divided by the path's shares: tiny ones stay exact, zero ones
        // leave the leaf to the per-row computation.
        for tiny in [1e-250, 1e-9, 0.0] {
            let e = Ensemble::new(EnsembleParts {
                left: vec![1, 3, -1, -1, -1],
                right: vec![2, 4, -1, -1, -1],
                feature: vec![0, 1, -1, -1, -1],
                threshold: vec![0.0; 5],
                flags: vec![0; 5],
                cover: vec![1.0, 0.5, 0.5, tiny, 0.5 - tiny],
                values: vec![0.0, 0.0, 3.0, 1.0, -2.0],
                width: 1,
                starts: vec![0, 5],
                tree_output: vec![0],
                n_outputs: 1,
                n_features: 2,
                base_offset: vec![0.0],
                float32_input: false,
            })
            .unwrap();
            let xs = array![[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]];
            let p = Progress::new();
            let want = path_dependent_recursive(&e, xs.view(), &p).unwrap();
            let got = path_dependent_planned(&e, xs.view(), &p, usize::MAX).unwrap();
            assert_close(&got, &want, 1e-12);
        }
    }

    #[test]
    fn single_leaf_trees_add_nothing_but_their_mean() {
        // A one-leaf tree next to a split: no attribution, its value in the base.
        let e = Ensemble::new(EnsembleParts {
            left: vec![-1, 1, -1, -1],
            right: vec![-1, 2, -1, -1],
            feature: vec![-1, 0, -1, -1],
            threshold: vec![0.0; 4],
            flags: vec![0; 4],
            cover: vec![5.0, 4.0, 1.0, 3.0],
            values: vec![7.0, 0.0, -1.0, 2.0],
            width: 1,
            starts: vec![0, 1, 4],
            tree_output: vec![0, 0],
            n_outputs: 1,
            n_features: 2,
            base_offset: vec![0.0],
            float32_input: false,
        })
        .unwrap();
        let xs = array![[-1.0, 3.0], [1.0, -3.0]];
        let r = path_dependent(&e, xs.view(), &Progress::new()).unwrap();
        // Mean of the split: (1 * -1 + 3 * 2) / 4 = 1.25.
        assert!((r.base[0] - 8.25).abs() < 1e-12);
        assert_eq!(r.values[1], 0.0);
        assert!((r.values[0] - (-1.0 - 1.25)).abs() < 1e-12);
        assert!((r.values[2] - (2.0 - 1.25)).abs() < 1e-12);
        assert_eq!(r.values[3], 0.0);
    }

    /// A chain: node i splits on feature `i % d` (leaf on the left, the chain on the
    /// right), `length` splits long, so a leaf's path has `min(length, d)` distinct
    /// features.
    fn chain(d: usize, length: usize) -> Ensemble {
        let n = 2 * length + 1;
        let mut p = EnsembleParts {
            left: vec![-1; n],
            right: vec![-1; n],
            feature: vec![-1; n],
            threshold: vec![0.0; n],
            flags: vec![0; n],
            cover: vec![0.0; n],
            values: vec![0.0; n],
            width: 1,
            starts: vec![0, n],
            tree_output: vec![0],
            n_outputs: 1,
            n_features: d,
            base_offset: vec![0.0],
            float32_input: false,
        };
        let mut cover = 1000.0;
        for i in 0..length {
            let (node, leaf, next) = (2 * i, 2 * i + 1, 2 * i + 2);
            p.cover[node] = cover;
            p.left[node] = leaf as i64;
            p.right[node] = next as i64;
            p.feature[node] = (i % d) as i64;
            p.threshold[node] = if i % 2 == 0 { -0.3 } else { 0.3 };
            p.cover[leaf] = cover * 0.1;
            p.values[leaf] = ((i * 7) % 11) as f64 - 5.0;
            cover *= 0.9;
        }
        p.cover[n - 1] = cover;
        p.values[n - 1] = 3.0;
        Ensemble::new(p).unwrap()
    }

    #[test]
    fn long_paths_beyond_the_caps_equal_the_recursion() {
        // 20 distinct features: past the table cap, computed per row; 70: past the 64-bit
        // pattern, the tree goes through the recursion.
        for (d, length) in [(20, 20), (20, 45), (70, 70)] {
            let e = chain(d, length);
            let xs = random_rows(d as u64, 25, d);
            let p = Progress::new();
            let want = path_dependent_recursive(&e, xs.view(), &p).unwrap();
            let got = path_dependent_planned(&e, xs.view(), &p, usize::MAX).unwrap();
            assert_close(&got, &want, 1e-9);
            let pred = predict(&e, xs.view(), &p).unwrap();
            for (i, y) in pred.iter().enumerate() {
                let sum: f64 = got.values[i * d..(i + 1) * d].iter().sum();
                // (70 splits deep, the recursion's own rounding reaches ~1e-8.)
                assert!((sum + got.base[0] - y).abs() < 1e-6);
            }
        }
        let plan = Plan::new(&chain(70, 70), 10);
        assert!(plan.tree(0).is_none());
        assert!(Plan::new(&chain(20, 20), 10).tree(0).is_some());
    }

    #[test]
    fn path_dependent_equals_brute_force() {
        let d = 4;
        let e = random_tree(7, d, 6);
        let xs = array![
            [0.1, -0.5, 0.7, 0.0],
            [-0.9, 0.9, -0.2, 0.4],
            [0.3, 0.3, 0.3, 0.3]
        ];
        let r = path_dependent(&e, xs.view(), &Progress::new()).unwrap();
        let t = e.tree(0);
        let empty = vec![false; d];
        assert!((r.base[0] - 0.5 - cond(&t, 0, &[0.0; 4], &empty)).abs() < 1e-12);
        for (i, x) in xs.rows().into_iter().enumerate() {
            let x: Vec<f64> = x.to_vec();
            let want = brute(d, |s| cond(&t, 0, &x, s));
            for (j, w) in want.iter().enumerate() {
                assert!((r.values[i * d + j] - w).abs() < 1e-12, "{i} {j}");
            }
        }
    }

    #[test]
    fn interventional_equals_brute_force() {
        let d = 4;
        let e = random_tree(11, d, 6);
        let xs = array![[0.1, -0.5, 0.7, 0.0], [-0.9, 0.9, -0.2, 0.4]];
        let bg = array![
            [0.5, 0.5, -0.5, -0.5],
            [0.0, -0.1, 0.2, 0.9],
            [-0.3, 0.8, 0.1, -0.6]
        ];
        let r = interventional(&e, xs.view(), bg.view(), &Progress::new()).unwrap();
        let mut out = [0.0];
        for (i, x) in xs.rows().into_iter().enumerate() {
            let mut want = vec![0.0; d];
            for z in bg.rows() {
                let phi = brute(d, |s| {
                    let mixed: Vec<f64> = (0..d).map(|j| if s[j] { x[j] } else { z[j] }).collect();
                    e.predict_row(&mixed, &mut out);
                    out[0]
                });
                for (w, p) in want.iter_mut().zip(&phi) {
                    *w += p / 3.0;
                }
            }
            for (j, w) in want.iter().enumerate() {
                assert!((r.values[i * d + j] - w).abs() < 1e-12, "{i} {j}");
            }
        }
    }

    #[test]
    fn additive_and_matches_small_tree() {
        let e = small();
        let x = array![[0.0, 1.0], [f64::NAN, 0.0]];
        let r = path_dependent(&e, x.view(), &Progress::new()).unwrap();
        // E f = 0.2*1 + 0.4*2 + 0.4*4 = 2.6
        assert!((r.base[0] - 2.6).abs() < 1e-12);
        let pred = predict(&e, x.view(), &Progress::new()).unwrap();
        for (i, p) in pred.iter().enumerate() {
            let s: f64 = r.values[i * 2..i * 2 + 2].iter().sum();
            assert!((s + r.base[0] - p).abs() < 1e-12);
        }
    }

    #[test]
    fn linear_tree_gives_closed_form() {
        // f(x) = 3 * [x0 > 0]: interventional phi_0 = 3 ([x0 > 0] - mean [z0 > 0]).
        let e = Ensemble::new(EnsembleParts {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![0, -1, -1],
            threshold: vec![0.0; 3],
            flags: vec![flags::STRICT; 3],
            cover: vec![2.0, 1.0, 1.0],
            values: vec![0.0, 0.0, 3.0],
            width: 1,
            starts: vec![0, 3],
            tree_output: vec![0],
            n_outputs: 1,
            n_features: 2,
            base_offset: vec![0.0],
            float32_input: true,
        })
        .unwrap();
        let x = array![[1.0, 5.0]];
        let bg =
            Array2::from_shape_vec((4, 2), vec![-1.0, 0.0, 1.0, 0.0, 2.0, 0.0, -3.0, 0.0]).unwrap();
        let r = interventional(&e, x.view(), bg.view(), &Progress::new()).unwrap();
        assert!((r.values[0] - 1.5).abs() < 1e-15);
        assert_eq!(r.values[1], 0.0);
        assert!((r.base[0] - 1.5).abs() < 1e-15);
    }

    #[test]
    fn refuses_wrong_width_and_infinity() {
        let e = small();
        let x = array![[0.0, 1.0, 2.0]];
        assert!(path_dependent(&e, x.view(), &Progress::new()).is_err());
        let x = array![[0.0, f64::INFINITY]];
        assert!(path_dependent(&e, x.view(), &Progress::new()).is_err());
        let bg = Array2::<f64>::zeros((0, 2));
        let x = array![[0.0, 1.0]];
        assert!(interventional(&e, x.view(), bg.view(), &Progress::new()).is_err());
    }
}
