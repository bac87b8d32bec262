//! A protobuf wire-format reader for the model formats that are protobuf messages (ONNX,
//! TensorFlow SavedModel): fields as they are on the wire, nothing generated from `.proto`
//! files and nothing copied. A length-delimited field is a slice of the input, checked
//! against the bytes there before it is taken; varints have at most 10 bytes; groups
//! (wire types 3 and 4, unused by these formats) and field number 0 are errors. The
//! callers bound the nesting (`MAX_DEPTH`).
//!
//! Why not a crate: `prost` or `protobuf` would need the ONNX and TensorFlow `.proto`
//! files compiled in and would build every message in memory (a 2 GB ONNX model's weights
//! included), where the scan needs a handful of fields and must step over the rest
//! without reading it.

/// Messages inside messages that the readers follow.
pub(crate) const MAX_DEPTH: usize = 64;

/// A field's value as the wire has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Value<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl<'a> Value<'a> {
    pub(crate) fn bytes(self) -> Option<&'a [u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub(crate) fn varint(self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(v),
            _ => None,
        }
    }

    pub(crate) fn wire_type(self) -> u8 {
        match self {
            Value::Varint(_) => 0,
            Value::Fixed64(_) => 1,
            Value::Bytes(_) => 2,
            Value::Fixed32(_) => 5,
        }
    }
}

/// Why a message cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Error {
    /// Offset in the message where reading failed.
    pub at: usize,
    pub what: &'static str,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {} of a message", self.what, self.at)
    }
}

/// The fields of one message, in wire order: `(field number, value)`, then `None` at the
/// end, or one `Err` (after which the iterator ends).
pub(crate) struct Fields<'a> {
    d: &'a [u8],
    pos: usize,
    failed: bool,
}

pub(crate) fn fields(d: &[u8]) -> Fields<'_> {
    Fields {
        d,
        pos: 0,
        failed: false,
    }
}

impl<'a> Fields<'a> {
    /// Where the next field starts (the end of the message once all are read).
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn varint(&mut self) -> Result<u64, Error> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.d.get(self.pos) else {
                return Err(self.err("varint runs past the end"));
            };
            self.pos += 1;
            if i == 9 && b > 1 {
                return Err(self.err("varint longer than 64 bits"));
            }
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 10 bytes"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], Error> {
        if n > (self.d.len() - self.pos) as u64 {
            return Err(self.err("field runs past the end"));
        }
        let s = &self.d[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn err(&self, what: &'static str) -> Error {
        Error { at: self.pos, what }
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), Error> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > (1 << 29) - 1 {
            return Err(self.err("invalid field number"));
        }
        let v = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => Value::Fixed64(u64::from_le_bytes(self.take(8)?.try_into().unwrap())),
            2 => {
                let n = self.varint()?;
                Value::Bytes(self.take(n)?)
            }
            5 => Value::Fixed32(u32::from_le_bytes(self.take(4)?.try_into().unwrap())),
            _ => return Err(self.err("group or invalid wire type")),
        };
        Ok((number as u32, v))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.d.len() {
            return None;
        }
        let r = self.field();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Test helpers: a protobuf encoder.
#[cfg(test)]
pub(crate) mod enc {
    pub(crate) fn varint(mut v: u64, out: &mut Vec<u8>) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return;
            }
            out.push(b | 0x80);
        }
    }

    /// A length-delimited field.
    pub(crate) fn bytes(field: u32, v: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        varint(u64::from(field) << 3 | 2, &mut out);
        varint(v.len() as u64, &mut out);
        out.extend(v);
        out
    }

    pub(crate) fn uint(field: u32, v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        varint(u64::from(field) << 3, &mut out);
        varint(v, &mut out);
        out
    }

    /// A message of the concatenated fields.
    pub(crate) fn msg(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }
}

#[cfg(test)]
mod tests {
    use super::enc::*;
    use super::*;

    fn all(d: &[u8]) -> Result<Vec<(u32, Value<'_>)>, Error> {
        fields(d).collect()
    }

    #[test]
    fn reads_every_wire_type() {
        let mut d = msg(&[uint(1, 300), bytes(2, b"abc")]);
        d.extend([(3 << 3) | 1]);
        d.extend(7u64.to_le_bytes());
        d.extend([(4 << 3) | 5]);
        d.extend(9u32.to_le_bytes());
        d.extend(uint(5, u64::MAX));
        let f = all(&d).unwrap();
        assert_eq!(
            f,
            vec![
                (1, Value::Varint(300)),
                (2, Value::Bytes(b"abc")),
                (3, Value::Fixed64(7)),
                (4, Value::Fixed32(9)),
                (5, Value::Varint(u64::MAX)),
            ]
        );
        assert_eq!(f[1].1.wire_type(), 2);
    }

    #[test]
    fn hostile_and_truncated_input_is_an_error() {
        let good = msg(&[uint(1, 300), bytes(2, b"abcdef")]);
        for cut in (1..good.len()).filter(|c| *c != 3) {
            assert!(all(&good[..cut]).is_err(), "cut at {cut}");
        }
        for bad in [
            &[
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ][..], // 2^64-1 bytes
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
            ], // 70-bit varint
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
            &[0x00, 0x01], // field 0
            &[0x0b, 0x0c], // groups
            &[0x0e],       // wire type 6
            &[
                0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
            ],
        ] {
            assert!(all(bad).is_err(), "{bad:?}");
        }
        assert_eq!(all(&[]).unwrap(), vec![]);
    }
}
