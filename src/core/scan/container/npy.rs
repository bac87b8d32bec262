//! `.npy` files (the NumPy format NEP, `numpy.lib.format`): `\x93NUMPY`, a version, the
//! header length (2 bytes in 1.0, 4 in 2.0 and 3.0), then a Python dict literal with
//! `descr`, `fortran_order` and `shape`, padded with spaces.
//!
//! An array whose dtype holds Python objects (`O`, or a structured dtype with an `O`
//! field anywhere) is stored as a pickle after the header (`numpy.save` pickles the whole
//! array), which `numpy.load(allow_pickle=True)` unpickles. Every other dtype is raw bytes,
//! and the file must hold `prod(shape) * itemsize` of them.
//!
//! A dtype this parser does not understand counts as possibly holding objects: its data is
//! handed to the pickle reader, which says what it finds, rather than passed as plain data.

/// A parsed header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Header {
    /// Where the array data (or the pickle) starts.
    pub data: usize,
    /// The dtype may hold Python objects (or is not understood).
    pub objects: bool,
    /// `prod(shape) * itemsize` without objects; `None` with objects or past `u64`.
    pub data_len: Option<u64>,
    pub descr: String,
}

/// Headers larger than this are refused (numpy refuses past 10 000 bytes by default).
const MAX_HEADER: usize = 1 << 20;

/// Reads the header at the start of `d` (at least its first bytes must be there).
pub(crate) fn header(d: &[u8]) -> Result<Header, String> {
    if !d.starts_with(b"\x93NUMPY") || d.len() < 10 {
        return Err("truncated npy preamble".into());
    }
    let (len, start) = match d[6] {
        1 => (usize::from(u16::from_le_bytes([d[8], d[9]])), 10),
        2 | 3 => {
            let b = d.get(8..12).ok_or("truncated npy preamble")?;
            (u32::from_le_bytes(b.try_into().unwrap()) as usize, 12)
        }
        v => return Err(format!("npy format version {v}.{} is unknown", d[7])),
    };
    if len > MAX_HEADER {
        return Err(format!(
            "npy header of {len} bytes (more than {MAX_HEADER})"
        ));
    }
    let text = d
        .get(start..start + len)
        .ok_or("the npy header runs past the end")?;
    let text = std::str::from_utf8(text).map_err(|_| "the npy header is not text")?;
    let mut p = Parser {
        s: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let v = p.value()?;
    let Value::Dict(items) = v else {
        return Err("the npy header is not a dict".into());
    };
    let get = |k: &str| {
        items
            .iter()
            .find(|(key, _)| matches!(key, Value::Str(s) if s == k))
            .map(|(_, v)| v)
    };
    let descr = get("descr").ok_or("the npy header has no descr")?;
    let shape = get("shape").ok_or("the npy header has no shape")?;
    let dims = match shape {
        Value::Tuple(v) | Value::List(v) => v
            .iter()
            .map(|x| match x {
                Value::Int(n) if *n >= 0 => Ok(*n as u64),
                _ => Err("the npy shape is not a tuple of sizes".to_string()),
            })
            .collect::<Result<Vec<u64>, String>>()?,
        Value::Int(n) if *n >= 0 => vec![*n as u64],
        _ => return Err("the npy shape is not a tuple of sizes".into()),
    };
    let objects = may_hold_objects(descr);
    let data_len =
        itemsize(descr).and_then(|size| dims.iter().try_fold(size, |acc, &d| acc.checked_mul(d)));
    Ok(Header {
        data: start + len,
        objects,
        data_len,
        descr: descr.show(),
    })
}

/// A Python literal as `ast.literal_eval` reads the npy header.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i128),
    Bool(bool),
    None,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    fn show(&self) -> String {
        match self {
            Value::Str(s) => format!("{s:?}"),
            Value::Int(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::None => "None".into(),
            Value::Tuple(v) | Value::List(v) => {
                let inner: Vec<String> = v.iter().map(Value::show).collect();
                format!("[{}]", inner.join(", "))
            }
            Value::Dict(_) => "{...}".into(),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn blank(&mut self) {
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.blank();
        self.s.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the npy header nests too deep".into());
        }
        let v = match self.peek().ok_or("the npy header ends early")? {
            b'{' => self.items(b'}').map(Value::Dict)?,
            b'[' => self.seq(b']').map(Value::List)?,
            b'(' => self.seq(b')').map(Value::Tuple)?,
            b'\'' | b'"' => Value::Str(self.string()?),
            b'b' | b'u' | b'r' if matches!(self.s.get(self.pos + 1), Some(b'\'' | b'"')) => {
                self.pos += 1;
                Value::Str(self.string()?)
            }
            c if c.is_ascii_digit() || c == b'-' || c == b'+' => self.int()?,
            _ => self.word()?,
        };
        self.depth -= 1;
        Ok(v)
    }

    fn seq(&mut self, close: u8) -> Result<Vec<Value>, String> {
        self.pos += 1;
        let mut v = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(v);
            }
            v.push(self.value()?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err("malformed sequence in the npy header".into()),
            }
        }
    }

    fn items(&mut self, close: u8) -> Result<Vec<(Value, Value)>, String> {
        self.pos += 1;
        let mut v = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(v);
            }
            let k = self.value()?;
            if self.peek() != Some(b':') {
                return Err("malformed dict in the npy header".into());
            }
            self.pos += 1;
            v.push((k, self.value()?));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => return Err("malformed dict in the npy header".into()),
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let q = self.s[self.pos];
        self.pos += 1;
        let mut out = Vec::new();
        while let Some(&c) = self.s.get(self.pos) {
            self.pos += 1;
            if c == q {
                return Ok(String::from_utf8_lossy(&out).into_owned());
            }
            if c == b'\\' {
                if let Some(&n) = self.s.get(self.pos) {
                    self.pos += 1;
                    out.push(n);
                }
                continue;
            }
            out.push(c);
        }
        Err("unterminated string in the npy header".into())
    }

    fn int(&mut self) -> Result<Value, String> {
        let start = self.pos;
        if matches!(self.s[self.pos], b'-' | b'+') {
            self.pos += 1;
        }
        while self.pos < self.s.len()
            && (self.s[self.pos].is_ascii_digit() || self.s[self.pos] == b'_')
        {
            self.pos += 1;
        }
        let text: String = std::str::from_utf8(&self.s[start..self.pos])
            .unwrap_or("")
            .chars()
            .filter(|&c| c != '_')
            .collect();
        // Python 2 wrote longs as `3L`.
        if self.s.get(self.pos) == Some(&b'L') {
            self.pos += 1;
        }
        text.parse::<i128>()
            .map(Value::Int)
            .map_err(|_| "a number in the npy header is out of range".into())
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.pos;
        while self.pos < self.s.len() && self.s[self.pos].is_ascii_alphanumeric() {
            self.pos += 1;
        }
        match &self.s[start..self.pos] {
            b"True" => Ok(Value::Bool(true)),
            b"False" => Ok(Value::Bool(false)),
            b"None" => Ok(Value::None),
            _ => Err("unexpected token in the npy header".into()),
        }
    }
}

/// Simple dtype strings numpy writes for data without objects: a byte order, a kind
/// character and a size (`<f8`, `|b1`, `<U10`, `|S5`, `|V16`, `<M8[ns]`).
fn simple_itemsize(s: &str) -> Option<u64> {
    let s = s.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = s.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let (digits, unit) = match rest.find('[') {
        Some(i) if rest.ends_with(']') => (&rest[..i], Some(&rest[i..])),
        Some(_) => return None,
        None => (rest, None),
    };
    let n: u64 = if digits.is_empty() {
        match kind {
            '?' | 'b' | 'B' => 1,
            _ => return None,
        }
    } else {
        digits.parse().ok()?
    };
    match (kind, unit) {
        ('b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'a' | 'V' | '?' | 'B', None) => Some(n),
        ('U', None) => n.checked_mul(4),
        ('m' | 'M', _) if n == 8 => Some(8),
        _ => None,
    }
}

/// Whether a `descr` may hold Python objects: `O` anywhere a dtype goes, or any form this
/// reader does not understand.
fn may_hold_objects(descr: &Value) -> bool {
    itemsize(descr).is_none()
}

/// The size of one element of `descr`, `None` if it holds objects or is not understood.
fn itemsize(descr: &Value) -> Option<u64> {
    match descr {
        Value::Str(s) => simple_itemsize(s),
        // Structured: [(name, dtype), (name, dtype, shape), ...]; name may be (title, name).
        Value::List(fields) => fields.iter().try_fold(0u64, |acc, f| {
            let (Value::Tuple(parts) | Value::List(parts)) = f else {
                return None;
            };
            if !(2..=3).contains(&parts.len()) {
                return None;
            }
            if !matches!(&parts[0], Value::Str(_) | Value::Tuple(_)) {
                return None;
            }
            let mut size = itemsize(&parts[1])?;
            if let Some(shape) = parts.get(2) {
                size = size.checked_mul(shape_count(shape)?)?;
            }
            acc.checked_add(size)
        }),
        _ => None,
    }
}

fn shape_count(shape: &Value) -> Option<u64> {
    match shape {
        Value::Int(n) if *n >= 0 => u64::try_from(*n).ok(),
        Value::Tuple(v) | Value::List(v) => v.iter().try_fold(1u64, |acc, x| match x {
            Value::Int(n) if *n >= 0 => acc.checked_mul(u64::try_from(*n).ok()?),
            _ => None,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(header: &str) -> Vec<u8> {
        let mut h = header.as_bytes().to_vec();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut d = b"\x93NUMPY\x01\x00".to_vec();
        d.extend((h.len() as u16).to_le_bytes());
        d.extend(h);
        d
    }

    #[test]
    fn dtypes() {
        let h = header(&npy(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }",
        ))
        .unwrap();
        assert!(!h.objects);
        assert_eq!(h.data_len, Some(96));
        assert_eq!(h.data % 64, 0);
        for objecty in [
            "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }",
            "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, 'shape': (2,), }",
            "{'descr': [('a', [('x', '<f4'), ('y', 'O', (2,))])], 'fortran_order': False, 'shape': (1,), }",
            "{'descr': 'i4,O', 'fortran_order': False, 'shape': (1,), }",
            "{'descr': 'object', 'fortran_order': False, 'shape': (1,), }",
        ] {
            assert!(header(&npy(objecty)).unwrap().objects, "{objecty}");
        }
        // A field *named* O is not an object field.
        let h = header(&npy(
            "{'descr': [('O', '<i4')], 'fortran_order': False, 'shape': (5,), }",
        ))
        .unwrap();
        assert!(!h.objects);
        assert_eq!(h.data_len, Some(20));
        // Python 2 longs; huge shapes overflow to None rather than wrap.
        let h = header(&npy(
            "{'descr': '<i8', 'fortran_order': False, 'shape': (3L, 2L), }",
        ))
        .unwrap();
        assert_eq!(h.data_len, Some(48));
        let h = header(&npy("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }")).unwrap();
        assert!(!h.objects);
        assert_eq!(h.data_len, None);
        assert!(header(b"\x93NUMPY\x01\x00\xff\xff{").is_err());
        assert!(header(&npy("{'descr': ")).is_err());
        assert!(header(&npy(
            "(((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
        ))
        .is_err());
    }
}
