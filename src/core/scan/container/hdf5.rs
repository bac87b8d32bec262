//! HDF5: the string attributes of the root group, read as HDF5 stores them (legacy Keras
//! `.h5` models keep their configuration in the root attribute `model_config`).
//!
//! What is read (HDF5 file format specification 3.0): the superblock (versions 0 to 3, at
//! byte 0 or after a user block at 512, 1024, 2048, ...), the root group's object header
//! (version 1, or version 2 `OHDR`, with its continuation blocks), and in it the attribute
//! messages (type 0x000C, versions 1 to 3) whose datatype is a fixed-length string (class
//! 3) or a variable-length string (class 9, its bytes in a global heap collection `GCOL`);
//! the first element of a scalar or array attribute is taken. Attributes kept in dense
//! storage (an attribute info message 0x0015 with a fractal heap; HDF5 uses it past eight
//! attributes in files written with the newest format) and shared datatypes are not read:
//! the caller learns of them (`Root::dense`, `Root::skipped`).
//!
//! Every address is checked against the data, continuation blocks are followed once each
//! (at most `MAX_BLOCKS`), messages counted (`MAX_MESSAGES`), and nothing is allocated from
//! a declared size beyond the bytes that are there. Checksums are not verified (HDF5
//! refuses a v2 header whose checksum fails; a header that reads here but fails there is
//! harmless).

use std::collections::HashSet;

/// Continuation blocks followed per object header.
const MAX_BLOCKS: usize = 1024;
/// Messages read per object header.
const MAX_MESSAGES: usize = 65_536;
/// User block sizes tried for the superblock (512 up to 2^30).
const MAX_USERBLOCK_SHIFT: u32 = 30;

/// The root group's attributes that were read.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Root {
    /// `(name, first string value)` of each string attribute.
    pub attrs: Vec<(String, Vec<u8>)>,
    /// Attributes in dense storage, not read.
    pub dense: bool,
    /// Attributes that could not be read, with the reason.
    pub skipped: Vec<String>,
}

type Res<T> = Result<T, String>;

struct R<'a> {
    d: &'a [u8],
    base: u64,
    so: usize,
    sl: usize,
}

fn uint(d: &[u8], pos: usize, n: usize) -> Res<u64> {
    let b = pos
        .checked_add(n)
        .and_then(|e| d.get(pos..e))
        .ok_or_else(|| format!("{n}-byte field at {pos} runs past the end"))?;
    Ok(b.iter().rev().fold(0u64, |v, x| v << 8 | u64::from(*x)))
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

impl<'a> R<'a> {
    /// The file offset of address `a` (relative to the base address).
    fn at(&self, a: u64) -> Res<usize> {
        let p = self
            .base
            .checked_add(a)
            .filter(|p| *p < self.d.len() as u64);
        p.map(|p| p as usize)
            .ok_or_else(|| format!("address {a} lies outside the file"))
    }

    fn addr(&self, pos: usize) -> Res<u64> {
        uint(self.d, pos, self.so)
    }

    fn undefined(&self, a: u64) -> bool {
        self.so < 8 && a == (1u64 << (8 * self.so)) - 1 || a == u64::MAX
    }
}

/// The offset of the superblock: 0, or a power of two from 512.
fn superblock(d: &[u8]) -> Option<usize> {
    let sig = super::sniff::HDF5_MAGIC;
    if d.starts_with(sig) {
        return Some(0);
    }
    (9..=MAX_USERBLOCK_SHIFT)
        .map(|s| 1usize << s)
        .take_while(|o| *o < d.len())
        .find(|o| d[*o..].starts_with(sig))
}

/// Reads the string attributes of the root group.
pub(crate) fn root_attributes(d: &[u8]) -> Res<Root> {
    let s = superblock(d).ok_or("no HDF5 superblock")?;
    let version = *d.get(s + 8).ok_or("superblock runs past the end")?;
    let (so, sl, base_at, root_at) = match version {
        0 | 1 => {
            let so = usize::from(*d.get(s + 13).ok_or("superblock runs past the end")?);
            let sl = usize::from(*d.get(s + 14).ok_or("superblock runs past the end")?);
            let start = s + if version == 0 { 24 } else { 28 };
            // base, free space, end of file, driver info; then the root symbol table
            // entry: link name offset, object header address.
            (so, sl, start, start + 5 * so)
        }
        2 | 3 => {
            let so = usize::from(*d.get(s + 9).ok_or("superblock runs past the end")?);
            let sl = usize::from(*d.get(s + 10).ok_or("superblock runs past the end")?);
            // base, extension, end of file, root object header.
            (so, sl, s + 12, s + 12 + 3 * so)
        }
        v => return Err(format!("superblock version {v} is not known")),
    };
    if ![2, 4, 8].contains(&so) || ![2, 4, 8].contains(&sl) {
        return Err(format!(
            "sizes of offsets {so} and lengths {sl} are not 2, 4 or 8"
        ));
    }
    let mut r = R { d, base: 0, so, sl };
    r.base = r.addr(base_at)?;
    let root = r.addr(root_at)?;
    let mut out = Root::default();
    let messages = r.messages(root)?;
    for (ty, data) in messages {
        match ty {
            0x000C => match r.attribute(data) {
                Ok(Some(a)) => out.attrs.push(a),
                Ok(None) => {}
                Err(why) => out.skipped.push(why),
            },
            0x0015 => {
                // Attribute info: version, flags, [max creation index], fractal heap address.
                let flags = *data.get(1).ok_or("attribute info message too short")?;
                let at = 2 + if flags & 1 != 0 { 2 } else { 0 };
                let heap = uint(data, at, so)?;
                if !r.undefined(heap) {
                    out.dense = true;
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

impl<'a> R<'a> {
    /// The messages `(type, data)` of the object header at address `a`.
    fn messages(&self, a: u64) -> Res<Vec<(u16, &'a [u8])>> {
        let p = self.at(a)?;
        let d = self.d;
        let mut out = Vec::new();
        let mut blocks = Vec::new();
        let v2 = d[p..].starts_with(b"OHDR");
        let mut creation_order = false;
        if v2 {
            if d.get(p + 4) != Some(&2) {
                return Err("object header version is not 2".into());
            }
            let flags = *d.get(p + 5).ok_or("object header runs past the end")?;
            creation_order = flags & 0x04 != 0;
            let mut q = p + 6;
            if flags & 0x20 != 0 {
                q += 16;
            }
            if flags & 0x10 != 0 {
                q += 4;
            }
            let n = 1usize << (flags & 3);
            let size = uint(d, q, n)? as usize;
            q += n;
            blocks.push((
                q,
                q.checked_add(size).ok_or("object header size overflows")?,
            ));
        } else {
            if d[p] != 1 {
                return Err(format!("object header version {} is not known", d[p]));
            }
            let size = uint(d, p + 8, 4)? as usize;
            blocks.push((p + 16, p + 16 + size));
        }
        let mut seen = HashSet::new();
        let mut i = 0;
        while i < blocks.len() {
            if i >= MAX_BLOCKS {
                return Err(format!("more than {MAX_BLOCKS} object header blocks"));
            }
            let (start, end) = blocks[i];
            i += 1;
            if end > d.len() {
                return Err("object header block runs past the end".into());
            }
            let head = if v2 {
                4 + usize::from(creation_order) * 2
            } else {
                8
            };
            let mut q = start;
            while q + head <= end {
                if out.len() >= MAX_MESSAGES {
                    return Err(format!("more than {MAX_MESSAGES} header messages"));
                }
                let (ty, size) = if v2 {
                    (u16::from(d[q]), uint(d, q + 1, 2)? as usize)
                } else {
                    (uint(d, q, 2)? as u16, uint(d, q + 2, 2)? as usize)
                };
                let body = q + head;
                let stop = body + size;
                if stop > end {
                    return Err(format!(
                        "header message of {size} bytes runs past its block"
                    ));
                }
                let data = &d[body..stop];
                q = if v2 { stop } else { body + align8(size) };
                if ty == 0x0010 {
                    let (ca, cl) = (uint(data, 0, self.so)?, uint(data, self.so, self.sl)?);
                    if !seen.insert(ca) {
                        continue;
                    }
                    let cp = self.at(ca)?;
                    let cl = usize::try_from(cl).map_err(|_| "continuation too long")?;
                    let ce = cp.checked_add(cl).ok_or("continuation overflows")?;
                    if v2 {
                        if !d[cp..].starts_with(b"OCHK") || cl < 8 {
                            return Err("continuation block without its OCHK signature".into());
                        }
                        blocks.push((cp + 4, ce - 4));
                    } else {
                        blocks.push((cp, ce));
                    }
                } else {
                    out.push((ty, data));
                }
            }
        }
        Ok(out)
    }

    /// A string attribute: `(name, first value)`; `None` for other datatypes.
    fn attribute(&self, m: &[u8]) -> Res<Option<(String, Vec<u8>)>> {
        let version = *m.first().ok_or("empty attribute message")?;
        let flags = *m.get(1).ok_or("attribute message too short")?;
        let name_len = uint(m, 2, 2)? as usize;
        let dt_len = uint(m, 4, 2)? as usize;
        let ds_len = uint(m, 6, 2)? as usize;
        let (name_at, pad): (usize, fn(usize) -> usize) = match version {
            1 => (8, align8),
            2 => (8, |n| n),
            3 => (9, |n| n),
            v => return Err(format!("attribute message version {v} is not known")),
        };
        let dt_at = name_at + pad(name_len);
        let ds_at = dt_at + pad(dt_len);
        let data_at = ds_at + pad(ds_len);
        let name = m
            .get(name_at..name_at + name_len)
            .ok_or("attribute name runs past its message")?;
        let name =
            String::from_utf8_lossy(name.split(|b| *b == 0).next().unwrap_or(&[])).into_owned();
        if version >= 2 && flags & 3 != 0 {
            return Err(format!(
                "attribute {name:?} has a shared datatype or dataspace"
            ));
        }
        let dt = m
            .get(dt_at..dt_at + dt_len)
            .ok_or_else(|| format!("attribute {name:?}: datatype runs past its message"))?;
        let ds = m
            .get(ds_at..ds_at + ds_len)
            .ok_or_else(|| format!("attribute {name:?}: dataspace runs past its message"))?;
        let data = m.get(data_at..).unwrap_or(&[]);
        if dt.len() < 8 {
            return Err(format!("attribute {name:?}: datatype too short"));
        }
        let class = dt[0] & 0x0f;
        let size = uint(dt, 4, 4)? as usize;
        let vlen_string = class == 9 && dt[1] & 0x0f == 1;
        if class != 3 && !vlen_string {
            return Ok(None);
        }
        if self
            .elements(ds)
            .map_err(|e| format!("attribute {name:?}: {e}"))?
            == 0
        {
            return Ok(Some((name, Vec::new())));
        }
        let value = if class == 3 {
            let v = data
                .get(..size)
                .ok_or_else(|| format!("attribute {name:?}: string runs past its message"))?;
            let end = v
                .iter()
                .rposition(|b| *b != 0 && *b != b' ')
                .map_or(0, |i| i + 1);
            v[..end].to_vec()
        } else {
            let len = uint(data, 0, 4)? as usize;
            let heap = uint(data, 4, self.so)?;
            let index = uint(data, 4 + self.so, 4)?;
            self.global_heap(heap, index, len)
                .map_err(|e| format!("attribute {name:?}: {e}"))?
                .to_vec()
        };
        Ok(Some((name, value)))
    }

    /// Elements of a dataspace (1 for a scalar, 0 for a null dataspace).
    fn elements(&self, ds: &[u8]) -> Res<u64> {
        let version = *ds.first().ok_or("empty dataspace")?;
        let rank = usize::from(*ds.get(1).ok_or("dataspace too short")?);
        let dims_at = match version {
            1 => 8,
            2 => {
                match ds.get(3) {
                    Some(0) => return Ok(1),
                    Some(2) => return Ok(0),
                    _ => {}
                }
                4
            }
            v => return Err(format!("dataspace version {v} is not known")),
        };
        let mut n = 1u64;
        for k in 0..rank {
            n = n.saturating_mul(uint(ds, dims_at + k * self.sl, self.sl)?);
        }
        Ok(n)
    }

    /// Object `index` of the global heap collection at `a`, `len` bytes of it.
    fn global_heap(&self, a: u64, index: u64, len: usize) -> Res<&'a [u8]> {
        let p = self.at(a)?;
        let d = self.d;
        if !d[p..].starts_with(b"GCOL") {
            return Err("variable-length string outside a global heap collection".into());
        }
        let size = uint(d, p + 8, self.sl)?;
        let end = (p as u64)
            .checked_add(size)
            .filter(|e| *e <= d.len() as u64)
            .ok_or("global heap collection runs past the end")? as usize;
        let mut q = p + 8 + self.sl;
        while q + 8 + self.sl <= end {
            let i = uint(d, q, 2)?;
            let osize = uint(d, q + 8, self.sl)?;
            let body = q + 8 + self.sl;
            if i == 0 {
                break;
            }
            let stop = (body as u64)
                .checked_add(osize)
                .filter(|s| *s <= end as u64)
                .ok_or("global heap object runs past its collection")?
                as usize;
            if i == index {
                if len > stop - body {
                    return Err("string longer than its heap object".into());
                }
                return Ok(&d[body..body + len]);
            }
            q = body + align8(stop - body);
        }
        Err(format!("global heap object {index} not found"))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal HDF5 file as the HDF5 library writes one with its earliest format
    /// (superblock 0, object header 1): root attributes of fixed-length strings and one
    /// variable-length string in a global heap.
    pub(crate) fn file(fixed: &[(&str, &[u8])], vlen: Option<(&str, &[u8])>) -> Vec<u8> {
        let mut d = super::super::sniff::HDF5_MAGIC.to_vec();
        d.extend([0, 0, 0, 0, 0, 8, 8, 0, 4, 0, 16, 0, 0, 0, 0, 0]);
        let addrs = d.len();
        d.extend([0u8; 8 * 4]); // base, free space (set below), eof, driver
        d.extend([0u8; 8]); // link name offset
        let root_ptr = d.len();
        d.extend([0u8; 8]);
        d.extend([0u8; 24]); // cache type, reserved, scratch
        d[addrs + 8..addrs + 16].copy_from_slice(&u64::MAX.to_le_bytes());
        d[addrs + 24..addrs + 32].copy_from_slice(&u64::MAX.to_le_bytes());
        // The global heap first, so its address is known.
        let heap = d.len() as u64;
        if let Some((_, v)) = vlen {
            let mut h = b"GCOL\x01\x00\x00\x00".to_vec();
            let obj_len = align8(v.len());
            let size = 16 + 16 + obj_len + 16;
            h.extend((size as u64).to_le_bytes());
            h.extend(1u16.to_le_bytes());
            h.extend(0u16.to_le_bytes());
            h.extend([0u8; 4]);
            h.extend((v.len() as u64).to_le_bytes());
            h.extend_from_slice(v);
            h.resize(16 + 16 + obj_len, 0);
            h.extend([0u8; 16]); // free space object (index 0)
            d.extend(h);
        }
        let mut msgs = Vec::new();
        let mut attr = |name: &str, dt: Vec<u8>, value: Vec<u8>| {
            let ds = vec![1u8, 0, 0, 0, 0, 0, 0, 0]; // scalar, version 1
            let mut m = vec![1u8, 0];
            m.extend((name.len() as u16 + 1).to_le_bytes());
            m.extend((dt.len() as u16).to_le_bytes());
            m.extend((ds.len() as u16).to_le_bytes());
            let mut n = name.as_bytes().to_vec();
            n.push(0);
            n.resize(align8(n.len()), 0);
            m.extend(n);
            let mut dt = dt;
            dt.resize(align8(dt.len()), 0);
            m.extend(dt);
            m.extend(ds);
            m.extend(value);
            m.resize(align8(m.len()), 0);
            msgs.extend(0x000Cu16.to_le_bytes());
            msgs.extend((m.len() as u16).to_le_bytes());
            msgs.extend([0u8; 4]);
            msgs.extend(m);
        };
        for (name, v) in fixed {
            let mut dt = vec![0x13, 0, 0, 0];
            dt.extend((v.len() as u32).to_le_bytes());
            attr(name, dt, v.to_vec());
        }
        if let Some((name, v)) = vlen {
            let mut dt = vec![0x19, 0x01, 0, 0];
            dt.extend(16u32.to_le_bytes());
            dt.extend([0x13, 0, 0, 0, 1, 0, 0, 0]); // base type: 1-byte string
            let mut value = (v.len() as u32).to_le_bytes().to_vec();
            value.extend(heap.to_le_bytes());
            value.extend(1u32.to_le_bytes());
            attr(name, dt, value);
        }
        while !d.len().is_multiple_of(8) {
            d.push(0);
        }
        let oh = d.len() as u64;
        d.extend([1u8, 0]);
        d.extend(((msgs.len() / 8) as u16).to_le_bytes());
        d.extend(1u32.to_le_bytes());
        d.extend((msgs.len() as u32).to_le_bytes());
        d.extend([0u8; 4]);
        d.extend(msgs);
        d[root_ptr..root_ptr + 8].copy_from_slice(&oh.to_le_bytes());
        let eof = d.len() as u64;
        d[addrs + 16..addrs + 24].copy_from_slice(&eof.to_le_bytes());
        d
    }

    #[test]
    fn fixed_and_variable_length_strings() {
        let cfg = br#"{ "config": {"layers": []}, "class_name": "Sequential" }"#;
        let d = file(
            &[("keras_version", b"2.15.0"), ("model_config", cfg)],
            Some(("training_config", b"{\"loss\": \"mse\"}")),
        );
        let r = root_attributes(&d).unwrap();
        assert_eq!(
            r.attrs,
            vec![
                ("keras_version".into(), b"2.15.0".to_vec()),
                ("model_config".into(), cfg.to_vec()),
                ("training_config".into(), b"{\"loss\": \"mse\"}".to_vec()),
            ]
        );
        assert!(!r.dense && r.skipped.is_empty());
        // Behind a user block of 512 bytes (addresses relative to the base address).
        let mut u = vec![0u8; 512];
        let mut moved = d.clone();
        moved[24..32].copy_from_slice(&512u64.to_le_bytes());
        u.extend(moved);
        assert_eq!(root_attributes(&u).unwrap().attrs.len(), 3);
    }

    #[test]
    fn truncated_and_hostile_files_are_errors_not_panics() {
        let d = file(&[("model_config", b"{}")], Some(("x", b"abc")));
        for cut in 0..d.len() {
            let _ = root_attributes(&d[..cut]);
        }
        assert!(root_attributes(&d[..d.len() - 4]).is_err());
        // Every byte of the file flipped in turn: errors or results, never a panic.
        for i in 0..d.len() {
            let mut e = d.clone();
            e[i] ^= 0xff;
            let _ = root_attributes(&e);
        }
        // A continuation chain that loops (a block continuing into itself) is followed
        // once: the attribute whose message became the continuation is gone, no hang.
        let mut l = file(&[("a", b"x"), ("b", b"y")], None);
        let oh = u64::from_le_bytes(l[64..72].try_into().unwrap()) as usize;
        let block = l.len() as u64;
        let mut cont = 0x0010u16.to_le_bytes().to_vec();
        cont.extend(16u16.to_le_bytes());
        cont.extend([0u8; 4]);
        cont.extend(block.to_le_bytes());
        cont.extend(24u64.to_le_bytes());
        l.extend(&cont);
        l[oh + 16..oh + 18].copy_from_slice(&0x0010u16.to_le_bytes());
        l[oh + 24..oh + 40].copy_from_slice(&cont[8..]);
        let r = root_attributes(&l).unwrap();
        assert_eq!(r.attrs, vec![("b".to_string(), b"y".to_vec())]);
    }
}
