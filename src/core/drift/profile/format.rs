//! The profile file: one line of JSON (the header), then the packed counts (the body).
//!
//! Header, keys in this order, no spaces:
//! `{"format":"mlsentry/profile","version":"1.0","grid_mantissa_bits":10,
//! "category_cap":10000,"columns":N,"compression":"deflate","counts_bytes":C,
//! "body_bytes":B,"digest":"sha256:<hex of the body>"}` and a newline. The body is the
//! counts (`C` bytes, below) compressed with raw DEFLATE (RFC 1951, level 6, the pure-Rust
//! miniz_oxide encoder: the same counts give the same bytes). A reader refuses a file whose
//! major version is newer than its own, a body shorter or longer than `body_bytes`
//! (truncated / extended), a body whose SHA-256 is not `digest` (edited or corrupted), and
//! counts that do not inflate to exactly `C` bytes.
//!
//! Counts: for each column, in table order, with unsigned LEB128 varints (`uv`) and
//! length-prefixed UTF-8 strings (`str` = `uv` length, bytes):
//! `str name, str dtype, u8 kind (0 numeric, 1 categorical), uv missing`, then
//! * numeric: `f64 min, f64 max` (little-endian), `uv buckets`, and per bucket
//!   `uv (bucket - previous bucket)` (the first from 0) and `uv count`;
//! * categorical: `u8 level, uv other, uv categories`, and per category `str name, uv count`
//!   (ascending by bytes).
//!
//! Every number is written in one canonical way, so equal profiles are equal bytes.

use sha2::{Digest, Sha256};

use super::CATEGORY_CAP;
use super::{grid, CategoryProfile, ColumnData, ColumnProfile, NumericProfile, Profile};
use crate::core::{CoreError, CoreResult};

pub const FORMAT: &str = "mlsentry/profile";
pub const VERSION: &str = "1.0";
const MAJOR: u64 = 1;

fn put_uv(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_uv(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn body(p: &Profile) -> Vec<u8> {
    let mut out = Vec::new();
    for c in &p.columns {
        put_str(&mut out, &c.name);
        put_str(&mut out, &c.dtype);
        match &c.data {
            ColumnData::Numeric(n) => {
                out.push(0);
                put_uv(&mut out, n.missing);
                out.extend_from_slice(&n.min.to_le_bytes());
                out.extend_from_slice(&n.max.to_le_bytes());
                put_uv(&mut out, n.buckets.len() as u64);
                let mut prev = 0u32;
                for (&b, &k) in n.buckets.iter().zip(&n.counts) {
                    put_uv(&mut out, u64::from(b - prev));
                    put_uv(&mut out, k);
                    prev = b;
                }
            }
            ColumnData::Categorical(k) => {
                out.push(1);
                put_uv(&mut out, k.missing);
                out.push(k.level);
                put_uv(&mut out, k.other);
                put_uv(&mut out, k.names.len() as u64);
                for (name, &count) in k.names.iter().zip(&k.counts) {
                    put_str(&mut out, name);
                    put_uv(&mut out, count);
                }
            }
        }
    }
    out
}

/// Raw DEFLATE at a fixed level.
fn deflate(counts: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
    // Writing to a Vec cannot fail.
    let _ = enc.write_all(counts);
    enc.finish().unwrap_or_default()
}

/// The file's bytes.
pub fn to_bytes(p: &Profile) -> Vec<u8> {
    let counts = body(p);
    let body = deflate(&counts);
    let digest = hex::encode(Sha256::digest(&body));
    let header = format!(
        "{{\"format\":\"{FORMAT}\",\"version\":\"{VERSION}\",\"grid_mantissa_bits\":{},\
         \"category_cap\":{CATEGORY_CAP},\"columns\":{},\"compression\":\"deflate\",\
         \"counts_bytes\":{},\"body_bytes\":{},\"digest\":\"sha256:{digest}\"}}\n",
        grid::MANTISSA_BITS,
        p.columns.len(),
        counts.len(),
        body.len()
    );
    let mut out = header.into_bytes();
    out.extend_from_slice(&body);
    out
}

fn bad(msg: impl std::fmt::Display) -> CoreError {
    CoreError::invalid(format!("profile file: {msg}"))
}

/// Reads a profile file (see the module for what is refused).
pub fn from_bytes(data: &[u8]) -> CoreResult<Profile> {
    let Some(end) = data.iter().take(4096).position(|&b| b == b'\n') else {
        return Err(bad("not an mlsentry profile (no header line)"));
    };
    let header: serde_json::Value = serde_json::from_slice(&data[..end])
        .map_err(|_| bad("not an mlsentry profile (the header is not JSON)"))?;
    if header.get("format").and_then(|v| v.as_str()) != Some(FORMAT) {
        return Err(bad(format!(
            "not an mlsentry profile (format is not {FORMAT:?})"
        )));
    }
    let version = header
        .get("version")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("the header has no version"))?;
    let major: u64 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .ok_or_else(|| bad(format!("unreadable version {version:?}")))?;
    if major > MAJOR {
        return Err(bad(format!(
            "version {version} is newer than this mlsentry reads ({VERSION}); upgrade \
             mlsentry to load it"
        )));
    }
    let bits = header.get("grid_mantissa_bits").and_then(|v| v.as_u64());
    if bits != Some(u64::from(grid::MANTISSA_BITS)) {
        return Err(bad(format!(
            "grid of {bits:?} mantissa bits; this mlsentry uses {}",
            grid::MANTISSA_BITS
        )));
    }
    let expected = header
        .get("body_bytes")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bad("the header has no body_bytes"))?;
    let digest = header
        .get("digest")
        .and_then(|v| v.as_str())
        .ok_or_else(|| bad("the header has no digest"))?;
    let body = &data[end + 1..];
    let found = body.len() as u64;
    if found < expected {
        return Err(bad(format!(
            "truncated: the header announces {expected} bytes of counts, the file has {found}"
        )));
    }
    if found > expected {
        return Err(bad(format!(
            "edited: {} bytes follow the {expected} bytes of counts the header announces",
            found - expected
        )));
    }
    if digest != format!("sha256:{}", hex::encode(Sha256::digest(body))) {
        return Err(bad(
            "edited or corrupted: the counts do not match the digest in the header",
        ));
    }
    if header.get("compression").and_then(|v| v.as_str()) != Some("deflate") {
        return Err(bad("unknown compression of the counts"));
    }
    let size = header
        .get("counts_bytes")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| bad("the header has no counts_bytes"))?;
    let counts = inflate(body, size)?;
    let columns = header.get("columns").and_then(|v| v.as_u64());
    let profile = Reader {
        data: &counts,
        at: 0,
    }
    .profile()?;
    if columns != Some(profile.columns.len() as u64) {
        return Err(bad("the header's column count does not match the counts"));
    }
    Ok(profile)
}

/// The counts, inflated to exactly `size` bytes (never more is read: no inflation bomb).
fn inflate(body: &[u8], size: u64) -> CoreResult<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(body)
        .take(size.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| bad("malformed counts (not DEFLATE data)"))?;
    if out.len() as u64 > size {
        return Err(bad(format!(
            "malformed counts (they inflate past the {size} bytes the header announces)"
        )));
    }
    if (out.len() as u64) < size {
        return Err(bad(format!(
            "malformed counts ({} bytes, the header announces {size})",
            out.len()
        )));
    }
    Ok(out)
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> CoreResult<u8> {
        let b = *self
            .data
            .get(self.at)
            .ok_or_else(|| bad("malformed counts (ends early)"))?;
        self.at += 1;
        Ok(b)
    }

    fn uv(&mut self) -> CoreResult<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f)
                .checked_shl(shift)
                .filter(|x| x >> shift == u64::from(b & 0x7f))
                .ok_or_else(|| bad("malformed counts (number too large)"))?;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("malformed counts (number too long)"))
    }

    fn len(&mut self) -> CoreResult<usize> {
        let n = self.uv()?;
        if n > (self.data.len() - self.at) as u64 {
            return Err(bad("malformed counts (a length past the end)"));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> CoreResult<String> {
        let n = self.len()?;
        let s = std::str::from_utf8(&self.data[self.at..self.at + n])
            .map_err(|_| bad("malformed counts (a name is not UTF-8)"))?;
        self.at += n;
        Ok(s.to_string())
    }

    fn f64(&mut self) -> CoreResult<f64> {
        let mut b = [0u8; 8];
        for slot in &mut b {
            *slot = self.byte()?;
        }
        Ok(f64::from_le_bytes(b))
    }

    fn profile(mut self) -> CoreResult<Profile> {
        let mut columns: Vec<ColumnProfile> = Vec::new();
        while self.at < self.data.len() {
            let name = self.string()?;
            let dtype = self.string()?;
            let kind = self.byte()?;
            let missing = self.uv()?;
            let data = match kind {
                0 => ColumnData::Numeric(self.numeric(missing)?),
                1 => ColumnData::Categorical(self.categorical(missing)?),
                _ => return Err(bad("malformed counts (unknown column kind)")),
            };
            if columns.iter().any(|c| c.name == name) {
                return Err(bad(format!("two columns are named {name:?}")));
            }
            columns.push(ColumnProfile { name, dtype, data });
        }
        Ok(Profile { columns })
    }

    fn numeric(&mut self, missing: u64) -> CoreResult<NumericProfile> {
        let (min, max) = (self.f64()?, self.f64()?);
        let n = self.len()?;
        let mut buckets = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        let mut prev = 0u64;
        for i in 0..n {
            let step = self.uv()?;
            let b = prev + step;
            if (i > 0 && step == 0) || b > u64::from(grid::pos_inf()) {
                return Err(bad("malformed counts (buckets out of order)"));
            }
            let count = self.uv()?;
            if count == 0 {
                return Err(bad("malformed counts (an empty bucket)"));
            }
            buckets.push(b as u32);
            counts.push(count);
            prev = b;
        }
        Ok(NumericProfile {
            buckets,
            counts,
            missing,
            min,
            max,
        })
    }

    fn categorical(&mut self, missing: u64) -> CoreResult<CategoryProfile> {
        let level = self.byte()?;
        let other = self.uv()?;
        let n = self.len()?;
        let mut names: Vec<String> = Vec::with_capacity(n);
        let mut counts = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.string()?;
            if names
                .last()
                .is_some_and(|l| l.as_bytes() >= name.as_bytes())
            {
                return Err(bad("malformed counts (categories out of order)"));
            }
            let count = self.uv()?;
            if count == 0 {
                return Err(bad("malformed counts (an empty category)"));
            }
            names.push(name);
            counts.push(count);
        }
        Ok(CategoryProfile {
            level,
            names,
            counts,
            other,
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::drift::profile::{ColumnInput, ColumnValues};
    use crate::core::progress::Progress;
    use ndarray::Array1;

    fn sample() -> Vec<u8> {
        let x = Array1::from(
            (0..500_000)
                .map(|i| (f64::from(i) * 0.618).sin() * 3.0)
                .collect::<Vec<_>>(),
        );
        let p = Profile::fit(
            &[ColumnInput {
                name: "x".into(),
                dtype: "float64".into(),
                values: ColumnValues::Numeric(x.view()),
            }],
            &Progress::new(),
        )
        .unwrap();
        to_bytes(&p)
    }

    #[test]
    fn round_trip_and_size() {
        let bytes = sample();
        // Under a quarter of the 4,000,000 bytes of the float64 values.
        assert!(bytes.len() < 1_000_000, "{}", bytes.len());
        let p = from_bytes(&bytes).unwrap();
        assert_eq!(to_bytes(&p), bytes);
    }

    #[test]
    fn damaged_files_say_what_is_wrong() {
        let bytes = sample();
        let msg = |b: &[u8]| from_bytes(b).unwrap_err().to_string();
        assert!(msg(&bytes[..bytes.len() - 10]).contains("truncated"));
        let mut edited = bytes.clone();
        let last = edited.len() - 1;
        edited[last] ^= 1;
        assert!(msg(&edited).contains("edited or corrupted"));
        let newer = String::from_utf8_lossy(&bytes)
            .replacen("\"version\":\"1.0\"", "\"version\":\"2.0\"", 1)
            .into_bytes();
        assert!(msg(&newer).contains("newer"));
        // The header is not covered by the digest: a wrong size of the counts is caught
        // when they inflate, and never more than the announced size is inflated.
        let end = bytes.iter().position(|&b| b == b'\n').unwrap();
        let header = String::from_utf8(bytes[..end].to_vec()).unwrap();
        let at = header.find("\"counts_bytes\":").unwrap() + 15;
        let digits = header[at..].find(',').unwrap();
        let mut lying = format!("{}1{}", &header[..at], &header[at + digits..]).into_bytes();
        lying.extend_from_slice(&bytes[end..]);
        assert!(
            msg(&lying).contains("inflate past the 1 bytes"),
            "{}",
            msg(&lying)
        );
        assert!(msg(b"hello\n").contains("not an mlsentry profile"));
        assert!(msg(b"").contains("no header"));
    }

    #[test]
    fn hostile_bodies_are_refused_not_panicking() {
        for body in [
            vec![0x80u8; 20],
            vec![1, b'x', 0, 0, 0],
            vec![
                1, b'x', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 1,
            ],
            vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
        ] {
            let packed = deflate(&body);
            let digest = hex::encode(Sha256::digest(&packed));
            let mut file = format!(
                "{{\"format\":\"{FORMAT}\",\"version\":\"1.0\",\"grid_mantissa_bits\":10,\
                 \"columns\":1,\"compression\":\"deflate\",\"counts_bytes\":{},\
                 \"body_bytes\":{},\"digest\":\"sha256:{digest}\"}}\n",
                body.len(),
                packed.len()
            )
            .into_bytes();
            file.extend_from_slice(&packed);
            assert!(from_bytes(&file).is_err());
        }
    }
}
