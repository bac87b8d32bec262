//! The benign vectors of `testdata/make_vectors.py` (real output of pickle, numpy,
//! pandas, scipy, scikit-learn and joblib): each is read through the containers, must have
//! no finding above `Info`, and must name exactly the globals CPython's unpickler imported
//! when the script loaded it (`globals.json`). Every truncation of a few of them must be a
//! finding.

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::tests::policy;
use super::*;
use crate::core::scan::container::scan_bytes;

const DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/core/scan/testdata/pickle/"
);

struct Vector {
    name: String,
    data: Vec<u8>,
    globals: BTreeSet<(String, String)>,
}

fn vectors() -> Vec<Vector> {
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{DIR}globals.json")).unwrap()).unwrap();
    let files = doc["files"].as_object().unwrap();
    assert!(
        files.len() >= 30,
        "globals.json lists {} files",
        files.len()
    );
    files
        .iter()
        .map(|(name, v)| Vector {
            name: name.clone(),
            data: std::fs::read(format!("{DIR}{name}")).unwrap(),
            globals: v["globals"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        p[0].as_str().unwrap().to_string(),
                        p[1].as_str().unwrap().to_string(),
                    )
                })
                .collect(),
        })
        .collect()
}

/// Every finding of the file (containers included), and what the reader found in each
/// of its streams.
fn read(data: &[u8], name: &str, limits: &Limits) -> (Vec<Finding>, Vec<PickleScan>) {
    let scans = Mutex::new(Vec::new());
    let (findings, _) = scan_bytes(data, name.as_bytes(), limits, &|s: Stream<'_>| {
        let r = read_stream(&s, policy(), limits);
        let f = r.findings.clone();
        scans.lock().unwrap().push(r);
        f
    });
    (findings, scans.into_inner().unwrap())
}

fn named(scans: &[PickleScan]) -> BTreeSet<(String, String)> {
    scans
        .iter()
        .flat_map(|s| &s.globals)
        .filter(|g| {
            matches!(
                g.how,
                NamedBy::Global | NamedBy::StackGlobal | NamedBy::Inst
            )
        })
        .map(|g| (g.module.clone(), g.name.clone()))
        .collect()
}

#[test]
fn benign_vectors_name_exactly_what_cpython_imports() {
    let mut wrong = Vec::new();
    for v in vectors() {
        let (_, scans) = read(&v.data, &v.name, &Limits::default());
        assert!(!scans.is_empty(), "{}: no pickle stream found", v.name);
        let got = named(&scans);
        if got != v.globals {
            wrong.push(format!(
                "{}: missing {:?}, extra {:?}",
                v.name,
                v.globals.difference(&got).collect::<Vec<_>>(),
                got.difference(&v.globals).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn benign_vectors_are_safe() {
    let mut unsafe_ = Vec::new();
    for v in vectors() {
        let (findings, scans) = read(&v.data, &v.name, &Limits::default());
        for f in findings.iter().filter(|f| f.severity > Severity::Info) {
            unsafe_.push(format!("{}: {f} {:?}", v.name, f.global));
        }
        for s in &scans {
            assert!(s.pickles >= 1, "{}", v.name);
        }
    }
    assert!(unsafe_.is_empty(), "{}", unsafe_.join("\n"));
}

#[test]
fn every_truncation_is_a_finding() {
    let limits = Limits::default();
    for name in [
        "plain_protocol0.pkl",
        "plain_protocol5.pkl",
        "numpy_protocol2.pkl",
        "sklearn_logistic.joblib",
        "pandas_protocol5.pkl",
    ] {
        let data = std::fs::read(format!("{DIR}{name}")).unwrap();
        let kind = if name.ends_with(".joblib") {
            kind::JOBLIB
        } else {
            kind::PICKLE
        };
        for cut in 0..data.len() {
            let s = Stream {
                data: &data[..cut],
                location: Location::default(),
                max_pickles: None,
                kind,
                storages: None,
            };
            let r = read_stream(&s, policy(), &limits);
            assert!(
                !r.safe() && r.findings.iter().any(|f| f.severity > Severity::Info),
                "{name} cut at {cut} of {}: {:#?}",
                data.len(),
                r.findings
            );
        }
    }
}
