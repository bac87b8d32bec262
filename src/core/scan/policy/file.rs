//! Policy files users extend the built-in lists with.
//!
//! ```toml
//! version = 1            # optional; 1 is the only version
//! [allow]
//! globals = ["mypkg.models.MyModel", "mypkg.layers.*"]
//! [dangerous]
//! globals = ["mypkg.unsafe_loader"]
//! ```
//!
//! JSON has the same shape (`{"version": 1, "allow": {"globals": [...]}, ...}`). A pattern
//! is an exact dotted path or `prefix.*` (everything strictly below `prefix`). Unknown keys,
//! wrong types, empty patterns and `*` anywhere but as the last segment are errors that
//! name the key (and, for TOML syntax and type errors, the line).

use serde::Deserialize;

use crate::core::error::{CoreError, CoreResult};

use super::Format;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    version: Option<i64>,
    allow: Option<Section>,
    dangerous: Option<Section>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    globals: Vec<String>,
}

/// One pattern of a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Pattern {
    /// The dotted path, without the `.*` of a prefix pattern.
    pub path: String,
    /// `prefix.*`: everything strictly below `path`.
    pub under: bool,
    /// Where it came from, for messages: `allow.globals[2] "mypkg.*"`.
    pub origin: String,
}

/// The patterns of a policy file.
#[derive(Debug, Default)]
pub(super) struct PolicyFile {
    pub allow: Vec<Pattern>,
    pub dangerous: Vec<Pattern>,
}

/// Reads a policy file's text.
pub(super) fn parse(text: &str, format: Format) -> CoreResult<PolicyFile> {
    let document: Document = match format {
        Format::Toml => toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| format!("line {}: ", line_of(text, span.start)))
                .unwrap_or_default();
            CoreError::invalid(format!(
                "invalid policy file (TOML): {line}{}",
                e.message().trim()
            ))
        })?,
        Format::Json => serde_json::from_str(text)
            .map_err(|e| CoreError::invalid(format!("invalid policy file (JSON): {e}")))?,
    };
    if let Some(version) = document.version {
        if version != 1 {
            return Err(CoreError::invalid(format!(
                "invalid policy file: version = {version}: only version 1 is known"
            )));
        }
    }
    Ok(PolicyFile {
        allow: patterns("allow", document.allow)?,
        dangerous: patterns("dangerous", document.dangerous)?,
    })
}

/// The 1-based line of byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn patterns(key: &str, section: Option<Section>) -> CoreResult<Vec<Pattern>> {
    let Some(section) = section else {
        return Ok(Vec::new());
    };
    section
        .globals
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let origin = format!("{key}.globals[{i}] {text:?}");
            pattern(text)
                .map_err(|why| CoreError::invalid(format!("invalid policy file: {origin}: {why}")))
                .map(|(path, under)| Pattern {
                    path,
                    under,
                    origin,
                })
        })
        .collect()
}

/// `(path, under)` of one pattern, or why it is not one.
fn pattern(text: &str) -> Result<(String, bool), String> {
    if text.is_empty() {
        return Err("an empty pattern names no global".into());
    }
    if text == "*" {
        return Err("a lone `*` would cover every global; name a prefix (`mypkg.*`)".into());
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a pattern holds no spaces or control characters".into());
    }
    let (path, under) = match text.strip_suffix(".*") {
        Some(prefix) => (prefix, true),
        None => (text, false),
    };
    if path.contains('*') {
        return Err("`*` is only allowed as the last segment (`prefix.*`)".into());
    }
    if path.split('.').any(str::is_empty) {
        return Err("empty segment: dots must separate names (`module.Class`)".into());
    }
    Ok((path.to_owned(), under))
}
