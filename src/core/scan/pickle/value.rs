//! The values the reader keeps on its stack and in its memo: just enough of what a loader
//! would build to know which global an opcode names or calls.
//!
//! Scalars are kept by value, strings borrowed from the stream when no escape had to be
//! decoded, and everything else is an `Obj` behind an `Rc` (a pickle shares objects
//! through its memo, and a list appended to through the stack is the same list in the
//! memo). Containers keep their first `KEPT` items only: no opcode reads a container
//! back, so what is dropped is never needed to name a global, only to work out a call's
//! arguments, and a call whose arguments are not all kept cannot be resolved (which the
//! reader reports). Every `Obj` counts towards the live-object limit while it exists.
//!
//! Dropping is iterative (a million nested tuples drop without a million stack frames),
//! and mutable objects are registered so that cycles (a list holding itself) are broken
//! when the reader finishes instead of leaking.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

/// Items kept per container.
pub(crate) const KEPT: usize = 64;
/// BUILD states kept per object.
pub(crate) const KEPT_STATES: usize = 8;
/// Bytes kept of a string that had to be decoded (escapes, non-UTF-8 encodings); longer
/// ones are kept as their length only.
pub(crate) const MAX_STR: usize = 1024;

thread_local! {
    /// `Obj`s alive on this thread (a reader counts the difference from its start).
    static LIVE: Cell<usize> = const { Cell::new(0) };
}

pub(crate) fn live_objects() -> usize {
    LIVE.with(Cell::get)
}

/// A text value.
#[derive(Clone, Debug)]
pub(crate) enum Text<'a> {
    Borrowed(&'a str),
    Owned(Rc<str>),
}

impl Text<'_> {
    pub(crate) fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    None,
    Bool(bool),
    Int(i64),
    /// An int outside `i64`.
    BigInt,
    Float,
    Str(Text<'a>),
    /// A str too long to keep (decoded text over `MAX_STR` bytes).
    LongStr,
    /// bytes or bytearray, with their content when it is in the stream (`BINBYTES` and
    /// kin: a loader called on them unpickles it, see `calls::nested`).
    Bytes(Option<&'a [u8]>),
    Obj(Rc<Obj<'a>>),
}

impl<'a> Value<'a> {
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(t) => Some(t.as_str()),
            _ => None,
        }
    }

    pub(crate) fn as_obj(&self) -> Option<&Rc<Obj<'a>>> {
        match self {
            Value::Obj(o) => Some(o),
            _ => None,
        }
    }

    pub(crate) fn kind(&self) -> Option<&Kind<'a>> {
        self.as_obj().map(|o| &o.kind)
    }

    /// The items of a tuple (or a list, for the loaders that accept one), if all are
    /// kept.
    pub(crate) fn items(&self) -> Option<Vec<Value<'a>>> {
        let o = self.as_obj()?;
        match o.kind {
            Kind::Tuple | Kind::List if !o.more.get() => Some(o.items.borrow().clone()),
            _ => None,
        }
    }

    /// The value of key `key` of a dict whose items are all kept (`Err` when it cannot
    /// be known, `Ok(None)` when it is known to be absent).
    pub(crate) fn dict_get(&self, key: &str) -> Result<Option<Value<'a>>, ()> {
        let o = self.as_obj().ok_or(())?;
        if !matches!(o.kind, Kind::Dict) {
            return Err(());
        }
        let items = o.items.borrow();
        let mut found = None;
        for pair in items.chunks(2) {
            match pair[0].as_str() {
                Some(k) if k == key => found = Some(pair.get(1).cloned().ok_or(())?),
                Some(_) => {}
                // A key of another type could still equal `key` once built (a str
                // subclass): nothing is known.
                None => return Err(()),
            }
        }
        if found.is_none() && o.more.get() {
            return Err(());
        }
        Ok(found)
    }

    /// A short description for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(_) => "a bool".into(),
            Value::Int(_) | Value::BigInt => "an int".into(),
            Value::Float => "a float".into(),
            Value::Str(_) | Value::LongStr => "a str".into(),
            Value::Bytes(_) => "bytes".into(),
            Value::Obj(o) => o.kind.describe(),
        }
    }
}

/// Which global (or module, or attribute reached from one) a value is, by name.
#[derive(Clone, Debug)]
pub(crate) struct Named {
    /// Index in the reader's table of globals.
    pub(crate) id: usize,
    pub(crate) module: Rc<str>,
    /// The attribute path inside the module, dotted; empty for the module itself.
    pub(crate) qual: Rc<str>,
}

impl Named {
    pub(crate) fn path(&self) -> String {
        if self.qual.is_empty() {
            self.module.to_string()
        } else {
            format!("{}.{}", self.module, self.qual)
        }
    }
}

/// A PyTorch storage as the loader builds it from a persistent id (see `storages`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Storage {
    /// Elements of the storage type's dtype (bytes for an untyped storage).
    pub(crate) numel: i64,
    /// Bytes per element of that dtype, when the storage type is known.
    pub(crate) elem: Option<u64>,
}

#[derive(Debug)]
pub(crate) enum Kind<'a> {
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    /// A global, module or attribute known by name.
    Named(Named),
    /// What calling or instantiating `Named` returned (an instance of a class, or a
    /// function's result).
    Made {
        by: Named,
        /// The arguments of the call, kept for the objects joblib sizes arrays with
        /// (its wrappers, numpy dtypes).
        args: Option<Value<'a>>,
        /// What BUILD gave it, oldest first; at most `KEPT_STATES` (the object's `more`
        /// flag says older ones were dropped).
        state: RefCell<Vec<Value<'a>>>,
    },
    /// `operator.attrgetter(*names)`.
    AttrGetter(Vec<String>),
    /// `operator.methodcaller(name, ...)`.
    MethodCaller(String),
    /// A global named by an extension code (`id` in the reader's table of globals).
    Ext {
        id: usize,
        code: i64,
    },
    /// A persistent id resolved by the loader; for a PyTorch storage
    /// (`('storage', storage_type, key, location, numel)`), its size.
    Persistent(Option<Storage>),
    /// An out-of-band buffer.
    Buffer,
    /// The array joblib read in place of one of its wrappers.
    Array,
    /// Something the reader cannot follow: the result of calling or reading an attribute
    /// of an object it does not know. The text says where it came from.
    Unresolved(String),
}

impl Kind<'_> {
    pub(crate) fn describe(&self) -> String {
        match self {
            Kind::Tuple => "a tuple".into(),
            Kind::List => "a list".into(),
            Kind::Dict => "a dict".into(),
            Kind::Set => "a set".into(),
            Kind::FrozenSet => "a frozenset".into(),
            Kind::Named(n) => n.path(),
            Kind::Made { by, .. } => format!("the result of calling {}", by.path()),
            Kind::AttrGetter(_) => "an operator.attrgetter".into(),
            Kind::MethodCaller(_) => "an operator.methodcaller".into(),
            Kind::Ext { code, .. } => format!("the global of extension code {code}"),
            Kind::Persistent(_) => "an object from a persistent id".into(),
            Kind::Buffer => "an out-of-band buffer".into(),
            Kind::Array => "a joblib array".into(),
            Kind::Unresolved(what) => what.clone(),
        }
    }

    fn mutable(&self) -> bool {
        matches!(
            self,
            Kind::List | Kind::Dict | Kind::Set | Kind::Made { .. }
        )
    }
}

#[derive(Debug)]
pub(crate) struct Obj<'a> {
    pub(crate) kind: Kind<'a>,
    /// The first `KEPT` items (dicts: key, value, key, value, ...).
    pub(crate) items: RefCell<Vec<Value<'a>>>,
    /// Items were left out.
    pub(crate) more: Cell<bool>,
}

impl<'a> Obj<'a> {
    pub(crate) fn new(kind: Kind<'a>) -> Rc<Self> {
        LIVE.with(|l| l.set(l.get() + 1));
        Rc::new(Obj {
            kind,
            items: RefCell::new(Vec::new()),
            more: Cell::new(false),
        })
    }

    pub(crate) fn with_items(kind: Kind<'a>, items: Vec<Value<'a>>, more: bool) -> Rc<Self> {
        let o = Obj::new(kind);
        *o.items.borrow_mut() = items;
        o.more.set(more);
        o
    }

    /// Adds items, keeping the first `KEPT` (`pairs`: dict items count two values each).
    pub(crate) fn extend(&self, mut new: Vec<Value<'a>>, pairs: bool) {
        let mut items = self.items.borrow_mut();
        let cap = if pairs { 2 * KEPT } else { KEPT };
        let room = cap - items.len().min(cap);
        if new.len() > room {
            new.truncate(room);
            self.more.set(true);
        }
        if items.is_empty() {
            *items = new;
        } else {
            items.append(&mut new);
        }
    }

    pub(crate) fn is_mutable(&self) -> bool {
        self.kind.mutable()
    }

    /// Records a BUILD state (`Made` objects only).
    pub(crate) fn add_state(&self, v: Value<'a>) {
        if let Kind::Made { state, .. } = &self.kind {
            let mut st = state.borrow_mut();
            if st.len() >= KEPT_STATES {
                st.remove(0);
                self.more.set(true);
            }
            st.push(v);
        }
    }

    /// Moves out every value this object holds (for dropping and cycle breaking).
    fn take_all(&mut self) -> Vec<Value<'a>> {
        let mut out = std::mem::take(self.items.get_mut());
        if let Kind::Made { args, state, .. } = &mut self.kind {
            out.extend(args.take());
            out.append(state.get_mut());
        }
        out
    }
}

impl Drop for Obj<'_> {
    fn drop(&mut self) {
        LIVE.with(|l| l.set(l.get().saturating_sub(1)));
        let mut pending = self.take_all();
        while let Some(v) = pending.pop() {
            if let Value::Obj(rc) = v {
                if let Ok(mut inner) = Rc::try_unwrap(rc) {
                    pending.extend(inner.take_all());
                    // `inner` drops here with nothing left inside it.
                }
            }
        }
    }
}

/// Mutable objects, held weakly so that whatever is still alive when the reader ends can
/// be emptied: that breaks every cycle, since immutable objects only hold older ones.
#[derive(Default)]
pub(crate) struct Registry<'a> {
    objs: Vec<Weak<Obj<'a>>>,
    prune_at: usize,
}

impl<'a> Registry<'a> {
    pub(crate) fn add(&mut self, o: &Rc<Obj<'a>>) {
        if !o.is_mutable() {
            return;
        }
        if self.objs.len() >= self.prune_at {
            self.objs.retain(|w| w.strong_count() > 0);
            self.prune_at = (2 * self.objs.len()).max(1024);
        }
        self.objs.push(Rc::downgrade(o));
    }
}

impl Drop for Registry<'_> {
    fn drop(&mut self) {
        let mut taken = Vec::new();
        for w in &self.objs {
            if let Some(o) = w.upgrade() {
                taken.extend(std::mem::take(&mut *o.items.borrow_mut()));
                if let Kind::Made { state, .. } = &o.kind {
                    taken.append(&mut state.borrow_mut());
                }
            }
        }
        self.objs.clear();
        // Dropped one at a time, iteratively (see `Obj::drop`).
        while let Some(v) = taken.pop() {
            drop(v);
        }
    }
}
