//! Property tests of the reader on hostile input: arbitrary bytes, bytes after a `PROTO`
//! header, mutated benign vectors, and soups of valid opcodes with arguments that name
//! dangerous and allowed globals. For every stream kind: no panic, under a second a case,
//! every finding inside the data, and a safe verdict only when every byte was read or
//! the bytes left are declared (`pickle.trailing-data`).
//!
//! `PROPTEST_CASES` raises the number of cases (2,000 per property by default).

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::tests::{bu, cat, global, int, policy, proto, sbu, stack_global};
use super::*;

const KINDS: [&str; 5] = [
    kind::PICKLE,
    kind::TORCH_ZIP,
    kind::TORCH_LEGACY,
    kind::JOBLIB,
    kind::NPY_OBJECT,
];

fn config() -> ProptestConfig {
    let mut c = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        c.cases = 2000;
    }
    c
}

fn check(data: &[u8]) -> Result<(), TestCaseError> {
    let limits = Limits {
        max_opcodes: 200_000,
        max_pickle_items: 100_000,
        ..Limits::default()
    };
    for (i, kind) in KINDS.into_iter().enumerate() {
        let s = Stream {
            data,
            location: Location::default(),
            max_pickles: match kind {
                kind::TORCH_LEGACY => Some(5),
                kind::NPY_OBJECT => Some(1),
                _ => None,
            },
            kind,
            storages: None,
        };
        let t = Instant::now();
        let r = read_stream(&s, policy(), &limits);
        prop_assert!(
            t.elapsed() < Duration::from_secs(1),
            "{kind}: {:?}",
            t.elapsed()
        );
        for f in &r.findings {
            let at = f.location.offset.unwrap_or(u64::MAX);
            prop_assert!(
                at < data.len() as u64 || (data.is_empty() && at == 0),
                "{kind}: offset {at} of {} bytes: {f}",
                data.len()
            );
        }
        prop_assert!(r.end <= data.len() as u64);
        if r.safe() {
            let declared = r.findings.iter().any(|f| f.rule == "pickle.trailing-data");
            prop_assert!(
                r.end == data.len() as u64 || declared || i == 2,
                "{kind}: safe, but read to {} of {} bytes",
                r.end,
                data.len()
            );
        }
        // The plain entry point agrees with the pickle kind.
        if kind == kind::PICKLE {
            let p = scan_pickles(data, policy(), &limits, &Location::default(), None);
            prop_assert_eq!(p.safe(), r.safe());
            prop_assert_eq!(p.findings.len(), r.findings.len());
        }
    }
    Ok(())
}

/// Opcodes with arguments that make sense, for soups.
fn fragments() -> Vec<Vec<u8>> {
    let mut f: Vec<Vec<u8>> = [
        &b"("[..],
        b".",
        b"0",
        b"1",
        b"2",
        b"N",
        b"\x88",
        b"\x89",
        b")",
        b"]",
        b"}",
        b"\x8f",
        b"t",
        b"l",
        b"d",
        b"\x91",
        b"\x85",
        b"\x86",
        b"\x87",
        b"a",
        b"e",
        b"s",
        b"u",
        b"\x90",
        b"R",
        b"b",
        b"o",
        b"\x81",
        b"\x92",
        b"\x93",
        b"\x94",
        b"Q",
        b"\x97",
        b"\x98",
        b"q\x00",
        b"q\x01",
        b"h\x00",
        b"h\x01",
        b"r\x02\x00\x00\x00",
        b"j\x02\x00\x00\x00",
        b"p3\n",
        b"g3\n",
        b"I01\n",
        b"I-7\n",
        b"L12L\n",
        b"F1.5\n",
        b"G\x3f\xf0\x00\x00\x00\x00\x00\x00",
        b"J\xff\xff\xff\xff",
        b"\x8a\x02\x00\x01",
        b"C\x03abc",
        b"\x82\x01",
        b"S'os'\n",
        b"Vsys\\u0074em\n",
        b"Pid\n",
        b"\x95\x04\x00\x00\x00\x00\x00\x00\x00",
        b"\x80\x02",
        b"\x80\x04",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    for name in [
        "os",
        "system",
        "builtins",
        "getattr",
        "__import__",
        "collections",
        "OrderedDict",
        "numpy",
        "dtype",
        "f8",
        "O8",
        "joblib.numpy_pickle",
        "NumpyArrayWrapper",
        "shape",
        "storage",
        "module",
        "importlib",
        "import_module",
        "_sys.modules",
        "operator",
        "attrgetter",
        "copyreg",
        "_reconstructor",
    ] {
        f.push(sbu(name));
        f.push(bu(name));
    }
    f.push(global("os", "system"));
    f.push(global("collections", "OrderedDict"));
    f.push(global("builtins", "getattr"));
    f.push(global("numpy", "dtype"));
    f.push(stack_global("joblib.numpy_pickle", "NumpyArrayWrapper"));
    f.push(stack_global("builtins", "__import__"));
    f.push(b"ios\nsystem\n".to_vec());
    f.push(int(0));
    f.push(int(3));
    f
}

fn seeds() -> Vec<Vec<u8>> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/core/scan/testdata/pickle/"
    );
    [
        "plain_protocol0.pkl",
        "plain_protocol2.pkl",
        "plain_protocol5.pkl",
        "numpy_protocol4.pkl",
        "sklearn_logistic.joblib",
        "joblib_arrays.joblib",
        "stacked.pkl",
    ]
    .iter()
    .map(|n| std::fs::read(format!("{dir}{n}")).unwrap())
    .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&data)?;
    }

    #[test]
    fn bytes_after_a_proto_header(p in 0u8..7, data in proptest::collection::vec(any::<u8>(), 0..1024)) {
        check(&cat(&[&proto(p), &data]))?;
    }

    #[test]
    fn mutated_vectors(
        which in 0usize..7,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let mut d = seeds()[which].clone();
        for (at, b) in edits {
            let n = d.len();
            d[at % n] = b;
        }
        if cut % 3 == 0 {
            d.truncate(cut % (d.len() + 1));
        }
        check(&d)?;
    }

    #[test]
    fn opcode_soups(p in prop::option::of(0u8..6), picks in proptest::collection::vec(any::<prop::sample::Index>(), 0..200)) {
        let f = fragments();
        let mut d = p.map(proto).unwrap_or_default();
        for i in picks {
            d.extend(i.get(&f));
        }
        check(&d)?;
    }
}
