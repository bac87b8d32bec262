//! The hashing engine behind `mlsentry.fingerprint`.
//!
//! The canonical definition (what is hashed, in which order, with which tags) is documented
//! in `python/mlsentry/_fingerprint.py`, which normalises every supported input into a
//! *frame*: a preamble, then columns that each carry a header and a list of pieces. This
//! module only knows how to turn the pieces of a column into canonical bytes and how to
//! digest them:
//!
//! * **items**: a column is a sequence of items (one table cell, one array element). A
//!   fixed-width item is `item_bytes` bytes of memory, read in logical (C) order whatever the
//!   strides, then transformed per `unit` (the scalar width): byte-swapped to little-endian
//!   if stored big-endian, then canonicalised (`Bool`: any non-zero byte becomes 1; `Float`:
//!   every NaN becomes the canonical quiet NaN of its width). A missing fixed-width item
//!   becomes all zero bytes (`Raw`, `Bool`) or the canonical NaN (`Float`). A variable item
//!   is `u64le(len) || bytes` (missing: `u64le(0)`). A tagged item (mixed object column) is
//!   a type byte and its payload (see `TAG_*`).
//! * **ordered digest** of a column: `SHA256(u64le(n_items) || SHA256(chunk_0) || ...)`
//!   where chunk `j` holds items `[j*chunk_items, (j+1)*chunk_items)`; a chunk's bytes are
//!   (only when the column is `nullable`) `u8(has_missing)` and, if it has some, one byte per
//!   item (1 valid, 0 missing), then the canonical bytes of its items. The chunk size is
//!   fixed by the caller, never by the thread count, so the digest is the same on any pool.
//! * **row multiset digest** (row order ignored): row `r` is items
//!   `[r*items_per_row, (r+1)*items_per_row)` of every column; its digest is SHA-256 of, for
//!   each column and each item of the row, `u8(valid)` (nullable columns only) then the
//!   item's canonical bytes. The multiset digest is `SHA256(u64le(n_rows) || sorted row
//!   digests)`.
//! * **frame digest**: `SHA256(preamble || u8(0) || header_1 || digest_1 || ...)` in order,
//!   or `SHA256(preamble || u8(1) || header_1 || ... || header_k || multiset)` without it.

use ndarray::{ArrayView1, ArrayViewD};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::sha256x::{self, LANES};
use crate::core::array::Words;
use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Type bytes of the items of a mixed (tagged) column.
pub const TAG_NULL: u8 = 0;
pub const TAG_BOOL: u8 = 1;
pub const TAG_INT: u8 = 2;
pub const TAG_FLOAT: u8 = 3;
pub const TAG_STR: u8 = 4;
pub const TAG_BYTES: u8 = 5;

/// Bytes checked then hashed at a time on the zero-copy path (fits in L1 cache). It does
/// not change the digest.
const SUB_BLOCK: usize = 16 * 1024;

/// Rows hashed per parallel task when computing the row multiset (at most).
const ROW_BATCH: usize = 16_384;

/// Items encoded at a time when computing the row multiset: rows longer than this are
/// streamed. Neither constant changes the digest.
const ROW_ITEMS: usize = 65_536;

/// How a fixed-width scalar is canonicalised after conversion to little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Canon {
    /// Bytes as they are (integers, datetimes, strings of fixed width).
    Raw,
    /// One byte: 0 or 1.
    Bool,
    /// IEEE float of width `unit` (2, 4 or 8): every NaN becomes the canonical quiet NaN.
    Float,
}

/// Offsets of a variable-width piece (arrow's int32 or int64 offsets; `n_items + 1` of them).
#[derive(Debug, Clone)]
pub enum Offsets<'a> {
    I32(ArrayView1<'a, i32>),
    I64(ArrayView1<'a, i64>),
}

impl Offsets<'_> {
    fn len(&self) -> usize {
        match self {
            Offsets::I32(o) => o.len(),
            Offsets::I64(o) => o.len(),
        }
    }

    fn get(&self, i: usize) -> i64 {
        match self {
            Offsets::I32(o) => i64::from(o[i]),
            Offsets::I64(o) => o[i],
        }
    }
}

/// A run of consecutive items of a column.
#[derive(Debug, Clone)]
pub enum Piece<'a> {
    /// Fixed-width items: the words of the view in C order, `item_bytes` bytes per item.
    Fixed {
        words: Words<'a>,
        item_bytes: usize,
        validity: Option<ArrayView1<'a, u8>>,
    },
    /// Variable-width items: item `i` is `data[offsets[i]..offsets[i+1]]`.
    Var {
        offsets: Offsets<'a>,
        data: ArrayView1<'a, u8>,
        validity: Option<ArrayView1<'a, u8>>,
    },
    /// Items of a mixed column: item `i` has type `tags[i]` and payload
    /// `data[offsets[i]..offsets[i+1]]` (str and bytes are length-prefixed when encoded).
    Tagged {
        tags: &'a [u8],
        offsets: &'a [i64],
        data: &'a [u8],
    },
    /// `n` items of the null type: no bytes at all.
    Null(usize),
}

impl Piece<'_> {
    /// Number of items, after checking that the piece is self-consistent.
    fn items(&self) -> CoreResult<usize> {
        let check_validity = |v: &Option<ArrayView1<'_, u8>>, n: usize| match v {
            Some(v) if v.len() != n => Err(CoreError::invalid(format!(
                "validity has {} entries for {n} items",
                v.len()
            ))),
            _ => Ok(n),
        };
        match self {
            Piece::Fixed {
                words,
                item_bytes,
                validity,
            } => {
                let bytes = words.len() * words.width();
                if *item_bytes == 0 || *item_bytes % words.width() != 0 {
                    return Err(CoreError::invalid(format!(
                        "item size {item_bytes} is not a multiple of the word size {}",
                        words.width()
                    )));
                }
                if bytes % item_bytes != 0 {
                    return Err(CoreError::invalid(
                        "array size is not a whole number of items",
                    ));
                }
                check_validity(validity, bytes / item_bytes)
            }
            Piece::Var {
                offsets,
                data,
                validity,
            } => {
                let n = offsets
                    .len()
                    .checked_sub(1)
                    .ok_or_else(|| CoreError::invalid("offsets must not be empty"))?;
                let mut prev = offsets.get(0);
                for i in 0..=n {
                    let o = offsets.get(i);
                    if o < prev || o < 0 || o as u64 > data.len() as u64 {
                        return Err(CoreError::invalid(format!(
                            "offsets are not increasing within the data ({o} at {i})"
                        )));
                    }
                    prev = o;
                }
                check_validity(validity, n)
            }
            Piece::Tagged {
                tags,
                offsets,
                data,
            } => {
                if offsets.len() != tags.len() + 1 {
                    return Err(CoreError::invalid("tagged offsets do not match the tags"));
                }
                let mut prev = 0i64;
                for &o in offsets.iter() {
                    if o < prev || o as u64 > data.len() as u64 {
                        return Err(CoreError::invalid("tagged offsets are not increasing"));
                    }
                    prev = o;
                }
                Ok(tags.len())
            }
            Piece::Null(n) => Ok(*n),
        }
    }
}

/// One column: pieces concatenated, and how their items are canonicalised and chunked.
#[derive(Debug, Clone)]
pub struct Column<'a> {
    /// Canonical bytes of the column header (name, type tag...), hashed before its digest.
    pub header: Vec<u8>,
    pub pieces: Vec<Piece<'a>>,
    pub canon: Canon,
    /// Scalar width in bytes (1, 2, 4 or 8): the unit of byte swapping and of `Canon::Float`.
    pub unit: usize,
    /// Fixed-width items are stored big-endian.
    pub big_endian: bool,
    /// Chunks carry a validity section and rows a validity byte per item.
    pub nullable: bool,
    /// Items per row (1 for table columns; the size of `a[0]` for an array).
    pub items_per_row: usize,
    /// Items per chunk of the ordered digest.
    pub chunk_items: usize,
}

/// A column with its pieces' item counts checked and their start positions known.
struct Prepared<'c, 'a> {
    col: &'c Column<'a>,
    starts: Vec<usize>,
    n_items: usize,
}

impl<'c, 'a> Prepared<'c, 'a> {
    fn new(col: &'c Column<'a>) -> CoreResult<Self> {
        if !matches!(col.unit, 1 | 2 | 4 | 8) {
            return Err(CoreError::invalid(format!(
                "unit {} is not 1, 2, 4 or 8",
                col.unit
            )));
        }
        if col.canon == Canon::Float && col.unit == 1 {
            return Err(CoreError::invalid("a float unit must be 2, 4 or 8 bytes"));
        }
        if col.chunk_items == 0 {
            return Err(CoreError::invalid("chunk_items must be positive"));
        }
        let mut starts = Vec::with_capacity(col.pieces.len());
        let mut n_items = 0usize;
        for p in &col.pieces {
            if let Piece::Fixed { item_bytes, .. } = p {
                if item_bytes % col.unit != 0 {
                    return Err(CoreError::invalid(
                        "item size is not a multiple of the unit",
                    ));
                }
            }
            starts.push(n_items);
            n_items = n_items
                .checked_add(p.items()?)
                .ok_or_else(|| CoreError::invalid("too many items"))?;
        }
        Ok(Prepared {
            col,
            starts,
            n_items,
        })
    }

    /// Appends the canonical bytes of items `[i0, i1)` to `out` and one validity byte per
    /// item to `valid`; with `ends`, also the end offset (in `out`) of every item.
    fn encode(
        &self,
        i0: usize,
        i1: usize,
        out: &mut Vec<u8>,
        valid: &mut Vec<u8>,
        mut ends: Option<&mut Vec<usize>>,
    ) {
        for (p, piece) in self.col.pieces.iter().enumerate() {
            let start = self.starts[p];
            let end = self.starts.get(p + 1).copied().unwrap_or(self.n_items);
            let (lo, hi) = (i0.max(start), i1.min(end));
            if lo >= hi {
                continue;
            }
            let (lo, hi) = (lo - start, hi - start);
            match piece {
                Piece::Fixed {
                    words,
                    item_bytes,
                    validity,
                } => {
                    let from = out.len();
                    let wpi = item_bytes / words.width();
                    words_bytes(words, lo * wpi, hi * wpi, out);
                    push_validity(validity.as_ref(), lo, hi, valid);
                    let v = &valid[valid.len() - (hi - lo)..];
                    self.fix_items(&mut out[from..], *item_bytes, v);
                    if let Some(e) = ends.as_deref_mut() {
                        e.extend((1..=hi - lo).map(|k| from + k * item_bytes));
                    }
                }
                Piece::Var {
                    offsets,
                    data,
                    validity,
                } => {
                    push_validity(validity.as_ref(), lo, hi, valid);
                    let v0 = valid.len() - (hi - lo);
                    if let Some(data) = data.as_slice() {
                        // Contiguous data (always, from Arrow): one reservation and plain
                        // slices, not an ndarray slice per item.
                        let v = &valid[v0..];
                        let done = match offsets {
                            Offsets::I32(o) => o.as_slice().map(|o| {
                                put_var_items(&o[lo..=hi], data, v, out, ends.as_deref_mut())
                            }),
                            Offsets::I64(o) => o.as_slice().map(|o| {
                                put_var_items(&o[lo..=hi], data, v, out, ends.as_deref_mut())
                            }),
                        };
                        if done.is_some() {
                            continue;
                        }
                    }
                    for i in lo..hi {
                        let ok = valid[v0 + i - lo] != 0;
                        // `items()` checked 0 <= offsets[i] <= offsets[i+1] <= data.len().
                        let (a, b) = (offsets.get(i) as usize, offsets.get(i + 1) as usize);
                        let len = if ok { b - a } else { 0 };
                        out.extend_from_slice(&(len as u64).to_le_bytes());
                        if ok {
                            match data.slice(ndarray::s![a..b]).as_slice() {
                                Some(s) => out.extend_from_slice(s),
                                None => out.extend(data.slice(ndarray::s![a..b]).iter()),
                            }
                        }
                        if let Some(e) = ends.as_deref_mut() {
                            e.push(out.len());
                        }
                    }
                }
                Piece::Tagged {
                    tags,
                    offsets,
                    data,
                } => {
                    for i in lo..hi {
                        let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
                        let payload = &data[a..b];
                        out.push(tags[i]);
                        if matches!(tags[i], TAG_STR | TAG_BYTES) {
                            out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
                        }
                        out.extend_from_slice(payload);
                        valid.push(1);
                        if let Some(e) = ends.as_deref_mut() {
                            e.push(out.len());
                        }
                    }
                }
                Piece::Null(_) => {
                    valid.extend(std::iter::repeat_n(1u8, hi - lo));
                    if let Some(e) = ends.as_deref_mut() {
                        let at = out.len();
                        e.extend(std::iter::repeat_n(at, hi - lo));
                    }
                }
            }
        }
    }

    /// Byte swap, canonicalisation and missing values of freshly copied fixed-width items.
    fn fix_items(&self, bytes: &mut [u8], item_bytes: usize, valid: &[u8]) {
        let unit = self.col.unit;
        if self.col.big_endian && unit > 1 {
            for u in bytes.chunks_exact_mut(unit) {
                u.reverse();
            }
        }
        match self.col.canon {
            Canon::Raw => {}
            Canon::Bool => {
                for b in bytes.iter_mut() {
                    *b = u8::from(*b != 0);
                }
            }
            Canon::Float => canonical_nans(bytes, unit),
        }
        if valid.contains(&0) {
            for (item, &v) in bytes.chunks_exact_mut(item_bytes).zip(valid) {
                if v == 0 {
                    match self.col.canon {
                        Canon::Float => {
                            let nan = canonical_nan(unit);
                            for u in item.chunks_exact_mut(unit) {
                                u.copy_from_slice(&nan[..unit]);
                            }
                        }
                        _ => item.fill(0),
                    }
                }
            }
        }
    }

    /// The raw bytes of items `[i0, i1)` when they are already canonical and contiguous in
    /// memory (one piece, C-contiguous, little-endian, nothing to canonicalise, no missing).
    fn borrowed(&self, i0: usize, i1: usize) -> Option<&'a [u8]> {
        let (p, start) = match self.starts.binary_search(&i0) {
            Ok(p) => (p, i0),
            Err(0) => return None,
            Err(p) => (p - 1, self.starts[p - 1]),
        };
        let p = self.col.pieces.len().min(p);
        let end = self.starts.get(p + 1).copied().unwrap_or(self.n_items);
        if i1 > end {
            return None;
        }
        let Some(Piece::Fixed {
            words,
            item_bytes,
            validity,
        }) = self.col.pieces.get(p)
        else {
            return None;
        };
        if self.col.big_endian && self.col.unit > 1 {
            return None;
        }
        let (lo, hi) = (i0 - start, i1 - start);
        if let Some(v) = validity {
            if v.slice(ndarray::s![lo..hi]).iter().any(|&x| x == 0) {
                return None;
            }
        }
        let all = contiguous_bytes(words)?;
        Some(&all[lo * item_bytes..hi * item_bytes])
    }

    /// Whether borrowed bytes are already canonical (no byte swap needed: see `borrowed`).
    fn is_canonical(&self, bytes: &[u8]) -> bool {
        match self.col.canon {
            Canon::Raw => true,
            Canon::Bool => bytes.iter().fold(0u8, |acc, &b| acc | b) <= 1,
            Canon::Float => !has_noncanonical_nan(bytes, self.col.unit),
        }
    }

    fn chunk_digest(&self, j: usize) -> [u8; 32] {
        let i0 = j * self.col.chunk_items;
        let i1 = (i0 + self.col.chunk_items).min(self.n_items);
        let mut h = Sha256::new();
        if let Some(bytes) = self.borrowed(i0, i1) {
            // Hash then check in L1-sized blocks: memory is read once, at the hash's pace,
            // and the check reads the block from L1.
            if self.col.nullable {
                h.update([0u8]);
            }
            let mut canonical = true;
            for block in bytes.chunks(SUB_BLOCK) {
                h.update(block);
                if !self.is_canonical(block) {
                    canonical = false;
                    break;
                }
            }
            if canonical {
                return h.finalize().into();
            }
            h = Sha256::new();
        }
        let mut out = Vec::new();
        let mut valid = Vec::with_capacity(i1 - i0);
        self.encode(i0, i1, &mut out, &mut valid, None);
        if self.col.nullable {
            if valid.contains(&0) {
                h.update([1u8]);
                h.update(&valid);
            } else {
                h.update([0u8]);
            }
        }
        h.update(&out);
        h.finalize().into()
    }

    /// Items `[i0, i1)` of chunk `j`.
    fn chunk_items(&self, j: usize) -> (usize, usize) {
        let i0 = j * self.col.chunk_items;
        (i0, (i0 + self.col.chunk_items).min(self.n_items))
    }

    /// The message of chunk `j` as `(prefix, bytes)` when its bytes are canonical memory as
    /// they stand (see `borrowed`): the prefix is the validity byte of a nullable column.
    fn plain_chunk(&self, j: usize) -> Option<(&'static [u8], &'a [u8])> {
        let (i0, i1) = self.chunk_items(j);
        let bytes = self.borrowed(i0, i1)?;
        if !bytes.chunks(SUB_BLOCK).all(|b| self.is_canonical(b)) {
            return None;
        }
        Some((if self.col.nullable { &[0u8] } else { &[] }, bytes))
    }

    fn ordered_digest(&self, progress: &Progress) -> CoreResult<[u8; 32]> {
        let n_chunks = self.n_items.div_ceil(self.col.chunk_items);
        let chunks: Vec<[u8; 32]> = (0..n_chunks)
            .into_par_iter()
            .map(|j| {
                progress.check()?;
                let d = self.chunk_digest(j);
                let done = (self.col.chunk_items).min(self.n_items - j * self.col.chunk_items);
                progress.advance(done as u64);
                Ok(d)
            })
            .collect::<CoreResult<_>>()?;
        let mut h = Sha256::new();
        h.update((self.n_items as u64).to_le_bytes());
        for c in &chunks {
            h.update(c);
        }
        Ok(h.finalize().into())
    }
}

/// The canonical quiet NaN of a float width, little-endian, padded to 8 bytes.
fn canonical_nan(unit: usize) -> [u8; 8] {
    let mut out = [0u8; 8];
    match unit {
        2 => out[..2].copy_from_slice(&0x7e00u16.to_le_bytes()),
        4 => out[..4].copy_from_slice(&0x7fc0_0000u32.to_le_bytes()),
        _ => out.copy_from_slice(&0x7ff8_0000_0000_0000u64.to_le_bytes()),
    }
    out
}

fn is_nan_bits(u: &[u8]) -> bool {
    match u.len() {
        2 => {
            let b = u16::from_le_bytes([u[0], u[1]]);
            b & 0x7c00 == 0x7c00 && b & 0x03ff != 0
        }
        4 => {
            let b = u32::from_le_bytes([u[0], u[1], u[2], u[3]]);
            b & 0x7f80_0000 == 0x7f80_0000 && b & 0x007f_ffff != 0
        }
        8 => {
            let mut a = [0u8; 8];
            a.copy_from_slice(u);
            f64::from_le_bytes(a).is_nan()
        }
        _ => false,
    }
}

/// Little-endian float bytes with every NaN replaced by the canonical one.
fn canonical_nans(bytes: &mut [u8], unit: usize) {
    let nan = canonical_nan(unit);
    for u in bytes.chunks_exact_mut(unit) {
        if is_nan_bits(u) {
            u.copy_from_slice(&nan[..unit]);
        }
    }
}

fn has_noncanonical_nan(bytes: &[u8], unit: usize) -> bool {
    // The hot path: a branch-free scan per block, which the compiler vectorises, with an
    // early exit only between blocks.
    const BLOCK: usize = 4096;
    match unit {
        8 => bytes.chunks(BLOCK).any(|block| {
            // Integer arithmetic only (baseline x86-64 has no 64-bit vector compare):
            // bit 63 of `INF - |b|` is set exactly when b is a NaN, and bit 63 of
            // `d | -d` when b differs from the canonical NaN.
            let acc = block.chunks_exact(8).fold(0u64, |acc, u| {
                let mut a = [0u8; 8];
                a.copy_from_slice(u);
                let b = u64::from_le_bytes(a);
                let nan = 0x7ff0_0000_0000_0000u64.wrapping_sub(b & 0x7fff_ffff_ffff_ffff);
                let d = b ^ 0x7ff8_0000_0000_0000;
                acc | (nan & (d | d.wrapping_neg()))
            });
            acc >> 63 != 0
        }),
        4 => bytes.chunks(BLOCK).any(|block| {
            block.chunks_exact(4).fold(false, |acc, u| {
                let b = u32::from_le_bytes([u[0], u[1], u[2], u[3]]);
                acc | ((b & 0x7fff_ffff) > 0x7f80_0000) & (b != 0x7fc0_0000)
            })
        }),
        _ => {
            let nan = canonical_nan(unit);
            bytes
                .chunks_exact(unit)
                .any(|u| is_nan_bits(u) && u != &nan[..unit])
        }
    }
}

/// Appends variable items as `u64le(len) || bytes` (a missing item: `u64le(0)`): item `i`
/// is `data[offs[i]..offs[i + 1]]`, valid when `valid[i] != 0`; with `ends`, also the end
/// offset (in `out`) of every item. `Piece::items` checked that the offsets increase within
/// the data.
fn put_var_items<O: Copy + Into<i64>>(
    offs: &[O],
    data: &[u8],
    valid: &[u8],
    out: &mut Vec<u8>,
    mut ends: Option<&mut Vec<usize>>,
) {
    let at = |i: usize| offs[i].into() as usize;
    let n = offs.len().saturating_sub(1);
    if n == 0 {
        return;
    }
    out.reserve(n * 8 + (at(n) - at(0)));
    for (i, &ok) in valid.iter().enumerate().take(n) {
        if ok != 0 {
            let item = &data[at(i)..at(i + 1)];
            out.extend_from_slice(&(item.len() as u64).to_le_bytes());
            out.extend_from_slice(item);
        } else {
            out.extend_from_slice(&0u64.to_le_bytes());
        }
        if let Some(e) = ends.as_deref_mut() {
            e.push(out.len());
        }
    }
}

fn push_validity(v: Option<&ArrayView1<'_, u8>>, lo: usize, hi: usize, valid: &mut Vec<u8>) {
    match v {
        Some(v) => valid.extend(
            v.slice(ndarray::s![lo..hi])
                .iter()
                .map(|&x| u8::from(x != 0)),
        ),
        None => valid.extend(std::iter::repeat_n(1u8, hi - lo)),
    }
}

/// A word type whose memory bytes can be appended.
trait Word: Copy {
    const WIDTH: usize;
    fn put(self, out: &mut Vec<u8>);
    /// Writes the memory bytes into `dst` (exactly `WIDTH` bytes long).
    fn write(self, dst: &mut [u8]);
}

macro_rules! word {
    ($t:ty) => {
        impl Word for $t {
            const WIDTH: usize = std::mem::size_of::<$t>();
            #[inline]
            fn put(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_ne_bytes());
            }
            #[inline]
            fn write(self, dst: &mut [u8]) {
                dst.copy_from_slice(&self.to_ne_bytes());
            }
        }
    };
}
word!(u8);
word!(u16);
word!(u32);
word!(u64);

/// The memory bytes of a C-contiguous view (no copy).
fn contiguous_bytes<'a>(words: &Words<'a>) -> Option<&'a [u8]> {
    fn cast<'a, T>(v: &ArrayViewD<'a, T>) -> Option<&'a [u8]> {
        let s: &'a [T] = v.to_slice()?;
        // SAFETY: `T` is one of u8/u16/u32/u64: no padding, every byte initialised. The
        // byte slice covers exactly the memory of `s` and borrows it for the same lifetime.
        Some(unsafe {
            std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s))
        })
    }
    match words {
        Words::U8(a) => cast(a),
        Words::U16(a) => cast(a),
        Words::U32(a) => cast(a),
        Words::U64(a) => cast(a),
    }
}

/// Appends the memory bytes of words `[k0, k1)` of the view in C order, whatever its
/// strides.
fn words_bytes(words: &Words<'_>, k0: usize, k1: usize, out: &mut Vec<u8>) {
    if let Some(all) = contiguous_bytes(words) {
        let w = words.width();
        out.extend_from_slice(&all[k0 * w..k1 * w]);
        return;
    }
    match words {
        Words::U8(a) => strided_words(a, k0, k1, out),
        Words::U16(a) => strided_words(a, k0, k1, out),
        Words::U32(a) => strided_words(a, k0, k1, out),
        Words::U64(a) => strided_words(a, k0, k1, out),
    }
}

/// Words `[k0, k1)` (flat C-order positions) of a view with arbitrary strides. A 2-D view
/// whose rows are its long stride (Fortran order) is copied by column blocks, so memory is
/// read sequentially.
fn strided_words<T: Word>(a: &ArrayViewD<'_, T>, k0: usize, k1: usize, out: &mut Vec<u8>) {
    let (shape, strides) = (a.shape(), a.strides());
    if shape.len() == 2 && shape[1] > 1 && strides[0].unsigned_abs() < strides[1].unsigned_abs() {
        let m = shape[1];
        let (r0, r1) = (k0.div_ceil(m), k1 / m);
        if r0 < r1 {
            lane_words(a, k0, r0 * m, out);
            let base = out.len();
            out.resize(base + (r1 - r0) * m * T::WIDTH, 0);
            let dst = &mut out[base..];
            for (c, column) in a.axis_iter(ndarray::Axis(1)).enumerate() {
                for (r, &x) in column.slice(ndarray::s![r0..r1]).iter().enumerate() {
                    let at = (r * m + c) * T::WIDTH;
                    x.write(&mut dst[at..at + T::WIDTH]);
                }
            }
            lane_words(a, r1 * m, k1, out);
            return;
        }
    }
    lane_words(a, k0, k1, out);
}

/// Words `[k0, k1)` of a view with arbitrary strides: the innermost axis is walked as a
/// 1-D lane, the outer axes by an odometer.
fn lane_words<T: Word>(a: &ArrayViewD<'_, T>, k0: usize, k1: usize, out: &mut Vec<u8>) {
    if k0 >= k1 {
        return;
    }
    let shape = a.shape();
    let nd = shape.len();
    if nd == 0 {
        if let Some(&x) = a.first() {
            x.put(out);
        }
        return;
    }
    let inner = shape[nd - 1];
    // Multi-index of the lane holding word k0.
    let mut lane = k0 / inner;
    let mut idx = vec![0usize; nd];
    for d in (0..nd - 1).rev() {
        idx[d] = lane % shape[d];
        lane /= shape[d];
    }
    let mut pos = k0 % inner;
    let mut remaining = k1 - k0;
    while remaining > 0 {
        let take = (inner - pos).min(remaining);
        let mut view = a.view();
        for &i in idx.iter().take(nd - 1) {
            view.index_axis_inplace(ndarray::Axis(0), i);
        }
        for &x in view.slice(ndarray::s![pos..pos + take]).iter() {
            x.put(out);
        }
        remaining -= take;
        pos = 0;
        // Advance the odometer over the outer axes.
        for d in (0..nd - 1).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Hashes encoded items `[k0, k1)` (positions in `valid` and `ends`): the validity byte of
/// each item for nullable columns, then its bytes.
fn hash_items(
    h: &mut Sha256,
    nullable: bool,
    (out, valid, ends): (&[u8], &[u8], &[usize]),
    k0: usize,
    k1: usize,
) {
    let start = |k: usize| if k == 0 { 0 } else { ends[k - 1] };
    if k0 >= k1 {
        return;
    }
    if !nullable {
        h.update(&out[start(k0)..ends[k1 - 1]]);
        return;
    }
    for k in k0..k1 {
        h.update([valid[k]]);
        h.update(&out[start(k)..ends[k]]);
    }
}

/// The digest of row `r` when rows are long: each column's items are encoded and hashed
/// `ROW_ITEMS` at a time, so memory stays bounded.
fn streamed_row_digest(cols: &[Prepared<'_, '_>], r: usize) -> [u8; 32] {
    let mut h = Sha256::new();
    let (mut out, mut valid, mut ends) = (Vec::new(), Vec::new(), Vec::new());
    for c in cols {
        let ipr = c.col.items_per_row;
        let (mut k, end) = (r * ipr, (r + 1) * ipr);
        while k < end {
            let k1 = (k + ROW_ITEMS).min(end);
            out.clear();
            valid.clear();
            ends.clear();
            c.encode(k, k1, &mut out, &mut valid, Some(&mut ends));
            hash_items(&mut h, c.col.nullable, (&out, &valid, &ends), 0, k1 - k);
            k = k1;
        }
    }
    h.finalize().into()
}

/// The digest of every row, in row order.
fn row_digests_of(
    cols: &[Prepared<'_, '_>],
    n_rows: usize,
    progress: &Progress,
) -> CoreResult<Vec<[u8; 32]>> {
    let per_row: usize = cols.iter().map(|c| c.col.items_per_row).sum();
    // Batches of about ROW_ITEMS items (at least one row, at most ROW_BATCH rows).
    let batch = (ROW_ITEMS / per_row.max(1)).clamp(1, ROW_BATCH);
    let n_batches = n_rows.div_ceil(batch);
    let batches: Vec<Vec<[u8; 32]>> = (0..n_batches)
        .into_par_iter()
        .map(|b| {
            progress.check()?;
            let r0 = b * batch;
            let r1 = (r0 + batch).min(n_rows);
            if per_row > ROW_ITEMS {
                let digests = (r0..r1).map(|r| streamed_row_digest(cols, r)).collect();
                progress.advance((r1 - r0) as u64);
                return Ok(digests);
            }
            let enc: Vec<(Vec<u8>, Vec<u8>, Vec<usize>)> = cols
                .iter()
                .map(|c| {
                    let ipr = c.col.items_per_row;
                    let (mut out, mut valid, mut ends) = (Vec::new(), Vec::new(), Vec::new());
                    c.encode(r0 * ipr, r1 * ipr, &mut out, &mut valid, Some(&mut ends));
                    (out, valid, ends)
                })
                .collect();
            let mut digests = Vec::with_capacity(r1 - r0);
            for r in 0..r1 - r0 {
                let mut h = Sha256::new();
                for (c, (out, valid, ends)) in cols.iter().zip(&enc) {
                    let ipr = c.col.items_per_row;
                    let items = (&out[..], &valid[..], &ends[..]);
                    hash_items(&mut h, c.col.nullable, items, r * ipr, (r + 1) * ipr);
                }
                digests.push(h.finalize().into());
            }
            progress.advance((r1 - r0) as u64);
            Ok(digests)
        })
        .collect::<CoreResult<_>>()?;
    Ok(batches.into_iter().flatten().collect())
}

/// The row multiset digest: `SHA256(u64le(n_rows) || sorted row digests)`.
fn multiset_digest(
    cols: &[Prepared<'_, '_>],
    n_rows: usize,
    progress: &Progress,
) -> CoreResult<[u8; 32]> {
    let mut all = row_digests_of(cols, n_rows, progress)?;
    all.par_sort_unstable();
    let mut h = Sha256::new();
    h.update((n_rows as u64).to_le_bytes());
    for d in &all {
        h.update(d);
    }
    Ok(h.finalize().into())
}

/// Checks that each column holds `n_rows` rows.
fn check_rows(prepared: &[Prepared<'_, '_>], n_rows: usize) -> CoreResult<()> {
    for p in prepared {
        let expected = n_rows.checked_mul(p.col.items_per_row);
        if expected != Some(p.n_items) {
            return Err(CoreError::invalid(format!(
                "a column has {} items, expected {n_rows} rows of {}",
                p.n_items, p.col.items_per_row
            )));
        }
    }
    Ok(())
}

/// The digests of the rows of a frame's columns (see the module documentation), sorted
/// bytewise: one part of the row multiset, to be combined with the others by
/// [`multiset_frame_digest`]. Lets a frame split over machines be digested without moving
/// its rows.
pub fn sorted_row_digests(
    columns: &[Column<'_>],
    n_rows: usize,
    progress: &Progress,
) -> CoreResult<Vec<[u8; 32]>> {
    let prepared: Vec<Prepared<'_, '_>> = columns
        .iter()
        .map(Prepared::new)
        .collect::<CoreResult<_>>()?;
    check_rows(&prepared, n_rows)?;
    progress.add_total(n_rows as u64);
    let mut all = row_digests_of(&prepared, n_rows, progress)?;
    all.par_sort_unstable();
    Ok(all)
}

/// The frame digest without row order, from the rows' digests given as runs that are each
/// sorted bytewise (concatenated 32-byte digests, as [`sorted_row_digests`] gives them):
/// `SHA256(preamble || u8(1) || headers... || M)` where `M` hashes the row count and the
/// runs merged in order, streamed (no copy of the digests).
pub fn multiset_frame_digest(
    preamble: &[u8],
    headers: &[&[u8]],
    runs: &[&[u8]],
    progress: &Progress,
) -> CoreResult<[u8; 32]> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    let mut n_rows = 0u64;
    for (i, r) in runs.iter().enumerate() {
        if r.len() % 32 != 0 {
            return Err(CoreError::invalid(format!(
                "run {i} has {} bytes, not a whole number of 32-byte digests",
                r.len()
            )));
        }
        n_rows += (r.len() / 32) as u64;
    }
    let digest_at = |run: &[u8], k: usize| -> [u8; 32] {
        let mut d = [0u8; 32];
        d.copy_from_slice(&run[32 * k..32 * (k + 1)]);
        d
    };
    let mut m = Sha256::new();
    m.update(n_rows.to_le_bytes());
    // Min-heap of (next digest, run, position in the run).
    let mut heap: BinaryHeap<Reverse<([u8; 32], usize, usize)>> = runs
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.is_empty())
        .map(|(i, r)| Reverse((digest_at(r, 0), i, 0)))
        .collect();
    let mut merged = 0u64;
    while let Some(Reverse((d, i, k))) = heap.pop() {
        m.update(d);
        merged += 1;
        if merged.is_multiple_of(1 << 16) {
            progress.check()?;
        }
        let run = runs[i];
        if 32 * (k + 2) <= run.len() {
            let next = digest_at(run, k + 1);
            if next < d {
                return Err(CoreError::invalid(format!(
                    "run {i} is not sorted (digest {} is smaller than the one before)",
                    k + 1
                )));
            }
            heap.push(Reverse((next, i, k + 1)));
        }
    }
    let mut h = Sha256::new();
    h.update(preamble);
    h.update([1u8]);
    for header in headers {
        h.update(header);
    }
    h.update(m.finalize());
    Ok(h.finalize().into())
}

/// The ordered digests of the columns, as `Prepared::ordered_digest` gives them, with the
/// chunks of all columns hashed `LANES` at a time on one core (`sha256x`): a table's
/// columns are chunks of the same size side by side, and interleaving the SHA rounds of
/// three messages hashes about 1.6x as fast as one. A chunk that is not canonical memory
/// as it stands is encoded and hashed alone, as before; the digests are the same.
fn ordered_digests_side_by_side(
    prepared: &[Prepared<'_, '_>],
    progress: &Progress,
) -> CoreResult<Vec<[u8; 32]>> {
    let jobs: Vec<(usize, usize)> = prepared
        .iter()
        .enumerate()
        .flat_map(|(c, p)| (0..p.n_items.div_ceil(p.col.chunk_items)).map(move |j| (c, j)))
        .collect();
    let chunks: Vec<[u8; 32]> = jobs
        .par_chunks(LANES)
        .map(|group| {
            progress.check()?;
            let mut out = vec![[0u8; 32]; group.len()];
            let mut plain = Vec::with_capacity(group.len());
            for (slot, &(c, j)) in group.iter().enumerate() {
                match prepared[c].plain_chunk(j) {
                    Some(msg) if msg.0.len() + msg.1.len() >= 128 => plain.push((slot, msg)),
                    _ => out[slot] = prepared[c].chunk_digest(j),
                }
            }
            let messages: Vec<(&[u8], &[u8])> = plain.iter().map(|&(_, m)| m).collect();
            for (&(slot, _), d) in plain.iter().zip(sha256_side_by_side(&messages)) {
                out[slot] = d;
            }
            for &(c, j) in group {
                let (i0, i1) = prepared[c].chunk_items(j);
                progress.advance((i1 - i0) as u64);
            }
            Ok(out)
        })
        .collect::<CoreResult<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    let mut at = 0;
    Ok(prepared
        .iter()
        .map(|p| {
            let n = p.n_items.div_ceil(p.col.chunk_items);
            let mut h = Sha256::new();
            h.update((p.n_items as u64).to_le_bytes());
            for c in &chunks[at..at + n] {
                h.update(c);
            }
            at += n;
            h.finalize().into()
        })
        .collect())
}

/// SHA-256 of each message `prefix || bytes` (each at least two blocks long), the messages
/// hashed side by side (`sha256x::absorb`).
fn sha256_side_by_side(messages: &[(&[u8], &[u8])]) -> Vec<[u8; 32]> {
    let mut streams = vec![sha256x::Stream::default(); messages.len()];
    // The first block: the prefix and the first bytes; then the whole blocks after it.
    let mut first = vec![[0u8; 64]; messages.len()];
    let mut rest = Vec::with_capacity(messages.len());
    for ((prefix, bytes), block) in messages.iter().zip(first.iter_mut()) {
        let cut = 64 - prefix.len();
        block[..prefix.len()].copy_from_slice(prefix);
        block[prefix.len()..].copy_from_slice(&bytes[..cut]);
        rest.push(&bytes[cut..]);
    }
    let firsts: Vec<&[u8]> = first.iter().map(|b| &b[..]).collect();
    let wholes: Vec<&[u8]> = rest.iter().map(|r| &r[..r.len() / 64 * 64]).collect();
    {
        let mut refs: Vec<&mut sha256x::Stream> = streams.iter_mut().collect();
        sha256x::absorb(&mut refs, &firsts);
        sha256x::absorb(&mut refs, &wholes);
    }
    streams
        .into_iter()
        .zip(&rest)
        .map(|(s, r)| s.finish(&r[r.len() / 64 * 64..]))
        .collect()
}

/// The digest of a frame (see the module documentation). `n_rows` is only used without
/// row order, where every column must hold `n_rows * items_per_row` items.
pub fn frame_digest(
    preamble: &[u8],
    columns: &[Column<'_>],
    n_rows: usize,
    row_order: bool,
    progress: &Progress,
) -> CoreResult<[u8; 32]> {
    let prepared: Vec<Prepared<'_, '_>> = columns
        .iter()
        .map(Prepared::new)
        .collect::<CoreResult<_>>()?;
    let mut h = Sha256::new();
    h.update(preamble);
    if row_order {
        progress.add_total(prepared.iter().map(|p| p.n_items as u64).sum());
        let digests = if sha256x::interleaved() {
            ordered_digests_side_by_side(&prepared, progress)?
        } else {
            prepared
                .par_iter()
                .map(|p| p.ordered_digest(progress))
                .collect::<CoreResult<_>>()?
        };
        h.update([0u8]);
        for (c, d) in columns.iter().zip(&digests) {
            h.update(&c.header);
            h.update(d);
        }
    } else {
        check_rows(&prepared, n_rows)?;
        progress.add_total(n_rows as u64);
        let m = multiset_digest(&prepared, n_rows, progress)?;
        h.update([1u8]);
        for c in columns {
            h.update(&c.header);
        }
        h.update(m);
    }
    Ok(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, ArrayD, IxDyn, ShapeBuilder};

    fn sha(parts: &[&[u8]]) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    fn fixed<'a>(words: Words<'a>, item_bytes: usize) -> Piece<'a> {
        Piece::Fixed {
            words,
            item_bytes,
            validity: None,
        }
    }

    fn column<'a>(pieces: Vec<Piece<'a>>, canon: Canon, unit: usize) -> Column<'a> {
        Column {
            header: b"h".to_vec(),
            pieces,
            canon,
            unit,
            big_endian: false,
            nullable: false,
            items_per_row: 1,
            chunk_items: 4,
        }
    }

    fn digest(cols: &[Column<'_>], n_rows: usize, row_order: bool) -> [u8; 32] {
        frame_digest(b"pre", cols, n_rows, row_order, &Progress::new()).unwrap()
    }

    #[test]
    fn hand_computed_small_column() {
        let a = Array1::from(vec![1u64, 2, 3, 4, 5]).into_dyn();
        let col = column(vec![fixed(Words::U64(a.view()), 8)], Canon::Raw, 8);
        let bytes: Vec<u8> = (1u64..=5).flat_map(|x| x.to_le_bytes()).collect();
        let c0 = sha(&[&bytes[..32]]);
        let c1 = sha(&[&bytes[32..]]);
        let d = sha(&[&5u64.to_le_bytes(), &c0, &c1]);
        let expected = sha(&[b"pre", &[0], b"h", &d]);
        assert_eq!(digest(&[col], 5, true), expected);
    }

    #[test]
    fn layout_does_not_matter() {
        let c = Array2::from_shape_fn((3, 5), |(i, j)| (i * 10 + j) as u32);
        let f = Array2::from_shape_fn((3, 5).f(), |(i, j)| (i * 10 + j) as u32);
        let big = Array2::from_shape_fn((6, 10), |(i, j)| ((i / 2) * 10 + j / 2) as u32);
        let strided = big.slice(ndarray::s![..;2, ..;2]);
        let mut rev = Array2::from_shape_fn((3, 5), |(i, j)| ((2 - i) * 10 + (4 - j)) as u32);
        rev.invert_axis(ndarray::Axis(0));
        rev.invert_axis(ndarray::Axis(1));
        let ds: Vec<[u8; 32]> = [c.view(), f.view(), strided, rev.view()]
            .into_iter()
            .map(|v| {
                let col = column(vec![fixed(Words::U32(v.into_dyn()), 4)], Canon::Raw, 4);
                digest(&[col], 3, true)
            })
            .collect();
        assert!(ds.iter().all(|d| d == &ds[0]));
    }

    #[test]
    fn fortran_order_blocks_match_c_order_with_partial_rows() {
        let c = Array2::from_shape_fn((37, 5), |(i, j)| (i * 100 + j) as u64);
        let f = Array2::from_shape_fn((37, 5).f(), |(i, j)| (i * 100 + j) as u64);
        let mut rev = f.clone();
        rev.invert_axis(ndarray::Axis(0));
        let rev_c = Array2::from_shape_fn((37, 5), |(i, j)| ((36 - i) * 100 + j) as u64);
        for chunk in [1, 3, 7, 12, 1000] {
            let d = |v: ndarray::ArrayView2<'_, u64>| {
                let mut col = column(vec![fixed(Words::U64(v.into_dyn()), 8)], Canon::Raw, 8);
                col.chunk_items = chunk;
                digest(&[col], 37, true)
            };
            assert_eq!(d(c.view()), d(f.view()), "chunk {chunk}");
            assert_eq!(d(rev.view()), d(rev_c.view()), "chunk {chunk}");
        }
    }

    #[test]
    fn big_endian_and_nan_payloads_are_canonical() {
        let le = Array1::from(vec![1.5f64.to_bits(), f64::NAN.to_bits()]).into_dyn();
        let be = Array1::from(vec![
            1.5f64.to_bits().swap_bytes(),
            (f64::NAN.to_bits() | 1).swap_bytes(),
        ])
        .into_dyn();
        let a = column(vec![fixed(Words::U64(le.view()), 8)], Canon::Float, 8);
        let mut b = column(vec![fixed(Words::U64(be.view()), 8)], Canon::Float, 8);
        b.big_endian = true;
        assert_eq!(digest(&[a], 2, true), digest(&[b], 2, true));
    }

    #[test]
    fn late_nan_payload_falls_back_to_the_canonical_copy() {
        let mut bits: Vec<u64> = (0..10_000).map(|i| (i as f64).to_bits()).collect();
        bits[9_000] = f64::NAN.to_bits();
        let canonical = Array1::from(bits.clone()).into_dyn();
        bits[9_000] = 0xfff0_0000_0000_0001; // a negative signalling NaN
        let payload = Array1::from(bits).into_dyn();
        let mk = |a: &ArrayD<u64>| {
            let mut c = column(vec![fixed(Words::U64(a.view()), 8)], Canon::Float, 8);
            c.chunk_items = 10_000; // 80 kB: several sub-blocks in one chunk
            digest(&[c], 10_000, true)
        };
        assert_eq!(mk(&canonical), mk(&payload));
    }

    #[test]
    fn chunks_hashed_side_by_side_match_one_at_a_time() {
        // Chunks of 2,999 f64 (23,992 bytes: more than a sub-block, whole 64-byte blocks and
        // a 56-byte tail), a short last chunk, NaN payloads in a later sub-block of one chunk
        // and in the tail of another: the digest is the definition's, computed one chunk at
        // a time with `sha2`, on any pool (1, 2 or 3 threads group the chunks differently).
        let (per, n) = (2999, 7 * 2999 + 333);
        let mut v: Vec<f64> = (0..n).map(|i| i as f64 * 0.5 - 7.0).collect();
        let mut bits: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
        for at in [per + 2500, 4 * per + 2995] {
            v[at] = f64::NAN;
            bits[at] = 0xfff0_0000_0000_0001;
        }
        let a = Array1::from(bits).into_dyn();
        let mut col = column(vec![fixed(Words::U64(a.view()), 8)], Canon::Float, 8);
        col.chunk_items = per;
        let canon: Vec<u8> = v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect();
        let chunks: Vec<[u8; 32]> = canon.chunks(per * 8).map(|c| sha(&[c])).collect();
        let len = (n as u64).to_le_bytes();
        let mut parts: Vec<&[u8]> = vec![&len];
        parts.extend(chunks.iter().map(|c| &c[..]));
        let expected = sha(&[b"pre", &[0], b"h", &sha(&parts)]);
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool.install(|| digest(std::slice::from_ref(&col), n, true));
            assert_eq!(got, expected, "{threads} threads");
        }
    }

    #[test]
    fn digest_does_not_depend_on_threads() {
        let v: Vec<u64> = (0..10_000).collect();
        let a = Array1::from(v).into_dyn();
        let col = column(vec![fixed(Words::U64(a.view()), 8)], Canon::Raw, 8);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let d1 = one.install(|| digest(std::slice::from_ref(&col), 10_000, true));
        let d3 = three.install(|| digest(std::slice::from_ref(&col), 10_000, true));
        assert_eq!(d1, d3);
        let u1 = one.install(|| digest(std::slice::from_ref(&col), 10_000, false));
        let u3 = three.install(|| digest(std::slice::from_ref(&col), 10_000, false));
        assert_eq!(u1, u3);
    }

    #[test]
    fn chunks_side_by_side_match_one_at_a_time() {
        // Columns of several chunks, with and without a validity byte, lengths that leave
        // partial blocks and chunks, a chunk too short for the side-by-side path and one
        // with a NaN payload (encoded, not hashed as it stands).
        let mut floats: Vec<f64> = (0..1_003).map(|i| (i as f64).sqrt() - 9.5).collect();
        floats[700] = f64::from_bits(0x7ff8_0000_0000_0001);
        let a = Array1::from(floats).into_dyn();
        let b = Array1::from((0..517u32).collect::<Vec<_>>()).into_dyn();
        let t = Array1::from(vec![3u16; 9]).into_dyn();
        let mut cols = Vec::new();
        let bits = a.mapv(f64::to_bits);
        for (nullable, chunk_items) in [(false, 100), (true, 100), (true, 37), (false, 1_003)] {
            let mut c = column(vec![fixed(Words::U64(bits.view()), 8)], Canon::Float, 8);
            c.nullable = nullable;
            c.chunk_items = chunk_items;
            cols.push(c);
            let mut c = column(vec![fixed(Words::U32(b.view()), 4)], Canon::Raw, 4);
            c.nullable = !nullable;
            c.chunk_items = chunk_items;
            cols.push(c);
        }
        cols.push(column(vec![fixed(Words::U16(t.view()), 2)], Canon::Raw, 2));
        let prepared: Vec<Prepared<'_, '_>> =
            cols.iter().map(|c| Prepared::new(c).unwrap()).collect();
        let progress = Progress::new();
        let one_by_one: Vec<[u8; 32]> = prepared
            .iter()
            .map(|p| p.ordered_digest(&progress).unwrap())
            .collect();
        let side_by_side = ordered_digests_side_by_side(&prepared, &progress).unwrap();
        assert_eq!(side_by_side, one_by_one);
        // And the messages themselves: plain SHA-256.
        let data: Vec<u8> = (0..1_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let msgs: Vec<(&[u8], &[u8])> =
            vec![(&[0u8], &data[..130]), (&[], &data), (&[0u8], &data[..999])];
        let got = sha256_side_by_side(&msgs);
        for ((prefix, bytes), d) in msgs.iter().zip(got) {
            assert_eq!(d, sha(&[prefix, bytes]));
        }
    }

    #[test]
    fn missing_values_are_zeroed_and_recorded() {
        let a = Array1::from(vec![7u32, 8, 9]).into_dyn();
        let b = Array1::from(vec![7u32, 0, 9]).into_dyn();
        let v = Array1::from(vec![1u8, 0, 1]);
        fn mk<'a>(x: &'a ArrayD<u32>, v: Option<ArrayView1<'a, u8>>) -> Column<'a> {
            let mut c = column(
                vec![Piece::Fixed {
                    words: Words::U32(x.view()),
                    item_bytes: 4,
                    validity: v,
                }],
                Canon::Raw,
                4,
            );
            c.nullable = true;
            c
        }
        let vv = Some(v.view());
        assert_eq!(
            digest(&[mk(&a, vv)], 3, true),
            digest(&[mk(&b, vv)], 3, true)
        );
        assert_ne!(
            digest(&[mk(&b, None)], 3, true),
            digest(&[mk(&b, vv)], 3, true)
        );
    }

    #[test]
    fn var_pieces_and_chunks_across_pieces() {
        let data = Array1::from(b"abcdef".to_vec());
        let o1 = Array1::from(vec![0i32, 1, 3]);
        let o2 = Array1::from(vec![3i64, 3, 6]);
        let whole = Array1::from(vec![0i64, 1, 3, 3, 6]);
        let split = column(
            vec![
                Piece::Var {
                    offsets: Offsets::I32(o1.view()),
                    data: data.view(),
                    validity: None,
                },
                Piece::Var {
                    offsets: Offsets::I64(o2.view()),
                    data: data.view(),
                    validity: None,
                },
            ],
            Canon::Raw,
            1,
        );
        let one = column(
            vec![Piece::Var {
                offsets: Offsets::I64(whole.view()),
                data: data.view(),
                validity: None,
            }],
            Canon::Raw,
            1,
        );
        assert_eq!(
            digest(std::slice::from_ref(&split), 4, true),
            digest(std::slice::from_ref(&one), 4, true)
        );
        assert_eq!(digest(&[split], 4, false), digest(&[one], 4, false));
    }

    #[test]
    fn bad_offsets_are_an_error_not_a_panic() {
        let data = Array1::from(b"ab".to_vec());
        let o = Array1::from(vec![0i32, 5]);
        let col = column(
            vec![Piece::Var {
                offsets: Offsets::I32(o.view()),
                data: data.view(),
                validity: None,
            }],
            Canon::Raw,
            1,
        );
        assert!(frame_digest(b"", &[col], 1, true, &Progress::new()).is_err());
    }

    #[test]
    fn long_rows_are_streamed_with_the_same_digest() {
        let n = 2 * ROW_ITEMS + 3;
        let a = Array2::from_shape_fn((2, n), |(i, j)| (i * 7 + j) as u32);
        let valid = Array1::from_shape_fn(2 * n, |k| u8::from(k % 5 != 0));
        let mut col = column(
            vec![Piece::Fixed {
                words: Words::U32(a.view().into_dyn()),
                item_bytes: 4,
                validity: Some(valid.view()),
            }],
            Canon::Raw,
            4,
        );
        col.items_per_row = n;
        col.nullable = true;
        let row = |i: usize| {
            let mut bytes = Vec::new();
            for j in 0..n {
                let ok = !(i * n + j).is_multiple_of(5);
                bytes.push(u8::from(ok));
                let v = if ok { (i * 7 + j) as u32 } else { 0 };
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            sha(&[&bytes])
        };
        let mut rows = [row(0), row(1)];
        rows.sort();
        let m = sha(&[&2u64.to_le_bytes(), &rows[0], &rows[1]]);
        assert_eq!(digest(&[col], 2, false), sha(&[b"pre", &[1], b"h", &m]));
    }

    #[test]
    fn row_multiset_ignores_order_but_counts_duplicates() {
        let mk = |v: Vec<u16>| Array1::from(v).into_dyn();
        let (a, b, c, d) = (
            mk(vec![1, 2, 3]),
            mk(vec![3, 1, 2]),
            mk(vec![1, 1, 2]),
            mk(vec![1, 2, 2]),
        );
        let dig = |x: &ArrayD<u16>| {
            digest(
                &[column(vec![fixed(Words::U16(x.view()), 2)], Canon::Raw, 2)],
                3,
                false,
            )
        };
        assert_eq!(dig(&a), dig(&b));
        assert_ne!(dig(&c), dig(&d));
        assert_ne!(dig(&a), dig(&c));
    }

    #[test]
    fn zero_dimensional_and_empty_views() {
        let s = ArrayD::from_shape_vec(IxDyn(&[]), vec![5u8]).unwrap();
        let col = column(vec![fixed(Words::U8(s.view()), 1)], Canon::Raw, 1);
        let bytes = sha(&[&[5u8]]);
        let d = sha(&[&1u64.to_le_bytes(), &bytes]);
        assert_eq!(digest(&[col], 1, true), sha(&[b"pre", &[0], b"h", &d]));
        let e = ArrayD::<u8>::zeros(IxDyn(&[0, 5]));
        let col = column(vec![fixed(Words::U8(e.view()), 1)], Canon::Raw, 1);
        let d = sha(&[&0u64.to_le_bytes()]);
        assert_eq!(digest(&[col], 0, true), sha(&[b"pre", &[0], b"h", &d]));
    }

    #[test]
    fn tagged_items() {
        let tags = [TAG_STR, TAG_NULL, TAG_INT];
        let offsets = [0i64, 2, 2, 18];
        let mut data = b"hi".to_vec();
        data.extend_from_slice(&7i128.to_le_bytes());
        let col = column(
            vec![Piece::Tagged {
                tags: &tags,
                offsets: &offsets,
                data: &data,
            }],
            Canon::Raw,
            1,
        );
        let mut bytes = vec![TAG_STR];
        bytes.extend_from_slice(&2u64.to_le_bytes());
        bytes.extend_from_slice(b"hi");
        bytes.push(TAG_NULL);
        bytes.push(TAG_INT);
        bytes.extend_from_slice(&7i128.to_le_bytes());
        let d = sha(&[&3u64.to_le_bytes(), &sha(&[&bytes])]);
        assert_eq!(digest(&[col], 3, true), sha(&[b"pre", &[0], b"h", &d]));
    }

    #[test]
    fn split_frames_merge_to_the_whole_multiset_digest() {
        let v: Vec<u32> = vec![9, 3, 3, 7, 1, 8, 2, 2, 6, 0, 5];
        let all = Array1::from(v.clone()).into_dyn();
        let whole = digest(
            &[column(
                vec![fixed(Words::U32(all.view()), 4)],
                Canon::Raw,
                4,
            )],
            v.len(),
            false,
        );
        let parts: Vec<Vec<u8>> = [&v[..4], &v[4..5], &v[5..5], &v[5..]]
            .iter()
            .map(|p| {
                let a = Array1::from(p.to_vec()).into_dyn();
                let col = column(vec![fixed(Words::U32(a.view()), 4)], Canon::Raw, 4);
                let d = sorted_row_digests(&[col], p.len(), &Progress::new()).unwrap();
                assert!(d.windows(2).all(|w| w[0] <= w[1]));
                d.concat()
            })
            .collect();
        let runs: Vec<&[u8]> = parts.iter().map(|p| &p[..]).collect();
        let headers: [&[u8]; 1] = [b"h"];
        let got = multiset_frame_digest(b"pre", &headers, &runs, &Progress::new()).unwrap();
        assert_eq!(got, whole);
        // A run in the wrong order or cut mid-digest is refused.
        let mut unsorted = parts[0].clone();
        unsorted.rotate_left(32);
        let bad = [&unsorted[..]];
        assert!(multiset_frame_digest(b"pre", &headers, &bad, &Progress::new()).is_err());
        let cut = [&parts[0][..40]];
        assert!(multiset_frame_digest(b"pre", &headers, &cut, &Progress::new()).is_err());
        // A column too short for the row count is refused.
        let a = Array1::from(vec![1u32, 2]).into_dyn();
        let col = column(vec![fixed(Words::U32(a.view()), 4)], Canon::Raw, 4);
        assert!(sorted_row_digests(&[col], 3, &Progress::new()).is_err());
    }
}
