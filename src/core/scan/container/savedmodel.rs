//! TensorFlow graphs: a SavedModel's `saved_model.pb` (a `SavedModel` message) and frozen
//! graphs (a bare `GraphDef`), read with the wire reader of `protobuf`.
//!
//! What is read: `SavedModel.meta_graphs` (2) -> `MetaGraphDef.graph_def` (2) and
//! `saver_def` (3, `SaverDef.filename_tensor_name` 1) -> `GraphDef.node` (1) and `library`
//! (2) -> `FunctionDefLibrary.function` (1) -> `FunctionDef.signature` (1, `OpDef.name` 1)
//! and `node_def` (3); in each `NodeDef` its `name` (1), `op` (2) and `attr` (5, map
//! entries key 1 / `AttrValue` 2, whose string `s` is 2).
//!
//! Recognition by content (the file name `saved_model.pb` is never looked at): protobuf
//! has no magic number, so the message must read to its end (or be cut inside a meta
//! graph or node, which the checker then reports) with the shape of one of these:
//! * `SavedModel`: fields 1 (varint, `saved_model_schema_version`, which TensorFlow writes
//!   as 1) and 2 (messages) only, starting with `08 01 12` or with field 2; the first meta
//!   graph reads as a `MetaGraphDef` (fields 1 `meta_info_def` to 7 `object_graph_def`, and
//!   8 for growth, all messages) holding a `graph_def`.
//! * `GraphDef`: fields 1, 2, 4, 5 as messages and 3 as a varint, starting with a node, and
//!   every node (first 64 checked by the sniffer) a `NodeDef` with a name and an op that
//!   is an identifier (`[A-Za-z0-9_>.]`).
//!
//! Verdicts, by operation (`NodeDef.op`), in the graph and in every library function:
//! * `Dangerous` (`tf.python-op`): `PyFunc`, `PyFuncStateless`, `EagerPyFunc` run a Python
//!   function of the loading process (the model names it by a token; it is whatever that
//!   process registered), which is running Python from a model file.
//! * `Unknown` (`tf.file-op`): operations that read or write files or reach the network,
//!   whose paths are inputs computed at run time, so nothing here can say where they go:
//!   `ReadFile`, `WriteFile`, `MatchingFiles`, readers (`WholeFileReader`,
//!   `TextLineReader`, `TFRecordReader`, `FixedLengthRecordReader`, `LMDBReader`, V2
//!   forms), file-reading and -writing datasets (`TFRecordDataset`, `TextLineDataset`,
//!   `FixedLengthRecordDataset`, `CSVDataset`, `SqlDataset`, `LMDBDataset`,
//!   `SnapshotDataset`, `SaveDataset`, `LoadDataset`, `DatasetToTFRecord`,
//!   `DataServiceDataset`, experimental forms), summary file writers, table initialisers
//!   from text files (`InitializeTableFromTextFile`, usually a vocabulary in `assets/`, but
//!   the path is not checked), `DecodeProtoV2` with a descriptor file, `ImmutableConst`
//!   (maps the file its `memory_region_name` names), `PrintV2` whose `output_stream` is a
//!   `file://` path, and RPC operations. `Unknown` rather than `Dangerous`: they move data,
//!   they do not run code, and a model may use them for its own assets.
//! * Checkpoint operations (`Save`, `SaveV2`, `SaveSlices`, `Restore`, `RestoreV2`,
//!   `RestoreSlice`, `MergeV2Checkpoints`) are in every SavedModel: TensorFlow 1 puts them
//!   under the saver's name scope (`save/...`, from `SaverDef.filename_tensor_name`),
//!   TensorFlow 2 in the library functions `__inference__traced_save_*` and
//!   `__inference__traced_restore_*`, and there they read and write the model's own
//!   `variables/` checkpoint (the path is fed by the loader): counted, not reported.
//!   Anywhere else they read or write a checkpoint at a path of the graph's choosing:
//!   `Unknown` (`tf.file-op`).
//!
//! Keras objects saved by `tf.keras` (TensorFlow 2.x) keep their configuration as JSON:
//! in `saved_model.pb` itself (`MetaGraphDef.object_graph_def` 7 -> `SavedObjectGraph.nodes`
//! 1 -> `SavedObject.user_object` 4 -> `SavedUserObject.metadata` 3, TF < 2.5) and in
//! `keras_metadata.pb` beside it (`SavedMetadata.nodes` 1 -> `SavedObject.metadata` 5,
//! recognised by content: every top-level field a node, the first one a `SavedObject`
//! whose `identifier` (4) starts with `_tf_keras`). `tf.keras.models.load_model` revives
//! layers from that JSON, `Lambda` bytecode included, so each document goes through the
//! Keras checks (`keras::check`); one that cannot be read is `Unknown`
//! (`keras.config-unreadable`).
//!
//! Limits: operations from custom-op libraries (`tf.load_op_library`) are not known here
//! by name; a graph using one fails to load unless the user loaded the library. Nesting is
//! flat (functions are a library, not nested), so no recursion limit is needed beyond
//! `protobuf`'s bounds on each message.

use super::keras::{self, Issue};
use super::protobuf::{fields, Value};
use crate::core::scan::Severity;

const PYTHON_OPS: &[&str] = &["PyFunc", "PyFuncStateless", "EagerPyFunc"];
const FILE_OPS: &[&str] = &[
    "ReadFile",
    "WriteFile",
    "MatchingFiles",
    "WholeFileReader",
    "WholeFileReaderV2",
    "TextLineReader",
    "TextLineReaderV2",
    "TFRecordReader",
    "TFRecordReaderV2",
    "FixedLengthRecordReader",
    "FixedLengthRecordReaderV2",
    "LMDBReader",
    "TFRecordDataset",
    "TFRecordDatasetV2",
    "TextLineDataset",
    "FixedLengthRecordDataset",
    "FixedLengthRecordDatasetV2",
    "CSVDataset",
    "CSVDatasetV2",
    "ExperimentalCSVDataset",
    "SqlDataset",
    "ExperimentalSqlDataset",
    "LMDBDataset",
    "ExperimentalLMDBDataset",
    "SnapshotDataset",
    "SnapshotDatasetV2",
    "SaveDataset",
    "SaveDatasetV2",
    "LoadDataset",
    "DatasetToTFRecord",
    "ExperimentalDatasetToTFRecord",
    "DataServiceDataset",
    "DataServiceDatasetV2",
    "DataServiceDatasetV3",
    "DataServiceDatasetV4",
    "CreateSummaryFileWriter",
    "CreateSummaryDbWriter",
    "InitializeTableFromTextFile",
    "InitializeTableFromTextFileV2",
    "ImmutableConst",
    "Rpc",
    "TryRpc",
    "RpcClient",
    "RpcServer",
    "RpcCall",
    "RpcServerStart",
    "RpcServerRegister",
];
const CHECKPOINT_OPS: &[&str] = &[
    "Save",
    "SaveV2",
    "SaveSlices",
    "Restore",
    "RestoreV2",
    "RestoreSlice",
    "MergeV2Checkpoints",
];
/// Nodes the sniffer reads to recognise a bare `GraphDef`.
const SNIFF_NODES: usize = 64;

/// Which TensorFlow message `d` holds, if any: `"tf-savedmodel"` or `"tf-graphdef"`.
#[cfg(test)]
fn sniff(d: &[u8]) -> Option<&'static str> {
    if is_saved_model(d) {
        Some("tf-savedmodel")
    } else if is_graph_def(d) {
        Some("tf-graphdef")
    } else {
        None
    }
}

/// Reads the fields of `d` while `ok(number, value)` holds: `Some(true)` when the message
/// reads to its end, `Some(false)` when it is cut inside a field for which `cut_ok` holds
/// (the number of the field cut), `None` otherwise.
fn shape<'a>(
    d: &'a [u8],
    mut ok: impl FnMut(u32, Value<'a>) -> bool,
    cut_ok: impl Fn(u32) -> bool,
) -> Option<bool> {
    let mut it = fields(d);
    loop {
        let at = it.pos();
        match it.next() {
            None => return Some(true),
            Some(Ok((n, v))) => {
                if !ok(n, v) {
                    return None;
                }
            }
            Some(Err(_)) => {
                let key = d[at..].iter().take(5).position(|b| b & 0x80 == 0)?;
                let mut k = 0u64;
                for (i, b) in d[at..=at + key].iter().enumerate() {
                    k |= u64::from(b & 0x7f) << (7 * i);
                }
                return (cut_ok((k >> 3) as u32) && k & 7 == 2).then_some(false);
            }
        }
    }
}

/// See the module documentation.
pub(crate) fn is_saved_model(d: &[u8]) -> bool {
    if !(d.starts_with(b"\x08\x01\x12") || d.first() == Some(&0x12)) {
        return false;
    }
    let mut first_meta = None;
    let top = shape(
        d,
        |n, v| match (n, v) {
            (1, Value::Varint(_)) => true,
            (2, Value::Bytes(b)) => {
                first_meta.get_or_insert(b);
                true
            }
            _ => false,
        },
        |n| n == 2,
    );
    match (top, first_meta) {
        (Some(_), Some(meta)) => {
            let mut graph = false;
            let r = shape(
                meta,
                |n, v| {
                    graph |= n == 2;
                    (1..=8).contains(&n) && matches!(v, Value::Bytes(_))
                },
                |_| false,
            );
            r.is_some() && graph
        }
        // Cut inside the first meta graph: the start of `08 01 12` is specific enough.
        (Some(false), None) => d.starts_with(b"\x08\x01\x12"),
        _ => false,
    }
}

/// See the module documentation.
pub(crate) fn is_graph_def(d: &[u8]) -> bool {
    if d.first() != Some(&0x0a) {
        return false;
    }
    let mut nodes = 0usize;
    let mut bad = false;
    let r = shape(
        d,
        |n, v| match (n, v) {
            (1, Value::Bytes(b)) => {
                nodes += 1;
                if nodes <= SNIFF_NODES && !node_like(b) {
                    bad = true;
                }
                !bad
            }
            (2 | 4 | 5, Value::Bytes(_)) | (3, Value::Varint(_)) => true,
            _ => false,
        },
        |n| n == 1 || n == 2,
    );
    r.is_some() && nodes > 0 && !bad
}

/// A `NodeDef` with a name and an operation name that is an identifier.
fn node_like(d: &[u8]) -> bool {
    let (mut name, mut op) = (false, false);
    let r = shape(
        d,
        |n, v| match (n, v) {
            (1, Value::Bytes(b)) => {
                name = !b.is_empty();
                true
            }
            (2, Value::Bytes(b)) => {
                op = !b.is_empty()
                    && b.len() <= 256
                    && b.iter()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'>' | b'.'));
                op
            }
            (3..=7, Value::Bytes(_)) => true,
            _ => false,
        },
        |_| false,
    );
    r == Some(true) && name && op
}

/// Whether `d` is a `keras_metadata.pb` (see the module documentation).
pub(crate) fn is_keras_metadata(d: &[u8]) -> bool {
    if d.first() != Some(&0x0a) {
        return false;
    }
    let mut first = None;
    let r = shape(
        d,
        |n, v| match (n, v) {
            (1, Value::Bytes(b)) => {
                first.get_or_insert(b);
                true
            }
            _ => false,
        },
        |n| n == 1,
    );
    let Some(node) = first.filter(|_| r.is_some()) else {
        return false;
    };
    let mut tf_keras = false;
    let node_ok = shape(
        node,
        |n, v| match (n, v) {
            (2, Value::Varint(_)) | (3 | 5 | 6, Value::Bytes(_)) => true,
            (4, Value::Bytes(b)) => {
                tf_keras = b.starts_with(b"_tf_keras");
                true
            }
            _ => false,
        },
        |_| false,
    );
    node_ok == Some(true) && tf_keras
}

/// The Keras configurations of a `keras_metadata.pb`, checked.
pub(crate) fn keras_metadata(d: &[u8]) -> Vec<Issue> {
    let mut docs = Vec::new();
    let r = each(d, "SavedMetadata", |n, v| {
        if n == 1 {
            let (mut path, mut meta) = (String::new(), None);
            each(bytes(v, "node")?, "node", |n, v| {
                match n {
                    3 => path = String::from_utf8_lossy(bytes(v, "node path")?).into_owned(),
                    5 => meta = Some(bytes(v, "metadata")?),
                    _ => {}
                }
                Ok(())
            })?;
            if let Some(m) = meta {
                docs.push((path, m));
            }
        }
        Ok(())
    });
    let mut out = Vec::new();
    check_docs(&docs, &mut out);
    match r {
        Ok(()) => out.push(Issue {
            severity: Severity::Info,
            rule: "keras.checked",
            global: None,
            message: format!(
                "tf.keras SavedModel metadata: {} object configurations checked",
                docs.len()
            ),
        }),
        Err(why) => out.push(Issue {
            severity: Severity::Unknown,
            rule: "keras.config-unreadable",
            global: None,
            message: format!("keras_metadata.pb that cannot be read ({why}): the objects after the damage are not checked"),
        }),
    }
    out
}

/// Runs the Keras checks on JSON documents (object path, bytes).
fn check_docs(docs: &[(String, &[u8])], out: &mut Vec<Issue>) {
    for (path, doc) in docs {
        if doc.is_empty() {
            continue;
        }
        match keras::parse_json(doc) {
            Some(v) => out.extend(keras::check(&v).into_iter().map(|mut i| {
                if !path.is_empty() {
                    i.message = format!("{path}: {}", i.message);
                }
                i
            })),
            None => out.push(Issue {
                severity: Severity::Unknown,
                rule: "keras.config-unreadable",
                global: None,
                message: format!(
                    "Keras metadata of {path:?} is not JSON that Keras reads: not checked"
                ),
            }),
        }
    }
}

/// What a SavedModel (`kind` `"tf-savedmodel"`) or a frozen graph (`"tf-graphdef"`) holds
/// that is worth a finding.
pub(crate) fn check(d: &[u8], kind: &str) -> Vec<Issue> {
    let mut w = Walk::default();
    let result = if kind == "tf-savedmodel" {
        w.saved_model(d)
    } else {
        w.graph(d, None, "graph")
    };
    let mut out = w.issues;
    check_docs(&w.keras, &mut out);
    match result {
        Ok(()) => out.push(Issue {
            severity: Severity::Info,
            rule: "tf.checked",
            global: None,
            message: format!(
                "TensorFlow {}: {} meta graphs, {} nodes, {} library functions; {} checkpoint operations of the saver",
                if kind == "tf-savedmodel" { "SavedModel" } else { "GraphDef" },
                w.metas,
                w.nodes,
                w.functions,
                w.checkpoint
            ),
        }),
        Err(why) => out.push(Issue {
            severity: Severity::Unknown,
            rule: "tf.malformed",
            global: None,
            message: format!(
                "TensorFlow graph that cannot be read ({why}): what follows is not checked, so it is not safe to load"
            ),
        }),
    }
    out
}

fn bytes<'a>(v: Value<'a>, what: &str) -> Result<&'a [u8], String> {
    v.bytes().ok_or_else(|| {
        format!(
            "{what}: wire type {} where a message should be",
            v.wire_type()
        )
    })
}

fn each<'a>(
    d: &'a [u8],
    what: &str,
    mut f: impl FnMut(u32, Value<'a>) -> Result<(), String>,
) -> Result<(), String> {
    for x in fields(d) {
        let (n, v) = x.map_err(|e| format!("{what}: {e}"))?;
        f(n, v)?;
    }
    Ok(())
}

#[derive(Default)]
struct Walk<'a> {
    issues: Vec<Issue>,
    /// Keras metadata of the object graph: (node index, JSON).
    keras: Vec<(String, &'a [u8])>,
    metas: u64,
    nodes: u64,
    functions: u64,
    checkpoint: u64,
}

/// Where a node is: the graph of a meta graph (with the saver's name scope) or a library
/// function (its name).
enum Place<'a> {
    Graph(Option<&'a str>),
    Function(&'a str),
}

impl<'a> Walk<'a> {
    fn saved_model(&mut self, d: &'a [u8]) -> Result<(), String> {
        each(d, "SavedModel", |n, v| {
            if n == 2 {
                self.metas += 1;
                self.meta_graph(bytes(v, "meta graph")?)?;
            }
            Ok(())
        })
    }

    fn meta_graph(&mut self, d: &'a [u8]) -> Result<(), String> {
        let mut scope = None;
        each(d, "meta graph", |n, v| {
            if n == 3 {
                each(bytes(v, "saver")?, "saver", |n, v| {
                    if n == 1 {
                        let t = String::from_utf8_lossy(bytes(v, "saver filename")?);
                        scope = t.rsplit_once('/').map(|(s, _)| s.to_string());
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        each(d, "meta graph", |n, v| {
            match n {
                2 => self.graph(bytes(v, "graph")?, scope.as_deref(), "graph")?,
                7 => self.object_graph(bytes(v, "object graph")?)?,
                _ => {}
            }
            Ok(())
        })
    }

    /// `SavedObjectGraph.nodes` -> `SavedObject.user_object` -> `SavedUserObject.metadata`.
    fn object_graph(&mut self, d: &'a [u8]) -> Result<(), String> {
        let mut index = 0usize;
        each(d, "object graph", |n, v| {
            if n != 1 {
                return Ok(());
            }
            index += 1;
            each(bytes(v, "saved object")?, "saved object", |n, v| {
                if n == 4 {
                    each(bytes(v, "user object")?, "user object", |n, v| {
                        if n == 3 {
                            let at = format!("object {}", index - 1);
                            self.keras.push((at, bytes(v, "metadata")?));
                        }
                        Ok(())
                    })?;
                }
                Ok(())
            })
        })
    }

    fn graph(&mut self, d: &[u8], scope: Option<&str>, what: &str) -> Result<(), String> {
        each(d, what, |n, v| {
            match n {
                1 => self.node(bytes(v, "node")?, &Place::Graph(scope))?,
                2 => each(bytes(v, "library")?, "library", |n, v| {
                    if n == 1 {
                        self.function(bytes(v, "function")?)?;
                    }
                    Ok(())
                })?,
                _ => {}
            }
            Ok(())
        })
    }

    fn function(&mut self, d: &[u8]) -> Result<(), String> {
        self.functions += 1;
        let mut name = String::new();
        each(d, "function", |n, v| {
            if n == 1 {
                each(bytes(v, "signature")?, "signature", |n, v| {
                    if n == 1 {
                        name = String::from_utf8_lossy(bytes(v, "function name")?).into_owned();
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })?;
        each(d, "function", |n, v| {
            if n == 3 {
                self.node(bytes(v, "node")?, &Place::Function(&name))?;
            }
            Ok(())
        })
    }

    fn node(&mut self, d: &[u8], place: &Place<'_>) -> Result<(), String> {
        self.nodes += 1;
        let (mut name, mut op) = (String::new(), String::new());
        let mut attrs: Vec<(String, String)> = Vec::new();
        each(d, "node", |n, v| {
            match n {
                1 => name = String::from_utf8_lossy(bytes(v, "node name")?).into_owned(),
                2 => op = String::from_utf8_lossy(bytes(v, "node op")?).into_owned(),
                5 => {
                    let (mut key, mut s) = (String::new(), String::new());
                    each(bytes(v, "attr")?, "attr", |n, v| {
                        match n {
                            1 => key = String::from_utf8_lossy(bytes(v, "attr name")?).into_owned(),
                            2 => each(bytes(v, "attr value")?, "attr value", |n, v| {
                                if n == 2 {
                                    s = String::from_utf8_lossy(bytes(v, "attr string")?)
                                        .into_owned();
                                }
                                Ok(())
                            })?,
                            _ => {}
                        }
                        Ok(())
                    })?;
                    attrs.push((key, s));
                }
                _ => {}
            }
            Ok(())
        })?;
        let attr = |k: &str| {
            attrs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let at = match place {
            Place::Graph(_) => format!("node {name:?}"),
            Place::Function(f) => format!("node {name:?} of function {f:?}"),
        };
        let op_s = op.as_str();
        if PYTHON_OPS.contains(&op_s) {
            let token = attr("token").map_or(String::new(), |t| format!(" (token {t:?})"));
            self.issue(
                Severity::Dangerous,
                "tf.python-op",
                &op,
                format!("{at} is {op}: it runs a Python function of the loading process{token}"),
            );
        } else if CHECKPOINT_OPS.contains(&op_s) {
            let saver = match place {
                Place::Graph(Some(scope)) => name.starts_with(&format!("{scope}/")),
                Place::Graph(None) => false,
                Place::Function(f) => {
                    f.starts_with("__inference__traced_save")
                        || f.starts_with("__inference__traced_restore")
                }
            };
            if saver {
                self.checkpoint += 1;
            } else {
                self.issue(
                    Severity::Unknown,
                    "tf.file-op",
                    &op,
                    format!("{at} is {op} outside the saver: it reads or writes a checkpoint at a path the graph chooses"),
                );
            }
        } else if FILE_OPS.contains(&op_s) {
            let detail = match (op_s, attr("memory_region_name")) {
                ("ImmutableConst", Some(p)) => format!(" (maps {p:?})"),
                _ => String::new(),
            };
            self.issue(
                Severity::Unknown,
                "tf.file-op",
                &op,
                format!("{at} is {op}: it reads or writes files or reaches the network{detail}"),
            );
        } else if op_s == "PrintV2" {
            if let Some(stream) = attr("output_stream").filter(|s| s.starts_with("file://")) {
                self.issue(
                    Severity::Unknown,
                    "tf.file-op",
                    &op,
                    format!("{at} is PrintV2 writing to {stream:?}"),
                );
            }
        } else if op_s == "DecodeProtoV2" {
            if let Some(src) = attr("descriptor_source").filter(|s| *s != "local://") {
                self.issue(
                    Severity::Unknown,
                    "tf.file-op",
                    &op,
                    format!("{at} is DecodeProtoV2 reading descriptors from {src:?}"),
                );
            }
        }
        Ok(())
    }

    fn issue(&mut self, severity: Severity, rule: &'static str, op: &str, message: String) {
        self.issues.push(Issue {
            severity,
            rule,
            global: Some(format!("tf.raw_ops.{op}")),
            message,
        });
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::protobuf::enc::{bytes as b, msg, uint};
    use super::*;

    pub(crate) fn node(name: &str, op: &str, attrs: &[(&str, &str)]) -> Vec<u8> {
        let mut parts = vec![b(1, name.as_bytes()), b(2, op.as_bytes()), b(3, b"x:0")];
        for (k, v) in attrs {
            let value = msg(&[b(2, v.as_bytes())]);
            parts.push(b(5, &msg(&[b(1, k.as_bytes()), b(2, &value)])));
        }
        msg(&parts)
    }

    pub(crate) fn function(name: &str, nodes: &[Vec<u8>]) -> Vec<u8> {
        let mut parts = vec![b(1, &msg(&[b(1, name.as_bytes())]))];
        parts.extend(nodes.iter().map(|n| b(3, n)));
        msg(&parts)
    }

    pub(crate) fn graph_def(nodes: &[Vec<u8>], functions: &[Vec<u8>]) -> Vec<u8> {
        let mut parts: Vec<_> = nodes.iter().map(|n| b(1, n)).collect();
        if !functions.is_empty() {
            let lib: Vec<_> = functions.iter().map(|f| b(1, f)).collect();
            parts.push(b(2, &msg(&lib)));
        }
        parts.push(b(4, &msg(&[uint(1, 1087)])));
        msg(&parts)
    }

    /// A SavedModel as TensorFlow writes one: schema version 1, one meta graph with meta
    /// info, the graph and a saver whose scope is `save`.
    pub(crate) fn saved_model(graph: &[u8]) -> Vec<u8> {
        let meta = msg(&[
            b(1, &msg(&[b(4, b"serve")])),
            b(2, graph),
            b(3, &msg(&[b(1, b"save/Const:0"), b(2, b"save/Identity:0")])),
        ]);
        msg(&[uint(1, 1), b(2, &meta)])
    }

    fn tf2_benign() -> Vec<u8> {
        graph_def(
            &[
                node("x", "Placeholder", &[("dtype", "")]),
                node("saver_filename", "Placeholder", &[]),
                node("StatefulPartitionedCall", "StatefulPartitionedCall", &[]),
                node("save/SaveV2", "SaveV2", &[]),
                node("save/RestoreV2", "RestoreV2", &[]),
                node("PrintV2", "PrintV2", &[("output_stream", "stderr")]),
            ],
            &[
                function("__inference_serve_42", &[node("MatMul", "MatMul", &[])]),
                function(
                    "__inference__traced_save_77",
                    &[
                        node("SaveV2", "SaveV2", &[]),
                        node("MergeV2Checkpoints", "MergeV2Checkpoints", &[]),
                    ],
                ),
                function(
                    "__inference__traced_restore_78",
                    &[node("RestoreV2", "RestoreV2", &[])],
                ),
            ],
        )
    }

    fn rules(d: &[u8], kind: &str) -> Vec<(&'static str, Severity)> {
        check(d, kind)
            .iter()
            .map(|i| (i.rule, i.severity))
            .collect()
    }

    #[test]
    fn benign_saved_model_and_graph_def() {
        let d = saved_model(&tf2_benign());
        assert_eq!(sniff(&d), Some("tf-savedmodel"));
        let i = check(&d, "tf-savedmodel");
        assert_eq!(
            rules(&d, "tf-savedmodel"),
            vec![("tf.checked", Severity::Info)]
        );
        assert!(
            i[0].message
                .contains("1 meta graphs, 10 nodes, 3 library functions; 5 checkpoint"),
            "{i:?}"
        );
        let g = tf2_benign();
        assert_eq!(sniff(&g), Some("tf-graphdef"));
        // Without a saver, the graph's own SaveV2/RestoreV2 are not the saver's.
        assert_eq!(
            rules(&g, "tf-graphdef"),
            vec![
                ("tf.file-op", Severity::Unknown),
                ("tf.file-op", Severity::Unknown),
                ("tf.checked", Severity::Info)
            ]
        );
    }

    #[test]
    fn python_and_file_ops_anywhere() {
        let evil = graph_def(
            &[
                node("py", "PyFunc", &[("token", "pyfunc_0")]),
                node("w", "WriteFile", &[]),
                node(
                    "m",
                    "ImmutableConst",
                    &[("memory_region_name", "/etc/passwd")],
                ),
                node("p", "PrintV2", &[("output_stream", "file:///tmp/x")]),
                node("s", "SaveV2", &[]),
            ],
            &[function(
                "__inference_f_1",
                &[node("e", "EagerPyFunc", &[]), node("r", "ReadFile", &[])],
            )],
        );
        let d = saved_model(&evil);
        let i = check(&d, "tf-savedmodel");
        let r: Vec<_> = i
            .iter()
            .map(|i| (i.severity, i.global.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            r,
            vec![
                (Severity::Dangerous, "tf.raw_ops.PyFunc".into()),
                (Severity::Unknown, "tf.raw_ops.WriteFile".into()),
                (Severity::Unknown, "tf.raw_ops.ImmutableConst".into()),
                (Severity::Unknown, "tf.raw_ops.PrintV2".into()),
                (Severity::Unknown, "tf.raw_ops.SaveV2".into()),
                (Severity::Dangerous, "tf.raw_ops.EagerPyFunc".into()),
                (Severity::Unknown, "tf.raw_ops.ReadFile".into()),
                (Severity::Info, String::new()),
            ]
        );
        assert!(i[0].message.contains("pyfunc_0"));
        assert!(i[2].message.contains("/etc/passwd"));
        assert!(i[5].message.contains("__inference_f_1"));
    }

    #[test]
    fn keras_metadata_in_the_object_graph_and_in_keras_metadata_pb() {
        let lambda = br#"{"class_name": "Lambda", "name": "lam", "config": {"name": "lam", "function": ["4wEAAA==", null, null], "function_type": "lambda"}}"#;
        let dense = br#"{"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 2, "x": NaN}}"#;
        let user = |meta: &[u8]| b(4, &msg(&[b(1, b"_tf_keras_layer"), b(3, meta)]));
        let objects = msg(&[b(1, &user(dense)), b(1, &b(6, b"")), b(1, &user(lambda))]);
        let saver = msg(&[b(1, b"save/Const:0")]);
        let meta = msg(&[b(2, &tf2_benign()), b(3, &saver), b(7, &objects)]);
        let d = msg(&[uint(1, 1), b(2, &meta)]);
        assert_eq!(sniff(&d), Some("tf-savedmodel"));
        let i = check(&d, "tf-savedmodel");
        assert_eq!(i[0].rule, "keras.lambda");
        assert!(i[0].message.starts_with("object 2: "), "{i:?}");
        assert_eq!(i.len(), 2);
        // keras_metadata.pb
        let node = |id: u64, path: &str, meta: &[u8]| {
            let mut parts = vec![b(3, path.as_bytes()), b(4, b"_tf_keras_layer"), b(5, meta)];
            if id > 0 {
                parts.insert(0, uint(2, id));
            }
            b(1, &msg(&parts))
        };
        let km = msg(&[node(0, "root", dense), node(1, "root.lam", lambda)]);
        assert!(is_keras_metadata(&km));
        assert!(!is_graph_def(&km) && !is_saved_model(&km));
        let r: Vec<_> = keras_metadata(&km)
            .iter()
            .map(|i| (i.rule, i.severity))
            .collect();
        assert_eq!(
            r,
            vec![
                ("keras.lambda", Severity::Dangerous),
                ("keras.checked", Severity::Info)
            ]
        );
        let cut = &km[..km.len() - 5];
        assert!(is_keras_metadata(cut));
        assert_eq!(
            keras_metadata(cut).last().unwrap().severity,
            Severity::Unknown
        );
        let bad = msg(&[node(0, "root", b"{not json")]);
        assert_eq!(keras_metadata(&bad)[0].rule, "keras.config-unreadable");
        assert!(!is_keras_metadata(&msg(&[b(1, &msg(&[b(4, b"other")]))])));
    }

    #[test]
    fn truncated_and_hostile_are_unknown_and_other_messages_are_not_taken() {
        let d = saved_model(&graph_def(&[node("py", "PyFunc", &[])], &[]));
        for cut in 4..d.len() {
            assert_eq!(sniff(&d[..cut]), Some("tf-savedmodel"), "cut at {cut}");
            let r = rules(&d[..cut], "tf-savedmodel");
            assert!(
                r.iter().any(|(_, s)| *s != Severity::Info),
                "cut at {cut}: {r:?}"
            );
        }
        // A node given as a varint, a huge length.
        let bad = saved_model(&msg(&[uint(1, 5)]));
        assert_eq!(
            rules(&bad, "tf-savedmodel"),
            vec![("tf.malformed", Severity::Unknown)]
        );
        let mut huge = b"\x08\x01\x12\xff\xff\xff\xff\x0f".to_vec();
        huge.extend([0u8; 16]);
        assert_eq!(sniff(&huge), Some("tf-savedmodel"));
        assert_eq!(
            rules(&huge, "tf-savedmodel"),
            vec![("tf.malformed", Severity::Unknown)]
        );
        // Not TensorFlow: text, ONNX-like messages, a node whose op is not a name.
        for other in [
            &b"\n\nhello world"[..],
            b"\x12\x03abc",
            &msg(&[uint(1, 9), b(2, b"x"), b(7, b"")]),
            &msg(&[b(1, &msg(&[b(1, b"n"), b(2, b"not an op!")]))]),
            &msg(&[b(1, &msg(&[b(1, b"n")]))]),
        ] {
            assert_eq!(sniff(other), None, "{other:?}");
        }
    }
}
