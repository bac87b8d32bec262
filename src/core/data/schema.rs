//! Schema inference and validation of a table, one column at a time and the columns in
//! parallel.
//!
//! A column reaches the core as float64 values (numbers, booleans as 0/1, nanoseconds of
//! dates; NaN is missing) or as category codes in `0..k` (negative is missing) whose values
//! the caller holds. One pass over a column gathers what a schema is inferred from
//! ([`infer`]: missing count, range, distinct values up to a cap, whether every value is
//! distinct) or what a batch breaks ([`validate`]: missing values, values out of range,
//! values outside the domain, repeated keys), each with the first rows where it happens.
//! Results do not depend on the thread count: each column is read in row order by one
//! thread.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};

use ndarray::ArrayView1;
use rayon::prelude::*;

use crate::core::progress::Progress;
use crate::core::{CoreError, CoreResult};

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
    /// Category codes in `0..k`; a negative code is a missing value.
    Codes {
        codes: ArrayView1<'a, i64>,
        k: usize,
    },
}

impl Column<'_> {
    fn len(&self) -> usize {
        match self {
            Column::Float { values, .. } => values.len(),
            Column::Codes { codes, .. } => codes.len(),
        }
    }

    fn check_shapes(&self) -> CoreResult<()> {
        if let Column::Float {
            values,
            exact: Some(exact),
        } = self
        {
            if exact.len() != values.len() {
                return Err(CoreError::invalid(format!(
                    "exact integers: {} values for {} rows",
                    exact.len(),
                    values.len()
                )));
            }
        }
        Ok(())
    }
}

/// A fast, deterministic hasher for 64-bit keys (a multiply and a fold: the keys are
/// numbers, not attacker-chosen strings, and are never iterated in hash order).
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, key: u64) {
        let m = (u128::from(self.0 ^ key)) * 0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835u128;
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

type KeySet = HashSet<u64, BuildHasherDefault<KeyHasher>>;

/// The key of a present float value: its bits, with -0.0 read as 0.0.
fn float_key(v: f64) -> u64 {
    if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// The distinctness key of row `i` (present).
fn row_key(values: &ArrayView1<'_, f64>, exact: &Option<ArrayView1<'_, i64>>, i: usize) -> u64 {
    match exact {
        Some(e) => e[i] as u64,
        None => float_key(values[i]),
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

// -- inference -------------------------------------------------------------------------

/// What a schema is inferred from, for one column.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub rows: usize,
    pub missing: usize,
    /// Smallest and largest present value (float columns; infinities included).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Distinct present values, exact up to the cap; `None` when not counted (a float
    /// column asked without distinct counting).
    pub distinct: Option<usize>,
    /// More than `cap` distinct values: `distinct` is a lower bound and no domain is kept.
    pub capped: bool,
    /// Every present value occurs once (only known when distinct values were counted).
    pub unique: bool,
    /// The distinct values in increasing order (float columns, when not capped).
    pub values: Vec<f64>,
    /// The codes present, in increasing order (code columns, when not capped).
    pub codes: Vec<usize>,
}

/// What to gather of one column for inference.
#[derive(Debug, Clone)]
pub struct ProfileInput<'a> {
    pub column: Column<'a>,
    /// Count distinct values (and judge uniqueness): integers, booleans, dates. Code
    /// columns are always counted.
    pub distinct: bool,
}

/// One column's profile; `cap` bounds the distinct values kept as a domain.
pub fn profile_column(input: &ProfileInput<'_>, cap: usize) -> CoreResult<Profile> {
    input.column.check_shapes()?;
    match &input.column {
        Column::Float { values, exact } => Ok(profile_floats(values, exact, input.distinct, cap)),
        Column::Codes { codes, k } => profile_codes(codes, *k, cap),
    }
}

fn profile_floats(
    values: &ArrayView1<'_, f64>,
    exact: &Option<ArrayView1<'_, i64>>,
    distinct: bool,
    cap: usize,
) -> Profile {
    let mut missing = 0usize;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut seen = KeySet::default();
    let mut unique = distinct;
    let mut counting = distinct;
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() {
            missing += 1;
            continue;
        }
        lo = lo.min(v);
        hi = hi.max(v);
        if counting {
            let fresh = seen.insert(row_key(values, exact, i));
            unique &= fresh;
            // Past the cap and with a repeat seen, nothing more is to be learnt.
            counting = unique || seen.len() <= cap;
        }
    }
    let present = values.len() - missing;
    let capped = distinct && seen.len() > cap;
    let mut kept = Vec::new();
    if distinct && !capped {
        // Exact integers beyond 2**53 would merge in float64: their domain is not kept.
        if exact.is_none() {
            kept = seen.iter().map(|&b| f64::from_bits(b)).collect();
            kept.sort_by(f64::total_cmp);
        }
    }
    Profile {
        rows: values.len(),
        missing,
        min: (present > 0).then_some(lo),
        max: (present > 0).then_some(hi),
        distinct: distinct.then_some(seen.len()),
        capped,
        unique: distinct && unique,
        values: kept,
        codes: Vec::new(),
    }
}

fn profile_codes(codes: &ArrayView1<'_, i64>, k: usize, cap: usize) -> CoreResult<Profile> {
    let mut counts = vec![0u64; k];
    let mut missing = 0usize;
    for &c in codes.iter() {
        match code_of(c, k)? {
            None => missing += 1,
            Some(c) => counts[c] += 1,
        }
    }
    let present: Vec<usize> = (0..k).filter(|&c| counts[c] > 0).collect();
    let capped = present.len() > cap;
    Ok(Profile {
        rows: codes.len(),
        missing,
        min: None,
        max: None,
        distinct: Some(present.len()),
        capped,
        unique: counts.iter().all(|&n| n <= 1),
        values: Vec::new(),
        codes: if capped { Vec::new() } else { present },
    })
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
    /// Code columns: for each code `0..k`, whether its value is in the domain.
    Codes(Vec<bool>),
}

/// The checks of one column of a batch.
#[derive(Debug, Clone)]
pub struct Rule<'a> {
    pub column: Column<'a>,
    /// Bounds of the present values (float columns); NaN bounds are not allowed.
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
    fn hit(&mut self, row: usize, keep: usize) {
        self.count += 1;
        if self.rows.len() < keep {
            self.rows.push(row);
        }
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
    match (&rule.column, &rule.domain) {
        (Column::Codes { k, .. }, Some(Domain::Codes(flags))) if flags.len() != *k => Err(
            CoreError::invalid(format!("domain: {} flags for {k} codes", flags.len())),
        ),
        (Column::Codes { .. }, Some(Domain::Values(_)))
        | (Column::Float { .. }, Some(Domain::Codes(_))) => Err(CoreError::invalid(
            "domain: of another kind than the column",
        )),
        (Column::Codes { .. }, _) if rule.min.is_some() || rule.max.is_some() => {
            Err(CoreError::invalid("a range applies to float columns only"))
        }
        _ => Ok(()),
    }
}

/// One column's findings, keeping the first `examples` rows of each.
pub fn validate_column(rule: &Rule<'_>, examples: usize) -> CoreResult<Findings> {
    check_rule(rule)?;
    match &rule.column {
        Column::Float { values, exact } => Ok(validate_floats(rule, values, exact, examples)),
        Column::Codes { codes, k } => validate_codes(rule, codes, *k, examples),
    }
}

fn validate_floats(
    rule: &Rule<'_>,
    values: &ArrayView1<'_, f64>,
    exact: &Option<ArrayView1<'_, i64>>,
    keep: usize,
) -> Findings {
    let mut out = Findings {
        rows: values.len(),
        ..Findings::default()
    };
    let lo = rule.min.unwrap_or(f64::NEG_INFINITY);
    let hi = rule.max.unwrap_or(f64::INFINITY);
    let allowed: Option<HashSet<u64, BuildHasherDefault<KeyHasher>>> = match &rule.domain {
        Some(Domain::Values(v)) => Some(
            v.iter()
                .filter(|x| !x.is_nan())
                .map(|&x| float_key(x))
                .collect(),
        ),
        _ => None,
    };
    let mut seen = KeySet::default();
    for (i, &v) in values.iter().enumerate() {
        if v.is_nan() {
            out.missing.hit(i, keep);
            continue;
        }
        if v < lo || v > hi {
            out.out_of_range.hit(i, keep);
        }
        if let Some(allowed) = &allowed {
            if !allowed.contains(&float_key(v)) {
                out.unseen.hit(i, keep);
            }
        }
        if rule.unique && !seen.insert(row_key(values, exact, i)) {
            out.duplicate.hit(i, keep);
        }
    }
    out
}

fn validate_codes(
    rule: &Rule<'_>,
    codes: &ArrayView1<'_, i64>,
    k: usize,
    keep: usize,
) -> CoreResult<Findings> {
    let mut out = Findings {
        rows: codes.len(),
        ..Findings::default()
    };
    let allowed = match &rule.domain {
        Some(Domain::Codes(flags)) => Some(flags),
        _ => None,
    };
    let mut seen = if rule.unique {
        vec![false; k]
    } else {
        Vec::new()
    };
    for (i, &c) in codes.iter().enumerate() {
        let Some(c) = code_of(c, k)? else {
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
    Ok(out)
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
}
