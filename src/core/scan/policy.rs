//! The policy: which globals a pickle may import. An allow-list first: globals known to be
//! plain data constructors are `Allowed`, known-dangerous ones are `Dangerous` with a reason,
//! and everything else is `Unknown` (so the file is not safe).
//!
//! A global is a `(module, name)` pair, as the `GLOBAL`/`STACK_GLOBAL` opcodes give it to
//! the unpickler's `find_class`; `name` may be dotted (protocol 4 qualnames), and the
//! unpickler then walks the attributes one by one. The checks, in order:
//!
//! 1. Python 2 names are mapped as Python 3's unpickler maps them for protocols 0-2
//!    (`__builtin__` → `builtins`, `copy_reg` → `copyreg`, `commands` → `subprocess`, ...)
//!    and the mapped global is classified; a dangerous rule on the original still stands,
//!    since protocols 3+ import it as written (`dbm.open`, `socket.fromfd`).
//! 2. Dangerous rules: a module rule covers the module and everything below it (`os` covers
//!    `os.path.join`); a few rules cover only what is below a class (the file-system
//!    methods of `pathlib.Path`). Carved out of dangerous modules: `copyreg._reconstructor`,
//!    `__newobj__`, `__newobj_ex__` (how protocols 0-2 rebuild objects),
//!    `types.SimpleNamespace` and numpy's StringDType helper.
//! 3. The built-in exact allow-list (paths checked one by one).
//! 4. Attribute walks: in the dotted `name`, any attribute that is a dunder (`__globals__`,
//!    `__class__`, ...) or is named like a dangerous module (`os`, `_sys`, `builtins`,
//!    `importlib`, `pickle`, ...; leading underscores ignored) is `Dangerous`: that is how
//!    `torch.serialization` + `os.system` reaches `os.system`. The module part is imported,
//!    never walked (`__import__("a.os")` fails unless `a.os` is a real submodule), so
//!    `classify` does not check it; `classify_path`, which cannot tell the two apart, checks
//!    every segment after the first.
//! 5. Names that the class families' modules import from elsewhere and that are not data
//!    (`Parallel`, `Thread`, `Client`, `HDFStore`, `MethodType`, ...) are `Dangerous`
//!    there, over policy files too. Then allow rules from policy files (exact paths and
//!    `prefix.*`), then the class rule: inside a family (`sklearn`, `pandas`,
//!    `torch.nn.modules`) outside its excluded subtrees (data set fetchers, I/O, testing,
//!    `eval`, vendored code), a one-segment class name (`CamelCase` or an acronym such as
//!    `PCA`, optionally after leading underscores; not `CONSTANT_NAMES`) in a module path of
//!    lower-case segments, no `tests` among them, is allowed, and so are Cython's
//!    `__pyx_unpickle_<Class>` helpers in `sklearn` and `pandas`. Why: estimators, their
//!    fitted helpers, pandas containers and torch layers are classes whose construction and
//!    `__setstate__` only store data (scikit-learn's `__init__` only stores parameters by
//!    convention); running anything needs a method call, which a pickle can only name
//!    through a dotted walk (one segment is required here) or a function, and functions
//!    (lower-case) stay `Unknown` unless listed. The names refused in step 5 come from
//!    listing every class-named attribute of every module of scikit-learn 1.9 and pandas 3.1
//!    whose object is defined outside the family or in an excluded subtree.
//! 6. Anything else is `Unknown`.
//!
//! `collections.namedtuple` is `Unknown`: it builds a class from strings (an instance of a
//! named tuple names its own class, never `namedtuple`). Builtin exceptions are `Unknown`
//! too: constructing one is harmless, but models do not hold them.
//!
//! Policy files may not allow what a built-in dangerous rule covers (`os.system`,
//! `numpy.*`, `__builtin__.*`, `pathlib.Path.*`), nor a dunder attribute; such a file is
//! refused whole. A prefix a file allows may hold the file's own dangerous patterns: they
//! win when classifying.

mod builtin;
mod compat;
mod file;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use crate::core::error::{CoreError, CoreResult};

/// What the policy says about one global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A plain data constructor.
    Allowed,
    /// Code execution, imports, attribute walking, file, process or network access: the
    /// one-line reason.
    Dangerous(String),
    /// Not known either way: the file is not safe.
    Unknown,
}

/// The syntax of a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Toml,
    Json,
}

#[derive(Debug, Clone)]
struct Danger {
    reason: Box<str>,
    builtin: bool,
}

/// The dangerous rules on one dotted path.
#[derive(Debug, Clone, Default)]
struct DangerRule {
    /// The path itself.
    exact: Option<Danger>,
    /// Everything strictly below it.
    under: Option<Danger>,
}

/// Which globals are fine, which are dangerous. `Policy::new()` holds the built-in lists;
/// `extend_from_str` adds a user's.
#[derive(Debug, Clone)]
pub struct Policy {
    dangerous: HashMap<Box<str>, DangerRule>,
    carve_outs: HashSet<Box<str>>,
    /// The built-in exact allow-list.
    vetted: HashSet<Box<str>>,
    /// Exact paths allowed by policy files.
    allowed_exact: HashSet<Box<str>>,
    /// Prefixes below which policy files allow everything.
    allowed_under: HashSet<Box<str>>,
    /// Attribute names (leading underscores removed) that walk to a dangerous module.
    walk_names: HashSet<Box<str>>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::new()
    }
}

impl Policy {
    /// The built-in lists.
    pub fn new() -> Policy {
        let mut policy = Policy {
            dangerous: HashMap::new(),
            carve_outs: builtin::CARVE_OUTS.iter().map(|p| (*p).into()).collect(),
            vetted: HashSet::new(),
            allowed_exact: HashSet::new(),
            allowed_under: HashSet::new(),
            walk_names: builtin::EXTRA_WALK_NAMES
                .iter()
                .map(|p| (*p).into())
                .collect(),
        };
        for &(reason, roots) in builtin::DANGEROUS_TREES {
            for root in roots {
                policy.add_danger(root, reason, true, true, true);
                if !root.contains('.') {
                    policy
                        .walk_names
                        .insert(root.trim_start_matches('_').into());
                }
            }
        }
        for &(reason, paths) in builtin::DANGEROUS_EXACT {
            for path in paths {
                policy.add_danger(path, reason, true, false, true);
            }
        }
        for &(reason, prefixes) in builtin::DANGEROUS_UNDER {
            for prefix in prefixes {
                policy.add_danger(prefix, reason, false, true, true);
            }
        }
        for &(module, names) in builtin::ALLOWED {
            for name in names {
                policy.vetted.insert(format!("{module}.{name}").into());
            }
        }
        for module in builtin::NUMPY_UFUNC_MODULES {
            for name in builtin::NUMPY_UFUNCS {
                policy.vetted.insert(format!("{module}.{name}").into());
            }
        }
        for module in ["torch", "torch.cuda"] {
            for element in builtin::TORCH_LEGACY_TYPES {
                for kind in ["Storage", "Tensor"] {
                    policy
                        .vetted
                        .insert(format!("{module}.{element}{kind}").into());
                }
            }
        }
        for fmt in builtin::SCIPY_SPARSE_FORMATS {
            for kind in ["matrix", "array"] {
                for module in [
                    format!("scipy.sparse._{fmt}"),
                    format!("scipy.sparse.{fmt}"),
                    "scipy.sparse".to_owned(),
                ] {
                    policy
                        .vetted
                        .insert(format!("{module}.{fmt}_{kind}").into());
                }
            }
        }
        policy
    }

    fn add_danger(&mut self, path: &str, reason: &str, exact: bool, under: bool, builtin: bool) {
        let rule = self.dangerous.entry(path.into()).or_default();
        let danger = || Danger {
            reason: reason.into(),
            builtin,
        };
        // The first rule on a path keeps its reason: built-in reasons are more specific
        // than a policy file's.
        if exact && rule.exact.is_none() {
            rule.exact = Some(danger());
        }
        if under && rule.under.is_none() {
            rule.under = Some(danger());
        }
    }

    /// Adds the allow and dangerous patterns of a policy file (see the module `file` for
    /// the schema). Nothing is added when the file has an error, or when one of its allow
    /// patterns names or covers something dangerous (dangerous always wins).
    ///
    /// # Errors
    /// `CoreError::InvalidInput` naming the wrong key, line or pattern.
    pub fn extend_from_str(&mut self, text: &str, format: Format) -> CoreResult<()> {
        let parsed = file::parse(text, format)?;
        let mut next = self.clone();
        for pattern in &parsed.dangerous {
            let reason = format!("listed as dangerous by a policy file ({})", pattern.origin);
            next.add_danger(&pattern.path, &reason, !pattern.under, pattern.under, false);
        }
        let refused: Vec<String> = parsed
            .allow
            .iter()
            .filter_map(|pattern| {
                next.allow_conflict(pattern)
                    .map(|why| format!("{}: {why}", pattern.origin))
            })
            .collect();
        if !refused.is_empty() {
            return Err(CoreError::invalid(format!(
                "policy file refused, nothing added: {}",
                refused.join("; ")
            )));
        }
        for pattern in parsed.allow {
            let set = if pattern.under {
                &mut next.allowed_under
            } else {
                &mut next.allowed_exact
            };
            set.insert(pattern.path.into());
        }
        *self = next;
        Ok(())
    }

    /// Why an allow pattern may not be added, if it may not.
    fn allow_conflict(&self, pattern: &file::Pattern) -> Option<String> {
        let path = pattern.path.as_str();
        let mut candidates = vec![path.to_owned()];
        if let Some((module, name)) = path.rsplit_once('.') {
            if let Some((m, n)) = compat::map_python2(module, name) {
                candidates.push(format!("{m}.{n}"));
            }
        } else if let Some((m, _)) = compat::map_python2(path, "") {
            candidates.push(m.to_owned());
        }
        for candidate in &candidates {
            if let Some(danger) = self.danger(candidate, pattern.under) {
                return Some(format!("`{candidate}` is dangerous ({})", danger.reason));
            }
            if pattern.under {
                let below = format!("{candidate}.");
                let mut covered: Vec<(&str, &Danger)> = self
                    .dangerous
                    .iter()
                    .filter(|(key, _)| key.starts_with(&below))
                    .filter_map(|(key, rule)| {
                        rule.exact
                            .as_ref()
                            .or(rule.under.as_ref())
                            .map(|d| (&**key, d))
                    })
                    // A policy file's own dangerous patterns below an allowed prefix are
                    // exceptions to it (dangerous wins when classifying).
                    .filter(|(_, danger)| danger.builtin)
                    .collect();
                covered.sort_by_key(|(key, _)| *key);
                if let Some((key, danger)) = covered.first() {
                    return Some(format!(
                        "`{candidate}.*` covers the dangerous `{key}` ({})",
                        danger.reason
                    ));
                }
            }
        }
        if let Some((module, name)) = path.rsplit_once('.') {
            if let Some(Verdict::Dangerous(reason)) = class_rule(module, name) {
                return Some(format!("`{path}` is dangerous ({reason})"));
            }
        }
        if let Some(dunder) = path.split('.').skip(1).find(|s| is_dunder(s)) {
            return Some(format!("allows the dunder attribute `{dunder}`"));
        }
        None
    }

    /// The dangerous rule that covers `path` (or, with `or_below`, anything below it that
    /// an `under` rule on `path` itself covers), ignoring carve-outs of built-in rules.
    fn danger(&self, path: &str, or_below: bool) -> Option<&Danger> {
        for (end, _) in path
            .match_indices('.')
            .chain(std::iter::once((path.len(), "")))
        {
            let Some(rule) = self.dangerous.get(&path[..end]) else {
                continue;
            };
            let found = if end == path.len() {
                rule.exact
                    .as_ref()
                    .or(if or_below { rule.under.as_ref() } else { None })
            } else {
                rule.under.as_ref()
            };
            match found {
                Some(danger) if danger.builtin && self.carve_outs.contains(path) => {}
                Some(danger) => return Some(danger),
                None => {}
            }
        }
        None
    }

    /// The verdict on the global `name` of `module` (`name` may be dotted).
    pub fn classify(&self, module: &str, name: &str) -> Verdict {
        let Some((to_module, to_name)) = compat::map_python2(module, name) else {
            return self.classify_split(module, name);
        };
        // Protocols 3+ import the original as written: it matters when it names a real
        // Python 3 module (`dbm`, `socket`), and then a dangerous rule on it stands.
        if let Some(danger) = self.danger(&format!("{module}.{name}"), false) {
            return Verdict::Dangerous(danger.reason.to_string());
        }
        self.classify_split(to_module, to_name)
    }

    /// The verdict on a dotted `module.qual.name` whose split is not known: every segment
    /// after the first may be an attribute walk, so a path like `scipy.signal.lti`
    /// (a real submodule named like the `signal` module) is `Dangerous` here, while
    /// `classify("scipy.signal", "lti")` is not. Python 2 names are mapped with the module
    /// taken to end at the last dot.
    pub fn classify_path(&self, path: &str) -> Verdict {
        let Some((module, name)) = path.rsplit_once('.') else {
            return self.classify(path, "");
        };
        let (path, module_len) = match compat::map_python2(module, name) {
            Some(_) if self.danger(path, false).is_some() => (path.to_owned(), module.len()),
            Some((module, name)) => (format!("{module}.{name}"), module.len()),
            None => (path.to_owned(), module.len()),
        };
        let walk_start = path.find('.').map_or(path.len(), |i| i + 1);
        self.classify_joined(&path, walk_start, module_len)
    }

    fn classify_split(&self, module: &str, name: &str) -> Verdict {
        let mut path = String::with_capacity(module.len() + 1 + name.len());
        path.push_str(module);
        path.push('.');
        path.push_str(name);
        self.classify_joined(&path, module.len() + 1, module.len())
    }

    /// `path` is `module.name`; attributes from byte `walk_start` on may be walked;
    /// `module_end` is where the module of the class rule ends.
    fn classify_joined(&self, path: &str, walk_start: usize, module_end: usize) -> Verdict {
        if let Some(danger) = self.danger(path, false) {
            return Verdict::Dangerous(danger.reason.to_string());
        }
        if self.vetted.contains(path) {
            return Verdict::Allowed;
        }
        if let Some(verdict) = self.walk(&path[walk_start.min(path.len())..]) {
            return verdict;
        }
        let class = (module_end < path.len())
            .then(|| class_rule(&path[..module_end], &path[module_end + 1..]))
            .flatten();
        // A family's dangerous names win over policy files; its classes do not.
        match class {
            Some(verdict @ Verdict::Dangerous(_)) => verdict,
            _ if self.allowed_exact.contains(path) || self.allowed_below(path) => Verdict::Allowed,
            class => class.unwrap_or(Verdict::Unknown),
        }
    }

    fn walk(&self, attributes: &str) -> Option<Verdict> {
        for attribute in attributes.split('.') {
            if is_dunder(attribute) {
                return Some(Verdict::Dangerous(format!(
                    "walks through the dunder attribute `{attribute}`"
                )));
            }
            let bare = attribute.trim_start_matches('_');
            if self.walk_names.contains(bare) {
                return Some(Verdict::Dangerous(format!(
                    "walks through the attribute `{attribute}` to the module `{bare}`"
                )));
            }
        }
        None
    }

    fn allowed_below(&self, path: &str) -> bool {
        !self.allowed_under.is_empty()
            && path
                .match_indices('.')
                .any(|(end, _)| self.allowed_under.contains(&path[..end]))
    }
}

fn is_dunder(segment: &str) -> bool {
    segment.len() > 4 && segment.starts_with("__") && segment.ends_with("__")
}

/// The class rule (module documentation, step 5): `Some(Allowed)` for a class of a family,
/// `Some(Dangerous)` or `Some(Unknown)` for a name that family modules import from elsewhere
/// (`Parallel`, `Thread`, `StringIO`, ...), `None` when the rule does not apply.
fn class_rule(module: &str, name: &str) -> Option<Verdict> {
    let family = builtin::CLASS_FAMILIES.iter().find(|family| {
        under_or_equal(module, family.root)
            && !family.excluded.iter().any(|ex| under_or_equal(module, ex))
    })?;
    let lower_case_module = module.split('.').all(|segment| {
        !segment.is_empty()
            && segment != "tests"
            && segment
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if !lower_case_module || name.contains('.') {
        return None;
    }
    let class = match name.strip_prefix("__pyx_unpickle_") {
        Some(class) if family.cython_helpers => class,
        Some(_) => return None,
        None => name,
    };
    if !is_class_name(class) {
        return None;
    }
    let bare = class.trim_start_matches('_');
    for &(reason, names) in builtin::FAMILY_DANGEROUS_NAMES {
        if names.contains(&bare) {
            return Some(Verdict::Dangerous(format!(
                "`{bare}` in {module}: {reason} (imported into the module, not its data)"
            )));
        }
    }
    if builtin::FAMILY_UNKNOWN_NAMES.contains(&bare) {
        return Some(Verdict::Unknown);
    }
    Some(Verdict::Allowed)
}

fn under_or_equal(path: &str, root: &str) -> bool {
    path.strip_prefix(root)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A class name, optionally after leading underscores: `CamelCase` (an upper-case first
/// letter, then ASCII letters, digits and `_`, with a lower-case letter somewhere) or an
/// acronym (`PCA`, `SVC`, `DBSCAN`: upper-case letters and digits without `_`, so
/// `CONSTANT_NAMES` are not classes).
fn is_class_name(name: &str) -> bool {
    let bare = name.trim_start_matches('_');
    let camel = bare.bytes().any(|b| b.is_ascii_lowercase())
        && bare.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let acronym = bare.len() >= 2
        && bare
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    bare.as_bytes().first().is_some_and(u8::is_ascii_uppercase) && (camel || acronym)
}
