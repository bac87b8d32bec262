//! Bindings of the fingerprint engine (`core::integrity::fingerprint`). The Python side
//! (`mlsentry/_fingerprint.py`) owns the canonical definition and normalises inputs into
//! frames; this layer borrows the arrays zero-copy, converts object arrays with the GIL
//! held, then hashes with the GIL released.

use numpy::PyReadonlyArray1;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBool, PyBytes, PyFloat, PyInt, PyString, PyTuple};

use crate::core::integrity::fingerprint::{
    frame_digest, multiset_frame_digest, sorted_row_digests, Canon, Column, Offsets, Piece,
    TAG_BOOL, TAG_BYTES, TAG_FLOAT, TAG_INT, TAG_NULL, TAG_STR,
};
use crate::core::CoreError;
use crate::py::array::ReadonlyWords;
use crate::py::runtime;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<ObjectColumn>()?;
    m.add_function(wrap_pyfunction!(fingerprint_objects, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint_frame, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint_sorted_rows, m)?)?;
    m.add_function(wrap_pyfunction!(fingerprint_merge_rows, m)?)?;
    Ok(())
}

/// The values of an object column, converted to owned canonical data.
#[pyclass(frozen, module = "mlsentry._core")]
pub struct ObjectColumn {
    tag: &'static str,
    tags: Vec<u8>,
    offsets: Vec<i64>,
    data: Vec<u8>,
    validity: Vec<u8>,
}

#[pymethods]
impl ObjectColumn {
    /// The logical type of the values: "string", "binary", "mixed" or "null".
    #[getter]
    fn tag(&self) -> &'static str {
        self.tag
    }

    fn __len__(&self) -> usize {
        self.tags.len()
    }
}

/// Converts a 1-D numpy object array (str, bytes, int, float, bool, None, NaN and the given
/// null sentinels) into an `ObjectColumn`. `expect="string"` requires str or missing values;
/// `expect="mixed"` tags the column mixed whatever values this part holds.
#[pyfunction]
#[pyo3(signature = (values, nulls, what, expect=None))]
fn fingerprint_objects(
    values: PyReadonlyArray1<'_, Py<PyAny>>,
    nulls: &Bound<'_, PyTuple>,
    what: &str,
    expect: Option<&str>,
) -> PyResult<ObjectColumn> {
    let py = values.py();
    let view = values.as_array();
    let n = view.len();
    let mut tags = Vec::with_capacity(n);
    let mut offsets = Vec::with_capacity(n + 1);
    let mut data = Vec::new();
    offsets.push(0i64);
    for (row, obj) in view.iter().enumerate() {
        if row % 65_536 == 65_535 {
            py.check_signals()?; // Ctrl-C during a long conversion
        }
        let obj = obj.bind(py);
        let tag = if obj.is_none() || nulls.iter().any(|s| s.is(obj)) {
            TAG_NULL
        } else if let Ok(s) = obj.cast::<PyString>() {
            let s = s.to_cow().map_err(|_| {
                CoreError::invalid(format!(
                    "{what}: the string at row {row} is not valid UTF-8 (lone surrogate)"
                ))
            })?;
            data.extend_from_slice(s.as_bytes());
            TAG_STR
        } else if let Ok(b) = obj.cast::<PyBytes>() {
            data.extend_from_slice(b.as_bytes());
            TAG_BYTES
        } else if let Ok(b) = obj.cast::<PyBool>() {
            data.push(u8::from(b.is_true()));
            TAG_BOOL
        } else if obj.is_instance_of::<PyInt>() {
            let v: i128 = obj.extract().map_err(|_| {
                CoreError::invalid(format!(
                    "{what}: the integer at row {row} does not fit in 128 bits"
                ))
            })?;
            data.extend_from_slice(&v.to_le_bytes());
            TAG_INT
        } else if let Ok(f) = obj.cast::<PyFloat>() {
            push_float(f.value(), &mut data)
        } else if let Some(kind) = numpy_scalar_kind(obj)? {
            // numpy scalars are the Python values they stand for: np.int64(1) is 1.
            match kind {
                TAG_BOOL => {
                    data.push(u8::from(obj.is_truthy()?));
                    TAG_BOOL
                }
                TAG_INT => {
                    let v: i128 = obj.extract()?;
                    data.extend_from_slice(&v.to_le_bytes());
                    TAG_INT
                }
                _ => push_float(obj.extract::<f64>()?, &mut data),
            }
        } else {
            return Err(CoreError::InvalidType(format!(
                "{what}: unsupported value of type {} at row {row} (an object column may hold \
                 str, bytes, int, float, bool and missing values: None, NaN, pd.NA, pd.NaT)",
                obj.get_type().name()?
            ))
            .into());
        };
        if expect == Some("string") && tag != TAG_STR && tag != TAG_NULL {
            return Err(CoreError::InvalidType(format!(
                "{what}: a string column holds a value of type {} at row {row}",
                obj.get_type().name()?
            ))
            .into());
        }
        tags.push(tag);
        offsets.push(data.len() as i64);
    }
    let mut seen = [false; 6];
    for &t in &tags {
        seen[usize::from(t)] = true;
    }
    let present: Vec<usize> = (1..6).filter(|&t| seen[t]).collect();
    let tag = match (expect, present.as_slice()) {
        (Some("string"), _) => "string",
        // A column known to be mixed elsewhere (e.g. another part of a Spark DataFrame).
        (Some("mixed"), _) => "mixed",
        (_, []) => "null",
        (_, [t]) if *t == usize::from(TAG_STR) => "string",
        (_, [t]) if *t == usize::from(TAG_BYTES) => "binary",
        _ => "mixed",
    };
    let validity = tags.iter().map(|&t| u8::from(t != TAG_NULL)).collect();
    Ok(ObjectColumn {
        tag,
        tags,
        offsets,
        data,
        validity,
    })
}

fn push_float(v: f64, data: &mut Vec<u8>) -> u8 {
    if v.is_nan() {
        TAG_NULL
    } else {
        data.extend_from_slice(&v.to_le_bytes());
        TAG_FLOAT
    }
}

/// `TAG_BOOL`, `TAG_INT` or `TAG_FLOAT` for a numpy bool, integer or float (at most 64 bits)
/// scalar; `None` for anything else.
fn numpy_scalar_kind(obj: &Bound<'_, PyAny>) -> PyResult<Option<u8>> {
    let ty = obj.get_type();
    if ty.module()?.to_cow()? != "numpy" {
        return Ok(None);
    }
    let name = ty.name()?;
    let name = name.to_cow()?;
    Ok(match name.as_ref() {
        "bool" | "bool_" => Some(TAG_BOOL),
        "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "uint64"
        | "longlong" | "ulonglong" | "intc" | "uintc" => Some(TAG_INT),
        "float16" | "float32" | "float64" => Some(TAG_FLOAT),
        _ => None,
    })
}

/// One piece as borrowed from Python, kept alive while its views are used.
enum Held<'py> {
    Fixed(ReadonlyWords<'py>, usize, Option<PyReadonlyArray1<'py, u8>>),
    Var32(
        PyReadonlyArray1<'py, i32>,
        PyReadonlyArray1<'py, u8>,
        Option<PyReadonlyArray1<'py, u8>>,
    ),
    Var64(
        PyReadonlyArray1<'py, i64>,
        PyReadonlyArray1<'py, u8>,
        Option<PyReadonlyArray1<'py, u8>>,
    ),
    Objects(PyRef<'py, ObjectColumn>),
    Null(usize),
}

struct HeldColumn<'py> {
    header: Vec<u8>,
    pieces: Vec<Held<'py>>,
    canon: Canon,
    unit: usize,
    big_endian: bool,
    nullable: bool,
    items_per_row: usize,
    chunk_items: usize,
}

fn validity<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Option<PyReadonlyArray1<'py, u8>>> {
    if obj.is_none() {
        return Ok(None);
    }
    obj.extract::<PyReadonlyArray1<'py, u8>>()
        .map(Some)
        .map_err(|_| CoreError::InvalidType("validity must be a 1-D uint8 array".into()).into())
}

fn held_piece<'py>(piece: &Bound<'py, PyAny>) -> PyResult<Held<'py>> {
    let kind: String = piece.get_item(0)?.extract()?;
    Ok(match kind.as_str() {
        "fixed" => Held::Fixed(
            ReadonlyWords::extract(&piece.get_item(1)?, "fixed piece")?,
            piece.get_item(2)?.extract()?,
            validity(&piece.get_item(3)?)?,
        ),
        "var" => {
            let offsets = piece.get_item(1)?;
            let data = piece.get_item(2)?.extract::<PyReadonlyArray1<'py, u8>>()?;
            let valid = validity(&piece.get_item(3)?)?;
            if let Ok(o) = offsets.extract::<PyReadonlyArray1<'py, i32>>() {
                Held::Var32(o, data, valid)
            } else {
                Held::Var64(offsets.extract()?, data, valid)
            }
        }
        "objects" => Held::Objects(piece.get_item(1)?.extract()?),
        "null" => Held::Null(piece.get_item(1)?.extract()?),
        other => {
            return Err(CoreError::invalid(format!("unknown piece kind {other:?}")).into());
        }
    })
}

fn piece_view<'a>(held: &'a Held<'_>) -> Piece<'a> {
    match held {
        Held::Fixed(w, item_bytes, v) => Piece::Fixed {
            words: w.view(),
            item_bytes: *item_bytes,
            validity: v.as_ref().map(|v| v.as_array()),
        },
        Held::Var32(o, d, v) => Piece::Var {
            offsets: Offsets::I32(o.as_array()),
            data: d.as_array(),
            validity: v.as_ref().map(|v| v.as_array()),
        },
        Held::Var64(o, d, v) => Piece::Var {
            offsets: Offsets::I64(o.as_array()),
            data: d.as_array(),
            validity: v.as_ref().map(|v| v.as_array()),
        },
        Held::Objects(c) => match c.tag {
            "mixed" => Piece::Tagged {
                tags: &c.tags,
                offsets: &c.offsets,
                data: &c.data,
            },
            "null" => Piece::Null(c.tags.len()),
            _ => Piece::Var {
                offsets: Offsets::I64(ndarray::ArrayView1::from(&c.offsets[..])),
                data: ndarray::ArrayView1::from(&c.data[..]),
                validity: Some(ndarray::ArrayView1::from(&c.validity[..])),
            },
        },
        Held::Null(n) => Piece::Null(*n),
    }
}

/// Parses the column tuples `(header, pieces, canon, unit, big_endian, nullable,
/// items_per_row, chunk_items)` of a frame, borrowing the arrays.
fn held_columns<'py>(columns: &[Bound<'py, PyTuple>]) -> PyResult<Vec<HeldColumn<'py>>> {
    let mut held = Vec::with_capacity(columns.len());
    for c in columns {
        if c.len() != 8 {
            return Err(CoreError::invalid("a column is a tuple of 8 fields").into());
        }
        let canon: String = c.get_item(2)?.extract()?;
        let canon = match canon.as_str() {
            "raw" => Canon::Raw,
            "bool" => Canon::Bool,
            "float" => Canon::Float,
            other => return Err(CoreError::invalid(format!("unknown canon {other:?}")).into()),
        };
        let pieces = c
            .get_item(1)?
            .try_iter()?
            .map(|p| held_piece(&p?))
            .collect::<PyResult<Vec<_>>>()?;
        held.push(HeldColumn {
            header: c.get_item(0)?.extract()?,
            pieces,
            canon,
            unit: c.get_item(3)?.extract()?,
            big_endian: c.get_item(4)?.extract()?,
            nullable: c.get_item(5)?.extract()?,
            items_per_row: c.get_item(6)?.extract()?,
            chunk_items: c.get_item(7)?.extract()?,
        });
    }
    Ok(held)
}

fn column_views<'a>(held: &'a [HeldColumn<'_>]) -> Vec<Column<'a>> {
    held.iter()
        .map(|h| Column {
            header: h.header.clone(),
            pieces: h.pieces.iter().map(piece_view).collect(),
            canon: h.canon,
            unit: h.unit,
            big_endian: h.big_endian,
            nullable: h.nullable,
            items_per_row: h.items_per_row,
            chunk_items: h.chunk_items,
        })
        .collect()
}

/// The digest of a frame built by `mlsentry._fingerprint`, as `"sha256:<hex>"`.
///
/// `columns` holds tuples `(header, pieces, canon, unit, big_endian, nullable,
/// items_per_row, chunk_items)`; a piece is `("fixed", words, item_bytes, validity)`,
/// `("var", offsets, data, validity)`, `("objects", ObjectColumn)` or `("null", n)`.
#[pyfunction]
#[pyo3(signature = (preamble, columns, n_rows, row_order, progress=None))]
fn fingerprint_frame(
    py: Python<'_>,
    preamble: &[u8],
    columns: Vec<Bound<'_, PyTuple>>,
    n_rows: usize,
    row_order: bool,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let held = held_columns(&columns)?;
    let cols = column_views(&held);
    let digest = runtime::run(py, progress, move |p| {
        frame_digest(preamble, &cols, n_rows, row_order, p)
    })?;
    Ok(format!("sha256:{}", hex::encode(digest)))
}

/// The digests of the rows of a frame's columns (tuples as in `fingerprint_frame`), sorted
/// bytewise and concatenated (32 bytes each): one run for `fingerprint_merge_rows`.
#[pyfunction]
#[pyo3(signature = (columns, n_rows, progress=None))]
fn fingerprint_sorted_rows<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyTuple>>,
    n_rows: usize,
    progress: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let held = held_columns(&columns)?;
    let cols = column_views(&held);
    let digests = runtime::run(py, progress, move |p| sorted_row_digests(&cols, n_rows, p))?;
    Ok(PyBytes::new(py, digests.as_flattened()))
}

/// The frame digest without row order, as `"sha256:<hex>"`, from the column headers and
/// runs of sorted row digests (`fingerprint_sorted_rows`), merged as one multiset.
#[pyfunction]
#[pyo3(signature = (preamble, headers, runs, progress=None))]
fn fingerprint_merge_rows(
    py: Python<'_>,
    preamble: &[u8],
    headers: Vec<Vec<u8>>,
    runs: Vec<PyBackedBytes>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let headers: Vec<&[u8]> = headers.iter().map(|h| &h[..]).collect();
    let runs: Vec<&[u8]> = runs.iter().map(|r| &r[..]).collect();
    let digest = runtime::run(py, progress, move |p| {
        multiset_frame_digest(preamble, &headers, &runs, p)
    })?;
    Ok(format!("sha256:{}", hex::encode(digest)))
}
