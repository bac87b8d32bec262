//! Train/test leakage: test rows that are also in the training data, exactly or nearly
//! (`mlsentry.data.leakage` documents the rules users see).
//!
//! A table is a list of columns of equal length, matched by position between the two sides
//! (the Python layer sorts them by name). Cells have a canonical value:
//!
//! * numbers (`Float`, `Int`, `UInt`) compare by value: `1 == 1.0`, `-0.0 == 0.0`, and an
//!   integer too large for `f64` stays exact; NaN is a missing value;
//! * `Tagged` cells are integers of another kind (booleans, datetimes, durations, ...) that
//!   equal only cells of the same kind and value;
//! * `Text` cells are byte strings of a kind (UTF-8 strings, binary), equal byte for byte;
//! * a missing value of any column equals a missing value of any column.
//!
//! **Exact**: each row gets a 64-bit digest of its canonical values (column order as given),
//! computed column by column over blocks of rows in parallel. Test rows are split into
//! classes of equal rows (sorted by digest in buckets of the digest's top bits) and put in
//! a hash table; train rows stream past it in parallel blocks. Every digest match is
//! confirmed by comparing the values, so a collision never makes a false match.
//!
//! **Near**: numeric columns (numeric on both sides, with a finite, non-zero train standard
//! deviation) are standardised by the train mean and standard deviation (ddof 0); the other
//! columns must be equal. The distance is the largest absolute standardised difference
//! (Chebyshev); a pair is near when it is at most the threshold `t`. A row with a missing or
//! infinite numeric value is never near. Search: train rows are sorted by (digest of the
//! other columns, cell of every numeric coordinate) with cells `floor(z / 2t)`; a test value
//! `z` can only meet cells `floor((z -+ t) / 2t)` (two at most, three after the guard
//! against rounding), so a depth-first walk over the coordinates narrows the sorted range by
//! binary search and prunes empty cells, then checks the few remaining candidates exactly.
//!
//! **Result**: one pair per affected query row: its exact match with the lowest train
//! index and how many train rows equal it, or, without one, its nearest near match (lowest
//! index among equals) and how many train rows are within the threshold. With one table,
//! each row is compared with the rows before it.

use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Kinds of `Tagged` and `Text` cells (a kind never equals another).
pub const KIND_BOOL: u8 = 1;
pub const KIND_DATETIME: u8 = 2;
pub const KIND_TIMEDELTA: u8 = 3;
pub const KIND_TIME: u8 = 4;
pub const KIND_STR: u8 = 5;
pub const KIND_BYTES: u8 = 6;

/// The kind of a pair.
pub const NONE: u8 = 0;
pub const EXACT: u8 = 1;
pub const NEAR: u8 = 2;

/// Rows per parallel task.
const BLOCK: usize = 4096;
/// Below this many candidates the near search checks them all instead of narrowing.
const SMALL_RANGE: usize = 16;

/// One column's cells (`valid`: one byte per row, 0 = missing; `None`: none missing).
#[derive(Debug, Clone, Copy)]
pub enum Cells<'a> {
    /// Floats; NaN is missing.
    Float(&'a [f64]),
    Int(&'a [i64], Option<&'a [u8]>),
    UInt(&'a [u64], Option<&'a [u8]>),
    /// Integers of a kind (`KIND_BOOL`, `KIND_DATETIME`, ...).
    Tagged(u8, &'a [i64], Option<&'a [u8]>),
    /// Byte strings of a kind: item `i` is `data[offsets[i]..offsets[i + 1]]`.
    Text(u8, &'a [i64], &'a [u8], Option<&'a [u8]>),
    /// Every cell missing.
    Null(usize),
}

impl Cells<'_> {
    pub fn len(&self) -> usize {
        match self {
            Cells::Float(v) => v.len(),
            Cells::Int(v, _) => v.len(),
            Cells::UInt(v, _) => v.len(),
            Cells::Tagged(_, v, _) => v.len(),
            Cells::Text(_, o, _, _) => o.len().saturating_sub(1),
            Cells::Null(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn is_numeric(&self) -> bool {
        matches!(self, Cells::Float(_) | Cells::Int(..) | Cells::UInt(..))
    }

    fn check(&self, what: &str) -> CoreResult<()> {
        let n = self.len();
        let valid = match self {
            Cells::Int(_, v) | Cells::UInt(_, v) | Cells::Tagged(_, _, v) => *v,
            Cells::Text(_, o, d, v) => {
                if o.is_empty() {
                    return Err(CoreError::invalid(format!("{what}: offsets are empty")));
                }
                let mut prev = o[0];
                for &x in o.iter() {
                    if x < prev || x < 0 || x as u64 > d.len() as u64 {
                        return Err(CoreError::invalid(format!(
                            "{what}: string offsets are not increasing within the data"
                        )));
                    }
                    prev = x;
                }
                *v
            }
            _ => None,
        };
        match valid {
            Some(v) if v.len() != n => Err(CoreError::invalid(format!(
                "{what}: validity has {} entries for {n} rows",
                v.len()
            ))),
            _ => Ok(()),
        }
    }

    /// The canonical value of row `i`.
    #[inline]
    fn key(&self, i: usize) -> Key<'_> {
        let present = |v: &Option<&[u8]>| v.is_none_or(|v| v[i] != 0);
        match self {
            Cells::Float(v) => float_key(v[i]),
            Cells::Int(v, m) if present(m) => int_key(v[i]),
            Cells::UInt(v, m) if present(m) => uint_key(v[i]),
            Cells::Tagged(k, v, m) if present(m) => Key::Tagged(*k, v[i]),
            Cells::Text(k, o, d, m) if present(m) => {
                Key::Text(*k, &d[o[i] as usize..o[i + 1] as usize])
            }
            _ => Key::Missing,
        }
    }

    /// Row `i` as a float (numeric columns), NaN when missing.
    #[inline]
    fn number(&self, i: usize) -> f64 {
        let present = |v: &Option<&[u8]>| v.is_none_or(|v| v[i] != 0);
        match self {
            Cells::Float(v) => v[i],
            Cells::Int(v, m) if present(m) => v[i] as f64,
            Cells::UInt(v, m) if present(m) => v[i] as f64,
            _ => f64::NAN,
        }
    }
}

/// A canonical cell value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key<'a> {
    Missing,
    /// A number exactly representable as `f64`: its bits (`-0.0` folded into `0.0`).
    Float(u64),
    /// An integer `f64` cannot hold exactly.
    Big(i128),
    Tagged(u8, i64),
    Text(u8, &'a [u8]),
}

#[inline]
fn float_key(x: f64) -> Key<'static> {
    if x.is_nan() {
        Key::Missing
    } else if x == 0.0 {
        Key::Float(0)
    } else {
        Key::Float(x.to_bits())
    }
}

/// 2**63 and 2**64 as floats: the first values past `i64` and `u64`.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

#[inline]
fn int_key(v: i64) -> Key<'static> {
    // `f as i64` is exact below 2**63 (and saturates there, hence the bound).
    let f = v as f64;
    if f < TWO_63 && f as i64 == v {
        float_key(f)
    } else {
        Key::Big(i128::from(v))
    }
}

#[inline]
fn uint_key(v: u64) -> Key<'static> {
    let f = v as f64;
    if f < TWO_64 && f as u64 == v {
        float_key(f)
    } else {
        Key::Big(i128::from(v))
    }
}

const P0: u64 = 0xa076_1d64_78bd_642f;
const P1: u64 = 0xe703_7ed1_a0b4_28db;
const P2: u64 = 0x8ebc_6af0_9c88_c6e3;

/// The folded 128-bit product: the mixing step of wyhash-style hashes.
#[inline]
fn mum(a: u64, b: u64) -> u64 {
    let r = u128::from(a) * u128::from(b);
    (r as u64) ^ ((r >> 64) as u64)
}

#[inline]
fn r4(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[i..i + 4]);
    u64::from(u32::from_le_bytes(w))
}

#[inline]
fn r8(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// A 64-bit hash of a byte string. Short strings are read with a few overlapping fixed-size
/// loads (as wyhash does); the digest only has to spread values, since every match is
/// confirmed by comparing the bytes.
#[inline]
fn hash_bytes(kind: u8, b: &[u8]) -> u64 {
    let n = b.len();
    let seed = P0 ^ (n as u64).wrapping_mul(P1) ^ u64::from(kind);
    if n <= 16 {
        let (x, y) = if n >= 4 {
            let k = (n >> 3) << 2;
            (
                (r4(b, 0) << 32) | r4(b, k),
                (r4(b, n - 4) << 32) | r4(b, n - 4 - k),
            )
        } else if n > 0 {
            let x = (u64::from(b[0]) << 16) | (u64::from(b[n >> 1]) << 8) | u64::from(b[n - 1]);
            (x, 0)
        } else {
            (0, 0)
        };
        return mum(x ^ P1, y ^ seed);
    }
    let mut h = seed;
    let mut i = 0;
    while i + 8 < n {
        h = mum(h ^ r8(b, i), P2);
        i += 8;
    }
    mum(h ^ r8(b, n - 8), P1)
}

#[inline]
fn hash_key(k: Key<'_>) -> u64 {
    // Cheap spreads: `combine` multiplies the row's state with each of them.
    match k {
        Key::Missing => P2,
        Key::Float(bits) => bits,
        Key::Big(v) => (v as u64) ^ ((v >> 64) as u64).wrapping_mul(P1),
        Key::Tagged(kind, v) => (v as u64).wrapping_add(u64::from(kind).wrapping_mul(P2)),
        Key::Text(kind, b) => hash_bytes(kind, b),
    }
}

#[inline]
fn combine(h: u64, cell: u64) -> u64 {
    mum(h ^ cell, P0) ^ h.rotate_left(23)
}

/// A table: columns of equal length.
#[derive(Debug, Clone)]
pub struct Table<'a> {
    pub columns: Vec<Cells<'a>>,
    pub n_rows: usize,
}

impl<'a> Table<'a> {
    pub fn new(columns: Vec<Cells<'a>>, what: &str) -> CoreResult<Self> {
        let n_rows = columns.first().map_or(0, Cells::len);
        for (j, c) in columns.iter().enumerate() {
            c.check(&format!("{what} column {j}"))?;
            if c.len() != n_rows {
                return Err(CoreError::invalid(format!(
                    "{what}: column {j} has {} rows, column 0 has {n_rows}",
                    c.len()
                )));
            }
        }
        if n_rows > u32::MAX as usize {
            return Err(CoreError::invalid(format!(
                "{what}: at most {} rows are supported, got {n_rows}",
                u32::MAX
            )));
        }
        Ok(Table { columns, n_rows })
    }

    fn rows_equal(&self, i: usize, other: &Table<'_>, j: usize, cols: &[usize]) -> bool {
        cols.iter()
            .all(|&c| self.columns[c].key(i) == other.columns[c].key(j))
    }
}

/// Mixes the cells of rows `r0..r0 + hs.len()` of one column into their digests.
fn hash_column(col: &Cells<'_>, r0: usize, hs: &mut [u64]) {
    let rows = r0..r0 + hs.len();
    match col {
        Cells::Float(v) => {
            for (h, &x) in hs.iter_mut().zip(&v[rows]) {
                *h = combine(*h, hash_key(float_key(x)));
            }
        }
        Cells::Int(v, None) => {
            for (h, &x) in hs.iter_mut().zip(&v[rows]) {
                *h = combine(*h, hash_key(int_key(x)));
            }
        }
        Cells::Text(k, o, d, None) => {
            for (h, w) in hs.iter_mut().zip(o[r0..=rows.end].windows(2)) {
                let cell = hash_bytes(*k, &d[w[0] as usize..w[1] as usize]);
                *h = combine(*h, cell);
            }
        }
        _ => {
            for (k, h) in hs.iter_mut().enumerate() {
                *h = combine(*h, hash_key(col.key(r0 + k)));
            }
        }
    }
}

/// The digest of every row over columns `cols`, in parallel blocks of rows.
fn row_hashes(t: &Table<'_>, cols: &[usize], progress: &Progress) -> CoreResult<Vec<u64>> {
    let mut out = vec![P1; t.n_rows];
    out.par_chunks_mut(BLOCK)
        .enumerate()
        .try_for_each(|(b, hs)| {
            progress.check()?;
            let r0 = b * BLOCK;
            for &c in cols {
                hash_column(&t.columns[c], r0, hs);
            }
            Ok(())
        })?;
    Ok(out)
}

/// Rows split into classes of equal rows (found by digest, confirmed by value).
struct Classes {
    /// `(digest, first row, rows in the class)`, by bucket, then digest, then first row.
    classes: Vec<(u64, u32, u32)>,
    /// Per row: its class's first row and how many rows of the class come before it.
    member: Option<Vec<(u32, u32)>>,
}

/// Classes by digest: an open-addressing table (linear probing) of class positions, keyed
/// by the digest's low bits, holding its high half to skip most non-matches.
struct DigestTable {
    mask: usize,
    /// `(high 32 bits of the digest, class position + 1)`; 0 marks an empty slot.
    slots: Vec<(u32, u32)>,
}

impl DigestTable {
    fn new(classes: &[(u64, u32, u32)]) -> Self {
        let size = (2 * classes.len()).next_power_of_two().max(16);
        let mask = size - 1;
        let mut slots = vec![(0u32, 0u32); size];
        for (i, &(h, _, _)) in classes.iter().enumerate() {
            let mut s = (h as usize) & mask;
            while slots[s].1 != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = ((h >> 32) as u32, i as u32 + 1);
        }
        DigestTable { mask, slots }
    }

    /// Calls `visit` with the position of every class whose digest may be `h`, until it
    /// returns true.
    #[inline]
    fn find(&self, h: u64, mut visit: impl FnMut(usize) -> bool) {
        let tag = (h >> 32) as u32;
        let mut s = (h as usize) & self.mask;
        loop {
            let (t, i) = self.slots[s];
            if i == 0 {
                return;
            }
            if t == tag && visit(i as usize - 1) {
                return;
            }
            s = (s + 1) & self.mask;
        }
    }
}

/// The bucket of a digest: its top `bits` bits.
#[inline]
fn bucket_of(h: u64, bits: u32) -> usize {
    if bits == 0 {
        0
    } else {
        (h >> (64 - bits)) as usize
    }
}

/// Bits of the digest that give buckets of about 2,048 items: each bucket is sorted within
/// the cache.
fn bucket_bits(n: usize) -> u32 {
    (usize::BITS - (n / 2048).leading_zeros()).min(16)
}

/// `items` scattered into `1 << bits` buckets by the top bits of `digest(item)` (in order
/// within a bucket), and where each bucket starts.
fn scatter<T: Copy + Default>(
    items: &[T],
    digest: impl Fn(&T) -> u64,
    bits: u32,
) -> (Vec<T>, Vec<usize>) {
    let nb = 1usize << bits;
    let mut starts = vec![0usize; nb + 1];
    for it in items {
        starts[bucket_of(digest(it), bits) + 1] += 1;
    }
    for b in 0..nb {
        starts[b + 1] += starts[b];
    }
    let mut fill = starts.clone();
    let mut out = vec![T::default(); items.len()];
    for it in items {
        let b = bucket_of(digest(it), bits);
        out[fill[b]] = *it;
        fill[b] += 1;
    }
    (out, starts)
}

/// Splits `v` into the mutable pieces `starts[b]..starts[b + 1]`.
fn pieces_mut<'v, T>(mut v: &'v mut [T], starts: &[usize]) -> Vec<&'v mut [T]> {
    let mut out = Vec::with_capacity(starts.len().saturating_sub(1));
    for w in starts.windows(2) {
        let (head, tail) = v.split_at_mut(w[1] - w[0]);
        out.push(head);
        v = tail;
    }
    out
}

fn classes(
    t: &Table<'_>,
    cols: &[usize],
    hashes: &[u64],
    with_members: bool,
    progress: &Progress,
) -> CoreResult<Classes> {
    let bits = bucket_bits(t.n_rows);
    let keyed: Vec<(u64, u32)> = hashes
        .iter()
        .enumerate()
        .map(|(r, &h)| (h, r as u32))
        .collect();
    let (mut rows, starts) = scatter(&keyed, |e| e.0, bits);
    type Piece = (Vec<(u64, u32, u32)>, Vec<(u32, u32, u32)>);
    let pieces: Vec<Piece> = pieces_mut(&mut rows, &starts)
        .into_par_iter()
        .map(|seg| {
            progress.check()?;
            seg.sort_unstable();
            let mut cls: Vec<(u64, u32, u32)> = Vec::with_capacity(seg.len());
            let mut members: Vec<(u32, u32, u32)> = Vec::new();
            let mut run_start = 0usize; // where this digest's classes begin in `cls`
            for (p, &(h, row)) in seg.iter().enumerate() {
                if p == 0 || seg[p - 1].0 != h {
                    run_start = cls.len();
                }
                let r = row as usize;
                let found = cls[run_start..]
                    .iter()
                    .position(|&(_, first, _)| t.rows_equal(first as usize, t, r, cols));
                let (first, rank) = match found {
                    Some(k) => {
                        let c = &mut cls[run_start + k];
                        c.2 += 1;
                        (c.1, c.2 - 1)
                    }
                    None => {
                        cls.push((h, row, 1));
                        (row, 0)
                    }
                };
                if with_members {
                    members.push((row, first, rank));
                }
            }
            Ok((cls, members))
        })
        .collect::<CoreResult<_>>()?;
    let mut all = Vec::with_capacity(pieces.iter().map(|p| p.0.len()).sum());
    let mut member = with_members.then(|| vec![(0u32, 0u32); t.n_rows]);
    for (cls, members) in pieces {
        all.extend(cls);
        if let Some(m) = member.as_mut() {
            for (row, first, rank) in members {
                m[row as usize] = (first, rank);
            }
        }
    }
    Ok(Classes {
        classes: all,
        member,
    })
}

/// What was found for one query row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub kind: u8,
    pub row: u32,
    pub distance: f64,
    pub count: u64,
}

const MISS: Hit = Hit {
    kind: NONE,
    row: 0,
    distance: 0.0,
    count: 0,
};

/// The pairs found, one per affected query row, in query order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Leakage {
    pub query: Vec<u64>,
    pub reference: Vec<u64>,
    pub kind: Vec<u8>,
    pub distance: Vec<f64>,
    pub count: Vec<u64>,
    /// Columns (positions) compared as numbers for near duplicates.
    pub near_columns: Vec<usize>,
}

impl Leakage {
    fn from_hits(hits: &[Hit], near_columns: Vec<usize>) -> Self {
        let mut out = Leakage {
            near_columns,
            ..Leakage::default()
        };
        for (q, h) in hits.iter().enumerate() {
            if h.kind != NONE {
                out.query.push(q as u64);
                out.reference.push(u64::from(h.row));
                out.kind.push(h.kind);
                out.distance.push(h.distance);
                out.count.push(h.count);
            }
        }
        out
    }
}

fn check_threshold(t: Option<f64>) -> CoreResult<Option<f64>> {
    match t {
        Some(t) if !(t.is_finite() && t >= 0.0) => Err(CoreError::invalid(format!(
            "near_threshold: expected a finite number >= 0, got {t}"
        ))),
        Some(t) if t > 0.0 => Ok(Some(t)),
        _ => Ok(None),
    }
}

/// Test rows of `test` found in `train`. `near_threshold`: `None` (or 0) finds exact
/// duplicates only.
pub fn leakage(
    train: &Table<'_>,
    test: &Table<'_>,
    near_threshold: Option<f64>,
    progress: &Progress,
) -> CoreResult<Leakage> {
    let t = check_threshold(near_threshold)?;
    if train.columns.len() != test.columns.len() {
        return Err(CoreError::invalid(format!(
            "train has {} columns, test {}",
            train.columns.len(),
            test.columns.len()
        )));
    }
    let cols: Vec<usize> = (0..train.columns.len()).collect();
    progress.add_total((train.n_rows + test.n_rows) as u64);
    // The test rows (the smaller side, usually) are grouped into classes of equal rows and
    // put in a hash table; the train rows stream past it in parallel blocks.
    let test_hashes = row_hashes(test, &cols, progress)?;
    let test_classes = classes(test, &cols, &test_hashes, true, progress)?;
    let lookup = DigestTable::new(&test_classes.classes);
    let train_hashes = row_hashes(train, &cols, progress)?;
    progress.advance(train.n_rows as u64);
    let found: Vec<Vec<(u32, u32)>> = train_hashes
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(b, hs)| {
            progress.check()?;
            let mut out = Vec::new();
            for (k, &h) in hs.iter().enumerate() {
                let r = b * BLOCK + k;
                lookup.find(h, |ci| {
                    let first = test_classes.classes[ci].1 as usize;
                    let same = train.rows_equal(r, test, first, &cols);
                    if same {
                        out.push((ci as u32, r as u32));
                    }
                    same
                });
            }
            Ok(out)
        })
        .collect::<CoreResult<_>>()?;
    // Blocks come in row order: the first match of a class is its lowest train row.
    let n_classes = test_classes.classes.len();
    let (mut first, mut count) = (vec![u32::MAX; n_classes], vec![0u64; n_classes]);
    for (ci, r) in found.into_iter().flatten() {
        let ci = ci as usize;
        if first[ci] == u32::MAX {
            first[ci] = r;
        }
        count[ci] += 1;
    }
    let mut class_of = vec![0u32; test.n_rows];
    for (ci, c) in test_classes.classes.iter().enumerate() {
        class_of[c.1 as usize] = ci as u32;
    }
    let member = test_classes.member.unwrap_or_default();
    let mut hits: Vec<Hit> = member
        .iter()
        .map(|&(first_row, _)| {
            let ci = class_of[first_row as usize] as usize;
            if first[ci] == u32::MAX {
                MISS
            } else {
                Hit {
                    kind: EXACT,
                    row: first[ci],
                    distance: 0.0,
                    count: count[ci],
                }
            }
        })
        .collect();
    let near_columns = match t {
        Some(t) => near(train, test, &mut hits, t, false, progress)?,
        None => Vec::new(),
    };
    progress.advance(test.n_rows as u64);
    Ok(Leakage::from_hits(&hits, near_columns))
}

/// Rows of one table that repeat an earlier row, exactly or nearly: query = the later row,
/// reference = the earlier one.
pub fn duplicates(
    table: &Table<'_>,
    near_threshold: Option<f64>,
    progress: &Progress,
) -> CoreResult<Leakage> {
    let t = check_threshold(near_threshold)?;
    let cols: Vec<usize> = (0..table.columns.len()).collect();
    progress.add_total(2 * table.n_rows as u64);
    let hashes = row_hashes(table, &cols, progress)?;
    let index = classes(table, &cols, &hashes, true, progress)?;
    let member = index.member.unwrap_or_default();
    progress.advance(table.n_rows as u64);
    let mut hits: Vec<Hit> = member
        .iter()
        .map(|&(first, rank)| {
            if rank > 0 {
                Hit {
                    kind: EXACT,
                    row: first,
                    distance: 0.0,
                    count: u64::from(rank),
                }
            } else {
                MISS
            }
        })
        .collect();
    let near_columns = match t {
        Some(t) => near(table, table, &mut hits, t, true, progress)?,
        None => Vec::new(),
    };
    progress.advance(table.n_rows as u64);
    Ok(Leakage::from_hits(&hits, near_columns))
}

/// Mean and standard deviation (ddof 0) of the finite values of a numeric column, when the
/// deviation is finite and positive.
fn scale(c: &Cells<'_>, n: usize) -> Option<(f64, f64)> {
    let (mut count, mut sum) = (0usize, 0.0f64);
    for i in 0..n {
        let x = c.number(i);
        if x.is_finite() {
            count += 1;
            sum += x;
        }
    }
    if count == 0 {
        return None;
    }
    let mean = sum / count as f64;
    let mut ss = 0.0;
    for i in 0..n {
        let x = c.number(i);
        if x.is_finite() {
            ss += (x - mean) * (x - mean);
        }
    }
    let sd = (ss / count as f64).sqrt();
    (sd.is_finite() && sd > 0.0).then_some((mean, sd))
}

/// Standardised numeric values, row-major (`d` per row), and whether each row has all of
/// them finite.
fn standardised(t: &Table<'_>, num: &[(usize, f64, f64)]) -> (Vec<f64>, Vec<bool>) {
    let d = num.len();
    let mut z = vec![0.0; t.n_rows * d];
    let mut ok = vec![true; t.n_rows];
    if d == 0 {
        return (z, ok);
    }
    z.par_chunks_mut(BLOCK * d)
        .zip(ok.par_chunks_mut(BLOCK))
        .enumerate()
        .for_each(|(b, (zs, oks))| {
            let r0 = b * BLOCK;
            for (k, okr) in oks.iter_mut().enumerate() {
                for (j, &(c, mean, sd)) in num.iter().enumerate() {
                    let v = (t.columns[c].number(r0 + k) - mean) / sd;
                    zs[k * d + j] = v;
                    *okr &= v.is_finite();
                }
            }
        });
    (z, ok)
}

#[inline]
fn cell(z: f64, width: f64) -> i32 {
    // `as` saturates: monotone, which is all the search needs.
    (z / width).floor() as i32
}

/// The near-duplicate index of the reference side.
struct NearIndex {
    /// Rows sorted by (group digest, cells...).
    rows: Vec<u32>,
    groups: Vec<u64>,
    /// Cells of the sorted rows, row-major (`d` per row).
    cells: Vec<i32>,
    d: usize,
}

fn near_index(groups: &[u64], z: &[f64], ok: &[bool], d: usize, width: f64) -> NearIndex {
    // The sort keys carry the group and the first K cells, so that the sorted index is
    // read in order (gathering by row from `z` would miss the cache on every row).
    const K: usize = 8;
    let mut entries: Vec<(u64, [i32; K], u32)> = (0..groups.len())
        .into_par_iter()
        .filter(|&r| ok[r])
        .map(|r| {
            let mut c = [0i32; K];
            for (j, cj) in c.iter_mut().enumerate().take(d.min(K)) {
                *cj = cell(z[r * d + j], width);
            }
            (groups[r], c, r as u32)
        })
        .collect();
    sort_by_group(&mut entries);
    let mut rows: Vec<u32> = entries.iter().map(|e| e.2).collect();
    if d > K {
        // Ties on the first K cells: order them by the remaining cells too.
        let mut start = 0;
        while start < entries.len() {
            let mut end = start + 1;
            while end < entries.len()
                && entries[end].0 == entries[start].0
                && entries[end].1 == entries[start].1
            {
                end += 1;
            }
            if end - start > 1 {
                rows[start..end].sort_by_cached_key(|&r| {
                    let r = r as usize;
                    let rest: Vec<i32> = (K..d).map(|j| cell(z[r * d + j], width)).collect();
                    (rest, r)
                });
            }
            start = end;
        }
    }
    let mut cells = vec![0i32; rows.len() * d];
    cells
        .par_chunks_mut(d * BLOCK)
        .enumerate()
        .for_each(|(b, out)| {
            for (k, row_cells) in out.chunks_mut(d).enumerate() {
                let p = b * BLOCK + k;
                // Within a run of ties the first K cells are equal: `entries[p]` holds them.
                let head = d.min(K);
                row_cells[..head].copy_from_slice(&entries[p].1[..head]);
                let r = rows[p] as usize;
                for (j, c) in row_cells.iter_mut().enumerate().skip(K) {
                    *c = cell(z[r * d + j], width);
                }
            }
        });
    let groups = entries.iter().map(|e| e.0).collect();
    NearIndex {
        rows,
        groups,
        cells,
        d,
    }
}

/// Sorts the near index's entries: by buckets of their group digest when the groups are
/// many (each bucket sorted within the cache, in parallel), else in one parallel sort.
fn sort_by_group<T: Ord + Copy + Default + Send + GroupKey>(entries: &mut Vec<T>) {
    let n = entries.len();
    let bits = bucket_bits(n);
    let mut sizes = vec![0usize; 1 << bits];
    for e in entries.iter() {
        sizes[bucket_of(e.group(), bits)] += 1;
    }
    if bits == 0 || sizes.iter().any(|&s| s > n / 8) {
        entries.par_sort_unstable();
        return;
    }
    let (mut out, starts) = scatter(entries, |e| e.group(), bits);
    pieces_mut(&mut out, &starts)
        .into_par_iter()
        .for_each(|piece| piece.sort_unstable());
    *entries = out;
}

/// The group digest of a near-index entry.
trait GroupKey {
    fn group(&self) -> u64;
}

impl<const K: usize> GroupKey for (u64, [i32; K], u32) {
    fn group(&self) -> u64 {
        self.0
    }
}

/// Near duplicates for the query rows without an exact match; returns the columns compared
/// as numbers.
fn near(
    reference: &Table<'_>,
    query: &Table<'_>,
    hits: &mut [Hit],
    t: f64,
    earlier_only: bool,
    progress: &Progress,
) -> CoreResult<Vec<usize>> {
    let m = reference.columns.len();
    // One column per task: each sum runs in row order, whatever the thread count.
    let num: Vec<(usize, f64, f64)> = (0..m)
        .into_par_iter()
        .filter(|&c| reference.columns[c].is_numeric() && query.columns[c].is_numeric())
        .filter_map(|c| scale(&reference.columns[c], reference.n_rows).map(|(mu, sd)| (c, mu, sd)))
        .collect();
    if num.is_empty() {
        // Without a numeric coordinate, "near" means equal: those rows are exact already.
        return Ok(Vec::new());
    }
    let other: Vec<usize> = (0..m).filter(|c| !num.iter().any(|n| n.0 == *c)).collect();
    let d = num.len();
    let width = 2.0 * t;
    // The search widens the interval a little, so that rounding in `z -+ t` never hides a
    // neighbour; candidates are then checked against `t` itself.
    let reach = t * (1.0 + 1e-9) + f64::MIN_POSITIVE;
    let ref_groups = row_hashes(reference, &other, progress)?;
    let (ref_z, ref_ok) = standardised(reference, &num);
    let index = near_index(&ref_groups, &ref_z, &ref_ok, d, width);
    progress.check()?;
    let same = earlier_only;
    let owned;
    let (q_groups, q_z, q_ok): (&[u64], &[f64], &[bool]) = if same {
        (&ref_groups, &ref_z, &ref_ok)
    } else {
        let g = row_hashes(query, &other, progress)?;
        let (z, ok) = standardised(query, &num);
        owned = (g, z, ok);
        (&owned.0, &owned.1, &owned.2)
    };
    let ctx = Search {
        index: &index,
        reference,
        query,
        ref_z: &ref_z,
        other: &other,
        t,
        reach,
        width,
    };
    hits.par_chunks_mut(BLOCK)
        .enumerate()
        .try_for_each(|(b, out)| {
            progress.check()?;
            for (k, hit) in out.iter_mut().enumerate() {
                let q = b * BLOCK + k;
                if hit.kind != NONE || !q_ok[q] {
                    continue;
                }
                let zq = &q_z[q * d..(q + 1) * d];
                let g = q_groups[q];
                let lo = index.groups.partition_point(|&x| x < g);
                let hi = lo + index.groups[lo..].partition_point(|&x| x == g);
                let limit = if same { q } else { usize::MAX };
                let mut best = MISS;
                ctx.walk(0, lo, hi, zq, q, limit, &mut best);
                if best.kind == NEAR {
                    *hit = best;
                }
            }
            Ok(())
        })?;
    Ok(num.iter().map(|n| n.0).collect())
}

struct Search<'s, 'a> {
    index: &'s NearIndex,
    reference: &'s Table<'a>,
    query: &'s Table<'a>,
    ref_z: &'s [f64],
    other: &'s [usize],
    t: f64,
    reach: f64,
    width: f64,
}

impl Search<'_, '_> {
    #[allow(clippy::too_many_arguments)]
    fn walk(
        &self,
        level: usize,
        lo: usize,
        hi: usize,
        zq: &[f64],
        q: usize,
        limit: usize,
        best: &mut Hit,
    ) {
        let d = self.index.d;
        if lo >= hi {
            return;
        }
        if level == d || hi - lo <= SMALL_RANGE {
            for p in lo..hi {
                self.check(self.index.rows[p] as usize, zq, q, limit, best);
            }
            return;
        }
        let c_lo = cell(zq[level] - self.reach, self.width);
        let c_hi = cell(zq[level] + self.reach, self.width);
        let cells = &self.index.cells;
        let at = |p: usize| cells[p * d + level];
        // Cells at this level are sorted within [lo, hi): the rows share the cells before.
        let mut p = lo + partition(lo, hi, |x| at(x) < c_lo);
        while p < hi && at(p) <= c_hi {
            let c = at(p);
            let end = p + partition(p, hi, |x| at(x) == c);
            self.walk(level + 1, p, end, zq, q, limit, best);
            p = end;
        }
    }

    fn check(&self, r: usize, zq: &[f64], q: usize, limit: usize, best: &mut Hit) {
        if r >= limit {
            return;
        }
        let d = self.index.d;
        let zr = &self.ref_z[r * d..(r + 1) * d];
        let mut dist = 0.0f64;
        for (a, b) in zr.iter().zip(zq) {
            dist = dist.max((a - b).abs());
            if dist > self.t {
                return;
            }
        }
        if !self.reference.rows_equal(r, self.query, q, self.other) {
            return;
        }
        best.count += 1;
        let better = best.kind == NONE
            || dist < best.distance
            || (dist == best.distance && (r as u32) < best.row);
        if better {
            best.kind = NEAR;
            best.row = r as u32;
            best.distance = dist;
        }
    }
}

/// How many positions from `lo` (up to `hi`) satisfy `pred`, which holds on a prefix.
fn partition(lo: usize, hi: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut a, mut b) = (0usize, hi - lo);
    while a < b {
        let mid = a + (b - a) / 2;
        if pred(lo + mid) {
            a = mid + 1;
        } else {
            b = mid;
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(train: &Table<'_>, test: &Table<'_>, t: Option<f64>) -> Leakage {
        leakage(train, test, t, &Progress::new()).unwrap()
    }

    fn pairs(l: &Leakage) -> Vec<(u64, u64, u8, u64)> {
        (0..l.query.len())
            .map(|i| (l.query[i], l.reference[i], l.kind[i], l.count[i]))
            .collect()
    }

    #[test]
    fn numbers_compare_by_value() {
        let f = [1.0, -0.0, f64::NAN, 2.5, 9_007_199_254_740_993.0];
        let i = [1i64, 0, 7, 3, 9_007_199_254_740_993];
        let valid = [1u8, 1, 0, 1, 1];
        let a = Table::new(vec![Cells::Float(&f)], "a").unwrap();
        let b = Table::new(vec![Cells::Int(&i, Some(&valid))], "b").unwrap();
        // 1 == 1.0, 0 == -0.0, missing == NaN; 3 != 2.5; 2**53 + 1 is not the float
        // 2**53 (which the float literal rounds to).
        let l = run(&a, &b, None);
        assert_eq!(
            pairs(&l),
            vec![(0, 0, EXACT, 1), (1, 1, EXACT, 1), (2, 2, EXACT, 1)]
        );
    }

    #[test]
    fn kinds_never_equal_each_other() {
        let ones = [1i64, 1];
        let f = [1.0, 1.0];
        let a = Table::new(vec![Cells::Tagged(KIND_BOOL, &ones, None)], "a").unwrap();
        let b = Table::new(vec![Cells::Float(&f)], "b").unwrap();
        assert!(run(&a, &b, None).query.is_empty());
        let o = [0i64, 1, 2];
        let s = Table::new(vec![Cells::Text(KIND_STR, &o, b"ab", None)], "s").unwrap();
        let y = Table::new(vec![Cells::Text(KIND_BYTES, &o, b"ab", None)], "y").unwrap();
        assert!(run(&s, &y, None).query.is_empty());
        assert_eq!(run(&s, &s, None).query, vec![0, 1]);
    }

    #[test]
    fn counts_every_equal_train_row_and_names_the_first() {
        let train = [5.0, 1.0, 5.0, 5.0, 2.0];
        let test = [2.0, 5.0, 3.0];
        let a = Table::new(vec![Cells::Float(&train)], "a").unwrap();
        let b = Table::new(vec![Cells::Float(&test)], "b").unwrap();
        assert_eq!(
            pairs(&run(&a, &b, None)),
            vec![(0, 4, EXACT, 1), (1, 0, EXACT, 3)]
        );
    }

    #[test]
    fn equal_test_rows_get_the_same_match() {
        let train = [5.0, 1.0, 5.0, 5.0, 2.0];
        let test = [5.0, 2.0, 5.0, 7.0, 2.0];
        let a = Table::new(vec![Cells::Float(&train)], "a").unwrap();
        let b = Table::new(vec![Cells::Float(&test)], "b").unwrap();
        assert_eq!(
            pairs(&run(&a, &b, None)),
            vec![
                (0, 0, EXACT, 3),
                (1, 4, EXACT, 1),
                (2, 0, EXACT, 3),
                (4, 4, EXACT, 1)
            ]
        );
    }

    #[test]
    fn one_table_pairs_later_rows_with_the_first_earlier_one() {
        let v = [1.0, 2.0, 1.0, 1.0, 2.000_001, 9.0];
        let t = Table::new(vec![Cells::Float(&v)], "t").unwrap();
        let l = duplicates(&t, Some(0.01), &Progress::new()).unwrap();
        assert_eq!(
            pairs(&l),
            vec![(2, 0, EXACT, 1), (3, 0, EXACT, 2), (4, 1, NEAR, 1)]
        );
    }

    #[test]
    fn near_needs_the_other_columns_equal_and_the_distance_within_the_threshold() {
        // x has standard deviation 1 in train (values -1 and 1).
        let x = [-1.0, 1.0, -1.0, 1.0];
        let o = [0i64, 1, 2, 3, 4];
        let train = Table::new(
            vec![Cells::Float(&x), Cells::Text(KIND_STR, &o, b"abab", None)],
            "train",
        )
        .unwrap();
        let xq = [1.005, 1.02, -0.995, 1.005];
        let test = Table::new(
            vec![Cells::Float(&xq), Cells::Text(KIND_STR, &o, b"bbaa", None)],
            "test",
        )
        .unwrap();
        let l = run(&train, &test, Some(0.01));
        // Row 0 ("b", 1.005): train row 1 and 3 are "b", 1.0; row 1 is too far; row 2 ("a",
        // -0.995): train rows 0 and 2; row 3 ("a", 1.005): no "a" near 1.
        assert_eq!(pairs(&l), vec![(0, 1, NEAR, 2), (2, 0, NEAR, 2)]);
        assert!((l.distance[0] - 0.005).abs() < 1e-12);
        assert_eq!(l.near_columns, vec![0]);
        assert!(run(&train, &test, None).query.is_empty());
    }

    #[test]
    fn missing_numbers_are_never_near_and_constant_columns_must_match() {
        let x = [0.0, 1.0, 2.0];
        let c = [5.0, 5.0, 5.0];
        let train = Table::new(vec![Cells::Float(&x), Cells::Float(&c)], "train").unwrap();
        let xq = [0.001, f64::NAN, 2.001];
        let cq = [5.0, 5.0, 5.000_000_1];
        let test = Table::new(vec![Cells::Float(&xq), Cells::Float(&cq)], "test").unwrap();
        let l = run(&train, &test, Some(0.01));
        assert_eq!(pairs(&l), vec![(0, 0, NEAR, 1)]);
        assert_eq!(l.near_columns, vec![0]);
    }

    #[test]
    fn near_search_matches_brute_force() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 3000;
        let cols: Vec<Vec<f64>> = (0..6)
            .map(|j| {
                (0..n)
                    .map(|_| {
                        // Coarse values, so that near pairs are common.
                        let v: f64 = rng.gen_range(0..4) as f64;
                        v + if j < 3 { rng.gen_range(0.0..0.3) } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        let t = 0.1;
        let table = Table::new(cols.iter().map(|c| Cells::Float(c)).collect(), "t").unwrap();
        let (tr, te) = (
            Table::new(cols.iter().map(|c| Cells::Float(&c[..2000])).collect(), "a").unwrap(),
            Table::new(cols.iter().map(|c| Cells::Float(&c[2000..])).collect(), "b").unwrap(),
        );
        let l = run(&tr, &te, Some(t));
        let sd: Vec<(f64, f64)> = (0..6)
            .map(|j| scale(&tr.columns[j], 2000).unwrap())
            .collect();
        let mut expect = Vec::new();
        for q in 0..1000 {
            let (mut best, mut count, mut exact, mut exact_count) = (None, 0, None, 0);
            for r in 0..2000 {
                let dist = (0..6)
                    .map(|j| ((cols[j][r] - cols[j][2000 + q]) / sd[j].1).abs())
                    .fold(0.0, f64::max);
                if (0..6).all(|j| cols[j][r] == cols[j][2000 + q]) {
                    exact_count += 1;
                    exact.get_or_insert(r);
                } else if dist <= t {
                    count += 1;
                    if best.is_none_or(|(d, _)| dist < d) {
                        best = Some((dist, r));
                    }
                }
            }
            if let Some(r) = exact {
                expect.push((q as u64, r as u64, EXACT, exact_count));
            } else if let Some((_, r)) = best {
                expect.push((q as u64, r as u64, NEAR, count));
            }
        }
        assert!(expect.len() > 50, "the data must have near pairs");
        assert_eq!(pairs(&l), expect);
        // The same on one thread and in one table (each row against the earlier ones).
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(one.install(|| run(&tr, &te, Some(t))), l);
        let d = duplicates(&table, Some(t), &Progress::new()).unwrap();
        assert!(d.query.iter().zip(&d.reference).all(|(q, r)| r < q));
    }

    #[test]
    fn near_search_with_many_groups_matches_brute_force() {
        // Enough rows and groups for the index to be sorted bucket by bucket.
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (n, m, t) = (20_000usize, 2_000usize, 0.01);
        let group: Vec<i64> = (0..n + m).map(|_| rng.gen_range(0..3000)).collect();
        let x: Vec<f64> = (0..n + m).map(|_| rng.gen_range(0.0..1.0)).collect();
        let table = |r: std::ops::Range<usize>| {
            let cols = vec![
                Cells::Tagged(KIND_DATETIME, &group[r.clone()], None),
                Cells::Float(&x[r]),
            ];
            Table::new(cols, "t").unwrap()
        };
        let (tr, te) = (table(0..n), table(n..n + m));
        let (_, sd) = scale(&tr.columns[1], n).unwrap();
        let l = run(&tr, &te, Some(t));
        let mut expect = Vec::new();
        for q in 0..m {
            let mut best: Option<(f64, usize)> = None;
            let mut count = 0;
            for r in 0..n {
                let dist = ((x[r] - x[n + q]) / sd).abs();
                if group[r] == group[n + q] && dist <= t {
                    count += 1;
                    if best.is_none_or(|(d, _)| dist < d) {
                        best = Some((dist, r));
                    }
                }
            }
            if let Some((_, r)) = best {
                expect.push((q as u64, r as u64, NEAR, count));
            }
        }
        assert!(expect.len() > 20);
        assert_eq!(pairs(&l), expect);
    }

    #[test]
    fn bad_input_is_an_error() {
        let a = [1.0, 2.0];
        let b = [1.0];
        assert!(Table::new(vec![Cells::Float(&a), Cells::Float(&b)], "t").is_err());
        let t = Table::new(vec![Cells::Float(&a)], "t").unwrap();
        let u = Table::new(vec![Cells::Float(&a), Cells::Float(&a)], "u").unwrap();
        let p = Progress::new();
        assert!(leakage(&t, &u, None, &p).is_err());
        assert!(leakage(&t, &t, Some(-1.0), &p).is_err());
        assert!(leakage(&t, &t, Some(f64::NAN), &p).is_err());
        let o = [0i64, 3, 1];
        assert!(Table::new(vec![Cells::Text(KIND_STR, &o, b"abc", None)], "t").is_err());
        let v = [1u8];
        assert!(Table::new(vec![Cells::Int(&[1, 2], Some(&v))], "t").is_err());
    }
}
