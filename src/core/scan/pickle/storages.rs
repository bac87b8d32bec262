//! PyTorch storages: what the persistent ids of a checkpoint say a storage holds, against
//! the bytes the file has for it.
//!
//! A storage is named by a persistent id, `('storage', storage_type, key, location,
//! numel)` in a zip checkpoint and `('storage', storage_type, key, location, numel,
//! view_metadata)` in a legacy one. `numel` counts elements of the storage type's dtype
//! (`torch.FloatStorage`: 4 bytes each; `torch.UntypedStorage`, also spelled
//! `torch.storage.UntypedStorage`: bytes). The loader builds each key's storage once, from
//! the first id that names it, and hands that one to every later id with the key (whatever
//! size or type they give): so does the reader (`Reader::storage_id`).
//!
//! * **Zip checkpoints** (`torch-zip` streams a container gives the sizes of the archive's
//!   `data/<key>` members, `StorageSizes`): torch reads the member and makes a storage of
//!   `numel × element size` bytes over it, so a member of another size is read past or
//!   cut (`torch.storage-size-mismatch`, `unknown`), and an id whose member is missing
//!   makes the load fail (`torch.storage-missing`, `unknown`). `torch.save` writes each
//!   member with exactly the storage's bytes.
//! * **Legacy files** (`torch-legacy`): after the object's pickle come a pickle of the list
//!   of storage keys and, for each key in that order, the storage as torch writes it (its
//!   element count as a little-endian int64, then the bytes). torch fills each storage
//!   from there and refuses a count other than the id's: a count that differs is
//!   `torch.storage-size-mismatch`, data that ends early `torch.storage-truncated`, a key
//!   no id names or a storage an id names that the list leaves out (torch leaves its memory
//!   uninitialised) `torch.storage-missing`, all `unknown`. A key list the reader cannot
//!   read (not a list of str) or a storage of a type it does not know the element size of
//!   leaves the data unchecked: `torch.storage-unchecked`, `unknown`.
//!
//! These are loads that fail or read memory they should not, not code the file runs: not
//! safe, and named for what they are, like `torch.tensor-out-of-bounds` (see `tensors`).

use std::collections::HashMap;

use super::text;
use super::value::{Kind, Storage, Value};
use super::Reader;
use crate::core::scan::Severity;

/// The uncompressed size of each `data/<key>` member of a PyTorch zip, by key.
pub type StorageSizes = HashMap<String, u64>;

/// Storages tracked per stream; past this, ids are no longer checked (and said so).
const MAX_STORAGES: usize = 1 << 20;

/// The storages of one stream, in the order first named.
#[derive(Default)]
pub(crate) struct Storages {
    list: Vec<(String, Storage)>,
    index: HashMap<String, usize>,
    /// More keys than `MAX_STORAGES`: some were not tracked.
    overflow: bool,
}

/// Bytes per element of a storage type, by its dotted path.
pub(crate) fn storage_elem(path: &str) -> Option<u64> {
    if path == "torch.storage.UntypedStorage" {
        return Some(1);
    }
    let leaf = path
        .strip_prefix("torch.cuda.")
        .or_else(|| path.strip_prefix("torch."))?;
    Some(match leaf {
        "UntypedStorage" | "ByteStorage" | "CharStorage" | "BoolStorage" | "QUInt8Storage"
        | "QInt8Storage" | "QUInt4x2Storage" | "QUInt2x4Storage" => 1,
        "HalfStorage" | "BFloat16Storage" | "ShortStorage" => 2,
        "FloatStorage" | "IntStorage" | "QInt32Storage" => 4,
        "DoubleStorage" | "LongStorage" | "ComplexFloatStorage" => 8,
        "ComplexDoubleStorage" => 16,
        _ => return None,
    })
}

/// Bytes per element of a torch dtype (`torch.float32`, as pickles name dtypes), by its
/// dotted path: `torch._utils._element_size`.
pub(crate) fn dtype_size(path: &str) -> Option<u64> {
    Some(match path.strip_prefix("torch.")? {
        "bool" | "uint8" | "int8" | "qint8" | "quint8" | "quint4x2" | "quint2x4"
        | "float8_e5m2" | "float8_e4m3fn" | "float8_e5m2fnuz" | "float8_e4m3fnuz"
        | "float8_e8m0fnu" | "float4_e2m1fn_x2" | "bits1x8" | "bits2x4" | "bits4x2" | "bits8" => 1,
        "float16" | "half" | "bfloat16" | "int16" | "short" | "uint16" | "bits16" => 2,
        "float32" | "float" | "int32" | "int" | "qint32" | "uint32" | "complex32" | "chalf" => 4,
        "float64" | "double" | "int64" | "long" | "uint64" | "complex64" | "cfloat" => 8,
        "complex128" | "cdouble" => 16,
        _ => return None,
    })
}

/// The dotted path of a value known as a global.
pub(crate) fn global_path(v: &Value<'_>) -> Option<String> {
    match v.kind()? {
        Kind::Named(n) => Some(n.path()),
        _ => None,
    }
}

fn bytes_of(s: Storage) -> Option<i128> {
    s.elem.map(|e| i128::from(s.numel) * i128::from(e))
}

impl<'a> Reader<'a, '_> {
    /// The storage a persistent id names (`None` when it is not a storage id the reader
    /// can size); the first id of a key stands for every later one.
    pub(crate) fn storage_id(&mut self, pid: &Value<'a>, legacy: bool, at: u64) -> Option<Storage> {
        let items = pid.items()?;
        if items.first()?.as_str() != Some("storage") {
            return None;
        }
        let Some(Value::Int(numel)) = items.get(4) else {
            return None;
        };
        let own = Storage {
            numel: *numel,
            elem: items
                .get(1)
                .and_then(global_path)
                .and_then(|p| storage_elem(&p)),
        };
        let Some(key) = items.get(2).and_then(Value::as_str) else {
            return Some(own);
        };
        let storage = match self.storages.index.get(key) {
            Some(&i) => self.storages.list[i].1,
            None => {
                self.new_storage(key, own, at);
                own
            }
        };
        if !legacy {
            return Some(storage);
        }
        // `(view_key, offset, size)`: a slice of the storage, in its elements.
        match items.get(5).and_then(Value::items).as_deref() {
            Some([_, Value::Int(offset), Value::Int(size)]) => {
                let (offset, size) = (*offset, *size);
                let end = i128::from(offset) + i128::from(size);
                if offset < 0 || size < 0 || end > i128::from(storage.numel) {
                    self.rec.note("torch.tensor-out-of-bounds", Severity::Unknown, at, &format!("view of {key}"), None, || {
                        format!("a persistent id views elements {offset}..{end} of storage {key:?}, which holds {} (torch.load fails on it, or reads past the storage)", storage.numel)
                    });
                }
                Some(Storage {
                    numel: size,
                    elem: storage.elem,
                })
            }
            _ => Some(storage),
        }
    }

    fn new_storage(&mut self, key: &str, s: Storage, at: u64) {
        if self.storages.list.len() >= MAX_STORAGES {
            if !self.storages.overflow {
                self.storages.overflow = true;
                self.rec.note("torch.storage-unchecked", Severity::Unknown, at, "", None, || {
                    format!("more than {MAX_STORAGES} storages: the sizes of the rest are not checked")
                });
            }
            return;
        }
        self.storages
            .index
            .insert(key.to_string(), self.storages.list.len());
        self.storages.list.push((key.to_string(), s));
        let Some(sizes) = self.sizes else {
            return;
        };
        match sizes.get(key) {
            None => self.rec.note("torch.storage-missing", Severity::Unknown, at, key, None, || {
                format!("a persistent id names storage {key:?}, and the archive has no data/{key} member for it (torch.load fails)")
            }),
            Some(&have) => {
                let Some(want) = bytes_of(s) else {
                    return;
                };
                if want != i128::from(have) {
                    self.rec.note("torch.storage-size-mismatch", Severity::Unknown, at, key, None, || {
                        format!("a persistent id gives storage {key:?} {} elements of {} bytes ({want} bytes), and its data/{key} member holds {have} bytes (torch reads past the member, or a storage of other bytes)", s.numel, s.elem.unwrap_or(0))
                    });
                }
            }
        }
    }

    /// A legacy file's storages: `keys` is the pickle of the key list, the raw storages
    /// start at `from`.
    pub(crate) fn legacy_storages(&mut self, keys: &[u8], keys_at: u64, from: usize) {
        let Some(list) = string_list(keys) else {
            self.rec.note("torch.storage-unchecked", Severity::Unknown, keys_at, "", None, || {
                "the pickle after the object's is not a list of storage keys the reader can read: the storages after it are not checked".into()
            });
            return;
        };
        let mut filled = vec![false; self.storages.list.len()];
        let mut pos = from;
        for key in list {
            let at = pos as u64;
            let Some(&i) = self.storages.index.get(&key) else {
                if !self.storages.overflow {
                    self.rec.note("torch.storage-missing", Severity::Unknown, at, &key, None, || {
                        format!("the storage key list names {key:?}, which no persistent id defines (torch.load fails there)")
                    });
                }
                return;
            };
            let s = self.storages.list[i].1;
            let Some(head) = self
                .data
                .get(pos..pos + 8)
                .and_then(|h| <[u8; 8]>::try_from(h).ok())
            else {
                let n = self.data.len() - pos;
                self.rec.note("torch.storage-truncated", Severity::Unknown, at, &key, None, || {
                    format!("the data ends before storage {key:?}: {n} bytes where its 8-byte element count belongs (torch.load fails)")
                });
                return;
            };
            let count = i64::from_le_bytes(head);
            if count != s.numel || count < 0 {
                self.rec.note("torch.storage-size-mismatch", Severity::Unknown, at, &key, None, || {
                    format!("storage {key:?} is recorded with {count} elements where its persistent id gives {} (torch.load fails: wrong byte size)", s.numel)
                });
                return;
            }
            let Some(want) = bytes_of(s) else {
                self.rec.note("torch.storage-unchecked", Severity::Unknown, at, &key, None, || {
                    format!("storage {key:?} is of a type whose element size the reader does not know: it and the storages after it are not checked")
                });
                return;
            };
            let there = (self.data.len() - pos - 8) as i128;
            if want > there {
                self.rec.note("torch.storage-truncated", Severity::Unknown, at, &key, None, || {
                    format!("storage {key:?} needs {want} bytes and {there} are left: the file is cut short (torch.load fails)")
                });
                return;
            }
            pos += 8 + want as usize;
            filled[i] = true;
        }
        for (i, (key, _)) in self.storages.list.iter().enumerate() {
            if !filled[i] {
                self.rec.note("torch.storage-missing", Severity::Unknown, pos as u64, key, None, || {
                    format!("storage {key:?}, named by a persistent id, is not in the storage key list: torch.load leaves its memory uninitialised (the tensor holds whatever was in the process's memory)")
                });
            }
        }
    }
}

/// The list of str a pickle holds, as `pickle.dump` writes a list of keys in any protocol
/// (`None` for anything else).
pub(crate) fn string_list(d: &[u8]) -> Option<Vec<String>> {
    let mut list: Option<Vec<String>> = None;
    // Strings above the list (or the mark) on the stack.
    let mut loose: Vec<String> = Vec::new();
    let mut mark = false;
    let mut i = 0usize;
    let take = |i: &mut usize, n: usize| -> Option<&[u8]> {
        let s = d.get(*i..i.checked_add(n)?)?;
        *i += n;
        Some(s)
    };
    let line = |i: &mut usize| -> Option<&[u8]> {
        let n = memchr::memchr(b'\n', d.get(*i..)?)?;
        let s = &d[*i..*i + n];
        *i += n + 1;
        Some(s)
    };
    let len = |b: &[u8]| -> usize {
        b.iter().rev().fold(0usize, |acc, &x| {
            acc.saturating_mul(256).saturating_add(usize::from(x))
        })
    };
    loop {
        let op = *d.get(i)?;
        i += 1;
        let mut string = None;
        match op {
            0x80 => {
                take(&mut i, 1)?;
            }
            0x95 => {
                take(&mut i, 8)?;
            }
            b'q' => {
                take(&mut i, 1)?;
            }
            b'r' => {
                take(&mut i, 4)?;
            }
            b'p' => {
                line(&mut i)?;
            }
            0x94 => {}
            b']' if list.is_none() && !mark && loose.is_empty() => list = Some(Vec::new()),
            b'(' if !mark => mark = true,
            b'l' if mark && list.is_none() => {
                mark = false;
                list = Some(std::mem::take(&mut loose));
            }
            b'a' if !mark && loose.len() == 1 => list.as_mut()?.append(&mut loose),
            b'e' if mark => {
                mark = false;
                list.as_mut()?.append(&mut loose);
            }
            b'X' | b'T' => {
                let n = len(take(&mut i, 4)?);
                string = Some(String::from_utf8(take(&mut i, n)?.to_vec()).ok()?);
            }
            0x8c | b'U' => {
                let n = len(take(&mut i, 1)?);
                string = Some(String::from_utf8(take(&mut i, n)?.to_vec()).ok()?);
            }
            0x8d => {
                let n = len(take(&mut i, 8)?);
                string = Some(String::from_utf8(take(&mut i, n)?.to_vec()).ok()?);
            }
            b'V' => string = Some(text::raw_unicode_escape(line(&mut i)?).ok()??),
            b'S' => string = Some(text::python2_string(line(&mut i)?).ok()??),
            b'.' if !mark && loose.is_empty() => return list,
            _ => return None,
        }
        if let Some(s) = string {
            if list.is_none() && !mark {
                return None;
            }
            loose.push(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::op::*;
    use super::super::tests::{bu, call, cat, global, int, pickle, policy, scan_kind};
    use super::{dtype_size, storage_elem, string_list, StorageSizes};
    use crate::core::scan::container::{kind, Stream};
    use crate::core::scan::{scan_stream, Finding, Limits, Location, Severity};

    /// `('storage', torch.<ty>, key, 'cpu', numel[, view])` BINPERSID.
    fn pid(ty: &str, key: &str, numel: i32, view: Option<&[u8]>) -> Vec<u8> {
        let mut n = b"J".to_vec();
        n.extend(numel.to_le_bytes());
        let module = if ty == "UntypedStorage" {
            "torch.storage"
        } else {
            "torch"
        };
        cat(&[
            MARK,
            &bu("storage"),
            &global(module, ty),
            &bu(key),
            &bu("cpu"),
            &n,
            view.unwrap_or_default(),
            TUPLE,
            BINPERSID,
        ])
    }

    /// `_rebuild_tensor_v2(storage, 0, (n,), (1,), False, OrderedDict())`.
    fn tensor(storage: &[u8], n: u8) -> Vec<u8> {
        call(
            &global("torch._utils", "_rebuild_tensor_v2"),
            &[
                storage,
                &int(0),
                &cat(&[&int(n), TUPLE1]),
                &cat(&[&int(1), TUPLE1]),
                b"\x89",
                &call(&global("collections", "OrderedDict"), &[]),
            ],
        )
    }

    /// A state dict `{'t0': ..., 't1': ...}` of tensors.
    fn state_dict(tensors: &[Vec<u8>]) -> Vec<u8> {
        let mut body = cat(&[EMPTY_DICT, MARK]);
        for (i, t) in tensors.iter().enumerate() {
            body.extend(bu(&format!("t{i}")));
            body.extend(t);
        }
        body.extend(SETITEMS);
        pickle(2, &body)
    }

    fn zip_stream(data: &[u8], sizes: &[(&str, u64)]) -> Vec<Finding> {
        let sizes: StorageSizes = sizes.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let s = Stream {
            data,
            location: Location::default(),
            max_pickles: None,
            kind: kind::TORCH_ZIP,
            storages: Some(&sizes),
        };
        scan_stream(&s, policy(), &Limits::default())
    }

    fn only(f: &[Finding], rule: &str) -> usize {
        assert!(f.iter().all(|x| x.rule == rule), "{f:#?}");
        assert!(f.iter().all(|x| x.severity == Severity::Unknown), "{f:#?}");
        f.len()
    }

    /// (storage type, bytes per element).
    const TYPES: [(&str, u64); 6] = [
        ("FloatStorage", 4),
        ("HalfStorage", 2),
        ("CharStorage", 1),
        ("BoolStorage", 1),
        ("ComplexDoubleStorage", 16),
        ("UntypedStorage", 1),
    ];

    #[test]
    fn zip_storage_members_match_their_ids() {
        for (ty, elem) in TYPES {
            let d = state_dict(&[tensor(&pid(ty, "0", 5, None), 5)]);
            assert!(zip_stream(&d, &[("0", 5 * elem)]).is_empty(), "{ty}");
            // A byte short, a byte more, an element more: read past, or other bytes.
            for have in [5 * elem - 1, 5 * elem + 1, 6 * elem] {
                let f = zip_stream(&d, &[("0", have)]);
                assert_eq!(only(&f, "torch.storage-size-mismatch"), 1, "{ty} {have}");
                // At the BINPERSID that names the storage.
                let at = d.windows(2).position(|w| w == b"tQ").unwrap() + 1;
                assert_eq!(f[0].location.offset, Some(at as u64), "{f:#?}");
            }
            let f = zip_stream(&d, &[("1", 5 * elem)]);
            assert_eq!(only(&f, "torch.storage-missing"), 1, "{ty}");
        }
        // Without the sizes (a stream no container measured) nothing is said.
        let d = state_dict(&[tensor(&pid("FloatStorage", "0", 5, None), 5)]);
        assert!(scan_kind(&d, kind::TORCH_ZIP, None).is_empty());
        // Shared storages are checked once, by their first id.
        let d = state_dict(&[
            tensor(&pid("FloatStorage", "0", 5, None), 5),
            tensor(&pid("FloatStorage", "0", 9, None), 2),
            tensor(&pid("FloatStorage", "1", 2, None), 2),
        ]);
        assert!(zip_stream(&d, &[("0", 20), ("1", 8), ("2", 4)]).is_empty());
        let f = zip_stream(&d, &[("0", 36), ("1", 4)]);
        assert_eq!(only(&f, "torch.storage-size-mismatch"), 2, "{f:#?}");
    }

    /// The five pickles of a legacy file, then `raw`.
    fn legacy(object: &[u8], keys: &[&str], raw: &[u8]) -> Vec<u8> {
        let mut list = cat(&[EMPTY_LIST, MARK]);
        for k in keys {
            list.extend(bu(k));
        }
        list.extend(b"e");
        cat(&[
            &pickle(2, &int(1)),
            &pickle(2, &int(2)),
            &pickle(2, EMPTY_DICT),
            object,
            &pickle(2, &list),
            raw,
        ])
    }

    /// A storage as torch writes it after the pickles: its count, then `bytes` bytes.
    fn raw(count: i64, bytes: usize) -> Vec<u8> {
        let mut v = count.to_le_bytes().to_vec();
        v.extend((0..bytes).map(|i| i as u8));
        v
    }

    fn legacy_findings(d: &[u8]) -> Vec<Finding> {
        scan_kind(d, kind::TORCH_LEGACY, Some(5))
    }

    #[test]
    fn legacy_storages_match_their_ids() {
        for (ty, elem) in TYPES {
            let e = elem as usize;
            let obj = state_dict(&[
                tensor(&pid(ty, "10", 3, Some(NONE)), 3),
                tensor(&pid(ty, "7", 2, Some(NONE)), 2),
            ]);
            let storages = cat(&[&raw(2, 2 * e), &raw(3, 3 * e)]);
            let d = legacy(&obj, &["7", "10"], &storages);
            assert!(
                legacy_findings(&d).is_empty(),
                "{ty}: {:#?}",
                legacy_findings(&d)
            );
            // A count other than the id's.
            let bad = cat(&[&raw(2, 2 * e), &raw(4, 4 * e)]);
            let f = legacy_findings(&legacy(&obj, &["7", "10"], &bad));
            assert_eq!(only(&f, "torch.storage-size-mismatch"), 1, "{ty}");
            // Data cut short, in the bytes and in the count.
            for cut in [1, 3 * e, 3 * e + 5] {
                let d = legacy(&obj, &["7", "10"], &storages[..storages.len() - cut]);
                let f = legacy_findings(&d);
                assert_eq!(only(&f, "torch.storage-truncated"), 1, "{ty} {cut}");
            }
            // A key no id defines; a storage the list leaves out (never filled).
            let f = legacy_findings(&legacy(&obj, &["7", "8"], &storages));
            assert_eq!(only(&f, "torch.storage-missing"), 1, "{ty}");
            let f = legacy_findings(&legacy(&obj, &["7"], &storages[..8 + 2 * e]));
            assert_eq!(only(&f, "torch.storage-missing"), 1, "{ty}");
        }
    }

    #[test]
    fn legacy_storages_that_cannot_be_followed() {
        let obj = state_dict(&[tensor(&pid("FloatStorage", "0", 1, Some(NONE)), 1)]);
        // The fifth pickle is not a list of keys.
        let d = cat(&[
            &pickle(2, &int(1)),
            &pickle(2, &int(2)),
            &pickle(2, EMPTY_DICT),
            &obj,
            &pickle(2, &cat(&[EMPTY_DICT])),
            &raw(1, 4),
        ]);
        assert_eq!(only(&legacy_findings(&d), "torch.storage-unchecked"), 1);
        // A negative count, the same as its id's.
        let neg = state_dict(&[tensor(&pid("FloatStorage", "0", -1, Some(NONE)), 0)]);
        let f = legacy_findings(&legacy(&neg, &["0"], &raw(-1, 4)));
        assert!(
            f.iter().any(|x| x.rule == "torch.storage-size-mismatch"),
            "{f:#?}"
        );
        // Fewer than five pickles: nothing to check (the truncation is the pickle
        // reader's finding).
        let d = cat(&[&pickle(2, &int(1)), &pickle(2, &int(2)), &obj]);
        assert!(legacy_findings(&d).is_empty());
    }

    #[test]
    fn legacy_tensors_are_bounds_checked() {
        // Before, a legacy id carried no size: a tensor of 5 over a storage of 4 passed.
        let obj = state_dict(&[tensor(&pid("FloatStorage", "0", 4, Some(NONE)), 5)]);
        let f = legacy_findings(&legacy(&obj, &["0"], &raw(4, 16)));
        assert_eq!(only(&f, "torch.tensor-out-of-bounds"), 1);
        // A view `(view_key, offset, size)` of the storage is what the tensor gets.
        let view = |offset: u8, size: u8| cat(&[MARK, &bu("v"), &int(offset), &int(size), TUPLE]);
        let ok = state_dict(&[tensor(&pid("FloatStorage", "0", 10, Some(&view(2, 4))), 4)]);
        assert!(legacy_findings(&legacy(&ok, &["0"], &raw(10, 40))).is_empty());
        let past = state_dict(&[tensor(&pid("FloatStorage", "0", 10, Some(&view(2, 4))), 5)]);
        let f = legacy_findings(&legacy(&past, &["0"], &raw(10, 40)));
        assert_eq!(only(&f, "torch.tensor-out-of-bounds"), 1);
        let outside = state_dict(&[tensor(&pid("FloatStorage", "0", 10, Some(&view(8, 4))), 4)]);
        let f = legacy_findings(&legacy(&outside, &["0"], &raw(10, 40)));
        assert_eq!(only(&f, "torch.tensor-out-of-bounds"), 1);
    }

    #[test]
    fn every_pickle_of_a_legacy_file_is_read() {
        let system = pickle(2, &call(&global("os", "system"), &[&bu("true")]));
        let obj = state_dict(&[tensor(&pid("FloatStorage", "0", 1, Some(NONE)), 1)]);
        let keys = pickle(2, &cat(&[EMPTY_LIST, MARK, &bu("0"), b"e"]));
        let parts = [
            pickle(2, &int(1)),
            pickle(2, &int(2)),
            pickle(2, EMPTY_DICT),
            obj,
            keys,
        ];
        for i in 0..5 {
            let mut p = parts.to_vec();
            p[i] = system.clone();
            let d = cat(&[&p.concat(), &raw(1, 4)]);
            let f = legacy_findings(&d);
            assert!(
                f.iter().any(|x| x.rule == "pickle.dangerous-global"
                    && x.global.as_deref() == Some("os.system")),
                "pickle {i}: {f:#?}"
            );
        }
    }

    #[test]
    fn key_lists_in_every_protocol() {
        // pickle.dumps(['140', '7'], protocol=p) for p in 0..=5, and Python 2's protocol 2.
        let cases: [&[u8]; 7] = [
            b"(lp0\nV140\np1\naV7\np2\na.",
            b"]q\x00(X\x03\x00\x00\x00140q\x01X\x01\x00\x00\x007q\x02e.",
            b"\x80\x02]q\x00(X\x03\x00\x00\x00140q\x01X\x01\x00\x00\x007q\x02e.",
            b"\x80\x03]q\x00(X\x03\x00\x00\x00140q\x01X\x01\x00\x00\x007q\x02e.",
            b"\x80\x04\x95\x0f\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03140\x94\x8c\x017\x94e.",
            b"\x80\x05\x95\x0f\x00\x00\x00\x00\x00\x00\x00]\x94(\x8c\x03140\x94\x8c\x017\x94e.",
            b"\x80\x02]q\x00(U\x03140q\x01U\x017q\x02e.",
        ];
        for c in cases {
            assert_eq!(
                string_list(c),
                Some(vec!["140".to_string(), "7".to_string()]),
                "{c:?}"
            );
        }
        assert_eq!(string_list(b"\x80\x02]q\x00."), Some(vec![]));
        assert_eq!(string_list(b"(lp0\nS'9'\np1\na."), Some(vec!["9".into()]));
        // Not a list of str: an int, a dict, a string outside a list, a cut pickle.
        for bad in [
            &b"\x80\x02]q\x00(K\x01e."[..],
            b"\x80\x02}q\x00.",
            b"\x80\x02X\x01\x00\x00\x000.",
            b"\x80\x02]q\x00(X\x03\x00\x00\x00140",
            b"\x80\x02]q\x00(X\xff\xff\xff\xff140e.",
            b"",
        ] {
            assert_eq!(string_list(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn element_sizes() {
        assert_eq!(storage_elem("torch.FloatStorage"), Some(4));
        assert_eq!(storage_elem("torch.cuda.HalfStorage"), Some(2));
        assert_eq!(storage_elem("torch.storage.UntypedStorage"), Some(1));
        assert_eq!(storage_elem("torch.UntypedStorage"), Some(1));
        assert_eq!(storage_elem("torch.ComplexDoubleStorage"), Some(16));
        assert_eq!(storage_elem("os.system"), None);
        assert_eq!(dtype_size("torch.float32"), Some(4));
        assert_eq!(dtype_size("torch.complex128"), Some(16));
        assert_eq!(dtype_size("torch.bool"), Some(1));
        assert_eq!(dtype_size("torch.uint16"), Some(2));
        assert_eq!(dtype_size("torch.float8_e4m3fn"), Some(1));
        assert_eq!(dtype_size("torch.FloatStorage"), None);
    }
}
