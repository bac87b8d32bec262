//! numpy input conversion, written once.
//!
//! Arrays are borrowed read-only (rust-numpy's borrow checker refuses a concurrent writable
//! borrow) and viewed without copying, whatever their strides.

use numpy::PyReadonlyArrayDyn;
use pyo3::prelude::*;

use crate::core::array::Words;
use crate::core::CoreError;

/// A numpy array of unsigned integers (the Python side views any fixed-width dtype as
/// `uint8/16/32/64` of the same width), held borrowed for as long as this value lives.
pub enum ReadonlyWords<'py> {
    U8(PyReadonlyArrayDyn<'py, u8>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    U32(PyReadonlyArrayDyn<'py, u32>),
    U64(PyReadonlyArrayDyn<'py, u64>),
}

impl<'py> ReadonlyWords<'py> {
    pub fn extract(obj: &Bound<'py, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u64>>() {
            return Ok(ReadonlyWords::U64(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u32>>() {
            return Ok(ReadonlyWords::U32(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u16>>() {
            return Ok(ReadonlyWords::U16(a));
        }
        if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, u8>>() {
            return Ok(ReadonlyWords::U8(a));
        }
        Err(CoreError::InvalidType(format!(
            "{what}: expected a numpy array of uint8/16/32/64 words, got {}",
            obj.get_type().name()?
        ))
        .into())
    }

    /// A zero-copy view for the core. Must be taken before releasing the GIL.
    pub fn view(&self) -> Words<'_> {
        match self {
            ReadonlyWords::U8(a) => Words::U8(a.as_array()),
            ReadonlyWords::U16(a) => Words::U16(a.as_array()),
            ReadonlyWords::U32(a) => Words::U32(a.as_array()),
            ReadonlyWords::U64(a) => Words::U64(a.as_array()),
        }
    }
}
