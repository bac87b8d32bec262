//! Array views the core accepts: elements reinterpreted as native-endian unsigned words of
//! their width (1, 2, 4 or 8 bytes), in any memory layout. The binding layer builds these
//! zero-copy from numpy arrays; `ndarray` handles strides (C, Fortran, sliced, negative).

use ndarray::ArrayViewD;

#[derive(Debug, Clone)]
pub enum Words<'a> {
    U8(ArrayViewD<'a, u8>),
    U16(ArrayViewD<'a, u16>),
    U32(ArrayViewD<'a, u32>),
    U64(ArrayViewD<'a, u64>),
}

impl Words<'_> {
    pub fn shape(&self) -> &[usize] {
        match self {
            Words::U8(a) => a.shape(),
            Words::U16(a) => a.shape(),
            Words::U32(a) => a.shape(),
            Words::U64(a) => a.shape(),
        }
    }

    /// Bytes per element.
    pub fn width(&self) -> usize {
        match self {
            Words::U8(_) => 1,
            Words::U16(_) => 2,
            Words::U32(_) => 4,
            Words::U64(_) => 8,
        }
    }

    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
