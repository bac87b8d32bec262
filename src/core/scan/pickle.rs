//! The pickle reader: follows every opcode of protocols 0 to 5 as a loader would, with a
//! model of its stack, mark stack and memo, and never runs anything.
//!
//! What it finds out is which globals loading would import and call, however the pickle
//! spells them: `GLOBAL`, `STACK_GLOBAL` (names from any string opcode, through any memo
//! form), `INST`, extension codes, and globals computed by calls (`getattr`,
//! `__import__`, `importlib.import_module`, `pkgutil.resolve_name`, `pydoc.locate`,
//! `operator.attrgetter`/`methodcaller`, numpy's `_ufunc_reconstruct`). Each distinct
//! global is classified once by the `Policy` and listed in `PickleScan::globals` with how
//! often it was named, which opcodes called it and whether `BUILD` set its state. Findings
//! (stable rule ids, one line each, naming the opcode; offsets are in the stream):
//!
//! * `Dangerous`: `pickle.dangerous-global` (the policy says so), `pickle.dynamic-global`
//!   (a computed global the policy says is dangerous), `pickle.build-global` (`BUILD` on a
//!   global itself, or on an object a dangerous global made; `SETITEM(S)`/`APPEND(S)`
//!   into a global: changing the running process).
//! * `Unknown`: `pickle.unknown-global` (the policy does not know it, or its name was
//!   computed in a way the reader cannot follow), `pickle.dynamic-call` (a call, `BUILD`
//!   or item assignment on an object the reader cannot resolve to a global),
//!   `pickle.extension-code` (`EXT1/2/4`: the global is whatever the loading process
//!   registered), `pickle.invalid` (the loader stops with an error there, after running
//!   everything before), `pickle.truncated`, `pickle.limit` (a `Limits` bound was reached:
//!   the rest is not read), `pickle.joblib-unsizable` (a joblib array whose size cannot
//!   be known: the rest of the stream cannot be found), `pickle.joblib-external`
//!   (joblib < 0.10 loads an array from another file with `allow_pickle=True`).
//! * `Info`: `pickle.trailing-data` (bytes after the last pickle that are not a pickle, or
//!   that the loader never reads), `pickle.persistent-id`, `pickle.out-of-band`,
//!   `pickle.joblib-external-data`, `pickle.joblib-wrapper` (joblib's array wrappers in a
//!   stream the container did not take for joblib's: it is read both ways, and what either
//!   reading finds is reported).
//!
//! PyTorch structure (`torch-zip` and `torch-legacy` streams): `torch.tensor-out-of-bounds`,
//! `torch.tensor-write` (see `tensors`), and `torch.storage-size-mismatch`,
//! `torch.storage-missing`, `torch.storage-truncated`, `torch.storage-unchecked` (a
//! storage's bytes against what its persistent id gives, see `storages`), all `Unknown`
//! except a `SETITEM(S)` into a tensor (`Dangerous`).
//!
//! A stream is safe when at least one pickle was read to its `STOP` and no finding is
//! above `Info`: every opcode of every pickle was read. Where loaders read the same bytes
//! differently (an argument running past the end of its frame, see `machine`), the
//! pickle is reported invalid and not read further.
//!
//! Several pickles: after each `STOP`, the bytes that follow are read as another pickle
//! (up to `max_pickles`). A loader reads one pickle per `load` call, so a second pickle
//! runs only for a loader that calls `load` again; it is read all the same, because such
//! loaders exist (legacy torch reads five). Bytes after the last pickle that do not form
//! one are `pickle.trailing-data`; if they name a global or do something else worth a
//! finding before breaking, they are a broken pickle and reported as such.
//!
//! Stream kinds (`container::kind`): `pickle` (the C unpickler), `torch-zip` (persistent
//! ids name storages: fine, and the storage type in them is a global classified like any
//! other), `torch-legacy` (five stacked pickles; persistent ids name storages or, as
//! `('module', cls, ...)`, return the class given in the id; the raw storage bytes after
//! the fifth pickle are not pickles: they are measured against the ids, in the order of
//! the key list the fifth pickle holds), `joblib` (Python's unpickler, with
//! joblib's inline arrays: see `joblib`), `npy-object` (one pickle, as `numpy.load`
//! reads it).
//!
//! Persistent ids in a plain `pickle` stream (and in joblib and npy streams): `pickle.load`
//! has no `persistent_load` and refuses them, so they run nothing by themselves; the id is
//! data the reader reads like any other (every global in it is classified). An
//! application with its own `persistent_load` decides what ids mean, which no file scan
//! can know: the id is an `Info` finding.
//!
//! Bounds: `Limits::max_opcodes` per stream, `Limits::max_pickle_items` for stack, marks,
//! memo and live objects together; declared lengths are checked against the bytes there,
//! never allocated; containers keep their first 64 items and decoded strings their first
//! KiB (what is not kept cannot name a global: a call whose arguments were not kept is
//! reported as unresolved); nothing recurses with the input's nesting.

mod calls;
mod joblib;
mod machine;
mod nested;
mod record;
mod storages;
mod tensors;
mod text;
mod value;

#[cfg(test)]
mod differential;
#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

pub use self::storages::StorageSizes;
pub(crate) use self::text::decimal_text;

use std::collections::HashSet;

use self::machine::{Failure, Halt, Mode, Persist};
use self::record::Records;
use super::container::{imports_global, kind, Gate, Stream};
use super::{Finding, Limits, Location, Policy, Severity, Verdict};

/// How a global was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamedBy {
    Global,
    StackGlobal,
    Inst,
    /// An extension code (`EXT1/2/4`); `module` and `name` are empty.
    Ext(i64),
    /// Computed while loading by calling this global (`builtins.getattr`, ...).
    Call(String),
}

/// One distinct global a stream names or computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalUse {
    pub module: String,
    /// Dotted for attribute walks; empty for a module imported by a call.
    pub name: String,
    /// Offset of the first opcode that named it.
    pub offset: u64,
    /// How it was first named.
    pub how: NamedBy,
    /// How many times it was named.
    pub count: u64,
    /// The opcodes that called it (`REDUCE`, `OBJ`, `INST`, `NEWOBJ`, `NEWOBJ_EX`).
    pub called_by: Vec<&'static str>,
    /// `BUILD` set its state, or its own (monkeypatching) or that of an object it made.
    pub state_set: bool,
    pub verdict: Verdict,
}

/// What reading a stream found.
#[derive(Debug, Clone)]
pub struct PickleScan {
    /// By offset.
    pub findings: Vec<Finding>,
    /// Pickles read to their `STOP`.
    pub pickles: usize,
    /// Where reading ended: after the last pickle read to its end (joblib arrays
    /// included), or where it stopped on a finding.
    pub end: u64,
    /// In the order first named.
    pub globals: Vec<GlobalUse>,
}

impl PickleScan {
    /// At least one pickle read to its `STOP`, and no finding above `Info`.
    pub fn safe(&self) -> bool {
        self.pickles >= 1 && self.findings.iter().all(|f| f.severity <= Severity::Info)
    }
}

/// The reader's state across the pickles of one stream.
pub(crate) struct Reader<'a, 'p> {
    pub(crate) data: &'a [u8],
    pub(crate) policy: &'p Policy,
    pub(crate) limits: &'p Limits,
    pub(crate) rec: Records,
    pub(crate) opcodes: u64,
    /// Live objects on this thread when the stream started.
    pub(crate) live_base: usize,
    /// What nested pickles (bytes a loader is called on) were found to hold.
    pub(crate) nested: Vec<Finding>,
    /// The PyTorch storages persistent ids named (see `storages`).
    pub(crate) storages: storages::Storages,
    /// The sizes of a PyTorch zip's storage members, when the container gave them.
    pub(crate) sizes: Option<&'a StorageSizes>,
}

/// Pickles in a legacy `torch.save` file: magic number, protocol version, system
/// information, the object, the storage keys.
const LEGACY_PICKLES: usize = 5;

/// Reads every pickle of `data` as the C unpickler does (`pickle.load`, called again
/// while bytes remain, up to `max_pickles` times).
pub fn scan_pickles(
    data: &[u8],
    policy: &Policy,
    limits: &Limits,
    location: &Location,
    max_pickles: Option<usize>,
) -> PickleScan {
    let mode = Mode {
        python: false,
        persist: Persist::Refused,
        joblib: false,
    };
    scan_mode(
        data,
        None,
        policy,
        limits,
        location,
        max_pickles,
        mode,
        true,
    )
}

/// The findings of a stream a container found (see the module documentation for the
/// kinds).
pub fn scan_stream(stream: &Stream<'_>, policy: &Policy, limits: &Limits) -> Vec<Finding> {
    read_stream(stream, policy, limits).findings
}

/// `scan_stream` with everything the reader found.
pub(crate) fn read_stream(stream: &Stream<'_>, policy: &Policy, limits: &Limits) -> PickleScan {
    let c_mode = |persist| Mode {
        python: false,
        persist,
        joblib: false,
    };
    let (mode, report_rest) = match stream.kind {
        kind::TORCH_ZIP => (c_mode(Persist::Torch), true),
        kind::TORCH_LEGACY => (c_mode(Persist::TorchLegacy), false),
        kind::JOBLIB => (
            Mode {
                python: true,
                persist: Persist::Refused,
                joblib: true,
            },
            true,
        ),
        _ => (c_mode(Persist::Refused), true),
    };
    scan_mode(
        stream.data,
        stream.storages,
        policy,
        limits,
        &stream.location,
        stream.max_pickles,
        mode,
        report_rest,
    )
}

#[allow(clippy::too_many_arguments)]
fn scan_mode<'a>(
    data: &'a [u8],
    sizes: Option<&'a StorageSizes>,
    policy: &Policy,
    limits: &Limits,
    location: &Location,
    max_pickles: Option<usize>,
    mode: Mode,
    report_rest: bool,
) -> PickleScan {
    let mut r = Reader {
        data,
        policy,
        limits,
        rec: Records::default(),
        opcodes: 0,
        live_base: value::live_objects(),
        nested: Vec::new(),
        storages: storages::Storages::default(),
        sizes,
    };
    let mut pos = 0;
    let mut pickles = 0;
    let mut end = 0u64;
    // Where the last pickle read to its STOP starts.
    let mut last = 0usize;
    if data.is_empty() {
        r.rec
            .note("pickle.truncated", Severity::Unknown, 0, "", None, || {
                "empty stream: no pickle to read (a loader fails on it)".into()
            });
    }
    while pos < data.len() {
        if max_pickles.is_some_and(|n| pickles >= n) {
            if report_rest {
                let n = data.len() - pos;
                r.rec.note("pickle.trailing-data", Severity::Info, pos as u64, "", None, || {
                    format!("{n} bytes after the last pickle the loader reads (it reads {pickles}): not loaded")
                });
            }
            break;
        }
        let before = r.rec.checkpoint();
        match r.run(pos, mode) {
            Ok((after_stop, file_pos)) => {
                pickles += 1;
                last = pos;
                end = file_pos as u64;
                if after_stop < file_pos {
                    // Pickles end their last frame with STOP. A loader reading bytes, or a
                    // file it can peek into, goes on right after STOP; one reading a file
                    // without peek (and Python's) after the frame.
                    let left = file_pos - after_stop;
                    r.rec.note("pickle.invalid", Severity::Unknown, (after_stop - 1) as u64, "", None, || {
                        format!("STOP leaves {left} bytes of its frame unread: loaders disagree on where a next pickle starts, so nothing after it is read")
                    });
                    end = after_stop as u64;
                    break;
                }
                pos = file_pos;
            }
            Err(f) => {
                let first = pickles == 0;
                // Where loaders disagree (frames), some loader goes on: always reported.
                let decisive = matches!(f.halt, Halt::Limit(_) | Halt::Frame(_));
                // Bytes from which some loader imports a global (Python's unpickler
                // imports INST's class before it looks for the MARK; C's fails first) are a
                // broken pickle, not trailing data.
                let imports = || imports_global(&data[pos..]) == Gate::Import;
                if first || decisive || r.rec.eventful_since(before) || imports() {
                    report_failure(&mut r, &f, first);
                    end = f.at;
                } else {
                    r.rec.rollback(before);
                    let n = data.len() - pos;
                    let why = describe_halt(&f.halt);
                    r.rec.note("pickle.trailing-data", Severity::Info, pos as u64, "", None, || {
                        format!("{n} bytes after the pickle that ends at offset {pos} are not a pickle ({why} at offset {}): a loader stops before them", f.at)
                    });
                }
                break;
            }
        }
    }
    // A legacy torch file: the fifth pickle lists the storages that follow it.
    if mode.persist == Persist::TorchLegacy && pickles == LEGACY_PICKLES {
        let e = end as usize;
        r.legacy_storages(&data[last..e], last as u64, e);
    }
    let mut findings = r.rec.findings(location);
    if !r.nested.is_empty() {
        findings.extend(nested::place(std::mem::take(&mut r.nested), location));
        findings.sort_by_key(|f| f.location.offset);
    }
    let mut scan = PickleScan {
        findings,
        pickles,
        end,
        globals: r.rec.global_uses(),
    };
    if r.rec.joblib_wrapper && !mode.joblib {
        drop(r);
        also_as_joblib(&mut scan, data, policy, limits, location, max_pickles);
    }
    scan
}

/// A stream not recognised as joblib's that builds joblib's array wrappers (their names
/// spelled with escapes, say) is what `joblib.load` reads with arrays inline: it is read
/// that way too, and what that reading finds is added.
fn also_as_joblib(
    scan: &mut PickleScan,
    data: &[u8],
    policy: &Policy,
    limits: &Limits,
    location: &Location,
    max_pickles: Option<usize>,
) {
    let mode = Mode {
        python: true,
        persist: Persist::Refused,
        joblib: true,
    };
    let other = scan_mode(
        data,
        None,
        policy,
        limits,
        location,
        max_pickles,
        mode,
        true,
    );
    let mut found = Records::default();
    found.note("pickle.joblib-wrapper", Severity::Info, 0, "", None, || {
        "joblib array wrappers in a stream not recognised as joblib's: read both as a pickle and as joblib.load reads it (arrays inline)".into()
    });
    scan.findings.extend(found.findings(location));
    let seen: HashSet<_> = scan
        .findings
        .iter()
        .map(|f| (f.rule, f.global.clone(), f.location.offset))
        .collect();
    for f in other.findings {
        if !seen.contains(&(f.rule, f.global.clone(), f.location.offset)) {
            scan.findings.push(f);
        }
    }
    scan.findings.sort_by_key(|f| f.location.offset);
    let named: HashSet<_> = scan
        .globals
        .iter()
        .map(|g| (g.module.clone(), g.name.clone()))
        .collect();
    for g in other.globals {
        if !named.contains(&(g.module.clone(), g.name.clone())) {
            scan.globals.push(g);
        }
    }
}

fn describe_halt(h: &Halt) -> String {
    match h {
        Halt::Truncated(s)
        | Halt::Invalid(s)
        | Halt::Frame(s)
        | Halt::Limit(s)
        | Halt::Unsizable(s) => s.clone(),
        Halt::At(_, inner) => describe_halt(inner),
    }
}

fn report_failure(r: &mut Reader<'_, '_>, f: &Failure, first: bool) {
    let which = if first {
        "the pickle"
    } else {
        "a further pickle in the stream"
    };
    let why = describe_halt(&f.halt);
    let (rule, message) = match &f.halt {
        Halt::Truncated(_) => (
            "pickle.truncated",
            format!("{which} is cut short ({why}): a loader runs everything before this point, then fails"),
        ),
        Halt::Invalid(_) => (
            "pickle.invalid",
            format!("{which} is invalid here ({why}): a loader runs everything before this point, then fails"),
        ),
        Halt::Frame(_) => (
            "pickle.invalid",
            format!("{which} is invalid here ({why}): loaders disagree on what follows (Python's fails, the C unpickler reads on or skips the rest of the frame), so it is not read further"),
        ),
        Halt::Limit(_) => ("pickle.limit", why),
        Halt::Unsizable(_) => (
            "pickle.joblib-unsizable",
            format!("joblib array wrapper whose array size cannot be worked out ({why}): where the pickle goes on is unknown, the rest is not read"),
        ),
        Halt::At(..) => unreachable!("resolved by Reader::run"),
    };
    r.rec
        .note(rule, Severity::Unknown, f.at, "", None, || message);
}
