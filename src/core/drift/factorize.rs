//! Joint category codes of a text column's two sides, read from Arrow's string layout
//! (offsets and bytes, `data::schema::Strings`) without making a Python object per value.
//!
//! Codes are given in order of first appearance: the reference's rows first, then the
//! current's. That is the order `pandas.factorize` gives each side and then the union of
//! both sides' values (`mlsentry.drift.compare`'s joint coding), so the codes, labels and
//! every count-based result are the same as through pandas. Values are equal when their
//! bytes are (for UTF-8 text, when the strings are). Missing values get `-1`.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::core::data::schema::{Fast, Strings};
use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

/// The joint coding of one column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JointCodes<'a> {
    /// Codes of each side's rows, `-1` for a missing value.
    pub reference: Vec<i32>,
    pub current: Vec<i32>,
    /// The value of each code (its bytes, borrowed from the input).
    pub values: Vec<&'a [u8]>,
    /// Rows of each side holding each code.
    pub reference_counts: Vec<u64>,
    pub current_counts: Vec<u64>,
}

/// Codes of the values of up to 7 bytes, keyed by their bytes and length packed in one
/// word (`pack`): an open-addressing table, one multiply and a compare per lookup.
struct ShortCodes {
    slots: Vec<(u64, i32)>, // code -1: empty
    used: usize,
}

impl ShortCodes {
    fn new() -> Self {
        ShortCodes {
            slots: vec![(0, -1); 16],
            used: 0,
        }
    }

    #[inline]
    fn slot(&self, key: u64) -> usize {
        let mask = self.slots.len() - 1;
        ((key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize) & mask
    }

    /// The code of `key`, or `fresh` (inserted) when it has none.
    #[inline]
    fn code(&mut self, key: u64, fresh: i32) -> i32 {
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            let (k, c) = self.slots[i];
            if c < 0 {
                break;
            }
            if k == key {
                return c;
            }
            i = (i + 1) & mask;
        }
        self.slots[i] = (key, fresh);
        self.used += 1;
        if self.used * 2 > self.slots.len() {
            self.grow();
        }
        fresh
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let old = std::mem::replace(&mut self.slots, vec![(0, -1); size]);
        let mask = self.slots.len() - 1;
        for (k, c) in old.into_iter().filter(|s| s.1 >= 0) {
            let mut i = self.slot(k);
            while self.slots[i].1 >= 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = (k, c);
        }
    }
}

/// Value `i` of a chunk when it has at most 7 bytes, as one word: its bytes (little-endian)
/// and its length in the top byte, so `"a"` and `"a\0"` differ.
#[inline]
fn packed(chunk: &Strings<'_>, i: usize) -> Option<u64> {
    match chunk.short(i) {
        Some((len, word)) if len <= 7 => Some(word | ((len as u64) << 56)),
        _ => None,
    }
}

/// Codes both sides of one column (see the module). Either side may be empty (no chunk):
/// the other is then coded alone.
pub fn factorize_pair<'a>(
    reference: &[Strings<'a>],
    current: &[Strings<'a>],
) -> CoreResult<JointCodes<'a>> {
    for chunk in reference.iter().chain(current) {
        chunk.check()?;
    }
    let mut short = ShortCodes::new();
    let mut long: HashMap<&'a [u8], i32, Fast> = HashMap::default();
    let mut out = JointCodes::default();
    for (chunks, is_reference) in [(reference, true), (current, false)] {
        let mut codes: Vec<i32> = Vec::with_capacity(chunks.iter().map(Strings::len).sum());
        for chunk in chunks {
            for i in 0..chunk.len() {
                if chunk.valid.is_some_and(|v| !v[i]) {
                    codes.push(-1);
                    continue;
                }
                let next = out.values.len();
                let fresh = i32::try_from(next).map_err(|_| {
                    CoreError::invalid("strings: more than 2**31 - 1 distinct values in a column")
                })?;
                let code = match packed(chunk, i) {
                    Some(key) => short.code(key, fresh),
                    None => *long
                        .entry(chunk.get(i).unwrap_or_default())
                        .or_insert(fresh),
                } as usize;
                if code == next {
                    out.values.push(chunk.get(i).unwrap_or_default());
                    out.reference_counts.push(0);
                    out.current_counts.push(0);
                }
                if is_reference {
                    out.reference_counts[code] += 1;
                } else {
                    out.current_counts[code] += 1;
                }
                codes.push(code as i32);
            }
        }
        if is_reference {
            out.reference = codes;
        } else {
            out.current = codes;
        }
    }
    Ok(out)
}

/// One column to code: the chunks of its reference and current sides.
pub struct TextPair<'a> {
    pub name: String,
    pub reference: Vec<Strings<'a>>,
    pub current: Vec<Strings<'a>>,
}

/// Codes every column, columns in parallel (each column by one thread: the codes do not
/// depend on the thread count).
pub fn factorize_columns<'a>(
    columns: &[TextPair<'a>],
    progress: &Progress,
) -> CoreResult<Vec<JointCodes<'a>>> {
    progress.add_total(columns.len() as u64);
    columns
        .par_iter()
        .map(|c| {
            progress.check()?;
            let out = factorize_pair(&c.reference, &c.current).map_err(|e| match e {
                CoreError::InvalidInput(m) => {
                    CoreError::InvalidInput(format!("column {:?}: {m}", c.name))
                }
                other => other,
            });
            progress.advance(1);
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Arrow layout of `values` (None = missing).
    fn layout(values: &[Option<&str>]) -> (Vec<i64>, Vec<u8>, Vec<bool>) {
        let mut offsets = vec![0i64];
        let mut data = Vec::new();
        let mut valid = Vec::new();
        for v in values {
            data.extend_from_slice(v.unwrap_or("").as_bytes());
            offsets.push(data.len() as i64);
            valid.push(v.is_some());
        }
        (offsets, data, valid)
    }

    fn strings<'a>(l: &'a (Vec<i64>, Vec<u8>, Vec<bool>)) -> Strings<'a> {
        Strings {
            offsets: &l.0,
            data: &l.1,
            valid: Some(&l.2),
        }
    }

    #[test]
    fn codes_follow_first_appearance_over_both_sides() {
        let r1 = layout(&[Some("b"), None, Some("a"), Some("b")]);
        let r2 = layout(&[Some(""), Some("é")]);
        let c = layout(&[Some("z"), Some("a"), None, Some("é"), Some("y"), Some("z")]);
        let out = factorize_pair(&[strings(&r1), strings(&r2)], &[strings(&c)]).unwrap();
        assert_eq!(out.reference, vec![0, -1, 1, 0, 2, 3]);
        assert_eq!(out.current, vec![4, 1, -1, 3, 5, 4]);
        let values: Vec<&str> = out
            .values
            .iter()
            .map(|v| std::str::from_utf8(v).unwrap())
            .collect();
        assert_eq!(values, vec!["b", "a", "", "é", "z", "y"]);
        assert_eq!(out.reference_counts, vec![2, 1, 1, 1, 0, 0]);
        assert_eq!(out.current_counts, vec![0, 1, 0, 1, 2, 1]);
    }

    #[test]
    fn short_and_long_values_and_many_of_them() {
        // Values of 7 bytes and less go to the packed table, longer ones to the hash map;
        // a value and the same bytes with a trailing NUL are two values.
        let words: Vec<String> = (0..5000)
            .map(|i| format!("{}", i * 7919 % 100_003))
            .collect();
        let mut vals: Vec<Option<&str>> = words.iter().map(|w| Some(w.as_str())).collect();
        vals.extend([
            Some("a"),
            Some("a\0"),
            Some("a long value of many bytes"),
            Some("a"),
        ]);
        let l = layout(&vals);
        let out = factorize_pair(&[strings(&l)], &[]).unwrap();
        assert_eq!(out.values.len(), 5003);
        assert_eq!(out.reference[5003], out.reference[5000]);
        assert_ne!(out.reference[5000], out.reference[5001]);
        for (i, &c) in out.reference.iter().enumerate() {
            assert_eq!(out.values[c as usize], vals[i].unwrap().as_bytes());
        }
    }

    #[test]
    fn one_side_alone_and_bad_offsets() {
        let r = layout(&[Some("x"), Some("x"), None]);
        let out = factorize_pair(&[strings(&r)], &[]).unwrap();
        assert_eq!(out.reference, vec![0, 0, -1]);
        assert!(out.current.is_empty());
        assert_eq!(out.current_counts, vec![0]);
        assert_eq!(out.reference_counts, vec![2]);
        let bad = Strings {
            offsets: &[0, 5],
            data: b"ab",
            valid: None,
        };
        assert!(factorize_pair(std::slice::from_ref(&bad), &[]).is_err());
        let cols = [TextPair {
            name: "c".into(),
            reference: vec![bad],
            current: vec![],
        }];
        let err = factorize_columns(&cols, &Progress::new()).unwrap_err();
        assert!(err.to_string().contains("column \"c\""), "{err}");
    }
}
