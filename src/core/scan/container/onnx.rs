//! ONNX models: a protobuf `ModelProto` (onnx/onnx.proto), read with the wire reader of
//! `protobuf`, never built in memory: tensor data (`raw_data`, up to 2 GB inline) is
//! stepped over by its length.
//!
//! What is read: `ModelProto.graph` (7), `functions` (25, their `node` 7 and
//! `attribute_proto` 11), `training_info` (20: `initialization` 1 and `algorithm` 2
//! graphs); in a `GraphProto` the nodes (1), initializers (5) and sparse initializers (15:
//! `values` 1, `indices` 2); in a `NodeProto` `op_type` (4), `domain` (7) and attributes
//! (5), whose tensors (`t` 5, `tensors` 10, `sparse_tensor` 22, `sparse_tensors` 23) and
//! subgraphs (`g` 6, `graphs` 11: the bodies of `If`, `Loop`, `Scan`) are followed, at most
//! `protobuf::MAX_DEPTH` graphs deep; in a `TensorProto` its `name` (8), `external_data`
//! (13, `StringStringEntryProto` key 1, value 2) and `data_location` (14).
//!
//! Findings:
//! * `onnx.external-data`, `Dangerous`: a tensor whose external data `location` is
//!   absolute (`/etc/passwd`, `\\server\share`, `C:\...`) or climbs out of the model's
//!   folder (`..`): `onnx.load` reads that file into the model (and `save` with external
//!   data writes there); older onnx releases did not refuse such paths (CVE-2024-27318,
//!   CVE-2024-5187). `Unknown` for a location that is empty, not UTF-8, or uses `:` or a
//!   leading `~` (alternate data streams, URL schemes, tools that expand `~`). A location
//!   that stays inside the folder is fine; a symbolic link in the folder that leads out of
//!   it is reported by the folder walk (`container.link-outside`).
//! * `onnx.custom-domain`, `Unknown`, the domain named: operators outside the standard
//!   domains (`""`/`ai.onnx`, `ai.onnx.ml`, `ai.onnx.training`, `ai.onnx.preview.training`)
//!   and onnxruntime's built-in contrib domains (`com.microsoft`, `com.microsoft.nchwc`,
//!   `com.microsoft.experimental`, compiled into the runtime, loading no code). A custom
//!   operator runs whatever the custom-op library registered for it does; the model cannot
//!   load such a library itself (the user registers it), so this is `Unknown`, not
//!   `Dangerous`. Nodes that call a function defined in the model itself (`functions`) are
//!   not custom operators.
//! * `onnx.malformed`, `Unknown`: a message that cannot be read (truncated, bad wire
//!   data, nesting past the limit).
//! * `onnx.checked`, `Info`: what was read.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::keras::Issue;
use super::protobuf::{self, fields, Value};
use crate::core::scan::Severity;

const STANDARD_DOMAINS: &[&str] = &[
    "",
    "ai.onnx",
    "ai.onnx.ml",
    "ai.onnx.training",
    "ai.onnx.preview.training",
    "com.microsoft",
    "com.microsoft.nchwc",
    "com.microsoft.experimental",
];
/// Operator names listed per custom domain.
const MAX_OPS_LISTED: usize = 5;
/// Highest `ir_version` the sniffer accepts (12 in 2025; room for growth).
const MAX_IR_VERSION: u64 = 64;

/// Field numbers of `ModelProto` and their wire types (0 varint, 2 length-delimited).
const MODEL_FIELDS: &[(u32, u8)] = &[
    (1, 0),
    (2, 2),
    (3, 2),
    (4, 2),
    (5, 0),
    (6, 2),
    (7, 2),
    (8, 2),
    (14, 2),
    (20, 2),
    (25, 2),
    (26, 2),
];

/// Whether `d`, the first bytes of content `len` bytes long, is an ONNX `ModelProto`: it
/// starts with `ir_version` (field 1, as every writer orders fields by number), every
/// top-level field known to `ModelProto` has its wire type, the message reads to its end
/// (or to the end of a prefix) and it has a graph or functions. Other protobuf messages
/// (a TensorFlow SavedModel has fields 1 and 2 only) and text fail this. A message cut
/// inside its graph or functions (the prefix of a compressed member, a truncated file)
/// still counts, so that the checker reports the truncation.
pub(crate) fn is_onnx(d: &[u8]) -> bool {
    if d.first() != Some(&0x08) {
        return false;
    }
    let mut it = fields(d);
    let mut first = true;
    let mut body = false;
    loop {
        let at = it.pos();
        match it.next() {
            None => return body,
            Some(Ok((n, v))) => {
                if first {
                    match v.varint() {
                        Some(ir) if n == 1 && (1..=MAX_IR_VERSION).contains(&ir) => {}
                        _ => return false,
                    }
                    first = false;
                }
                if let Some((_, wt)) = MODEL_FIELDS.iter().find(|(f, _)| *f == n) {
                    if *wt != v.wire_type() {
                        return false;
                    }
                }
                body |= n == 7 || n == 25;
            }
            // Cut inside the graph or a function (a prefix, or a truncated file, which
            // the checker then reports): still a model.
            Some(Err(_)) => {
                return !first
                    && matches!(fields(&d[at..]).next(), Some(Err(_)))
                    && matches!(d.get(at), Some(&0x3a) | Some(&0xca))
            }
        }
    }
}

/// What an ONNX model holds that is worth a finding.
pub(crate) fn check(d: &[u8]) -> Vec<Issue> {
    let mut w = Walk::default();
    let mut ir = None;
    let mut producer = String::new();
    let result = (|| -> Result<(), String> {
        // Functions defined in the model first: nodes may call them before they appear.
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("model: {e}"))?;
            if n == 25 {
                let (name, domain) = function_id(bytes(v)?)?;
                w.local.insert((domain, name));
            }
        }
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("model: {e}"))?;
            match n {
                1 => ir = v.varint(),
                2 => producer = String::from_utf8_lossy(bytes(v)?).into_owned(),
                7 => w.graph(bytes(v)?, 0)?,
                20 => {
                    for f in fields(bytes(v)?) {
                        let (n, v) = f.map_err(|e| format!("training info: {e}"))?;
                        if n == 1 || n == 2 {
                            w.graph(bytes(v)?, 0)?;
                        }
                    }
                }
                25 => w.function(bytes(v)?)?,
                _ => {}
            }
        }
        Ok(())
    })();
    let result = result.and_then(|()| {
        if w.graphs == 0 && w.functions == 0 {
            Err("no graph and no functions".to_string())
        } else {
            Ok(())
        }
    });
    let mut out = w.issues;
    for (domain, (count, ops)) in &w.custom {
        let listed: Vec<_> = ops
            .iter()
            .take(MAX_OPS_LISTED)
            .map(String::as_str)
            .collect();
        out.push(Issue {
            severity: Severity::Unknown,
            rule: "onnx.custom-domain",
            global: Some(domain.clone()),
            message: format!(
                "{count} nodes of custom operator domain {domain:?} ({}{}): they run whatever code the custom-op library registered for them does, which is not checked here",
                listed.join(", "),
                if ops.len() > MAX_OPS_LISTED { ", ..." } else { "" }
            ),
        });
    }
    match result {
        Ok(()) => out.push(Issue {
            severity: Severity::Info,
            rule: "onnx.checked",
            global: None,
            message: format!(
                "ONNX model (IR version {}, producer {producer:?}): {} nodes, {} tensors ({} with external data)",
                ir.map_or("?".into(), |v| v.to_string()),
                w.nodes,
                w.tensors,
                w.external
            ),
        }),
        Err(why) => out.push(Issue {
            severity: Severity::Unknown,
            rule: "onnx.malformed",
            global: None,
            message: format!(
                "ONNX model that cannot be read ({why}): what follows is not checked, so it is not safe to load"
            ),
        }),
    }
    out
}

fn bytes(v: Value<'_>) -> Result<&[u8], String> {
    v.bytes().ok_or_else(|| {
        format!(
            "a field that should be a message has wire type {}",
            v.wire_type()
        )
    })
}

fn text(v: Value<'_>) -> Result<String, String> {
    Ok(String::from_utf8_lossy(bytes(v)?).into_owned())
}

/// `FunctionProto`: name (1), domain (10).
fn function_id(d: &[u8]) -> Result<(String, String), String> {
    let (mut name, mut domain) = (String::new(), String::new());
    for f in fields(d) {
        let (n, v) = f.map_err(|e| format!("function: {e}"))?;
        match n {
            1 => name = text(v)?,
            10 => domain = text(v)?,
            _ => {}
        }
    }
    Ok((name, domain))
}

#[derive(Default)]
struct Walk {
    issues: Vec<Issue>,
    /// Functions the model defines: (domain, name).
    local: HashSet<(String, String)>,
    /// Custom domain -> (nodes, operator names).
    custom: BTreeMap<String, (u64, BTreeSet<String>)>,
    nodes: u64,
    tensors: u64,
    external: u64,
    graphs: u64,
    functions: u64,
}

impl Walk {
    fn graph(&mut self, d: &[u8], depth: usize) -> Result<(), String> {
        if depth >= protobuf::MAX_DEPTH {
            return Err(format!(
                "subgraphs nested more than {} deep",
                protobuf::MAX_DEPTH
            ));
        }
        self.graphs += 1;
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("graph: {e}"))?;
            match n {
                1 => self.node(bytes(v)?, depth)?,
                5 => self.tensor(bytes(v)?)?,
                15 => self.sparse(bytes(v)?)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn function(&mut self, d: &[u8]) -> Result<(), String> {
        self.functions += 1;
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("function: {e}"))?;
            match n {
                7 => self.node(bytes(v)?, 0)?,
                11 => self.attribute(bytes(v)?, 0)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn node(&mut self, d: &[u8], depth: usize) -> Result<(), String> {
        self.nodes += 1;
        let (mut op, mut domain) = (String::new(), String::new());
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("node: {e}"))?;
            match n {
                4 => op = text(v)?,
                7 => domain = text(v)?,
                5 => self.attribute(bytes(v)?, depth)?,
                _ => {}
            }
        }
        if !STANDARD_DOMAINS.contains(&domain.as_str())
            && !self.local.contains(&(domain.clone(), op.clone()))
        {
            let e = self.custom.entry(domain).or_default();
            e.0 += 1;
            e.1.insert(op);
        }
        Ok(())
    }

    fn attribute(&mut self, d: &[u8], depth: usize) -> Result<(), String> {
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("attribute: {e}"))?;
            match n {
                5 | 10 => self.tensor(bytes(v)?)?,
                22 | 23 => self.sparse(bytes(v)?)?,
                6 | 11 => self.graph(bytes(v)?, depth + 1)?,
                _ => {}
            }
        }
        Ok(())
    }

    fn sparse(&mut self, d: &[u8]) -> Result<(), String> {
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("sparse tensor: {e}"))?;
            if n == 1 || n == 2 {
                self.tensor(bytes(v)?)?;
            }
        }
        Ok(())
    }

    fn tensor(&mut self, d: &[u8]) -> Result<(), String> {
        self.tensors += 1;
        let mut name = String::new();
        let mut external = false;
        let mut locations = Vec::new();
        for f in fields(d) {
            let (n, v) = f.map_err(|e| format!("tensor: {e}"))?;
            match n {
                8 => name = text(v)?,
                14 => external = v.varint() == Some(1),
                13 => {
                    let (mut key, mut value) = (&b""[..], &b""[..]);
                    for f in fields(bytes(v)?) {
                        let (n, v) = f.map_err(|e| format!("external data entry: {e}"))?;
                        match n {
                            1 => key = bytes(v)?,
                            2 => value = bytes(v)?,
                            _ => {}
                        }
                    }
                    if key == b"location" {
                        locations.push(value);
                    }
                }
                _ => {}
            }
        }
        if external {
            self.external += 1;
            if locations.is_empty() {
                self.issues.push(Issue {
                    severity: Severity::Unknown,
                    rule: "onnx.external-data",
                    global: None,
                    message: format!(
                        "tensor {name:?} keeps its data outside the model but names no location"
                    ),
                });
            }
        }
        // A location is checked even without `data_location = EXTERNAL`: loaders differ.
        for loc in locations {
            if let Some((severity, why)) = location_problem(loc) {
                self.issues.push(Issue {
                    severity,
                    rule: "onnx.external-data",
                    global: None,
                    message: format!(
                        "tensor {name:?} reads its data from {:?}, {why}",
                        String::from_utf8_lossy(loc)
                    ),
                });
            }
        }
        Ok(())
    }
}

/// What is wrong with an external-data location, if anything.
pub(crate) fn location_problem(loc: &[u8]) -> Option<(Severity, &'static str)> {
    const OUTSIDE: &str =
        "a path outside the model's folder: loading the model reads that file into it";
    let Ok(s) = std::str::from_utf8(loc) else {
        return Some((Severity::Unknown, "a path that is not UTF-8"));
    };
    if s.is_empty() {
        return Some((Severity::Unknown, "an empty path"));
    }
    if s.starts_with('/') || s.starts_with('\\') {
        return Some((Severity::Dangerous, OUTSIDE));
    }
    let b = s.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Some((Severity::Dangerous, OUTSIDE));
    }
    // `..`, and `...` or `.. ` that Windows trims to it.
    if s.split(['/', '\\'])
        .any(|c| c.len() >= 2 && c.trim_end_matches([' ', '.']).is_empty())
    {
        return Some((Severity::Dangerous, OUTSIDE));
    }
    if s.contains(':') || s.starts_with('~') || s.chars().any(char::is_control) {
        return Some((
            Severity::Unknown,
            "a path with ':', a leading '~' or control characters, which loaders read differently",
        ));
    }
    None
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::protobuf::enc::{bytes as b, msg, uint};
    use super::*;

    pub(crate) fn tensor(name: &str, location: Option<&str>) -> Vec<u8> {
        let mut parts = vec![uint(1, 4), uint(2, 1), b(8, name.as_bytes())];
        if let Some(loc) = location {
            parts.push(b(13, &msg(&[b(1, b"location"), b(2, loc.as_bytes())])));
            parts.push(b(13, &msg(&[b(1, b"offset"), b(2, b"0")])));
            parts.push(uint(14, 1));
        } else {
            parts.push(b(9, &[0u8; 16]));
        }
        msg(&parts)
    }

    pub(crate) fn node(op: &str, domain: &str, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut parts = vec![b(1, b"x"), b(2, b"y"), b(4, op.as_bytes())];
        if !domain.is_empty() {
            parts.push(b(7, domain.as_bytes()));
        }
        for a in attrs {
            parts.push(b(5, a));
        }
        msg(&parts)
    }

    pub(crate) fn graph(nodes: &[Vec<u8>], inits: &[Vec<u8>]) -> Vec<u8> {
        let mut parts: Vec<_> = nodes.iter().map(|n| b(1, n)).collect();
        parts.push(b(2, b"g"));
        parts.extend(inits.iter().map(|t| b(5, t)));
        msg(&parts)
    }

    /// A ModelProto as onnx writes it (fields in number order).
    pub(crate) fn model(graph: &[u8], functions: &[Vec<u8>]) -> Vec<u8> {
        let mut parts = vec![uint(1, 9), b(2, b"test"), b(7, graph)];
        parts.push(b(8, &msg(&[b(1, b""), uint(2, 17)])));
        parts.extend(functions.iter().map(|f| b(25, f)));
        msg(&parts)
    }

    fn rules(d: &[u8]) -> Vec<(&'static str, Severity)> {
        check(d).iter().map(|i| (i.rule, i.severity)).collect()
    }

    #[test]
    fn benign_model() {
        let d = model(
            &graph(
                &[
                    node("Relu", "", &[]),
                    node("LinearClassifier", "ai.onnx.ml", &[]),
                ],
                &[tensor("w", None), tensor("b", Some("weights/b.bin"))],
            ),
            &[],
        );
        assert!(is_onnx(&d));
        let i = check(&d);
        assert_eq!(rules(&d), vec![("onnx.checked", Severity::Info)]);
        assert!(i[0]
            .message
            .contains("2 nodes, 2 tensors (1 with external data)"));
        // A prefix cut inside the graph is still taken for ONNX (a compressed member).
        assert!(is_onnx(&d[..20]));
        assert!(!is_onnx(&d[..7]));
    }

    #[test]
    fn external_data_leaving_the_folder_is_dangerous() {
        for (loc, sev) in [
            ("/etc/passwd", Severity::Dangerous),
            ("../../home/u/.ssh/id_rsa", Severity::Dangerous),
            ("data/../../x", Severity::Dangerous),
            ("data\\..\\..\\x", Severity::Dangerous),
            ("C:\\Windows\\win.ini", Severity::Dangerous),
            ("c:x", Severity::Dangerous),
            ("\\\\server\\share\\x", Severity::Dangerous),
            ("", Severity::Unknown),
            ("~/x", Severity::Unknown),
            ("w.bin:stream", Severity::Unknown),
            ("w\n.bin", Severity::Unknown),
        ] {
            // In an If branch inside a Loop body, to check the recursion.
            let inner = graph(&[node("Identity", "", &[])], &[tensor("secret", Some(loc))]);
            let if_node = node("If", "", &[msg(&[b(1, b"then_branch"), b(6, &inner)])]);
            let body = graph(&[if_node], &[]);
            let loop_node = node("Loop", "", &[msg(&[b(1, b"body"), b(11, &body)])]);
            let d = model(&graph(&[loop_node], &[]), &[]);
            let i = check(&d);
            assert_eq!(i[0].rule, "onnx.external-data", "{loc}");
            assert_eq!(i[0].severity, sev, "{loc}: {i:?}");
            assert!(i[0].message.contains("secret"));
        }
        assert_eq!(location_problem(b"weights.bin"), None);
        assert_eq!(location_problem(b"sub/dir/w..bin"), None);
    }

    #[test]
    fn custom_domains_are_unknown_unless_defined_in_the_model() {
        let f = msg(&[
            b(1, b"MyGelu"),
            b(7, &node("Erf", "", &[])),
            b(10, b"local.fn"),
        ]);
        let d = model(
            &graph(
                &[
                    node("Inverse", "com.microsoft", &[]),
                    node("MyGelu", "local.fn", &[]),
                    node("Evil", "my.ops", &[]),
                    node("Other", "my.ops", &[]),
                    node("X", "ai.onnx.contrib", &[]),
                ],
                &[],
            ),
            &[f],
        );
        let i = check(&d);
        let r: Vec<_> = i.iter().map(|i| (i.rule, i.global.clone())).collect();
        assert_eq!(
            r,
            vec![
                ("onnx.custom-domain", Some("ai.onnx.contrib".into())),
                ("onnx.custom-domain", Some("my.ops".into())),
                ("onnx.checked", None),
            ]
        );
        assert!(i[1].message.contains("2 nodes") && i[1].message.contains("Evil, Other"));
        assert!(i[2].message.contains("6 nodes"));
    }

    #[test]
    fn truncated_hostile_and_deep_models_are_unknown() {
        let d = model(
            &graph(
                &[node("Relu", "", &[])],
                &[tensor("w", Some("/etc/passwd"))],
            ),
            &[],
        );
        for cut in 1..d.len() {
            let r = rules(&d[..cut]);
            assert!(
                r.iter().any(|(_, s)| *s != Severity::Info),
                "cut at {cut}: {r:?}"
            );
        }
        // Subgraphs nested past the limit: an error, not a stack overflow.
        let mut g = graph(&[node("Relu", "", &[])], &[]);
        for _ in 0..200 {
            g = graph(&[node("If", "", &[msg(&[b(6, &g)])])], &[]);
        }
        let r = rules(&model(&g, &[]));
        assert_eq!(r, vec![("onnx.malformed", Severity::Unknown)]);
        // A node that is a varint where a message should be.
        let bad = model(&msg(&[uint(1, 5)]), &[]);
        assert_eq!(rules(&bad), vec![("onnx.malformed", Severity::Unknown)]);
        // Not ONNX: text, a SavedModel-like message, a wrong first field.
        assert!(!is_onnx(b"\x08hello"));
        assert!(!is_onnx(&msg(&[uint(1, 1), b(2, b"abc")])));
        assert!(!is_onnx(&msg(&[b(7, b""), uint(1, 9)])));
        assert!(!is_onnx(&msg(&[uint(1, 9), uint(7, 1)])));
    }
}
