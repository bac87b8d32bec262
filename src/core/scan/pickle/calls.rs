//! What the opcodes that call, build or fill objects do: `REDUCE`, `OBJ`, `INST`,
//! `NEWOBJ`, `NEWOBJ_EX`, `BUILD`, `APPEND(S)`, `SETITEM(S)`, `ADDITEMS`.
//!
//! Calling a global records it as called. Calling one of the functions that compute a
//! global from strings (`getattr`, `__import__`, `importlib.import_module`,
//! `pkgutil.resolve_name`, `pydoc.locate`, numpy's `_ufunc_reconstruct`,
//! `operator.attrgetter`/`methodcaller`) with arguments the reader can see computes that
//! global, which the policy then classifies like a named one; with arguments it cannot
//! see, the call is reported. `copyreg`'s reconstructors make an instance of their first
//! argument. Calling anything that is not a global known by name (the result of another
//! call, an attribute of an unknown object) is a call the reader cannot resolve, and is
//! reported.
//!
//! `BUILD` on a global itself, and filling a global (`SETITEMS` into
//! `collections._sys.modules`), change the running process: reported as dangerous.

use std::cell::RefCell;

use super::machine::{Halt, Machine, Step};
use super::value::{Kind, Named, Value, MAX_STR};
use super::{NamedBy, Reader};
use crate::core::scan::{Severity, Verdict};

#[derive(Clone, Copy, Debug)]
enum Resolver {
    Getattr,
    Import,
    ImportModule,
    ResolveName,
    Locate,
    Ufunc,
    AttrGetter,
    MethodCaller,
    Reconstruct,
}

fn resolver(n: &Named) -> Option<Resolver> {
    let module = match &*n.module {
        "__builtin__" => "builtins",
        "copy_reg" => "copyreg",
        "_operator" => "operator",
        m => m,
    };
    Some(match (module, &*n.qual) {
        ("builtins", "getattr") => Resolver::Getattr,
        ("builtins" | "importlib" | "importlib._bootstrap", "__import__") => Resolver::Import,
        ("importlib", "import_module") => Resolver::ImportModule,
        ("pkgutil", "resolve_name") => Resolver::ResolveName,
        ("pydoc", "locate") => Resolver::Locate,
        ("numpy.core" | "numpy._core" | "numpy.core.multiarray", "_ufunc_reconstruct")
        | ("numpy", "core._ufunc_reconstruct" | "_core._ufunc_reconstruct") => Resolver::Ufunc,
        ("operator", "attrgetter") => Resolver::AttrGetter,
        ("operator", "methodcaller") => Resolver::MethodCaller,
        ("copyreg", "_reconstructor" | "__newobj__" | "__newobj_ex__") => Resolver::Reconstruct,
        _ => return None,
    })
}

/// Paths of the classes joblib reads arrays with (`joblib` sizes them from their state).
pub(crate) const JOBLIB_WRAPPERS: &[&str] = &[
    "joblib.numpy_pickle.NumpyArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    "joblib.numpy_pickle.NDArrayWrapper",
    "joblib.numpy_pickle_compat.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.NDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle_compat.NDArrayWrapper",
    "joblib.numpy_pickle.ZNDArrayWrapper",
    "joblib.numpy_pickle_compat.ZNDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle.ZNDArrayWrapper",
    "sklearn.externals.joblib.numpy_pickle_compat.ZNDArrayWrapper",
];

pub(crate) const NUMPY_DTYPES: &[&str] = &[
    "numpy.dtype",
    "numpy.core.multiarray.dtype",
    "numpy._core.multiarray.dtype",
];

/// Whether the arguments of a call of `n` are kept (joblib needs them).
fn keeps_args(n: &Named) -> bool {
    let m = &*n.module;
    (m.starts_with("joblib") || m.starts_with("sklearn") || m.starts_with("numpy"))
        && JOBLIB_WRAPPERS.iter().chain(NUMPY_DTYPES).any(|p| n.is(p))
        || super::nested::wraps_bytes(n)
}

fn join(qual: &str, attr: &str) -> String {
    if qual.is_empty() {
        attr.to_string()
    } else {
        format!("{qual}.{attr}")
    }
}

/// `operator.<name>`, as the callable that computes a global (`NamedBy::Call`).
fn operator_named(name: &str) -> Named {
    Named {
        id: usize::MAX,
        module: "operator".into(),
        qual: name.into(),
    }
}

/// An argument as a str: `Ok(None)` when it may be one but the reader cannot tell which,
/// `Err` when it is known not to be one.
fn str_arg<'v>(v: &'v Value<'_>) -> Result<Option<&'v str>, ()> {
    match v {
        Value::Str(t) => Ok(Some(t.as_str())),
        Value::LongStr => Ok(None),
        Value::Obj(o) => match o.kind {
            Kind::Named(_)
            | Kind::Made { .. }
            | Kind::Unresolved(_)
            | Kind::Persistent(_)
            | Kind::Ext { .. } => Ok(None),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

impl<'a> Reader<'a, '_> {
    /// Calls `f` with `args` as `op` does (`NEWOBJ_EX`'s keyword arguments name nothing:
    /// it makes an instance of `f` without running its `__init__`).
    pub(crate) fn call(
        &mut self,
        m: &mut Machine<'a>,
        f: &Value<'a>,
        args: &Value<'a>,
        op: &'static str,
    ) -> Step<Value<'a>> {
        let construct = op == "NEWOBJ" || op == "NEWOBJ_EX";
        let Some(o) = f.as_obj() else {
            return Err(Halt::Invalid(format!(
                "{op} calls {}, which is not callable",
                f.describe()
            )));
        };
        match &o.kind {
            Kind::Named(n) => {
                self.rec.called(n.id, op);
                if !construct {
                    if let Some(r) = resolver(n) {
                        return self.resolve(m, r, n, args, op);
                    }
                    if let Some(k) = super::nested::loader(n) {
                        self.nested(n, k, args, m.at as u64);
                    }
                    self.rebuild(n, args, m.at as u64);
                }
                Ok(self.made(m, n, (!construct && keeps_args(n)).then(|| args.clone())))
            }
            Kind::Ext { id, .. } => {
                self.rec.called(*id, op);
                Ok(m.new_obj(Kind::Unresolved(format!(
                    "the result of calling {}",
                    o.kind.describe()
                ))))
            }
            Kind::AttrGetter(names) if !construct => {
                let names = names.clone();
                self.attrgetter_call(m, &names, args, op)
            }
            Kind::MethodCaller(name) if !construct => {
                let name = name.clone();
                self.methodcaller_call(m, &name, args, op)
            }
            Kind::Tuple | Kind::List | Kind::Dict | Kind::Set | Kind::FrozenSet => {
                Err(Halt::Invalid(format!(
                    "{op} calls {}, which is not callable",
                    o.kind.describe()
                )))
            }
            other => {
                let desc = other.describe();
                Ok(self.unresolved_call(m, op, &desc))
            }
        }
    }

    fn made(&mut self, m: &mut Machine<'a>, by: &Named, args: Option<Value<'a>>) -> Value<'a> {
        m.new_obj(Kind::Made {
            by: by.clone(),
            args,
            state: RefCell::new(Vec::new()),
        })
    }

    /// A call of something the reader cannot resolve: reported, and its result unknown.
    fn unresolved_call(&mut self, m: &mut Machine<'a>, op: &'static str, desc: &str) -> Value<'a> {
        self.rec.note(
            "pickle.dynamic-call",
            Severity::Unknown,
            m.at as u64,
            &format!("{op} {desc}"),
            None,
            || format!("{op} calls {desc}, which the reader cannot resolve to a global"),
        );
        m.new_obj(Kind::Unresolved(format!("the result of calling {desc}")))
    }

    /// A global computed by `by` while loading.
    fn compute(
        &mut self,
        m: &mut Machine<'a>,
        module: &str,
        qual: &str,
        by: &Named,
        op: &'static str,
    ) -> Value<'a> {
        if module.len() + qual.len() > MAX_STR {
            let desc = format!("{} (a name longer than {MAX_STR} bytes)", by.path());
            return self.unresolved_call(m, op, &desc);
        }
        let n = self.rec.name(
            self.policy,
            module,
            qual,
            || NamedBy::Call(by.path()),
            op,
            m.at as u64,
        );
        m.new_obj(Kind::Named(n))
    }

    /// A computed attribute `attr` of `target` (a global, or an instance of one: its
    /// class's attribute); anything else gives an unknown object.
    fn attribute(
        &mut self,
        m: &mut Machine<'a>,
        target: &Value<'a>,
        attr: &str,
        by: &Named,
        op: &'static str,
    ) -> Value<'a> {
        match target.kind() {
            Some(Kind::Named(t) | Kind::Made { by: t, .. }) => {
                let t = t.clone();
                let qual = join(&t.qual, attr);
                self.compute(m, &t.module, &qual, by, op)
            }
            _ => {
                let desc = format!(
                    "the attribute '{}' of {}",
                    super::text::shorten(attr),
                    target.describe()
                );
                self.rec.note(
                    "pickle.dynamic-call",
                    Severity::Unknown,
                    m.at as u64,
                    &format!("{} {desc}", by.path()),
                    None,
                    || {
                        format!(
                            "{op} calls {} for {desc}, which the reader cannot resolve",
                            by.path()
                        )
                    },
                );
                m.new_obj(Kind::Unresolved(desc))
            }
        }
    }

    fn resolve(
        &mut self,
        m: &mut Machine<'a>,
        r: Resolver,
        by: &Named,
        args: &Value<'a>,
        op: &'static str,
    ) -> Step<Value<'a>> {
        let unseen = |this: &mut Self, m: &mut Machine<'a>| {
            let desc = format!("{} (with arguments it cannot follow)", by.path());
            Ok(this.unresolved_call(m, op, &desc))
        };
        let Some(items) = args.items() else {
            return unseen(self, m);
        };
        let str_at = |i: usize| -> Result<Option<String>, Halt> {
            match items.get(i).map(str_arg) {
                Some(Ok(s)) => Ok(s.map(str::to_string)),
                Some(Err(())) => Err(Halt::Invalid(format!(
                    "{op} calls {} with {} where a str is needed",
                    by.path(),
                    items[i].describe()
                ))),
                None => Err(Halt::Invalid(format!(
                    "{op} calls {} with too few arguments",
                    by.path()
                ))),
            }
        };
        match r {
            Resolver::Getattr => {
                let Some(attr) = str_at(1)? else {
                    return unseen(self, m);
                };
                Ok(self.attribute(m, &items[0], &attr, by, op))
            }
            Resolver::Import => {
                let Some(name) = str_at(0)? else {
                    return unseen(self, m);
                };
                if name.is_empty() {
                    return Err(Halt::Invalid("__import__ of an empty module name".into()));
                }
                let level_zero = match items.get(4) {
                    None => true,
                    Some(Value::Int(0)) | Some(Value::Bool(false)) => true,
                    Some(_) => false,
                };
                let fromlist: Option<Vec<String>> = match items.get(3) {
                    None | Some(Value::None) => Some(Vec::new()),
                    Some(v) => v
                        .items()
                        .and_then(|xs| xs.iter().map(|x| x.as_str().map(str::to_string)).collect()),
                };
                let (true, Some(fromlist)) = (level_zero, fromlist) else {
                    return unseen(self, m);
                };
                let module = self.compute(m, &name, "", by, op);
                for f in &fromlist {
                    self.compute(m, &name, f, by, op);
                }
                let top = name.split('.').next().unwrap_or_default();
                if fromlist.is_empty() && top != name {
                    return Ok(self.compute(m, top, "", by, op));
                }
                Ok(module)
            }
            Resolver::ImportModule => {
                let Some(name) = str_at(0)? else {
                    return unseen(self, m);
                };
                let full = if let Some(rel) = name.strip_prefix('.') {
                    let level = 1 + rel.len() - rel.trim_start_matches('.').len();
                    let rel = rel.trim_start_matches('.');
                    let package = match items.get(1) {
                        Some(Value::Str(p)) => p.as_str().to_string(),
                        Some(Value::None) | None => {
                            return Err(Halt::Invalid(format!(
                                "import_module of the relative name '{name}' without a package"
                            )))
                        }
                        Some(_) => return unseen(self, m),
                    };
                    let bits: Vec<&str> = package.rsplitn(level, '.').collect();
                    if bits.len() < level {
                        return Err(Halt::Invalid(
                            "attempted relative import beyond top-level package".into(),
                        ));
                    }
                    let base = bits[bits.len() - 1];
                    if rel.is_empty() {
                        base.to_string()
                    } else {
                        format!("{base}.{rel}")
                    }
                } else {
                    name
                };
                Ok(self.compute(m, &full, "", by, op))
            }
            Resolver::ResolveName | Resolver::Locate => {
                let Some(name) = str_at(0)? else {
                    return unseen(self, m);
                };
                match name.split_once(':') {
                    Some((module, qual)) if matches!(r, Resolver::ResolveName) => {
                        Ok(self.compute(m, module, qual, by, op))
                    }
                    _ => Ok(self.compute(m, &name, "", by, op)),
                }
            }
            Resolver::Ufunc => {
                let (Some(module), Some(name)) = (str_at(0)?, str_at(1)?) else {
                    return unseen(self, m);
                };
                Ok(self.compute(m, &module, &name, by, op))
            }
            Resolver::AttrGetter => {
                if items.is_empty() {
                    return Err(Halt::Invalid("attrgetter expected 1 argument".into()));
                }
                let mut names = Vec::new();
                for i in 0..items.len() {
                    match str_at(i)? {
                        Some(s) => names.push(s),
                        None => return unseen(self, m),
                    }
                }
                Ok(m.new_obj(Kind::AttrGetter(names)))
            }
            Resolver::MethodCaller => {
                let Some(name) = str_at(0)? else {
                    return unseen(self, m);
                };
                Ok(m.new_obj(Kind::MethodCaller(name)))
            }
            Resolver::Reconstruct => {
                let Some(cls) = items.first() else {
                    return Err(Halt::Invalid(format!(
                        "{op} calls {} without a class",
                        by.path()
                    )));
                };
                match cls.kind() {
                    Some(Kind::Named(c)) => {
                        let c = c.clone();
                        self.rec.called(c.id, op);
                        // `_reconstructor(cls, base, state)` also runs `base.__init__`.
                        if let Some(Kind::Named(base)) = items.get(1).and_then(Value::kind) {
                            if by.qual.as_ref() == "_reconstructor" {
                                self.rec.called(base.id, op);
                            }
                        }
                        Ok(self.made(m, &c, None))
                    }
                    _ => {
                        let desc = format!("{} on {}", by.path(), cls.describe());
                        Ok(self.unresolved_call(m, op, &desc))
                    }
                }
            }
        }
    }

    fn attrgetter_call(
        &mut self,
        m: &mut Machine<'a>,
        names: &[String],
        args: &Value<'a>,
        op: &'static str,
    ) -> Step<Value<'a>> {
        let Some(target) = args.items().and_then(|i| i.first().cloned()) else {
            return Ok(self.unresolved_call(
                m,
                op,
                "an operator.attrgetter (on an object it cannot follow)",
            ));
        };
        let by = operator_named("attrgetter");
        let mut out = Vec::new();
        for n in names {
            out.push(self.attribute(m, &target, n, &by, op));
        }
        if out.len() == 1 {
            return Ok(out.pop().expect("one"));
        }
        Ok(m.container(Kind::Tuple, out))
    }

    fn methodcaller_call(
        &mut self,
        m: &mut Machine<'a>,
        name: &str,
        args: &Value<'a>,
        op: &'static str,
    ) -> Step<Value<'a>> {
        let target = args.items().and_then(|i| i.first().cloned());
        let by = operator_named("methodcaller");
        let method = match &target {
            Some(t) => self.attribute(m, t, name, &by, op),
            None => m.new_obj(Kind::Unresolved("an object".into())),
        };
        match method.kind() {
            Some(Kind::Named(n)) => {
                let n = n.clone();
                self.rec.called(n.id, op);
                Ok(self.made(m, &n, None))
            }
            _ => {
                let desc = format!("the method '{name}' of {}", method.describe());
                Ok(self.unresolved_call(m, op, &desc))
            }
        }
    }

    /// `BUILD`: pops the state and sets it on the object below.
    pub(crate) fn build(&mut self, m: &mut Machine<'a>) -> Step<()> {
        let state = m.pop()?;
        let inst = m.top()?.clone();
        let Some(o) = inst.as_obj() else {
            return Ok(());
        };
        match &o.kind {
            Kind::Named(n) => {
                let n = n.clone();
                self.rec.state_set(n.id);
                let path = n.path();
                self.rec.note(
                    "pickle.build-global",
                    Severity::Dangerous,
                    m.at as u64,
                    &path,
                    Some(&path),
                    || format!("BUILD sets the state of {path} itself, a class, function or module of the running process (monkeypatching)"),
                );
            }
            Kind::Made { by, .. } => {
                let by = by.clone();
                self.rec.state_set(by.id);
                self.tensor_write(&by, "BUILD", m.at as u64);
                if let Verdict::Dangerous(why) = self.rec.verdict(by.id).clone() {
                    let path = by.path();
                    self.rec.note(
                        "pickle.build-global",
                        Severity::Dangerous,
                        m.at as u64,
                        &format!("made by {path}"),
                        Some(&path),
                        || format!("BUILD sets the state of an object made by {path}, which {why}"),
                    );
                }
                o.add_state(state);
                if m.mode.joblib {
                    let o = o.clone();
                    self.joblib_build(m, &o, &by)?;
                } else if JOBLIB_WRAPPERS.iter().any(|p| by.is(p)) {
                    self.rec.joblib_wrapper = true;
                }
            }
            Kind::Ext { id, .. } => self.rec.state_set(*id),
            Kind::Unresolved(_) | Kind::AttrGetter(_) | Kind::MethodCaller(_) => {
                let desc = o.kind.describe();
                self.rec.note(
                    "pickle.dynamic-call",
                    Severity::Unknown,
                    m.at as u64,
                    &format!("BUILD {desc}"),
                    None,
                    || format!("BUILD sets the state of {desc}, which the reader cannot resolve, through its __setstate__"),
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// `APPEND(S)`, `SETITEM(S)`, `ADDITEMS`: adds `items` to the object on top.
    pub(crate) fn add_items(
        &mut self,
        m: &mut Machine<'a>,
        items: Vec<Value<'a>>,
        op: &'static str,
    ) -> Step<()> {
        let target = m.top()?.clone();
        if items.is_empty() {
            return Ok(());
        }
        let Some(o) = target.as_obj() else {
            return Ok(());
        };
        match &o.kind {
            Kind::List | Kind::Set => o.extend(items, false),
            Kind::Dict => o.extend(items, true),
            Kind::Named(n) => {
                let n = n.clone();
                self.rec.state_set(n.id);
                let path = n.path();
                self.rec.note(
                    "pickle.build-global",
                    Severity::Dangerous,
                    m.at as u64,
                    &path,
                    Some(&path),
                    || format!("{op} writes into {path}, an object of the running process (monkeypatching)"),
                );
            }
            Kind::Made { by, .. } if op.starts_with("SETITEM") => {
                let by = by.clone();
                self.tensor_write(&by, op, m.at as u64);
            }
            Kind::Tuple | Kind::FrozenSet | Kind::Made { .. } | Kind::Ext { .. } => {}
            other => {
                let desc = other.describe();
                self.rec.note(
                    "pickle.dynamic-call",
                    Severity::Unknown,
                    m.at as u64,
                    &format!("{op} {desc}"),
                    None,
                    || format!("{op} adds items to {desc}, which the reader cannot resolve, through its methods"),
                );
            }
        }
        Ok(())
    }
}
