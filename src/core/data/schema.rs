//! Schema inference and validation of a table, one column at a time and the columns in
//! parallel.
//!
//! A column reaches the core as float64 values (numbers, booleans as 0/1, nanoseconds of
//! dates; NaN is missing), int64 values (never missing), category codes in `0..k`
//! (negative is missing) whose values the caller holds, or Arrow-layout strings (offsets,
//! bytes and an optional validity mask), read where they lie. What a schema is inferred
//! from ([`infer`]: missing count, range, distinct values up to a cap, whether every value
//! is distinct) and what a batch breaks ([`validate`]: missing values, values out of range,
//! values outside the domain, repeated keys, each with the first rows where it happens)
//! take one pass per question over a column, in row order, by one thread: results do not
//! depend on the thread count. The range and missing passes run over blocks of rows with
//! branch-free counts (vectorised), and go back over a block for its rows only while
//! examples are still wanted.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use ndarray::ArrayView1;
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// Rows per block of the counting passes.
const BLOCK: usize = 4096;

/// Strings in Arrow's layout: value `i` is `data[offsets[i]..offsets[i + 1]]`, missing
/// where `valid[i]` is false.
#[derive(Debug, Clone)]
pub struct Strings<'a> {
    pub offsets: &'a [i64],
    pub data: &'a [u8],
    pub valid: Option<&'a [bool]>,
}

impl<'a> Strings<'a> {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn check(&self) -> CoreResult<()> {
        if self.offsets.is_empty() {
            return Err(CoreError::invalid(
                "strings: offsets hold at least one entry",
            ));
        }
        if self.valid.as_ref().is_some_and(|v| v.len() != self.len()) {
            return Err(CoreError::invalid("strings: a validity flag per value"));
        }
        // Non-decreasing from >= 0 to <= the data's length puts every offset in bounds. The
        // fold has no early exit, so it vectorises (this runs on every row of the column).
        let ordered = self
            .offsets
            .windows(2)
            .fold(true, |ok, w| ok & (w[0] <= w[1]));
        let first = self.offsets[0];
        let last = self.offsets[self.offsets.len() - 1];
        if !ordered || first < 0 || last as usize > self.data.len() {
            return Err(CoreError::invalid(
                "strings: offsets out of order or past the data",
            ));
        }
        Ok(())
    }

    /// Value `i` when it is 8 bytes or shorter: its length and its bytes as a
    /// little-endian word (zero-padded), read with one load where the buffer allows.
    #[inline]
    pub fn short(&self, i: usize) -> Option<(usize, u64)> {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        let len = b - a;
        if len > 8 {
            return None;
        }
        Some((len, load_short(self.data, a, len)))
    }

    /// Value `i`, `None` when missing (offsets checked by `check`).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        if let Some(v) = self.valid {
            if !v[i] {
                return None;
            }
        }
        Some(&self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize])
    }
}

/// One column as the core reads it.
#[derive(Debug, Clone)]
pub enum Column<'a> {
    /// Numbers, booleans (0/1) or nanoseconds as float64; NaN is missing. `exact` holds
    /// the integers themselves (int64, or uint64 reinterpreted) when float64 would round
    /// some of them: distinctness is then judged on them.
    Float {
        values: ArrayView1<'a, f64>,
        exact: Option<ArrayView1<'a, i64>>,
    },
    /// Integers with no missing value.
    Int(ArrayView1<'a, i64>),
    /// Category codes in `0..k`; a negative code is a missing value.
    Codes {
        codes: ArrayView1<'a, i64>,
        k: usize,
    },
    /// UTF-8 or binary strings in Arrow's layout, in chunks (rows in chunk order).
    Strings(Vec<Strings<'a>>),
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Float { values, .. } => values.len(),
            Column::Int(values) => values.len(),
            Column::Codes { codes, .. } => codes.len(),
            Column::Strings(chunks) => chunks.iter().map(Strings::len).sum(),
        }
    }

    fn check_shapes(&self) -> CoreResult<()> {
        match self {
            Column::Float {
                values,
                exact: Some(exact),
            } if exact.len() != values.len() => Err(CoreError::invalid(format!(
                "exact integers: {} values for {} rows",
                exact.len(),
                values.len()
            ))),
            Column::Strings(chunks) => chunks.iter().try_for_each(Strings::check),
            _ => Ok(()),
        }
    }
}

/// A fast, deterministic hasher (a multiply and a fold per 8 bytes: the keys are numbers
/// and short strings, and sets are never iterated in hash order into a result).
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.write_u64(u64::from_le_bytes([
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
            ]));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(buf));
        }
    }

    fn write_u64(&mut self, key: u64) {
        let m = (u128::from(self.0 ^ key)) * 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

pub(crate) type Fast = BuildHasherDefault<KeyHasher>;

/// The hash of a byte string (what `KeyHasher` makes of its words and length).
#[inline]
fn hash_bytes(bytes: &[u8]) -> u64 {
    let mut h = KeyHasher(bytes.len() as u64);
    h.write(bytes);
    h.finish()
}

/// A byte string with its hash computed once (hash sets then hash a `u64`).
#[derive(Clone, Copy)]
struct Hashed<'a>(u64, &'a [u8]);

impl std::hash::Hash for Hashed<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0);
    }
}

impl PartialEq for Hashed<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0 && self.1 == other.1
    }
}

impl Eq for Hashed<'_> {}

/// The `len <= 8` bytes at `data[at..]` as a zero-padded little-endian word.
#[inline]
fn load_short(data: &[u8], at: usize, len: usize) -> u64 {
    if let Some(word) = data.get(at..at + 8) {
        let w = u64::from_le_bytes([
            word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
        ]);
        if len == 8 {
            w
        } else {
            w & ((1u64 << (8 * len)) - 1)
        }
    } else {
        data[at..at + len]
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }
}

/// The low `len` bytes of a word, for `len` in `0..=8`.
const SHORT_MASKS: [u64; 9] = [
    0,
    0xff,
    0xffff,
    0xff_ffff,
    0xffff_ffff,
    0xff_ffff_ffff,
    0xffff_ffff_ffff,
    0xff_ffff_ffff_ffff,
    u64::MAX,
];

/// Up to this many short values, a domain is scanned whole rather than hashed.
const FEW: usize = 16;

/// The domain of a string column: the values of 8 bytes or less as (length, word) pairs in
/// an open-addressing table (one load, one multiply and a compare per row), longer ones in
/// a [`ByteTable`].
struct StringDomain<'a> {
    short: Vec<(u64, u8)>, // (word, length + 1); length 0 marks an empty slot
    mask: usize,
    /// The short values themselves when there are at most `FEW` of them.
    few: Option<Vec<(u64, u8)>>,
    /// The short values in a table where no two share a slot (`slot & mask`), when one of
    /// at most `DIRECT_MAX` slots is found: a lookup is then one load and a compare.
    direct: Option<(Vec<(u64, u8)>, usize)>,
    long: ByteTable<'a>,
}

/// The largest collision-free table tried for the short values of a domain.
const DIRECT_MAX: usize = 1 << 12;

impl<'a> StringDomain<'a> {
    fn new(values: &'a [Vec<u8>]) -> Self {
        let size = (values.len() * 2).next_power_of_two().max(8);
        let mut d = StringDomain {
            short: vec![(0, 0); size],
            mask: size - 1,
            few: None,
            direct: None,
            long: ByteTable::new(values),
        };
        for v in values.iter().filter(|v| v.len() <= 8) {
            let key = load_short(v, 0, v.len());
            if !d.contains_short(v.len(), key) {
                let mut i = Self::slot(v.len(), key) & d.mask;
                while d.short[i].1 != 0 {
                    i = (i + 1) & d.mask;
                }
                d.short[i] = (key, v.len() as u8 + 1);
            }
        }
        let entries: Vec<(u64, u8)> = d.short.iter().copied().filter(|e| e.1 != 0).collect();
        d.direct = Self::direct_table(&entries);
        if entries.len() <= FEW {
            d.few = Some(entries);
        }
        d
    }

    /// A table holding each entry alone in its slot, the smallest up to `DIRECT_MAX`.
    fn direct_table(entries: &[(u64, u8)]) -> Option<(Vec<(u64, u8)>, usize)> {
        let mut size = (entries.len() * 2).next_power_of_two().max(8);
        while size <= DIRECT_MAX {
            let mask = size - 1;
            let mut table = vec![(0u64, 0u8); size];
            let mut clash = false;
            for &(key, tag) in entries {
                let slot = &mut table[Self::slot(usize::from(tag - 1), key) & mask];
                if slot.1 != 0 {
                    clash = true;
                    break;
                }
                *slot = (key, tag);
            }
            if !clash {
                return Some((table, mask));
            }
            size *= 2;
        }
        None
    }

    #[inline]
    fn slot(len: usize, key: u64) -> usize {
        let m = u128::from(key ^ (len as u64).rotate_right(8)) * 0x9E37_79B9_7F4A_7C15u128;
        ((m >> 64) as u64 ^ m as u64) as usize
    }

    #[inline]
    fn contains_short(&self, len: usize, key: u64) -> bool {
        let tag = len as u8 + 1;
        if let Some((table, mask)) = &self.direct {
            // Only the entry of this slot can hold the value; empty slots have tag 0.
            let (k, t) = table[Self::slot(len, key) & mask];
            return (k == key) & (t == tag);
        }
        if let Some(few) = &self.few {
            // Every entry compared, without a branch: random values mispredict less.
            return few
                .iter()
                .fold(false, |found, &(k, t)| found | ((k == key) & (t == tag)));
        }
        let mut i = Self::slot(len, key) & self.mask;
        loop {
            let (k, t) = self.short[i];
            if t == 0 {
                return false;
            }
            if t == tag && k == key {
                return true;
            }
            i = (i + 1) & self.mask;
        }
    }

    /// How many rows `start..end` of `s` (all present) are outside the domain.
    fn count_outside(&self, s: &Strings<'_>, start: usize, end: usize) -> u32 {
        let Some((table, mask)) = &self.direct else {
            return (start..end)
                .map(|i| u32::from(!self.contains_row(s, i)))
                .sum();
        };
        let mut n = 0u32;
        for (i, w) in s.offsets[start..=end].windows(2).enumerate() {
            let (a, b) = (w[0] as usize, w[1] as usize);
            let len = b - a;
            let inside = if len <= 8 && a + 8 <= s.data.len() {
                let word = u64::from_le_bytes(s.data[a..a + 8].try_into().unwrap());
                let key = word & SHORT_MASKS[len];
                let (k, t) = table[Self::slot(len, key) & mask];
                (k == key) & (usize::from(t) == len + 1)
            } else {
                self.contains_row(s, start + i)
            };
            n += u32::from(!inside);
        }
        n
    }

    /// Whether row `i` (present) of `s` is in the domain.
    #[inline]
    fn contains_row(&self, s: &Strings<'_>, i: usize) -> bool {
        match s.short(i) {
            Some((len, key)) => self.contains_short(len, key),
            None => {
                let b = &s.data[s.offsets[i] as usize..s.offsets[i + 1] as usize];
                self.long.contains(b)
            }
        }
    }
}

/// A small set of byte strings for membership tests: open addressing on the hash, the
/// strings compared only when the hashes agree.
struct ByteTable<'a> {
    slots: Vec<Option<(u64, &'a [u8])>>,
    mask: usize,
}

impl<'a> ByteTable<'a> {
    fn new(values: &'a [Vec<u8>]) -> Self {
        let size = (values.len() * 2).next_power_of_two().max(8);
        let mut t = ByteTable {
            slots: vec![None; size],
            mask: size - 1,
        };
        for v in values {
            let h = hash_bytes(v);
            if !t.contains_hashed(h, v) {
                let mut i = (h as usize) & t.mask;
                while t.slots[i].is_some() {
                    i = (i + 1) & t.mask;
                }
                t.slots[i] = Some((h, v.as_slice()));
            }
        }
        t
    }

    #[inline]
    fn contains_hashed(&self, h: u64, bytes: &[u8]) -> bool {
        let mut i = (h as usize) & self.mask;
        while let Some((sh, sv)) = self.slots[i] {
            if sh == h && sv == bytes {
                return true;
            }
            i = (i + 1) & self.mask;
        }
        false
    }

    #[inline]
    fn contains(&self, bytes: &[u8]) -> bool {
        self.contains_hashed(hash_bytes(bytes), bytes)
    }
}

/// Rows whose integer occurred in an earlier row, with a bitmap when the values span a
/// range not much wider than the column (dense identifiers), else a hash set.
fn int_duplicates(v: &[i64], keep: usize, out: &mut Tally) {
    let (Some(&lo), Some(&hi)) = (v.iter().min(), v.iter().max()) else {
        return;
    };
    let span = (hi as i128 - lo as i128) as u128;
    if span < 16 * v.len() as u128 + 64 {
        let mut bits = vec![0u64; (span / 64) as usize + 1];
        for (i, &x) in v.iter().enumerate() {
            let at = (x as i128 - lo as i128) as usize;
            let (word, bit) = (at / 64, 1u64 << (at % 64));
            if bits[word] & bit != 0 {
                out.hit(i, keep);
            }
            bits[word] |= bit;
        }
        return;
    }
    let mut seen: HashSet<i64, Fast> = HashSet::with_capacity_and_hasher(v.len(), Fast::default());
    for (i, &x) in v.iter().enumerate() {
        if !seen.insert(x) {
            out.hit(i, keep);
        }
    }
}
type KeySet = HashSet<u64, Fast>;

/// The key of a present float value: its bits, with -0.0 read as 0.0.
fn float_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

fn code_of(c: i64, k: usize) -> CoreResult<Option<usize>> {
    if c < 0 {
        return Ok(None);
    }
    let c = c as usize;
    if c >= k {
        return Err(CoreError::invalid(format!(
            "category code {c} out of range 0..{k}"
        )));
    }
    Ok(Some(c))
}

/// A view as a slice, copied only when the view is not contiguous.
fn contiguous<'v, T: Copy>(view: &'v ArrayView1<'_, T>, owned: &'v mut Vec<T>) -> &'v [T] {
    match view.as_slice() {
        Some(s) => s,
        None => {
            *owned = view.to_vec();
            owned
        }
    }
}

// -- inference -------------------------------------------------------------------------

/// What a schema is inferred from, for one column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub rows: usize,
    pub missing: usize,
    /// Smallest and largest present value (float and int columns; infinities included).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Distinct present values, exact up to the cap; `None` when not counted (a float
    /// column asked without distinct counting).
    pub distinct: Option<usize>,
    /// More than `cap` distinct values: `distinct` is a lower bound and no domain is kept.
    pub capped: bool,
    /// Every present value occurs once (only known when distinct values were counted).
    pub unique: bool,
    /// The distinct values in increasing order, when not capped: of a float column
    /// (`values`), an int column (`ints`), a code column (`codes`, the codes present) or a
    /// string column (`strings`, byte order).
    pub values: Vec<f64>,
    pub ints: Vec<i64>,
    pub codes: Vec<usize>,
    pub strings: Vec<Vec<u8>>,
}

/// What to gather of one column for inference.
#[derive(Debug, Clone)]
pub struct ProfileInput<'a> {
    pub column: Column<'a>,
    /// Count distinct values (and judge uniqueness) of a float or int column. Code and
    /// string columns are always counted.
    pub distinct: bool,
}

/// Distinct keys, counted until the cap is passed and a repeat was seen (nothing more to
/// learn then).
struct Distinct<K> {
    seen: HashSet<K, Fast>,
    unique: bool,
    counting: bool,
    cap: usize,
}

impl<K: std::hash::Hash + Eq> Distinct<K> {
    fn new(cap: usize, on: bool) -> Self {
        Distinct {
            seen: HashSet::default(),
            unique: on,
            counting: on,
            cap,
        }
    }

    #[inline]
    fn add(&mut self, key: K) {
        if self.counting {
            self.unique &= self.seen.insert(key);
            self.counting = self.unique || self.seen.len() <= self.cap;
        }
    }

    fn capped(&self) -> bool {
        self.seen.len() > self.cap
    }
}

/// One column's profile; `cap` bounds the distinct values kept as a domain.
pub fn profile_column(input: &ProfileInput<'_>, cap: usize) -> CoreResult<Profile> {
    input.column.check_shapes()?;
    let rows = input.column.len();
    let mut p = Profile {
        rows,
        ..Profile::default()
    };
    match &input.column {
        Column::Float { values, exact } => {
            let mut owned = Vec::new();
            let v = contiguous(values, &mut owned);
            let (missing, lo, hi) = float_stats(v);
            p.missing = missing;
            if missing < rows {
                (p.min, p.max) = (Some(lo), Some(hi));
            }
            let mut d = Distinct::new(cap, input.distinct);
            for (i, &x) in v.iter().enumerate() {
                if !d.counting {
                    break;
                }
                if !x.is_nan() {
                    d.add(exact.as_ref().map_or(float_key(x), |e| e[i] as u64));
                }
            }
            finish_distinct(&mut p, &d, input.distinct);
            // Exact integers beyond 2**53 would merge in float64: their domain is not kept.
            if input.distinct && !d.capped() && exact.is_none() {
                p.values = d.seen.iter().map(|&b| f64::from_bits(b)).collect();
                p.values.sort_by(f64::total_cmp);
            }
        }
        Column::Int(values) => {
            let mut owned = Vec::new();
            let v = contiguous(values, &mut owned);
            if let (Some(lo), Some(hi)) = (v.iter().min(), v.iter().max()) {
                (p.min, p.max) = (Some(*lo as f64), Some(*hi as f64));
            }
            let mut d = Distinct::new(cap, input.distinct);
            for &x in v {
                if !d.counting {
                    break;
                }
                d.add(x);
            }
            finish_distinct(&mut p, &d, input.distinct);
            if input.distinct && !d.capped() {
                p.ints = d.seen.iter().copied().collect();
                p.ints.sort_unstable();
            }
        }
        Column::Codes { codes, k } => {
            let mut counts = vec![0u64; *k];
            for &c in codes.iter() {
                match code_of(c, *k)? {
                    None => p.missing += 1,
                    Some(c) => counts[c] += 1,
                }
            }
            let present: Vec<usize> = (0..*k).filter(|&c| counts[c] > 0).collect();
            p.capped = present.len() > cap;
            p.distinct = Some(present.len());
            p.unique = counts.iter().all(|&n| n <= 1);
            if !p.capped {
                p.codes = present;
            }
        }
        Column::Strings(chunks) => {
            let mut d: Distinct<Hashed<'_>> = Distinct::new(cap, true);
            for s in chunks {
                for i in 0..s.len() {
                    match s.get(i) {
                        None => p.missing += 1,
                        Some(b) => d.add(Hashed(hash_bytes(b), b)),
                    }
                }
            }
            finish_distinct(&mut p, &d, true);
            if !d.capped() {
                p.strings = d.seen.iter().map(|b| b.1.to_vec()).collect();
                p.strings.sort_unstable();
            }
        }
    }
    Ok(p)
}

fn finish_distinct<K: std::hash::Hash + Eq>(p: &mut Profile, d: &Distinct<K>, on: bool) {
    p.distinct = on.then_some(d.seen.len());
    p.capped = on && d.capped();
    p.unique = on && d.unique;
}

/// Missing count, smallest and largest present value, over blocks without branches.
fn float_stats(v: &[f64]) -> (usize, f64, f64) {
    let (mut missing, mut lo, mut hi) = (0usize, f64::INFINITY, f64::NEG_INFINITY);
    for block in v.chunks(BLOCK) {
        let mut m = 0usize;
        let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
        for &x in block {
            m += usize::from(x.is_nan());
            // NaN never wins: `min`/`max` return the other operand.
            a = a.min(x);
            b = b.max(x);
        }
        missing += m;
        lo = lo.min(a);
        hi = hi.max(b);
    }
    (missing, lo, hi)
}

/// The profiles of many columns, in parallel.
pub fn infer(
    inputs: &[ProfileInput<'_>],
    cap: usize,
    progress: &Progress,
) -> CoreResult<Vec<Profile>> {
    progress.add_total(inputs.iter().map(|c| c.column.len() as u64).sum());
    inputs
        .par_iter()
        .map(|input| {
            progress.check()?;
            let out = profile_column(input, cap);
            progress.advance(input.column.len() as u64);
            out
        })
        .collect()
}

// -- validation ------------------------------------------------------------------------

/// The values a column may take.
#[derive(Debug, Clone)]
pub enum Domain {
    /// Float columns: the allowed values.
    Values(Vec<f64>),
    /// Int columns: the allowed values.
    Ints(Vec<i64>),
    /// Code columns: for each code `0..k`, whether its value is in the domain.
    Codes(Vec<bool>),
    /// String columns: the allowed values (bytes).
    Strings(Vec<Vec<u8>>),
}

/// The checks of one column of a batch.
#[derive(Debug, Clone)]
pub struct Rule<'a> {
    pub column: Column<'a>,
    /// Bounds of the present values (float and int columns); NaN bounds are refused.
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub domain: Option<Domain>,
    /// Every present value must be distinct.
    pub unique: bool,
}

/// How many rows break one check, and the first of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub count: usize,
    /// Row positions (0-based), increasing, at most the `examples` asked for.
    pub rows: Vec<usize>,
}

impl Tally {
    #[inline]
    fn hit(&mut self, row: usize, keep: usize) {
        self.count += 1;
        if self.rows.len() < keep {
            self.rows.push(row);
        }
    }

    /// Adds the count of rows `range` (offset by `base`); finds them (with `is`, given a
    /// position in `range`) only while examples are wanted.
    fn add_range(
        &mut self,
        base: usize,
        range: std::ops::Range<usize>,
        count: usize,
        keep: usize,
        is: impl Fn(usize) -> bool,
    ) {
        if count > 0 && self.rows.len() < keep {
            let want = keep - self.rows.len();
            let rows = range.filter(|&i| is(i));
            self.rows.extend(rows.take(want).map(|i| base + i));
        }
        self.count += count;
    }

    /// Adds a block's count; finds its rows (with `is`) only while examples are wanted.
    fn add_block<T: Copy>(
        &mut self,
        start: usize,
        block: &[T],
        count: usize,
        keep: usize,
        is: impl Fn(T) -> bool,
    ) {
        if count > 0 && self.rows.len() < keep {
            let want = keep - self.rows.len();
            let rows = block.iter().enumerate().filter(|(_, &x)| is(x));
            self.rows.extend(rows.take(want).map(|(i, _)| start + i));
        }
        self.count += count;
    }
}

/// What one column of a batch breaks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    pub rows: usize,
    pub missing: Tally,
    pub out_of_range: Tally,
    pub unseen: Tally,
    /// Rows whose key occurred in an earlier row.
    pub duplicate: Tally,
}

fn check_rule(rule: &Rule<'_>) -> CoreResult<()> {
    rule.column.check_shapes()?;
    for (name, bound) in [("min", rule.min), ("max", rule.max)] {
        if bound.is_some_and(f64::is_nan) {
            return Err(CoreError::invalid(format!("{name}: NaN is not a bound")));
        }
    }
    let ranged = rule.min.is_some() || rule.max.is_some();
    match (&rule.column, &rule.domain) {
        (Column::Codes { k, .. }, Some(Domain::Codes(flags))) if flags.len() != *k => Err(
            CoreError::invalid(format!("domain: {} flags for {k} codes", flags.len())),
        ),
        (Column::Codes { .. } | Column::Strings(_), _) if ranged => Err(CoreError::invalid(
            "a range applies to float and int columns only",
        )),
        (Column::Float { .. }, Some(Domain::Values(_)))
        | (Column::Int(_), Some(Domain::Ints(_)))
        | (Column::Codes { .. }, Some(Domain::Codes(_)))
        | (Column::Strings(_), Some(Domain::Strings(_)))
        | (_, None) => Ok(()),
        _ => Err(CoreError::invalid(
            "domain: of another kind than the column",
        )),
    }
}

/// One column's findings, keeping the first `examples` rows of each.
pub fn validate_column(rule: &Rule<'_>, examples: usize) -> CoreResult<Findings> {
    check_rule(rule)?;
    let keep = examples;
    let mut out = Findings {
        rows: rule.column.len(),
        ..Findings::default()
    };
    match &rule.column {
        Column::Float { values, exact } => {
            let mut owned = Vec::new();
            let v = contiguous(values, &mut owned);
            float_pass(v, rule, keep, &mut out);
            if let Some(Domain::Values(allowed)) = &rule.domain {
                let allowed: KeySet = allowed.iter().map(|&x| float_key(x)).collect();
                for (i, &x) in v.iter().enumerate() {
                    if !x.is_nan() && !allowed.contains(&float_key(x)) {
                        out.unseen.hit(i, keep);
                    }
                }
            }
            if rule.unique {
                let mut seen = KeySet::with_capacity_and_hasher(v.len(), Fast::default());
                for (i, &x) in v.iter().enumerate() {
                    if x.is_nan() {
                        continue;
                    }
                    let key = exact.as_ref().map_or(float_key(x), |e| e[i] as u64);
                    if !seen.insert(key) {
                        out.duplicate.hit(i, keep);
                    }
                }
            }
        }
        Column::Int(values) => {
            let mut owned = Vec::new();
            let v = contiguous(values, &mut owned);
            int_pass(v, rule, keep, &mut out);
            if let Some(Domain::Ints(allowed)) = &rule.domain {
                let allowed: HashSet<i64, Fast> = allowed.iter().copied().collect();
                for (i, x) in v.iter().enumerate() {
                    if !allowed.contains(x) {
                        out.unseen.hit(i, keep);
                    }
                }
            }
            if rule.unique {
                int_duplicates(v, keep, &mut out.duplicate);
            }
        }
        Column::Codes { codes, k } => {
            let allowed = match &rule.domain {
                Some(Domain::Codes(flags)) => Some(flags),
                _ => None,
            };
            let mut seen = if rule.unique {
                vec![false; *k]
            } else {
                Vec::new()
            };
            for (i, &c) in codes.iter().enumerate() {
                let Some(c) = code_of(c, *k)? else {
                    out.missing.hit(i, keep);
                    continue;
                };
                if allowed.is_some_and(|flags| !flags[c]) {
                    out.unseen.hit(i, keep);
                }
                if rule.unique {
                    if seen[c] {
                        out.duplicate.hit(i, keep);
                    }
                    seen[c] = true;
                }
            }
        }
        Column::Strings(chunks) => {
            let allowed = match &rule.domain {
                Some(Domain::Strings(values)) => Some(StringDomain::new(values)),
                _ => None,
            };
            let mut seen: HashSet<Hashed<'_>, Fast> = if rule.unique {
                HashSet::with_capacity_and_hasher(out.rows, Fast::default())
            } else {
                HashSet::default()
            };
            let mut base = 0;
            for s in chunks {
                strings_pass(s, base, allowed.as_ref(), keep, &mut out);
                if rule.unique {
                    for i in 0..s.len() {
                        if let Some(b) = s.get(i) {
                            if !seen.insert(Hashed(hash_bytes(b), b)) {
                                out.duplicate.hit(base + i, keep);
                            }
                        }
                    }
                }
                base += s.len();
            }
        }
    }
    Ok(out)
}

/// Missing values and values out of range of a float column, block by block.
fn float_pass(v: &[f64], rule: &Rule<'_>, keep: usize, out: &mut Findings) {
    let lo = rule.min.unwrap_or(f64::NEG_INFINITY);
    let hi = rule.max.unwrap_or(f64::INFINITY);
    let outside = |x: f64| (x < lo) | (x > hi); // false for NaN
    for (b, block) in v.chunks(BLOCK).enumerate() {
        // u32 lanes and no short-circuit: the loop vectorises.
        let (mut m, mut r) = (0u32, 0u32);
        for &x in block {
            m += u32::from(x.is_nan());
            r += u32::from(outside(x));
        }
        let (m, r) = (m as usize, r as usize);
        out.missing
            .add_block(b * BLOCK, block, m, keep, f64::is_nan);
        out.out_of_range
            .add_block(b * BLOCK, block, r, keep, outside);
    }
}

/// Missing values and values outside the domain of one chunk of a string column (its rows
/// from `base`), block by block.
fn strings_pass(
    s: &Strings<'_>,
    base: usize,
    allowed: Option<&StringDomain<'_>>,
    keep: usize,
    out: &mut Findings,
) {
    let n = s.len();
    let mut start = 0;
    while start < n {
        let end = (start + BLOCK).min(n);
        if let Some(valid) = s.valid {
            let m = valid[start..end]
                .iter()
                .map(|&p| u32::from(!p))
                .sum::<u32>();
            out.missing
                .add_range(base, start..end, m as usize, keep, |i| !valid[i]);
        }
        if let (Some(d), None) = (allowed, s.valid) {
            let u = d.count_outside(s, start, end);
            out.unseen
                .add_range(base, start..end, u as usize, keep, |i| {
                    !d.contains_row(s, i)
                });
        } else if let Some(d) = allowed {
            // No short-circuit: a missing row's offsets are valid too, and the loop
            // stays free of unpredictable branches.
            let outside = |i: usize| s.valid.is_none_or(|v| v[i]) & !d.contains_row(s, i);
            let u = (start..end).map(|i| u32::from(outside(i))).sum::<u32>();
            out.unseen
                .add_range(base, start..end, u as usize, keep, outside);
        }
        start = end;
    }
}

/// Values out of range of an int column, block by block (bounds rounded inwards to
/// integers: `x < 2.5` is `x < 3` for an integer).
fn int_pass(v: &[i64], rule: &Rule<'_>, keep: usize, out: &mut Findings) {
    if rule.min.is_none() && rule.max.is_none() {
        return;
    }
    // Saturating casts: an infinite or huge bound is no bound.
    let lo = rule.min.map_or(i64::MIN, |x| x.ceil() as i64);
    let hi = rule.max.map_or(i64::MAX, |x| x.floor() as i64);
    let outside = |x: i64| (x < lo) | (x > hi);
    for (b, block) in v.chunks(BLOCK).enumerate() {
        let r = block.iter().map(|&x| u32::from(outside(x))).sum::<u32>() as usize;
        out.out_of_range
            .add_block(b * BLOCK, block, r, keep, outside);
    }
}

/// The findings of many columns, in parallel.
pub fn validate(
    rules: &[Rule<'_>],
    examples: usize,
    progress: &Progress,
) -> CoreResult<Vec<Findings>> {
    progress.add_total(rules.iter().map(|r| r.column.len() as u64).sum());
    rules
        .par_iter()
        .map(|rule| {
            progress.check()?;
            let out = validate_column(rule, examples);
            progress.advance(rule.column.len() as u64);
            out
        })
        .collect()
}

// -- the schema file in TOML -----------------------------------------------------------

/// A TOML document as JSON text (so the Python side reads one format).
pub fn toml_to_json(text: &str) -> CoreResult<String> {
    let value: toml::Table = toml::from_str(text)
        .map_err(|e| CoreError::invalid(format!("not valid TOML: {}", e.message())))?;
    serde_json::to_string(&value).map_err(|e| CoreError::invalid(format!("TOML to JSON: {e}")))
}

/// JSON text (an object; `null` members are left out, as TOML has no null) as TOML text,
/// keys sorted.
pub fn json_to_toml(text: &str) -> CoreResult<String> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| CoreError::invalid(format!("not valid JSON: {e}")))?;
    let value = without_nulls(value);
    if !value.is_object() {
        return Err(CoreError::invalid(
            "a TOML document is a table (a JSON object)",
        ));
    }
    toml::to_string(&value).map_err(|e| CoreError::invalid(format!("cannot write as TOML: {e}")))
}

fn without_nulls(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn floats(values: &[f64]) -> Column<'_> {
        Column::Float {
            values: ArrayView1::from(values),
            exact: None,
        }
    }

    #[test]
    fn profile_of_integers() {
        let v = [3.0, 1.0, f64::NAN, 2.0, 1.0];
        let p = profile_column(
            &ProfileInput {
                column: floats(&v),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!(p.rows, 5);
        assert_eq!(p.missing, 1);
        assert_eq!((p.min, p.max), (Some(1.0), Some(3.0)));
        assert_eq!(p.distinct, Some(3));
        assert!(!p.unique);
        assert!(!p.capped);
        assert_eq!(p.values, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn profile_caps_the_domain_but_still_judges_uniqueness() {
        let v: Vec<f64> = (0..100).map(f64::from).collect();
        let p = profile_column(
            &ProfileInput {
                column: floats(&v),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert!(p.capped);
        assert!(p.unique);
        assert_eq!(p.distinct, Some(100));
        assert!(p.values.is_empty());
        let mut w = v.clone();
        w.push(5.0);
        let p = profile_column(
            &ProfileInput {
                column: floats(&w),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert!(p.capped && !p.unique);
    }

    #[test]
    fn floats_without_distinct_counting() {
        let v = [0.5, -0.0, 0.0, 0.5];
        let p = profile_column(
            &ProfileInput {
                column: floats(&v),
                distinct: false,
            },
            10,
        )
        .unwrap();
        assert_eq!(p.distinct, None);
        assert!(!p.unique);
        assert_eq!((p.min, p.max), (Some(-0.0), Some(0.5)));
    }

    #[test]
    fn empty_and_all_missing_profiles() {
        let v = [f64::NAN, f64::NAN];
        let p = profile_column(
            &ProfileInput {
                column: floats(&v),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!((p.missing, p.min, p.distinct), (2, None, Some(0)));
        let p = profile_column(
            &ProfileInput {
                column: floats(&[]),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!((p.rows, p.missing), (0, 0));
    }

    #[test]
    fn profile_of_codes() {
        let c = array![2i64, 0, -1, 2];
        let col = Column::Codes {
            codes: c.view(),
            k: 4,
        };
        let p = profile_column(
            &ProfileInput {
                column: col,
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!(p.missing, 1);
        assert_eq!(p.distinct, Some(2));
        assert_eq!(p.codes, vec![0, 2]);
        assert!(!p.unique);
        let bad = array![5i64];
        let col = Column::Codes {
            codes: bad.view(),
            k: 2,
        };
        assert!(profile_column(
            &ProfileInput {
                column: col,
                distinct: true
            },
            10
        )
        .is_err());
    }

    #[test]
    fn exact_keys_tell_apart_what_float64_merges() {
        let big = 1i64 << 60;
        let values = [big as f64, (big + 1) as f64];
        let exact = [big, big + 1];
        let col = Column::Float {
            values: ArrayView1::from(&values[..]),
            exact: Some(ArrayView1::from(&exact[..])),
        };
        let p = profile_column(
            &ProfileInput {
                column: col.clone(),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert!(p.unique);
        assert_eq!(p.distinct, Some(2));
        let rule = Rule {
            column: col,
            min: None,
            max: None,
            domain: None,
            unique: true,
        };
        assert_eq!(validate_column(&rule, 5).unwrap().duplicate.count, 0);
    }

    #[test]
    fn float_findings_with_examples() {
        let v = [1.0, 9.0, f64::NAN, 2.0, 2.0, -4.0, f64::INFINITY, 2.0];
        let rule = Rule {
            column: floats(&v),
            min: Some(0.0),
            max: Some(5.0),
            domain: Some(Domain::Values(vec![1.0, 2.0, 9.0])),
            unique: true,
        };
        let f = validate_column(&rule, 2).unwrap();
        assert_eq!(f.rows, 8);
        assert_eq!(
            f.missing,
            Tally {
                count: 1,
                rows: vec![2]
            }
        );
        assert_eq!(
            f.out_of_range,
            Tally {
                count: 3,
                rows: vec![1, 5]
            }
        );
        assert_eq!(
            f.unseen,
            Tally {
                count: 2,
                rows: vec![5, 6]
            }
        );
        assert_eq!(
            f.duplicate,
            Tally {
                count: 2,
                rows: vec![4, 7]
            }
        );
    }

    #[test]
    fn code_findings() {
        let c = array![0i64, 1, 2, -1, 1, 2];
        let rule = Rule {
            column: Column::Codes {
                codes: c.view(),
                k: 3,
            },
            min: None,
            max: None,
            domain: Some(Domain::Codes(vec![true, true, false])),
            unique: true,
        };
        let f = validate_column(&rule, 5).unwrap();
        assert_eq!(
            f.missing,
            Tally {
                count: 1,
                rows: vec![3]
            }
        );
        assert_eq!(
            f.unseen,
            Tally {
                count: 2,
                rows: vec![2, 5]
            }
        );
        assert_eq!(
            f.duplicate,
            Tally {
                count: 2,
                rows: vec![4, 5]
            }
        );
        assert_eq!(f.out_of_range.count, 0);
    }

    #[test]
    fn malformed_rules_are_errors() {
        let c = array![0i64];
        let rule = Rule {
            column: Column::Codes {
                codes: c.view(),
                k: 1,
            },
            min: None,
            max: None,
            domain: Some(Domain::Codes(vec![true, false])),
            unique: false,
        };
        assert!(validate_column(&rule, 5).is_err());
        let v = [1.0];
        let rule = Rule {
            column: floats(&v),
            min: Some(f64::NAN),
            max: None,
            domain: None,
            unique: false,
        };
        assert!(validate_column(&rule, 5).is_err());
    }

    #[test]
    fn parallel_results_equal_serial_ones() {
        let v: Vec<f64> = (0..10_000).map(|i| f64::from(i % 97)).collect();
        let rules: Vec<Rule<'_>> = (0..8)
            .map(|j| Rule {
                column: floats(&v),
                min: Some(f64::from(j)),
                max: Some(90.0),
                domain: None,
                unique: j % 2 == 0,
            })
            .collect();
        let all = validate(&rules, 3, &Progress::new()).unwrap();
        for (rule, got) in rules.iter().zip(&all) {
            assert_eq!(&validate_column(rule, 3).unwrap(), got);
        }
        assert_eq!(all[0].duplicate.count, 10_000 - 97);
    }

    #[test]
    fn toml_round_trip() {
        let json = r#"{"b": {"x": 1, "gone": null}, "a": [1.5, "s"], "format": "f"}"#;
        let toml_text = json_to_toml(json).unwrap();
        assert!(!toml_text.contains("gone"));
        let back: serde_json::Value =
            serde_json::from_str(&toml_to_json(&toml_text).unwrap()).unwrap();
        assert_eq!(back["b"]["x"], 1);
        assert_eq!(back["a"][0], 1.5);
        assert!(toml_to_json("a = [").is_err());
        assert!(json_to_toml("[1]").is_err());
    }

    #[test]
    fn int_columns() {
        let v = [5i64, 3, 9, 3, 100, 5];
        let col = Column::Int(ArrayView1::from(&v[..]));
        let p = profile_column(
            &ProfileInput {
                column: col.clone(),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!(
            (p.min, p.max, p.distinct, p.unique),
            (Some(3.0), Some(100.0), Some(4), false)
        );
        assert_eq!(p.ints, vec![3, 5, 9, 100]);
        let rule = Rule {
            column: col,
            min: Some(2.5),
            max: Some(9.0),
            domain: Some(Domain::Ints(vec![3, 5])),
            unique: true,
        };
        let f = validate_column(&rule, 5).unwrap();
        assert_eq!(
            f.out_of_range,
            Tally {
                count: 1,
                rows: vec![4]
            }
        );
        assert_eq!(
            f.unseen,
            Tally {
                count: 2,
                rows: vec![2, 4]
            }
        );
        assert_eq!(
            f.duplicate,
            Tally {
                count: 2,
                rows: vec![3, 5]
            }
        );
        assert_eq!(f.missing.count, 0);
    }

    #[test]
    fn sparse_and_dense_int_keys_agree() {
        let dense: Vec<i64> = (0..1000).map(|i| i % 700).collect();
        let sparse: Vec<i64> = dense.iter().map(|&x| x * 1_000_003).collect();
        let (mut a, mut b) = (Tally::default(), Tally::default());
        int_duplicates(&dense, 3, &mut a);
        int_duplicates(&sparse, 3, &mut b);
        assert_eq!(a, b);
        assert_eq!(
            a,
            Tally {
                count: 300,
                rows: vec![700, 701, 702]
            }
        );
        let extremes = [i64::MIN, i64::MAX, i64::MIN];
        let mut c = Tally::default();
        int_duplicates(&extremes, 3, &mut c);
        assert_eq!(
            c,
            Tally {
                count: 1,
                rows: vec![2]
            }
        );
    }

    #[test]
    fn string_columns() {
        let data = b"alphabetagammaalpha";
        let offsets = [0i64, 5, 9, 14, 14, 19];
        let valid = [true, true, true, false, true];
        let s = Strings {
            offsets: &offsets,
            data,
            valid: Some(&valid),
        };
        let col = Column::Strings(vec![s]);
        let p = profile_column(
            &ProfileInput {
                column: col.clone(),
                distinct: true,
            },
            10,
        )
        .unwrap();
        assert_eq!((p.missing, p.distinct, p.unique), (1, Some(3), false));
        assert_eq!(
            p.strings,
            vec![b"alpha".to_vec(), b"beta".to_vec(), b"gamma".to_vec()]
        );
        let p = profile_column(
            &ProfileInput {
                column: col.clone(),
                distinct: true,
            },
            2,
        )
        .unwrap();
        assert!(p.capped && p.strings.is_empty());
        let rule = Rule {
            column: col,
            min: None,
            max: None,
            domain: Some(Domain::Strings(vec![b"alpha".to_vec(), b"gamma".to_vec()])),
            unique: true,
        };
        let f = validate_column(&rule, 5).unwrap();
        assert_eq!(
            f.missing,
            Tally {
                count: 1,
                rows: vec![3]
            }
        );
        assert_eq!(
            f.unseen,
            Tally {
                count: 1,
                rows: vec![1]
            }
        );
        assert_eq!(
            f.duplicate,
            Tally {
                count: 1,
                rows: vec![4]
            }
        );
        let bad = Strings {
            offsets: &[0, 7],
            data: b"abc",
            valid: None,
        };
        let rule = Rule {
            column: Column::Strings(vec![bad]),
            min: None,
            max: None,
            domain: None,
            unique: false,
        };
        assert!(validate_column(&rule, 5).is_err());
        // Offsets out of order, or starting below 0, are refused as well.
        for offsets in [&[0i64, 2, 1, 3][..], &[-1, 1, 2, 3][..], &[0, 1, 4][..]] {
            let bad = Strings {
                offsets,
                data: b"abc",
                valid: None,
            };
            let err = bad.check().unwrap_err().to_string();
            assert!(
                err.contains("out of order or past the data"),
                "{offsets:?}: {err}"
            );
        }
        let fine = Strings {
            offsets: &[0, 1, 1, 3],
            data: b"abc",
            valid: None,
        };
        assert!(fine.check().is_ok());
    }

    #[test]
    fn string_checks_across_blocks_and_chunks() {
        // Rows past one block, in two chunks: counts and first rows as a row-by-row scan.
        let words = ["ab", "zz", "longer-than-eight", ""];
        let make = |n: usize, from: usize| {
            let (mut data, mut offsets, mut valid) = (Vec::new(), vec![0i64], Vec::new());
            for i in from..from + n {
                data.extend_from_slice(words[(i * 7 + i / 13) % 4].as_bytes());
                offsets.push(data.len() as i64);
                valid.push(i % 9 != 4);
            }
            (data, offsets, valid)
        };
        let (n1, n2) = (BLOCK + 77, 2 * BLOCK + 5);
        let (d1, o1, v1) = make(n1, 0);
        let (d2, o2, v2) = make(n2, n1);
        let chunk = |d: &'static [u8], o: &'static [i64], v: &'static [bool]| Strings {
            offsets: o,
            data: d,
            valid: Some(v),
        };
        let leak = |d: Vec<u8>, o: Vec<i64>, v: Vec<bool>| {
            let d: &'static [u8] = Box::leak(d.into_boxed_slice());
            let o: &'static [i64] = Box::leak(o.into_boxed_slice());
            let v: &'static [bool] = Box::leak(v.into_boxed_slice());
            chunk(d, o, v)
        };
        let rule = Rule {
            column: Column::Strings(vec![leak(d1, o1, v1), leak(d2, o2, v2)]),
            min: None,
            max: None,
            domain: Some(Domain::Strings(vec![
                b"ab".to_vec(),
                b"longer-than-eight".to_vec(),
            ])),
            unique: false,
        };
        let f = validate_column(&rule, 4).unwrap();
        let (mut missing, mut unseen) = (Tally::default(), Tally::default());
        for i in 0..n1 + n2 {
            let w = words[(i * 7 + i / 13) % 4];
            if i % 9 == 4 {
                missing.hit(i, 4);
            } else if w == "zz" || w.is_empty() {
                unseen.hit(i, 4);
            }
        }
        assert!(unseen.count > 0 && missing.count > 0);
        assert_eq!((f.missing, f.unseen), (missing, unseen));
    }

    #[test]
    fn string_domain_short_and_long_values() {
        let values: Vec<Vec<u8>> = ["", "a", "ab", "abcdefgh", "abcdefghi", "\u{e9}t\u{e9}"]
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect();
        let d = StringDomain::new(&values);
        let rows = [
            "ab",
            "abc",
            "",
            "abcdefgh",
            "abcdefgi",
            "abcdefghi",
            "abcdefghij",
            "a\0",
        ];
        let mut data = Vec::new();
        let mut offsets = vec![0i64];
        for r in rows {
            data.extend_from_slice(r.as_bytes());
            offsets.push(data.len() as i64);
        }
        let s = Strings {
            offsets: &offsets,
            data: &data,
            valid: None,
        };
        let got: Vec<bool> = (0..rows.len()).map(|i| d.contains_row(&s, i)).collect();
        assert_eq!(got, [true, false, true, true, false, true, false, false]);
        // The counting loop agrees, for every range (rows at the end of the buffer too).
        assert!(d.direct.is_some());
        for start in 0..rows.len() {
            for end in start..=rows.len() {
                let want = got[start..end].iter().filter(|&&b| !b).count() as u32;
                assert_eq!(d.count_outside(&s, start, end), want);
            }
        }
        // Values at the very end of the buffer are read byte by byte.
        assert_eq!(
            load_short(b"xyz", 1, 2),
            u64::from(b'y') | u64::from(b'z') << 8
        );
        assert_eq!(
            load_short(b"xyzxyzxyz", 1, 2),
            u64::from(b'y') | u64::from(b'z') << 8
        );
    }

    #[test]
    fn byte_table_membership() {
        let values: Vec<Vec<u8>> = (0..300)
            .map(|i| format!("value-{i}").into_bytes())
            .collect();
        let t = ByteTable::new(&values);
        assert!(values.iter().all(|v| t.contains(v)));
        assert!(!t.contains(b"value-300") && !t.contains(b"") && !t.contains(b"value"));
    }
}
