//! Mergeable reference profiles: what `compare` needs of a table, in counts that add
//! exactly across partitions.
//!
//! Per column:
//!
//! * numeric: the count of every occupied bucket of the fixed grid (`grid`: about 0.1 %
//!   relative width, an own bucket for each infinity), the missing (NaN) count, and the
//!   exact smallest and largest finite values;
//! * categorical: the exact count of each category, the missing count and, past
//!   `CATEGORY_CAP` distinct categories, the count of the rest (below).
//!
//! **Why merging is exact.** Every stored number is an integer count, a minimum or a
//! maximum: all associative and commutative, so `merge(fit(A), fit(B))` holds the same
//! numbers as `fit(A ∪ B)` for any split, order and grouping, and `format` writes them in
//! one canonical order, so the files are byte-identical. Moments are not accumulated as
//! floating-point sums (whose result depends on the order of additions): the mean and
//! standard deviation a comparison needs are recomputed from the grid (each bucket at its
//! midpoint), within the grid's relative accuracy.
//!
//! **The category cap.** Keeping "the most frequent categories" is not mergeable (a
//! category rare in every part can be frequent in the union). A column keeps instead the
//! categories whose 64-bit hash (BLAKE3 of the UTF-8 name) has at least `level` leading
//! zero bits; `level` starts at 0 (every category) and rises by one while more than
//! `CATEGORY_CAP` categories are kept, the others' counts moving to `other`. The kept set
//! is then a function of the union of categories alone (the smallest level at which at
//! most `CATEGORY_CAP` of them pass), so merging stays exact; a comparison counts both
//! sides' categories at the higher of their two levels.

pub mod compare;
pub mod format;
pub mod grid;

use ndarray::ArrayView1;
use rayon::prelude::*;

use super::compare::Codes;
use crate::core::progress::Progress;
use crate::core::stats::sort::sort_keys;
use crate::core::{CoreError, CoreResult};

/// At most this many categories are counted one by one in a column (see the module).
pub const CATEGORY_CAP: usize = 10_000;
/// The dtype (kind of values) recorded when merged parts disagree.
pub const MIXED_DTYPE: &str = "mixed";

/// The dtype recorded for a column with no value at all (merging with it keeps the other).
pub const NULL_DTYPE: &str = "null";

/// The dtype of merged parts: `NULL_DTYPE` is neutral, `MIXED_DTYPE` absorbs, equal ones
/// stay (associative and commutative, as merging must be).
fn merge_dtype(a: &str, b: &str) -> String {
    if a == b || b == NULL_DTYPE {
        a.to_string()
    } else if a == NULL_DTYPE {
        b.to_string()
    } else {
        MIXED_DTYPE.to_string()
    }
}

/// The counts of a numeric column on the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericProfile {
    /// Occupied buckets, ascending, each with a count above zero.
    pub buckets: Vec<u32>,
    pub counts: Vec<u64>,
    pub missing: u64,
    /// Smallest and largest finite value (`inf` and `-inf` when there is none).
    pub min: f64,
    pub max: f64,
}

/// The counts of a categorical column.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryProfile {
    /// Categories kept have at least this many leading zero bits in their hash.
    pub level: u8,
    /// Kept categories, ascending by their UTF-8 bytes, each with a count above zero.
    pub names: Vec<String>,
    pub counts: Vec<u64>,
    /// Present values of the categories not kept.
    pub other: u64,
    pub missing: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Numeric(NumericProfile),
    Categorical(CategoryProfile),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnProfile {
    pub name: String,
    /// The dtype of the values profiled (as the caller names it), or `MIXED_DTYPE`.
    pub dtype: String,
    pub data: ColumnData,
}

/// A table's profile: its columns in table order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    pub columns: Vec<ColumnProfile>,
}

/// One column to profile.
pub enum ColumnValues<'a> {
    /// NaN marks a missing value.
    Numeric(ArrayView1<'a, f64>),
    /// Codes in `0..labels.len()`, negative for a missing value; `labels` name the codes
    /// (two codes may share a name: their counts add).
    Categorical {
        codes: Codes<'a>,
        labels: &'a [String],
    },
}

pub struct ColumnInput<'a> {
    pub name: String,
    pub dtype: String,
    pub values: ColumnValues<'a>,
}

impl NumericProfile {
    pub fn fit(values: ArrayView1<'_, f64>) -> NumericProfile {
        let mut keys: Vec<u64> = Vec::with_capacity(values.len());
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        let mut missing = 0u64;
        for &x in values.iter() {
            if x.is_nan() {
                missing += 1;
                continue;
            }
            if x.is_finite() {
                min = min.min(x);
                max = max.max(x);
            }
            keys.push(u64::from(grid::bucket(x)));
        }
        sort_keys(&mut keys);
        let mut buckets: Vec<u32> = Vec::new();
        let mut counts: Vec<u64> = Vec::new();
        for k in keys {
            // Every key came from a u32 bucket.
            let b = k as u32;
            match (buckets.last(), counts.last_mut()) {
                (Some(&last), Some(c)) if last == b => *c += 1,
                _ => {
                    buckets.push(b);
                    counts.push(1);
                }
            }
        }
        NumericProfile {
            buckets,
            counts,
            missing,
            // -0.0 and 0.0 are one value: store the canonical zero.
            min: if min == 0.0 { 0.0 } else { min },
            max: if max == 0.0 { 0.0 } else { max },
        }
    }

    pub fn merge(&self, other: &NumericProfile) -> NumericProfile {
        let mut buckets = Vec::with_capacity(self.buckets.len().max(other.buckets.len()));
        let mut counts = Vec::with_capacity(buckets.capacity());
        let (mut i, mut j) = (0, 0);
        while i < self.buckets.len() || j < other.buckets.len() {
            let a = self.buckets.get(i).copied().unwrap_or(u32::MAX);
            let b = other.buckets.get(j).copied().unwrap_or(u32::MAX);
            if a == b {
                buckets.push(a);
                counts.push(self.counts[i] + other.counts[j]);
                i += 1;
                j += 1;
            } else if a < b {
                buckets.push(a);
                counts.push(self.counts[i]);
                i += 1;
            } else {
                buckets.push(b);
                counts.push(other.counts[j]);
                j += 1;
            }
        }
        NumericProfile {
            buckets,
            counts,
            missing: self.missing + other.missing,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
        }
    }

    /// Values present (infinities included).
    pub fn present(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `n` values drawn (seeded) from the column's distribution as the grid knows it: a
    /// bucket with probability proportional to its count, then a value uniform within the
    /// bucket clipped to the column's exact extremes (so a bucket holding one repeated
    /// value, such as the smallest, gives that value). Refuses columns with no finite
    /// value or with infinite values (their distribution has no finite sample).
    pub fn sample<R: rand::Rng>(&self, n: usize, rng: &mut R) -> CoreResult<Vec<f64>> {
        let (ninf, pinf) = (grid::neg_inf(), grid::pos_inf());
        if self.count_of(ninf) > 0 || self.count_of(pinf) > 0 {
            return Err(CoreError::invalid(
                "the column holds infinite values; it cannot be sampled",
            ));
        }
        let total = self.present();
        if total == 0 {
            return Err(CoreError::invalid("the column has no value to sample"));
        }
        let mut cumulative = Vec::with_capacity(self.counts.len());
        let mut acc = 0u64;
        for &c in &self.counts {
            acc += c;
            cumulative.push(acc);
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let u = rng.gen_range(0..total);
            // The first bucket whose cumulative count exceeds `u`.
            let i = cumulative.partition_point(|&c| c <= u);
            let b = self.buckets[i.min(self.buckets.len() - 1)];
            let lo = grid::lower(b).max(self.min);
            let hi = grid::upper(b).min(self.max);
            let v = if hi > lo {
                lo + rng.gen::<f64>() * (hi - lo)
            } else {
                lo
            };
            out.push(v);
        }
        Ok(out)
    }

    /// Count in the bucket of `b` (0 when it is empty).
    pub fn count_of(&self, b: u32) -> u64 {
        match self.buckets.binary_search(&b) {
            Ok(i) => self.counts[i],
            Err(_) => 0,
        }
    }
}

/// The 64-bit hash that decides whether a category is kept past the cap.
pub fn category_hash(name: &str) -> u64 {
    let h = blake3::hash(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

fn kept(name: &str, level: u8) -> bool {
    level == 0 || category_hash(name).leading_zeros() >= u32::from(level)
}

impl CategoryProfile {
    pub fn fit(codes: &Codes<'_>, labels: &[String]) -> CoreResult<CategoryProfile> {
        let (counts, missing) = codes.bincount(labels.len())?;
        let mut pairs: Vec<(&str, u64)> = labels
            .iter()
            .zip(counts)
            .filter(|(_, c)| *c > 0)
            .map(|(l, c)| (l.as_str(), c))
            .collect();
        pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut names: Vec<String> = Vec::with_capacity(pairs.len());
        let mut out: Vec<u64> = Vec::with_capacity(pairs.len());
        for (name, c) in pairs {
            match (names.last(), out.last_mut()) {
                (Some(last), Some(n)) if last == name => *n += c,
                _ => {
                    names.push(name.to_string());
                    out.push(c);
                }
            }
        }
        let mut p = CategoryProfile {
            level: 0,
            names,
            counts: out,
            other: 0,
            missing: missing as u64,
        };
        p.cap();
        Ok(p)
    }

    /// Raises the level until at most `CATEGORY_CAP` categories are kept.
    fn cap(&mut self) {
        while self.names.len() > CATEGORY_CAP && self.level < 64 {
            self.level += 1;
            self.keep_level(self.level);
        }
    }

    /// Moves the categories not kept at `level` to `other`.
    fn keep_level(&mut self, level: u8) {
        let mut names = Vec::with_capacity(self.names.len());
        let mut counts = Vec::with_capacity(self.names.len());
        for (n, c) in self.names.drain(..).zip(self.counts.drain(..)) {
            if kept(&n, level) {
                names.push(n);
                counts.push(c);
            } else {
                self.other += c;
            }
        }
        self.level = level;
        self.names = names;
        self.counts = counts;
    }

    /// This profile seen at a level at least its own.
    pub fn at_level(&self, level: u8) -> CategoryProfile {
        let mut p = self.clone();
        if level > p.level {
            p.keep_level(level);
        }
        p
    }

    pub fn merge(&self, other: &CategoryProfile) -> CategoryProfile {
        let level = self.level.max(other.level);
        let (a, b) = (self.at_level(level), other.at_level(level));
        let mut names = Vec::with_capacity(a.names.len() + b.names.len());
        let mut counts = Vec::with_capacity(names.capacity());
        let (mut i, mut j) = (0, 0);
        while i < a.names.len() || j < b.names.len() {
            let order = match (a.names.get(i), b.names.get(j)) {
                (Some(x), Some(y)) => x.as_bytes().cmp(y.as_bytes()),
                (Some(_), None) => std::cmp::Ordering::Less,
                _ => std::cmp::Ordering::Greater,
            };
            match order {
                std::cmp::Ordering::Equal => {
                    names.push(a.names[i].clone());
                    counts.push(a.counts[i] + b.counts[j]);
                    i += 1;
                    j += 1;
                }
                std::cmp::Ordering::Less => {
                    names.push(a.names[i].clone());
                    counts.push(a.counts[i]);
                    i += 1;
                }
                std::cmp::Ordering::Greater => {
                    names.push(b.names[j].clone());
                    counts.push(b.counts[j]);
                    j += 1;
                }
            }
        }
        let mut p = CategoryProfile {
            level,
            names,
            counts,
            other: a.other + b.other,
            missing: a.missing + b.missing,
        };
        p.cap();
        p
    }

    pub fn present(&self) -> u64 {
        self.counts.iter().sum::<u64>() + self.other
    }
}

impl ColumnData {
    pub fn kind(&self) -> &'static str {
        match self {
            ColumnData::Numeric(_) => "numeric",
            ColumnData::Categorical(_) => "categorical",
        }
    }

    pub fn missing(&self) -> u64 {
        match self {
            ColumnData::Numeric(p) => p.missing,
            ColumnData::Categorical(p) => p.missing,
        }
    }

    pub fn present(&self) -> u64 {
        match self {
            ColumnData::Numeric(p) => p.present(),
            ColumnData::Categorical(p) => p.present(),
        }
    }
}

impl Profile {
    /// Profiles every column, in parallel.
    pub fn fit(columns: &[ColumnInput<'_>], progress: &Progress) -> CoreResult<Profile> {
        for (i, c) in columns.iter().enumerate() {
            if columns[..i].iter().any(|o| o.name == c.name) {
                return Err(CoreError::invalid(format!(
                    "two columns are named {:?}",
                    c.name
                )));
            }
        }
        progress.add_total(columns.len() as u64);
        let columns = columns
            .par_iter()
            .map(|c| {
                progress.check()?;
                let data = match &c.values {
                    ColumnValues::Numeric(v) => ColumnData::Numeric(NumericProfile::fit(v.view())),
                    ColumnValues::Categorical { codes, labels } => ColumnData::Categorical(
                        CategoryProfile::fit(codes, labels).map_err(|e| match e {
                            CoreError::InvalidInput(m) => {
                                CoreError::InvalidInput(format!("column {:?}: {m}", c.name))
                            }
                            other => other,
                        })?,
                    ),
                };
                progress.advance(1);
                Ok(ColumnProfile {
                    name: c.name.clone(),
                    dtype: c.dtype.clone(),
                    data,
                })
            })
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(Profile { columns })
    }

    /// The profile of both tables together. The columns must be the same, in the same
    /// order and of the same kinds.
    pub fn merge(&self, other: &Profile) -> CoreResult<Profile> {
        let names = |p: &Profile| p.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if names(self) != names(other) {
            return Err(CoreError::invalid(format!(
                "other: the profiles have different columns ({:?} vs {:?}); profiles merge \
                 only when they describe the same columns in the same order",
                names(self),
                names(other)
            )));
        }
        let columns = self
            .columns
            .iter()
            .zip(&other.columns)
            .map(|(a, b)| {
                let data = match (&a.data, &b.data) {
                    (ColumnData::Numeric(x), ColumnData::Numeric(y)) => {
                        ColumnData::Numeric(x.merge(y))
                    }
                    (ColumnData::Categorical(x), ColumnData::Categorical(y)) => {
                        ColumnData::Categorical(x.merge(y))
                    }
                    _ => {
                        return Err(CoreError::invalid(format!(
                            "other: column {:?} is {} in one profile and {} in the other",
                            a.name,
                            a.data.kind(),
                            b.data.kind()
                        )))
                    }
                };
                let dtype = merge_dtype(&a.dtype, &b.dtype);
                Ok(ColumnProfile {
                    name: a.name.clone(),
                    dtype,
                    data,
                })
            })
            .collect::<CoreResult<Vec<_>>>()?;
        Ok(Profile { columns })
    }

    pub fn column(&self, name: &str) -> Option<&ColumnProfile> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array1;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn table(n: usize, seed: u64) -> (Vec<f64>, Vec<i64>, Vec<String>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x: Vec<f64> = (0..n)
            .map(|i| match i % 97 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => -0.0,
                _ => rng.gen::<f64>() * 200.0 - 100.0,
            })
            .collect();
        let labels: Vec<String> = (0..50).map(|i| format!("c{}", i % 40)).collect();
        let codes: Vec<i64> = (0..n)
            .map(|i| {
                if i % 31 == 0 {
                    -1
                } else {
                    rng.gen_range(0..50)
                }
            })
            .collect();
        (x, codes, labels)
    }

    #[test]
    fn samples_follow_the_grid_distribution() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x: Vec<f64> = (0..20_000).map(|_| rng.gen::<f64>() * 10.0 - 3.0).collect();
        let p = NumericProfile::fit(Array1::from(x.clone()).view());
        let draws = p.sample(20_000, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        assert!(draws.iter().all(|v| (p.min..=p.max).contains(v)));
        // Every draw lies in an occupied bucket, and the two samples' KS distance is small
        // (the grid is 0.1 % wide; sampling error ~ 1/sqrt(n)).
        assert!(draws.iter().all(|&v| p.count_of(grid::bucket(v)) > 0));
        let (mut a, mut b) = (x, draws.clone());
        a.sort_by(f64::total_cmp);
        b.sort_by(f64::total_cmp);
        let mut d = 0.0f64;
        for q in [-2.0, 0.0, 1.5, 4.0, 6.5] {
            let fa = a.partition_point(|&v| v <= q) as f64 / a.len() as f64;
            let fb = b.partition_point(|&v| v <= q) as f64 / b.len() as f64;
            d = d.max((fa - fb).abs());
        }
        assert!(d < 0.02, "{d}");
        let again = p.sample(20_000, &mut ChaCha8Rng::seed_from_u64(4)).unwrap();
        assert_eq!(draws, again);
        // A constant column gives its value back; infinities and empty columns refuse.
        let c = NumericProfile::fit(Array1::from(vec![2.5; 10]).view());
        assert_eq!(c.sample(3, &mut rng).unwrap(), vec![2.5; 3]);
        let inf = NumericProfile::fit(Array1::from(vec![1.0, f64::INFINITY]).view());
        assert!(inf.sample(3, &mut rng).is_err());
        let empty = NumericProfile::fit(Array1::from(vec![f64::NAN]).view());
        assert!(empty.sample(3, &mut rng).is_err());
    }

    fn fit(x: &[f64], codes: &[i64], labels: &[String]) -> Profile {
        let x = Array1::from(x.to_vec());
        let c = Array1::from(codes.to_vec());
        let cols = vec![
            ColumnInput {
                name: "x".into(),
                dtype: "float64".into(),
                values: ColumnValues::Numeric(x.view()),
            },
            ColumnInput {
                name: "c".into(),
                dtype: "object".into(),
                values: ColumnValues::Categorical {
                    codes: Codes::I64(c.view()),
                    labels,
                },
            },
        ];
        Profile::fit(&cols, &Progress::new()).unwrap()
    }

    #[test]
    fn merge_is_exact_for_any_split_order_and_grouping() {
        let (x, codes, labels) = table(5000, 1);
        let whole = format::to_bytes(&fit(&x, &codes, &labels));
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..20 {
            // Random cut points, random part order, random grouping of the merges.
            let mut cuts: Vec<usize> = (0..rng.gen_range(1..6))
                .map(|_| rng.gen_range(0..=x.len()))
                .collect();
            cuts.push(0);
            cuts.push(x.len());
            cuts.sort_unstable();
            let mut parts: Vec<Profile> = cuts
                .windows(2)
                .map(|w| fit(&x[w[0]..w[1]], &codes[w[0]..w[1]], &labels))
                .collect();
            while parts.len() > 1 {
                let i = rng.gen_range(0..parts.len());
                let a = parts.swap_remove(i);
                let j = rng.gen_range(0..parts.len());
                let b = parts.swap_remove(j);
                let m = if rng.gen::<bool>() {
                    a.merge(&b)
                } else {
                    b.merge(&a)
                };
                parts.push(m.unwrap());
            }
            assert_eq!(format::to_bytes(&parts[0]), whole);
        }
    }

    #[test]
    fn counts_missing_and_extremes() {
        let (x, codes, labels) = table(1000, 2);
        let p = fit(&x, &codes, &labels);
        let ColumnData::Numeric(n) = &p.columns[0].data else {
            panic!("numeric")
        };
        assert_eq!(n.missing, x.iter().filter(|v| v.is_nan()).count() as u64);
        assert_eq!(n.present() + n.missing, 1000);
        assert_eq!(n.count_of(grid::pos_inf()), 11);
        let finite: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
        assert_eq!(n.min, finite.iter().copied().fold(f64::INFINITY, f64::min));
        assert_eq!(
            n.max,
            finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        );
        let ColumnData::Categorical(c) = &p.columns[1].data else {
            panic!("categorical")
        };
        // Labels c0..c39 repeat: codes 40..49 share names with 0..9.
        assert_eq!(c.names.len(), 40);
        assert_eq!(c.missing, codes.iter().filter(|&&v| v < 0).count() as u64);
        assert_eq!(c.present() + c.missing, 1000);
    }

    #[test]
    fn category_cap_keeps_a_hash_chosen_subset_exactly() {
        let n = CATEGORY_CAP * 3;
        let labels: Vec<String> = (0..n).map(|i| format!("id{i}")).collect();
        let codes: Vec<i64> = (0..n as i64).chain(0..100).collect();
        let x = vec![0.0; codes.len()];
        let whole = fit(&x, &codes, &labels);
        let ColumnData::Categorical(c) = &whole.columns[1].data else {
            panic!("categorical")
        };
        assert!(c.level >= 2 && c.names.len() <= CATEGORY_CAP);
        assert_eq!(c.present(), codes.len() as u64);
        let half = codes.len() / 2;
        let a = fit(&x[..half], &codes[..half], &labels);
        let b = fit(&x[half..], &codes[half..], &labels);
        assert_eq!(
            format::to_bytes(&a.merge(&b).unwrap()),
            format::to_bytes(&whole)
        );
    }

    #[test]
    fn merge_refuses_other_columns() {
        let (x, codes, labels) = table(100, 3);
        let p = fit(&x, &codes, &labels);
        let mut q = p.clone();
        q.columns.swap(0, 1);
        assert!(p.merge(&q).is_err());
        let bad = Array1::from(vec![99i64]);
        let cols = vec![ColumnInput {
            name: "c".into(),
            dtype: "object".into(),
            values: ColumnValues::Categorical {
                codes: Codes::I64(bad.view()),
                labels: &labels,
            },
        }];
        assert!(Profile::fit(&cols, &Progress::new()).is_err());
    }
}
