//! Tests of the container layer with a fake pickle reader that records the streams it is
//! given and reports a `Dangerous` finding for any stream holding `MARK`.

use std::fs::File;
use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use proptest::prelude::*;

use super::*;

const MARK: &[u8] = b"MLSENTRY_MARKER";
const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/rust/scan_fixtures/");

#[derive(Debug, Clone)]
struct Seen {
    kind: &'static str,
    members: Vec<String>,
    max_pickles: Option<usize>,
    len: usize,
}

#[derive(Default)]
struct Fake {
    seen: Mutex<Vec<Seen>>,
}

impl Fake {
    fn call(&self, s: Stream<'_>) -> Vec<Finding> {
        self.seen.lock().unwrap().push(Seen {
            kind: s.kind,
            members: s.location.members.clone(),
            max_pickles: s.max_pickles,
            len: s.data.len(),
        });
        if memchr::memmem::find(s.data, MARK).is_none() {
            return Vec::new();
        }
        vec![Finding {
            location: s.location,
            global: Some("test.marker".into()),
            severity: Severity::Dangerous,
            rule: "test.marker",
            message: "marker".into(),
        }]
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

struct Out {
    findings: Vec<Finding>,
    summary: FileSummary,
    seen: Vec<Seen>,
}

impl Out {
    fn has(&self, rule: &str) -> bool {
        self.findings.iter().any(|f| f.rule == rule)
    }

    fn worst(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Info)
    }

    fn rules(&self) -> Vec<&'static str> {
        self.findings.iter().map(|f| f.rule).collect()
    }
}

fn scan_with(data: &[u8], limits: &Limits) -> Out {
    let fake = Fake::default();
    let (findings, summary) = scan_bytes(data, b"f", limits, &|s| fake.call(s));
    Out {
        findings,
        summary,
        seen: fake.seen(),
    }
}

fn scan(data: &[u8]) -> Out {
    scan_with(data, &Limits::default())
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIX}{name}")).unwrap()
}

/// `pickle.dumps({"note": "MLSENTRY_MARKER"}, protocol=2)`
fn marked_pickle() -> Vec<u8> {
    let mut p = b"\x80\x02}q\x00X\x04\x00\x00\x00noteq\x01X\x0f\x00\x00\x00".to_vec();
    p.extend(MARK);
    p.extend(b"q\x02s.");
    p
}

/// `pickle.dumps([1, 2], protocol=2)`
fn benign_pickle() -> Vec<u8> {
    b"\x80\x02]q\x00(K\x01K\x02e.".to_vec()
}

fn gzip(d: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

fn deflate(d: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

fn crc(d: &[u8]) -> u32 {
    super::crc32(d)
}

// ---------------------------------------------------------------------------------------
// A zip writer for the tests, with knobs for damage.

#[derive(Clone)]
struct M {
    name: String,
    data: Vec<u8>,
    deflate: bool,
    flags: u16,
    bad_crc: bool,
    descriptor: bool,
    method: Option<u16>,
}

fn m(name: &str, data: &[u8]) -> M {
    M {
        name: name.into(),
        data: data.to_vec(),
        deflate: false,
        flags: 0,
        bad_crc: false,
        descriptor: false,
        method: None,
    }
}

fn md(name: &str, data: &[u8]) -> M {
    M {
        deflate: true,
        ..m(name, data)
    }
}

fn zip_of(members: &[M], central: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for e in members {
        let body = if e.deflate {
            deflate(&e.data)
        } else {
            e.data.clone()
        };
        let method = e.method.unwrap_or(if e.deflate { 8 } else { 0 });
        let c = if e.bad_crc {
            crc(&e.data) ^ 0xdead_beef
        } else {
            crc(&e.data)
        };
        let flags = e.flags | if e.descriptor { 8 } else { 0 };
        let off = out.len() as u32;
        let (lc, lcs, lus) = if e.descriptor {
            (0, 0, 0)
        } else {
            (c, body.len() as u32, e.data.len() as u32)
        };
        out.extend(b"PK\x03\x04");
        out.extend(20u16.to_le_bytes());
        out.extend(flags.to_le_bytes());
        out.extend(method.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend(lc.to_le_bytes());
        out.extend(lcs.to_le_bytes());
        out.extend(lus.to_le_bytes());
        out.extend((e.name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(e.name.as_bytes());
        out.extend(&body);
        if e.descriptor {
            out.extend(b"PK\x07\x08");
            out.extend(c.to_le_bytes());
            out.extend((body.len() as u32).to_le_bytes());
            out.extend((e.data.len() as u32).to_le_bytes());
        }
        cd.extend(b"PK\x01\x02");
        cd.extend(20u16.to_le_bytes());
        cd.extend(20u16.to_le_bytes());
        cd.extend(flags.to_le_bytes());
        cd.extend(method.to_le_bytes());
        cd.extend([0u8; 4]);
        cd.extend(c.to_le_bytes());
        cd.extend((body.len() as u32).to_le_bytes());
        cd.extend((e.data.len() as u32).to_le_bytes());
        cd.extend((e.name.len() as u16).to_le_bytes());
        cd.extend([0u8; 8]);
        cd.extend([0u8; 4]);
        cd.extend(off.to_le_bytes());
        cd.extend(e.name.as_bytes());
    }
    if central {
        let cd_off = out.len() as u32;
        out.extend(&cd);
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((cd.len() as u32).to_le_bytes());
        out.extend(cd_off.to_le_bytes());
        out.extend(0u16.to_le_bytes());
    }
    out
}

fn zip(members: &[M]) -> Vec<u8> {
    zip_of(members, true)
}

fn npy_file(header: &str, data: &[u8]) -> Vec<u8> {
    let mut h = header.as_bytes().to_vec();
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(b' ');
    }
    h.push(b'\n');
    let mut d = b"\x93NUMPY\x01\x00".to_vec();
    d.extend((h.len() as u16).to_le_bytes());
    d.extend(h);
    d.extend(data);
    d
}

fn safetensors_file(header: &str, buffer: usize) -> Vec<u8> {
    let mut d = (header.len() as u64).to_le_bytes().to_vec();
    d.extend(header.as_bytes());
    d.extend(std::iter::repeat_n(7u8, buffer));
    d
}

// ---------------------------------------------------------------------------------------
// Pickles found wherever they are

#[test]
fn plain_and_benign_pickles() {
    let o = scan(&marked_pickle());
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.summary.format, "pickle");
    assert_eq!((o.seen[0].kind, o.seen[0].max_pickles), ("pickle", None));
    let o = scan(&benign_pickle());
    assert_eq!((o.seen.len(), o.worst()), (1, Severity::Info));
}

#[test]
fn pickle_in_zip_member_without_pkl_name() {
    let z = zip(&[
        md("weights.bin", &marked_pickle()),
        m("README.md", b"# a model\n"),
    ]);
    let o = scan(&z);
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 1);
    assert_eq!(o.seen[0].members, vec!["weights.bin".to_string()]);
    let marker = o.findings.iter().find(|f| f.rule == "test.marker").unwrap();
    assert_eq!(marker.location.members, vec!["weights.bin".to_string()]);
    assert_eq!(marker.location.file, b"f");
    // README is plain text: Info, not Unknown.
    assert!(o
        .findings
        .iter()
        .all(|f| f.rule == "test.marker" || f.severity == Severity::Info));
}

#[test]
fn pytorch_zip_streams_and_tensor_data() {
    let floats: Vec<u8> = (0..4096u32)
        .flat_map(|i| ((i as f32) * 0.37).sin().to_le_bytes())
        .collect();
    let z = zip(&[
        m("model/data.pkl", &marked_pickle()),
        m("model/data/0", &floats),
        m("model/version", b"3\n"),
        m("model/byteorder", b"little"),
        m("model/.data/serialization_id", b"1234567890"),
    ]);
    let o = scan(&z);
    assert_eq!(o.summary.format, "pytorch-zip");
    assert_eq!(o.seen.len(), 1, "{:?}", o.seen);
    assert_eq!(o.seen[0].kind, kind::TORCH_ZIP);
    assert_eq!(o.worst(), Severity::Dangerous);
}

#[test]
fn zips_and_tars_as_python_writes_them() {
    for (name, format, members) in [
        ("zip64.zip", "pytorch-zip", vec!["archive/data.pkl"]),
        ("streamed.zip", "zip", vec!["weights.bin"]),
        ("prepended.zip", "other+zip", vec!["m.bin"]),
        ("lzma_member.zip", "zip", vec!["m.bin"]),
        ("model.tar.gz", "gzip/tar", vec!["model/pickle"]),
    ] {
        let o = scan(&fixture(name));
        assert_eq!(o.summary.format, format, "{name}");
        assert_eq!(o.seen.len(), 1, "{name}: {:?}", o.rules());
        assert_eq!(o.seen[0].members, members, "{name}");
        assert_eq!(o.worst(), Severity::Dangerous, "{name}");
        assert!(
            o.findings
                .iter()
                .all(|f| f.rule == "test.marker" || f.severity == Severity::Info),
            "{name}: {:?}",
            o.rules()
        );
    }
}

#[test]
fn zip_with_bad_crc_and_odd_flags() {
    let mut a = m("archive/data.pkl", &marked_pickle());
    a.bad_crc = true;
    a.flags = 0x0800 | 0x2000 | 0x0010;
    let mut b = md("other", &benign_pickle());
    b.bad_crc = true;
    b.flags = 0x0006;
    let o = scan(&zip(&[a, b]));
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 2);
    let crcs = o
        .findings
        .iter()
        .filter(|f| f.rule == "zip.bad-crc")
        .count();
    assert_eq!(crcs, 2);
    assert!(o
        .findings
        .iter()
        .filter(|f| f.rule == "zip.bad-crc")
        .all(|f| f.severity == Severity::Info));
}

#[test]
fn zip_without_central_directory() {
    let mut d = md("x/data.pkl", &marked_pickle());
    d.descriptor = true;
    let mut s = m("plain", b"hello");
    s.descriptor = true;
    let z = zip_of(
        &[m("a.txt", b"text"), d, s, md("b", &benign_pickle())],
        false,
    );
    let o = scan(&z);
    assert!(o.has("zip.no-central-directory"));
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 2, "{:?}", o.seen);
    // A damaged central directory (wrong count) falls back the same way.
    let mut z = zip(&[m("a", &marked_pickle())]);
    let n = z.len();
    z[n - 12] = 9;
    z[n - 14] = 9;
    let o = scan(&z);
    assert!(o.has("zip.no-central-directory"));
    assert_eq!(o.worst(), Severity::Dangerous);
}

#[test]
fn zip_bomb_is_bounded_and_the_scan_goes_on() {
    // A pickle that goes on with 200 MB of zeros (so it must be read whole), then a member
    // of zeros alone (sniffed from a prefix, never expanded: its declared ratio is the
    // finding), then a pickle that must still be scanned.
    let mut bomb = b"\x80\x04B\x00\x00\x00\x0c".to_vec();
    bomb.resize(200 << 20, 0);
    let t = Instant::now();
    let z = zip(&[
        md("bomb.bin", &bomb),
        md("zeros", &bomb[8..]),
        m("after.pkl", &marked_pickle()),
    ]);
    let built = t.elapsed();
    let t = Instant::now();
    let o = scan(&z);
    let bombs: Vec<_> = o
        .findings
        .iter()
        .filter(|f| f.rule == "container.bomb")
        .collect();
    assert_eq!(bombs.len(), 2, "{:?}", o.rules());
    assert!(bombs.iter().all(|f| f.severity == Severity::Unknown));
    assert_eq!(bombs[1].location.members, vec!["zeros".to_string()]);
    assert_eq!(o.worst(), Severity::Dangerous);
    assert!(t.elapsed() < built + std::time::Duration::from_secs(5));
    assert!(o.seen.iter().all(|s| s.len < 4 << 20));
    // The same at the top of a file.
    let o = scan(&gzip(&bomb));
    assert!(o.has("container.bomb"));
    // Below the ratio rule, the output cap holds.
    let limits = Limits {
        max_decompressed: 1 << 20,
        ..Limits::default()
    };
    let noise: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let mut p = b"\x80\x04B".to_vec();
    p.extend((noise.len() as u32).to_le_bytes());
    p.extend(&noise);
    p.push(b'.');
    let o = scan_with(&zip(&[md("big", &p)]), &limits);
    assert!(o.has("container.bomb"), "{:?}", o.rules());
    assert!(o.seen.iter().all(|s| s.len <= 1 << 20));
    // The total per file holds too: three 100 kB pickles, 150 kB allowed in all.
    let limits = Limits {
        max_total_decompressed: 150 << 10,
        ..Limits::default()
    };
    let mut chunk = b"\x80\x04B\xa0\x86\x01\x00".to_vec();
    chunk.extend((0..100_000u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8));
    chunk.push(b'.');
    let o = scan_with(
        &zip(&[md("a", &chunk), md("b", &chunk), md("c", &chunk)]),
        &limits,
    );
    assert!(o.has("container.bomb"), "{:?}", o.rules());
    assert!(o.seen.iter().map(|s| s.len).sum::<usize>() <= 150 << 10);
}

#[test]
fn nested_zips_past_max_depth() {
    // 42.zip-like: each level holds two copies of the level below.
    let mut inner = zip(&[m("deep.pkl", &marked_pickle())]);
    for level in 0..6 {
        inner = zip(&[
            md(&format!("l{level}a.zip"), &inner),
            md(&format!("l{level}b.zip"), &inner),
        ]);
    }
    let o = scan(&inner);
    assert!(o.has("container.too-deep"));
    assert!(!o.has("test.marker"));
    assert_eq!(o.worst(), Severity::Unknown);
    let deep = Limits {
        max_depth: 10,
        ..Limits::default()
    };
    let o = scan_with(&inner, &deep);
    assert!(!o.has("container.too-deep"));
    assert_eq!(o.seen.len(), 64);
    let f = o.findings.iter().find(|f| f.rule == "test.marker").unwrap();
    assert_eq!(f.location.members.len(), 7);
    assert_eq!(f.location.members.last().unwrap(), "deep.pkl");
    // Repeated findings are capped per rule.
    let many: Vec<M> = (0..150)
        .map(|i| m(&format!("{i}.npy"), b"\x93NUMPY\x09\x00"))
        .collect();
    let o = scan(&zip(&many));
    assert_eq!(
        o.findings.iter().filter(|f| f.rule == "npy.header").count(),
        MAX_PER_RULE
    );
    assert!(o.has("container.more"));
}

#[test]
fn compressed_pickles() {
    let o = scan(&gzip(&marked_pickle()));
    assert_eq!(
        (o.summary.format.as_str(), o.worst()),
        ("gzip/pickle", Severity::Dangerous)
    );
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(&marked_pickle()).unwrap();
    let o = scan(&e.finish().unwrap());
    assert_eq!(
        (o.summary.format.as_str(), o.worst()),
        ("bzip2/pickle", Severity::Dangerous)
    );
    let o = scan(&fixture("pickle.xz"));
    assert_eq!(
        (o.summary.format.as_str(), o.worst()),
        ("xz/pickle", Severity::Dangerous)
    );
}

#[test]
fn joblib_every_compression() {
    for (name, format) in [
        ("joblib_raw.bin", "joblib"),
        ("joblib_zlib.bin", "zlib/joblib"),
        ("joblib_gzip.bin", "gzip/joblib"),
        ("joblib_bz2.bin", "bzip2/joblib"),
        ("joblib_lzma.bin", "lzma/joblib"),
        ("joblib_xz.bin", "xz/joblib"),
        ("joblib_zstd.bin", "zstd/joblib"),
        ("joblib_zstd_frames.bin", "zstd/joblib"),
        ("joblib_lz4.bin", "lz4/joblib"),
        ("joblib_lz4_linked.bin", "lz4/joblib"),
        ("joblib_lz4_legacy.bin", "lz4/joblib"),
    ] {
        let o = scan(&fixture(name));
        assert_eq!(o.summary.format, format, "{name}");
        assert_eq!(o.seen.len(), 1, "{name}");
        assert_eq!(o.seen[0].kind, kind::JOBLIB, "{name}");
        assert_eq!(o.worst(), Severity::Dangerous, "{name}");
    }
    // joblib < 0.10 `ZF` files.
    let p = marked_pickle();
    let mut zf = format!("ZF{:<19}", format!("{:#x}", p.len())).into_bytes();
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
    e.write_all(&p).unwrap();
    zf.extend(e.finish().unwrap());
    let o = scan(&zf);
    assert_eq!(
        (o.summary.format.as_str(), o.worst()),
        ("joblib-zfile/joblib", Severity::Dangerous)
    );
}

#[test]
fn truncated_compression_is_a_finding_not_a_pass() {
    // A valid pickle whose marker comes first and whose bytes object is long.
    let pad: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
        .collect();
    let mut p = b"\x80\x04]\x94(X\x0f\x00\x00\x00".to_vec();
    p.extend(MARK);
    p.push(b'B');
    p.extend((pad.len() as u32).to_le_bytes());
    p.extend(&pad);
    p.extend(b"e.");
    assert_eq!(scan(&p).worst(), Severity::Dangerous);
    let g = gzip(&p);
    let o = scan(&g[..g.len() / 2]);
    assert!(o.has("container.truncated"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Dangerous);
    let o = scan(&gzip(&benign_pickle())[..12]);
    assert!(o.has("container.truncated"));
    assert_eq!(o.worst(), Severity::Unknown);
    let x = fixture("pickle.xz");
    let o = scan(&x[..x.len() - 20]);
    assert!(o.worst() >= Severity::Unknown, "{:?}", o.rules());
}

#[test]
fn npy_and_npz() {
    let o = scan(&fixture("object.npy"));
    assert_eq!(o.seen.len(), 1);
    assert_eq!(
        (o.seen[0].kind, o.seen[0].max_pickles),
        (kind::NPY_OBJECT, Some(1))
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    for name in ["object.npz", "object_compressed.npz"] {
        let o = scan(&fixture(name));
        assert_eq!(o.summary.format, "npz", "{name}");
        assert_eq!(o.seen.len(), 1, "{name}");
        assert_eq!(o.seen[0].members, vec!["b.npy".to_string()]);
        assert_eq!(o.worst(), Severity::Dangerous, "{name}");
    }
    let o = scan(&fixture("plain_compressed.npz"));
    assert!(o.seen.is_empty());
    assert!(o.has("npy.plain"));
    assert_eq!(o.worst(), Severity::Info);
    // Terabytes declared, a few bytes there: a finding, quickly, nothing allocated.
    let huge = npy_file(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000, 1000), }",
        &[0; 16],
    );
    let t = Instant::now();
    let o = scan(&huge);
    assert!(t.elapsed().as_millis() < 500);
    assert!(o.has("container.truncated"));
    assert_eq!(o.worst(), Severity::Unknown);
    let ok = npy_file(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }",
        &[1, 0, 0, 0, 2, 0, 0, 0],
    );
    assert_eq!(scan(&ok).rules(), vec!["npy.plain"]);
}

#[test]
fn keras_archives() {
    let lambda = br#"{"module": "keras", "class_name": "Functional", "config": {"name": "m", "layers": [
        {"module": "keras.layers", "class_name": "InputLayer", "config": {"name": "in"}},
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil",
          "function": {"module": "builtins", "class_name": "function", "config": {"code": "4wEAAAAA"}}}}
    ]}}"#;
    let benign =
        br#"{"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "units": 2}}
    ]}}"#;
    let meta = br#"{"keras_version": "3.5.0", "date_saved": "2024-01-01"}"#;
    let h5 = b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00weights";
    let archive = |config: &[u8]| {
        zip(&[
            md("metadata.json", meta),
            md("config.json", config),
            m("model.weights.h5", h5),
        ])
    };
    let o = scan(&archive(lambda));
    assert_eq!(o.summary.format, "keras");
    assert!(o.has("keras.lambda"));
    assert_eq!(o.worst(), Severity::Dangerous);
    let f = o
        .findings
        .iter()
        .find(|f| f.rule == "keras.lambda")
        .unwrap();
    assert_eq!(f.location.members, vec!["config.json".to_string()]);
    let o = scan(&archive(benign));
    assert_eq!(o.worst(), Severity::Info, "{:?}", o.findings);
    // A config.json file on its own (model.to_json()), and an HF-style config.
    assert_eq!(scan(lambda).worst(), Severity::Dangerous);
    assert_eq!(
        scan(br#"{"architectures": ["BertModel"], "hidden_size": 768}"#).worst(),
        Severity::Info
    );
    // A legacy .h5 model with its config inside.
    let mut h5 = b"\x89HDF\r\n\x1a\n\x00\x00\x00\x00".to_vec();
    h5.extend(br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["4wEA", null, null]}}]}}"#);
    assert_eq!(scan(&h5).worst(), Severity::Dangerous);
}

#[test]
fn safetensors_sane_and_insane() {
    let sane = safetensors_file(
        r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}"#,
        8,
    );
    let o = scan(&sane);
    assert_eq!(
        (o.summary.format.as_str(), o.rules()),
        ("safetensors", vec!["safetensors.checked"])
    );
    let overlap = safetensors_file(
        r#"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#,
        6,
    );
    assert!(scan(&overlap).has("safetensors.insane"));
    let mut huge = (1u64 << 60).to_le_bytes().to_vec();
    huge.extend(b"{\"a\": 1}");
    let o = scan(&huge);
    assert!(o.has("safetensors.insane"));
    assert_eq!(o.worst(), Severity::Unknown);
    // Inside a compressed zip member too.
    let o = scan(&zip(&[
        md("model.safetensors", &sane),
        md("bad.safetensors", &overlap),
    ]));
    assert!(o.has("safetensors.checked") && o.has("safetensors.insane"));
}

#[test]
fn legacy_torch_stream() {
    let o = scan(&fixture("torch_legacy.pt"));
    assert_eq!(o.summary.format, "torch-legacy");
    assert_eq!(o.seen.len(), 1);
    assert_eq!(
        (o.seen[0].kind, o.seen[0].max_pickles),
        (kind::TORCH_LEGACY, Some(5))
    );
    assert_eq!(o.worst(), Severity::Dangerous);
}

#[test]
fn tar_lz4_polyglot_encrypted_and_unsupported() {
    // tar with a pickle member.
    let mut t = vec![0u8; 512];
    t[..8].copy_from_slice(b"pickle\0\0");
    let p = marked_pickle();
    t[124..135].copy_from_slice(format!("{:011o}", p.len()).as_bytes());
    t[156] = b'0';
    t[257..263].copy_from_slice(b"ustar\0");
    t[148..156].copy_from_slice(b"        ");
    let sum: u32 = t.iter().map(|&b| u32::from(b)).sum();
    t[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    t.extend(&p);
    t.resize(t.len().div_ceil(512) * 512 + 1024, 0);
    let o = scan(&t);
    assert_eq!(o.summary.format, "tar");
    assert_eq!(o.seen[0].members, vec!["pickle".to_string()]);
    assert_eq!(o.worst(), Severity::Dangerous);
    // lz4 that does not decode: Unknown, not a pass.
    assert_eq!(
        scan(b"\x04\x22\x4d\x18\x64\x40\xa7rest").worst(),
        Severity::Unknown
    );
    // A harmless pickle with a zip appended: both are read.
    let mut poly = benign_pickle();
    poly.extend(zip(&[m("hidden", &marked_pickle())]));
    let o = scan(&poly);
    assert_eq!(o.worst(), Severity::Dangerous);
    assert!(o.summary.format.contains("+zip"), "{}", o.summary.format);
    // An encrypted member that cannot be read; an unknown method.
    let mut enc = m("secret", &[0x8d, 0x13, 0xfe, 0x77, 0x02, 0x91]);
    enc.flags = 1;
    let mut odd = m("odd", &marked_pickle());
    odd.method = Some(9);
    let o = scan(&zip(&[enc, odd]));
    assert!(o.has("zip.encrypted") && o.has("container.unsupported"));
    assert_eq!(o.worst(), Severity::Unknown);
}

#[test]
fn hostile_zip_sizes_and_member_counts() {
    // A central entry claiming a 2^63-byte member through Zip64.
    let mut z = zip(&[m("a.pkl", &marked_pickle())]);
    let cd = memchr::memmem::find(&z, b"PK\x01\x02").unwrap();
    z[cd + 20..cd + 24].copy_from_slice(&u32::MAX.to_le_bytes());
    z[cd + 24..cd + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    // Append a Zip64 extra field to the entry by rebuilding the directory.
    let name_end = cd + 46 + 5;
    let mut extra = vec![1u8, 0, 16, 0];
    extra.extend((1u64 << 63).to_le_bytes());
    extra.extend((1u64 << 63).to_le_bytes());
    z[cd + 30..cd + 32].copy_from_slice(&(extra.len() as u16).to_le_bytes());
    let tail = z.split_off(name_end);
    z.extend(&extra);
    let mut tail = tail;
    let eocd = tail.len() - 22;
    let size =
        u32::from_le_bytes(tail[eocd + 12..eocd + 16].try_into().unwrap()) + extra.len() as u32;
    tail[eocd + 12..eocd + 16].copy_from_slice(&size.to_le_bytes());
    z.extend(tail);
    let t = Instant::now();
    let o = scan(&z);
    assert!(t.elapsed().as_millis() < 500);
    assert!(o.has("container.truncated"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Dangerous);
    // Member counts.
    let many: Vec<M> = (0..10).map(|i| m(&format!("{i}"), b"x")).collect();
    let o = scan_with(
        &zip(&many),
        &Limits {
            max_members: 5,
            ..Limits::default()
        },
    );
    assert!(o.has("container.too-many-members"));
}

#[test]
fn text_is_info_only() {
    for t in [
        &b"# README\nSome words.\n"[..],
        b"class Model:\n    pass\n",
        b"import os\nimport sys\n",
        b"certifi==2024.2.2\nnumpy\n",
        b"x^2 + y^2 = z^2\n",
        b"]\x00\x00\x80\x00junk junk junk",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
        b"",
        b"{}",
    ] {
        let o = scan(t);
        assert!(o.seen.is_empty());
        assert_eq!(
            o.worst(),
            Severity::Info,
            "{:?}",
            String::from_utf8_lossy(t)
        );
        assert_eq!(o.findings.len(), 1);
    }
    // Text that `pickle.load` reads as GLOBAL: `certifi\nnumpy\n` makes it import module
    // `ertifi` (find_class("ertifi", "numpy")). A file from which a loader imports is
    // read as a pickle, never "not a model".
    for t in [&b"certifi\nnumpy\n"[..], b"click\nrich\n"] {
        let o = scan(t);
        assert_eq!(o.seen.len(), 1, "{:?}", String::from_utf8_lossy(t));
        assert_eq!(o.summary.format, "pickle");
        assert!(!o.has("container.not-model"));
    }
}

// ---------------------------------------------------------------------------------------
// Files and folders

fn run(path: &Path) -> (ScanResult, Vec<Seen>) {
    let fake = Fake::default();
    let r = scan_path(path, &Limits::default(), &Progress::new(), &|s| {
        fake.call(s)
    })
    .unwrap();
    (r, fake.seen())
}

/// Scans `path`; the first stream handed to the reader first has `during` applied to the
/// file, as another process could at that moment, and is then read whole.
fn run_changing(path: &Path, during: impl Fn(&File) + Sync) -> (ScanResult, Vec<Seen>) {
    let fake = Fake::default();
    let once = std::sync::Once::new();
    let r = scan_path(path, &Limits::default(), &Progress::new(), &|s| {
        once.call_once(|| {
            during(&std::fs::OpenOptions::new().append(true).open(path).unwrap());
        });
        fake.call(s)
    })
    .unwrap();
    (r, fake.seen())
}

#[test]
fn a_file_that_changes_during_its_scan_is_unknown_and_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.pkl");
    let mut data = marked_pickle();
    data.resize(256 << 10, b'.');
    // Truncated to nothing: reading the stream on touches pages past the end of the file,
    // which would end the process with SIGBUS; the reader sees zeros instead.
    std::fs::write(&path, &data).unwrap();
    let (r, seen) = run_changing(&path, |f| f.set_len(0).unwrap());
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].len, data.len());
    let rules: Vec<_> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["container.changed"]);
    assert_eq!(r.findings[0].severity, Severity::Unknown);
    assert!(
        r.findings[0].message.contains("shrank"),
        "{}",
        r.findings[0].message
    );
    assert_eq!(r.files[0].format, "changed");
    // Grown: nothing faults, the size tells.
    std::fs::write(&path, &data).unwrap();
    let (r, _) = run_changing(&path, |mut f| f.write_all(b"more").unwrap());
    let rules: Vec<_> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["container.changed"]);
    assert!(
        r.findings[0].message.contains("grew"),
        "{}",
        r.findings[0].message
    );
    // Left alone, the same file is read as it is (the marker is found).
    std::fs::write(&path, &data).unwrap();
    let (r, _) = run_changing(&path, |_| ());
    let rules: Vec<_> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, ["test.marker"]);
}

#[test]
fn files_with_misleading_names() {
    let dir = tempfile::tempdir().unwrap();
    let txt = dir.path().join("notes.txt");
    std::fs::write(&txt, gzip(&marked_pickle())).unwrap();
    let (r, _) = run(&txt);
    assert_eq!(r.files[0].format, "gzip/pickle");
    assert_eq!(r.files[0].path, txt.as_os_str().as_bytes());
    assert!(r.findings.iter().any(|f| f.rule == "test.marker"));
    // An object array named like text, inside a folder.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/weights.txt"), fixture("object.npy")).unwrap();
    let (r, seen) = run(dir.path());
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "test.marker" && f.location.file.ends_with(b"sub/weights.txt"))
        .unwrap();
    assert!(f
        .location
        .file
        .starts_with(dir.path().as_os_str().as_bytes()));
    assert!(seen.iter().any(|s| s.kind == kind::NPY_OBJECT));
}

#[test]
fn folder_of_many_files_links_and_special_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("models");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    for i in 0..120 {
        let body = match i % 4 {
            0 => benign_pickle(),
            1 => b"plain text".to_vec(),
            2 => gzip(&benign_pickle()),
            _ => zip(&[m("x", &benign_pickle())]),
        };
        std::fs::write(root.join(format!("a/f{i:03}")), body).unwrap();
    }
    std::fs::write(root.join("a/b/evil.bin"), marked_pickle()).unwrap();
    std::fs::write(dir.path().join("outside.pkl"), marked_pickle()).unwrap();
    std::os::unix::fs::symlink("../outside.pkl", root.join("out.pkl")).unwrap();
    std::os::unix::fs::symlink("a/b/evil.bin", root.join("in.pkl")).unwrap();
    std::os::unix::fs::symlink("a", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
    std::os::unix::fs::symlink("missing", root.join("dangling")).unwrap();
    let fifo = root.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let t = Instant::now();
    let (r, seen) = run(&root);
    assert!(t.elapsed().as_secs() < 10);
    assert_eq!(r.files.len(), 122);
    assert_eq!(seen.len(), 92);
    let rule_of = |suffix: &[u8]| {
        r.findings
            .iter()
            .filter(|f| f.location.file.ends_with(suffix))
            .map(|f| (f.rule, f.severity))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rule_of(b"/out.pkl"),
        vec![("container.link-outside", Severity::Unknown)]
    );
    assert_eq!(
        rule_of(b"/in.pkl"),
        vec![("test.marker", Severity::Dangerous)]
    );
    assert_eq!(rule_of(b"/loop"), vec![("container.link", Severity::Info)]);
    assert_eq!(rule_of(b"/a/up"), vec![("container.link", Severity::Info)]);
    assert_eq!(
        rule_of(b"/dangling"),
        vec![("container.link", Severity::Info)]
    );
    assert_eq!(
        rule_of(b"/pipe"),
        vec![("container.special-file", Severity::Info)]
    );
    // Files come in path order.
    let paths: Vec<_> = r.files.iter().map(|f| f.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort_by(|a, b| compare_paths(a, b));
    assert_eq!(paths, sorted);
    // Cancellation stops the scan.
    let p = Progress::new();
    p.cancel();
    let fake = Fake::default();
    assert!(matches!(
        scan_path(&root, &Limits::default(), &p, &|s| fake.call(s)),
        Err(CoreError::Cancelled)
    ));
    // A path that does not exist is an error; a file that vanished after listing a finding.
    assert!(scan_path(
        &dir.path().join("nope"),
        &Limits::default(),
        &Progress::new(),
        &|s| fake.call(s)
    )
    .is_err());
    let meta = std::fs::metadata(root.join("a/f000")).unwrap();
    let (f, s) = scan_file(
        &dir.path().join("gone"),
        b"gone",
        &meta,
        &Limits::default(),
        &|s| fake.call(s),
    );
    assert_eq!(
        (f[0].rule, f[0].severity, s.format.as_str()),
        ("container.unreadable", Severity::Unknown, "unreadable")
    );
}

// ---------------------------------------------------------------------------------------
// Fuzzing: no panic, bounded time, on arbitrary bytes and on damaged valid containers.

fn seeds() -> Vec<Vec<u8>> {
    vec![
        zip(&[
            md("a/data.pkl", &marked_pickle()),
            m("b.npy", &fixture("object.npy")),
        ]),
        zip_of(&[md("x", &benign_pickle())], false),
        gzip(&marked_pickle()),
        fixture("joblib_xz.bin"),
        fixture("joblib_lzma.bin"),
        fixture("joblib_bz2.bin"),
        fixture("object.npz"),
        fixture("object.npy"),
        fixture("torch_legacy.pt"),
        safetensors_file(
            r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            8,
        ),
        marked_pickle(),
        fixture("joblib_zstd.bin"),
        fixture("joblib_lz4_linked.bin"),
        seven_zip(
            &[("archive/data.pkl", &marked_pickle()), ("b", b"xyz")],
            None,
        ),
    ]
}

fn fuzz_limits() -> Limits {
    Limits {
        max_decompressed: 8 << 20,
        max_total_decompressed: 32 << 20,
        ..Limits::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::default())]

    #[test]
    fn fuzz_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..2048), lead in 0usize..12) {
        // Give random bytes a real magic number now and then.
        let magics: [&[u8]; 12] = [b"", b"PK\x03\x04", b"\x1f\x8b\x08", b"BZh9", b"\xfd7zXZ\x00", b"]\x00\x00\x80\x00",
            b"x\x9c", b"\x93NUMPY\x01\x00", b"\x80\x02", b"ZF0x", b"\x10\x00\x00\x00\x00\x00\x00\x00{", b"PK\x05\x06"];
        let mut d = magics[lead].to_vec();
        d.extend(&data);
        let t = Instant::now();
        let _ = scan_with(&d, &fuzz_limits());
        let _ = zip::read(&d, 1000, 1 << 20);
        let _ = npy::header(&d);
        let _ = safetensors::check(&d, d.len() as u64);
        let _ = tar::read(&d, 1000);
        for c in [Codec::Deflate, Codec::Zlib, Codec::Gzip, Codec::Bzip2, Codec::Xz, Codec::LzmaAlone, Codec::ZipLzma(None)] {
            let _ = decompress::decode(c, &d, 1 << 20, 1000, false);
        }
        prop_assert!(t.elapsed().as_secs() < 5);
    }

    #[test]
    fn fuzz_mutated_containers(which in 0usize..14, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>()) {
        let mut d = seeds()[which].clone();
        for (at, b) in edits {
            let n = d.len();
            d[at % n] = b;
        }
        if cut % 4 == 0 {
            let n = d.len();
            d.truncate(cut % n);
        }
        let t = Instant::now();
        let o = scan_with(&d, &fuzz_limits());
        prop_assert!(t.elapsed().as_secs() < 5);
        prop_assert!(!o.findings.is_empty() || !o.seen.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Format sniffing never hides a pickle (issue 15, class 1): every member of the class,
// byte by byte, through the real pickle reader and the built-in policy.

fn real(data: &[u8]) -> (Vec<Finding>, FileSummary) {
    static POLICY: std::sync::OnceLock<crate::core::scan::Policy> = std::sync::OnceLock::new();
    let policy = POLICY.get_or_init(crate::core::scan::Policy::new);
    let limits = Limits::default();
    scan_bytes(data, b"f", &limits, &|s| {
        crate::core::scan::scan_stream(&s, policy, &limits)
    })
}

/// The scan names `os.system` as dangerous and does not call the content "not a model".
fn names_os_system(data: &[u8]) -> FileSummary {
    let (findings, summary) = real(data);
    let shown: Vec<String> = findings.iter().map(|f| f.to_string()).collect();
    assert!(
        findings
            .iter()
            .any(|f| f.severity == Severity::Dangerous && f.global.as_deref() == Some("os.system")),
        "{:?}: {shown:?}",
        summary.format
    );
    assert!(!findings.iter().any(|f| f.rule == "container.not-model"));
    summary
}

/// Protocol 0 call of `os.system('id')` (GLOBAL, MARK, STRING, TUPLE, REDUCE, STOP).
const SYSTEM0: &[u8] = b"cos\nsystem\n(S'id'\ntR.";

/// `BINBYTES` of `n` bytes with `at` placed at byte `offset` of the whole pickle whose
/// argument starts at `start`.
fn binbytes_with(start: usize, n: usize, offset: usize, at: &[u8]) -> Vec<u8> {
    let mut arg = vec![b'x'; n];
    arg[offset - start - 5..offset - start - 5 + at.len()].copy_from_slice(at);
    let mut b = vec![b'B'];
    b.extend((n as u32).to_le_bytes());
    b.extend(arg);
    b
}

#[test]
fn zlib_header_on_a_pickle() {
    // The 19 bytes of the issue: `(S` is a valid two-byte zlib header.
    let s = names_os_system(b"(S'id'\nios\nsystem\n.");
    assert_eq!(s.format, "pickle");
    // Every two-byte zlib header a pickle can start with: MARK then STRING or FROZENSET,
    // BINUNICODE whose length's low byte completes the header.
    let mut starts = 0;
    for second in 0..=255u8 {
        for first in [b'(', b'X'] {
            if sniff::sniff(&[first, second], 2) != Format::Zlib {
                continue;
            }
            let mut d = vec![first, second];
            match (first, second) {
                (b'(', b'S') => d.extend(b"'x'\nt0"),
                (b'(', 0x91) => d.push(b'0'),
                (b'(', _) => continue,
                _ => {
                    d.extend([0, 0, 0]);
                    d.extend(vec![b'x'; usize::from(second)]);
                    d.push(b'0');
                }
            }
            d.extend(SYSTEM0);
            assert_eq!(sniff::sniff(&d[..2], 2), Format::Zlib);
            names_os_system(&d);
            starts += 1;
        }
    }
    assert_eq!(starts, 6);
    // Inside a zip member and a gzip stream, where it was silently "other".
    let z = zip(&[m("weights.bin", b"(S'id'\nios\nsystem\n.")]);
    names_os_system(&z);
    names_os_system(&gzip(b"(S'id'\nios\nsystem\n."));
}

#[test]
fn tar_and_hdf5_signatures_inside_a_pickle() {
    // PROTO 3, BINBYTES holding `ustar` at byte 257 (or HDF5's signature at 512, 1024,
    // 2048), POP, then the call.
    for (offset, magic) in [
        (257, &b"ustar\0"[..]),
        (257, b"ustar  \0"),
        (512, sniff::HDF5_MAGIC),
        (1024, sniff::HDF5_MAGIC),
        (2048, sniff::HDF5_MAGIC),
    ] {
        let mut d = b"\x80\x03".to_vec();
        d.extend(binbytes_with(2, offset + 600, offset, magic));
        d.push(b'0');
        d.extend(SYSTEM0);
        assert_eq!(&d[offset..offset + magic.len()], magic);
        names_os_system(&d);
        // Without PROTO, and with the payload cut right after the import (a loader
        // imports os; nothing is called, but the reader must read it).
        let mut bare = d[2..].to_vec();
        bare.truncate(bare.len() - 11);
        let (findings, summary) = real(&bare);
        assert!(
            findings.iter().any(|f| f.severity > Severity::Info),
            "{}: {:?}",
            summary.format,
            findings
        );
    }
}

#[test]
fn memo_keys_with_underscores() {
    // CPython reads GET/PUT keys with int(): `1_0` is 10, `+3` is 3, `-0` is 0.
    // GLOBAL os.system stored under a key in each form int() takes, fetched back in
    // another.
    for (put, get) in [
        (&b"1_0"[..], &b"1_0"[..]),
        (b"10", b"1_0"),
        (b"+3", b"3"),
        (b"-0", b"0"),
        (b" 7 ", b"0_7"),
    ] {
        let mut d = b"cos\nsystem\np".to_vec();
        d.extend(put);
        d.extend(b"\n0g");
        d.extend(get);
        d.extend(b"\n(S'id'\ntR.");
        assert_eq!(sniff::sniff(&d, d.len() as u64), Format::Pickle, "{d:?}");
        names_os_system(&d);
        // Behind a zlib header too.
        let mut z = b"(S'x'\n0".to_vec();
        z.extend(&d);
        names_os_system(&z);
    }
    // What int() refuses, the sniffer refuses: the loader stops at the PUT, after the
    // import and before any call.
    for bad in [&b"1__0"[..], b"_1", b"1_", b"0x1", b"-1"] {
        let mut d = b"]p".to_vec();
        d.extend(bad);
        d.extend(b"\n.");
        assert!(!looks_like_pickle_text(&d), "{d:?}");
    }
}

fn looks_like_pickle_text(d: &[u8]) -> bool {
    sniff::sniff(d, d.len() as u64) == Format::Pickle
}

#[test]
fn walk_past_its_item_bound_before_the_import() {
    // More MARKs than the sniffing walk tracks, then the call.
    let mut d = vec![b'('; (1 << 20) + 16];
    d.extend(SYSTEM0);
    names_os_system(&d);
    // A long harmless prefix before the import inside a compressed zip member: the
    // sniffing prefix (64 KiB) ends before the import.
    let mut long = b"]q\x00(".to_vec();
    for _ in 0..60_000 {
        long.extend(b"K\x01");
    }
    long.extend(b"e0");
    long.extend(SYSTEM0);
    names_os_system(&zip(&[md("weights.bin", &long)]));
    names_os_system(&gzip(&long));
}

#[test]
fn a_second_pickle_after_a_protocol_0_one() {
    // pickle.dumps([1], protocol=0), then the call: loaders that load again run it.
    let mut d = b"(lp0\nI1\na.".to_vec();
    d.extend(SYSTEM0);
    names_os_system(&d);
}

#[test]
fn safetensors_like_length_prefix_on_a_pickle() {
    // BINUNICODE of 4 characters puts `{` at byte 8 after a length that is not text: the
    // sniffer's safetensors rule; the pickle ends right after its import.
    let mut d = b"X\x04\x00\x00\x00abc{0".to_vec();
    d.extend(b"cos\nsystem\n");
    assert_eq!(sniff::sniff(&d, d.len() as u64), Format::Safetensors);
    let (findings, _) = real(&d);
    assert!(
        findings
            .iter()
            .any(|f| f.global.as_deref() == Some("os.system") && f.severity > Severity::Info),
        "{findings:?}"
    );
}

#[test]
fn torch_zip_data_pkl_is_always_a_pickle() {
    // data.pkl whose bytes are a zlib header and the call; constants.pkl of a
    // TorchScript archive likewise; stored and deflated.
    for name in ["archive/data.pkl", "archive/constants.pkl"] {
        for deflated in [false, true] {
            let member = |n: &str, d: &[u8]| if deflated { md(n, d) } else { m(n, d) };
            let z = zip(&[
                member("archive/data.pkl", b"\x80\x02}q\x00."),
                member(name, b"(S'id'\nios\nsystem\n."),
                member("archive/version", b"3\n"),
            ]);
            names_os_system(&z);
        }
    }
    // A data.pkl that is no pickle at all (an npy file): torch.load fails on it, the
    // reader says so; it is not "plain numpy data".
    let npy = npy_file(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        &[0; 8],
    );
    let (findings, _) = real(&zip(&[m("archive/data.pkl", &npy)]));
    assert!(findings.iter().any(|f| f.severity > Severity::Info));
    assert!(
        !findings.iter().any(|f| f.rule == "npy.plain"),
        "{findings:?}"
    );
}

// ---------------------------------------------------------------------------------------
// What cannot be read is not safe (issue 15, class 2).

#[test]
fn archives_and_streams_not_read_are_unknown() {
    for (what, d) in [
        (
            "rar 5",
            &b"Rar!\x1a\x07\x01\x00\x33\x92\xb5\xe5\x0a\x01\x05\x06\x00"[..],
        ),
        (
            "rar 4",
            b"Rar!\x1a\x07\x00\xcf\x90\x73\x00\x00\x0d\x00\x00\x00",
        ),
        ("lzip", b"LZIP\x01\x0c\x00\x00\x00\x00\x00\x00"),
        ("compress", b"\x1f\x9d\x90\x28\x00\x00\x00"),
    ] {
        let o = scan(d);
        assert_eq!(o.worst(), Severity::Unknown, "{what}: {:?}", o.rules());
        assert!(o.has("container.unsupported"), "{what}");
        // Inside a zip too, under any name.
        let o = scan(&zip(&[m("model.bin", d)]));
        assert_eq!(o.worst(), Severity::Unknown, "{what} in a zip");
    }
}

#[test]
fn encrypted_members_are_unknown_whatever_their_bytes_look_like() {
    // Ciphertext that happens to start like JSON, like a zlib header, like npy.
    for bytes in [
        &b"{\"a\": 1}"[..],
        b"x\x9c\x01\x02\x03",
        b"\x93NUMPY\x01\x00",
    ] {
        let mut enc = m("secret.bin", bytes);
        enc.flags = 1;
        let o = scan(&zip(&[enc]));
        assert!(o.has("zip.encrypted"), "{:?}", o.rules());
        assert_eq!(o.worst(), Severity::Unknown);
    }
}

#[test]
fn an_lzma_stream_the_decoder_refuses_is_unknown() {
    // lzma-alone (joblib's .lzma) with a 2 GiB dictionary: past DICT_MEMORY, so not
    // decoded here; Python's lzma reads it, so it is not "not a model".
    let mut d = vec![0x5d];
    d.extend((1u32 << 31).to_le_bytes());
    d.extend(u64::MAX.to_le_bytes());
    d.extend([0u8; 16]);
    assert_eq!(d.len(), 13 + 16);
    let o = scan(&d);
    assert_eq!(o.worst(), Severity::Unknown, "{:?}", o.rules());
    assert!(!o.has("container.not-model"));
}

#[test]
fn zstd_and_lz4_are_read_within_the_bounds() {
    let raw = fixture("joblib_raw.bin");
    // A skippable frame first, then the zstd (or lz4) frame.
    for (name, label) in [
        ("joblib_zstd.bin", "zstd/joblib"),
        ("joblib_lz4.bin", "lz4/joblib"),
    ] {
        let mut d = b"\x5a\x2a\x4d\x18\x03\x00\x00\x00abc".to_vec();
        d.extend(fixture(name));
        let o = scan(&d);
        assert_eq!(o.summary.format, label);
        assert_eq!(o.worst(), Severity::Dangerous, "{name}");
        // Cut short: what came out is scanned, and the cut is Unknown.
        let f = fixture(name);
        let o = scan(&f[..f.len() - 30]);
        assert!(
            o.has("container.truncated") || o.has("container.corrupt"),
            "{:?}",
            o.rules()
        );
        assert!(o.worst() >= Severity::Unknown);
    }
    // Encoded here too (ruzstd's and lz4_flex's encoders), inside a zip (method 93 is
    // Zstandard) and as a member stored under another name.
    let z =
        ruzstd::encoding::compress_to_vec(&raw[..], ruzstd::encoding::CompressionLevel::Fastest);
    let mut zm = m("model.joblib", &z);
    zm.method = Some(93);
    let o = scan(&zip(&[zm]));
    assert_eq!(o.worst(), Severity::Dangerous, "{:?}", o.rules());
    let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
    e.write_all(&raw).unwrap();
    let l = e.finish().unwrap();
    let o = scan(&zip(&[m("weights", &l)]));
    assert_eq!(o.worst(), Severity::Dangerous);
    // A window past what Python's zstandard reads by default: not read, Unknown.
    let o = scan(&fixture("zstd_window_1g.bin"));
    assert!(o.has("container.unsupported"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Unknown);
    // 64 MiB of zeros in 2 KiB: a bomb, bounded in time and memory.
    let t = Instant::now();
    let o = scan(&fixture("zstd_bomb.bin"));
    assert!(o.has("container.bomb"), "{:?}", o.rules());
    assert!(t.elapsed().as_millis() < 2000);
    let o = scan_with(
        &l,
        &Limits {
            max_decompressed: 100,
            ..Limits::default()
        },
    );
    assert!(o.has("container.bomb"), "{:?}", o.rules());
}

/// A 7z archive of `members` written by sevenz-rust2 with `method` (LZMA2 when `None`).
fn seven_zip(members: &[(&str, &[u8])], method: Option<sevenz_rust2::EncoderMethod>) -> Vec<u8> {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderMethod};
    let mut w = ArchiveWriter::new(std::io::Cursor::new(Vec::new())).unwrap();
    w.set_content_methods(vec![method.unwrap_or(EncoderMethod::LZMA2).into()]);
    for (name, data) in members {
        w.push_archive_entry(ArchiveEntry::new_file(name), Some(*data))
            .unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn seven_zip_archives_are_read() {
    use sevenz_rust2::EncoderMethod;
    // A PyTorch-like layout in 7z (as the "nullifAI" files were), every method the build
    // reads, and a member that is itself compressed.
    let raw = fixture("joblib_raw.bin");
    for method in [
        None,
        Some(EncoderMethod::LZMA),
        Some(EncoderMethod::COPY),
        Some(EncoderMethod::BZIP2),
        Some(EncoderMethod::PPMD),
    ] {
        let a = seven_zip(
            &[
                ("archive/version", b"3\n"),
                ("archive/data.pkl", &marked_pickle()),
                ("model.joblib", &raw),
                ("nested.gz", &gzip(&marked_pickle())),
            ],
            method,
        );
        let o = scan(&a);
        assert_eq!(o.summary.format, "7z");
        assert_eq!(
            o.worst(),
            Severity::Dangerous,
            "{method:?}: {:?}",
            o.rules()
        );
        let members: Vec<_> = o.seen.iter().map(|s| s.members.join("!")).collect();
        assert_eq!(
            members,
            ["archive/data.pkl", "model.joblib", "nested.gz"],
            "{method:?}"
        );
        // Benign content is safe.
        let b = seven_zip(&[("archive/data.pkl", &benign_pickle())], method);
        assert_eq!(scan(&b).worst(), Severity::Info);
    }
    // Inside a zip, under a misleading name.
    let a = seven_zip(&[("w", &marked_pickle())], None);
    assert_eq!(
        scan(&zip(&[m("weights.bin", &a)])).worst(),
        Severity::Dangerous
    );
}

#[test]
fn seven_zip_that_cannot_be_read_is_unknown_and_bounded() {
    let a = seven_zip(&[("archive/data.pkl", &marked_pickle())], None);
    // Cut short, damaged in its packed data, its header, its start header; a bare
    // signature.
    for broken in [
        b"7z\xbc\xaf\x27\x1c\x00\x04\x8d\x9b\xd5\x0f\x00\x00\x00\x00".to_vec(),
        a[..a.len() - 10].to_vec(),
        a[..40].to_vec(),
        {
            let mut d = a.clone();
            d[34] ^= 0xff;
            d
        },
        {
            let mut d = a.clone();
            let n = d.len();
            d[n - 5] ^= 0x55;
            d
        },
        {
            let mut d = a.clone();
            d[12..20].copy_from_slice(&u64::MAX.to_le_bytes());
            d
        },
    ] {
        let t = Instant::now();
        let o = scan(&broken);
        assert!(t.elapsed().as_millis() < 2000);
        assert!(o.worst() >= Severity::Unknown, "{:?}", o.rules());
    }
    // A bomb: 16 MiB of zeros in a few KiB.
    let zeros = vec![0u8; 16 << 20];
    let b = seven_zip(&[("zeros", &zeros), ("after", &marked_pickle())], None);
    assert!(b.len() < 16 << 10, "{}", b.len());
    let o = scan(&b);
    assert!(o.has("container.bomb"), "{:?}", o.rules());
    // Past max_members and max_decompressed.
    let many: Vec<(String, Vec<u8>)> = (0..10).map(|i| (format!("{i}"), vec![b'x'; 10])).collect();
    let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
    let o = scan_with(
        &seven_zip(&refs, None),
        &Limits {
            max_members: 5,
            ..Limits::default()
        },
    );
    assert!(o.has("container.too-many-members"));
    let o = scan_with(
        &seven_zip(&[("big", &vec![7u8; 5000])], None),
        &Limits {
            max_decompressed: 1000,
            ..Limits::default()
        },
    );
    assert!(o.has("container.bomb"), "{:?}", o.rules());
}

#[test]
fn compressed_hdf5_members_are_searched() {
    // A legacy Keras .h5 with a Lambda layer, deflated inside a zip: it was
    // "hdf5.not-searched" (Info) and the zip passed.
    let mut h5 = b"\x89HDF\r\n\x1a\n\x00\x00".to_vec();
    h5.extend(vec![0u8; 100_000]);
    h5.extend(br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l", "function": ["4wEAAA==", null, null]}}]}}"#);
    h5.extend(vec![0u8; 100_000]);
    let o = scan(&zip(&[md("model.h5", &h5)]));
    assert!(o.has("keras.lambda"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Dangerous);
    // Stored, and without a configuration: arrays only.
    assert!(scan(&zip(&[m("model.h5", &h5)])).has("keras.lambda"));
    let plain = &h5[..50_000];
    let o = scan(&zip(&[md("weights.h5", plain)]));
    assert!(
        o.has("hdf5.data") && o.worst() == Severity::Info,
        "{:?}",
        o.rules()
    );
}

// ---------------------------------------------------------------------------------------
// Zip parser differentials: every view a loader could take is read (issue 15, item 3)

/// A stored member's local header and data.
fn local_header(name: &[u8], data: &[u8], flags: u16) -> Vec<u8> {
    let mut out = b"PK\x03\x04".to_vec();
    out.extend(20u16.to_le_bytes());
    out.extend(flags.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend(crc(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out.extend((name.len() as u16).to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out.extend(name);
    out.extend(data);
    out
}

/// A central directory entry for a stored member whose local header is at `off`.
fn central_entry(name: &[u8], data: &[u8], flags: u16, off: u32) -> Vec<u8> {
    let mut cd = b"PK\x01\x02".to_vec();
    cd.extend(20u16.to_le_bytes());
    cd.extend(20u16.to_le_bytes());
    cd.extend(flags.to_le_bytes());
    cd.extend(0u16.to_le_bytes());
    cd.extend([0u8; 4]);
    cd.extend(crc(data).to_le_bytes());
    cd.extend((data.len() as u32).to_le_bytes());
    cd.extend((data.len() as u32).to_le_bytes());
    cd.extend((name.len() as u16).to_le_bytes());
    cd.extend([0u8; 12]);
    cd.extend(off.to_le_bytes());
    cd.extend(name);
    cd
}

fn end_record(count: u16, cd_len: usize, cd_off: usize, comment_len: u16) -> Vec<u8> {
    let mut out = b"PK\x05\x06".to_vec();
    out.extend([0u8; 4]);
    out.extend(count.to_le_bytes());
    out.extend(count.to_le_bytes());
    out.extend((cd_len as u32).to_le_bytes());
    out.extend((cd_off as u32).to_le_bytes());
    out.extend(comment_len.to_le_bytes());
    out
}

fn disagrees(o: &Out, words: &str) -> bool {
    o.findings.iter().any(|f| {
        f.rule == "zip.views-disagree"
            && f.severity == Severity::Unknown
            && f.message.contains(words)
    })
}

#[test]
fn zip_local_name_differs_from_central_name() {
    let mut z = zip(&[m("weights.bin", &marked_pickle())]);
    // The local header's name (at 30) says otherwise.
    z[30..41].copy_from_slice(b"data.pkl.xx");
    let o = scan(&z);
    assert!(
        disagrees(&o, "local header names it \"data.pkl.xx\""),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 1);
    // The same archive with equal names is not a disagreement.
    let o = scan(&zip(&[m("weights.bin", &marked_pickle())]));
    assert!(!o.has("zip.views-disagree"));
}

#[test]
fn zip_flag_bits_on_members_that_are_not_encrypted() {
    // The encryption bit on the local header only (miniz reads the central flags, a
    // streaming reader the local ones): the plain pickle is read all the same.
    let p = marked_pickle();
    let mut z = local_header(b"data.pkl", &p, 1);
    let cd = central_entry(b"data.pkl", &p, 0, 0);
    let at = z.len();
    z.extend(&cd);
    z.extend(end_record(1, cd.len(), at, 0));
    let o = scan(&z);
    assert!(
        disagrees(&o, "local flags 0x0001 differ"),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    // Set in both (Python asks for a password, the bytes are a plain pickle): read, and
    // unknown besides.
    for flags in [1u16, 0x40, 0x41] {
        let mut z = local_header(b"data.pkl", &p, flags);
        let cd = central_entry(b"data.pkl", &p, flags, 0);
        let at = z.len();
        z.extend(&cd);
        z.extend(end_record(1, cd.len(), at, 0));
        let o = scan(&z);
        assert!(o.has("zip.encrypted"), "{flags}");
        assert_eq!(o.worst(), Severity::Dangerous, "{flags}");
        assert!(!o.has("zip.views-disagree"), "{flags}");
    }
}

#[test]
fn zip_two_members_with_one_name() {
    let o = scan(&zip(&[
        m("data.pkl", &marked_pickle()),
        m("data.pkl", &benign_pickle()),
    ]));
    assert!(
        disagrees(&o, "two members named \"data.pkl\""),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 2);
}

#[test]
fn zip_local_header_hidden_in_another_members_data() {
    let mut blob = b"tensor bytes ".to_vec();
    blob.extend(local_header(b"x/data.pkl", &marked_pickle(), 0));
    blob.extend(b" more tensor bytes");
    // Sizes in a data descriptor: a streaming reader searches the data for the next
    // signature and takes the hidden header.
    let mut described = m("blob", &blob);
    described.descriptor = true;
    let o = scan(&zip(&[described, m("a.txt", b"text")]));
    assert!(
        disagrees(&o, "inside the data of member \"blob\""),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 1);
    assert_eq!(o.seen[0].members, vec!["x/data.pkl"]);
    // A local header that gives fewer bytes than the central directory: a reader walking
    // the local headers lands inside the data the directory gives the member.
    let mut z = zip(&[m("blob", &blob), m("a.txt", b"text")]);
    z[18..22].copy_from_slice(&13u32.to_le_bytes());
    let o = scan(&z);
    assert!(
        disagrees(&o, "inside the data of member \"blob\""),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    // Data every view agrees on is the member's content: directory readers take it whole,
    // walkers skip it by its size, so no loader reads a header inside it (and the data of
    // a large checkpoint is not searched).
    let o = scan(&zip(&[m("blob", &blob), m("a.txt", b"text")]));
    assert!(!o.has("zip.views-disagree"), "{:?}", o.findings);
    assert!(o.seen.is_empty(), "{:?}", o.seen);
    // A stored member that is a zip itself is read as a nested archive, not twice.
    let inner = zip(&[m("data.pkl", &marked_pickle())]);
    let o = scan(&zip(&[m("inner.zip", &inner)]));
    assert!(!o.has("zip.views-disagree"), "{:?}", o.findings);
    assert_eq!(o.seen.len(), 1);
}

#[test]
fn zip_local_headers_the_directory_does_not_list() {
    let mut z = local_header(b"a.txt", b"text", 0);
    let hidden = z.len();
    z.extend(local_header(b"evil.pkl", &marked_pickle(), 0));
    let cd = central_entry(b"a.txt", b"text", 0, 0);
    let at = z.len();
    z.extend(&cd);
    z.extend(end_record(1, cd.len(), at, 0));
    let o = scan(&z);
    assert!(
        disagrees(&o, &format!("local header at offset {hidden}")),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    // Four bytes of tensor data that read `PK\x03\x04` are not a member.
    let mut t = vec![7u8; 200];
    t[50..54].copy_from_slice(b"PK\x03\x04");
    let o = scan(&zip(&[m("data/0", &t)]));
    assert!(!o.has("zip.views-disagree"), "{:?}", o.findings);
}

#[test]
fn zip_after_a_pickle_at_offset_0() {
    let mut d = marked_pickle();
    d.extend(zip(&[m("archive/data.pkl", &benign_pickle())]));
    let o = scan(&d);
    assert!(
        disagrees(&o, "read as pickle by loaders that start at byte 0"),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.seen.len(), 2);
    // And the other way round: the pickle in the zip is read too.
    let mut d = benign_pickle();
    d.extend(zip(&[m("archive/data.pkl", &marked_pickle())]));
    let o = scan(&d);
    assert_eq!(o.worst(), Severity::Dangerous);
    assert!(o.has("zip.views-disagree"));
}

#[test]
fn zip_end_record_counting_fewer_members_than_its_directory() {
    let mut z = zip(&[m("a.npy", b"text"), m("b.npy", &marked_pickle())]);
    let n = z.len();
    // Entries on this disk and in all (offsets 8 and 10 of the end record).
    z[n - 14..n - 12].copy_from_slice(&1u16.to_le_bytes());
    z[n - 12..n - 10].copy_from_slice(&1u16.to_le_bytes());
    let o = scan(&z);
    assert!(
        disagrees(&o, "counts 1 members but the central directory holds 2"),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    assert!(!o.has("zip.no-central-directory"));
}

#[test]
fn zip_second_end_record_inside_the_comment() {
    // The archive as the spec reads it lists a.txt; its comment holds a second directory
    // and end record (whose comment length overruns the file) listing data.pkl: Python's
    // zipfile and miniz take that last end record.
    let p = marked_pickle();
    let mut z = local_header(b"a.txt", b"text", 0);
    let second = z.len();
    z.extend(local_header(b"data.pkl", &p, 0));
    let cd1 = central_entry(b"a.txt", b"text", 0, 0);
    let cd1_at = z.len();
    z.extend(&cd1);
    let eocd1 = z.len();
    let cd2 = central_entry(b"data.pkl", &p, 0, second as u32);
    let cd2_at = eocd1 + 22;
    let mut comment = cd2.clone();
    comment.extend(end_record(1, cd2.len(), cd2_at, 500));
    z.extend(end_record(1, cd1.len(), cd1_at, comment.len() as u16));
    z.extend(&comment);
    let o = scan(&z);
    assert!(
        disagrees(&o, "another end of central directory record"),
        "{:?}",
        o.findings
    );
    assert_eq!(o.worst(), Severity::Dangerous);
    let names: Vec<_> = o.seen.iter().map(|s| s.members.clone()).collect();
    assert_eq!(names, vec![vec!["data.pkl".to_string()]]);
}

#[test]
fn zip_views_stay_linear_in_the_members() {
    // 100 000 members of one name (the member limit), then as many hidden local headers:
    // every comparison between the views is by hash or binary search, not member by member.
    let members: Vec<M> = (0..100_000).map(|_| m("x", b"y")).collect();
    let start = std::time::Instant::now();
    let o = scan(&zip(&members));
    assert!(o.has("zip.views-disagree"));
    let mut blob = Vec::new();
    for i in 0..20_000 {
        blob.extend(local_header(format!("{i}").as_bytes(), b"z", 0));
    }
    // (Sizes in a data descriptor: a streaming reader may take any of them.)
    let mut described = m("blob.bin", &[b"junk".as_slice(), &blob].concat());
    described.descriptor = true;
    let o = scan(&zip(&[described]));
    assert!(o.has("zip.views-disagree"));
    assert!(start.elapsed().as_secs() < 60, "{:?}", start.elapsed());
}

#[test]
fn a_tar_whose_last_member_is_a_zip_is_no_disagreement() {
    let z = zip(&[m("archive/data.pkl", &benign_pickle())]);
    let mut t = vec![0u8; 512];
    t[..9].copy_from_slice(b"model.pt\0");
    t[124..135].copy_from_slice(format!("{:011o}", z.len()).as_bytes());
    t[156] = b'0';
    t[257..263].copy_from_slice(b"ustar\0");
    t[148..156].copy_from_slice(b"        ");
    let sum: u32 = t.iter().map(|&b| u32::from(b)).sum();
    t[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    t.extend(&z);
    t.resize(t.len().div_ceil(512) * 512 + 1024, 0);
    let o = scan(&t);
    assert!(!o.has("zip.views-disagree"), "{:?}", o.findings);
    assert!(
        o.findings.iter().all(|f| f.severity == Severity::Info),
        "{:?}",
        o.findings
    );
}

#[test]
fn torch_package_archives_are_never_safe_and_named() {
    // A torch.package zip: its .data/ folder, a packaged module and a pickle naming it.
    let pkl = b"\x80\x02cmodels.net\nNet\nq\x00)\x81q\x01.";
    let members = [
        m("model/.data/version", b"6\n"),
        m("model/.data/extern_modules", b"torch\n"),
        m("model/models/net.py", b"import os\nclass Net:\n    pass\n"),
        m("model/model/model.pkl", pkl),
    ];
    let out = scan_with(&zip(&members), &Limits::default());
    assert_eq!(out.summary.format, "torch-package");
    let f = out
        .findings
        .iter()
        .find(|f| f.rule == "torch.package")
        .unwrap();
    assert_eq!(f.severity, Severity::Unknown);
    assert!(f.message.contains("1 source files"), "{}", f.message);
    // Without the .data/ folder, the same members are a plain zip.
    let plain = scan_with(&zip(&members[2..]), &Limits::default());
    assert!(!plain.rules().contains(&"torch.package"));
}

// ---------------------------------------------------------------------------------------
// PyTorch storages against their zip members (issue 15, class 6), through the real reader.

/// `{'w': _rebuild_tensor_v2(('storage', <module>.<ty>, key, 'cpu', numel), 0, (n,), (1,),
/// False, OrderedDict())}`, protocol 2, as torch.save writes it.
fn torch_pkl(module: &str, ty: &str, key: &str, numel: u8, n: u8) -> Vec<u8> {
    let mut p = b"\x80\x02}(X\x01\x00\x00\x00wctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
        .to_vec();
    p.extend(format!("c{module}\n{ty}\n").as_bytes());
    p.push(b'X');
    p.extend((key.len() as u32).to_le_bytes());
    p.extend(key.as_bytes());
    p.extend(b"X\x03\x00\x00\x00cpuK");
    p.push(numel);
    p.extend(b"tQK\x00K");
    p.push(n);
    p.extend(b"\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtRu.");
    p
}

fn storage_rules(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
    findings
        .iter()
        .filter(|f| f.rule.starts_with("torch.") || f.severity > Severity::Info)
        .map(|f| (f.rule, f.severity))
        .collect()
}

#[test]
fn torch_zip_storage_members_are_measured() {
    for (module, ty, elem) in [
        ("torch", "FloatStorage", 4usize),
        ("torch", "HalfStorage", 2),
        ("torch", "CharStorage", 1),
        ("torch", "BoolStorage", 1),
        ("torch", "ComplexDoubleStorage", 16),
        ("torch.storage", "UntypedStorage", 1),
    ] {
        let pkl = torch_pkl(module, ty, "0", 6, 6);
        let zip_with = |data: M| {
            zip(&[
                m("archive/data.pkl", &pkl),
                m("archive/byteorder", b"little"),
                data,
                m("archive/version", b"3\n"),
            ])
        };
        let good = vec![7u8; 6 * elem];
        for member in [m("archive/data/0", &good), md("archive/data/0", &good)] {
            let (f, s) = real(&zip_with(member));
            assert_eq!(s.format, "pytorch-zip");
            assert!(storage_rules(&f).is_empty(), "{ty}: {f:#?}");
        }
        for have in [6 * elem - 1, 6 * elem + 1, 7 * elem] {
            let (f, _) = real(&zip_with(m("archive/data/0", &vec![7u8; have])));
            assert_eq!(
                storage_rules(&f),
                vec![("torch.storage-size-mismatch", Severity::Unknown)],
                "{ty} {have}"
            );
            assert_eq!(f[0].location.members, vec!["archive/data.pkl".to_string()]);
        }
        // No data/0 member (one of another folder does not count).
        let (f, _) = real(&zip_with(m("other/data/0", &good)));
        assert_eq!(
            storage_rules(&f),
            vec![("torch.storage-missing", Severity::Unknown)],
            "{ty}"
        );
    }
    // The folder is the pickle's own, whatever its name.
    let pkl = torch_pkl("torch", "FloatStorage", "k", 2, 2);
    let z = zip(&[m("my_model/data.pkl", &pkl), m("my_model/data/k", &[0; 8])]);
    assert!(storage_rules(&real(&z).0).is_empty());
    let z = zip(&[m("my_model/data.pkl", &pkl), m("archive/data/k", &[0; 8])]);
    assert_eq!(
        storage_rules(&real(&z).0),
        vec![("torch.storage-missing", Severity::Unknown)]
    );
    // A tensor past its storage and a storage member of the wrong size: both said.
    let pkl = torch_pkl("torch", "FloatStorage", "0", 2, 3);
    let z = zip(&[m("archive/data.pkl", &pkl), m("archive/data/0", &[0; 4])]);
    let rules: Vec<_> = storage_rules(&real(&z).0)
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(
        rules,
        vec!["torch.storage-size-mismatch", "torch.tensor-out-of-bounds"]
    );
    // The same pickle outside a PyTorch zip names no storage members: not measured.
    let z = zip(&[m(
        "state.bin",
        &torch_pkl("torch", "FloatStorage", "0", 6, 6),
    )]);
    assert!(!real(&z)
        .0
        .iter()
        .any(|f| f.rule.starts_with("torch.storage")));
}

#[test]
fn real_torch_files_have_no_storage_finding() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scan/torch_files");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("pt" | "pth")
        ) {
            continue;
        }
        let (f, s) = real(&std::fs::read(&path).unwrap());
        n += 1;
        let bad: Vec<_> = f
            .iter()
            .filter(|f| f.rule.starts_with("torch.storage") || f.rule.starts_with("torch.tensor"))
            .collect();
        assert!(bad.is_empty(), "{}: {}: {bad:#?}", path.display(), s.format);
    }
    assert!(n >= 20, "{n} files");
    // The legacy one cut by a byte (in its last storage) or by a whole storage.
    let legacy = std::fs::read(format!("{dir}/linear_state_dict_legacy.pt")).unwrap();
    for cut in [1, 20] {
        let (f, _) = real(&legacy[..legacy.len() - cut]);
        assert_eq!(
            storage_rules(&f),
            vec![("torch.storage-truncated", Severity::Unknown)],
            "{cut}"
        );
    }
}

// Zip flags and methods this reader does not implement (issue 15, classes 2 and 3).

fn flagged(flags: u16, method: Option<u16>) -> Out {
    let mut e = m("data.pkl", &benign_pickle());
    e.flags = flags;
    e.method = method;
    scan(&zip(&[e]))
}

#[test]
fn zip_flags_not_implemented_are_unknown() {
    // Read as they are: compression options (bits 1, 2), a data descriptor (3), UTF-8
    // names (11).
    for flags in [0u16, 2, 4, 6, 0x800, 0x806] {
        let o = flagged(flags, None);
        assert_eq!(o.worst(), Severity::Info, "{flags:#x}: {:?}", o.rules());
    }
    let mut d = m("data.pkl", &benign_pickle());
    d.descriptor = true;
    assert_eq!(scan(&zip(&[d])).worst(), Severity::Info);
    // Compressed patched data (bit 5), each reserved bit (4, 7 to 10, 12, 14, 15): the
    // member is scanned, and unknown.
    for bit in [5u16, 4, 7, 8, 9, 10, 12, 14, 15] {
        let o = flagged(1 << bit, None);
        let f: Vec<_> = o
            .findings
            .iter()
            .filter(|f| f.rule == "container.unsupported")
            .collect();
        assert_eq!(f.len(), 1, "bit {bit}: {:?}", o.rules());
        assert_eq!(f[0].severity, Severity::Unknown);
        assert!(
            f[0].message.contains(&format!("{:#06x}", 1u16 << bit)),
            "{}",
            f[0].message
        );
        assert_eq!(o.seen.len(), 1, "bit {bit}: scanned all the same");
    }
    // Strong encryption (6) and its masked headers (13), like traditional encryption (0).
    for bit in [0u16, 6, 13] {
        let o = flagged(1 << bit, None);
        assert!(o.has("zip.encrypted"), "bit {bit}: {:?}", o.rules());
        assert_eq!(o.worst(), Severity::Unknown);
    }
    // With a dangerous pickle, the worst stays the pickle's.
    let mut e = m("data.pkl", &marked_pickle());
    e.flags = 0x20;
    let o = scan(&zip(&[e]));
    assert!(o.has("container.unsupported"));
    assert_eq!(o.worst(), Severity::Dangerous);
}

#[test]
fn zip_methods_not_implemented_are_unknown() {
    // Read: stored, deflate, bzip2, lzma, zstd, xz (tested with their data elsewhere).
    // Not read: shrink, reduce 1-4, implode, tokenize, deflate64, DCL implode, IBM
    // TERSE, LZ77, WavPack, PPMd: unknown, and the member is not scanned.
    for method in [1u16, 2, 3, 4, 5, 6, 7, 9, 10, 18, 19, 97, 98] {
        let o = flagged(0, Some(method));
        assert!(o.has("container.unsupported"), "{method}: {:?}", o.rules());
        assert_eq!(o.worst(), Severity::Unknown, "{method}");
        assert!(o.seen.is_empty(), "{method}");
    }
    // AES (WinZip, method 99) is encryption.
    let o = flagged(1, Some(99));
    assert!(o.has("zip.encrypted"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Unknown);
    assert!(o.seen.is_empty());
}

#[test]
fn zip64_sizes_past_any_file_are_truncated_members() {
    // A local header (no central directory) whose Zip64 extra field gives a compressed
    // size near 2^64: the end of its data overflowed (found by the zip fuzzer).
    let pkl = benign_pickle();
    let name = b"archive/data.pkl";
    let mut z = b"PK\x03\x04".to_vec();
    z.extend(45u16.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z.extend([0u8; 4]);
    z.extend(crc(&pkl).to_le_bytes());
    z.extend(u32::MAX.to_le_bytes());
    z.extend(u32::MAX.to_le_bytes());
    z.extend((name.len() as u16).to_le_bytes());
    z.extend(20u16.to_le_bytes());
    z.extend(name);
    z.extend(1u16.to_le_bytes());
    z.extend(16u16.to_le_bytes());
    z.extend(u64::MAX.to_le_bytes());
    z.extend((u64::MAX - 8).to_le_bytes());
    z.extend(&pkl);
    let o = scan(&z);
    assert!(o.has("container.truncated"), "{:?}", o.rules());
    assert_eq!(o.worst(), Severity::Unknown);
}
