//! Bindings of schema inference and validation (`mlsentry.data.Schema` and
//! `mlsentry.data.validate` wrap them).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::core::data::schema::{
    self, Column, Domain, Findings, Profile, ProfileInput, Rule, Strings, Tally,
};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(schema_infer, m)?)?;
    m.add_function(wrap_pyfunction!(schema_validate, m)?)?;
    m.add_function(wrap_pyfunction!(schema_toml_to_json, m)?)?;
    m.add_function(wrap_pyfunction!(schema_json_to_toml, m)?)?;
    Ok(())
}

/// A column held borrowed from numpy while the core reads it.
enum Held<'py> {
    Float(
        PyReadonlyArray1<'py, f64>,
        Option<PyReadonlyArray1<'py, i64>>,
    ),
    Int(PyReadonlyArray1<'py, i64>),
    Codes(PyReadonlyArray1<'py, i64>, usize),
    Strings(Vec<HeldStrings<'py>>),
}

/// One chunk of Arrow strings: offsets, bytes and the optional validity mask.
pub(crate) struct HeldStrings<'py>(
    PyReadonlyArray1<'py, i64>,
    PyReadonlyArray1<'py, u8>,
    Option<PyReadonlyArray1<'py, bool>>,
);

impl<'py> HeldStrings<'py> {
    pub(crate) fn extract(chunk: &Bound<'py, PyTuple>) -> PyResult<Self> {
        if chunk.len() != 3 {
            return Err(type_error(
                "strings: expected (offsets, bytes, valid) per chunk",
            ));
        }
        let offsets: PyReadonlyArray1<'py, i64> = chunk
            .get_item(0)?
            .extract()
            .map_err(|_| type_error("strings: expected int64 offsets"))?;
        let bytes: PyReadonlyArray1<'py, u8> = chunk
            .get_item(1)?
            .extract()
            .map_err(|_| type_error("strings: expected uint8 bytes"))?;
        let valid_obj = chunk.get_item(2)?;
        let valid: Option<PyReadonlyArray1<'py, bool>> = if valid_obj.is_none() {
            None
        } else {
            Some(
                valid_obj
                    .extract()
                    .map_err(|_| type_error("strings: expected a bool mask"))?,
            )
        };
        let contiguous = bytes.as_slice().is_ok()
            && offsets.as_slice().is_ok()
            && valid.as_ref().is_none_or(|v| v.as_slice().is_ok());
        if !contiguous {
            return Err(CoreError::invalid("strings: arrays must be contiguous").into());
        }
        Ok(HeldStrings(offsets, bytes, valid))
    }

    pub(crate) fn strings(&self) -> Strings<'_> {
        Strings {
            offsets: self.0.as_slice().unwrap_or(&[]),
            data: self.1.as_slice().unwrap_or(&[]),
            valid: self.2.as_ref().map(|v| v.as_slice().unwrap_or(&[])),
        }
    }
}

impl<'py> Held<'py> {
    /// `(kind, data, exact, k)`: kind `"float"` (float64 data, optional int64 exact keys),
    /// `"int"` (int64 data, no missing value), `"codes"` (int64 codes in `0..k`) or
    /// `"strings"` (data = a list of chunks `(offsets int64, bytes uint8, valid bool or
    /// None)`).
    fn extract(
        kind: &str,
        data: &Bound<'py, PyAny>,
        exact: &Bound<'py, PyAny>,
        k: usize,
    ) -> PyResult<Self> {
        match kind {
            "float" => Ok(Held::Float(
                data.extract()
                    .map_err(|_| type_error("values: expected a 1-D float64 array"))?,
                if exact.is_none() {
                    None
                } else {
                    Some(
                        exact
                            .extract()
                            .map_err(|_| type_error("exact: expected a 1-D int64 array"))?,
                    )
                },
            )),
            "int" => {
                Ok(Held::Int(data.extract().map_err(|_| {
                    type_error("values: expected a 1-D int64 array")
                })?))
            }
            "codes" => Ok(Held::Codes(
                data.extract()
                    .map_err(|_| type_error("codes: expected a 1-D int64 array"))?,
                k,
            )),
            "strings" => {
                let chunks: Vec<Bound<'py, PyTuple>> = data.extract().map_err(|_| {
                    type_error("strings: expected a list of (offsets, bytes, valid)")
                })?;
                let mut held = Vec::with_capacity(chunks.len());
                for chunk in &chunks {
                    held.push(HeldStrings::extract(chunk)?);
                }
                Ok(Held::Strings(held))
            }
            other => Err(CoreError::invalid(format!("unknown column kind {other:?}")).into()),
        }
    }

    fn column(&self) -> Column<'_> {
        match self {
            Held::Float(v, e) => Column::Float {
                values: v.as_array(),
                exact: e.as_ref().map(|e| e.as_array()),
            },
            Held::Int(v) => Column::Int(v.as_array()),
            Held::Codes(c, k) => Column::Codes {
                codes: c.as_array(),
                k: *k,
            },
            Held::Strings(chunks) => {
                Column::Strings(chunks.iter().map(HeldStrings::strings).collect())
            }
        }
    }
}

fn type_error(msg: &str) -> PyErr {
    CoreError::InvalidType(msg.to_string()).into()
}

fn fields<'py>(t: &Bound<'py, PyTuple>, n: usize) -> PyResult<Vec<Bound<'py, PyAny>>> {
    if t.len() != n {
        return Err(CoreError::invalid(format!("a column is a tuple of {n} fields")).into());
    }
    Ok(t.iter().collect())
}

fn profile_dict<'py>(py: Python<'py>, p: &Profile) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rows", p.rows)?;
    d.set_item("missing", p.missing)?;
    d.set_item("min", p.min)?;
    d.set_item("max", p.max)?;
    d.set_item("distinct", p.distinct)?;
    d.set_item("capped", p.capped)?;
    d.set_item("unique", p.unique)?;
    d.set_item("values", PyArray1::from_slice(py, &p.values))?;
    let codes: Vec<i64> = p.codes.iter().map(|&c| c as i64).collect();
    d.set_item("codes", PyArray1::from_vec(py, codes))?;
    d.set_item("ints", PyArray1::from_slice(py, &p.ints))?;
    let strings: Vec<Bound<'py, PyBytes>> = p.strings.iter().map(|b| PyBytes::new(py, b)).collect();
    d.set_item("strings", strings)?;
    Ok(d)
}

/// Profiles of columns for schema inference, in parallel without the GIL.
///
/// `columns` holds tuples `(kind, data, exact, k, distinct)` (see `Held::extract`;
/// `distinct` asks float columns for distinct values). Returns one dict per column.
#[pyfunction]
#[pyo3(signature = (columns, cap, callback=None))]
fn schema_infer<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    cap: usize,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut held = Vec::with_capacity(columns.len());
    for c in &columns {
        let f = fields(c, 5)?;
        let kind: String = f[0].extract()?;
        let k: usize = f[3].extract()?;
        held.push((
            Held::extract(&kind, &f[1], &f[2], k)?,
            f[4].extract::<bool>()?,
        ));
    }
    let inputs: Vec<ProfileInput<'_>> = held
        .iter()
        .map(|(h, distinct)| ProfileInput {
            column: h.column(),
            distinct: *distinct,
        })
        .collect();
    let profiles = runtime::run(py, callback, |p| schema::infer(&inputs, cap, p))?;
    profiles.iter().map(|p| profile_dict(py, p)).collect()
}

fn tally<'py>(py: Python<'py>, t: &Tally) -> PyResult<Bound<'py, PyTuple>> {
    PyTuple::new(
        py,
        [
            t.count.into_pyobject(py)?.into_any(),
            t.rows.clone().into_pyobject(py)?,
        ],
    )
}

fn findings_dict<'py>(py: Python<'py>, f: &Findings) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rows", f.rows)?;
    d.set_item("missing", tally(py, &f.missing)?)?;
    d.set_item("out_of_range", tally(py, &f.out_of_range)?)?;
    d.set_item("unseen", tally(py, &f.unseen)?)?;
    d.set_item("duplicate", tally(py, &f.duplicate)?)?;
    Ok(d)
}

enum HeldDomain<'py> {
    Values(PyReadonlyArray1<'py, f64>),
    Ints(PyReadonlyArray1<'py, i64>),
    Flags(PyReadonlyArray1<'py, bool>),
    Strings(Vec<String>),
}

impl<'py> HeldDomain<'py> {
    fn extract(kind: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        let wrong = |what: &str| type_error(&format!("domain: expected {what}"));
        Ok(match kind {
            "float" => HeldDomain::Values(obj.extract().map_err(|_| wrong("a float64 array"))?),
            "int" => HeldDomain::Ints(obj.extract().map_err(|_| wrong("an int64 array"))?),
            "codes" => HeldDomain::Flags(obj.extract().map_err(|_| wrong("a bool array"))?),
            _ => HeldDomain::Strings(obj.extract().map_err(|_| wrong("a list of str"))?),
        })
    }

    fn domain(&self) -> Domain {
        match self {
            HeldDomain::Values(v) => Domain::Values(v.as_array().to_vec()),
            HeldDomain::Ints(v) => Domain::Ints(v.as_array().to_vec()),
            HeldDomain::Flags(f) => Domain::Codes(f.as_array().to_vec()),
            HeldDomain::Strings(s) => {
                Domain::Strings(s.iter().map(|s| s.as_bytes().to_vec()).collect())
            }
        }
    }
}

/// The findings of a batch's columns against their rules, in parallel without the GIL.
///
/// `columns` holds tuples `(kind, data, exact, k, min, max, domain, unique)`: `domain` is
/// `None`, the allowed values (float64 or int64 array, list of str) or one bool per code
/// (code columns). Returns one dict per column with `rows` and `(count, first rows)` for
/// `missing`, `out_of_range`, `unseen` and `duplicate`.
#[pyfunction]
#[pyo3(signature = (columns, examples, callback=None))]
fn schema_validate<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    examples: usize,
    callback: Option<&Bound<'py, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyDict>>> {
    let mut held = Vec::with_capacity(columns.len());
    for c in &columns {
        let f = fields(c, 8)?;
        let kind: String = f[0].extract()?;
        let k: usize = f[3].extract()?;
        let data = Held::extract(&kind, &f[1], &f[2], k)?;
        let domain = if f[6].is_none() {
            None
        } else {
            Some(HeldDomain::extract(&kind, &f[6])?)
        };
        let min: Option<f64> = f[4].extract()?;
        let max: Option<f64> = f[5].extract()?;
        let unique: bool = f[7].extract()?;
        held.push((data, min, max, domain, unique));
    }
    let rules: Vec<Rule<'_>> = held
        .iter()
        .map(|(data, min, max, domain, unique)| Rule {
            column: data.column(),
            min: *min,
            max: *max,
            domain: domain.as_ref().map(HeldDomain::domain),
            unique: *unique,
        })
        .collect();
    let findings = runtime::run(py, callback, |p| schema::validate(&rules, examples, p))?;
    findings.iter().map(|f| findings_dict(py, f)).collect()
}

/// A TOML document as JSON text.
#[pyfunction]
fn schema_toml_to_json(text: &str) -> PyResult<String> {
    Ok(schema::toml_to_json(text)?)
}

/// A JSON object as TOML text (keys sorted, `null` members left out).
#[pyfunction]
fn schema_json_to_toml(text: &str) -> PyResult<String> {
    Ok(schema::json_to_toml(text)?)
}
