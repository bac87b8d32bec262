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
                            "Lambda layer {name:?}: its Python function (marshalled bytecode) runs when the model loads"
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
                if let Some(module) = m.get("module").and_then(Value::as_str) {
                    let r = root(module);
                    let global = format!("{module}.{class}");
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
                    }
                }
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
