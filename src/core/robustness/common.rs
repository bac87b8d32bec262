//! What every attack shares: per-sample random streams, rounds of queries batched over
//! all still-active samples, query budgets, the final confirmation, and the result type.
//!
//! Attacks advance all active samples together: in each round every sample adds the rows
//! it needs to one `Requests`, the oracle answers them in one model call (split by
//! `batch_size`), and each sample reads its answers back. A sample leaves when it has
//! succeeded or spent its budget of `max_queries` rows.

use ndarray::{Array2, ArrayView2, ArrayViewMut1};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::constraints::{Constraints, Norm};
use super::model::{margin, Oracle};
use crate::core::{CoreError, CoreResult};

/// The random stream of sample `index` under `seed`: results do not depend on the batch
/// size, the thread count or which other samples are attacked.
pub fn sample_rng(seed: u64, index: usize) -> ChaCha8Rng {
    // SplitMix64 of the index, so that neighbouring samples get unrelated streams.
    let mut z = (index as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    ChaCha8Rng::seed_from_u64(seed ^ z)
}

/// Rows asked for in one round, each tagged with the sample it belongs to.
#[derive(Debug, Clone)]
pub struct Requests {
    d: usize,
    data: Vec<f64>,
    owners: Vec<usize>,
}

impl Requests {
    pub fn new(d: usize) -> Self {
        Requests {
            d,
            data: Vec::new(),
            owners: Vec::new(),
        }
    }

    pub fn push(&mut self, owner: usize, row: &[f64]) {
        debug_assert_eq!(row.len(), self.d);
        self.data.extend_from_slice(row);
        self.owners.push(owner);
    }

    pub fn len(&self) -> usize {
        self.owners.len()
    }

    pub fn is_empty(&self) -> bool {
        self.owners.is_empty()
    }

    pub fn owners(&self) -> &[usize] {
        &self.owners
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    pub fn view(&self) -> ArrayView2<'_, f64> {
        ArrayView2::from_shape((self.len(), self.d), &self.data).expect("rows of d values")
    }

    /// Charges each row to its sample's budget.
    pub fn charge(&self, budget: &mut Budget) {
        for &o in &self.owners {
            budget.used[o] += 1;
        }
    }
}

/// Rows sent per sample, against a limit of `max` per sample.
#[derive(Debug, Clone)]
pub struct Budget {
    pub used: Vec<u64>,
    pub max: u64,
}

impl Budget {
    pub fn new(n: usize, max: u64) -> Self {
        Budget {
            used: vec![0; n],
            max,
        }
    }

    pub fn left(&self, i: usize) -> u64 {
        self.max.saturating_sub(self.used[i])
    }
}

/// The result of an attack on `n` samples.
#[derive(Debug, Clone)]
pub struct AttackOutcome {
    /// The adversarial row of each sample (the original row where none was found).
    pub adversarial: Array2<f64>,
    /// Whether the adversarial row is feasible and a fresh model call confirmed that it
    /// is misclassified.
    pub success: Vec<bool>,
    /// Rows sent per sample, the confirmation included.
    pub queries: Vec<u64>,
}

/// Final check of every candidate: project it onto the constraints (a no-op for the
/// feasible ones), ask the model once more, and count it only if it is misclassified.
/// Samples without a candidate (`found` false) are left as their original row.
#[allow(clippy::too_many_arguments)]
pub fn confirm(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    mut adversarial: Array2<f64>,
    found: &[bool],
    mut budget: Budget,
    constraints: &Constraints,
    eps: f64,
    norm: Norm,
) -> CoreResult<AttackOutcome> {
    let n = x0.nrows();
    let mut req = Requests::new(x0.ncols());
    for (i, &candidate) in found.iter().enumerate() {
        let orig = x0.row(i);
        let orig = orig.as_slice().expect("contiguous rows");
        let mut row: ArrayViewMut1<'_, f64> = adversarial.row_mut(i);
        let row = row.as_slice_mut().expect("contiguous rows");
        if candidate {
            constraints.project(orig, row, eps, norm);
            req.push(i, row);
        } else {
            row.copy_from_slice(orig);
        }
    }
    let labels = oracle.labels(req.view())?;
    req.charge(&mut budget);
    let mut success = vec![false; n];
    for (k, &i) in req.owners().iter().enumerate() {
        let orig = x0.row(i);
        let feasible = constraints.feasible(
            orig.as_slice().expect("contiguous rows"),
            req.row(k),
            eps,
            norm,
        );
        success[i] = feasible && labels[k] != y[i];
        if !success[i] {
            adversarial.row_mut(i).assign(&orig);
        }
    }
    Ok(AttackOutcome {
        adversarial,
        success,
        queries: budget.used,
    })
}

/// Checks what every attack is given: `x0` is `n x d` with `d` the constraints' features,
/// one label per row, a positive finite `eps`, valid constraints that every row of `x0`
/// satisfies. Then tells the oracle the classes the labels imply, so that a model with
/// too few score columns is refused at its first answer (a model that gives labels only
/// may have more: the binding layer can say so with `Oracle::expect_classes`).
pub fn check_inputs(
    oracle: &mut Oracle<'_>,
    x0: ArrayView2<'_, f64>,
    y: &[usize],
    constraints: &Constraints,
    eps: Option<f64>,
) -> CoreResult<()> {
    let (n, d) = x0.dim();
    if y.len() != n {
        return Err(CoreError::invalid(format!(
            "y has {} labels for {n} rows of X",
            y.len()
        )));
    }
    if d != constraints.features() {
        return Err(CoreError::invalid(format!(
            "X has {d} features but the constraints describe {}",
            constraints.features()
        )));
    }
    if let Some(eps) = eps.filter(|e| !(e.is_finite() && *e > 0.0)) {
        return Err(CoreError::invalid(format!(
            "eps: expected a positive finite budget, got {eps}"
        )));
    }
    if let Some(((i, j), v)) = x0.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(CoreError::invalid(format!(
            "X row {i}, feature {j} is {v}: attacks need finite values"
        )));
    }
    constraints.validate()?;
    constraints.check_rows(x0)?;
    // A classifier has at least two classes, even when every label given is 0.
    if let Some(&k) = y.iter().max() {
        oracle.expect_classes((k + 1).max(2));
    }
    Ok(())
}

/// -1, 0 or 1 (`f64::signum` gives 1 for 0: no direction must mean no step).
pub fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// The margin (`model::margin`) of every answered row against its owner's label.
pub fn margins(scores: &Array2<f64>, req: &Requests, y: &[usize]) -> Vec<f64> {
    req.owners()
        .iter()
        .zip(scores.outer_iter())
        .map(|(&i, row)| match row.as_slice() {
            Some(r) => margin(r, y[i]),
            None => margin(&row.to_vec(), y[i]),
        })
        .collect()
}

/// A standard contiguous (row-major) copy of `x`.
pub fn owned_rows(x: ArrayView2<'_, f64>) -> Array2<f64> {
    x.as_standard_layout().into_owned()
}
