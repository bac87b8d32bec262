//! Structure, not only globals: a PyTorch checkpoint that names only allowed globals can
//! still make `torch.load(weights_only=True)` fail or write where it should not.
//!
//! * **A tensor rebuilt over too small a storage** (`torch.tensor-out-of-bounds`,
//!   `unknown`). `torch._utils._rebuild_tensor`, `_rebuild_tensor_v2`, `_rebuild_tensor_v3`
//!   and `_rebuild_qtensor` take `(storage, storage_offset, size, stride, ...)`; the
//!   storage comes from a persistent id `('storage', storage_type, key, location, numel)`
//!   (the first id of its key, see `storages`). When all of these are literal, the
//!   elements the view reaches (`offset + Σ (size_i - 1) * stride_i + 1`, none when a size
//!   is 0) must fit in the storage, and no size, stride or offset may be negative. Units:
//!   `v2`, `v1` and `qtensor` view the storage in its own elements (`numel`, whatever the
//!   element size); `v3` (torch 2's call for dtypes without a typed storage, `uint16`,
//!   `float8_*`, ...: `(storage, offset, size, stride, requires_grad, hooks, dtype,
//!   metadata)`, over `torch.storage.UntypedStorage` whose `numel` counts bytes) views its
//!   `numel × element size` bytes as elements of `dtype` (`torch.float32`, a global), so
//!   the view fits when `reach × itemsize(dtype)` bytes do, as ATen's `set_` checks it.
//!   A view past its storage is never written by `torch.save`.
//!   Current torch refuses it in `set_` (a `RuntimeError`: the load fails), older
//!   versions and other readers of the format may read past the storage. That is a crash
//!   or a read out of bounds, not code the file runs, hence `unknown` rather than
//!   `dangerous`: not safe, and named for what it is.
//! * **Writes into a rebuilt tensor** (`torch.tensor-write`). `SETITEM(S)` on a tensor
//!   calls its `__setitem__` with indices and values the file chooses, the memory
//!   corruption path of GHSA-63cw-57p8-fm3p through `torch.load(weights_only=True)`:
//!   `dangerous`, as no writer of checkpoints produces it. `BUILD` on a tensor sets its
//!   state, which `torch.save` never writes (a tensor with Python state is saved through
//!   `_rebuild_from_type_v2`, its state an argument): `unknown`.
//!
//! Arguments the reader cannot see (not literal, containers past `KEPT` items) are not
//! checked: the globals are still classified by the policy.

use super::storages::{dtype_size, global_path};
use super::value::{Kind, Named, Value};
use super::Reader;
use crate::core::scan::Severity;

/// Functions that rebuild a tensor view over a storage: `(storage, offset, size, stride)`.
const VIEWS: &[&str] = &[
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    V3,
    "torch._utils._rebuild_qtensor",
];

/// `(storage, offset, size, stride, requires_grad, backward_hooks, dtype, metadata=None)`:
/// the dtypes without a typed storage (`uint16`, `float8_*`, ...) are saved this way, over
/// a `torch.storage.UntypedStorage` whose persistent id counts bytes.
const V3: &str = "torch._utils._rebuild_tensor_v3";

/// Functions whose result is a tensor (for writes into it).
const TENSORS: &[&str] = &[
    "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2",
    "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_qtensor",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
];

pub(crate) fn is_tensor(by: &Named) -> bool {
    by.module.starts_with("torch") && TENSORS.iter().any(|p| by.is(p))
}

fn ints(v: &Value<'_>) -> Option<Vec<i64>> {
    v.items()?
        .iter()
        .map(|x| match x {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(i64::from(*b)),
            _ => None,
        })
        .collect()
}

/// Why a view of `size` and `stride` from `offset` does not fit `numel` elements.
pub(crate) fn out_of_bounds(
    numel: i64,
    offset: i64,
    size: &[i64],
    stride: &[i64],
) -> Option<String> {
    if size.len() != stride.len() {
        return Some(format!("{} sizes but {} strides", size.len(), stride.len()));
    }
    if numel < 0 || offset < 0 || size.iter().chain(stride).any(|&x| x < 0) {
        return Some("a negative storage size, offset, size or stride".into());
    }
    if size.contains(&0) {
        return None;
    }
    let reach = size
        .iter()
        .zip(stride)
        .map(|(&n, &s)| (i128::from(n) - 1) * i128::from(s))
        .sum::<i128>()
        + i128::from(offset)
        + 1;
    (reach > i128::from(numel))
        .then(|| format!("the view reaches element {reach} of a storage of {numel} elements"))
}

impl<'a> Reader<'a, '_> {
    /// A call of `n` with `args`: a tensor view is checked against its storage.
    pub(crate) fn rebuild(&mut self, n: &Named, args: &Value<'a>, at: u64) {
        if !(n.module.starts_with("torch") && VIEWS.iter().any(|p| n.is(p))) {
            return;
        }
        let Some(items) = args.items() else {
            return;
        };
        let Some(Kind::Persistent(Some(storage))) = items.first().and_then(Value::kind) else {
            return;
        };
        let storage = *storage;
        let Some(Value::Int(offset)) = items.get(1) else {
            return;
        };
        let (Some(size), Some(stride)) = (items.get(2).and_then(ints), items.get(3).and_then(ints))
        else {
            return;
        };
        // v3 views an untyped storage (bytes) as elements of the dtype it is given.
        let (capacity, what) = if n.is(V3) {
            let Some(dtype) = items.get(6).and_then(global_path) else {
                return;
            };
            let (Some(item), Some(elem)) = (dtype_size(&dtype), storage.elem) else {
                return;
            };
            let bytes = i128::from(storage.numel) * i128::from(elem);
            let capacity = i64::try_from(bytes.div_euclid(i128::from(item))).unwrap_or(i64::MAX);
            (
                capacity,
                format!("a storage of {bytes} bytes ({capacity} elements of {dtype})"),
            )
        } else {
            (
                storage.numel,
                format!("a storage of {} elements", storage.numel),
            )
        };
        if let Some(why) = out_of_bounds(capacity, *offset, &size, &stride) {
            let path = n.path();
            self.rec.note(
                "torch.tensor-out-of-bounds",
                Severity::Unknown,
                at,
                &path,
                Some(&path),
                || format!("{path} rebuilds a tensor of size {size:?}, stride {stride:?}, offset {offset} over {what}: {why} (torch.load fails on it, or reads past the storage)"),
            );
        }
    }

    /// `op` (`SETITEM(S)`, `BUILD`) on an object made by `by`, when that is a tensor.
    pub(crate) fn tensor_write(&mut self, by: &Named, op: &'static str, at: u64) {
        if !is_tensor(by) {
            return;
        }
        let path = by.path();
        let severity = if op == "BUILD" {
            Severity::Unknown
        } else {
            Severity::Dangerous
        };
        self.rec.note(
            "torch.tensor-write",
            severity,
            at,
            &format!("{op} {path}"),
            Some(&path),
            || {
                if op == "BUILD" {
                    format!("BUILD sets the state of a tensor made by {path}, which torch.save never writes")
                } else {
                    format!("{op} writes items into a tensor made by {path} through its __setitem__ (GHSA-63cw-57p8-fm3p: memory corruption in torch.load with weights_only=True)")
                }
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::op::*;
    use super::super::tests::{bu, call, cat, global, int, pickle, scan_kind};
    use super::out_of_bounds;
    use crate::core::scan::container::kind;
    use crate::core::scan::{Finding, Severity};

    /// `('storage', torch.FloatStorage, '0', 'cpu', numel)` as torch.save writes it.
    fn storage(numel: u8) -> Vec<u8> {
        cat(&[
            MARK,
            &bu("storage"),
            &global("torch", "FloatStorage"),
            &bu("0"),
            &bu("cpu"),
            &int(numel),
            TUPLE,
            BINPERSID,
        ])
    }

    fn ints(v: &[u8]) -> Vec<u8> {
        let mut out = MARK.to_vec();
        for &i in v {
            out.extend(int(i));
        }
        out.extend(TUPLE);
        out
    }

    /// `_rebuild_tensor_v2(storage(numel), offset, size, stride, False, OrderedDict())`.
    fn tensor(numel: u8, offset: u8, size: &[u8], stride: &[u8]) -> Vec<u8> {
        call(
            &global("torch._utils", "_rebuild_tensor_v2"),
            &[
                &storage(numel),
                &int(offset),
                &ints(size),
                &ints(stride),
                b"\x89",
                &call(&global("collections", "OrderedDict"), &[]),
            ],
        )
    }

    fn rule<'f>(f: &'f [Finding], rule: &str) -> Vec<&'f Finding> {
        f.iter().filter(|f| f.rule == rule).collect()
    }

    #[test]
    fn tensors_that_fit_their_storage_are_fine() {
        for (numel, offset, size, stride) in [
            (12u8, 0u8, &[3u8, 4][..], &[4u8, 1][..]),
            (12, 0, &[4, 3], &[1, 4]),
            (13, 1, &[3, 4], &[4, 1]),
            (0, 0, &[0], &[1]),
            (1, 0, &[], &[]),
            (4, 0, &[4, 5], &[1, 0]),
        ] {
            let f = scan_kind(
                &pickle(2, &tensor(numel, offset, size, stride)),
                kind::TORCH_ZIP,
                None,
            );
            assert!(f.is_empty(), "{numel} {offset} {size:?} {stride:?}: {f:#?}");
        }
    }

    #[test]
    fn tensors_past_their_storage_are_unknown() {
        for (numel, offset, size, stride) in [
            (11u8, 0u8, &[3u8, 4][..], &[4u8, 1][..]),
            (12, 1, &[3, 4], &[4, 1]),
            (4, 0, &[2, 2], &[4, 1]),
            (0, 0, &[], &[]),
            (100, 0, &[2, 2], &[1]),
        ] {
            let f = scan_kind(
                &pickle(2, &tensor(numel, offset, size, stride)),
                kind::TORCH_ZIP,
                None,
            );
            let found = rule(&f, "torch.tensor-out-of-bounds");
            assert_eq!(
                found.len(),
                1,
                "{numel} {offset} {size:?} {stride:?}: {f:#?}"
            );
            assert_eq!(found[0].severity, Severity::Unknown);
            assert_eq!(
                found[0].global.as_deref(),
                Some("torch._utils._rebuild_tensor_v2")
            );
        }
    }

    #[test]
    fn writes_into_a_rebuilt_tensor() {
        // t[0] = 1.0 through SETITEM: dangerous.
        let t = tensor(4, 0, &[4], &[1]);
        let p = pickle(2, &cat(&[&t, &int(0), &int(1), SETITEM]));
        let f = scan_kind(&p, kind::TORCH_ZIP, None);
        let found = rule(&f, "torch.tensor-write");
        assert_eq!(found.len(), 1, "{f:#?}");
        assert_eq!(found[0].severity, Severity::Dangerous);
        // SETITEMS too.
        let p = pickle(2, &cat(&[&t, MARK, &int(0), &int(1), SETITEMS]));
        let f = scan_kind(&p, kind::TORCH_ZIP, None);
        assert_eq!(
            rule(&f, "torch.tensor-write")[0].severity,
            Severity::Dangerous
        );
        // BUILD on a tensor: unknown.
        let p = pickle(2, &cat(&[&t, EMPTY_DICT, BUILD]));
        let f = scan_kind(&p, kind::TORCH_ZIP, None);
        let found = rule(&f, "torch.tensor-write");
        assert_eq!(found.len(), 1, "{f:#?}");
        assert_eq!(found[0].severity, Severity::Unknown);
        // SETITEM into the OrderedDict of a state dict is what torch.save writes.
        let p = pickle(
            2,
            &cat(&[
                &call(&global("collections", "OrderedDict"), &[]),
                &bu("weight"),
                &t,
                SETITEM,
            ]),
        );
        assert!(scan_kind(&p, kind::TORCH_ZIP, None).is_empty());
    }

    /// `('storage', <storage type>, key, 'cpu', numel)`, with a BININT count.
    pub(in crate::core::scan::pickle) fn typed_storage(
        module: &str,
        ty: &str,
        key: &str,
        numel: i32,
    ) -> Vec<u8> {
        let mut n = b"J".to_vec();
        n.extend(numel.to_le_bytes());
        cat(&[
            MARK,
            &bu("storage"),
            &global(module, ty),
            &bu(key),
            &bu("cpu"),
            &n,
            TUPLE,
            BINPERSID,
        ])
    }

    /// `_rebuild_tensor_v3(storage, offset, size, stride, False, OrderedDict(),
    /// torch.<dtype>)` as torch writes it for the dtypes without a typed storage.
    fn tensor_v3(storage: &[u8], offset: u8, size: &[u8], stride: &[u8], dtype: &str) -> Vec<u8> {
        call(
            &global("torch._utils", "_rebuild_tensor_v3"),
            &[
                storage,
                &int(offset),
                &ints(size),
                &ints(stride),
                b"\x89",
                &call(&global("collections", "OrderedDict"), &[]),
                &global("torch", dtype),
            ],
        )
    }

    /// `_rebuild_tensor_v2` over any storage.
    fn tensor_v2(storage: &[u8], offset: u8, size: &[u8], stride: &[u8]) -> Vec<u8> {
        call(
            &global("torch._utils", "_rebuild_tensor_v2"),
            &[
                storage,
                &int(offset),
                &ints(size),
                &ints(stride),
                b"\x89",
                &call(&global("collections", "OrderedDict"), &[]),
            ],
        )
    }

    fn out_of_bounds_rule(data: &[u8]) -> Vec<Finding> {
        let f = scan_kind(&pickle(2, data), kind::TORCH_ZIP, None);
        assert!(
            f.iter().all(|x| x.rule == "torch.tensor-out-of-bounds"),
            "{f:#?}"
        );
        f
    }

    /// (dtype, bytes per element, typed storage) of the dtypes the tests cover.
    const DTYPES: [(&str, i32, &str); 5] = [
        ("float32", 4, "FloatStorage"),
        ("float16", 2, "HalfStorage"),
        ("int8", 1, "CharStorage"),
        ("bool", 1, "BoolStorage"),
        ("complex128", 16, "ComplexDoubleStorage"),
    ];

    #[test]
    fn v3_counts_an_untyped_storage_in_bytes() {
        // torch writes the untyped storage as `torch.storage.UntypedStorage` (and older
        // versions `torch.UntypedStorage`), numel in bytes; the dtype is the 7th argument.
        for (module, ty) in [
            ("torch.storage", "UntypedStorage"),
            ("torch", "UntypedStorage"),
        ] {
            for (dtype, item, _) in DTYPES {
                // Six elements of 2 x 3: exactly 6 * item bytes fit, one byte less does not.
                let fits = tensor_v3(
                    &typed_storage(module, ty, "0", 6 * item),
                    0,
                    &[2, 3],
                    &[3, 1],
                    dtype,
                );
                assert!(out_of_bounds_rule(&fits).is_empty(), "{ty} {dtype}");
                let more = tensor_v3(
                    &typed_storage(module, ty, "0", 7 * item - 1),
                    1,
                    &[2, 3],
                    &[3, 1],
                    dtype,
                );
                let f = out_of_bounds_rule(&more);
                assert_eq!(f.len(), 1, "{ty} {dtype}");
                assert_eq!(f[0].severity, Severity::Unknown);
                assert_eq!(
                    f[0].global.as_deref(),
                    Some("torch._utils._rebuild_tensor_v3")
                );
                let short = tensor_v3(
                    &typed_storage(module, ty, "0", 6 * item - 1),
                    0,
                    &[2, 3],
                    &[3, 1],
                    dtype,
                );
                assert_eq!(out_of_bounds_rule(&short).len(), 1, "{ty} {dtype}");
                // Its offset counts elements of the dtype too.
                let offset = tensor_v3(
                    &typed_storage(module, ty, "0", 7 * item),
                    1,
                    &[2, 3],
                    &[3, 1],
                    dtype,
                );
                assert!(out_of_bounds_rule(&offset).is_empty(), "{ty} {dtype}");
            }
        }
        // Over a typed storage: its bytes are numel x its element size (3 floats: 12 bytes
        // = 6 halves).
        let typed = |n| {
            tensor_v3(
                &typed_storage("torch", "FloatStorage", "0", 3),
                0,
                &[n],
                &[1],
                "float16",
            )
        };
        assert!(out_of_bounds_rule(&typed(6)).is_empty());
        assert_eq!(out_of_bounds_rule(&typed(7)).len(), 1);
        // A dtype or storage type it does not know the size of: not checked.
        let odd = tensor_v3(
            &typed_storage("torch.storage", "UntypedStorage", "0", 1),
            0,
            &[9],
            &[1],
            "uint3",
        );
        assert!(out_of_bounds_rule(&odd).is_empty());
    }

    #[test]
    fn v2_counts_a_typed_storage_in_its_elements() {
        for (dtype, _, ty) in DTYPES {
            let fits = tensor_v2(&typed_storage("torch", ty, "0", 12), 0, &[3, 4], &[4, 1]);
            assert!(out_of_bounds_rule(&fits).is_empty(), "{dtype}");
            let short = tensor_v2(&typed_storage("torch", ty, "0", 11), 0, &[3, 4], &[4, 1]);
            assert_eq!(out_of_bounds_rule(&short).len(), 1, "{dtype}");
        }
    }

    #[test]
    fn the_first_id_of_a_key_is_the_storage() {
        // torch.load builds key '0' from its first id and hands it to every later one:
        // a second id that claims 100 elements still gets the storage of 4.
        let a = tensor_v2(
            &typed_storage("torch", "FloatStorage", "0", 4),
            0,
            &[4],
            &[1],
        );
        let b = tensor_v2(
            &typed_storage("torch", "FloatStorage", "0", 100),
            0,
            &[10],
            &[1],
        );
        let f = out_of_bounds_rule(&cat(&[MARK, &a, &b, TUPLE]));
        assert_eq!(f.len(), 1, "{f:#?}");
        let c = tensor_v2(
            &typed_storage("torch", "FloatStorage", "1", 100),
            0,
            &[10],
            &[1],
        );
        assert!(out_of_bounds_rule(&cat(&[MARK, &a, &c, TUPLE])).is_empty());
    }

    #[test]
    fn bounds() {
        assert_eq!(out_of_bounds(12, 0, &[3, 4], &[4, 1]), None);
        assert_eq!(out_of_bounds(12, 0, &[4, 3], &[1, 4]), None);
        assert!(out_of_bounds(11, 0, &[3, 4], &[4, 1]).is_some());
        assert!(out_of_bounds(12, 1, &[3, 4], &[4, 1]).is_some());
        assert_eq!(out_of_bounds(0, 5, &[0, 4], &[4, 1]), None);
        assert_eq!(out_of_bounds(1, 0, &[], &[]), None);
        assert!(out_of_bounds(0, 0, &[], &[]).is_some());
        assert!(out_of_bounds(100, 0, &[2], &[-1]).is_some());
        assert!(out_of_bounds(100, 0, &[2, 2], &[1]).is_some());
        assert!(out_of_bounds(i64::MAX, 0, &[i64::MAX, i64::MAX], &[i64::MAX, 1]).is_some());
    }
}
