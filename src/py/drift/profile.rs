//! Bindings of drift profiles (`mlsentry.drift.Profile` wraps `DriftProfile`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use super::compare::{output_dict, HeldCodes};
use crate::core::drift::compare::Test;
use crate::core::drift::profile::compare::{self, moments, Pair};
use crate::core::drift::profile::{format, ColumnData, ColumnInput, ColumnValues, Profile};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDriftProfile>()?;
    m.add_function(wrap_pyfunction!(profile_fit, m)?)?;
    m.add("PROFILE_OTHER_LABEL", compare::OTHER_LABEL)?;
    Ok(())
}

/// The counts of a table (see `core::drift::profile`).
#[pyclass(name = "DriftProfile", module = "mlsentry._core", frozen)]
pub struct PyDriftProfile {
    inner: Profile,
}

enum HeldValues<'py> {
    Numeric(numpy::PyReadonlyArray1<'py, f64>),
    Categorical(HeldCodes<'py>, Vec<String>),
}

/// Profiles columns, in parallel without the GIL.
///
/// `columns` holds tuples `(name, dtype, kind, values, labels)`: kind `"numeric"` with a
/// float64 array (NaN = missing) and `labels` None, or `"categorical"` with int32/int64
/// codes (negative = missing) and the list of their labels.
#[pyfunction]
#[pyo3(signature = (columns, callback=None))]
fn profile_fit<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<PyDriftProfile> {
    let mut held = Vec::with_capacity(columns.len());
    for c in &columns {
        if c.len() != 5 {
            return Err(CoreError::invalid("a column is a tuple of 5 fields").into());
        }
        let name: String = c.get_item(0)?.extract()?;
        let dtype: String = c.get_item(1)?.extract()?;
        let kind: String = c.get_item(2)?.extract()?;
        let values = match kind.as_str() {
            "numeric" => HeldValues::Numeric(c.get_item(3)?.extract()?),
            "categorical" => HeldValues::Categorical(
                HeldCodes::extract(&c.get_item(3)?)?,
                c.get_item(4)?.extract()?,
            ),
            other => {
                return Err(CoreError::invalid(format!("unknown column kind {other:?}")).into())
            }
        };
        held.push((name, dtype, values));
    }
    let inputs: Vec<ColumnInput<'_>> = held
        .iter()
        .map(|(name, dtype, v)| ColumnInput {
            name: name.clone(),
            dtype: dtype.clone(),
            values: match v {
                HeldValues::Numeric(a) => ColumnValues::Numeric(a.as_array()),
                HeldValues::Categorical(codes, labels) => ColumnValues::Categorical {
                    codes: codes.view(),
                    labels,
                },
            },
        })
        .collect();
    let inner = runtime::run(py, callback, |p| Profile::fit(&inputs, p))?;
    Ok(PyDriftProfile { inner })
}

fn column<'a>(p: &'a Profile, name: &str, which: &str) -> Result<&'a ColumnData, CoreError> {
    p.column(name)
        .map(|c| &c.data)
        .ok_or_else(|| CoreError::invalid(format!("no column {name:?} in the {which} profile")))
}

#[pymethods]
impl PyDriftProfile {
    /// The profile of both tables together (same columns, same order).
    fn merge(&self, other: &PyDriftProfile) -> PyResult<PyDriftProfile> {
        Ok(PyDriftProfile {
            inner: self.inner.merge(&other.inner)?,
        })
    }

    /// The file's bytes (header line and packed counts).
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &format::to_bytes(&self.inner))
    }

    #[staticmethod]
    fn from_bytes(data: &[u8]) -> PyResult<PyDriftProfile> {
        Ok(PyDriftProfile {
            inner: format::from_bytes(data)?,
        })
    }

    /// One dict per column: name, dtype, kind, count, missing, and min, max, mean, std,
    /// buckets (numeric) or categories, other, level (categorical).
    fn columns<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.inner
            .columns
            .iter()
            .map(|c| {
                let d = PyDict::new(py);
                d.set_item("name", &c.name)?;
                d.set_item("dtype", &c.dtype)?;
                d.set_item("kind", c.data.kind())?;
                d.set_item("count", c.data.present())?;
                d.set_item("missing", c.data.missing())?;
                match &c.data {
                    ColumnData::Numeric(n) => {
                        let (mean, std) = moments(n);
                        let finite = n.min <= n.max;
                        d.set_item("min", finite.then_some(n.min))?;
                        d.set_item("max", finite.then_some(n.max))?;
                        d.set_item("mean", finite.then_some(mean))?;
                        d.set_item("std", finite.then_some(std))?;
                        d.set_item("buckets", n.buckets.len())?;
                    }
                    ColumnData::Categorical(k) => {
                        d.set_item("categories", k.names.len())?;
                        d.set_item("other", k.other)?;
                        d.set_item("level", k.level)?;
                    }
                }
                Ok(d)
            })
            .collect()
    }

    /// `n` values drawn (seeded by `seed`) from numeric column `name`'s distribution on
    /// the grid (see `NumericProfile::sample`).
    fn sample<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        n: usize,
        seed: u64,
    ) -> PyResult<Bound<'py, numpy::PyArray1<f64>>> {
        let out = match self.inner.column(name).map(|c| &c.data) {
            Some(ColumnData::Numeric(p)) => {
                let mut rng = crate::core::robustness::common::sample_rng(seed, 0);
                p.sample(n, &mut rng)
                    .map_err(|e| CoreError::invalid(format!("column {name:?}: {e}")))?
            }
            _ => return Err(CoreError::invalid(format!("no numeric column {name:?}")).into()),
        };
        Ok(numpy::PyArray1::from_vec(py, out))
    }

    /// The category counts of column `name` (kept categories; `other` apart).
    fn category_counts(&self, name: &str) -> PyResult<Vec<(String, u64)>> {
        match self.inner.column(name).map(|c| &c.data) {
            Some(ColumnData::Categorical(k)) => Ok(k
                .names
                .iter()
                .cloned()
                .zip(k.counts.iter().copied())
                .collect()),
            _ => Err(CoreError::invalid(format!("no categorical column {name:?}")).into()),
        }
    }

    /// Compares columns of this (reference) profile with those of `current`, in parallel
    /// without the GIL. `columns` holds `(name, test, bins)`; each dict is a
    /// `drift_compare` output plus `labels`, `new_categories` and `note`.
    #[pyo3(signature = (current, columns, callback=None))]
    fn compare<'py>(
        &self,
        py: Python<'py>,
        current: &PyDriftProfile,
        columns: Vec<(String, String, usize)>,
        callback: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Vec<Bound<'py, PyDict>>> {
        let mut pairs = Vec::with_capacity(columns.len());
        for (name, test, bins) in &columns {
            pairs.push(Pair {
                name,
                reference: column(&self.inner, name, "reference")?,
                current: column(&current.inner, name, "current")?,
                test: Test::parse(test)?,
                bins: *bins,
            });
        }
        let outputs = runtime::run(py, callback, |p| compare::compare(&pairs, p))?;
        outputs
            .iter()
            .map(|o| {
                let d = output_dict(py, &o.output)?;
                d.set_item("labels", &o.labels)?;
                d.set_item("new_categories", o.new_categories)?;
                d.set_item("note", &o.note)?;
                Ok(d)
            })
            .collect()
    }
}
