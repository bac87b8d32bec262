//! Container-level tests of the formats beyond pickle (GGUF, ONNX, SavedModel, Keras/HDF5):
//! recognised by content, inside archives as well as alone, with a pickle reader that
//! records what it is given.

use std::sync::Mutex;

use super::*;

struct Out {
    findings: Vec<Finding>,
    summary: FileSummary,
    streams: usize,
}

impl Out {
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

fn scan(data: &[u8]) -> Out {
    let seen = Mutex::new(0usize);
    let (findings, summary) = scan_bytes(data, b"f", &Limits::default(), &|_s| {
        *seen.lock().unwrap() += 1;
        Vec::new()
    });
    let streams = *seen.lock().unwrap();
    Out {
        findings,
        summary,
        streams,
    }
}

/// A stored (uncompressed) zip of the given members, as Python's zipfile writes one.
fn zip_stored(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (name, data) in members {
        let c = crc32(data);
        let off = out.len() as u32;
        out.extend(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        out.extend(c.to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out.extend((name.len() as u16).to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out.extend(name.as_bytes());
        out.extend(*data);
        cd.extend(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        cd.extend(c.to_le_bytes());
        cd.extend((data.len() as u32).to_le_bytes());
        cd.extend((data.len() as u32).to_le_bytes());
        cd.extend((name.len() as u16).to_le_bytes());
        cd.extend([0u8; 12]);
        cd.extend(off.to_le_bytes());
        cd.extend(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend(&cd);
    out.extend(b"PK\x05\x06\x00\x00\x00\x00");
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((cd.len() as u32).to_le_bytes());
    out.extend(cd_off.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

// ---------------------------------------------------------------------------------------
// GGUF

#[test]
fn gguf_alone_and_in_a_zip() {
    use super::gguf::tests::{file, s};
    let good = file(&[
        ("general.architecture", 8, s("llama")),
        (
            "tokenizer.chat_template",
            8,
            s("{{ messages[0]['content'] }}"),
        ),
    ]);
    let o = scan(&good);
    assert_eq!(o.summary.format, "gguf");
    assert_eq!(o.rules(), vec!["gguf.checked"]);
    assert_eq!(o.worst(), Severity::Info);
    assert_eq!(o.streams, 0);
    let evil = file(&[(
        "tokenizer.chat_template",
        8,
        s("{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    )]);
    let o = scan(&zip_stored(&[("model/evil.bin", &evil)]));
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(o.findings[0].location.members, vec!["model/evil.bin"]);
    // Truncated: unknown, never safe.
    let o = scan(&good[..good.len() - 20]);
    assert_eq!(o.summary.format, "gguf");
    assert_eq!(o.worst(), Severity::Unknown);
}

// ---------------------------------------------------------------------------------------
// ONNX

#[test]
fn onnx_alone_compressed_and_in_a_zip() {
    use super::onnx::tests::{graph, model, node, tensor};
    let good = model(
        &graph(&[node("Relu", "", &[])], &[tensor("w", Some("w.bin"))]),
        &[],
    );
    let o = scan(&good);
    assert_eq!(o.summary.format, "onnx");
    assert_eq!(o.rules(), vec!["onnx.checked"]);
    let evil = model(
        &graph(
            &[node("Relu", "", &[]), node("Run", "evil.ops", &[])],
            &[tensor("w", Some("../../../etc/shadow"))],
        ),
        &[],
    );
    let o = scan(&zip_stored(&[("m/model", &evil)]));
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(
        o.rules(),
        vec!["onnx.external-data", "onnx.custom-domain", "onnx.checked"]
    );
    let o = scan(&gzip(&evil));
    assert_eq!(o.summary.format, "gzip/onnx");
    assert_eq!(o.worst(), Severity::Dangerous);
    // Cut inside the graph: unknown (as a gzip member the prefix still sniffs as ONNX).
    let o = scan(&gzip(&good[..good.len() - 10]));
    assert_eq!(o.worst(), Severity::Unknown);
}

fn gzip(d: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

// ---------------------------------------------------------------------------------------
// TensorFlow

#[test]
fn saved_model_and_frozen_graph_by_content() {
    use super::savedmodel::tests::{function, graph_def, node, saved_model};
    let benign = saved_model(&graph_def(
        &[
            node("x", "Placeholder", &[]),
            node("save/RestoreV2", "RestoreV2", &[]),
        ],
        &[function("__inference_f_1", &[node("m", "MatMul", &[])])],
    ));
    let o = scan(&benign);
    assert_eq!(o.summary.format, "tf-savedmodel");
    assert_eq!(o.rules(), vec!["tf.checked"]);
    let evil = graph_def(
        &[node("x", "Placeholder", &[])],
        &[function(
            "__inference_f_1",
            &[node("p", "PyFuncStateless", &[])],
        )],
    );
    let o = scan(&zip_stored(&[("frozen", &evil)]));
    assert_eq!(o.worst(), Severity::Dangerous);
    assert_eq!(
        o.findings[0].global.as_deref(),
        Some("tf.raw_ops.PyFuncStateless")
    );
    let o = scan(&benign[..benign.len() - 3]);
    assert_eq!(o.summary.format, "tf-savedmodel");
    assert_eq!(o.worst(), Severity::Unknown);
}

// ---------------------------------------------------------------------------------------
// Keras

#[test]
fn keras_json_with_nan_and_embedded_torch_module() {
    use base64::Engine;
    // GLOBAL os system, then a call: what a torch.save of a hostile module reduces to.
    let pickle = b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.";
    let b64 = base64::engine::general_purpose::STANDARD.encode(pickle);
    let config = format!(
        r#"{{"module": "keras", "class_name": "Sequential", "config": {{"name": "s", "layers": [
        {{"module": "keras.layers", "class_name": "Dense", "config": {{"name": "d", "bias": NaN, "clip": Infinity}}}},
        {{"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {{"name": "tm", "module": "{b64}"}}}}
        ]}}}}"#
    );
    let o = scan(&zip_stored(&[("config.json", config.as_bytes())]));
    assert_eq!(o.streams, 1, "{:?}", o.findings);
    assert!(o.rules().contains(&"keras.torch-module"));
    // Unreadable JSON that names classes is unknown, whatever the member is called.
    let o = scan(&zip_stored(&[(
        "x.json",
        br#"{"class_name": "Lambda", "config": {"#,
    )]));
    assert_eq!(o.worst(), Severity::Unknown);
    assert_eq!(o.rules(), vec!["keras.config-unreadable"]);
}

// ---------------------------------------------------------------------------------------
// Legacy Keras HDF5

#[test]
fn h5_model_config_read_from_the_root_attribute() {
    use super::hdf5::tests::file;
    // Key order and spacing that a search for `{"class_name"` misses; NaN as Python
    // writes it; a Lambda in a nested model.
    let cfg = br#"{"config": {"layers": [{"config": {"layers": [{"config": {"name": "l", "function": ["4wEAAA==", null, null], "function_type": "lambda"}, "class_name": "Lambda"}]}, "class_name": "Sequential"}], "rate": NaN}, "class_name": "Functional"}"#;
    let o = scan(&file(
        &[("keras_version", b"2.15.0"), ("model_config", cfg)],
        None,
    ));
    assert_eq!(o.summary.format, "hdf5");
    assert_eq!(o.worst(), Severity::Dangerous, "{:?}", o.findings);
    assert_eq!(o.rules(), vec!["keras.lambda"]);
    // The same as a variable-length string in the global heap.
    let o = scan(&file(&[], Some(("model_config", cfg))));
    assert_eq!(o.rules(), vec!["keras.lambda"]);
    // A benign configuration, and a model_config that is not JSON.
    let ok = br#"{ "class_name" : "Sequential", "config": {"layers": []} }"#;
    let o = scan(&file(&[("model_config", ok)], None));
    assert_eq!(o.worst(), Severity::Info);
    let o = scan(&file(&[("model_config", b"{\"class_name\": ")], None));
    assert_eq!(o.rules(), vec!["keras.config-unreadable"]);
    // A damaged header in a file that names a configuration: unknown.
    let mut d = file(&[("model_config", ok)], None);
    d[13] = 3;
    assert_eq!(scan(&d).rules(), vec!["hdf5.unreadable"]);
}

// ---------------------------------------------------------------------------------------
// Hostile bytes: every parser, through the container layer

#[test]
fn mutated_files_never_panic() {
    use super::gguf::tests as g;
    use super::onnx::tests as o;
    use super::savedmodel::tests as t;
    let samples: Vec<Vec<u8>> = vec![
        g::file(&[
            (
                "tokenizer.chat_template",
                8,
                g::s("{{ messages[0]['content'] }}"),
            ),
            ("k", 4, 7u32.to_le_bytes().to_vec()),
        ]),
        o::model(
            &o::graph(
                &[o::node(
                    "If",
                    "",
                    &[super::protobuf::enc::bytes(6, &o::graph(&[], &[]))],
                )],
                &[o::tensor("w", Some("w.bin"))],
            ),
            &[],
        ),
        t::saved_model(&t::graph_def(
            &[t::node("a", "MatMul", &[("T", "x")])],
            &[t::function("f", &[t::node("b", "Relu", &[])])],
        )),
        super::hdf5::tests::file(
            &[(
                "model_config",
                br#"{"class_name": "Sequential", "config": {}}"#,
            )],
            Some(("training_config", b"{}")),
        ),
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut scanned = 0;
    for sample in &samples {
        let clean = scan(sample);
        assert_eq!(clean.worst(), Severity::Info, "{:?}", clean.findings);
        for _ in 0..3000 {
            let mut d = sample.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % d.len() as u64) as usize;
                d[i] = next() as u8;
            }
            if next() % 4 == 0 {
                d.truncate((next() % d.len() as u64) as usize);
            }
            let _ = scan(&d);
            scanned += 1;
        }
    }
    assert_eq!(scanned, 4 * 3000);
}
