//! RMIA, the robust membership-inference attack of Zarifzadeh et al. (2024, "Low-Cost
//! High-Power Membership Inference Attacks"), offline, scored from precomputed signals.
//!
//! Signals are true-class probabilities `p(x | theta)`. For a record `x`:
//!
//! * `p(x) = (1 + a) / 2 * mean_OUT(x) + (1 - a) / 2`, where `mean_OUT(x)` averages
//!   `p(x | theta_j)` over the reference models `j` that did not train on `x`: the paper's
//!   offline approximation of the average over IN and OUT models (`a` is fitted once per
//!   setting; 0.3 is the paper's typical value, 1 means no correction);
//! * `r(x) = p(x | theta) / p(x)` for the target model `theta`, and the same `r(z)` for
//!   each population record `z` (records of the same distribution; their `p(z)` averages
//!   over the reference models that did not train on `z`, every one by default);
//! * `LR(x, z) = r(x) / r(z)`, and the score is the share of population records with
//!   `LR(x, z) >= gamma`.
//!
//! The count uses the population's ratios sorted once and a binary search with the exact
//! predicate `r(x) / r(z) >= gamma` (monotone in `r(z)`), so it equals the pairwise count.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::check_finite;
use super::lira::check_reference_shapes;
use crate::core::{CoreError, CoreResult};

#[derive(Debug, Clone, Copy)]
pub struct RmiaOptions {
    pub gamma: f64,
    pub a: f64,
}

fn check_probabilities(v: &[f64], what: &str) -> CoreResult<()> {
    check_finite(v, what)?;
    match v.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(i) => Err(CoreError::invalid(format!(
            "{what}: expected probabilities in [0, 1], got {} at position {i}",
            v[i]
        ))),
        None => Ok(()),
    }
}

/// `r(x)` of every record: target probability over the offline `p(x)`.
fn ratios(
    target: &[f64],
    reference: ArrayView2<'_, f64>,
    reference_in: Option<ArrayView2<'_, bool>>,
    a: f64,
    what: &str,
) -> CoreResult<Vec<f64>> {
    let r: Vec<Option<f64>> = (0..target.len())
        .into_par_iter()
        .map(|i| {
            let col = reference.column(i);
            let (mut sum, mut count) = (0.0, 0usize);
            for (j, &p) in col.iter().enumerate() {
                if reference_in.is_none_or(|m| !m[[j, i]]) {
                    sum += p;
                    count += 1;
                }
            }
            if count == 0 {
                return None;
            }
            let px = (1.0 + a) / 2.0 * (sum / count as f64) + (1.0 - a) / 2.0;
            Some(target[i] / px)
        })
        .collect();
    r.into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Some(x) if !x.is_nan() => Ok(x),
            Some(_) => Err(CoreError::invalid(format!(
                "{what}: record {i} has p(x) = 0 (a = 1 and no OUT reference gives it any \
                 probability); use a < 1"
            ))),
            None => Err(CoreError::invalid(format!(
                "{what}: record {i} has no OUT reference model (every reference trained on \
                 it); offline RMIA needs at least one"
            ))),
        })
        .collect()
}

/// RMIA scores of the records of `target` (n true-class probabilities).
pub fn rmia_scores(
    target: &[f64],
    reference: ArrayView2<'_, f64>,
    reference_in: ArrayView2<'_, bool>,
    population_target: &[f64],
    population_reference: ArrayView2<'_, f64>,
    population_in: Option<ArrayView2<'_, bool>>,
    opts: RmiaOptions,
) -> CoreResult<Vec<f64>> {
    if !(opts.gamma.is_finite() && opts.gamma > 0.0) {
        return Err(CoreError::invalid(format!(
            "gamma: expected a positive number, got {}",
            opts.gamma
        )));
    }
    if !(0.0..=1.0).contains(&opts.a) {
        return Err(CoreError::invalid(format!(
            "a: expected a number in [0, 1], got {}",
            opts.a
        )));
    }
    let names = ["target_probs", "reference_probs", "reference_in"];
    check_reference_shapes(target.len(), reference, reference_in, names)?;
    check_probabilities(target, "target_probs")?;
    if reference.iter().any(|p| !(0.0..=1.0).contains(p)) {
        return Err(CoreError::invalid(
            "reference_probs: expected probabilities in [0, 1]",
        ));
    }
    let z = population_target.len();
    if z == 0 {
        return Err(CoreError::invalid(
            "population_target: no population records",
        ));
    }
    if population_reference.dim() != (reference.nrows(), z) {
        let (a, b) = population_reference.dim();
        return Err(CoreError::invalid(format!(
            "population_reference: expected shape ({}, {z}) (one row per reference model, \
             one column per population record), got ({a}, {b})",
            reference.nrows()
        )));
    }
    if let Some(m) = population_in {
        if m.dim() != population_reference.dim() {
            return Err(CoreError::invalid(
                "population_in: expected the shape of population_reference",
            ));
        }
    }
    check_probabilities(population_target, "population_target")?;
    if population_reference
        .iter()
        .any(|p| !(p.is_finite() && (0.0..=1.0).contains(p)))
    {
        return Err(CoreError::invalid(
            "population_reference: expected probabilities in [0, 1]",
        ));
    }
    let rx = ratios(
        target,
        reference,
        Some(reference_in),
        opts.a,
        "reference_in",
    )?;
    let mut rz = ratios(
        population_target,
        population_reference,
        population_in,
        opts.a,
        "population_in",
    )?;
    rz.par_sort_unstable_by(f64::total_cmp);
    let zf = z as f64;
    Ok(rx
        .par_iter()
        .map(|&r| rz.partition_point(|&q| r / q >= opts.gamma) as f64 / zf)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn scores_by_hand() {
        // a = 1: p(x) is the OUT mean. Record 0: OUT mean 0.5, target 0.9 -> r = 1.8.
        // Population r: 0.5 / 0.5 = 1, 0.2 / 0.4 = 0.5, 0.8 / 0.4 = 2.
        let refs = array![[0.9, 0.3], [0.5, 0.3]];
        let ins = array![[true, false], [false, false]];
        let pop_refs = array![[0.5, 0.4, 0.4], [0.5, 0.4, 0.4]];
        let opts = RmiaOptions { gamma: 1.0, a: 1.0 };
        let s = rmia_scores(
            &[0.9, 0.3],
            refs.view(),
            ins.view(),
            &[0.5, 0.2, 0.8],
            pop_refs.view(),
            None,
            opts,
        )
        .unwrap();
        // Record 0: 1.8 / {1, 0.5, 2} >= 1 for two; record 1: r = 1 -> 1/1, 1/0.5 -> two.
        assert_eq!(s, vec![2.0 / 3.0, 2.0 / 3.0]);
        let opts = RmiaOptions { gamma: 2.0, a: 1.0 };
        let s = rmia_scores(
            &[0.9, 0.3],
            refs.view(),
            ins.view(),
            &[0.5, 0.2, 0.8],
            pop_refs.view(),
            None,
            opts,
        )
        .unwrap();
        assert_eq!(s, vec![1.0 / 3.0, 1.0 / 3.0]);
    }

    #[test]
    fn bad_inputs() {
        let refs = array![[0.9]];
        let ins = array![[true]];
        let pop = array![[0.5]];
        let opts = RmiaOptions { gamma: 1.0, a: 0.3 };
        // No OUT reference for record 0.
        assert!(rmia_scores(
            &[0.9],
            refs.view(),
            ins.view(),
            &[0.5],
            pop.view(),
            None,
            opts
        )
        .is_err());
        let ins = array![[false]];
        assert!(rmia_scores(
            &[1.5],
            refs.view(),
            ins.view(),
            &[0.5],
            pop.view(),
            None,
            opts
        )
        .is_err());
        let bad = RmiaOptions { gamma: 0.0, a: 0.3 };
        assert!(rmia_scores(
            &[0.9],
            refs.view(),
            ins.view(),
            &[0.5],
            pop.view(),
            None,
            bad
        )
        .is_err());
    }
}
