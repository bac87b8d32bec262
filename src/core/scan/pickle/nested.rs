//! Pickles that unpickle bytes: `pickle.loads(b"...")`, `torch.load(io.BytesIO(b"..."))`,
//! `torch.storage._load_from_bytes`, `joblib.load`, `dill`/`cloudpickle` `loads`, old
//! numpy's `loads`, `pandas.read_pickle` on a buffer. The outer call is classified by the
//! policy like any global (the built-in policy calls these loaders dangerous: whatever
//! they load, loading is theirs to decide). When the bytes the loader gets are literal in
//! the pickle (`BINBYTES` and kin, `_codecs.encode(str, "latin-1")` as protocols 0-2 write
//! bytes, either of them wrapped in `io.BytesIO`), they are read here as the nested pickle
//! they are, recursively up to `MAX_NESTING` deep, and what that reading finds is
//! reported with the path `<loader> at offset <n>: nested pickle` under the outer
//! stream's members. Nested bytes that are a zip (what `torch.save` writes today) cannot
//! be opened by the pickle reader: reported `unknown`, as is nesting past the bound.

use std::borrow::Cow;
use std::cell::Cell;

use super::value::{Kind, Named, Value};
use super::Reader;
use crate::core::scan::container::{kind, Stream};
use crate::core::scan::{Finding, Location, Severity};

/// Nested pickles read inside one another, at most.
pub(crate) const MAX_NESTING: usize = 4;

thread_local! {
    static NESTING: Cell<usize> = const { Cell::new(0) };
}

/// The stream kind a loader reads its bytes as (`None`: not a loader of bytes).
pub(crate) fn loader(n: &Named) -> Option<&'static str> {
    const PICKLE: &[&str] = &[
        "pickle.loads",
        "pickle._loads",
        "pickle.load",
        "pickle._load",
        "_pickle.loads",
        "_pickle.load",
        "cPickle.loads",
        "cPickle.load",
        "dill.loads",
        "dill.load",
        "dill._dill.loads",
        "dill._dill.load",
        "cloudpickle.loads",
        "cloudpickle.load",
        "numpy.loads",
        "numpy.core.numeric.loads",
        "pandas.read_pickle",
        "pandas.io.pickle.read_pickle",
    ];
    const TORCH: &[&str] = &[
        "torch.load",
        "torch.serialization.load",
        "torch.storage._load_from_bytes",
    ];
    const JOBLIB: &[&str] = &[
        "joblib.load",
        "joblib.numpy_pickle.load",
        "sklearn.externals.joblib.load",
        "sklearn.externals.joblib.numpy_pickle.load",
    ];
    if PICKLE.iter().any(|p| n.is(p)) {
        Some(kind::PICKLE)
    } else if TORCH.iter().any(|p| n.is(p)) {
        Some(kind::TORCH_LEGACY)
    } else if JOBLIB.iter().any(|p| n.is(p)) {
        Some(kind::JOBLIB)
    } else {
        None
    }
}

/// Calls whose arguments are kept so that literal bytes can be followed through them.
pub(crate) fn wraps_bytes(n: &Named) -> bool {
    [
        "_codecs.encode",
        "codecs.encode",
        "io.BytesIO",
        "_io.BytesIO",
    ]
    .iter()
    .any(|p| n.is(p))
}

/// The bytes `v` is, when they are literal in the pickle.
pub(crate) fn literal_bytes<'v>(v: &'v Value<'_>, depth: usize) -> Option<Cow<'v, [u8]>> {
    match v {
        Value::Bytes(Some(b)) => Some(Cow::Borrowed(*b)),
        Value::Obj(o) if depth < 4 => {
            let Kind::Made { by, args, .. } = &o.kind else {
                return None;
            };
            let items = args.as_ref()?.items()?;
            if by.is("io.BytesIO") || by.is("_io.BytesIO") {
                return match items.first()? {
                    Value::Bytes(Some(b)) => Some(Cow::Owned(b.to_vec())),
                    inner => literal_bytes(inner, depth + 1).map(|c| Cow::Owned(c.into_owned())),
                };
            }
            // `_codecs.encode(text, "latin-1")`: how protocols 0 to 2 write bytes.
            let text = items.first()?.as_str()?;
            let encoding = items
                .get(1)?
                .as_str()?
                .to_ascii_lowercase()
                .replace('_', "-");
            match encoding.as_str() {
                "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" | "l1" => text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)).ok())
                    .collect::<Option<Vec<u8>>>()
                    .map(Cow::Owned),
                "utf8" | "utf-8" => Some(Cow::Owned(text.as_bytes().to_vec())),
                "ascii" if text.is_ascii() => Some(Cow::Owned(text.as_bytes().to_vec())),
                _ => None,
            }
        }
        _ => None,
    }
}

impl<'a> Reader<'a, '_> {
    /// A call of loader `n` (reading its bytes as `stream_kind`) at offset `at`: its
    /// literal bytes argument, if any, is read as a nested pickle.
    pub(crate) fn nested(
        &mut self,
        n: &Named,
        stream_kind: &'static str,
        args: &Value<'a>,
        at: u64,
    ) {
        let Some(items) = args.items() else {
            return;
        };
        let Some(bytes) = items.first().and_then(|v| literal_bytes(v, 0)) else {
            return;
        };
        let path = n.path();
        let label = format!("{path} at offset {at}: nested pickle");
        if stream_kind == kind::TORCH_LEGACY && bytes.starts_with(b"PK\x03\x04") {
            self.rec.note("pickle.nested-unread", Severity::Unknown, at, &path, None, || {
                format!("{path} loads literal bytes that are a zip ({} bytes, a torch.save file): the pickle reader does not open it, so what it loads is not scanned", bytes.len())
            });
            return;
        }
        let depth = NESTING.with(Cell::get);
        if depth >= MAX_NESTING {
            self.rec.note(
                "pickle.nested-unread",
                Severity::Unknown,
                at,
                &path,
                None,
                || format!("{path} loads a pickle nested more than {MAX_NESTING} deep: not read"),
            );
            return;
        }
        NESTING.with(|c| c.set(depth + 1));
        let found = super::read_stream(
            &Stream {
                data: &bytes,
                location: Location {
                    file: Vec::new(),
                    members: vec![label],
                    offset: None,
                },
                max_pickles: Some(if stream_kind == kind::TORCH_LEGACY {
                    5
                } else {
                    1
                }),
                kind: stream_kind,
                storages: None,
            },
            self.policy,
            self.limits,
        );
        NESTING.with(|c| c.set(depth));
        self.nested.extend(found.findings);
    }
}

/// The findings of nested pickles, placed under the outer stream's location.
pub(crate) fn place(nested: Vec<Finding>, outer: &Location) -> impl Iterator<Item = Finding> + '_ {
    nested.into_iter().map(move |mut f| {
        let mut members = outer.members.clone();
        members.append(&mut f.location.members);
        f.location.file = outer.file.clone();
        f.location.members = members;
        f
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::op::*;
    use super::super::tests::{bu, call, cat, global, pickle, sbu, scan, stack_global};
    use crate::core::scan::{Finding, Severity};

    fn binbytes(b: &[u8]) -> Vec<u8> {
        let mut v = b"B".to_vec();
        v.extend((b.len() as u32).to_le_bytes());
        v.extend(b);
        v
    }

    fn os_system() -> Vec<u8> {
        pickle(4, &call(&stack_global("os", "system"), &[&sbu("true")]))
    }

    /// `loader(bytes)` at protocol 4, and the offset of its REDUCE.
    fn loads(module: &str, name: &str, arg: &[u8]) -> (Vec<u8>, u64) {
        let body = call(&stack_global(module, name), &[arg]);
        let p = pickle(4, &body);
        (p.clone(), (p.len() - 2) as u64)
    }

    fn system_in(f: &[Finding]) -> Vec<&Finding> {
        f.iter()
            .filter(|f| f.global.as_deref() == Some("os.system"))
            .collect()
    }

    #[test]
    fn a_literal_pickle_that_a_loader_loads_is_read() {
        for (module, name) in [
            ("pickle", "loads"),
            ("_pickle", "loads"),
            ("dill", "loads"),
            ("cloudpickle", "loads"),
            ("numpy", "loads"),
            ("torch.storage", "_load_from_bytes"),
            ("joblib", "load"),
        ] {
            let (p, at) = loads(module, name, &binbytes(&os_system()));
            let s = scan(&p);
            let found = system_in(&s.findings);
            assert_eq!(found.len(), 1, "{module}.{name}: {:?}", s.findings);
            assert_eq!(found[0].severity, Severity::Dangerous);
            assert_eq!(
                found[0].location.members,
                vec![format!("{module}.{name} at offset {at}: nested pickle")]
            );
            // The outer call is dangerous by itself (the built-in policy).
            assert!(s.findings.iter().any(|f| f.global.as_deref()
                == Some(&format!("{module}.{name}")[..])
                && f.severity == Severity::Dangerous));
        }
    }

    #[test]
    fn bytes_written_as_protocol_2_writes_them_and_through_bytesio() {
        // `_codecs.encode(<latin-1 text>, "latin1")`.
        let text: String = os_system().iter().map(|&b| char::from(b)).collect();
        let encoded = call(&global("_codecs", "encode"), &[&bu(&text), &bu("latin1")]);
        let p = pickle(2, &call(&global("pickle", "loads"), &[&encoded]));
        assert_eq!(system_in(&scan(&p).findings).len(), 1);
        // torch.load(io.BytesIO(b"...")).
        let bio = call(&global("io", "BytesIO"), &[&binbytes(&os_system())]);
        let p = pickle(2, &call(&global("torch", "load"), &[&bio]));
        assert_eq!(system_in(&scan(&p).findings).len(), 1);
        // pickle.loads of text (a loader refuses a str) is not read as bytes.
        let p = pickle(2, &call(&global("pickle", "loads"), &[&bu("abc")]));
        assert!(system_in(&scan(&p).findings).is_empty());
    }

    #[test]
    fn nesting_is_followed_to_its_bound() {
        let mut inner = os_system();
        for _ in 0..3 {
            inner = loads("pickle", "loads", &binbytes(&inner)).0;
        }
        let s = scan(&inner);
        let found = system_in(&s.findings);
        assert_eq!(found.len(), 1, "{:?}", s.findings);
        assert_eq!(found[0].location.members.len(), 3);
        for _ in 0..3 {
            inner = loads("pickle", "loads", &binbytes(&inner)).0;
        }
        let s = scan(&inner);
        assert!(system_in(&s.findings).is_empty());
        assert!(s
            .findings
            .iter()
            .any(|f| f.rule == "pickle.nested-unread" && f.severity == Severity::Unknown));
    }

    #[test]
    fn nested_torch_zip_is_unknown_and_benign_nesting_adds_nothing() {
        let (p, _) = loads("torch", "load", &binbytes(b"PK\x03\x04rest of a zip"));
        let s = scan(&p);
        assert!(s.findings.iter().any(|f| f.rule == "pickle.nested-unread"));
        let benign = pickle(2, &cat(&[EMPTY_LIST, NONE, APPEND]));
        let (p, _) = loads("pickle", "loads", &binbytes(&benign));
        let s = scan(&p);
        assert!(
            s.findings.iter().all(|f| f.location.members.is_empty()),
            "{:?}",
            s.findings
        );
    }
}
