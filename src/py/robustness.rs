//! Bindings for the attacks (`mlsentry.robustness` wraps them).
//!
//! The model stays a Python callable. `PyModel` implements the core's `Model` by taking
//! the GIL for each call; the attack itself runs in a worker thread without it
//! (`runtime::run`), so the GIL is held only while the model runs. The Python side wraps
//! the user's model so that it takes a float64 matrix of flattened rows and returns either
//! float64 scores `(n, k)` or int64 class indices `(n,)`.

use ndarray::{Array2, ArrayView2};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, ToPyArray};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::core::robustness::common::AttackOutcome;
use crate::core::robustness::constraints::{Constraints, Norm};
use crate::core::robustness::hop_skip_jump::{hop_skip_jump, HsjParams};
use crate::core::robustness::model::{Model, Oracle, Output};
use crate::core::robustness::noise::{noise, NoiseKind, NoiseParams};
use crate::core::robustness::pgd::{pgd, Gradient, GradientSource, PgdParams};
use crate::core::robustness::square::{square, Layout, SquareParams};
use crate::core::{CoreError, CoreResult};
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(robustness_attack, m)?)?;
    Ok(())
}

/// A Python callable as a model; the first exception it raises is kept to be re-raised
/// (as the cause of a `ModelError`) once the attack has stopped.
struct PyModel {
    func: Py<PyAny>,
    failure: Option<PyErr>,
}

impl Model for PyModel {
    fn predict(&mut self, x: ArrayView2<'_, f64>) -> CoreResult<Output> {
        Python::attach(|py| {
            let out = match self.func.call1(py, (x.to_pyarray(py),)) {
                Ok(out) => out,
                Err(e) => {
                    self.failure = Some(e);
                    return Err(CoreError::Model("the model raised an exception".into()));
                }
            };
            let out = out.bind(py);
            if let Ok(s) = out.extract::<PyReadonlyArray2<'_, f64>>() {
                return Ok(Output::Scores(s.as_array().to_owned()));
            }
            if let Ok(l) = out.extract::<PyReadonlyArray1<'_, i64>>() {
                return Ok(Output::Labels(l.as_array().to_vec()));
            }
            Err(CoreError::Model(
                "the wrapped model must return float64 scores (n, k) or int64 labels (n,)".into(),
            ))
        })
    }
}

/// A Python `grad_fn(x, y) -> gradient` for PGD.
struct PyGradient {
    func: Py<PyAny>,
    failure: Option<PyErr>,
}

impl Gradient for PyGradient {
    fn gradient(&mut self, x: ArrayView2<'_, f64>, y: &[usize]) -> CoreResult<Array2<f64>> {
        Python::attach(|py| {
            let labels: Vec<i64> = y.iter().map(|&v| v as i64).collect();
            let out = match self
                .func
                .call1(py, (x.to_pyarray(py), PyArray1::from_vec(py, labels)))
            {
                Ok(out) => out,
                Err(e) => {
                    self.failure = Some(e);
                    return Err(CoreError::Model("grad_fn raised an exception".into()));
                }
            };
            match out.bind(py).extract::<PyReadonlyArray2<'_, f64>>() {
                Ok(g) if g.as_array().dim() == x.dim() => Ok(g.as_array().to_owned()),
                _ => Err(CoreError::Model(format!(
                    "grad_fn must return a float64 array of shape ({}, {}), like x",
                    x.nrows(),
                    x.ncols()
                ))),
            }
        })
    }
}

/// Whether `err` is an `mlsentry.errors.ModelError` (raised by the Python wrapper of the
/// model or of `grad_fn`, with a message that names the problem).
fn raised_model_error(py: Python<'_>, err: &PyErr) -> bool {
    py.import("mlsentry.errors")
        .and_then(|m| m.getattr("ModelError"))
        .map(|cls| err.matches(py, cls).unwrap_or(false))
        .unwrap_or(false)
}

fn param<'py, T>(params: &Bound<'py, PyDict>, key: &str) -> PyResult<T>
where
    for<'a> T: FromPyObject<'a, 'py>,
{
    match params.get_item(key)? {
        Some(v) => v.extract::<T>().map_err(|_| {
            CoreError::InvalidInput(format!(
                "{key}: cannot use {} here (expected a {} value)",
                v.repr().map(|r| r.to_string()).unwrap_or_default(),
                std::any::type_name::<T>()
            ))
            .into()
        }),
        None => Err(CoreError::invalid(format!("missing attack parameter {key:?}")).into()),
    }
}

/// The constraints as the Python side resolves them: bounds, mutable, integer, one-hot
/// groups and per-feature scale.
type RawConstraints = (
    Vec<f64>,
    Vec<f64>,
    Vec<bool>,
    Vec<bool>,
    Vec<Vec<usize>>,
    Vec<f64>,
);

fn constraints_from(raw: RawConstraints) -> CoreResult<Constraints> {
    let (lower, upper, mutable, integer, groups, scale) = raw;
    let c = Constraints {
        lower,
        upper,
        mutable,
        integer,
        groups,
        scale,
    };
    c.validate()?;
    Ok(c)
}

/// The attack to run, with its parameters.
enum Attack {
    Noise(NoiseParams),
    Square(SquareParams),
    HopSkipJump(HsjParams),
    Pgd(PgdParams, Estimator),
}

enum Estimator {
    User,
    Nes { samples: usize, sigma: f64 },
    Spsa { samples: usize, delta: f64 },
}

fn parse_attack(name: &str, p: &Bound<'_, PyDict>) -> PyResult<Attack> {
    let seed: u64 = param(p, "seed")?;
    let max_queries: u64 = param(p, "max_queries")?;
    Ok(match name {
        "noise" => Attack::Noise(NoiseParams {
            kind: match param::<String>(p, "kind")?.as_str() {
                "uniform" => NoiseKind::Uniform,
                "gaussian" => NoiseKind::Gaussian,
                "relative" => NoiseKind::Relative,
                other => {
                    return Err(CoreError::invalid(format!(
                        "kind: expected \"uniform\", \"gaussian\" or \"relative\", got {other:?}"
                    ))
                    .into())
                }
            },
            eps: param(p, "eps")?,
            trials: max_queries.saturating_sub(1).max(1),
            seed,
        }),
        "square" => {
            let shape: Option<(usize, usize, usize, bool)> = param(p, "image")?;
            Attack::Square(SquareParams {
                norm: Norm::parse(&param::<String>(p, "norm")?)?,
                eps: param(p, "eps")?,
                max_queries,
                p_init: param(p, "p_init")?,
                layout: match shape {
                    Some((height, width, channels, channels_last)) => Layout::Image {
                        height,
                        width,
                        channels,
                        channels_last,
                    },
                    None => Layout::Flat,
                },
                seed,
            })
        }
        "hop_skip_jump" => Attack::HopSkipJump(HsjParams {
            norm: Norm::parse(&param::<String>(p, "norm")?)?,
            max_iter: param(p, "max_iter")?,
            max_eval: param(p, "max_eval")?,
            init_eval: param(p, "init_eval")?,
            init_size: param(p, "init_size")?,
            gamma: param(p, "gamma")?,
            max_queries,
            seed,
        }),
        "pgd" => {
            let estimator = match param::<String>(p, "estimator")?.as_str() {
                "user" => Estimator::User,
                "nes" => Estimator::Nes {
                    samples: param(p, "samples")?,
                    sigma: param(p, "sigma")?,
                },
                "spsa" => Estimator::Spsa {
                    samples: param(p, "samples")?,
                    delta: param(p, "sigma")?,
                },
                other => {
                    return Err(CoreError::invalid(format!(
                        "estimator: expected \"nes\" or \"spsa\", got {other:?}"
                    ))
                    .into())
                }
            };
            Attack::Pgd(
                PgdParams {
                    norm: Norm::parse(&param::<String>(p, "norm")?)?,
                    eps: param(p, "eps")?,
                    steps: param(p, "steps")?,
                    step_size: param(p, "step_size")?,
                    random_start: param(p, "random_start")?,
                    max_queries,
                    seed,
                },
                estimator,
            )
        }
        other => {
            return Err(CoreError::invalid(format!(
                "attack: expected noise, square, hop_skip_jump or pgd, got {other:?}"
            ))
            .into())
        }
    })
}

/// What an attack returns to Python, besides the adversarial rows.
struct Ran {
    outcome: AttackOutcome,
    calls: u64,
    rows: u64,
    changed: Option<Vec<u64>>,
    trials: Option<Vec<u64>>,
}

/// Runs one attack on every row of `x` (flattened rows, float64) with true labels `y`.
///
/// Returns a dict: `adversarial` (rows like `x`, the original where the attack failed),
/// `success` (confirmed by a fresh model call), `queries` (rows sent per sample),
/// `calls` and `rows` (model calls and rows in all), and for `noise` the per-sample
/// `changed` and `trials` counts.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (attack, model, x, y, constraints, params, grad_fn=None, batch_size=0, callback=None))]
fn robustness_attack<'py>(
    py: Python<'py>,
    attack: &str,
    model: Py<PyAny>,
    x: PyReadonlyArray2<'py, f64>,
    y: PyReadonlyArray1<'py, i64>,
    constraints: RawConstraints,
    params: &Bound<'py, PyDict>,
    grad_fn: Option<Py<PyAny>>,
    batch_size: usize,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let attack = parse_attack(attack, params)?;
    let x = x.as_array();
    let labels: Vec<usize> = y
        .as_array()
        .iter()
        .map(|&v| {
            usize::try_from(v)
                .map_err(|_| CoreError::invalid(format!("y: negative class index {v}")))
        })
        .collect::<CoreResult<_>>()?;
    if labels.len() != x.nrows() {
        return Err(CoreError::invalid(format!(
            "y has {} labels for {} rows of X",
            labels.len(),
            x.nrows()
        ))
        .into());
    }
    let constraints = constraints_from(constraints)?;
    if constraints.features() != x.ncols() {
        return Err(CoreError::invalid(format!(
            "constraints are for {} features, X has {}",
            constraints.features(),
            x.ncols()
        ))
        .into());
    }
    constraints.check_rows(x)?;
    let classes = labels.iter().max().map_or(0, |&m| m + 1);
    let mut model = PyModel {
        func: model,
        failure: None,
    };
    let mut gradient = grad_fn.map(|func| PyGradient {
        func,
        failure: None,
    });
    let result = runtime::run(py, callback, |progress| {
        let mut oracle = Oracle::new(&mut model, batch_size, progress);
        oracle.expect_classes(classes);
        let (outcome, changed, trials) = match &attack {
            Attack::Noise(p) => {
                let n = noise(&mut oracle, x, &labels, &constraints, p)?;
                (n.outcome, Some(n.changed), Some(n.trials))
            }
            Attack::Square(p) => (
                square(&mut oracle, x, &labels, &constraints, p)?,
                None,
                None,
            ),
            Attack::HopSkipJump(p) => (
                hop_skip_jump(&mut oracle, x, &labels, &constraints, p)?,
                None,
                None,
            ),
            Attack::Pgd(p, estimator) => {
                let source = match (estimator, gradient.as_mut()) {
                    (Estimator::User, Some(g)) => GradientSource::User(g),
                    (Estimator::User, None) => {
                        return Err(CoreError::invalid("pgd: estimator \"user\" needs grad_fn"))
                    }
                    (Estimator::Nes { samples, sigma }, _) => GradientSource::Nes {
                        samples: *samples,
                        sigma: *sigma,
                    },
                    (Estimator::Spsa { samples, delta }, _) => GradientSource::Spsa {
                        samples: *samples,
                        delta: *delta,
                    },
                };
                (
                    pgd(&mut oracle, source, x, &labels, &constraints, p)?,
                    None,
                    None,
                )
            }
        };
        Ok(Ran {
            outcome,
            calls: oracle.calls,
            rows: oracle.rows,
            changed,
            trials,
        })
    });
    let failure = model
        .failure
        .take()
        .or_else(|| gradient.as_mut().and_then(|g| g.failure.take()));
    let ran = match (result, failure) {
        // The Python side already said precisely what went wrong: raise that.
        (Err(_), Some(cause)) if raised_model_error(py, &cause) => return Err(cause),
        (Err(err), Some(cause)) => {
            err.set_cause(py, Some(cause));
            return Err(err);
        }
        (result, _) => result?,
    };
    let d = PyDict::new(py);
    d.set_item(
        "adversarial",
        PyArray2::from_owned_array(py, ran.outcome.adversarial),
    )?;
    d.set_item("success", PyArray1::from_vec(py, ran.outcome.success))?;
    d.set_item("queries", PyArray1::from_vec(py, ran.outcome.queries))?;
    d.set_item("calls", ran.calls)?;
    d.set_item("rows", ran.rows)?;
    if let (Some(changed), Some(trials)) = (ran.changed, ran.trials) {
        d.set_item("changed", PyArray1::from_vec(py, changed))?;
        d.set_item("trials", PyArray1::from_vec(py, trials))?;
    }
    Ok(d)
}
