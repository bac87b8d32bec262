//! The reader against CPython's unpicklers (`testdata/make_differential.py`): on pickle
//! soups, every global a loader imported is one the reader names, unless the reader
//! reports that it stopped reading (invalid, truncated, past a limit) before it: then the
//! stream is not safe either way.

use std::collections::BTreeSet;

use super::tests::policy;
use super::*;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/src/core/scan/testdata/pickle/differential.json"
);

type Names = BTreeSet<(String, String)>;

fn named(scan: &PickleScan) -> Names {
    scan.globals
        .iter()
        .filter(|g| {
            matches!(
                g.how,
                NamedBy::Global | NamedBy::StackGlobal | NamedBy::Inst
            )
        })
        .map(|g| (g.module.clone(), g.name.clone()))
        .collect()
}

fn stopped(scan: &PickleScan) -> bool {
    scan.findings.iter().any(|f| {
        matches!(
            f.rule,
            "pickle.invalid" | "pickle.truncated" | "pickle.limit"
        )
    })
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn reader_names_what_cpython_imports() {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(FILE).unwrap()).unwrap();
    let cases = doc["cases"].as_array().unwrap();
    assert!(cases.len() >= 1000, "{} cases", cases.len());
    let limits = Limits::default();
    let mut missed = Vec::new();
    let mut excused = 0;
    for c in cases {
        let data = hex(c["data"].as_str().unwrap());
        // The C unpickler for both of its file readers, Python's as joblib's reading.
        let c_reading = scan_pickles(&data, policy(), &limits, &Location::default(), None);
        let stream = Stream {
            data: &data,
            location: Location::default(),
            max_pickles: None,
            kind: kind::JOBLIB,
            storages: None,
        };
        let py_reading = read_stream(&stream, policy(), &limits);
        for (loader, ours) in [
            ("bytesio", &c_reading),
            ("peek", &c_reading),
            ("python", &py_reading),
        ] {
            let theirs: Names = c[loader]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
                .collect();
            let ours_named = named(ours);
            let missing: Vec<_> = theirs.difference(&ours_named).collect();
            if missing.is_empty() {
                continue;
            }
            if stopped(ours) {
                excused += 1;
            } else {
                missed.push(format!("{loader} {missing:?} in {}", c["data"]));
            }
        }
    }
    assert!(missed.is_empty(), "{}", missed.join("\n"));
    // The soups are chosen where loaders disagree: some must stop the reader.
    assert!(excused > 0);
}
