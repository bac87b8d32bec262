//! One tree ensemble for every library: scikit-learn, XGBoost and LightGBM trees are read
//! (on the Python side, from their arrays or dumped JSON) into flat node arrays, and each
//! node carries the routing rule of the library that grew it, so that a row reaches the
//! same leaf here as in the library's own prediction.

use crate::core::{CoreError, CoreResult};

/// Node flags: how a split compares and where a missing value goes.
pub mod flags {
    /// `x < threshold` goes left (XGBoost); otherwise `x <= threshold` does.
    pub const STRICT: u8 = 1;
    /// A missing value goes to the left child (otherwise to the right one).
    pub const DEFAULT_LEFT: u8 = 2;
    /// A value within LightGBM's zero band (|x| <= 1e-35) counts as missing
    /// (LightGBM's `missing_type == Zero`).
    pub const ZERO_IS_MISSING: u8 = 4;
    /// NaN is read as 0.0 before the comparison (LightGBM's `missing_type` `None` and
    /// `Zero`); otherwise NaN is missing.
    pub const NAN_AS_ZERO: u8 = 8;
    pub const ALL: u8 = STRICT | DEFAULT_LEFT | ZERO_IS_MISSING | NAN_AS_ZERO;
}

/// The deepest tree accepted: the Tree SHAP recursions go one stack frame per level and
/// keep a path of quadratic size, so a degenerate tree thousands of levels deep is refused
/// rather than allowed to exhaust a worker thread's stack.
pub const MAX_DEPTH: usize = 512;

/// LightGBM's `kZeroThreshold` (a float 1e-35 compared as a double).
const ZERO_BAND: f64 = 1e-35_f32 as f64;

/// The nodes of every tree, concatenated. Node ids in `left`/`right` are local to their
/// tree; a leaf has `left == -1`.
#[derive(Debug, Clone)]
pub struct Ensemble {
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    pub feature: Vec<usize>,
    pub threshold: Vec<f64>,
    pub flags: Vec<u8>,
    /// The training weight (samples, hessian sum) that reached each node.
    pub cover: Vec<f64>,
    /// `width` values per node (read at leaves only).
    pub values: Vec<f64>,
    pub width: usize,
    /// Where each tree's nodes start; `n_trees + 1` entries.
    pub starts: Vec<usize>,
    /// The first output each tree's values add to.
    pub tree_output: Vec<usize>,
    pub n_outputs: usize,
    pub n_features: usize,
    /// Added to every output (an intercept: XGBoost's base score, scikit-learn's initial
    /// prediction).
    pub base_offset: Vec<f64>,
    /// The library compares features as float32 (scikit-learn trees, XGBoost).
    pub float32_input: bool,
    /// The largest number of splits on a root-to-leaf path over all trees.
    pub max_depth: usize,
}

/// One tree's slice of the ensemble.
#[derive(Clone, Copy)]
pub struct Tree<'a> {
    pub left: &'a [i64],
    pub right: &'a [i64],
    pub feature: &'a [usize],
    pub threshold: &'a [f64],
    pub flags: &'a [u8],
    pub cover: &'a [f64],
    pub values: &'a [f64],
    pub width: usize,
    pub output: usize,
}

impl Tree<'_> {
    #[inline]
    pub fn is_leaf(&self, node: usize) -> bool {
        self.left[node] < 0
    }

    #[inline]
    pub fn value(&self, node: usize) -> &[f64] {
        &self.values[node * self.width..(node + 1) * self.width]
    }

    /// The child a row with feature value `x` goes to (ids were validated as in range).
    #[inline]
    pub fn next(&self, node: usize, x: f64) -> usize {
        let left = self.goes_left(node, x);
        (if left {
            self.left[node]
        } else {
            self.right[node]
        }) as usize
    }

    #[inline]
    pub fn goes_left(&self, node: usize, x: f64) -> bool {
        let f = self.flags[node];
        let mut v = x;
        if v.is_nan() {
            if f & flags::NAN_AS_ZERO == 0 {
                return f & flags::DEFAULT_LEFT != 0;
            }
            v = 0.0;
        }
        if f & flags::ZERO_IS_MISSING != 0 && (-ZERO_BAND..=ZERO_BAND).contains(&v) {
            return f & flags::DEFAULT_LEFT != 0;
        }
        if f & flags::STRICT != 0 {
            v < self.threshold[node]
        } else {
            v <= self.threshold[node]
        }
    }
}

/// The arrays an ensemble is built from (see [`Ensemble`] for their meaning).
pub struct EnsembleParts {
    pub left: Vec<i64>,
    pub right: Vec<i64>,
    pub feature: Vec<i64>,
    pub threshold: Vec<f64>,
    pub flags: Vec<u8>,
    pub cover: Vec<f64>,
    pub values: Vec<f64>,
    pub width: usize,
    pub starts: Vec<usize>,
    pub tree_output: Vec<usize>,
    pub n_outputs: usize,
    pub n_features: usize,
    pub base_offset: Vec<f64>,
    pub float32_input: bool,
}

fn bad(msg: String) -> CoreError {
    CoreError::invalid(format!("model: {msg}"))
}

impl Ensemble {
    /// Checks every array and every tree (children in range and after their parent, so
    /// no cycle; features in range; covers and values finite) and builds the ensemble.
    pub fn new(p: EnsembleParts) -> CoreResult<Self> {
        let n = p.left.len();
        for (name, len) in [
            ("right", p.right.len()),
            ("feature", p.feature.len()),
            ("threshold", p.threshold.len()),
            ("flags", p.flags.len()),
            ("cover", p.cover.len()),
        ] {
            if len != n {
                return Err(bad(format!("{name} has {len} nodes, left has {n}")));
            }
        }
        if p.width == 0 || p.n_outputs == 0 {
            return Err(bad("a tree ensemble needs at least one output".into()));
        }
        if p.values.len() != n * p.width {
            return Err(bad(format!(
                "values has {} entries, expected {n} nodes x {}",
                p.values.len(),
                p.width
            )));
        }
        if p.base_offset.len() != p.n_outputs {
            return Err(bad(format!(
                "base_offset has {} entries for {} outputs",
                p.base_offset.len(),
                p.n_outputs
            )));
        }
        let n_trees = p.tree_output.len();
        if n_trees == 0 {
            return Err(bad("the ensemble has no trees".into()));
        }
        if p.starts.len() != n_trees + 1 || p.starts[0] != 0 || p.starts[n_trees] != n {
            return Err(bad("tree starts do not partition the nodes".into()));
        }
        if p.n_features == 0 {
            return Err(bad("the model has no features".into()));
        }
        let mut feature = vec![0usize; n];
        let mut max_depth = 0usize;
        for t in 0..n_trees {
            let (s, e) = (p.starts[t], p.starts[t + 1]);
            if e <= s {
                return Err(bad(format!("tree {t} has no nodes")));
            }
            if p.tree_output[t] + p.width > p.n_outputs {
                return Err(bad(format!("tree {t} writes past output {}", p.n_outputs)));
            }
            let size = e - s;
            let mut depth = vec![0usize; size];
            let mut reached = vec![false; size];
            reached[0] = true;
            for i in 0..size {
                let g = s + i;
                let (l, r) = (p.left[g], p.right[g]);
                if !p.cover[g].is_finite() || p.cover[g] < 0.0 {
                    return Err(bad(format!("tree {t} node {i}: cover {}", p.cover[g])));
                }
                if l < 0 {
                    if p.values[g * p.width..(g + 1) * p.width]
                        .iter()
                        .any(|v| !v.is_finite())
                    {
                        return Err(bad(format!("tree {t} leaf {i}: a value is not finite")));
                    }
                    continue;
                }
                let ok = |c: i64| c as usize > i && (c as usize) < size;
                if r < 0 || !ok(l) || !ok(r) || l == r {
                    return Err(bad(format!(
                        "tree {t} node {i}: children {l}, {r} are not later nodes of the tree"
                    )));
                }
                let f = p.feature[g];
                if f < 0 || f as usize >= p.n_features {
                    return Err(bad(format!(
                        "tree {t} node {i} splits on feature {f}, the model has {} features",
                        p.n_features
                    )));
                }
                if p.threshold[g].is_nan() || p.flags[g] & !flags::ALL != 0 {
                    return Err(bad(format!("tree {t} node {i}: bad split")));
                }
                feature[g] = f as usize;
                for c in [l as usize, r as usize] {
                    if reached[c] {
                        return Err(bad(format!("tree {t} node {c} has two parents")));
                    }
                    reached[c] = true;
                    depth[c] = depth[i] + 1;
                    max_depth = max_depth.max(depth[c]);
                    if depth[c] > MAX_DEPTH {
                        return Err(bad(format!(
                            "tree {t} is deeper than {MAX_DEPTH} levels, which is not supported"
                        )));
                    }
                }
            }
        }
        Ok(Ensemble {
            left: p.left,
            right: p.right,
            feature,
            threshold: p.threshold,
            flags: p.flags,
            cover: p.cover,
            values: p.values,
            width: p.width,
            starts: p.starts,
            tree_output: p.tree_output,
            n_outputs: p.n_outputs,
            n_features: p.n_features,
            base_offset: p.base_offset,
            float32_input: p.float32_input,
            max_depth,
        })
    }

    pub fn n_trees(&self) -> usize {
        self.tree_output.len()
    }

    pub fn tree(&self, t: usize) -> Tree<'_> {
        let (s, e) = (self.starts[t], self.starts[t + 1]);
        Tree {
            left: &self.left[s..e],
            right: &self.right[s..e],
            feature: &self.feature[s..e],
            threshold: &self.threshold[s..e],
            flags: &self.flags[s..e],
            cover: &self.cover[s..e],
            values: &self.values[s * self.width..e * self.width],
            width: self.width,
            output: self.tree_output[t],
        }
    }

    /// A row as the library reads it: float32 and back for the libraries that compare in
    /// float32 (NaN stays NaN).
    pub fn prepare_row(&self, row: impl Iterator<Item = f64>, out: &mut Vec<f64>) {
        out.clear();
        if self.float32_input {
            out.extend(row.map(|v| f64::from(v as f32)));
        } else {
            out.extend(row);
        }
    }

    /// The raw output (the sum of the trees plus the offset, in float64) of one prepared row.
    pub fn predict_row(&self, x: &[f64], out: &mut [f64]) {
        out.copy_from_slice(&self.base_offset);
        for t in 0..self.n_trees() {
            let tree = self.tree(t);
            let mut node = 0;
            while !tree.is_leaf(node) {
                node = tree.next(node, x[tree.feature[node]]);
            }
            for (o, v) in out[tree.output..tree.output + tree.width]
                .iter_mut()
                .zip(tree.value(node))
            {
                *o += v;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// x0 <= 0.5 ? (x1 <= 0.5 ? 1 : 2) : 4, covers 10 = (6 = 2 + 4) + 4.
    pub fn small() -> Ensemble {
        Ensemble::new(EnsembleParts {
            left: vec![1, 3, -1, -1, -1],
            right: vec![2, 4, -1, -1, -1],
            feature: vec![0, 1, -1, -1, -1],
            threshold: vec![0.5, 0.5, 0.0, 0.0, 0.0],
            flags: vec![flags::DEFAULT_LEFT, 0, 0, 0, 0],
            cover: vec![10.0, 6.0, 4.0, 2.0, 4.0],
            values: vec![0.0, 0.0, 4.0, 1.0, 2.0],
            width: 1,
            starts: vec![0, 5],
            tree_output: vec![0],
            n_outputs: 1,
            n_features: 2,
            base_offset: vec![0.0],
            float32_input: false,
        })
        .unwrap()
    }

    #[test]
    fn routes_and_predicts() {
        let e = small();
        let mut out = [0.0];
        e.predict_row(&[0.0, 0.0], &mut out);
        assert_eq!(out[0], 1.0);
        e.predict_row(&[0.0, 1.0], &mut out);
        assert_eq!(out[0], 2.0);
        e.predict_row(&[1.0, 0.0], &mut out);
        assert_eq!(out[0], 4.0);
        // NaN on x0 goes left (default), on x1 right.
        e.predict_row(&[f64::NAN, f64::NAN], &mut out);
        assert_eq!(out[0], 2.0);
        assert_eq!(e.max_depth, 2);
    }

    #[test]
    fn lightgbm_missing_rules() {
        let e = small();
        let mut t = e.tree(0);
        let f = [flags::NAN_AS_ZERO | flags::ZERO_IS_MISSING, 0, 0, 0, 0];
        t.flags = &f;
        // Zero band and NaN go to the default (right here), 0.2 compares normally.
        assert!(!t.goes_left(0, 0.0));
        assert!(!t.goes_left(0, f64::NAN));
        assert!(t.goes_left(0, 0.2));
        let f = [flags::NAN_AS_ZERO, 0, 0, 0, 0];
        t.flags = &f;
        assert!(t.goes_left(0, f64::NAN));
        let f = [flags::STRICT, 0, 0, 0, 0];
        t.flags = &f;
        assert!(!t.goes_left(0, 0.5));
    }

    #[test]
    fn refuses_cycles_and_bad_features() {
        let mk = |left: Vec<i64>, feature: Vec<i64>| {
            Ensemble::new(EnsembleParts {
                left,
                right: vec![2, -1, -1],
                feature,
                threshold: vec![0.0; 3],
                flags: vec![0; 3],
                cover: vec![1.0; 3],
                values: vec![0.0; 3],
                width: 1,
                starts: vec![0, 3],
                tree_output: vec![0],
                n_outputs: 1,
                n_features: 1,
                base_offset: vec![0.0],
                float32_input: false,
            })
        };
        assert!(mk(vec![1, -1, -1], vec![0, -1, -1]).is_ok());
        assert!(mk(vec![0, -1, -1], vec![0, -1, -1]).is_err());
        assert!(mk(vec![1, -1, -1], vec![3, -1, -1]).is_err());
        assert!(mk(vec![7, -1, -1], vec![0, -1, -1]).is_err());
    }
}
