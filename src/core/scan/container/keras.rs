//! Keras model configurations: `config.json` inside a `.keras` archive, a JSON file from
//! `model.to_json()`, or the `model_config` attribute of a legacy HDF5 (`.h5`) model.
//!
//! * A `Lambda` layer stores a Python function as marshalled bytecode (Keras 2 and
//!   `tf.keras`) that runs when the model loads (Keras 3 refuses it only in `safe_mode`), and
//!   a `__lambda__` object (Keras 3's serialised lambda, also usable as an activation or any
//!   other callable argument) does the same: `Dangerous`, at any nesting.
//! * `TFOpLambda` (`tf.keras` functional models) calls a TensorFlow API function named in
//!   its config, not bytecode: fine for math ops, but the names that reach files, the
//!   process or arbitrary Python (`io.*`, `py_function`, `numpy_function`, `raw_ops.*`,
//!   `debugging.*`, `print`, `compat.v1.py_func`) are `Unknown`.
//! * An object whose `module` is outside `keras`, `tensorflow` and `tf_keras` makes Keras
//!   import that module (custom layers, losses, functions): `Unknown`; a module that is
//!   itself a way to run code (`os`, `subprocess`, `builtins`, ...) is `Dangerous`.
//! * A module under `keras` or `tensorflow` is not trusted wholesale: the object named is
//!   `module.class_name`, or `module.config` for a function reference (`"class_name":
//!   "function"`, Keras 3). Functions that turn safe mode off
//!   (`keras.config.enable_unsafe_deserialization`, CVE-2025-1550 style), run Python
//!   (`py_function`, `numpy_function`, `py_func`) or download and write files
//!   (`keras.utils.get_file`, whose URL and target path the configuration chooses;
//!   CVE-2025-8747) are `Dangerous`; names from modules that read or write files or load
//!   models (`utils`, `saving`, `io`, `gfile`, `file_io`, `load_model`, ...) are
//!   `Unknown` (`keras.risky-function`); so is a function reference from Keras or
//!   TensorFlow outside the modules of math, activations, losses, metrics, initialisers,
//!   regularisers, constraints and layers.
//! * Layers that read files or load other models: `TFSMLayer` (loads the SavedModel at
//!   its `filepath`), `StringLookup`, `IntegerLookup` and `TextVectorization` whose
//!   `vocabulary` (or `idf_weights`) is a string, a path: `Unknown` (`keras.file-layer`),
//!   the path named. `TorchModuleWrapper` keeps a whole `torch.save` of its module in its
//!   configuration (base64) and `torch.load`s it with `weights_only=False`: `Unknown`
//!   (`keras.torch-module`), and the decoded bytes are handed back to the container layer
//!   (`embedded`) to be scanned like a file, so a pickle that runs code is `Dangerous`.
//! * `"function_type": "lambda"` (Keras 2's marker of marshalled bytecode) in the config
//!   of any class, not only a `Lambda`: `Dangerous`.
//!
//! JSON is read as Python's `json` reads it: `NaN`, `Infinity` and `-Infinity` outside
//! strings are accepted (`parse_json`).

use serde_json::Value;

use crate::core::scan::Severity;

/// What a configuration holds that is worth a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Issue {
    pub severity: Severity,
    pub rule: &'static str,
    pub global: Option<String>,
    pub message: String,
}

const TRUSTED: &[&str] = &["keras", "tensorflow", "tf_keras"];
const CODE_MODULES: &[&str] = &[
    "os",
    "posix",
    "nt",
    "subprocess",
    "builtins",
    "__builtin__",
    "sys",
    "shutil",
    "socket",
    "importlib",
    "runpy",
    "pickle",
    "marshal",
    "ctypes",
    "code",
    "pty",
    "webbrowser",
    "types",
    "operator",
    "functools",
    "pathlib",
    "io",
    "commands",
    "multiprocessing",
    "dill",
    "joblib",
];
/// Functions of Keras or TensorFlow that turn safe mode off, run Python or fetch and write
/// files where the configuration says.
const DANGEROUS_FUNCTIONS: &[&str] = &[
    "enable_unsafe_deserialization",
    "get_file",
    "py_function",
    "numpy_function",
    "py_func",
    "eager_py_func",
];
/// Module path segments and names of Keras and TensorFlow that read or write files or load
/// models.
const RISKY_SEGMENTS: &[&str] = &[
    "utils",
    "saving",
    "io",
    "gfile",
    "file_io",
    "file_utils",
    "data_utils",
    "script_ops",
    "config",
    "platform",
    "saved_model",
    "export",
    "debugging",
    "summary",
    "load_model",
    "load_weights",
    "load",
    "read_file",
    "write_file",
];
/// Module path segments where Keras and TensorFlow keep plain functions a configuration
/// names (activations, losses, ...).
const FUNCTION_SEGMENTS: &[&str] = &[
    "activations",
    "losses",
    "metrics",
    "initializers",
    "regularizers",
    "constraints",
    "layers",
    "ops",
    "math",
    "nn",
    "numpy",
    "random",
    "optimizers",
    "schedules",
];
const LOOKUP_LAYERS: &[&str] = &["StringLookup", "IntegerLookup", "TextVectorization"];
const RISKY_TF_OPS: &[&str] = &[
    "io.",
    "py_function",
    "numpy_function",
    "raw_ops.",
    "debugging.",
    "print",
    "compat.v1.py_func",
    "compat.v1.io.",
    "compat.v1.gfile",
    "compat.v1.write_file",
    "compat.v1.read_file",
];

/// Whether `v` is a Keras model configuration (an object with `class_name` and `config`).
pub(crate) fn is_config(v: &Value) -> bool {
    v.get("class_name").is_some_and(Value::is_string) && v.get("config").is_some()
}

/// The issues of a configuration, depth first, in document order.
pub(crate) fn check(v: &Value) -> Vec<Issue> {
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

fn root(module: &str) -> &str {
    module.split('.').next().unwrap_or(module)
}

fn walk(v: &Value, out: &mut Vec<Issue>) {
    match v {
        Value::Object(m) => {
            if let Some(class) = m.get("class_name").and_then(Value::as_str) {
                let name = m
                    .get("config")
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                match class {
                    "Lambda" => out.push(Issue {
                        severity: Severity::Dangerous,
                        rule: "keras.lambda",
                        global: None,
                        message: format!(
                            "Lambda layer {name:?}: {} runs when the model loads",
                            lambda_function(m.get("config"))
                        ),
                    }),
                    "__lambda__" => out.push(Issue {
                        severity: Severity::Dangerous,
                        rule: "keras.lambda",
                        global: None,
                        message: "a serialised Python lambda (marshalled bytecode) runs when the model loads".into(),
                    }),
                    "TFOpLambda" => {
                        let f = m
                            .get("config")
                            .and_then(|c| c.get("function"))
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        let f = f.strip_prefix("tf.").unwrap_or(f);
                        if f.is_empty() || RISKY_TF_OPS.iter().any(|r| f.starts_with(r)) {
                            out.push(Issue {
                                severity: Severity::Unknown,
                                rule: "keras.tf-op",
                                global: Some(format!("tf.{f}")),
                                message: format!(
                                    "TFOpLambda layer {name:?} calls tf.{f}, which can reach files, the process or Python"
                                ),
                            });
                        }
                    }
                    _ => {}
                }
                layer_issues(class, name, m.get("config"), out);
                if let Some(module) = m.get("module").and_then(Value::as_str) {
                    let r = root(module);
                    let function = class == "function";
                    let named = match m.get("config").and_then(Value::as_str) {
                        Some(f) if function => f,
                        _ => class,
                    };
                    let global = format!("{module}.{named}");
                    if CODE_MODULES.contains(&r) {
                        out.push(Issue {
                            severity: Severity::Dangerous,
                            rule: "keras.dangerous-module",
                            global: Some(global.clone()),
                            message: format!(
                                "object {global} comes from module {module}, which runs code"
                            ),
                        });
                    } else if !TRUSTED.contains(&r) {
                        out.push(Issue {
                            severity: Severity::Unknown,
                            rule: "keras.custom-object",
                            global: Some(global.clone()),
                            message: format!(
                                "custom object {global}: loading imports module {module}"
                            ),
                        });
                    } else if let Some(i) = trusted_issue(module, named, function) {
                        out.push(i);
                    }
                }
            }
            // Keras 2 marks marshalled bytecode with `function_type` in a layer's config;
            // a `Lambda` is reported above, any other class (a subclass) here.
            let class = m.get("class_name").and_then(Value::as_str);
            let function_type = m
                .get("config")
                .and_then(|c| c.get("function_type"))
                .and_then(Value::as_str);
            if class.is_some_and(|c| c != "Lambda") && function_type == Some("lambda") {
                out.push(Issue {
                    severity: Severity::Dangerous,
                    rule: "keras.lambda",
                    global: None,
                    message: format!("{} with \"function_type\": \"lambda\": its Python function (marshalled bytecode) runs when the model loads", class.unwrap_or("?")),
                });
            }
            for x in m.values() {
                walk(x, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                walk(x, out);
            }
        }
        _ => {}
    }
}

/// What a `Lambda` layer's config says it calls.
fn lambda_function(config: Option<&Value>) -> String {
    let get = |k: &str| config.and_then(|c| c.get(k));
    let bytecode = "its Python function (marshalled bytecode)".to_string();
    if get("function_type").and_then(Value::as_str) == Some("lambda") {
        return bytecode;
    }
    match get("function") {
        // Keras 2: a name, looked up in the module the config names (any imported module).
        Some(Value::String(f)) => {
            let module = get("module").and_then(Value::as_str).unwrap_or("?");
            format!("the function {f:?} of module {module:?} it names")
        }
        // Keras 3: a serialised function reference.
        Some(Value::Object(o))
            if o.get("class_name").and_then(Value::as_str) == Some("function") =>
        {
            let module = o.get("module").and_then(Value::as_str).unwrap_or("?");
            let f = o.get("config").and_then(Value::as_str).unwrap_or("?");
            format!("the function {module}.{f} it names")
        }
        _ => bytecode,
    }
}

/// Objects of Keras or TensorFlow modules that are not plain layers or math.
fn trusted_issue(module: &str, name: &str, function: bool) -> Option<Issue> {
    let global = format!("{module}.{name}");
    if DANGEROUS_FUNCTIONS.contains(&name) {
        return Some(Issue {
            severity: Severity::Dangerous,
            rule: "keras.risky-function",
            global: Some(global.clone()),
            message: format!(
                "{global}: loading calls it, and it turns safe mode off, runs Python, or downloads a URL and writes it where the configuration says"
            ),
        });
    }
    let segments = || module.split('.').chain(std::iter::once(name));
    if segments().any(|s| RISKY_SEGMENTS.contains(&s)) {
        return Some(Issue {
            severity: Severity::Unknown,
            rule: "keras.risky-function",
            global: Some(global.clone()),
            message: format!("{global}: from a part of Keras/TensorFlow that reads or writes files or loads models"),
        });
    }
    if function && !module.split('.').any(|s| FUNCTION_SEGMENTS.contains(&s)) {
        return Some(Issue {
            severity: Severity::Unknown,
            rule: "keras.risky-function",
            global: Some(global.clone()),
            message: format!(
                "function {global}: from Keras/TensorFlow, but outside the modules of math, activations, losses and layers"
            ),
        });
    }
    None
}

/// Layers that read files or load other models.
fn layer_issues(class: &str, name: &str, config: Option<&Value>, out: &mut Vec<Issue>) {
    let get = |k: &str| config.and_then(|c| c.get(k));
    let file = |what: String, out: &mut Vec<Issue>| {
        out.push(Issue {
            severity: Severity::Unknown,
            rule: "keras.file-layer",
            global: None,
            message: what,
        })
    };
    if class == "TFSMLayer" {
        let path = get("filepath").map_or("?".into(), |p| p.to_string());
        file(
            format!("TFSMLayer {name:?} loads the TensorFlow SavedModel at {path}, which is not scanned here"),
            out,
        );
    } else if LOOKUP_LAYERS.contains(&class) {
        for key in ["vocabulary", "idf_weights"] {
            if let Some(p) = get(key).and_then(Value::as_str) {
                file(
                    format!("{class} {name:?} reads its {key} from the file {p:?}"),
                    out,
                );
            }
        }
    } else if class == "TorchModuleWrapper" {
        out.push(Issue {
            severity: Severity::Unknown,
            rule: "keras.torch-module",
            global: None,
            message: format!(
                "TorchModuleWrapper {name:?}: loading runs torch.load(weights_only=False) on the pickled module in its configuration (scanned as an embedded file)"
            ),
        });
    }
}

/// Files kept inside a configuration, to be scanned like files: the `torch.save` bytes of
/// each `TorchModuleWrapper` (`(label, bytes)`; base64 in Keras 3, a `__bytes__` object
/// in releases before it). Undecodable content is an `Issue` instead.
pub(crate) fn embedded(v: &Value, out: &mut Vec<(String, Vec<u8>)>, issues: &mut Vec<Issue>) {
    use base64::Engine;
    match v {
        Value::Object(m) => {
            if m.get("class_name").and_then(Value::as_str) == Some("TorchModuleWrapper") {
                let config = m.get("config");
                let name = config
                    .and_then(|c| c.get("name"))
                    .and_then(Value::as_str)
                    .unwrap_or("?");
                let module = config.and_then(|c| c.get("module"));
                let bytes = match module {
                    Some(Value::String(b64)) => base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .ok(),
                    Some(Value::Object(o)) => o
                        .get("config")
                        .and_then(|c| c.get("value"))
                        .and_then(Value::as_str)
                        .map(|s| s.as_bytes().to_vec()),
                    _ => None,
                };
                match bytes {
                    Some(b) => out.push((format!("TorchModuleWrapper {name}: module"), b)),
                    None if module.is_some() => issues.push(Issue {
                        severity: Severity::Unknown,
                        rule: "keras.torch-module",
                        global: None,
                        message: format!(
                            "TorchModuleWrapper {name:?}: its module bytes cannot be decoded, so they are not scanned"
                        ),
                    }),
                    None => {}
                }
            }
            for x in m.values() {
                embedded(x, out, issues);
            }
        }
        Value::Array(a) => {
            for x in a {
                embedded(x, out, issues);
            }
        }
        _ => {}
    }
}

/// JSON as Python's `json` reads it: strict JSON, or else with `NaN`, `Infinity` and
/// `-Infinity` outside strings read as `null` (the numbers are of no interest here).
pub(crate) fn parse_json(d: &[u8]) -> Option<Value> {
    if let Ok(v) = serde_json::from_slice(d) {
        return Some(v);
    }
    let mut out = Vec::with_capacity(d.len());
    let mut i = 0;
    let mut in_str = false;
    let mut changed = false;
    while i < d.len() {
        let c = d[i];
        if in_str {
            out.push(c);
            if c == b'\\' {
                if let Some(&n) = d.get(i + 1) {
                    out.push(n);
                    i += 1;
                }
            } else if c == b'"' {
                in_str = false;
            }
            i += 1;
            continue;
        }
        let rest = &d[i..];
        let word = [&b"-Infinity"[..], b"Infinity", b"NaN"]
            .into_iter()
            .find(|w| rest.starts_with(w));
        match word {
            Some(w) => {
                out.extend_from_slice(b"null");
                i += w.len();
                changed = true;
            }
            None => {
                in_str = c == b'"';
                out.push(c);
                i += 1;
            }
        }
    }
    if !changed {
        return None;
    }
    serde_json::from_slice(&out).ok()
}

/// Keras configurations inside an HDF5 file: legacy `.h5` models keep `model_config` as a
/// JSON string attribute, stored uncompressed. Each `{"class_name"` is tried as the start
/// of a JSON value (at most `max` of them).
pub(crate) fn configs_in_hdf5(d: &[u8], max: usize) -> Vec<Value> {
    let mut found = Vec::new();
    let mut from = 0usize;
    let finder = memchr::memmem::Finder::new(b"{\"class_name\"");
    while found.len() < max {
        let Some(i) = finder.find(&d[from..]) else {
            break;
        };
        let at = from + i;
        let mut it = serde_json::Deserializer::from_slice(&d[at..]).into_iter::<Value>();
        match it.next() {
            Some(Ok(v)) if is_config(&v) => {
                from = at + it.byte_offset();
                found.push(v);
            }
            _ => from = at + 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lambdas_custom_objects_and_benign() {
        let benign = json!({"module": "keras", "class_name": "Sequential", "config": {"layers": [
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d", "activation": "relu"}}
        ]}});
        assert!(check(&benign).is_empty());
        let lambda = json!({"class_name": "Functional", "config": {"layers": [
            {"class_name": "Sequential", "config": {"layers": [
                {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "evil", "function": {"class_name": "__lambda__", "config": {"code": "4wEAAA=="}}}}
            ]}}
        ]}});
        let issues = check(&lambda);
        assert_eq!(issues.len(), 2);
        assert!(issues.iter().all(|i| i.severity == Severity::Dangerous));
        let custom = json!({"class_name": "Model", "config": {"layers": [
            {"module": "my_pkg.layers", "class_name": "Fancy", "config": {}},
            {"module": "os", "class_name": "function", "config": "system"},
            {"class_name": "TFOpLambda", "config": {"name": "w", "function": "io.write_file"}},
            {"class_name": "TFOpLambda", "config": {"name": "a", "function": "math.add"}}
        ]}});
        let sev: Vec<_> = check(&custom)
            .iter()
            .map(|i| (i.rule, i.severity))
            .collect();
        assert_eq!(
            sev,
            vec![
                ("keras.custom-object", Severity::Unknown),
                ("keras.dangerous-module", Severity::Dangerous),
                ("keras.tf-op", Severity::Unknown),
            ]
        );
    }

    fn found(v: &Value) -> Vec<(&'static str, Severity, Option<String>)> {
        check(v)
            .into_iter()
            .map(|i| (i.rule, i.severity, i.global))
            .collect()
    }

    #[test]
    fn lambda_messages_say_what_runs() {
        let k2 = json!({"class_name": "Lambda", "config": {"name": "n", "function": "system",
            "function_type": "function", "module": "os"}});
        let k3 = json!({"class_name": "Lambda", "config": {"name": "n", "function":
            {"module": "builtins", "class_name": "function", "config": "exec"}}});
        let i2 = check(&k2);
        assert_eq!(i2.len(), 1);
        assert!(
            i2[0].message.contains("\"system\" of module \"os\""),
            "{i2:?}"
        );
        let i3 = check(&k3);
        assert!(i3[0].message.contains("builtins.exec"), "{i3:?}");
        assert_eq!(i3[1].rule, "keras.dangerous-module");
        assert_eq!(i3[1].global.as_deref(), Some("builtins.exec"));
    }

    #[test]
    fn keras_and_tensorflow_modules_are_not_trusted_wholesale() {
        let f = |module: &str, name: &str| json!({"module": module, "class_name": "function", "config": name, "registered_name": name});
        let cfg = json!({"module": "keras", "class_name": "Functional", "config": {"layers": [
            {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d",
                "activation": f("keras.activations", "relu"),
                "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {}}}},
            {"module": "keras.layers", "class_name": "Activation", "config": {"name": "a",
                "activation": f("keras.utils", "get_file")}},
            {"module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization"},
            {"module": "keras.layers", "class_name": "Activation", "config": {"name": "b",
                "activation": f("tensorflow", "py_function")}},
            {"module": "keras.layers", "class_name": "Activation", "config": {"name": "c",
                "activation": f("keras.models", "load_model")}},
            {"module": "keras.layers", "class_name": "Activation", "config": {"name": "e",
                "activation": f("tensorflow.strings", "format")}}
        ]}});
        assert_eq!(
            found(&cfg),
            vec![
                (
                    "keras.risky-function",
                    Severity::Dangerous,
                    Some("keras.utils.get_file".into())
                ),
                (
                    "keras.risky-function",
                    Severity::Dangerous,
                    Some("keras.config.enable_unsafe_deserialization".into())
                ),
                (
                    "keras.risky-function",
                    Severity::Dangerous,
                    Some("tensorflow.py_function".into())
                ),
                (
                    "keras.risky-function",
                    Severity::Unknown,
                    Some("keras.models.load_model".into())
                ),
                (
                    "keras.risky-function",
                    Severity::Unknown,
                    Some("tensorflow.strings.format".into())
                ),
            ]
        );
    }

    #[test]
    fn lambdas_anywhere_and_layers_that_read_files() {
        let cfg = json!({"class_name": "Sequential", "config": {"layers": [
            {"class_name": "TimeDistributed", "config": {"name": "t", "layer":
                {"class_name": "Dense", "config": {"name": "d", "activation":
                    {"class_name": "__lambda__", "config": {"value": ["4wEAAA==", null, null]}}}}}},
            {"class_name": "Bidirectional", "config": {"name": "b", "layer":
                {"class_name": "MyRNN", "config": {"name": "r", "function": ["4wEAAA==", null, null], "function_type": "lambda"}}}},
            {"class_name": "TFSMLayer", "config": {"name": "sm", "filepath": "/models/other"}},
            {"class_name": "StringLookup", "config": {"name": "s", "vocabulary": "/data/vocab.txt"}},
            {"class_name": "StringLookup", "config": {"name": "s2", "vocabulary": ["a", "b"]}},
            {"class_name": "TextVectorization", "config": {"name": "tv", "vocabulary": null, "idf_weights": "idf.txt"}}
        ]}});
        let r: Vec<_> = found(&cfg).into_iter().map(|(r, s, _)| (r, s)).collect();
        assert_eq!(
            r,
            vec![
                ("keras.lambda", Severity::Dangerous),
                ("keras.lambda", Severity::Dangerous),
                ("keras.file-layer", Severity::Unknown),
                ("keras.file-layer", Severity::Unknown),
                ("keras.file-layer", Severity::Unknown),
            ]
        );
        let i = check(&cfg);
        assert!(i[2].message.contains("/models/other") && i[3].message.contains("vocab.txt"));
    }

    #[test]
    fn torch_modules_are_handed_back_as_files() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"PK\x03\x04pickle");
        let cfg = json!({"class_name": "Functional", "config": {"layers": [
            {"module": "keras.layers", "class_name": "TorchModuleWrapper", "config": {"name": "tm", "module": b64}},
            {"class_name": "TorchModuleWrapper", "config": {"name": "old", "module": {"class_name": "__bytes__", "config": {"value": "raw"}}}},
            {"class_name": "TorchModuleWrapper", "config": {"name": "bad", "module": "***"}}
        ]}});
        let (mut files, mut issues) = (Vec::new(), Vec::new());
        embedded(&cfg, &mut files, &mut issues);
        assert_eq!(
            files,
            vec![
                (
                    "TorchModuleWrapper tm: module".to_string(),
                    b"PK\x03\x04pickle".to_vec()
                ),
                (
                    "TorchModuleWrapper old: module".to_string(),
                    b"raw".to_vec()
                ),
            ]
        );
        assert_eq!(issues.len(), 1);
        assert!(check(&cfg)
            .iter()
            .all(|i| i.rule == "keras.torch-module" && i.severity == Severity::Unknown));
    }

    #[test]
    fn json_as_python_reads_it() {
        let v = parse_json(br#"{"class_name": "Dense", "config": {"a": NaN, "b": -Infinity, "c": [Infinity], "s": "NaN \" Infinity"}}"#).unwrap();
        assert_eq!(v["config"]["a"], Value::Null);
        assert_eq!(v["config"]["c"][0], Value::Null);
        assert_eq!(v["config"]["s"], "NaN \" Infinity");
        assert!(parse_json(b"{\"a\": nan}").is_none());
        assert!(parse_json(b"{\"a\": NaN").is_none());
        assert!(parse_json(b"").is_none());
    }

    #[test]
    fn finds_configs_in_hdf5_bytes() {
        let mut d = b"\x89HDF\r\n\x1a\n\x00\x00junk{\"class_name\" oops ".to_vec();
        d.extend(br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "l"}}]}}"#);
        d.extend(b"\x00\x00more");
        let c = configs_in_hdf5(&d, 8);
        assert_eq!(c.len(), 1);
        assert_eq!(check(&c[0])[0].rule, "keras.lambda");
    }
}
