//! The opcode machine: reads one pickle from a position of the stream, opcode by opcode,
//! with the stack, mark stack and memo a loader keeps, and never runs anything.
//!
//! Two loaders are modelled: the C unpickler (`pickle.load`, `torch.load`, numpy) and
//! Python's `pickle._Unpickler` (joblib's `NumpyUnpickler` and the nested pickles of its
//! object arrays). Both read a `FRAME` as a buffer: opcodes come from it until it is used
//! up, then from the file, while reads of the file itself (joblib's array bytes) start
//! after the frame. An opcode whose argument runs past the end of its frame, or a frame
//! that starts before the last one is used up, is invalid: Python's unpickler fails
//! there, and the C unpickler goes on in order when it reads bytes (`pickle.loads`) but
//! drops the rest of the frame when it reads a file without `peek` (`pickle.load` of a
//! `BytesIO`, as `torch.load` does), so loaders disagree on what follows. The C
//! unpickler wants a frame's bytes all there; Python's reads a text argument cut by the
//! end of the data without its last byte. Where a loader refuses input, the machine
//! reports the pickle as invalid: the loader stops there, after running everything
//! before it.

use std::collections::HashMap;

use super::text;
use super::value::{live_objects, Kind, Named, Obj, Registry, Text, Value, KEPT, MAX_STR};
use super::{NamedBy, Reader};
use crate::core::scan::Severity;

/// How the loader reads persistent ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Persist {
    /// `torch.load` of a zip: ids name storages.
    Torch,
    /// Legacy `torch.load`: ids name storages, or (`'module'`) a class given in the id.
    TorchLegacy,
    /// No `persistent_load`: `pickle.load` refuses the id.
    Refused,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Mode {
    /// `pickle._Unpickler` rather than the C unpickler (see the module documentation).
    pub(crate) python: bool,
    pub(crate) persist: Persist,
    /// joblib's `NumpyUnpickler`: array bytes follow the BUILD of each array wrapper.
    pub(crate) joblib: bool,
}

/// Why reading stopped before `STOP`.
#[derive(Debug, Clone)]
pub(crate) enum Halt {
    Truncated(String),
    Invalid(String),
    Limit(String),
    /// A joblib array wrapper whose array cannot be sized: where the pickle goes on is
    /// unknown.
    Unsizable(String),
    /// An opcode runs past the end of its frame, or a frame starts before the last one is
    /// used up: loaders disagree on what follows (see the module documentation).
    Frame(String),
    /// A halt at another offset than the current opcode's (inside a nested pickle).
    At(u64, Box<Halt>),
}

#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) at: u64,
    pub(crate) halt: Halt,
}

pub(crate) type Step<T> = Result<T, Halt>;

/// The memo: a vector for the keys pickles use (0, 1, 2, ... in order), a map for keys
/// far from them (a hostile pickle's), so that no key allocates more than `SLACK` slots.
#[derive(Default)]
pub(crate) struct Memo<'a> {
    dense: Vec<Option<Value<'a>>>,
    sparse: HashMap<u64, Value<'a>>,
    /// Entries set (what `MEMOIZE` takes as the next key).
    count: usize,
}

impl<'a> Memo<'a> {
    const SLACK: u64 = 1024;

    pub(crate) fn get(&self, key: u64) -> Option<&Value<'a>> {
        if key < self.dense.len() as u64 {
            self.dense[key as usize].as_ref()
        } else {
            self.sparse.get(&key)
        }
    }

    pub(crate) fn insert(&mut self, key: u64, v: Value<'a>) {
        let n = self.dense.len() as u64;
        if key >= n && key < n + Self::SLACK {
            let new_len = key as usize + 1;
            self.dense.resize(new_len, None);
            if !self.sparse.is_empty() {
                for k in n..=key {
                    if let Some(old) = self.sparse.remove(&k) {
                        self.dense[k as usize] = Some(old);
                    }
                }
            }
        }
        let old = if key < self.dense.len() as u64 {
            self.dense[key as usize].replace(v)
        } else {
            self.sparse.insert(key, v)
        };
        if old.is_none() {
            self.count += 1;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Slots held, empty ones of the vector included (what the items limit counts).
    pub(crate) fn slots(&self) -> usize {
        self.dense.len() + self.sparse.len()
    }
}

/// The state of one pickle being read.
pub(crate) struct Machine<'a> {
    pub(crate) mode: Mode,
    pub(crate) stack: Vec<Value<'a>>,
    pub(crate) marks: Vec<usize>,
    pub(crate) memo: Memo<'a>,
    pub(crate) registry: Registry<'a>,
    /// The file position (after the current frame while one is buffered).
    pub(crate) pos: usize,
    /// Python's frame buffer: the next byte and the end.
    pub(crate) frame: Option<(usize, usize)>,
    /// Offset of the opcode being read.
    pub(crate) at: usize,
    /// Offset of the opcode read before it.
    prev: usize,
}

impl<'a> Machine<'a> {
    fn new(mode: Mode, pos: usize) -> Self {
        Machine {
            mode,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: Memo::default(),
            registry: Registry::default(),
            pos,
            frame: None,
            at: pos,
            prev: pos,
        }
    }

    fn fence(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    pub(crate) fn pop(&mut self) -> Step<Value<'a>> {
        if self.stack.len() <= self.fence() {
            return Err(underflow());
        }
        Ok(self.stack.pop().expect("above the fence"))
    }

    pub(crate) fn top(&self) -> Step<&Value<'a>> {
        if self.stack.len() <= self.fence() {
            return Err(underflow());
        }
        Ok(self.stack.last().expect("above the fence"))
    }

    fn pop_mark(&mut self) -> Step<Vec<Value<'a>>> {
        let m = self
            .marks
            .pop()
            .ok_or_else(|| Halt::Invalid("could not find MARK".into()))?;
        Ok(self.stack.split_off(m))
    }

    pub(crate) fn push(&mut self, v: Value<'a>) {
        self.stack.push(v);
    }

    /// A new object (registered if it can be mutated).
    pub(crate) fn new_obj(&mut self, kind: Kind<'a>) -> Value<'a> {
        let o = Obj::new(kind);
        self.registry.add(&o);
        Value::Obj(o)
    }

    pub(crate) fn container(&mut self, kind: Kind<'a>, mut items: Vec<Value<'a>>) -> Value<'a> {
        let pairs = matches!(kind, Kind::Dict);
        let cap = if pairs { 2 * KEPT } else { KEPT };
        let more = items.len() > cap;
        items.truncate(cap);
        let o = Obj::with_items(kind, items, more);
        self.registry.add(&o);
        Value::Obj(o)
    }
}

fn underflow() -> Halt {
    Halt::Invalid("unpickling stack underflow".into())
}

/// The name pickletools gives an opcode.
pub(crate) fn op_name(op: u8) -> &'static str {
    match op {
        b'(' => "MARK",
        b'.' => "STOP",
        b'0' => "POP",
        b'1' => "POP_MARK",
        b'2' => "DUP",
        b'F' => "FLOAT",
        b'I' => "INT",
        b'J' => "BININT",
        b'K' => "BININT1",
        b'L' => "LONG",
        b'M' => "BININT2",
        b'N' => "NONE",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        b'R' => "REDUCE",
        b'S' => "STRING",
        b'T' => "BINSTRING",
        b'U' => "SHORT_BINSTRING",
        b'V' => "UNICODE",
        b'X' => "BINUNICODE",
        b'a' => "APPEND",
        b'b' => "BUILD",
        b'c' => "GLOBAL",
        b'd' => "DICT",
        b'}' => "EMPTY_DICT",
        b'e' => "APPENDS",
        b'g' => "GET",
        b'h' => "BINGET",
        b'i' => "INST",
        b'j' => "LONG_BINGET",
        b'l' => "LIST",
        b']' => "EMPTY_LIST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'q' => "BINPUT",
        b'r' => "LONG_BINPUT",
        b's' => "SETITEM",
        b't' => "TUPLE",
        b')' => "EMPTY_TUPLE",
        b'u' => "SETITEMS",
        b'G' => "BINFLOAT",
        0x80 => "PROTO",
        0x81 => "NEWOBJ",
        0x82 => "EXT1",
        0x83 => "EXT2",
        0x84 => "EXT4",
        0x85 => "TUPLE1",
        0x86 => "TUPLE2",
        0x87 => "TUPLE3",
        0x88 => "NEWTRUE",
        0x89 => "NEWFALSE",
        0x8a => "LONG1",
        0x8b => "LONG4",
        b'B' => "BINBYTES",
        b'C' => "SHORT_BINBYTES",
        0x8c => "SHORT_BINUNICODE",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x93 => "STACK_GLOBAL",
        0x94 => "MEMOIZE",
        0x95 => "FRAME",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown opcode",
    }
}

fn le(b: &[u8]) -> u64 {
    b.iter()
        .rev()
        .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
}

impl<'a> Reader<'a, '_> {
    /// Reads one pickle from `start`. Once `STOP` is read: the offset after it, and the
    /// loader's file position (after the frame `STOP` is in, for Python's unpickler).
    pub(crate) fn run(&mut self, start: usize, mode: Mode) -> Result<(usize, usize), Failure> {
        let mut m = Machine::new(mode, start);
        loop {
            m.at = match m.frame {
                Some((cur, end)) if cur < end => cur,
                _ => m.pos,
            };
            match self.step(&mut m) {
                Ok(false) => m.prev = m.at,
                Ok(true) => return Ok((m.at + 1, m.pos)),
                Err(Halt::At(at, halt)) => return Err(Failure { at, halt: *halt }),
                Err(halt) => {
                    return Err(Failure {
                        at: m.at as u64,
                        halt,
                    })
                }
            }
        }
    }

    pub(crate) fn read(&self, m: &mut Machine<'a>, n: usize, what: &str) -> Step<&'a [u8]> {
        if let Some((cur, end)) = m.frame {
            if cur == end && n != 0 {
                m.frame = None;
            } else if end - cur < n {
                return Err(Halt::Frame(format!(
                    "{what} needs {n} bytes, and its frame ends {} bytes on",
                    end - cur
                )));
            } else {
                m.frame = Some((cur + n, end));
                return Ok(&self.data[cur..cur + n]);
            }
        }
        let rest = self.data.len() - m.pos;
        if rest < n {
            return Err(Halt::Truncated(format!(
                "{what} needs {n} bytes, {rest} are left"
            )));
        }
        let s = &self.data[m.pos..m.pos + n];
        m.pos += n;
        Ok(s)
    }

    /// A `u64` length for an argument of `what`, checked against the bytes there.
    fn read_len(&self, m: &mut Machine<'a>, width: usize, what: &str) -> Step<usize> {
        let n = le(self.read(m, width, what)?);
        self.check_len(m, n, what)
    }

    /// A declared length checked against the bytes there (never allocated).
    fn check_len(&self, m: &Machine<'a>, n: u64, what: &str) -> Step<usize> {
        if let Some((cur, end)) = m.frame {
            if cur < end {
                if n > (end - cur) as u64 {
                    return Err(Halt::Frame(format!(
                        "{what} declares {n} bytes, and its frame ends {} bytes on",
                        end - cur
                    )));
                }
                return Ok(n as usize);
            }
        }
        let there = self.data.len() - m.pos;
        if n > there as u64 {
            if n > i64::MAX as u64 {
                return Err(Halt::Invalid(format!(
                    "{what} declares {n} bytes, more than the loader's maximum"
                )));
            }
            return Err(Halt::Truncated(format!(
                "{what} declares {n} bytes, {there} are left"
            )));
        }
        Ok(n as usize)
    }

    /// A line without its newline.
    fn readline(&self, m: &mut Machine<'a>, what: &str) -> Step<&'a [u8]> {
        if let Some((cur, end)) = m.frame {
            if cur == end {
                m.frame = None;
            } else {
                return match memchr::memchr(b'\n', &self.data[cur..end]) {
                    Some(i) => {
                        m.frame = Some((cur + i + 1, end));
                        Ok(&self.data[cur..cur + i])
                    }
                    None => Err(Halt::Frame(format!(
                        "the argument of {what} runs past the end of its frame"
                    ))),
                };
            }
        }
        let rest = &self.data[m.pos..];
        match memchr::memchr(b'\n', rest) {
            Some(i) => {
                m.pos += i + 1;
                Ok(&rest[..i])
            }
            // Python's `readline()[:-1]` drops the last byte of a line cut by the end.
            None if m.mode.python && !rest.is_empty() => {
                m.pos = self.data.len();
                Ok(&rest[..rest.len() - 1])
            }
            None => Err(Halt::Truncated(format!(
                "the argument of {what} has no newline before the end of the data"
            ))),
        }
    }

    fn check_limits(&mut self, m: &Machine<'a>) -> Step<()> {
        self.opcodes += 1;
        if self.opcodes > self.limits.max_opcodes {
            return Err(Halt::Limit(format!(
                "more than {} opcodes in this stream: the rest is not read",
                self.limits.max_opcodes
            )));
        }
        let items = m.stack.len()
            + m.marks.len()
            + m.memo.slots()
            + live_objects().saturating_sub(self.live_base);
        if items > self.limits.max_pickle_items {
            return Err(Halt::Limit(format!(
                "more than {} stack, memo and object entries: the rest is not read",
                self.limits.max_pickle_items
            )));
        }
        Ok(())
    }

    fn text(&self, decoded: Result<text::Decoded, String>, what: &str) -> Step<Value<'a>> {
        match decoded {
            Ok(Some(s)) => Ok(Value::Str(Text::Owned(s.into()))),
            Ok(None) => Ok(Value::LongStr),
            Err(e) => Err(Halt::Invalid(format!("{what}: {e}"))),
        }
    }

    fn utf8(&self, b: &'a [u8], what: &str) -> Step<Value<'a>> {
        match text::utf8_surrogatepass(b) {
            Ok(std::borrow::Cow::Borrowed(s)) => Ok(Value::Str(Text::Borrowed(s))),
            Ok(std::borrow::Cow::Owned(s)) if s.len() <= MAX_STR => {
                Ok(Value::Str(Text::Owned(s.into())))
            }
            Ok(std::borrow::Cow::Owned(_)) => Ok(Value::LongStr),
            Err(e) => Err(Halt::Invalid(format!("{what} is not UTF-8: {e}"))),
        }
    }

    /// Python 2 strings (`STRING`, `BINSTRING`, `SHORT_BINSTRING`): bytes the loader
    /// decodes with its encoding (ASCII by default; torch uses UTF-8).
    fn py2_bytes(&self, b: &'a [u8]) -> Value<'a> {
        match std::str::from_utf8(b) {
            Ok(s) => Value::Str(Text::Borrowed(s)),
            Err(_) if b.len() <= MAX_STR => {
                Value::Str(Text::Owned(String::from_utf8_lossy(b).into()))
            }
            Err(_) => Value::LongStr,
        }
    }

    fn int_line(&self, line: &[u8], what: &str) -> Step<Value<'a>> {
        match text::int_text(line) {
            Ok(Some(v)) => Ok(Value::Int(v)),
            Ok(None) => Ok(Value::BigInt),
            Err(e) => Err(Halt::Invalid(format!("{what}: {e}"))),
        }
    }

    fn memo_key(&self, line: &[u8], what: &str) -> Step<u64> {
        match text::decimal_text(line) {
            Ok(Some(v)) if v >= 0 => Ok(v as u64),
            Ok(_) => Err(Halt::Invalid(format!(
                "{what}: memo index {:?} out of range",
                text::shorten(&String::from_utf8_lossy(line))
            ))),
            Err(e) => Err(Halt::Invalid(format!("{what}: {e}"))),
        }
    }

    fn get(&self, m: &mut Machine<'a>, key: u64, what: &str) -> Step<()> {
        match m.memo.get(key) {
            Some(v) => {
                let v = v.clone();
                m.push(v);
                Ok(())
            }
            None => Err(Halt::Invalid(format!(
                "{what}: memo value not found at index {key}"
            ))),
        }
    }

    fn put(&self, m: &mut Machine<'a>, key: u64) -> Step<()> {
        let v = m.top()?.clone();
        m.memo.insert(key, v);
        Ok(())
    }

    fn long_bytes(&self, b: &[u8]) -> Value<'a> {
        if b.is_empty() {
            return Value::Int(0);
        }
        if b.len() > 8 {
            return Value::BigInt;
        }
        let mut v = le(b);
        let bits = 8 * b.len();
        if bits < 64 && b[b.len() - 1] & 0x80 != 0 {
            v |= u64::MAX << bits;
        }
        Value::Int(v as i64)
    }

    /// Reads and follows one opcode; `Ok(true)` after `STOP`.
    fn step(&mut self, m: &mut Machine<'a>) -> Step<bool> {
        let op = match self.read(m, 1, "opcode") {
            Ok(b) => b[0],
            Err(Halt::Truncated(_)) => {
                // Reported at the last opcode read, the end being no offset in the data.
                m.at = m.prev;
                return Err(Halt::Truncated(
                    "the data ends after this opcode, before the pickle's STOP".into(),
                ));
            }
            Err(e) => return Err(e),
        };
        self.check_limits(m)?;
        let name = op_name(op);
        match op {
            b'(' => m.marks.push(m.stack.len()),
            b'.' => {
                m.pop()?;
                return Ok(true);
            }
            b'0' => {
                if m.marks.last() == Some(&m.stack.len()) {
                    m.marks.pop();
                } else {
                    m.pop()?;
                }
            }
            b'1' => {
                m.pop_mark()?;
            }
            b'2' => {
                let v = m.top()?.clone();
                m.push(v);
            }
            b'F' => {
                let line = self.readline(m, name)?;
                let line = c_string(line, m.mode);
                if !text::is_float_text(line) {
                    return Err(Halt::Invalid(
                        "FLOAT: could not convert string to float".into(),
                    ));
                }
                m.push(Value::Float);
            }
            b'I' => {
                let line = self.readline(m, name)?;
                let v = match line {
                    b"00" => Value::Bool(false),
                    b"01" => Value::Bool(true),
                    // C's strtol stops at once on a NUL, which ends its C string: 0.
                    [0, ..] if !m.mode.python => Value::Int(0),
                    _ => self.int_line(c_string(line, m.mode), name)?,
                };
                m.push(v);
            }
            b'L' => {
                let line = self.readline(m, name)?;
                let line = line.strip_suffix(b"L").unwrap_or(line);
                let v = self.int_line(c_string(line, m.mode), name)?;
                m.push(v);
            }
            b'S' => {
                let line = self.readline(m, name)?;
                let v = self.text(text::python2_string(line), name)?;
                m.push(v);
            }
            b'V' => {
                let line = self.readline(m, name)?;
                let v = self.text(text::raw_unicode_escape(line), name)?;
                m.push(v);
            }
            b'N' => m.push(Value::None),
            b'a' => {
                let v = m.pop()?;
                self.add_items(m, vec![v], name)?;
            }
            b'b' => self.build(m)?,
            b'c' => {
                let module = self.readline(m, name)?;
                let qual = self.readline(m, name)?;
                let v = self.global_text(m, module, qual, NamedBy::Global, name, false)?;
                m.push(v);
            }
            b'd' => {
                let items = m.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(Halt::Invalid("odd number of items for DICT".into()));
                }
                let v = m.container(Kind::Dict, items);
                m.push(v);
            }
            b'g' => {
                let line = self.readline(m, name)?;
                let key = self.memo_key(c_string(line, m.mode), name)?;
                self.get(m, key, name)?;
            }
            b'i' => {
                let module = self.readline(m, name)?;
                let qual = self.readline(m, name)?;
                // The C unpickler finds the MARK first; Python's imports the class first.
                let (cls, args) = if m.mode.python {
                    let cls = self.global_text(m, module, qual, NamedBy::Inst, name, true)?;
                    (cls, m.pop_mark()?)
                } else {
                    let args = m.pop_mark()?;
                    let cls = self.global_text(m, module, qual, NamedBy::Inst, name, true)?;
                    (cls, args)
                };
                let args = m.container(Kind::Tuple, args);
                let v = self.call(m, &cls, &args, name)?;
                m.push(v);
            }
            b'l' => {
                let items = m.pop_mark()?;
                let v = m.container(Kind::List, items);
                m.push(v);
            }
            b'p' => {
                let line = self.readline(m, name)?;
                let key = self.memo_key(c_string(line, m.mode), name)?;
                self.put(m, key)?;
            }
            b's' => {
                let v = m.pop()?;
                let k = m.pop()?;
                self.add_items(m, vec![k, v], name)?;
            }
            b't' => {
                let items = m.pop_mark()?;
                let v = m.container(Kind::Tuple, items);
                m.push(v);
            }
            b'R' => {
                let args = m.pop()?;
                let f = m.pop()?;
                let v = self.call(m, &f, &args, name)?;
                m.push(v);
            }
            b'P' => {
                let line = self.readline(m, name)?;
                if !line.is_ascii() {
                    return Err(Halt::Invalid(
                        "PERSID: the persistent id is not ASCII".into(),
                    ));
                }
                let pid = self.py2_bytes(line);
                let v = self.persistent(m, pid, name);
                m.push(v);
            }
            b'Q' => {
                let pid = m.pop()?;
                let v = self.persistent(m, pid, name);
                m.push(v);
            }
            b'}' => {
                let v = m.new_obj(Kind::Dict);
                m.push(v);
            }
            b']' => {
                let v = m.new_obj(Kind::List);
                m.push(v);
            }
            b')' => {
                let v = m.new_obj(Kind::Tuple);
                m.push(v);
            }
            b'G' => {
                self.read(m, 8, name)?;
                m.push(Value::Float);
            }
            b'J' => {
                let b = self.read(m, 4, name)?;
                m.push(Value::Int(i64::from(i32::from_le_bytes(
                    b.try_into().expect("4 bytes"),
                ))));
            }
            b'K' => {
                let b = self.read(m, 1, name)?;
                m.push(Value::Int(i64::from(b[0])));
            }
            b'M' => {
                let b = self.read(m, 2, name)?;
                m.push(Value::Int(le(b) as i64));
            }
            b'T' => {
                let b = self.read(m, 4, name)?;
                if b[3] & 0x80 != 0 {
                    return Err(Halt::Invalid(
                        "BINSTRING pickle has negative byte count".into(),
                    ));
                }
                let n = self.check_len(m, le(b), name)?;
                let s = self.read(m, n, name)?;
                m.push(self.py2_bytes(s));
            }
            b'U' => {
                let n = self.read_len(m, 1, name)?;
                let s = self.read(m, n, name)?;
                m.push(self.py2_bytes(s));
            }
            b'X' | 0x8c | 0x8d => {
                let width = match op {
                    b'X' => 4,
                    0x8c => 1,
                    _ => 8,
                };
                let n = self.read_len(m, width, name)?;
                let s = self.read(m, n, name)?;
                let v = self.utf8(s, name)?;
                m.push(v);
            }
            b'B' | b'C' | 0x8e | 0x96 => {
                let width = match op {
                    b'B' => 4,
                    b'C' => 1,
                    _ => 8,
                };
                let n = self.read_len(m, width, name)?;
                let b = self.read(m, n, name)?;
                m.push(Value::Bytes(Some(b)));
            }
            b'h' | b'j' => {
                let b = self.read(m, if op == b'h' { 1 } else { 4 }, name)?;
                self.get(m, le(b), name)?;
            }
            b'q' | b'r' => {
                let b = self.read(m, if op == b'q' { 1 } else { 4 }, name)?;
                self.put(m, le(b))?;
            }
            0x94 => {
                let key = m.memo.len() as u64;
                self.put(m, key)?;
            }
            b'o' => {
                let mut items = m.pop_mark()?;
                if items.is_empty() {
                    return Err(underflow());
                }
                let args = items.split_off(1);
                let cls = items.pop().expect("one item");
                let args = m.container(Kind::Tuple, args);
                let v = self.call(m, &cls, &args, name)?;
                m.push(v);
            }
            b'e' => {
                let items = m.pop_mark()?;
                self.add_items(m, items, name)?;
            }
            b'u' => {
                let items = m.pop_mark()?;
                if items.len() % 2 != 0 {
                    return Err(Halt::Invalid("odd number of items for SETITEMS".into()));
                }
                self.add_items(m, items, name)?;
            }
            0x90 => {
                let items = m.pop_mark()?;
                self.add_items(m, items, name)?;
            }
            0x80 => {
                let b = self.read(m, 1, name)?;
                if b[0] > 5 {
                    return Err(Halt::Invalid(format!(
                        "unsupported pickle protocol: {}",
                        b[0]
                    )));
                }
            }
            0x81 | 0x92 => {
                if op == 0x92 {
                    m.pop()?; // the keyword arguments
                }
                let args = m.pop()?;
                let cls = m.pop()?;
                if !m.mode.python && known_not_tuple(&args) {
                    return Err(Halt::Invalid(format!(
                        "{name} args argument must be a tuple, not {}",
                        args.describe()
                    )));
                }
                let v = self.call(m, &cls, &args, name)?;
                m.push(v);
            }
            0x82..=0x84 => {
                let width = match op {
                    0x82 => 1,
                    0x83 => 2,
                    _ => 4,
                };
                let b = self.read(m, width, name)?;
                let code = if width == 4 {
                    i64::from(i32::from_le_bytes(b.try_into().expect("4 bytes")))
                } else {
                    le(b) as i64
                };
                if code <= 0 {
                    return Err(Halt::Invalid(format!("{name} specifies code <= 0")));
                }
                let id = self.rec.ext(code, name, m.at as u64);
                let v = m.new_obj(Kind::Ext { id, code });
                m.push(v);
            }
            0x85..=0x87 => {
                let n = usize::from(op - 0x84);
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(m.pop()?);
                }
                items.reverse();
                let v = m.container(Kind::Tuple, items);
                m.push(v);
            }
            0x88 => m.push(Value::Bool(true)),
            0x89 => m.push(Value::Bool(false)),
            0x8a => {
                let n = self.read_len(m, 1, name)?;
                let b = self.read(m, n, name)?;
                m.push(self.long_bytes(b));
            }
            0x8b => {
                let b = self.read(m, 4, name)?;
                if b[3] & 0x80 != 0 {
                    return Err(Halt::Invalid("LONG pickle has negative byte count".into()));
                }
                let n = self.check_len(m, le(b), name)?;
                let b = self.read(m, n, name)?;
                m.push(self.long_bytes(b));
            }
            0x8f => {
                let v = m.new_obj(Kind::Set);
                m.push(v);
            }
            0x91 => {
                let items = m.pop_mark()?;
                let v = m.container(Kind::FrozenSet, items);
                m.push(v);
            }
            0x93 => {
                let qual = m.pop()?;
                let module = m.pop()?;
                let v = self.stack_global(m, &module, &qual)?;
                m.push(v);
            }
            0x95 => self.frame(m)?,
            0x97 => {
                self.rec.note(
                    "pickle.out-of-band",
                    Severity::Info,
                    m.at as u64,
                    "",
                    None,
                    || {
                        "NEXT_BUFFER takes an out-of-band buffer, which pickle.load refuses unless the caller passes buffers".into()
                    },
                );
                let v = m.new_obj(Kind::Buffer);
                m.push(v);
            }
            0x98 => {
                m.top()?;
            }
            _ => {
                return Err(Halt::Invalid(format!("invalid load key 0x{op:02x}")));
            }
        }
        Ok(false)
    }

    fn frame(&mut self, m: &mut Machine<'a>) -> Step<()> {
        let b = self.read(m, 8, "FRAME")?;
        let n = le(b);
        let rest = (self.data.len() - m.pos) as u64;
        if !m.mode.python && n > rest {
            // The C unpickler wants the whole frame there (Python's takes what there is).
            return Err(Halt::Truncated(format!(
                "FRAME declares {n} bytes, {rest} are left"
            )));
        }
        if n > i64::MAX as u64 {
            return Err(Halt::Invalid(format!("frame size > sys.maxsize: {n}")));
        }
        if let Some((cur, end)) = m.frame {
            if cur < end {
                return Err(Halt::Frame(
                    "beginning of a new frame before end of current frame".into(),
                ));
            }
        }
        let start = m.pos;
        let end = start + (n.min((self.data.len() - start) as u64) as usize);
        m.pos = end;
        m.frame = Some((start, end));
        Ok(())
    }

    /// `GLOBAL` and `INST`: the module and name lines (UTF-8, or ASCII for `INST`).
    fn global_text(
        &mut self,
        m: &mut Machine<'a>,
        module: &'a [u8],
        qual: &'a [u8],
        how: NamedBy,
        op: &'static str,
        ascii: bool,
    ) -> Step<Value<'a>> {
        let decode = |b: &'a [u8]| -> Step<&'a str> {
            if b.is_empty() {
                return Err(Halt::Invalid(format!("{op}: an empty line for a name")));
            }
            if ascii && !b.is_ascii() {
                return Err(Halt::Invalid(format!("{op}: a name that is not ASCII")));
            }
            std::str::from_utf8(b)
                .map_err(|_| Halt::Invalid(format!("{op}: a name that is not UTF-8")))
        };
        let module = decode(module)?;
        let qual = decode(qual)?;
        Ok(self.named(m, module, qual, how, op))
    }

    /// A global named by `GLOBAL`, `STACK_GLOBAL` or `INST`.
    pub(crate) fn named(
        &mut self,
        m: &mut Machine<'a>,
        module: &str,
        qual: &str,
        how: NamedBy,
        op: &'static str,
    ) -> Value<'a> {
        let n = self
            .rec
            .name(self.policy, module, qual, || how, op, m.at as u64);
        m.new_obj(Kind::Named(n))
    }

    fn stack_global(
        &mut self,
        m: &mut Machine<'a>,
        module: &Value<'a>,
        qual: &Value<'a>,
    ) -> Step<Value<'a>> {
        if let (Some(mo), Some(q)) = (module.as_str(), qual.as_str()) {
            let (mo, q) = (mo.to_string(), q.to_string());
            return Ok(self.named(m, &mo, &q, NamedBy::StackGlobal, "STACK_GLOBAL"));
        }
        for v in [module, qual] {
            if known_not_str(v) {
                return Err(Halt::Invalid(format!(
                    "STACK_GLOBAL requires str, not {}",
                    v.describe()
                )));
            }
        }
        let what = |v: &Value<'a>| match v {
            Value::Str(t) => format!("'{}'", text::shorten(t.as_str())),
            Value::LongStr => format!("a str longer than {MAX_STR} bytes"),
            other => format!("{} (computed while loading)", other.describe()),
        };
        let desc = format!("module {}, name {}", what(module), what(qual));
        self.rec.note(
            "pickle.unknown-global",
            Severity::Unknown,
            m.at as u64,
            &desc,
            None,
            || format!("STACK_GLOBAL imports a global the reader cannot name: {desc}"),
        );
        Ok(m.new_obj(Kind::Unresolved(format!(
            "the global STACK_GLOBAL imports from {desc}"
        ))))
    }

    fn persistent(&mut self, m: &mut Machine<'a>, pid: Value<'a>, op: &'static str) -> Value<'a> {
        match m.mode.persist {
            Persist::Torch => {
                let storage = self.storage_id(&pid, false, m.at as u64);
                m.new_obj(Kind::Persistent(storage))
            }
            Persist::TorchLegacy => {
                // `('module', cls, source_file, source)`: the loader returns `cls`.
                match pid.items() {
                    Some(items) if items.len() >= 2 && items[0].as_str() == Some("module") => {
                        items[1].clone()
                    }
                    _ => {
                        let storage = self.storage_id(&pid, true, m.at as u64);
                        m.new_obj(Kind::Persistent(storage))
                    }
                }
            }
            Persist::Refused => {
                self.rec.note(
                    "pickle.persistent-id",
                    Severity::Info,
                    m.at as u64,
                    "",
                    None,
                    || format!("{op} hands a persistent id to the loader, which pickle.load refuses unless the caller defines persistent_load (the id itself was read)"),
                );
                m.new_obj(Kind::Persistent(None))
            }
        }
    }
}

/// Whether `v` is known not to be a tuple (the C unpickler's `NEWOBJ` fails on it).
fn known_not_tuple(v: &Value<'_>) -> bool {
    match v {
        Value::Obj(o) => matches!(
            o.kind,
            Kind::List
                | Kind::Dict
                | Kind::Set
                | Kind::FrozenSet
                | Kind::AttrGetter(_)
                | Kind::MethodCaller(_)
                | Kind::Buffer
                | Kind::Array
        ),
        _ => true,
    }
}

/// Whether `v` is known not to be a str (so `STACK_GLOBAL` fails on it).
fn known_not_str(v: &Value<'_>) -> bool {
    match v {
        Value::Str(_) | Value::LongStr => false,
        Value::Obj(o) => matches!(
            o.kind,
            Kind::Tuple
                | Kind::List
                | Kind::Dict
                | Kind::Set
                | Kind::FrozenSet
                | Kind::AttrGetter(_)
                | Kind::MethodCaller(_)
                | Kind::Buffer
                | Kind::Array
        ),
        _ => true,
    }
}

impl Named {
    pub(crate) fn is(&self, path: &str) -> bool {
        path.len() == self.module.len() + usize::from(!self.qual.is_empty()) + self.qual.len()
            && path.starts_with(&*self.module)
            && (self.qual.is_empty()
                || (path.as_bytes()[self.module.len()] == b'.' && path.ends_with(&*self.qual)))
    }
}

/// The number argument of `INT`, `LONG`, `FLOAT`, `GET` and `PUT` as the C unpickler
/// parses it: `strtol`, `PyLong_FromString` and `PyOS_string_to_double` read a C string,
/// which ends at the first NUL (`I12\x00junk` is 12 there); Python's `int()` and `float()`
/// refuse the NUL.
fn c_string(line: &[u8], mode: Mode) -> &[u8] {
    if mode.python {
        return line;
    }
    match memchr::memchr(0, line) {
        Some(i) => &line[..i],
        None => line,
    }
}
