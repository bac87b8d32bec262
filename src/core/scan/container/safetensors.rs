//! safetensors (the format's specification): an 8-byte little-endian header length `n`,
//! `n` bytes of JSON, then the tensor bytes. The JSON maps tensor names to `dtype`,
//! `shape` and `data_offsets` `[begin, end]` relative to the byte buffer, plus an optional
//! `__metadata__` map of strings to strings.
//!
//! The format holds no code; the check is that a loader would accept the file and could
//! not be led out of it: the header fits the file (and the 100 MB the reference loader
//! allows), is JSON of the expected shape, every tensor's byte range matches its dtype and
//! shape, and the ranges lie inside the buffer without overlapping, covering it exactly.

use serde_json::Value;

/// The largest header the reference implementation reads.
pub(crate) const MAX_HEADER: u64 = 100_000_000;

/// The header length and the bytes needed to check it (`8 + n`), if `n` is sane.
pub(crate) fn header_len(d: &[u8], len: u64) -> Result<u64, String> {
    let raw = d.get(..8).ok_or("shorter than the 8-byte header length")?;
    let n = u64::from_le_bytes(raw.try_into().unwrap());
    if n > MAX_HEADER {
        return Err(format!("header length {n} is more than {MAX_HEADER} bytes"));
    }
    if n > len - 8 {
        return Err(format!(
            "header length {n} runs past the end of the file ({len} bytes)"
        ));
    }
    Ok(n)
}

/// Checks the header of a file of `len` bytes starting with `d` (at least `8 + n` bytes of
/// it). `Ok` says what was checked.
pub(crate) fn check(d: &[u8], len: u64) -> Result<String, String> {
    let n = header_len(d, len)?;
    let text = d.get(8..8 + n as usize).ok_or("the header is cut short")?;
    let v: Value = serde_json::from_slice(text).map_err(|e| format!("header is not JSON: {e}"))?;
    let Value::Object(map) = v else {
        return Err("header is not a JSON object".into());
    };
    let buffer = len - 8 - n;
    let mut ranges = Vec::new();
    for (name, t) in &map {
        if name == "__metadata__" {
            let ok = t
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                return Err("__metadata__ is not a map of strings".into());
            }
            continue;
        }
        let (begin, end) = tensor(t).map_err(|e| format!("tensor {name:?}: {e}"))?;
        if end > buffer {
            return Err(format!(
                "tensor {name:?} ends at byte {end} of a {buffer}-byte buffer"
            ));
        }
        ranges.push((begin, end, name));
    }
    ranges.sort();
    let mut at = 0u64;
    for (begin, end, name) in &ranges {
        if *begin < at {
            return Err(format!("tensor {name:?} overlaps the tensor before it"));
        }
        if *begin > at {
            return Err(format!(
                "{} bytes before tensor {name:?} belong to no tensor",
                begin - at
            ));
        }
        at = *end;
    }
    if at != buffer {
        return Err(format!(
            "{} bytes after the last tensor belong to no tensor",
            buffer - at
        ));
    }
    Ok(format!(
        "safetensors header checked: {} tensors, no code",
        ranges.len()
    ))
}

/// (begin, end) of one tensor entry, checked against its dtype and shape.
fn tensor(t: &Value) -> Result<(u64, u64), String> {
    let dtype = t.get("dtype").and_then(Value::as_str).ok_or("no dtype")?;
    let shape = t.get("shape").and_then(Value::as_array).ok_or("no shape")?;
    let offsets = t
        .get("data_offsets")
        .and_then(Value::as_array)
        .ok_or("no data_offsets")?;
    let [b, e] = offsets.as_slice() else {
        return Err("data_offsets is not [begin, end]".into());
    };
    let (b, e) = (b.as_u64().ok_or("bad begin")?, e.as_u64().ok_or("bad end")?);
    if b > e {
        return Err(format!("data_offsets [{b}, {e}] run backwards"));
    }
    let count = shape.iter().try_fold(1u64, |acc, d| {
        d.as_u64()
            .ok_or_else(|| "shape is not a list of sizes".to_string())
            .and_then(|d| {
                acc.checked_mul(d)
                    .ok_or_else(|| "shape overflows".to_string())
            })
    })?;
    // Sizes in bits, so that 4- and 6-bit types count too.
    let bits: Option<u64> = match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" | "F8_E8M0" => Some(8),
        "I16" | "U16" | "F16" | "BF16" => Some(16),
        "I32" | "U32" | "F32" => Some(32),
        "I64" | "U64" | "F64" | "C64" => Some(64),
        "F4" => Some(4),
        "F6_E2M3" | "F6_E3M2" => Some(6),
        _ => None,
    };
    if let Some(bits) = bits {
        let need = count
            .checked_mul(bits)
            .ok_or("shape overflows")?
            .div_ceil(8);
        if need != e - b {
            return Err(format!(
                "{dtype} of shape {shape:?} needs {need} bytes, data_offsets give {}",
                e - b
            ));
        }
    } else {
        return Err(format!("unknown dtype {dtype:?}"));
    }
    Ok((b, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn file(header: &str, buffer: usize) -> Vec<u8> {
        let mut d = (header.len() as u64).to_le_bytes().to_vec();
        d.extend(header.as_bytes());
        d.extend(std::iter::repeat_n(0u8, buffer));
        d
    }

    #[test]
    fn sane_and_insane() {
        let ok = file(
            r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"U8","shape":[3],"data_offsets":[16,19]},"__metadata__":{"format":"pt"}}"#,
            19,
        );
        assert!(check(&ok, ok.len() as u64).is_ok());
        for (h, buf) in [
            (
                r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#,
                8,
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#,
                12,
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
                6,
            ),
            (
                r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#,
                10,
            ),
            (
                r#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#,
                4,
            ),
            (r#"{"a":"#, 0),
            (r#"[1,2]"#, 0),
        ] {
            let f = file(h, buf);
            assert!(check(&f, f.len() as u64).is_err(), "{h}");
        }
        let mut huge = (1u64 << 60).to_le_bytes().to_vec();
        huge.extend(b"{}");
        assert!(check(&huge, huge.len() as u64).is_err());
    }
}
