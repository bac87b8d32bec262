//! Which format a byte string holds, from its first bytes, never from a name.
//!
//! Magic numbers come first (zip, gzip, bzip2, xz, lzma-alone, zlib, joblib's old `ZF`
//! files, lz4, zstd and their skippable frames, 7z, rar, lzip, Unix compress, npy, HDF5,
//! tar, safetensors). Pickles have no magic number, so
//! `looks_like_pickle` is a heuristic, documented as such: it walks the opcodes from the
//! start the way an unpickler would (known opcode, well-formed argument, enough items on
//! the stack, memo keys that exist) without building anything, and calls the data a
//! pickle when
//!
//! * it starts with `PROTO` (protocol 0 to 5) and the walk stays valid up to `STOP`, the
//!   end of the data, or 64 opcodes; or
//! * the walk reaches an opcode that imports (`GLOBAL`, `INST`, `STACK_GLOBAL` with two
//!   strings, `EXT1/2/4`) and stays valid after it up to a call (`REDUCE`, `BUILD`, `OBJ`, `NEWOBJ`,
//!   `NEWOBJ_EX`, `INST`), `STOP`, or the end of the data inside a later opcode (data
//!   ending right after the import is a text file such as `click\nrich\n` far more often
//!   than a pickle cut exactly there, and an import alone calls nothing); or
//! * without `PROTO`, the walk ends on `STOP` as the last non-blank byte of the data (a
//!   whole protocol 0/1 pickle).
//!
//! Anything that could run code on `pickle.load` must import before it calls, with every
//! opcode before that valid (an unpickler stops at the first bad one), so a pickle that
//! runs code is always caught by the second rule; the other two only name harmless
//! pickles. Text (README, JSON, Python source, requirements files) fails the walk within a
//! few bytes, and so do random bytes such as tensor data.
//!
//! A magic number says what a file may be, never that it is not also a pickle: weak magic
//! numbers (`(S` is a valid zlib header, `ustar` at byte 257, HDF5 at byte 512, a length
//! prefix and `{`) can sit at the start of, or inside an argument of, a pickle that runs
//! from byte 0. `imports_global` answers the question that matters for those: would
//! CPython's C unpickler or its Python one (`pickle._Unpickler`, joblib's), reading from
//! byte 0 pickle after pickle, reach `find_class` with a module `__import__` can resolve
//! (a dotted identifier)? The containers read every such content with the pickle reader
//! whatever its format (see `container`).

use std::collections::HashMap;

/// A format recognised by content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Empty,
    Zip,
    Gzip,
    Bzip2,
    Xz,
    LzmaAlone,
    Zlib,
    /// joblib < 0.10: `ZF`, the hexadecimal length, then zlib data.
    JoblibZfile,
    Lz4,
    Zstd,
    /// Archives and streams no decoder here reads: `unknown` whatever they hold.
    SevenZip,
    Rar,
    Lzip,
    /// Unix `compress` (`.Z`, LZW).
    Compress,
    Npy,
    Hdf5,
    Tar,
    TorchLegacy,
    Pickle,
    Safetensors,
    Json,
    /// llama.cpp's GGUF (`gguf`).
    Gguf,
    /// An ONNX `ModelProto` (`onnx`).
    Onnx,
    /// A TensorFlow `SavedModel` message, `saved_model.pb` (`tf-savedmodel`).
    TfSavedModel,
    /// A TensorFlow `GraphDef`, a frozen graph (`tf-graphdef`).
    TfGraphDef,
    /// tf.keras's `keras_metadata.pb` (`keras-metadata`).
    KerasMetadata,
    Other,
}

impl Format {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Empty => "empty",
            Format::Zip => "zip",
            Format::Gzip => "gzip",
            Format::Bzip2 => "bzip2",
            Format::Xz => "xz",
            Format::LzmaAlone => "lzma",
            Format::Zlib => "zlib",
            Format::JoblibZfile => "joblib-zfile",
            Format::Lz4 => "lz4",
            Format::Zstd => "zstd",
            Format::SevenZip => "7z",
            Format::Rar => "rar",
            Format::Lzip => "lzip",
            Format::Compress => "compress",
            Format::Npy => "npy",
            Format::Hdf5 => "hdf5",
            Format::Tar => "tar",
            Format::TorchLegacy => "torch-legacy",
            Format::Pickle => "pickle",
            Format::Safetensors => "safetensors",
            Format::Json => "json",
            Format::Gguf => "gguf",
            Format::Onnx => "onnx",
            Format::TfSavedModel => "tf-savedmodel",
            Format::TfGraphDef => "tf-graphdef",
            Format::KerasMetadata => "keras-metadata",
            Format::Other => "other",
        }
    }

    /// Whether scanning needs every byte (not just a prefix) of the content.
    pub(crate) fn needs_all(self) -> bool {
        matches!(
            self,
            Format::Zip
                | Format::Gzip
                | Format::Bzip2
                | Format::Xz
                | Format::LzmaAlone
                | Format::Zlib
                | Format::Zstd
                | Format::Lz4
                | Format::JoblibZfile
                | Format::Tar
                | Format::TorchLegacy
                | Format::Pickle
                | Format::Json
                | Format::Gguf
                | Format::Onnx
                | Format::TfSavedModel
                | Format::TfGraphDef
                | Format::KerasMetadata
        )
    }
}

pub(crate) const XZ_MAGIC: &[u8] = b"\xfd7zXZ\x00";
pub(crate) const HDF5_MAGIC: &[u8] = b"\x89HDF\r\n\x1a\n";
/// `torch.serialization.MAGIC_NUMBER` (0x1950a86a20f9469cfc6c) as pickled by protocol 2+:
/// `LONG1` with 10 little-endian bytes.
const TORCH_MAGIC_LONG1: &[u8] = b"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19";
/// The same number pickled by protocols 0 and 1 (`LONG` in decimal).
const TORCH_MAGIC_LONG: &[u8] = b"L119547037146038801333356L\n";

/// The format of `data`, the first bytes of content whose full length is `len`.
pub(crate) fn sniff(data: &[u8], len: u64) -> Format {
    if len == 0 {
        return Format::Empty;
    }
    let d = data;
    if d.starts_with(b"PK\x03\x04")
        || d.starts_with(b"PK\x05\x06")
        || d.starts_with(b"PK\x07\x08PK\x03\x04")
        || d.starts_with(b"PK00PK\x03\x04")
    {
        return Format::Zip;
    }
    if d.starts_with(b"\x1f\x8b\x08") {
        return Format::Gzip;
    }
    if d.len() >= 4 && d.starts_with(b"BZh") && (b'1'..=b'9').contains(&d[3]) {
        return Format::Bzip2;
    }
    if d.starts_with(XZ_MAGIC) {
        return Format::Xz;
    }
    if d.starts_with(b"ZF0x") {
        return Format::JoblibZfile;
    }
    // The LZ4 frame format, and the legacy one (`lz4 -l`).
    if d.starts_with(b"\x04\x22\x4d\x18") || d.starts_with(b"\x02\x21\x4c\x18") {
        return Format::Lz4;
    }
    if d.starts_with(b"\x28\xb5\x2f\xfd") {
        return Format::Zstd;
    }
    // A skippable frame (0x184D2A50-5F) starts zstd and LZ4 streams alike: a decoder
    // skips it and reads the frame after it.
    if d.len() >= 4 && d[0] & 0xf0 == 0x50 && d[1..4] == *b"\x2a\x4d\x18" {
        return skippable(d);
    }
    if d.starts_with(b"7z\xbc\xaf\x27\x1c") {
        return Format::SevenZip;
    }
    if d.starts_with(b"Rar!\x1a\x07") {
        return Format::Rar;
    }
    if d.starts_with(b"LZIP") {
        return Format::Lzip;
    }
    if d.starts_with(b"\x1f\x9d") {
        return Format::Compress;
    }
    if d.starts_with(b"\x93NUMPY") {
        return Format::Npy;
    }
    if d.starts_with(HDF5_MAGIC) || d.get(512..520) == Some(HDF5_MAGIC) {
        return Format::Hdf5;
    }
    if d.get(257..262) == Some(b"ustar") {
        return Format::Tar;
    }
    if is_torch_legacy(d) {
        return Format::TorchLegacy;
    }
    if is_lzma_alone(d) {
        return Format::LzmaAlone;
    }
    if is_zlib(d) {
        return Format::Zlib;
    }
    if looks_like_pickle(d) {
        return Format::Pickle;
    }
    if is_safetensors(d, len) {
        return Format::Safetensors;
    }
    if super::gguf::is_gguf(d) {
        return Format::Gguf;
    }
    if super::onnx::is_onnx(d) {
        return Format::Onnx;
    }
    if super::savedmodel::is_saved_model(d) {
        return Format::TfSavedModel;
    }
    if super::savedmodel::is_graph_def(d) {
        return Format::TfGraphDef;
    }
    if super::savedmodel::is_keras_metadata(d) {
        return Format::KerasMetadata;
    }
    if d.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return Format::Json;
    }
    Format::Other
}

/// What follows skippable frames: the format of the first frame that is not one (zstd
/// when the data ends in them).
fn skippable(d: &[u8]) -> Format {
    let mut pos = 0usize;
    while let Some(h) = d.get(pos..pos + 8) {
        if !(h[0] & 0xf0 == 0x50 && h[1..4] == *b"\x2a\x4d\x18") {
            break;
        }
        let n = u32::from_le_bytes(h[4..8].try_into().unwrap());
        pos = pos.saturating_add(8).saturating_add(n as usize);
    }
    match d.get(pos..pos + 4) {
        Some(b"\x04\x22\x4d\x18") | Some(b"\x02\x21\x4c\x18") => Format::Lz4,
        _ => Format::Zstd,
    }
}

/// The legacy `torch.save` format starts with its magic number pickled on its own (any
/// protocol; protocols 4 and 5 put a `FRAME` first).
fn is_torch_legacy(d: &[u8]) -> bool {
    if d.starts_with(TORCH_MAGIC_LONG) {
        return true;
    }
    if d.len() < 2 || d[0] != 0x80 || !(2..=5).contains(&d[1]) {
        return false;
    }
    let body = if d.get(2) == Some(&0x95) {
        d.get(11..)
    } else {
        d.get(2..)
    };
    body.is_some_and(|b| b.starts_with(TORCH_MAGIC_LONG1))
}

/// joblib writes `.lzma` files with Python's `FORMAT_ALONE`: a properties byte (0x5d for
/// every preset), the dictionary size (u32 LE) and the unpacked size (u64 LE, all ones
/// when unknown). joblib itself recognises them by `5d 00`.
fn is_lzma_alone(d: &[u8]) -> bool {
    d.len() >= 13 && d[0] == 0x5d && d[1] == 0x00
}

/// RFC 1950: deflate (CM 8), window at most 32 KiB, header check, no preset dictionary.
fn is_zlib(d: &[u8]) -> bool {
    d.len() >= 2
        && d[0] & 0x0f == 8
        && d[0] >> 4 <= 7
        && (u16::from(d[0]) << 8 | u16::from(d[1])) % 31 == 0
        && d[1] & 0x20 == 0
}

/// An 8-byte little-endian header length and then a JSON object. A length that does not
/// fit the file still counts when the length bytes are not text (a hostile length, for the
/// checker to report), so that text with a `{` at byte 8 is not taken for safetensors.
fn is_safetensors(d: &[u8], len: u64) -> bool {
    if d.len() < 9 || d[8] != b'{' {
        return false;
    }
    let n = u64::from_le_bytes(d[..8].try_into().unwrap());
    n <= len.saturating_sub(8) || !d[..8].iter().all(|b| (0x20..0x7f).contains(b))
}

// ---------------------------------------------------------------------------------------
// The pickle walk

/// What `imports_global` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gate {
    /// A loader reaches `find_class` (or an extension code and then a call) with these
    /// bytes, or the walk cannot tell (past its item bound): read them as a pickle.
    Import,
    /// Every loader stops with an error before any import.
    No,
    /// The bytes end with every opcode valid and no import yet: with more bytes (when
    /// these are a prefix) there may be one.
    Eof,
}

/// Whether a loader reading `d` from byte 0 imports a global (see the module
/// documentation): the walk of `looks_like_pickle`, made to follow each loader exactly
/// where it matters for reaching an import. Persistent ids stop it (`pickle.load` and
/// `torch.load`'s first, plain load refuse them); `STOP` does not (loaders that load again
/// read on, with the memo kept, a superset of what a fresh unpickler accepts); memo keys
/// are read as `int()` reads them (`1_0`, `+3`, `-0`); a line cut by the end of the data
/// is what Python's `readline()[:-1]` makes of it; `INST` imports before it looks for its
/// `MARK` in Python's unpickler and after in C's; an extension code counts once something
/// is called after it (a stock registry is empty, a loading process may have filled it);
/// past its item bound the walk answers `Import`.
pub(crate) fn imports_global(d: &[u8]) -> Gate {
    let mut eof = false;
    // C reading bytes or a file with peek (linear), C reading a file without peek,
    // Python's unpickler.
    for (python, no_peek) in [(false, false), (false, true), (true, false)] {
        let mut w = Walk::new(d, false);
        w.gate = Some(python);
        w.no_peek = no_peek;
        match w.run() {
            End::Limit => return Gate::Import,
            _ if w.imported => return Gate::Import,
            End::Eof => eof = true,
            _ => {}
        }
    }
    if eof {
        Gate::Eof
    } else {
        Gate::No
    }
}

impl Format {
    /// Whether content sniffed as this format may also be a pickle from byte 0 that a
    /// loader reads (every format but the pickle ones, which are read from byte 0 already).
    pub(crate) fn may_hide_pickle(self) -> bool {
        !matches!(self, Format::Pickle | Format::TorchLegacy | Format::Empty)
    }
}

/// A module name `__import__` can resolve: dotted identifiers (Python's rules, with
/// Unicode letters and digits taken loosely). Anything else fails to import, so
/// `find_class` raises before any module code runs.
fn importable(module: &str) -> bool {
    module.split('.').all(|part| {
        let mut cs = part.chars();
        cs.next().is_some_and(|c| c == '_' || c.is_alphabetic())
            && cs.all(|c| c == '_' || c.is_alphanumeric())
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tag {
    Str,
    Other,
}

#[derive(PartialEq, Eq, Debug)]
enum End {
    Stop,
    Eof,
    Invalid,
    Limit,
}

/// Opcodes walked before a `PROTO` pickle counts as one without reaching its end.
const PROTO_OPCODES: usize = 64;
/// Memo entries and marks tracked before the walk gives up (and calls it a pickle).
const WALK_ITEMS: usize = 1 << 20;

/// See the module documentation.
pub(crate) fn looks_like_pickle(d: &[u8]) -> bool {
    let proto = d.len() >= 2 && d[0] == 0x80 && d[1] <= 5;
    let mut w = Walk::new(d, proto);
    let end = w.run();
    if proto && (end != End::Invalid || w.opcodes >= PROTO_OPCODES) {
        return true;
    }
    let more_after_import = w.import_end < d.len();
    if w.imported
        && (w.called_after_import
            || end == End::Stop
            || end == End::Limit
            || (end == End::Eof && more_after_import))
    {
        return true;
    }
    !proto
        && end == End::Stop
        && w.opcodes >= 2
        && d[w.pos..].iter().all(|b| b.is_ascii_whitespace())
}

struct Walk<'a> {
    d: &'a [u8],
    proto: bool,
    pos: usize,
    stack: Vec<Tag>,
    marks: Vec<usize>,
    memo: HashMap<u64, Tag>,
    opcodes: usize,
    imported: bool,
    /// Where the first importing opcode ended.
    import_end: usize,
    called_after_import: bool,
    /// `Some(python)`: the walk of `imports_global` for the C (`false`) or Python loader.
    gate: Option<bool>,
    /// The gate's walk met an extension code.
    ext: bool,
    /// The gate's walk for the C unpickler reading a file without `peek` (`io.BytesIO`):
    /// frames are buffered, and a read past the buffer drops its rest.
    no_peek: bool,
    /// How far that reader has read the file (its buffer ends there).
    file_pos: usize,
}

/// `Err(end)` stops the walk.
type Step<T> = Result<T, End>;

impl<'a> Walk<'a> {
    fn new(d: &'a [u8], proto: bool) -> Self {
        Walk {
            d,
            proto,
            pos: 0,
            stack: Vec::new(),
            marks: Vec::new(),
            memo: HashMap::new(),
            opcodes: 0,
            imported: false,
            import_end: 0,
            called_after_import: false,
            gate: None,
            ext: false,
            no_peek: false,
            file_pos: 0,
        }
    }

    fn run(&mut self) -> End {
        loop {
            if self.pos >= self.d.len() {
                return End::Eof;
            }
            if self.memo.len() + self.marks.len() + self.stack.len() > WALK_ITEMS {
                return End::Limit;
            }
            let op = match self.take(1) {
                Ok(b) => b[0],
                Err(e) => return e,
            };
            match self.step(op) {
                Ok(true) if self.gate.is_some() => {
                    // Loaders that load again start on the next byte of the file with a
                    // new stack (after the frame, for a reader without peek).
                    self.opcodes += 1;
                    self.stack.clear();
                    self.marks.clear();
                    self.pos = self.file_pos.max(self.pos);
                }
                Ok(true) => {
                    self.opcodes += 1;
                    return End::Stop;
                }
                Ok(false) => self.opcodes += 1,
                Err(e) => return e,
            }
            if self.gate.is_some() && self.imported {
                return End::Stop;
            }
            if self.proto && self.opcodes >= PROTO_OPCODES {
                return End::Limit;
            }
        }
    }

    fn take(&mut self, n: usize) -> Step<&'a [u8]> {
        // Without peek, C serves a read from its buffer (a frame) only when all of it is
        // there; otherwise it drops the rest and reads from the file after it.
        if self.no_peek && self.pos + n > self.file_pos {
            self.pos = self.file_pos;
        }
        if self.d.len() - self.pos < n {
            self.pos = self.d.len();
            self.file_pos = self.pos;
            return Err(End::Eof);
        }
        let s = &self.d[self.pos..self.pos + n];
        self.pos += n;
        self.file_pos = self.file_pos.max(self.pos);
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Step<u64> {
        let b = self.take(n)?;
        let mut v = 0u64;
        for (i, x) in b.iter().enumerate() {
            v |= u64::from(*x) << (8 * i);
        }
        Ok(v)
    }

    fn line(&mut self) -> Step<&'a [u8]> {
        if self.no_peek && memchr::memchr(b'\n', &self.d[self.pos..self.file_pos]).is_none() {
            self.pos = self.file_pos;
        }
        match memchr::memchr(b'\n', &self.d[self.pos..]) {
            Some(i) => {
                let s = &self.d[self.pos..self.pos + i];
                self.pos += i + 1;
                self.file_pos = self.file_pos.max(self.pos);
                Ok(s)
            }
            // Python's `readline()[:-1]` drops the last byte of a line the end cuts (and
            // makes an empty line of no bytes at all).
            None if self.gate == Some(true) => {
                let s = &self.d[self.pos..];
                self.pos = self.d.len();
                Ok(&s[..s.len().saturating_sub(1)])
            }
            None => {
                self.pos = self.d.len();
                Err(End::Eof)
            }
        }
    }

    /// The module and name lines of `GLOBAL`/`INST`, for the loaders' `find_class`:
    /// whether they reach an import. `Err` where a loader fails first.
    fn names(&mut self, ascii: bool) -> Step<()> {
        let python = self.gate == Some(true);
        let decode = |l: &'a [u8]| -> Step<&'a str> {
            // C's readline needs a byte before the newline.
            if (!python && l.is_empty()) || (ascii && !l.is_ascii()) {
                return Err(End::Invalid);
            }
            std::str::from_utf8(l).map_err(|_| End::Invalid)
        };
        let module = decode(self.line()?)?;
        decode(self.line()?)?;
        if !importable(module) {
            // `__import__` fails: find_class raises, nothing ran.
            return Err(End::Invalid);
        }
        self.import();
        Ok(())
    }

    fn counted(&mut self, len_bytes: usize) -> Step<()> {
        let n = self.uint(len_bytes)?;
        let n = usize::try_from(n).map_err(|_| End::Eof)?;
        self.take(n).map(|_| ())
    }

    /// A bytes argument (`BINBYTES`, `SHORT_BINBYTES`, `BINBYTES8`, `BYTEARRAY8`): C
    /// reads its data with `_Unpickler_ReadInto`, which takes the rest of its buffer
    /// first and then the file, in order, with or without peek (its length is an
    /// ordinary read).
    fn counted_bytes(&mut self, len_bytes: usize) -> Step<()> {
        let n = self.uint(len_bytes)?;
        let n = usize::try_from(n).map_err(|_| End::Eof)?;
        let no_peek = std::mem::replace(&mut self.no_peek, false);
        let r = self.take(n).map(|_| ());
        self.no_peek = no_peek;
        r
    }

    fn pop(&mut self, n: usize) -> Step<Vec<Tag>> {
        let floor = self.marks.last().copied().unwrap_or(0);
        if self.stack.len() < floor + n {
            return Err(End::Invalid);
        }
        Ok(self.stack.split_off(self.stack.len() - n))
    }

    fn pop_mark(&mut self) -> Step<usize> {
        let m = self.marks.pop().ok_or(End::Invalid)?;
        let n = self.stack.len() - m;
        self.stack.truncate(m);
        Ok(n)
    }

    fn push(&mut self, t: Tag) {
        self.stack.push(t);
    }

    fn import(&mut self) {
        if !self.imported {
            self.imported = true;
            self.import_end = self.pos;
        }
    }

    fn call(&mut self) {
        if self.ext {
            self.import();
        }
        if self.imported {
            self.called_after_import = true;
        }
    }

    fn put(&mut self, key: u64) -> Step<()> {
        let t = *self.stack.last().ok_or(End::Invalid)?;
        if self.stack.len() <= self.marks.last().copied().unwrap_or(0) {
            return Err(End::Invalid);
        }
        self.memo.insert(key, t);
        Ok(())
    }

    fn get(&mut self, key: u64) -> Step<()> {
        let t = *self.memo.get(&key).ok_or(End::Invalid)?;
        self.push(t);
        Ok(())
    }

    /// One opcode; `Ok(true)` on `STOP`.
    fn step(&mut self, op: u8) -> Step<bool> {
        use Tag::{Other, Str};
        match op {
            b'.' => {
                self.pop(1)?;
                return Ok(true);
            }
            b'(' => {
                self.marks.push(self.stack.len());
            }
            b'0' => {
                if self.stack.len() > self.marks.last().copied().unwrap_or(0) {
                    self.stack.pop();
                } else {
                    self.pop_mark()?;
                }
            }
            b'1' => {
                self.pop_mark()?;
            }
            b'2' => {
                let t = self.pop(1)?[0];
                self.push(t);
                self.push(t);
            }
            // C reads these numbers as C strings, up to a NUL; `INT` of an empty C
            // string is 0 there (strtol).
            b'I' if self.gate.is_some() && self.d.get(self.pos) == Some(&0) => {
                self.line()?;
                self.push(Other);
            }
            b'I' | b'L' => {
                let l = self.line()?;
                let l = if self.gate.is_some() { c_string(l) } else { l };
                if !decimal_line(l, op == b'L') {
                    return Err(End::Invalid);
                }
                self.push(Other);
            }
            b'F' => {
                let l = self.line()?;
                let l = if self.gate.is_some() { c_string(l) } else { l };
                if l.is_empty()
                    || !l
                        .iter()
                        .all(|c| b"0123456789+-.eE_ \tinfatyINFATY\r".contains(c))
                {
                    return Err(End::Invalid);
                }
                self.push(Other);
            }
            b'J' => {
                self.take(4)?;
                self.push(Other);
            }
            b'K' => {
                self.take(1)?;
                self.push(Other);
            }
            b'M' => {
                self.take(2)?;
                self.push(Other);
            }
            b'G' => {
                self.take(8)?;
                self.push(Other);
            }
            b'N' | b'\x88' | b'\x89' | b')' | b']' | b'}' | b'\x8f' | b'\x97' => self.push(Other),
            b'\x8a' => {
                self.counted(1)?;
                self.push(Other);
            }
            b'\x8b' => {
                self.counted(4)?;
                self.push(Other);
            }
            b'S' => {
                let l = self.line()?;
                let quoted =
                    l.len() >= 2 && (l[0] == b'\'' || l[0] == b'"') && l[l.len() - 1] == l[0];
                if !quoted {
                    return Err(End::Invalid);
                }
                self.push(Str);
            }
            b'V' => {
                self.line()?;
                self.push(Str);
            }
            b'T' | b'X' => {
                self.counted(4)?;
                self.push(Str);
            }
            b'U' | b'\x8c' => {
                self.counted(1)?;
                self.push(Str);
            }
            b'\x8d' => {
                self.counted(8)?;
                self.push(Str);
            }
            b'B' => {
                self.counted_bytes(4)?;
                self.push(Other);
            }
            b'C' => {
                self.counted_bytes(1)?;
                self.push(Other);
            }
            b'\x8e' | b'\x96' => {
                self.counted_bytes(8)?;
                self.push(Other);
            }
            // `pickle.load`, and `torch.load` for the first pickle of a file that is not
            // a zip, have no persistent_load: a persistent id is an error there.
            b'P' | b'Q' if self.gate.is_some() => return Err(End::Invalid),
            b'P' => {
                self.line()?;
                self.push(Other);
            }
            b'Q' | b'\x98' => {
                self.pop(1)?;
                self.push(Other);
            }
            b'R' | b'b' | b'\x81' => {
                self.pop(2)?;
                self.call();
                self.push(Other);
            }
            b'\x92' => {
                self.pop(3)?;
                self.call();
                self.push(Other);
            }
            b'c' if self.gate.is_some() => {
                self.names(false)?;
                self.push(Other);
            }
            b'i' if self.gate == Some(true) => {
                self.names(true)?;
                self.pop_mark()?;
                self.push(Other);
            }
            b'i' if self.gate.is_some() => {
                self.pop_mark()?;
                self.names(true)?;
                self.push(Other);
            }
            b'c' => {
                let module = self.line()?;
                if !name_line(module) {
                    return Err(End::Invalid);
                }
                let name = self.line()?;
                if !name_line(name) {
                    return Err(End::Invalid);
                }
                self.import();
                self.push(Other);
            }
            b'i' => {
                let module = self.line()?;
                if !name_line(module) {
                    return Err(End::Invalid);
                }
                let name = self.line()?;
                if !name_line(name) {
                    return Err(End::Invalid);
                }
                self.pop_mark()?;
                self.import();
                self.call();
                self.push(Other);
            }
            b'\x93' => {
                let args = self.pop(2)?;
                if args.iter().any(|t| *t != Str) {
                    return Err(End::Invalid);
                }
                self.import();
                self.push(Other);
            }
            b'o' => {
                if self.pop_mark()? == 0 {
                    return Err(End::Invalid);
                }
                self.call();
                self.push(Other);
            }
            b'a' => {
                self.pop(2)?;
                self.push(Other);
            }
            b's' => {
                self.pop(3)?;
                self.push(Other);
            }
            b'\x85' => {
                self.pop(1)?;
                self.push(Other);
            }
            b'\x86' => {
                self.pop(2)?;
                self.push(Other);
            }
            b'\x87' => {
                self.pop(3)?;
                self.push(Other);
            }
            b't' | b'l' | b'd' | b'\x91' => {
                self.pop_mark()?;
                self.push(Other);
            }
            b'e' | b'u' | b'\x90' => {
                self.pop_mark()?;
                self.pop(1)?;
                self.push(Other);
            }
            b'g' => {
                let l = self.line()?;
                let l = if self.gate.is_some() { c_string(l) } else { l };
                let k = memo_key(l).ok_or(End::Invalid)?;
                self.get(k)?;
            }
            b'h' => {
                let k = self.uint(1)?;
                self.get(k)?;
            }
            b'j' => {
                let k = self.uint(4)?;
                self.get(k)?;
            }
            b'p' => {
                let l = self.line()?;
                let l = if self.gate.is_some() { c_string(l) } else { l };
                let k = memo_key(l).ok_or(End::Invalid)?;
                self.put(k)?;
            }
            b'q' => {
                let k = self.uint(1)?;
                self.put(k)?;
            }
            b'r' => {
                let k = self.uint(4)?;
                self.put(k)?;
            }
            b'\x94' => {
                let k = self.memo.len() as u64;
                self.put(k)?;
            }
            b'\x80' => {
                if self.uint(1)? > 5 {
                    return Err(End::Invalid);
                }
            }
            // FRAME: the C unpickler without peek buffers the frame and parses it from
            // there (see `take`); the others read on in order.
            b'\x95' if self.no_peek => {
                let n = usize::try_from(self.uint(8)?).map_err(|_| End::Eof)?;
                self.take(n)?;
                self.pos -= n;
            }
            b'\x95' => {
                self.take(8)?;
            }
            // EXT1/2/4 import whatever copyreg's extension registry maps the code to: empty
            // in a stock interpreter, but a loading process may have filled it, so they
            // count as imports.
            b'\x82' | b'\x83' | b'\x84' => {
                let width = match op {
                    b'\x82' => 1,
                    b'\x83' => 2,
                    _ => 4,
                };
                self.uint(width)?;
                if self.gate.is_some() {
                    // A stock interpreter's registry is empty: the load fails here. A
                    // process that filled it imports; counted once something is called
                    // (a lone EXT2 opens a tensor's bytes often enough).
                    self.ext = true;
                } else {
                    self.import();
                }
                self.push(Other);
            }
            _ => return Err(End::Invalid),
        }
        Ok(false)
    }
}

/// An `INT`/`LONG` argument as Python's `int(line, 0)` would take it (loosely).
fn decimal_line(l: &[u8], long: bool) -> bool {
    let l = if long {
        l.strip_suffix(b"L").unwrap_or(l)
    } else {
        l
    };
    let t = l.trim_ascii();
    !t.is_empty()
        && t.iter().any(u8::is_ascii_digit)
        && t.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+-_".contains(c))
}

/// A number line as the C unpickler parses it: up to its first NUL.
fn c_string(l: &[u8]) -> &[u8] {
    memchr::memchr(0, l).map_or(l, |i| &l[..i])
}

/// A `GET`/`PUT` key as `int()` reads it (underscores between digits, a sign, blanks
/// around); negative keys are refused by `PUT` and never found by `GET`.
fn memo_key(l: &[u8]) -> Option<u64> {
    match crate::core::scan::pickle::decimal_text(l) {
        Ok(Some(v)) => u64::try_from(v).ok(),
        // Past i64: Python's memo takes it, C's refuses it; one key stands for them all.
        Ok(None) => Some(u64::MAX),
        Err(_) => None,
    }
}

/// A module or qualified name on a `GLOBAL`/`INST` line: no blanks or control bytes.
fn name_line(l: &[u8]) -> bool {
    !l.is_empty() && l.iter().all(|&c| c > b' ' && c != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pickles_by_protocol() {
        // pickle.dumps({"a": 1}, protocol=p) for p in 0, 2, 4.
        assert!(looks_like_pickle(b"(dp0\nVa\np1\nI1\ns."));
        assert!(looks_like_pickle(
            b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s."
        ));
        assert!(looks_like_pickle(
            b"\x80\x04\x95\x0a\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x01a\x94K\x01s."
        ));
        // Code execution in protocol 0, with garbage after the call.
        assert!(looks_like_pickle(b"cos\nsystem\n(S'ls'\ntR\xff\xff"));
        // Extension codes import through copyreg's registry: EXT1, EXT2, EXT4, with and
        // without PROTO.
        assert!(looks_like_pickle(
            b"\x80\x02\x82\x01(X\x04\x00\x00\x00truetR."
        ));
        assert!(looks_like_pickle(b"\x83\x01\x02(tR."));
        assert!(looks_like_pickle(b"\x84\x01\x02\x03\x04)R\xff"));
        // STACK_GLOBAL without PROTO.
        assert!(looks_like_pickle(
            b"\x8c\x02os\x8c\x06system\x93\x8c\x02ls\x85R."
        ));
    }

    #[test]
    fn text_and_noise_are_not_pickles() {
        for t in [
            &b"# Model card\n\nThis model..."[..],
            b"{\"architectures\": [\"Bert\"]}",
            b"README\n",
            b"certifi\nnumpy\npandas\n",
            b"click\nrich\n",
            b"class Foo:\n    pass\n",
            b"\x89PNG\r\n\x1a\n\x00\x00",
            b"Version 1.0\nThe end",
            b"K\x05",
            b"import os\n",
            b"little",
            b"3\n",
        ] {
            assert!(!looks_like_pickle(t), "{:?}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn formats() {
        assert_eq!(sniff(b"PK\x03\x04rest", 8), Format::Zip);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00", 4), Format::Gzip);
        assert_eq!(sniff(b"BZh91AY", 7), Format::Bzip2);
        assert_eq!(sniff(b"x\x9c\x01\x02", 4), Format::Zlib);
        assert_eq!(sniff(b"hello world", 11), Format::Other);
        assert_eq!(sniff(b"var x = {1}", 11), Format::Other);
        assert_eq!(sniff(b"", 0), Format::Empty);
        assert_eq!(
            sniff(b"\x00\x00\x00\x00\x00\x00\x00\x10{}", 10),
            Format::Safetensors
        );
        assert_eq!(sniff(b"  {\"a\": 1}", 10), Format::Json);
        // The torch magic number as protocols 0, 2 and 4 pickle it.
        for p in [
            &b"L119547037146038801333356L\n."[..],
            b"\x80\x02\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.",
            b"\x80\x04\x95\r\x00\x00\x00\x00\x00\x00\x00\x8a\nl\xfc\x9cF\xf9 j\xa8P\x19.",
        ] {
            assert_eq!(sniff(p, p.len() as u64), Format::TorchLegacy);
        }
    }

    #[test]
    fn the_import_gate() {
        use Gate::{Eof, Import, No};
        for (d, want) in [
            // The issue's 19 bytes: C's INST finds its MARK; Python's imports first.
            (&b"(S'id'\nios\nsystem\n."[..], Import),
            (b"ios\nsystem\n", Import),
            (b"cos\nsystem\n", Import),
            // Python's readline()[:-1] at the end: module "o", name "".
            (b"cos", Import),
            (b"STACK", Eof),
            (b"# README", No),
            // Names __import__ cannot resolve: find_class raises before any code runs.
            (b"class Model:\n    pass\n", No),
            (b"import os\nimport sys\n", No),
            (b"cos\r\nsystem\r\n", No),
            (b"c\nsystem\n", No),
            (b"ca..b\nc\n", No),
            (b"c\xc3\xa9t\xc3\xa9\nx\n", Import),
            // A persistent id first: pickle.load refuses it.
            (b"Pid\ncos\nsystem\n", No),
            (b"N.cos\nsystem\n", Import),
            (b"]p1_0\n0g1_0\n0cos\nsystem\n", Import),
            (b"]p1_0\n0g10\n0cos\nsystem\n", Import),
            (b"]p1__0\n0cos\nsystem\n", No),
            (b"]p-1\n0cos\nsystem\n", No),
            (b"]g0\n", No),
            (b"\x80\x02]q\x00(K\x01K\x02", Eof),
            (b"\x80\x06cos\nsystem\n", No),
            (b"\x8c\x02os\x8c\x06system\x93", Import),
            (b"\x83\x98\x4c\xbd", No),
            // C's numbers end at a NUL: INT, LONG, FLOAT, PUT, GET.
            (
                b"I\x00junk\nI12\x00x\nL7\x00\nF1.5\x00\n]p0\x00z\n0g0\x00\n0cos\nsystem\n",
                Import,
            ),
            (b"I \x00\ncos\nsystem\n", No),
            // Without peek, C drops the rest of a frame that a string argument runs past
            // and reads it after the frame (bytes arguments are read in order).
            (
                b"\x80\x04\x95\x07\0\0\0\0\0\0\0X\x20\0\0\0zzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!0cos\nsystem\n",
                Import,
            ),
            (
                b"\x80\x04\x95\x07\0\0\0\0\0\0\0B\x20\0\0\0zzaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!!0cos\nsystem\n",
                No,
            ),
            (b"\x82\x01", Eof),
            (b"\x82\x01)R", Import),
            (b"", Eof),
        ] {
            assert_eq!(imports_global(d), want, "{:?}", String::from_utf8_lossy(d));
        }
        // Past the walk's item bound it cannot tell: read it.
        assert_eq!(imports_global(&vec![b'('; WALK_ITEMS + 2]), Import);
    }

    #[test]
    fn memo_keys_as_int_reads_them() {
        assert_eq!(memo_key(b"1_0"), Some(10));
        assert_eq!(memo_key(b" +3 "), Some(3));
        assert_eq!(memo_key(b"-0"), Some(0));
        assert_eq!(memo_key(b"007"), Some(7));
        for bad in [&b"1__0"[..], b"_1", b"1_", b"-1", b"0x1", b"", b"1 2"] {
            assert_eq!(memo_key(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        // Protocol 0 with underscore keys is a pickle.
        assert!(looks_like_pickle(b"(lp1_0\nI1\nag1_0\n0."));
    }
}
