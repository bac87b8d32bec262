//! Entry points for the coverage-guided fuzz targets of `fuzz/` (`make fuzz`). Each takes
//! arbitrary bytes, runs one reader to its end with the built-in policy and the default
//! limits, and returns a small number so that the work cannot be optimised away. They
//! exist because the readers are private to the crate; nothing else calls them.
//!
//! Every reader must return on any input (no panic, no unbounded allocation or time); the
//! targets add the checks that hold for any input, such as findings located inside the
//! data they were read from.

use super::{gguf, hdf5, jinja, onnx, savedmodel, scan_bytes, sniff, tar, zip};
use crate::core::scan::pickle::{scan_pickles, scan_stream};
use crate::core::scan::{Limits, Location, Policy};

/// The whole scanner on one file's bytes: sniffing, containers, pickles. Returns the
/// number of findings.
pub fn scan_file(data: &[u8]) -> usize {
    let policy = Policy::new();
    let limits = Limits::default();
    let (findings, summary) =
        scan_bytes(data, b"f", &limits, &|s| scan_stream(&s, &policy, &limits));
    assert_eq!(summary.bytes, data.len() as u64);
    findings.len()
}

/// The format the sniffer sees in `data`.
pub fn sniff(data: &[u8]) -> &'static str {
    sniff::sniff(data, data.len() as u64).name()
}

/// The pickle reader on `data` as one file of pickles; returns the number of findings and
/// checks that every finding lies inside the data.
pub fn pickle(data: &[u8]) -> usize {
    let location = Location {
        file: b"f".to_vec(),
        members: Vec::new(),
        offset: None,
    };
    let scan = scan_pickles(data, &Policy::new(), &Limits::default(), &location, None);
    for f in &scan.findings {
        if let Some(offset) = f.location.offset {
            assert!(
                offset <= data.len() as u64,
                "finding at {offset} past the data"
            );
        }
    }
    scan.findings.len()
}

/// The zip reader, by its central directory and by its local headers; returns the number
/// of members read.
pub fn zip(data: &[u8]) -> usize {
    let limits = Limits::default();
    let by_directory = zip::read(data, limits.max_members, limits.max_decompressed);
    let by_headers = zip::local_scan(data, limits.max_members, limits.max_decompressed);
    by_directory.entries.len() + by_headers.entries.len()
}

/// The tar reader; returns the number of members read.
pub fn tar(data: &[u8]) -> usize {
    tar::read(data, Limits::default().max_members).members.len()
}

/// The GGUF reader (header, metadata, tensor table); returns the number of issues.
pub fn gguf(data: &[u8]) -> usize {
    gguf::check(data).len()
}

/// The Jinja chat-template check on `data` read as text (lossily: any bytes reach it).
pub fn jinja(data: &[u8]) -> usize {
    jinja::check(&String::from_utf8_lossy(data)).len()
}

/// The ONNX reader (and its protobuf wire reader); returns the number of issues.
pub fn onnx(data: &[u8]) -> usize {
    onnx::check(data).len()
}

/// The TensorFlow reader, as a SavedModel and as a frozen graph; returns the number of
/// issues.
pub fn savedmodel(data: &[u8]) -> usize {
    savedmodel::check(data, "tf-savedmodel").len() + savedmodel::check(data, "tf-graphdef").len()
}

/// The HDF5 reader of the root group's attributes; returns how many it read.
pub fn hdf5(data: &[u8]) -> usize {
    hdf5::root_attributes(data).map_or(0, |root| root.attrs.len() + root.skipped.len())
}
