//! Bindings for the table comparison (`mlsentry.drift.compare` wraps them).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::core::drift::compare::{self, Codes, ColumnInput, ColumnOutput, Sides, Test};
use crate::core::drift::factorize::{self, TextPair};
use crate::core::drift::TestOutcome;
use crate::core::CoreError;
use crate::py::data::schema::HeldStrings;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(drift_compare, m)?)?;
    m.add_function(wrap_pyfunction!(drift_factorize_text, m)?)?;
    m.add("DRIFT_TEST_NAMES", compare::TEST_NAMES.to_vec())?;
    m.add("DRIFT_NUMERIC_TESTS", Test::names_for(true))?;
    m.add("DRIFT_CATEGORICAL_TESTS", Test::names_for(false))?;
    Ok(())
}

enum Held<'py> {
    Numeric(PyReadonlyArray1<'py, f64>, PyReadonlyArray1<'py, f64>),
    Categorical(HeldCodes<'py>, HeldCodes<'py>, usize),
}

/// Category codes as numpy holds them: int32 or int64.
pub(super) enum HeldCodes<'py> {
    I32(PyReadonlyArray1<'py, i32>),
    I64(PyReadonlyArray1<'py, i64>),
}

impl<'py> HeldCodes<'py> {
    pub(super) fn extract(obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray1<'py, i32>>() {
            return Ok(HeldCodes::I32(a));
        }
        obj.extract::<PyReadonlyArray1<'py, i64>>()
            .map(HeldCodes::I64)
            .map_err(|_| {
                CoreError::InvalidType("category codes: expected a 1-D int32 or int64 array".into())
                    .into()
            })
    }

    pub(super) fn view(&self) -> Codes<'_> {
        match self {
            HeldCodes::I32(a) => Codes::I32(a.as_array()),
            HeldCodes::I64(a) => Codes::I64(a.as_array()),
        }
    }
}

struct HeldColumn<'py> {
    name: String,
    data: Held<'py>,
    test: Test,
    bins: usize,
}

pub(super) fn outcome_dict<'py>(py: Python<'py>, o: &TestOutcome) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("statistic", o.statistic)?;
    d.set_item("pvalue", o.pvalue)?;
    d.set_item("method", o.method)?;
    d.set_item("effect_size", o.effect_size)?;
    let details = PyDict::new(py);
    for (k, v) in &o.details {
        details.set_item(*k, *v)?;
    }
    d.set_item("details", details)?;
    Ok(d)
}

pub(super) fn output_dict<'py>(py: Python<'py>, o: &ColumnOutput) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("test", o.test)?;
    let opt = |x: &Option<TestOutcome>| -> PyResult<Option<Bound<'py, PyDict>>> {
        x.as_ref().map(|t| outcome_dict(py, t)).transpose()
    };
    d.set_item("outcome", opt(&o.outcome)?)?;
    d.set_item("effect", opt(&o.effect)?)?;
    d.set_item("missing_test", opt(&o.missing_test)?)?;
    d.set_item("n_reference", o.n_reference)?;
    d.set_item("n_current", o.n_current)?;
    d.set_item("missing_reference", o.missing_reference)?;
    d.set_item("missing_current", o.missing_current)?;
    d.set_item("categories", o.categories)?;
    d.set_item("infinite_reference", o.infinite_reference)?;
    d.set_item("infinite_current", o.infinite_current)?;
    d.set_item("error", &o.error)?;
    let h = &o.histogram;
    d.set_item("hist_edges", PyArray1::from_slice(py, &h.edges))?;
    d.set_item("hist_codes", PyArray1::from_slice(py, &h.codes))?;
    d.set_item("hist_reference", PyArray1::from_slice(py, &h.reference))?;
    d.set_item("hist_current", PyArray1::from_slice(py, &h.current))?;
    Ok(d)
}

/// Compares columns of two tables, in parallel without the GIL.
///
/// `columns` holds tuples `(name, kind, reference, current, k, test, bins)`: kind
/// `"numeric"` with float64 arrays (NaN = missing) or `"categorical"` with int64 codes in
/// `0..k` (-1 = missing). Returns one dict per column (see `ColumnOutput`).
#[pyfunction]
#[pyo3(signature = (columns, callback=None))]
fn drift_compare<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut held = Vec::with_capacity(columns.len());
    for c in &columns {
        if c.len() != 7 {
            return Err(CoreError::invalid("a column is a tuple of 7 fields").into());
        }
        let name: String = c.get_item(0)?.extract()?;
        let kind: String = c.get_item(1)?.extract()?;
        let k: usize = c.get_item(4)?.extract()?;
        let test: String = c.get_item(5)?.extract()?;
        let data = match kind.as_str() {
            "numeric" => Held::Numeric(c.get_item(2)?.extract()?, c.get_item(3)?.extract()?),
            "categorical" => Held::Categorical(
                HeldCodes::extract(&c.get_item(2)?)?,
                HeldCodes::extract(&c.get_item(3)?)?,
                k,
            ),
            other => {
                return Err(CoreError::invalid(format!("unknown column kind {other:?}")).into())
            }
        };
        held.push(HeldColumn {
            name,
            data,
            test: Test::parse(&test)?,
            bins: c.get_item(6)?.extract()?,
        });
    }
    let inputs: Vec<ColumnInput<'_>> = held
        .iter()
        .map(|h| ColumnInput {
            name: h.name.clone(),
            sides: match &h.data {
                Held::Numeric(r, c) => Sides::Numeric {
                    reference: r.as_array(),
                    current: c.as_array(),
                },
                Held::Categorical(r, c, k) => Sides::Categorical {
                    reference: r.view(),
                    current: c.view(),
                    k: *k,
                },
            },
            test: h.test,
            bins: h.bins,
        })
        .collect();
    let outputs = runtime::run(py, callback, |p| compare::compare(&inputs, p))?;
    outputs.iter().map(|o| output_dict(py, o)).collect()
}

/// The chunks `(offsets int64, bytes uint8, valid bool or None)` of one side.
fn held_chunks<'py>(side: &Bound<'py, PyAny>) -> PyResult<Vec<HeldStrings<'py>>> {
    let chunks: Vec<Bound<'py, PyTuple>> = side.extract().map_err(|_| {
        CoreError::InvalidType("text: expected a list of (offsets, bytes, valid)".into())
    })?;
    chunks.iter().map(HeldStrings::extract).collect()
}

/// Joint category codes of text columns (see `core::drift::factorize`), columns in
/// parallel without the GIL.
///
/// `columns` holds tuples `(name, reference, current)`, each side a list of Arrow string
/// chunks `(offsets int64, bytes uint8, valid bool or None)` (an empty list: no side).
/// Returns per column `(codes_reference int32, codes_current int32, values list[str],
/// counts_reference int64, counts_current int64)`.
#[pyfunction]
#[pyo3(signature = (columns, callback=None))]
fn drift_factorize_text<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    let mut held = Vec::with_capacity(columns.len());
    for c in &columns {
        if c.len() != 3 {
            return Err(CoreError::invalid("a text column is a tuple of 3 fields").into());
        }
        let name: String = c.get_item(0)?.extract()?;
        held.push((
            name,
            held_chunks(&c.get_item(1)?)?,
            held_chunks(&c.get_item(2)?)?,
        ));
    }
    let pairs: Vec<TextPair<'_>> = held
        .iter()
        .map(|(name, r, c)| TextPair {
            name: name.clone(),
            reference: r.iter().map(HeldStrings::strings).collect(),
            current: c.iter().map(HeldStrings::strings).collect(),
        })
        .collect();
    let outputs = runtime::run(py, callback, |p| factorize::factorize_columns(&pairs, p))?;
    outputs
        .iter()
        .zip(&pairs)
        .map(|(o, pair)| {
            let values = o
                .values
                .iter()
                .map(|v| {
                    std::str::from_utf8(v)
                        .map(|s| PyString::new(py, s))
                        .map_err(|_| {
                            CoreError::invalid(format!("column {:?}: text is not UTF-8", pair.name))
                                .into()
                        })
                })
                .collect::<PyResult<Vec<_>>>()?;
            let counts = |c: &[u64]| -> Vec<i64> { c.iter().map(|&x| x as i64).collect() };
            PyTuple::new(
                py,
                [
                    PyArray1::from_slice(py, &o.reference).into_any(),
                    PyArray1::from_slice(py, &o.current).into_any(),
                    PyList::new(py, values)?.into_any(),
                    PyArray1::from_vec(py, counts(&o.reference_counts)).into_any(),
                    PyArray1::from_vec(py, counts(&o.current_counts)).into_any(),
                ],
            )
        })
        .collect()
}
