//! Path-dependent Tree SHAP in `O(L D)` per row and tree, after the idea of Fast TreeSHAP
//! v2 (Yang 2021, arXiv:2109.09847): the work that depends on the tree alone is done once,
//! per leaf, before any row is read.
//!
//! For one leaf, let `U` be the `D` distinct features split on along its path, `z_j` the
//! product of the cover shares of the path's splits on feature `j` and `o_j` 1 when the row
//! follows every split on `j` the path's way (0 otherwise). The leaf adds `v * prod_j (o_j`
//! if `j` is in the coalition, `z_j` otherwise) to the path-dependent value function, a
//! game whose Shapley values, with `P = {j : o_j = 1}` (the row's pattern on the path) and
//! `M(Q) = sum_{S in Q} w(|S|, D) prod_{j in Q \ S} z_j` (`w` the Shapley weight), are
//!
//! * `-v Z M(P)` for every `j` of `U` outside `P`, and
//! * `v (1 - z_j) Z M(P \ {j})` for every `j` of `P`,
//!
//! where `Z = prod_{j in U \ P} z_j`. So a leaf needs `M` on the subsets of its path: a
//! table of `2^D` numbers, filled once (every term positive, no division), after which a
//! row costs one walk over the tree (to find each leaf's pattern) and `O(D)` per leaf. The
//! table keeps `Z M(Q)` (`Z` of the pattern `Q`), so a row needs one product per path
//! feature: `v (1 - z_j) / z_j` times the entry of `P \ {j}`, or `-v` times that of `P`.
//!
//! A leaf gets a table when it pays for itself (`2^D <= rows * D`), its path has at most
//! [`MAX_TABLE_FEATURES`] distinct features and the tables fit in [`TABLE_BUDGET_BYTES`];
//! any other leaf computes the same `M` values per row in `O(|P| D)` (prefix products of
//! the polynomial `prod (z_j + t)` and their dual, again division-free). A tree with a
//! path of more than 64 distinct features (the pattern is a 64-bit mask) is left to the
//! classic recursion by the caller.

use rayon::prelude::*;

use super::trees::{Ensemble, Tree};

/// The most distinct features on a leaf's path for which a table is built (2^16 entries,
/// 512 KiB).
pub const MAX_TABLE_FEATURES: usize = 16;

/// The memory all the tables of one call may take together (256 MiB); leaves past it, in
/// tree order, compute their values per row.
pub const TABLE_BUDGET_BYTES: usize = 256 << 20;

/// The smallest cover share on a tabled leaf's path: a table entry is divided by it
/// (through `Term::c`), so a leaf with a zero (or denormal) share is computed per row.
const MIN_TABLE_SHARE: f64 = 1e-300;

/// The most distinct features on a path this module handles (the width of a pattern).
pub const MAX_PATTERN_FEATURES: usize = 64;

/// The most rows [`Plan::add_rows`] takes through a tree at once.
pub const MAX_BLOCK_ROWS: usize = 128;

/// The patterns of one block (rows x nodes) kept at most: 2 MiB.
const BLOCK_MASKS: usize = 1 << 18;

/// One leaf: where its path's features, shares and table are.
#[derive(Debug, Clone, Copy)]
struct Leaf {
    node: usize,
    /// Distinct features on the path.
    d: usize,
    /// Start of its `d` entries in `at` / `zero`.
    start: usize,
}

/// A leaf with a table, as the per-row loop reads it.
#[derive(Debug, Clone, Copy)]
struct TableLeaf {
    node: u32,
    d: u32,
    /// Start of its `d` entries in `terms`.
    start: u32,
    /// Start of its `2^d` entries in `table`.
    table: usize,
}

/// One feature `j` of a tabled leaf's path, indexed by whether the row follows the path's
/// splits on it (1) or not (0).
#[derive(Debug, Clone, Copy)]
struct Term {
    /// The factor of the table entry `Z(P \ {j}) M(P \ {j})` (which is `Z(P) M(P)` when
    /// `j` is not in `P`): `[-s, s (1 - z_j) / z_j]` (`Z(P \ {j}) = z_j Z(P)` for `j` in
    /// `P`), `s` the leaf's value when leaves carry one value (so the product is the
    /// contribution itself), 1 otherwise.
    c: [f64; 2],
    /// The feature's position in a row's `phi` (`feature * k + tree output`).
    at: usize,
}

/// The precomputed form of one tree.
#[derive(Debug, Clone)]
pub struct TreeTables {
    /// The internal nodes in increasing order (a parent before its children).
    internal: Vec<u32>,
    /// Per internal node: the bit of its split feature in the pattern of the leaves below
    /// (the feature's first position on the path to the node), as a one-bit mask.
    bit: Vec<u64>,
    /// Leaves with a table (leaves without a path feature contribute nothing and are
    /// left out).
    tabled: Vec<TableLeaf>,
    terms: Vec<Term>,
    table: Vec<f64>,
    /// Leaves without a table, computed per row (before planning: every leaf).
    others: Vec<Leaf>,
    /// Per feature of an `others` leaf's path: the feature (before planning), then its
    /// position in a row's `phi` (`feature * k + tree output`).
    at: Vec<usize>,
    zero: Vec<f64>,
    /// The leaf values are folded into `terms` (one value per leaf).
    scaled: bool,
}

/// Per-tree plans for a whole ensemble: `None` for a tree left to the recursion.
pub struct Plan {
    trees: Vec<Option<TreeTables>>,
    /// `weights[d][s]` = `w(s, d)` for `s < d`, 0 for `s = d`.
    weights: Vec<Vec<f64>>,
    max_d: usize,
    max_nodes: usize,
    /// Rows per block of [`Plan::add_rows`].
    block: usize,
}

/// A tree's leaves and the distinct features on their paths, or `None` when a path has
/// more than [`MAX_PATTERN_FEATURES`] of them. Every leaf is in `others` here; the
/// planner moves those that get a table.
fn walk_paths(t: &Tree<'_>) -> Option<TreeTables> {
    let size = t.left.len();
    let mut tt = TreeTables {
        internal: Vec::new(),
        bit: vec![0; size],
        tabled: Vec::new(),
        terms: Vec::new(),
        table: Vec::new(),
        others: Vec::new(),
        at: Vec::new(),
        zero: Vec::new(),
        scaled: t.width == 1,
    };
    // Depth-first, each pending node with the (feature, share) list of its path.
    let mut stack: Vec<(usize, Vec<(usize, f64)>)> = vec![(0, Vec::new())];
    while let Some((node, path)) = stack.pop() {
        if t.is_leaf(node) {
            if !path.is_empty() {
                tt.others.push(Leaf {
                    node,
                    d: path.len(),
                    start: tt.at.len(),
                });
                tt.at.extend(path.iter().map(|p| p.0));
                tt.zero.extend(path.iter().map(|p| p.1));
            }
            continue;
        }
        tt.internal.push(node as u32);
        let f = t.feature[node];
        let at = path.iter().position(|p| p.0 == f);
        let bit = at.unwrap_or(path.len());
        if bit >= MAX_PATTERN_FEATURES {
            return None;
        }
        tt.bit[node] = 1u64 << bit;
        let cover = t.cover[node];
        for child in [t.right[node] as usize, t.left[node] as usize] {
            let mut p = path.clone();
            // The same operations as the recursion's `in_zero * cover[child] / cover`.
            match at {
                Some(i) => p[i].1 = p[i].1 * t.cover[child] / cover,
                None => p.push((f, 1.0 * t.cover[child] / cover)),
            }
            stack.push((child, p));
        }
    }
    tt.internal.sort_unstable();
    Some(tt)
}

impl TreeTables {
    /// Moves the `chosen` leaves of `others` to `tabled`, with their terms and filled
    /// tables (`k` outputs in a row's `phi`).
    fn fill(&mut self, t: &Tree<'_>, k: usize, chosen: &[bool], weights: &[Vec<f64>]) {
        let others = std::mem::take(&mut self.others);
        let (features, zero) = (std::mem::take(&mut self.at), std::mem::take(&mut self.zero));
        for (leaf, &take) in others.iter().zip(chosen) {
            let z = &zero[leaf.start..leaf.start + leaf.d];
            let f = &features[leaf.start..leaf.start + leaf.d];
            if !take {
                self.others.push(Leaf {
                    start: self.at.len(),
                    ..*leaf
                });
                self.at.extend(f.iter().map(|&f| f * k + t.output));
                self.zero.extend_from_slice(z);
                continue;
            }
            let s = if self.scaled {
                t.value(leaf.node)[0]
            } else {
                1.0
            };
            self.tabled.push(TableLeaf {
                node: leaf.node as u32,
                d: leaf.d as u32,
                start: self.terms.len() as u32,
                table: self.table.len(),
            });
            self.terms.extend(f.iter().zip(z).map(|(&f, &z)| Term {
                c: [-s, s * (1.0 - z) / z],
                at: f * k + t.output,
            }));
            let at = self.table.len();
            self.table.resize(at + (1 << leaf.d), 0.0);
            fill_table(z, &weights[leaf.d], &mut self.table[at..]);
            with_cold_shares(z, &mut self.table[at..]);
        }
    }
}

/// Multiplies each `M(Q)` of `out` by `Z(Q)`, the product of the shares `z_j` of the
/// features outside `Q`: from the full set down, `Z(Q) = Z(Q + j) z_j` for the lowest `j`
/// outside `Q`.
fn with_cold_shares(zero: &[f64], out: &mut [f64]) {
    let full = out.len() - 1;
    let mut z = vec![1.0; out.len()];
    for q in (0..full).rev() {
        let j = (!q & full).trailing_zeros() as usize;
        z[q] = z[q | 1 << j] * zero[j];
    }
    for (o, z) in out.iter_mut().zip(&z) {
        *o *= z;
    }
}

/// `M(Q)` for every subset `Q` of the `d = zero.len()` features (bit `j` for feature `j`):
/// each subset extends a smaller one by a higher bit, its polynomial `prod (z_j + t)` by
/// one factor, and `M` is that polynomial's coefficients weighted by `w`.
fn fill_table(zero: &[f64], w: &[f64], out: &mut [f64]) {
    let d = zero.len();
    let mut polys = vec![0.0; (d + 1) * (d + 1)];
    polys[0] = 1.0;
    out[0] = w[0];
    fill_from(zero, w, out, &mut polys, 0, 0, 0);
}

fn fill_from(
    zero: &[f64],
    w: &[f64],
    out: &mut [f64],
    polys: &mut [f64],
    level: usize,
    q: usize,
    from: usize,
) {
    let d = zero.len();
    let stride = d + 1;
    for h in from..d {
        let (lower, upper) = polys.split_at_mut((level + 1) * stride);
        let prev = &lower[level * stride..level * stride + level + 1];
        let next = &mut upper[..level + 2];
        let z = zero[h];
        next[0] = z * prev[0];
        for s in 1..=level {
            next[s] = z * prev[s] + prev[s - 1];
        }
        next[level + 1] = prev[level];
        let m: f64 = next.iter().zip(w).map(|(c, w)| c * w).sum();
        let q2 = q | 1 << h;
        out[q2] = m;
        fill_from(zero, w, out, polys, level + 1, q2, h + 1);
    }
}

/// Scratch space of one worker: the row's pattern at every node and the buffers of the
/// leaves without a table.
#[derive(Default)]
pub struct Scratch {
    masks: Vec<u64>,
    dual: Vec<f64>,
    prefix: Vec<f64>,
    next: Vec<f64>,
    members: Vec<usize>,
    m_without: Vec<f64>,
}

impl Plan {
    /// Plans every tree of `e` for `rows` rows: walks the paths, decides which leaves get
    /// a table and fills them (in parallel over trees; the same plan whatever the thread
    /// count).
    pub fn new(e: &Ensemble, rows: usize) -> Plan {
        let mut trees: Vec<Option<TreeTables>> = (0..e.n_trees())
            .into_par_iter()
            .map(|t| walk_paths(&e.tree(t)))
            .collect();
        let max_d = trees
            .iter()
            .flatten()
            .flat_map(|tt| tt.others.iter().map(|l| l.d))
            .max()
            .unwrap_or(0);
        let max_nodes = (0..e.n_trees())
            .map(|t| e.starts[t + 1] - e.starts[t])
            .max()
            .unwrap_or(0);
        let weights: Vec<Vec<f64>> = (0..=max_d)
            .map(|d| {
                (0..=d)
                    .map(|s| {
                        if s < d {
                            super::shapley_weight(d, s)
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        // Which leaves get a table, in tree order (the budget is spent the same way
        // whatever the thread count).
        let mut budget = TABLE_BUDGET_BYTES / std::mem::size_of::<f64>();
        let chosen: Vec<Vec<bool>> = trees
            .iter()
            .map(|tt| match tt {
                None => Vec::new(),
                Some(tt) => tt
                    .others
                    .iter()
                    .map(|leaf| {
                        let entries = 1usize << leaf.d.min(MAX_TABLE_FEATURES + 1);
                        let shares = &tt.zero[leaf.start..leaf.start + leaf.d];
                        let take = leaf.d <= MAX_TABLE_FEATURES
                            && shares.iter().all(|&z| z >= MIN_TABLE_SHARE)
                            && entries <= rows.saturating_mul(leaf.d)
                            && entries <= budget;
                        if take {
                            budget -= entries;
                        }
                        take
                    })
                    .collect(),
            })
            .collect();
        let k = e.n_outputs;
        trees
            .par_iter_mut()
            .zip(chosen)
            .enumerate()
            .for_each(|(t, (tt, chosen))| {
                if let Some(tt) = tt {
                    let tree = e.tree(t);
                    tt.fill(&tree, k, &chosen, &weights);
                }
            });
        Plan {
            trees,
            weights,
            max_d,
            max_nodes,
            block: (BLOCK_MASKS / max_nodes.max(1)).clamp(1, MAX_BLOCK_ROWS),
        }
    }

    /// The plan of tree `t`, or `None` when the caller must use the recursion.
    pub fn tree(&self, t: usize) -> Option<&TreeTables> {
        self.trees[t].as_ref()
    }

    pub fn scratch(&self) -> Scratch {
        let n = (self.max_d + 2) * (self.max_d + 2);
        Scratch {
            masks: vec![0; self.max_nodes * self.block],
            dual: vec![0.0; n],
            prefix: vec![0.0; self.max_d + 2],
            next: vec![0.0; self.max_d + 2],
            members: Vec::with_capacity(self.max_d),
            m_without: vec![0.0; self.max_d + 1],
        }
    }

    /// Adds the Tree SHAP values of one tree for the prepared rows `rows` (`m` rows of
    /// `d` features, row-major) to `phi` (`m` rows of `d * k`), in blocks of rows: the
    /// tree's data stays in cache across a block, and the additions of one leaf go to
    /// different rows one after the other. Each row's sums are made in the same order
    /// whatever the blocks.
    pub fn add_rows(
        &self,
        tt: &TreeTables,
        t: &Tree<'_>,
        rows: &[f64],
        d: usize,
        phi: &mut [f64],
        s: &mut Scratch,
    ) {
        let m = rows.len().checked_div(d).unwrap_or(0);
        if m == 0 {
            return;
        }
        let stride = phi.len() / m;
        for (rows, phi) in rows
            .chunks(d * self.block)
            .zip(phi.chunks_mut(stride * self.block))
        {
            self.add_block(tt, t, rows, d, stride, phi, s);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn add_block(
        &self,
        tt: &TreeTables,
        t: &Tree<'_>,
        rows: &[f64],
        d: usize,
        stride: usize,
        phi: &mut [f64],
        s: &mut Scratch,
    ) {
        let m = rows.len() / d;
        let mut masks = std::mem::take(&mut s.masks);
        // Each row's pattern at every node (node-major: a node's `m` rows together),
        // parent before children: a node's bit is cleared on the side the row does not go.
        masks[..m].fill(u64::MAX);
        for &node in &tt.internal {
            let node = node as usize;
            let (f, b) = (t.feature[node], tt.bit[node]);
            let (at, l, r) = (
                node * m,
                t.left[node] as usize * m,
                t.right[node] as usize * m,
            );
            for i in 0..m {
                let left = (t.goes_left(node, rows[i * d + f]) as u64).wrapping_neg();
                let mask = masks[at + i];
                masks[l + i] = mask & !(b & !left);
                masks[r + i] = mask & !(b & left);
            }
        }
        for leaf in &tt.tabled {
            let ld = leaf.d as usize;
            let full = u64::MAX >> (64 - ld);
            let terms = &tt.terms[leaf.start as usize..leaf.start as usize + ld];
            let table = &tt.table[leaf.table..leaf.table + (1 << ld)];
            let at = leaf.node as usize * m;
            for (&mask, phi) in masks[at..at + m].iter().zip(phi.chunks_mut(stride)) {
                let p = mask & full;
                if tt.scaled {
                    for (j, term) in terms.iter().enumerate() {
                        let c = term.c[(p >> j & 1) as usize];
                        phi[term.at] += c * table[(p & !(1 << j)) as usize];
                    }
                } else {
                    let value = t.value(leaf.node as usize);
                    for (j, term) in terms.iter().enumerate() {
                        let c = term.c[(p >> j & 1) as usize];
                        let c = c * table[(p & !(1 << j)) as usize];
                        for (o, v) in phi[term.at..term.at + t.width].iter_mut().zip(value) {
                            *o += c * v;
                        }
                    }
                }
            }
        }
        for leaf in &tt.others {
            let at = &tt.at[leaf.start..leaf.start + leaf.d];
            let zero = &tt.zero[leaf.start..leaf.start + leaf.d];
            let value = t.value(leaf.node);
            let full = u64::MAX >> (64 - leaf.d);
            let first = leaf.node * m;
            for (&mask, phi) in masks[first..first + m].iter().zip(phi.chunks_mut(stride)) {
                let p = mask & full;
                let mut big_z = 1.0;
                let mut rest = !p & full;
                while rest != 0 {
                    big_z *= zero[rest.trailing_zeros() as usize];
                    rest &= rest - 1;
                }
                if big_z == 0.0 {
                    continue; // no coalition's path reaches this leaf with weight
                }
                let add = |phi: &mut [f64], j: usize, c: f64| {
                    for (o, v) in phi[at[j]..at[j] + t.width].iter_mut().zip(value) {
                        *o += c * v;
                    }
                };
                let m_p = self.without_each(zero, p, s);
                for (i, &j) in s.members.iter().enumerate() {
                    add(phi, j, (1.0 - zero[j]) * big_z * s.m_without[i]);
                }
                let g = -big_z * m_p;
                let mut rest = !p & full;
                while rest != 0 {
                    add(phi, rest.trailing_zeros() as usize, g);
                    rest &= rest - 1;
                }
            }
        }
        s.masks = masks;
    }

    /// `M(P)` for the pattern `p`, with `M(P \ {j})` for each member `j` of `P` left in
    /// `s.members` / `s.m_without`: prefix polynomials forward, their dual (the weights
    /// carried through the factors still to come) backward.
    fn without_each(&self, zero: &[f64], p: u64, s: &mut Scratch) -> f64 {
        let d = zero.len();
        let w = &self.weights[d];
        let stride = d + 1;
        s.members.clear();
        let mut rest = p;
        while rest != 0 {
            s.members.push(rest.trailing_zeros() as usize);
            rest &= rest - 1;
        }
        let m = s.members.len();
        // dual[k] (k = 0..=m): the functional A -> <w, A * prod_{i >= k} (z_i + t)>.
        s.dual[m * stride..(m + 1) * stride].copy_from_slice(&w[..stride]);
        for i in (0..m).rev() {
            let z = zero[s.members[i]];
            let (lo, hi) = s.dual.split_at_mut((i + 1) * stride);
            let (cur, after) = (&mut lo[i * stride..], &hi[..stride]);
            for a in 0..d {
                cur[a] = z * after[a] + after[a + 1];
            }
            cur[d] = z * after[d];
        }
        let prefix = &mut s.prefix;
        prefix[0] = 1.0;
        for i in 0..m {
            let dual = &s.dual[(i + 1) * stride..(i + 2) * stride];
            s.m_without[i] = prefix[..=i].iter().zip(dual).map(|(a, b)| a * b).sum();
            let z = zero[s.members[i]];
            let next = &mut s.next;
            next[0] = z * prefix[0];
            for a in 1..=i {
                next[a] = z * prefix[a] + prefix[a - 1];
            }
            next[i + 1] = prefix[i];
            prefix[..=i + 1].copy_from_slice(&next[..=i + 1]);
        }
        prefix[..=m].iter().zip(w).map(|(a, b)| a * b).sum()
    }
}
