//! GGUF (llama.cpp) files: the header, the metadata key/values and the tensor table, never
//! the tensor data.
//!
//! Layout (GGUF v1 to v3): `GGUF`, the version (u32), the tensor count and the metadata
//! count (u64; u32 in v1), then the key/values (a string key, a u32 type, a value), then the
//! tensor infos (name, dimension count, dimensions, ggml type, offset), then the tensor data
//! from the next multiple of `general.alignment` (32 unless set). Strings are a length (u64;
//! u32 in v1) and UTF-8 bytes. Files written on big-endian machines have every number
//! big-endian; the version tells which (llama.cpp reads them on big-endian hosts).
//!
//! Only the bytes the metadata and the tensor table take are touched, so a memory-mapped
//! file of 10 GB costs the pages of its header. Nothing is allocated from a declared count
//! or length: every string, array and table is checked against the bytes that are there
//! before it is stepped over, and arrays nest at most `MAX_ARRAY_DEPTH` deep. A header that
//! runs past the end of the data, has an unknown value type, or tensors that lie past the
//! end of the file is `Unknown` (`gguf.malformed`), never safe.
//!
//! Chat templates (`tokenizer.chat_template` and `tokenizer.chat_template.<name>`) are
//! Jinja programs that llama.cpp, transformers and the servers built on them render for
//! every request. The `jinja` module reads them; one that reaches Python internals is
//! `Dangerous` (`gguf.chat-template`).

use super::jinja;
use super::keras::Issue;
use crate::core::scan::Severity;

pub(crate) const MAGIC: &[u8] = b"GGUF";
/// Arrays inside arrays.
const MAX_ARRAY_DEPTH: usize = 3;
/// Dimensions of a tensor (ggml has 4; a little room for newer files).
const MAX_DIMS: u32 = 8;
/// Keys are identifiers such as `tokenizer.ggml.tokens`.
const MAX_KEY: u64 = 64 << 10;

/// Whether `d` starts like a GGUF file: the magic and a version that is small in one byte
/// order (text after `GGUF` makes a huge number in both).
pub(crate) fn is_gguf(d: &[u8]) -> bool {
    if d.len() < 8 || !d.starts_with(MAGIC) {
        return false;
    }
    let v = [d[4], d[5], d[6], d[7]];
    (1..=0xff).contains(&u32::from_le_bytes(v)) || (1..=0xff).contains(&u32::from_be_bytes(v))
}

/// What a GGUF file holds and what is wrong with it.
pub(crate) fn check(d: &[u8]) -> Vec<Issue> {
    let mut out = Vec::new();
    match read(d, &mut out) {
        Ok(s) => out.push(Issue {
            severity: Severity::Info,
            rule: "gguf.checked",
            global: None,
            message: format!(
                "GGUF v{}: {} metadata keys ({} chat templates checked), {} tensors; tensor data not read",
                s.version, s.keys, s.templates, s.tensors
            ),
        }),
        Err(why) => out.push(Issue {
            severity: Severity::Unknown,
            rule: "gguf.malformed",
            global: None,
            message: format!("GGUF file that llama.cpp cannot read: {why}; not safe to load"),
        }),
    }
    out
}

struct Summary {
    version: u32,
    keys: u64,
    templates: usize,
    tensors: u64,
}

struct R<'a> {
    d: &'a [u8],
    pos: usize,
    be: bool,
    v1: bool,
}

type Res<T> = Result<T, String>;

impl<'a> R<'a> {
    fn left(&self) -> usize {
        self.d.len() - self.pos
    }

    fn take(&mut self, n: u64, what: &str) -> Res<&'a [u8]> {
        if n > self.left() as u64 {
            return Err(format!(
                "{what} ({n} bytes) runs past the end of the data at byte {}",
                self.pos
            ));
        }
        let s = &self.d[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn u32(&mut self, what: &str) -> Res<u32> {
        let b: [u8; 4] = self.take(4, what)?.try_into().unwrap();
        Ok(if self.be {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }

    fn u64(&mut self, what: &str) -> Res<u64> {
        let b: [u8; 8] = self.take(8, what)?.try_into().unwrap();
        Ok(if self.be {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        })
    }

    /// A count or length: u32 in v1, u64 after.
    fn len(&mut self, what: &str) -> Res<u64> {
        if self.v1 {
            self.u32(what).map(u64::from)
        } else {
            self.u64(what)
        }
    }

    fn string(&mut self, what: &str) -> Res<&'a [u8]> {
        let n = self.len(what)?;
        self.take(n, what)
    }

    /// Steps over a value of type `ty`; returns it when it is a string.
    fn value(&mut self, ty: u32, depth: usize) -> Res<Option<&'a [u8]>> {
        if let Some(size) = fixed_size(ty) {
            self.take(size, "value")?;
            return Ok(None);
        }
        match ty {
            8 => self.string("string value").map(Some),
            9 => {
                if depth >= MAX_ARRAY_DEPTH {
                    return Err(format!("arrays nested more than {MAX_ARRAY_DEPTH} deep"));
                }
                let elem = self.u32("array type")?;
                let count = self.len("array length")?;
                if let Some(size) = fixed_size(elem) {
                    let bytes = count
                        .checked_mul(size)
                        .ok_or_else(|| format!("array of {count} elements overflows"))?;
                    self.take(bytes, "array")?;
                    return Ok(None);
                }
                if !matches!(elem, 8 | 9) {
                    return Err(format!("unknown array element type {elem}"));
                }
                // Each element takes at least its length field, so the loop is bounded by
                // the data, whatever `count` says.
                let min = if self.v1 { 4 } else { 8 };
                if count > (self.left() / min) as u64 {
                    return Err(format!(
                        "array of {count} elements runs past the end of the data"
                    ));
                }
                for _ in 0..count {
                    self.value(elem, depth + 1)?;
                }
                Ok(None)
            }
            t => Err(format!("unknown value type {t}")),
        }
    }
}

/// Bytes of a fixed-size value type.
fn fixed_size(ty: u32) -> Option<u64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

/// Bytes per block and elements per block of the ggml types whose size is certain; other
/// types are only checked to start inside the file.
fn block(ty: u32) -> Option<(u64, u64)> {
    Some(match ty {
        0 => (4, 1),   // F32
        1 => (2, 1),   // F16
        2 => (18, 32), // Q4_0
        3 => (20, 32), // Q4_1
        6 => (22, 32), // Q5_0
        7 => (24, 32), // Q5_1
        8 => (34, 32), // Q8_0
        24 => (1, 1),  // I8
        25 => (2, 1),  // I16
        26 => (4, 1),  // I32
        27 => (8, 1),  // I64
        28 => (8, 1),  // F64
        30 => (2, 1),  // BF16
        _ => return None,
    })
}

fn is_template_key(k: &[u8]) -> bool {
    k == b"tokenizer.chat_template" || k.starts_with(b"tokenizer.chat_template.")
}

fn read(d: &[u8], out: &mut Vec<Issue>) -> Res<Summary> {
    let mut r = R {
        d,
        pos: 4,
        be: false,
        v1: false,
    };
    if !d.starts_with(MAGIC) {
        return Err("no GGUF magic".into());
    }
    let raw = r.take(4, "version")?;
    let le = u32::from_le_bytes(raw.try_into().unwrap());
    let version = if (1..=3).contains(&le) {
        le
    } else {
        let be = u32::from_be_bytes(raw.try_into().unwrap());
        if !(1..=3).contains(&be) {
            return Err(format!("unknown GGUF version {le}"));
        }
        r.be = true;
        be
    };
    r.v1 = version == 1;
    let tensors = r.len("tensor count")?;
    let keys = r.len("metadata count")?;
    // A key/value takes at least a length, a type and one byte.
    let min_kv = if r.v1 { 9 } else { 13 };
    if keys > (r.left() / min_kv) as u64 {
        return Err(format!(
            "{keys} metadata keys declared, more than the data can hold"
        ));
    }
    let mut alignment = 32u64;
    let mut templates = 0;
    for _ in 0..keys {
        let n = r.len("key length")?;
        if n > MAX_KEY {
            return Err(format!("metadata key of {n} bytes"));
        }
        let key = r.take(n, "key")?;
        let ty = r.u32("value type")?;
        let at = r.pos;
        let value = r.value(ty, 0)?;
        let name = String::from_utf8_lossy(key);
        if key == b"general.alignment" {
            if ty != 4 {
                return Err(format!("general.alignment has type {ty}, not u32"));
            }
            let b: [u8; 4] = d[at..at + 4].try_into().unwrap();
            let a = if r.be {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            };
            if a == 0 || !a.is_power_of_two() {
                return Err(format!("general.alignment {a} is not a power of two"));
            }
            alignment = u64::from(a);
        }
        if is_template_key(key) {
            match value {
                Some(t) => {
                    templates += 1;
                    template_issues(&name, t, out);
                }
                None => out.push(Issue {
                    severity: Severity::Unknown,
                    rule: "gguf.chat-template",
                    global: None,
                    message: format!(
                        "{name} is not a string (type {ty}): the chat template a loader uses is not known"
                    ),
                }),
            }
        }
    }
    // The tensor table: name, dimensions, type, offset.
    let min_info = if r.v1 { 4 + 4 + 4 + 8 } else { 8 + 4 + 4 + 8 };
    if tensors > (r.left() / min_info) as u64 {
        return Err(format!(
            "{tensors} tensors declared, more than the data can hold"
        ));
    }
    let mut spans = Vec::new();
    for i in 0..tensors {
        let name = String::from_utf8_lossy(r.string("tensor name")?).into_owned();
        let dims = r.u32("dimension count")?;
        if dims > MAX_DIMS {
            return Err(format!("tensor {name:?} has {dims} dimensions"));
        }
        let mut elements = 1u64;
        for _ in 0..dims {
            let n = r.len("dimension")?;
            elements = elements
                .checked_mul(n)
                .ok_or_else(|| format!("tensor {name:?}: its element count overflows"))?;
        }
        let ty = r.u32("tensor type")?;
        let offset = r.u64("tensor offset")?;
        if !offset.is_multiple_of(alignment) {
            return Err(format!(
                "tensor {name:?} (#{i}) at offset {offset}, not a multiple of the alignment {alignment}"
            ));
        }
        let size = block(ty).and_then(|(bytes, per)| {
            elements
                .is_multiple_of(per)
                .then(|| (elements / per).checked_mul(bytes))?
        });
        spans.push((name, offset, size));
    }
    let data_start = (r.pos as u64).div_ceil(alignment) * alignment;
    let have = (d.len() as u64).saturating_sub(data_start);
    for (name, offset, size) in spans {
        let end = offset.checked_add(size.unwrap_or(0));
        if offset > have || end.is_none_or(|e| e > have) {
            return Err(format!(
                "tensor {name:?} lies past the end of the file (truncated?)"
            ));
        }
    }
    Ok(Summary {
        version,
        keys,
        templates,
        tensors,
    })
}

fn template_issues(key: &str, t: &[u8], out: &mut Vec<Issue>) {
    let Ok(text) = std::str::from_utf8(t) else {
        out.push(Issue {
            severity: Severity::Unknown,
            rule: "gguf.chat-template",
            global: None,
            message: format!("chat template {key} is not UTF-8: it is not checked"),
        });
        return;
    };
    for f in jinja::check(text) {
        out.push(Issue {
            severity: f.severity,
            rule: "gguf.chat-template",
            global: None,
            message: format!("chat template {key}: {}", f.message),
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A GGUF v3 file as llama.cpp writes it: key/values of the given (type, bytes), and
    /// one F32 tensor of 4 elements.
    pub(crate) fn file(kvs: &[(&str, u32, Vec<u8>)]) -> Vec<u8> {
        let mut d = b"GGUF".to_vec();
        d.extend(3u32.to_le_bytes());
        d.extend(1u64.to_le_bytes());
        d.extend((kvs.len() as u64).to_le_bytes());
        for (k, ty, v) in kvs {
            d.extend((k.len() as u64).to_le_bytes());
            d.extend(k.as_bytes());
            d.extend(ty.to_le_bytes());
            d.extend(v);
        }
        d.extend(6u64.to_le_bytes());
        d.extend(b"weight");
        d.extend(1u32.to_le_bytes());
        d.extend(4u64.to_le_bytes());
        d.extend(0u32.to_le_bytes());
        d.extend(0u64.to_le_bytes());
        while !d.len().is_multiple_of(32) {
            d.push(0);
        }
        d.extend([0u8; 16]);
        d
    }

    pub(crate) fn s(v: &str) -> Vec<u8> {
        let mut d = (v.len() as u64).to_le_bytes().to_vec();
        d.extend(v.as_bytes());
        d
    }

    fn tokens(n: usize) -> Vec<u8> {
        let mut d = 8u32.to_le_bytes().to_vec();
        d.extend((n as u64).to_le_bytes());
        for i in 0..n {
            d.extend(s(&format!("tok{i}")));
        }
        d
    }

    fn rules(d: &[u8]) -> Vec<(&'static str, Severity)> {
        check(d).iter().map(|i| (i.rule, i.severity)).collect()
    }

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    #[test]
    fn benign_file_with_template_and_arrays() {
        let d = file(&[
            ("general.architecture", 8, s("llama")),
            ("llama.context_length", 4, 4096u32.to_le_bytes().to_vec()),
            ("general.alignment", 4, 32u32.to_le_bytes().to_vec()),
            ("tokenizer.ggml.tokens", 9, tokens(100)),
            ("tokenizer.chat_template", 8, s(CHATML)),
        ]);
        assert!(is_gguf(&d));
        let i = check(&d);
        assert_eq!(rules(&d), vec![("gguf.checked", Severity::Info)]);
        assert!(
            i[0].message.contains("5 metadata keys (1 chat templates"),
            "{i:?}"
        );
    }

    #[test]
    fn hostile_templates_are_dangerous() {
        let evil = "{{ cycler.__init__.__globals__.os.popen('id').read() }}";
        let d = file(&[
            ("tokenizer.chat_template", 8, s(CHATML)),
            ("tokenizer.chat_template.tool_use", 8, s(evil)),
        ]);
        let i = check(&d);
        assert_eq!(i[0].severity, Severity::Dangerous, "{i:?}");
        assert!(i[0].message.contains("tokenizer.chat_template.tool_use"));
        assert!(i[0].message.contains("__init__"));
        assert_eq!(i.last().unwrap().rule, "gguf.checked");
        // A chat template that is not a string.
        let d = file(&[("tokenizer.chat_template", 4, 1u32.to_le_bytes().to_vec())]);
        assert_eq!(check(&d)[0].severity, Severity::Unknown);
    }

    #[test]
    fn every_truncation_is_unknown() {
        let d = file(&[
            ("tokenizer.ggml.tokens", 9, tokens(10)),
            ("tokenizer.chat_template", 8, s(CHATML)),
        ]);
        assert_eq!(rules(&d), vec![("gguf.checked", Severity::Info)]);
        for cut in 0..d.len() {
            let r = rules(&d[..cut]);
            assert!(
                r.iter().any(|(_, s)| *s == Severity::Unknown),
                "cut at {cut}: {r:?}"
            );
        }
    }

    #[test]
    fn hostile_counts_allocate_nothing() {
        // Counts and lengths of 2^63: refused before any loop or allocation.
        let mut d = b"GGUF".to_vec();
        d.extend(3u32.to_le_bytes());
        d.extend(u64::MAX.to_le_bytes());
        d.extend(1u64.to_le_bytes());
        d.extend(s("k"));
        d.extend(9u32.to_le_bytes());
        d.extend(8u32.to_le_bytes());
        d.extend((1u64 << 62).to_le_bytes());
        assert_eq!(rules(&d), vec![("gguf.malformed", Severity::Unknown)]);
        let mut e = d[..24].to_vec();
        e.extend(u64::MAX.to_le_bytes()); // key length
        assert_eq!(rules(&e), vec![("gguf.malformed", Severity::Unknown)]);
        // An array of u64 whose byte size overflows.
        let mut f = d[..24].to_vec();
        f.extend(s("k"));
        f.extend(9u32.to_le_bytes());
        f.extend(10u32.to_le_bytes());
        f.extend(u64::MAX.to_le_bytes());
        assert_eq!(rules(&f), vec![("gguf.malformed", Severity::Unknown)]);
        // Arrays of arrays past the depth limit.
        let mut g = d[..24].to_vec();
        g.extend(s("k"));
        g.extend(9u32.to_le_bytes());
        for _ in 0..8 {
            g.extend(9u32.to_le_bytes());
            g.extend(1u64.to_le_bytes());
        }
        g.extend([0u8; 64]);
        assert!(check(&g)[0].message.contains("nested"));
        // Unknown value type, bad alignment, too many dimensions, offset past the end.
        let bad = [
            file(&[("k", 99, vec![0; 8])]),
            file(&[("general.alignment", 4, 3u32.to_le_bytes().to_vec())]),
            {
                let mut x = file(&[]);
                let at = memchr::memmem::find(&x, b"weight").unwrap() + 6; // dimension count
                x[at..at + 4].copy_from_slice(&100u32.to_le_bytes());
                x
            },
            {
                let mut x = file(&[]);
                x.truncate(x.len() - 1); // the tensor's last byte
                x
            },
        ];
        for b in bad {
            assert_eq!(rules(&b), vec![("gguf.malformed", Severity::Unknown)]);
        }
    }

    #[test]
    fn big_endian_and_v1() {
        let mut d = b"GGUF".to_vec();
        d.extend(3u32.to_be_bytes());
        d.extend(0u64.to_be_bytes());
        d.extend(1u64.to_be_bytes());
        d.extend(23u64.to_be_bytes());
        d.extend(b"tokenizer.chat_template");
        d.extend(8u32.to_be_bytes());
        let t = "{{ ''.__class__.__mro__[1].__subclasses__() }}";
        d.extend((t.len() as u64).to_be_bytes());
        d.extend(t.as_bytes());
        assert!(is_gguf(&d));
        assert_eq!(check(&d)[0].severity, Severity::Dangerous);
        let mut v1 = b"GGUF".to_vec();
        v1.extend(1u32.to_le_bytes());
        v1.extend(0u32.to_le_bytes());
        v1.extend(1u32.to_le_bytes());
        v1.extend(1u32.to_le_bytes());
        v1.extend(b"k");
        v1.extend(8u32.to_le_bytes());
        v1.extend(2u32.to_le_bytes());
        v1.extend(b"ab");
        assert_eq!(rules(&v1), vec![("gguf.checked", Severity::Info)]);
        assert!(!is_gguf(b"GGUF models are quantised"));
    }
}
