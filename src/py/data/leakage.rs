//! Bindings of the leakage search (`core::data::leakage`; `mlsentry.data.leakage` wraps
//! them). Columns are borrowed zero-copy from numpy arrays the Python layer prepared.

use numpy::{IntoPyArray, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::core::data::leakage::{self, Cells, Table};
use crate::core::CoreError;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(leakage_pairs, m)?)?;
    m.add("LEAKAGE_KINDS", leakage_kinds())?;
    Ok(())
}

fn leakage_kinds() -> Vec<(&'static str, u8)> {
    vec![
        ("bool", leakage::KIND_BOOL),
        ("datetime", leakage::KIND_DATETIME),
        ("timedelta", leakage::KIND_TIMEDELTA),
        ("time", leakage::KIND_TIME),
        ("str", leakage::KIND_STR),
        ("bytes", leakage::KIND_BYTES),
    ]
}

type Valid<'py> = Option<PyReadonlyArray1<'py, u8>>;

/// One column as borrowed from Python, kept alive while its slices are used.
enum Held<'py> {
    Float(PyReadonlyArray1<'py, f64>),
    Int(PyReadonlyArray1<'py, i64>, Valid<'py>),
    UInt(PyReadonlyArray1<'py, u64>, Valid<'py>),
    Tagged(u8, PyReadonlyArray1<'py, i64>, Valid<'py>),
    Text(
        u8,
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, u8>,
        Valid<'py>,
    ),
    Null(usize),
}

fn bad(msg: &str) -> PyErr {
    CoreError::InvalidType(format!("leakage column: {msg}")).into()
}

fn valid<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Valid<'py>> {
    if obj.is_none() {
        return Ok(None);
    }
    obj.extract()
        .map(Some)
        .map_err(|_| bad("validity must be a 1-D uint8 array"))
}

fn held<'py>(spec: &Bound<'py, PyTuple>) -> PyResult<Held<'py>> {
    let kind: String = spec.get_item(0)?.extract()?;
    let arr = |i: usize| spec.get_item(i);
    let expect = |n: usize| {
        if spec.len() == n {
            Ok(())
        } else {
            Err(bad(&format!("a {kind:?} column is a tuple of {n} fields")))
        }
    };
    Ok(match kind.as_str() {
        "float" => {
            expect(2)?;
            Held::Float(arr(1)?.extract().map_err(|_| bad("expected float64"))?)
        }
        "int" => {
            expect(3)?;
            Held::Int(
                arr(1)?.extract().map_err(|_| bad("expected int64"))?,
                valid(&arr(2)?)?,
            )
        }
        "uint" => {
            expect(3)?;
            Held::UInt(
                arr(1)?.extract().map_err(|_| bad("expected uint64"))?,
                valid(&arr(2)?)?,
            )
        }
        "tagged" => {
            expect(4)?;
            Held::Tagged(
                arr(1)?.extract()?,
                arr(2)?.extract().map_err(|_| bad("expected int64"))?,
                valid(&arr(3)?)?,
            )
        }
        "text" => {
            expect(5)?;
            Held::Text(
                arr(1)?.extract()?,
                arr(2)?
                    .extract()
                    .map_err(|_| bad("expected int64 offsets"))?,
                arr(3)?.extract().map_err(|_| bad("expected uint8 data"))?,
                valid(&arr(4)?)?,
            )
        }
        "null" => {
            expect(2)?;
            Held::Null(arr(1)?.extract()?)
        }
        other => return Err(bad(&format!("unknown kind {other:?}"))),
    })
}

fn slice<'a, T: numpy::Element>(a: &'a PyReadonlyArray1<'_, T>) -> PyResult<&'a [T]> {
    a.as_slice().map_err(|_| bad("arrays must be contiguous"))
}

fn opt_slice<'a>(v: &'a Valid<'_>) -> PyResult<Option<&'a [u8]>> {
    v.as_ref().map(slice).transpose()
}

fn cells<'a>(h: &'a Held<'_>) -> PyResult<Cells<'a>> {
    Ok(match h {
        Held::Float(a) => Cells::Float(slice(a)?),
        Held::Int(a, v) => Cells::Int(slice(a)?, opt_slice(v)?),
        Held::UInt(a, v) => Cells::UInt(slice(a)?, opt_slice(v)?),
        Held::Tagged(k, a, v) => Cells::Tagged(*k, slice(a)?, opt_slice(v)?),
        Held::Text(k, o, d, v) => Cells::Text(*k, slice(o)?, slice(d)?, opt_slice(v)?),
        Held::Null(n) => Cells::Null(*n),
    })
}

fn held_table<'py>(cols: &[Bound<'py, PyTuple>]) -> PyResult<Vec<Held<'py>>> {
    cols.iter().map(held).collect()
}

fn table<'a>(held: &'a [Held<'_>], what: &str) -> PyResult<Table<'a>> {
    let cols = held.iter().map(cells).collect::<PyResult<Vec<_>>>()?;
    Ok(Table::new(cols, what)?)
}

/// The pairs of `mlsentry.data.leakage`: test rows of `test` found in `train` (or, without
/// `test`, rows of `train` that repeat an earlier row). Columns are tuples
/// `("float", f8)`, `("int", i8, valid)`, `("uint", u8, valid)`, `("tagged", kind, i8,
/// valid)`, `("text", kind, i8 offsets, u1 data, valid)` or `("null", n)`, matched by
/// position. Returns a dict of arrays (`test_index`, `train_index`, `kind` 1 exact / 2
/// near, `distance`, `count`) and `near_columns` (positions compared as numbers).
#[pyfunction]
#[pyo3(signature = (train, test, near_threshold, progress=None))]
fn leakage_pairs<'py>(
    py: Python<'py>,
    train: Vec<Bound<'py, PyTuple>>,
    test: Option<Vec<Bound<'py, PyTuple>>>,
    near_threshold: Option<f64>,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let train_held = held_table(&train)?;
    let test_held = test.as_deref().map(held_table).transpose()?;
    let train_table = table(&train_held, "train")?;
    let test_table = test_held.as_deref().map(|h| table(h, "test")).transpose()?;
    let found = runtime::run(py, progress, move |p| match &test_table {
        Some(t) => leakage::leakage(&train_table, t, near_threshold, p),
        None => leakage::duplicates(&train_table, near_threshold, p),
    })?;
    let as_i64 = |v: Vec<u64>| v.into_iter().map(|x| x as i64).collect::<Vec<i64>>();
    let d = PyDict::new(py);
    d.set_item("test_index", as_i64(found.query).into_pyarray(py))?;
    d.set_item("train_index", as_i64(found.reference).into_pyarray(py))?;
    d.set_item("kind", found.kind.into_pyarray(py))?;
    d.set_item("distance", found.distance.into_pyarray(py))?;
    d.set_item("count", as_i64(found.count).into_pyarray(py))?;
    d.set_item("near_columns", found.near_columns)?;
    Ok(d)
}
