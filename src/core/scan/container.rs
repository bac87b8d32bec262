//! Containers: every byte stream of a file (or of every file of a folder) that may hold a
//! pickle, found by content and never by name, and handed to the pickle reader.
//!
//! `scan_path` reads each file (memory-mapped), sniffs its format (`sniff`) and opens what
//! contains other things: zip archives (PyTorch, `.npz`, Keras `.keras`, any zip, with a
//! lenient reader of our own), tar and 7z archives, gzip/bzip2/xz/lzma/zlib/zstd/lz4 streams
//! (joblib's and pandas' compressed files among them). Every stream that looks like a pickle goes to the
//! `scan_stream` callback as a `Stream`, whose findings join the result; formats that hold
//! no pickle are checked for what can go wrong in them (npy headers and sizes, safetensors
//! headers, Keras configurations). The same rules apply at any depth: a member of a zip in
//! a gzip in a tar is sniffed like a file.
//!
//! Stream kinds (`Stream::kind`): `pickle`; `torch-zip` (a pickle member of a PyTorch zip:
//! persistent ids name storages, and `Stream::storages` gives the sizes of the archive's
//! `data/<key>` members beside it, which the reader checks against the ids); `torch-legacy` (a `torch.save` file of the legacy format:
//! five pickles, then raw storage bytes; `max_pickles` 5); `joblib` (a pickle with joblib's
//! array bytes inlined after each `NumpyArrayWrapper`, raw or decompressed, and every pickle
//! in joblib's own zlib/lzma/`ZF` wrappers); `npy-object` (the pickle after an object
//! array's npy header, `max_pickles` 1).
//!
//! Locations: `Location::file` is the path as given for a file, and the given folder path
//! joined with the path relative to it (`/`-separated) for a file found in a folder, so a
//! person can open it as printed. `Location::members` lists archive members from the outside
//! in; a compression layer adds no member (offsets are in the decompressed bytes).
//!
//! 7z archives are read with sevenz-rust2 (LZMA, LZMA2, BCJ filters, bzip2, PPMd, copy;
//! header buffers and coder dictionaries within `decompress::DICT_MEMORY`), each entry
//! scanned like an archive member.
//!
//! What cannot be read is not safe: an archive or stream of a format no decoder here reads
//! (rar, lzip, Unix compress), an encrypted zip member (whatever its ciphertext looks
//! like: flag bits 0, 6 and 13, or WinZip's AES method 99) or 7z archive, an unknown zip
//! compression method (anything but stored, deflate, bzip2, lzma, zstd and xz) or 7z
//! coder, a zip member flagged as compressed patched data (bit 5) or with a reserved flag
//! bit (4, 7 to 10, 12, 14, 15; `zip::flag`: the member is scanned as stored all the
//! same), a stream a decoder refuses (an lzma dictionary past `decompress::DICT_MEMORY`,
//! a zstd window past `decompress::ZSTD_WINDOW`) is `Unknown` (`container.unsupported`,
//! `zip.encrypted`, `container.encrypted`), never `Info`.
//!
//! Bounds (`Limits`): `max_depth` containers inside each other (archives and compressed
//! streams alike; the file itself is depth 0); `max_members` members per file, counting
//! nested archives; `max_decompressed` bytes per decompressed stream and
//! `max_total_decompressed` per file; the ratio rule (`max_ratio`, past 1 MiB of output)
//! for bombs. Going past any is an `Unknown` finding, and the scan goes on with what it can.
//! Declared sizes are never allocated: every length is checked against the bytes there.
//! At most `MAX_PER_RULE` findings of one rule are listed per file; one more finding
//! counts the rest.
//!
//! Folders: every regular file below, in path order, scanned in parallel (rayon, in the
//! caller's pool). Symbolic links to files inside the folder are scanned; links to folders
//! inside it are not followed (their content is scanned where it is), so no walk can loop;
//! links leading outside the folder are not followed and are `Unknown`; FIFOs, devices and
//! sockets are never opened (`Info`). A file or folder that cannot be read is `Unknown`
//! with the operating system's error.
//!
//! Files are memory-mapped (`GuardedMap`): a file that another process truncates while it
//! is being scanned reads as zeros past its new end instead of ending the process with
//! SIGBUS, and a file that shrank, grew or was rewritten during its scan gives one
//! `Unknown` finding (`container.changed`) in place of what was read from it.

mod decompress;
mod gguf;
mod hdf5;
mod jinja;
mod keras;
mod npy;
mod onnx;
mod protobuf;
mod safetensors;
mod savedmodel;
mod sniff;
mod tar;
mod zip;

pub mod fuzzing;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_formats;

use std::collections::HashMap;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use self::decompress::{Codec, End};
use self::sniff::Format;
pub(crate) use self::sniff::{imports_global, Gate};
use super::pickle::StorageSizes;
use super::{Finding, Limits, Location, Severity};
use crate::core::error::{CoreError, CoreResult};
use crate::core::integrity::hashing::{check_unchanged, open_regular, special_kind};
use crate::core::integrity::manifest::compare_paths;
use crate::core::mapped::GuardedMap;
use crate::core::progress::Progress;

/// The stream kinds handed to the pickle reader (see the module documentation).
pub mod kind {
    pub const PICKLE: &str = "pickle";
    pub const TORCH_ZIP: &str = "torch-zip";
    pub const TORCH_LEGACY: &str = "torch-legacy";
    pub const JOBLIB: &str = "joblib";
    pub const NPY_OBJECT: &str = "npy-object";
}

/// What a container found inside a file: a stream to read as pickle(s).
#[derive(Debug, Clone)]
pub struct Stream<'a> {
    pub data: &'a [u8],
    pub location: Location,
    /// How many pickles the stream holds at most (`None`: as many as it holds).
    pub max_pickles: Option<usize>,
    /// One of `kind::*`.
    pub kind: &'static str,
    /// For the pickle of a PyTorch zip: the sizes of the archive's storage members
    /// (`data/<key>` beside `data.pkl`), checked against its persistent ids.
    pub storages: Option<&'a StorageSizes>,
}

/// One file scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    /// As in `Location::file`.
    pub path: Vec<u8>,
    /// The format found, wrappers first: `pickle`, `gzip/pickle`, `pytorch-zip`, `npz`,
    /// `keras`, `safetensors`, `torch-legacy`, `other`, ...
    pub format: String,
    /// Streams handed to the pickle reader.
    pub streams: usize,
    /// The file's size.
    pub bytes: u64,
}

/// Everything a scan found, findings in file order, then in the order met in each file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanResult {
    pub findings: Vec<Finding>,
    pub files: Vec<FileSummary>,
}

/// The pickle reader as the containers call it.
pub type ScanStreamFn<'f> = dyn Fn(Stream<'_>) -> Vec<Finding> + Sync + 'f;

/// Findings of one rule listed per file; the rest are counted in one more finding.
pub const MAX_PER_RULE: usize = 100;
/// Bytes decoded to sniff a compressed member before deciding to decode all of it.
const SNIFF_PREFIX: u64 = 64 << 10;
/// Keras configurations are JSON documents read whole, up to this size.
const MAX_JSON: u64 = 64 << 20;
/// Output past which the ratio rule applies (as in `decompress`).
const RATIO_FLOOR: u64 = 1 << 20;

/// Scans a file or every file below a folder.
///
/// `Err` only when `path` itself cannot be read (missing, no permission) or on
/// cancellation (`progress.cancel()`, checked before each file); everything else, down to
/// unreadable files inside a folder, is a finding.
pub fn scan_path(
    path: &Path,
    limits: &Limits,
    progress: &Progress,
    scan_stream: &ScanStreamFn<'_>,
) -> CoreResult<ScanResult> {
    let meta = std::fs::metadata(path).map_err(|e| CoreError::io(path, e))?;
    let shown = path.as_os_str().as_bytes().to_vec();
    let items = if meta.is_dir() {
        let mut w = Walker {
            root: std::fs::canonicalize(path).map_err(|e| CoreError::io(path, e))?,
            items: Vec::new(),
            progress,
        };
        w.walk(path, b"")?;
        let mut items = w.items;
        items.sort_by(|a, b| compare_paths(&a.0, &b.0));
        items
            .into_iter()
            .map(|(rel, item)| (join(&shown, &rel), item))
            .collect()
    } else if let Some(what) = special_kind(&meta) {
        vec![(
            shown,
            Item::Note(
                Severity::Info,
                "container.special-file",
                format!("not scanned: {what}"),
            ),
        )]
    } else {
        progress.add_total(meta.len());
        vec![(shown, Item::File(path.to_path_buf(), meta))]
    };
    let per_file: Vec<(Vec<Finding>, Option<FileSummary>)> = items
        .into_par_iter()
        .map(|(shown, item)| -> CoreResult<_> {
            progress.check()?;
            Ok(match item {
                Item::File(abs, meta) => {
                    let (f, s) = scan_file(&abs, &shown, &meta, limits, scan_stream);
                    progress.advance(meta.len());
                    (f, Some(s))
                }
                Item::Note(severity, rule, message) => (
                    vec![Finding {
                        location: Location {
                            file: shown,
                            ..Location::default()
                        },
                        global: None,
                        severity,
                        rule,
                        message,
                    }],
                    None,
                ),
            })
        })
        .collect::<CoreResult<_>>()?;
    let mut result = ScanResult::default();
    for (f, s) in per_file {
        result.findings.extend(f);
        result.files.extend(s);
    }
    Ok(result)
}

/// Scans the content of one file held in memory (`file` names it in locations).
pub fn scan_bytes(
    data: &[u8],
    file: &[u8],
    limits: &Limits,
    scan_stream: &ScanStreamFn<'_>,
) -> (Vec<Finding>, FileSummary) {
    let mut s = FileScan::new(file, limits, scan_stream);
    let format = s.scan(data, &mut Vec::new(), 0, kind::PICKLE);
    if s.findings.is_empty() && s.streams == 0 {
        // Every file says what it was found to be.
        let msg = format!("{format}: no pickle or model configuration inside");
        s.note(&[], Severity::Info, "container.not-model", msg);
    }
    let streams = s.streams;
    (
        s.finish(),
        FileSummary {
            path: file.to_vec(),
            format,
            streams,
            bytes: data.len() as u64,
        },
    )
}

fn join(root: &[u8], rel: &[u8]) -> Vec<u8> {
    let mut p = root.to_vec();
    if !p.ends_with(b"/") {
        p.push(b'/');
    }
    p.extend_from_slice(rel);
    p
}

fn scan_file(
    abs: &Path,
    shown: &[u8],
    meta: &Metadata,
    limits: &Limits,
    scan_stream: &ScanStreamFn<'_>,
) -> (Vec<Finding>, FileSummary) {
    // One Unknown finding in place of the file's content.
    let not_scanned = |rule: &'static str, format: &str, message: String| {
        let f = Finding {
            location: Location {
                file: shown.to_vec(),
                ..Location::default()
            },
            global: None,
            severity: Severity::Unknown,
            rule,
            message,
        };
        let s = FileSummary {
            path: shown.to_vec(),
            format: format.into(),
            streams: 0,
            bytes: meta.len(),
        };
        (vec![f], s)
    };
    let unreadable = |e: CoreError| {
        not_scanned(
            "container.unreadable",
            "unreadable",
            format!("cannot be read, so not scanned: {e}"),
        )
    };
    let (file, opened) = match open_regular(abs, Some(meta)) {
        Ok(opened) => opened,
        Err(e) => return unreadable(e),
    };
    if meta.len() == 0 {
        return scan_bytes(&[], shown, limits, scan_stream);
    }
    let map = match GuardedMap::map(&file) {
        Ok(map) => map,
        Err(e) => return unreadable(CoreError::io(abs, e)),
    };
    let scanned = scan_bytes(map.bytes(), shown, limits, scan_stream);
    // What was read is the file's only if the file stayed as it was: a shrunken file
    // reads as zeros past its new end (see `GuardedMap`), a rewritten one as a mix.
    let changed = if map.truncated() {
        Err(CoreError::FileChanged {
            path: abs.to_path_buf(),
            reason: "file shrank while it was being scanned".into(),
        })
    } else {
        check_unchanged(&file, abs, &opened)
    };
    match changed {
        Ok(()) => scanned,
        Err(e) => not_scanned(
            "container.changed",
            "changed",
            format!("changed while it was being scanned, so what was read is not this file: {e}"),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Walking a folder

enum Item {
    File(PathBuf, Metadata),
    Note(Severity, &'static str, String),
}

struct Walker<'a> {
    root: PathBuf,
    items: Vec<(Vec<u8>, Item)>,
    progress: &'a Progress,
}

impl Walker<'_> {
    fn walk(&mut self, dir: &Path, rel: &[u8]) -> CoreResult<()> {
        self.progress.check()?;
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) => {
                let what = if rel.is_empty() {
                    b".".to_vec()
                } else {
                    rel.to_vec()
                };
                self.unreadable(what, &CoreError::io(dir, e));
                return Ok(());
            }
        };
        for entry in rd {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    self.unreadable(rel.to_vec(), &CoreError::io(dir, e));
                    continue;
                }
            };
            let mut child = rel.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(entry.file_name().as_bytes());
            let abs = entry.path();
            let lmeta = match std::fs::symlink_metadata(&abs) {
                Ok(m) => m,
                Err(e) => {
                    self.unreadable(child, &CoreError::io(&abs, e));
                    continue;
                }
            };
            if lmeta.file_type().is_symlink() {
                self.link(&abs, child);
            } else if lmeta.is_dir() {
                self.walk(&abs, &child)?;
            } else {
                self.file(abs, child, lmeta);
            }
        }
        Ok(())
    }

    fn file(&mut self, abs: PathBuf, rel: Vec<u8>, meta: Metadata) {
        match special_kind(&meta) {
            Some(what) => self.items.push((
                rel,
                Item::Note(
                    Severity::Info,
                    "container.special-file",
                    format!("not scanned: {what}"),
                ),
            )),
            None => {
                self.progress.add_total(meta.len());
                self.items.push((rel, Item::File(abs, meta)));
            }
        }
    }

    fn link(&mut self, abs: &Path, rel: Vec<u8>) {
        let note = |sev, rule, msg: String| Item::Note(sev, rule, msg);
        let target = match std::fs::canonicalize(abs) {
            Ok(t) => t,
            Err(e) => {
                let msg =
                    format!("symbolic link not followed: its target cannot be resolved ({e})");
                self.items
                    .push((rel, note(Severity::Info, "container.link", msg)));
                return;
            }
        };
        if !target.starts_with(&self.root) {
            let msg = format!(
                "symbolic link leading outside the folder (to {}), not followed: scan its target",
                target.display()
            );
            self.items
                .push((rel, note(Severity::Unknown, "container.link-outside", msg)));
            return;
        }
        match std::fs::metadata(&target) {
            Ok(m) if m.is_dir() => {
                let msg = "symbolic link to a folder inside the folder, not followed (scanned where it is)".into();
                self.items
                    .push((rel, note(Severity::Info, "container.link", msg)));
            }
            Ok(m) => self.file(abs.to_path_buf(), rel, m),
            Err(e) => self.unreadable(rel, &CoreError::io(abs, e)),
        }
    }

    fn unreadable(&mut self, rel: Vec<u8>, e: &CoreError) {
        let msg = format!("cannot be read, so not scanned: {e}");
        self.items.push((
            rel,
            Item::Note(Severity::Unknown, "container.unreadable", msg),
        ));
    }
}

// ---------------------------------------------------------------------------------------
// Scanning the content of one file

struct FileScan<'a> {
    file: &'a [u8],
    limits: &'a Limits,
    scan_stream: &'a ScanStreamFn<'a>,
    findings: Vec<Finding>,
    streams: usize,
    /// Bytes decompressed so far (fully decoded streams; sniffing prefixes too).
    decompressed: u64,
    members: usize,
    per_rule: HashMap<&'static str, (usize, Severity)>,
    /// Content being read as a format while it is also read as a pickle: saying "not a
    /// model" of it would be wrong.
    quiet: bool,
    /// The PyTorch zip pickle being read (its member path) and the sizes of its storage
    /// members, for the stream of that member only.
    storages: Option<(Vec<String>, StorageSizes)>,
}

impl<'a> FileScan<'a> {
    fn new(file: &'a [u8], limits: &'a Limits, scan_stream: &'a ScanStreamFn<'a>) -> Self {
        FileScan {
            file,
            limits,
            scan_stream,
            findings: Vec::new(),
            streams: 0,
            decompressed: 0,
            members: 0,
            per_rule: HashMap::new(),
            quiet: false,
            storages: None,
        }
    }

    fn finish(mut self) -> Vec<Finding> {
        let mut extra: Vec<_> = self
            .per_rule
            .iter()
            .filter(|(_, (n, _))| *n > MAX_PER_RULE)
            .map(|(rule, (n, sev))| (*rule, *n, *sev))
            .collect();
        extra.sort();
        for (rule, n, severity) in extra {
            self.findings.push(Finding {
                location: Location {
                    file: self.file.to_vec(),
                    ..Location::default()
                },
                global: None,
                severity,
                rule: "container.more",
                message: format!(
                    "{} more findings of rule {rule} not listed",
                    n - MAX_PER_RULE
                ),
            });
        }
        self.findings
    }

    fn note(
        &mut self,
        members: &[String],
        severity: Severity,
        rule: &'static str,
        message: String,
    ) {
        self.note_global(members, None, severity, rule, message);
    }

    fn note_global(
        &mut self,
        members: &[String],
        global: Option<String>,
        severity: Severity,
        rule: &'static str,
        message: String,
    ) {
        let e = self.per_rule.entry(rule).or_insert((0, severity));
        e.0 += 1;
        e.1 = e.1.max(severity);
        if e.0 > MAX_PER_RULE {
            return;
        }
        self.findings.push(Finding {
            location: Location {
                file: self.file.to_vec(),
                members: members.to_vec(),
                offset: None,
            },
            global,
            severity,
            rule,
            message,
        });
    }

    fn stream(
        &mut self,
        data: &[u8],
        members: &[String],
        kind: &'static str,
        max_pickles: Option<usize>,
    ) {
        self.streams += 1;
        let storages = match &self.storages {
            Some((at, sizes)) if kind == kind::TORCH_ZIP && at.as_slice() == members => Some(sizes),
            _ => None,
        };
        let found = (self.scan_stream)(Stream {
            data,
            location: Location {
                file: self.file.to_vec(),
                members: members.to_vec(),
                offset: None,
            },
            max_pickles,
            kind,
            storages,
        });
        self.findings.extend(found);
    }

    /// Scans content (all of it) and returns its format label.
    fn scan(
        &mut self,
        data: &[u8],
        path: &mut Vec<String>,
        depth: usize,
        pickle_kind: &'static str,
    ) -> String {
        let format = sniff::sniff(data, data.len() as u64);
        let label = self.scan_as(
            format,
            data,
            data.len() as u64,
            true,
            path,
            depth,
            pickle_kind,
        );
        match self.polyglot(format, data, path, depth) {
            Some(zip) => format!("{label}+{zip}"),
            None => label,
        }
    }

    /// Content that is something else with a zip at its end (a polyglot, or a
    /// self-extracting archive) is scanned as a zip too: readers that start from the end
    /// record load it.
    fn polyglot(
        &mut self,
        format: Format,
        data: &[u8],
        path: &mut Vec<String>,
        depth: usize,
    ) -> Option<String> {
        if format == Format::Zip || format == Format::Empty || !zip::has_directory(data) {
            return None;
        }
        // Loaders that start at byte 0 (pickle.load, torch.load, np.load) read the content
        // as a pickle, zip readers read the archive at its end. (A tar or other archive
        // whose last member is a zip is not that: the member is scanned as one.)
        let pickle_first = matches!(format, Format::Pickle | Format::TorchLegacy | Format::Npy)
            || (format.may_hide_pickle() && sniff::imports_global(data) == Gate::Import);
        if pickle_first {
            let what = if format == Format::Npy {
                "npy"
            } else {
                "pickle"
            };
            let msg = format!(
                "zip readers disagree: the data before the archive is read as {what} by \
                 loaders that start at byte 0, while zip readers find the archive from its \
                 end; both are scanned"
            );
            self.note(path, Severity::Unknown, "zip.views-disagree", msg);
        }
        Some(self.zip(data, path, depth))
    }

    /// Scans content of format `format`: `data` is all of it when `complete`, else a
    /// prefix of content `len` bytes long (only for formats that do not `need_all`, and
    /// never content a loader may read as a pickle, see `member`).
    ///
    /// A magic number never ends the analysis: content of any format from which a loader
    /// would import a global when it unpickles it from byte 0 (`sniff::imports_global`) is
    /// read by the pickle reader too, whatever else it is read as, and whether or not that
    /// other reading succeeds (a zlib header that does not inflate, a tar or HDF5 signature
    /// inside a pickle's bytes argument). The label is then `pickle+<format>`.
    #[allow(clippy::too_many_arguments)]
    fn scan_as(
        &mut self,
        format: Format,
        data: &[u8],
        len: u64,
        complete: bool,
        path: &mut Vec<String>,
        depth: usize,
        pickle_kind: &'static str,
    ) -> String {
        if !(complete && format.may_hide_pickle() && sniff::imports_global(data) == Gate::Import) {
            return self.read_as(format, data, len, complete, path, depth, pickle_kind);
        }
        let pickle = self.read_as(Format::Pickle, data, len, true, path, depth, pickle_kind);
        if format == Format::Other {
            return pickle;
        }
        let quiet = std::mem::replace(&mut self.quiet, true);
        let other = self.read_as(format, data, len, true, path, depth, pickle_kind);
        self.quiet = quiet;
        if other == "other" {
            pickle
        } else {
            format!("{pickle}+{other}")
        }
    }

    /// `scan_as` for the one format.
    #[allow(clippy::too_many_arguments)]
    fn read_as(
        &mut self,
        format: Format,
        data: &[u8],
        len: u64,
        complete: bool,
        path: &mut Vec<String>,
        depth: usize,
        pickle_kind: &'static str,
    ) -> String {
        let name = format.name().to_string();
        match format {
            Format::Empty => {
                self.note(
                    path,
                    Severity::Info,
                    "container.empty",
                    "empty: nothing to load".into(),
                );
            }
            Format::Zip => return self.zip(data, path, depth),
            Format::Tar => return self.tar(data, path, depth),
            Format::Gzip => return self.compressed(Codec::Gzip, data, path, depth, false),
            Format::Bzip2 => return self.compressed(Codec::Bzip2, data, path, depth, false),
            Format::Xz => return self.compressed(Codec::Xz, data, path, depth, false),
            Format::LzmaAlone => return self.compressed(Codec::LzmaAlone, data, path, depth, true),
            Format::Zlib => return self.compressed(Codec::Zlib, data, path, depth, true),
            Format::JoblibZfile => return self.zfile(data, path, depth),
            Format::Zstd => return self.compressed(Codec::Zstd, data, path, depth, false),
            Format::Lz4 => return self.compressed(Codec::Lz4, data, path, depth, false),
            Format::SevenZip => return self.seven_zip(data, path, depth),
            Format::Rar | Format::Lzip | Format::Compress => {
                let msg = format!("{name} data: this format is not read, so its content is not scanned (what cannot be read is not safe)");
                self.note(path, Severity::Unknown, "container.unsupported", msg);
            }
            Format::Npy => self.npy(data, len, complete, path),
            Format::Hdf5 => self.hdf5(data, complete, path, depth),
            Format::TorchLegacy => self.stream(data, path, kind::TORCH_LEGACY, Some(5)),
            Format::Pickle => {
                let is_joblib = memchr::memmem::find(data, b"NumpyArrayWrapper").is_some();
                let kind = if is_joblib { kind::JOBLIB } else { pickle_kind };
                self.stream(data, path, kind, None);
                return kind.to_string();
            }
            Format::Safetensors => self.safetensors(data, len, path),
            Format::Json => return self.json(data, path, depth),
            Format::Gguf => self.issues(path, gguf::check(data)),
            Format::Onnx => self.issues(path, onnx::check(data)),
            Format::TfSavedModel | Format::TfGraphDef => {
                self.issues(path, savedmodel::check(data, &name))
            }
            Format::KerasMetadata => self.issues(path, savedmodel::keras_metadata(data)),
            // Inside an archive this is the common case (tensor data, text, metadata), and
            // not worth one finding per member.
            Format::Other if path.is_empty() => self.not_model(path),
            Format::Other => {}
        }
        name
    }

    fn not_model(&mut self, path: &[String]) {
        if self.quiet {
            return;
        }
        let msg = "not a model format: no pickle or model configuration found".into();
        self.note(path, Severity::Info, "container.not-model", msg);
    }

    fn too_deep(&mut self, path: &[String], depth: usize, what: &str) -> bool {
        if depth < self.limits.max_depth {
            return false;
        }
        let msg = format!(
            "{what} nested more than {} containers deep: its content is not scanned",
            self.limits.max_depth
        );
        self.note(path, Severity::Unknown, "container.too-deep", msg);
        true
    }

    /// Decodes all of `input`, reporting caps, bombs and damage; `None` if nothing came out.
    fn decode_all(&mut self, codec: Codec, input: &[u8], path: &[String]) -> Option<Vec<u8>> {
        let d = self.decode_capped(codec, input);
        self.report(codec, d, path)
    }

    fn decode_capped(&mut self, codec: Codec, input: &[u8]) -> decompress::Decoded {
        let budget = self
            .limits
            .max_total_decompressed
            .saturating_sub(self.decompressed);
        let cap = self.limits.max_decompressed.min(budget);
        let d = decompress::decode(codec, input, cap, self.limits.max_ratio, false);
        self.decompressed += d.data.len() as u64;
        d
    }

    /// Reports how decoding ended; the data, unless there is none.
    fn report(&mut self, codec: Codec, d: decompress::Decoded, path: &[String]) -> Option<Vec<u8>> {
        let budget = self
            .limits
            .max_total_decompressed
            .saturating_sub(self.decompressed - d.data.len() as u64);
        let cap = self.limits.max_decompressed.min(budget);
        let what = codec.name();
        for n in &d.notes {
            self.note(path, Severity::Info, "container.damaged", n.clone());
        }
        let problem = match d.end {
            End::Complete | End::Prefix => None,
            End::Truncated => Some((
                "container.truncated",
                format!("{what} data ends early: the {} bytes before the cut are scanned", d.data.len()),
            )),
            End::Corrupt(m) => Some((
                "container.corrupt",
                format!("{m}: the {} bytes before the damage are scanned", d.data.len()),
            )),
            End::TooBig if cap < self.limits.max_decompressed => Some((
                "container.bomb",
                format!(
                    "{what} data goes past the {} bytes this file may decompress in all: the rest is not scanned",
                    self.limits.max_total_decompressed
                ),
            )),
            End::TooBig => Some((
                "container.bomb",
                format!(
                    "{what} data decompresses to more than {} bytes: the rest is not scanned",
                    self.limits.max_decompressed
                ),
            )),
            End::Bomb(out, inp) => Some((
                "container.bomb",
                format!(
                    "{what} bomb: {out} bytes out of {inp} compressed (more than {} to 1): the rest is not scanned",
                    self.limits.max_ratio
                ),
            )),
            End::Unsupported(m) => Some(("container.unsupported", format!("{m}: not scanned"))),
        };
        if let Some((rule, msg)) = problem {
            self.note(path, Severity::Unknown, rule, msg);
        }
        (!d.data.is_empty()).then_some(d.data)
    }

    /// A compressed stream: decoded and scanned one level deeper. `joblib_only` marks
    /// wrappers only joblib writes around pickles (zlib, lzma-alone).
    fn compressed(
        &mut self,
        codec: Codec,
        data: &[u8],
        path: &mut Vec<String>,
        depth: usize,
        joblib_only: bool,
    ) -> String {
        let name = codec.name();
        if self.too_deep(path, depth, &format!("{name} stream")) {
            return name.into();
        }
        let d = self.decode_capped(codec, data);
        // zlib and lzma-alone have weak magic numbers (`x^` starts text too): content that
        // yields nothing is what it looks like, not damaged compressed data. A stream the
        // decoders refuse to read (an lzma dictionary past `DICT_MEMORY`, which Python's
        // lzma reads) is another matter: what cannot be read is not safe.
        if joblib_only && d.data.is_empty() && matches!(d.end, End::Corrupt(_)) {
            self.not_model(path);
            return "other".into();
        }
        let Some(inner) = self.report(codec, d, path) else {
            return name.into();
        };
        let kind = if joblib_only {
            kind::JOBLIB
        } else {
            kind::PICKLE
        };
        let label = self.scan(&inner, path, depth + 1, kind);
        format!("{name}/{label}")
    }

    /// joblib < 0.10 files: `ZF`, the length in hex padded to 19 characters, maybe a
    /// space, then zlib data.
    fn zfile(&mut self, data: &[u8], path: &mut Vec<String>, depth: usize) -> String {
        let mut start = (2 + 19).min(data.len());
        if data.get(start) == Some(&b' ') {
            start += 1;
        }
        let label = self.compressed(Codec::Zlib, &data[start..], path, depth, true);
        format!("joblib-zfile/{}", label.trim_start_matches("zlib/"))
    }

    fn zip(&mut self, data: &[u8], path: &mut Vec<String>, depth: usize) -> String {
        if self.too_deep(path, depth, "zip archive") {
            return "zip".into();
        }
        let room = self.limits.max_members.saturating_sub(self.members);
        let archive = zip::read(data, room, self.limits.max_decompressed);
        let label = zip::label(&archive.entries);
        for n in &archive.notes {
            match n {
                zip::Note::NoCentralDirectory(why) => {
                    let msg = format!("zip without a usable central directory ({why}): members read from their local headers");
                    self.note(path, Severity::Info, "zip.no-central-directory", msg);
                }
                zip::Note::BadLocalHeader { name, reason } => {
                    let mut p = path.clone();
                    p.push(name.clone());
                    let msg = format!("zip member cannot be located ({reason}): not scanned");
                    self.note(&p, Severity::Unknown, "zip.bad-member", msg);
                }
                zip::Note::TooManyMembers(n) => self.too_many_members(path, *n),
                zip::Note::Disagree(why) => {
                    let msg = format!(
                        "zip readers disagree: {why}; every member any of them reads is scanned"
                    );
                    self.note(path, Severity::Unknown, "zip.views-disagree", msg);
                }
            }
        }
        if archive.entries.is_empty() && archive.notes.is_empty() {
            self.note(
                path,
                Severity::Info,
                "container.empty",
                "empty zip archive".into(),
            );
        }
        if label == "torchscript" {
            let msg = format!(
                "TorchScript archive: torch.jit.load (and torch.load with weights_only=False, \
                 which hands such files to it) compiles and runs the TorchScript program in its \
                 code/ folder ({} files); \
                 its pickles name classes of that program (`__torch__.*`), not Python imports. \
                 The program is not checked here, so the file is not safe to load",
                zip::torchscript_code(&archive.entries)
            );
            self.note(path, Severity::Unknown, "torch.torchscript", msg);
        }
        if label == "torch-package" {
            let sources = archive
                .entries
                .iter()
                .filter(|e| e.name.ends_with(".py"))
                .count();
            let msg = format!(
                "torch.package archive: torch.package.PackageImporter imports the Python \
                 modules packaged in it ({sources} source files), which runs their code, \
                 and its pickles name classes of those modules. The packaged code is not \
                 checked here, so the file is not safe to load"
            );
            self.note(path, Severity::Unknown, "torch.package", msg);
        }
        let pickle_kind = if label == "pytorch-zip" || label == "torchscript" {
            kind::TORCH_ZIP
        } else {
            kind::PICKLE
        };
        self.members += archive.entries.len();
        for e in &archive.entries {
            path.push(e.name.clone());
            let torch_pickle = pickle_kind == kind::TORCH_ZIP && zip::torch_pickle(&e.name);
            let outer = if torch_pickle {
                let sizes = zip::storage_sizes(&archive.entries, &e.name);
                self.storages.replace((path.clone(), sizes))
            } else {
                None
            };
            self.zip_member(data, e, path, depth + 1, pickle_kind);
            if torch_pickle {
                self.storages = outer;
            }
            path.pop();
        }
        label.into()
    }

    /// A 7z archive (sevenz-rust2): every entry decoded, within the same bounds as the
    /// other decoders (per-stream and per-file caps, the ratio rule over the archive's
    /// size, `DICT_MEMORY` for header buffers and coder dictionaries), and scanned like a
    /// member of any archive. An archive or entry that cannot be decoded (encrypted, a
    /// coder not read here, damaged) is `Unknown`.
    fn seven_zip(&mut self, data: &[u8], path: &mut Vec<String>, depth: usize) -> String {
        use sevenz_rust2::{ArchiveReader, EntryDecision, Password};
        if self.too_deep(path, depth, "7z archive") {
            return "7z".into();
        }
        let source = std::io::Cursor::new(data);
        let memory_kb = decompress::DICT_MEMORY as usize;
        let mut reader =
            match ArchiveReader::new_with_memory_limit(source, Password::empty(), memory_kb) {
                Ok(r) => r,
                Err(e) => {
                    let (rule, msg) = seven_zip_error(&e);
                    self.note(path, Severity::Unknown, rule, msg);
                    return "7z".into();
                }
            };
        let count = reader.archive().files.len();
        if count == 0 {
            let msg = "empty 7z archive".into();
            self.note(path, Severity::Info, "container.empty", msg);
            return "7z".into();
        }
        let room = self.limits.max_members.saturating_sub(self.members);
        if count > room {
            self.too_many_members(path, count as u64);
        }
        self.members += count.min(room);
        let (mut seen, mut out_total) = (0usize, 0u64);
        let result = reader.for_each_entries_with_decision_allowing_surplus(|entry, r| {
            if seen >= room {
                return Ok(EntryDecision::Stop);
            }
            seen += 1;
            if entry.is_directory || !entry.has_stream {
                return Ok(EntryDecision::Continue);
            }
            path.push(entry.name.clone());
            let budget = self
                .limits
                .max_total_decompressed
                .saturating_sub(self.decompressed);
            let cap = self.limits.max_decompressed.min(budget);
            let (out, problem) =
                read_capped(r, cap, out_total, data.len() as u64, self.limits.max_ratio);
            out_total += out.len() as u64;
            self.decompressed += out.len() as u64;
            let decision = match &problem {
                Some(("container.bomb", _)) => EntryDecision::Stop,
                Some(_) => EntryDecision::SkipBlock,
                None => EntryDecision::Continue,
            };
            if let Some((rule, msg)) = problem {
                self.note(path, Severity::Unknown, rule, msg);
            }
            let len = out.len() as u64;
            self.member(&out, None, len, None, path, depth + 1, kind::PICKLE, false);
            path.pop();
            Ok(decision)
        });
        if let Err(e) = result {
            let (rule, msg) = seven_zip_error(&e);
            self.note(path, Severity::Unknown, rule, msg);
        }
        "7z".into()
    }

    fn too_many_members(&mut self, path: &[String], n: u64) {
        let msg = format!(
            "more than {} members in this file ({n} here): the rest are not scanned",
            self.limits.max_members
        );
        self.note(path, Severity::Unknown, "container.too-many-members", msg);
    }

    fn zip_member(
        &mut self,
        data: &[u8],
        e: &zip::Entry,
        path: &mut Vec<String>,
        depth: usize,
        pickle_kind: &'static str,
    ) {
        if e.name.ends_with('/') && e.compressed == 0 {
            return; // a folder entry
        }
        let raw = e.raw(data);
        if e.truncated {
            let msg = format!(
                "zip member data runs past the end of the archive ({} of {} bytes there): what is there is scanned",
                raw.len(),
                e.compressed
            );
            self.note(path, Severity::Unknown, "container.truncated", msg);
        }
        let codec = match e.method {
            0 => None,
            8 => Some(Codec::Deflate),
            12 => Some(Codec::Bzip2),
            14 => Some(Codec::ZipLzma((e.flags & 2 == 0).then_some(e.uncompressed))),
            93 => Some(Codec::Zstd),
            95 => Some(Codec::Xz),
            99 => {
                let msg =
                    "zip member encrypted with AES (WinZip method 99): its content cannot be read"
                        .into();
                self.note(path, Severity::Unknown, "zip.encrypted", msg);
                return;
            }
            m => {
                let msg = format!("zip compression method {m} is not read: member not scanned");
                self.note(path, Severity::Unknown, "container.unsupported", msg);
                return;
            }
        };
        // torch.load unpickles these whatever their bytes look like.
        let forced = pickle_kind == kind::TORCH_ZIP && zip::torch_pickle(&e.name);
        let (_, crc_ok) = self.member(
            raw,
            codec,
            e.uncompressed,
            Some(e.crc),
            path,
            depth,
            pickle_kind,
            forced,
        );
        // Whatever its ciphertext happens to look like (a zlib header, `{`), an encrypted
        // member's content is not what was read.
        if e.encrypted() {
            let msg = "encrypted zip member: its content cannot be read".into();
            self.note(path, Severity::Unknown, "zip.encrypted", msg);
        }
        // Python's zipfile and miniz refuse patched data; reserved bits they ignore, but
        // what a writer meant by them is not known: either way the bytes read here need
        // not be the member's content.
        if let Some(why) = e.unsupported_flags() {
            let msg = format!(
                "zip member flags {:#06x}: {why}, not implemented here: its bytes were scanned as stored, which need not be what a reader makes of them",
                e.flags
            );
            self.note(path, Severity::Unknown, "container.unsupported", msg);
        }
        if crc_ok == Some(false) {
            let msg = "zip member CRC-32 does not match its data (scanned all the same)".into();
            self.note(path, Severity::Info, "zip.bad-crc", msg);
        }
    }

    /// Scans a member of an archive: `raw` as stored, `codec` how it is compressed,
    /// `declared` its uncompressed size as the archive says. A compressed member is decoded
    /// only as far as its format needs. Returns the format and whether the CRC matched
    /// (when it was checked). `forced`: a member the loader unpickles whatever its bytes
    /// (a PyTorch zip's `data.pkl`), read as a pickle.
    #[allow(clippy::too_many_arguments)]
    fn member(
        &mut self,
        raw: &[u8],
        codec: Option<Codec>,
        declared: u64,
        crc: Option<u32>,
        path: &mut Vec<String>,
        depth: usize,
        pickle_kind: &'static str,
        forced: bool,
    ) -> (Format, Option<bool>) {
        let sniff = |d: &[u8], len: u64| {
            if forced {
                Format::Pickle
            } else {
                sniff::sniff(d, len)
            }
        };
        let Some(codec) = codec else {
            let format = sniff(raw, raw.len() as u64);
            let crc_ok = (format.needs_all() || format == Format::Npy)
                .then(|| crc.map(|c| crc32(raw) == c))
                .flatten();
            self.scan_as(
                format,
                raw,
                raw.len() as u64,
                true,
                path,
                depth,
                pickle_kind,
            );
            self.polyglot(format, raw, path, depth);
            return (format, crc_ok);
        };
        let prefix = decompress::decode(codec, raw, SNIFF_PREFIX, u64::MAX, true);
        self.decompressed += prefix.data.len() as u64;
        let whole = prefix.end == End::Complete;
        let len = if whole {
            prefix.data.len() as u64
        } else {
            declared.max(prefix.data.len() as u64)
        };
        let format = sniff(&prefix.data, len);
        // A prefix that a loader may unpickle into an import (or that may go on to one)
        // is decoded whole and read as a pickle too (see `scan_as`).
        let gate = if format.may_hide_pickle() {
            sniff::imports_global(&prefix.data)
        } else {
            Gate::No
        };
        let maybe_pickle = gate == Gate::Import || (gate == Gate::Eof && !whole);
        if format == Format::Safetensors && !whole && !maybe_pickle {
            self.safetensors_member(codec, raw, &prefix.data, len, path);
            return (format, None);
        }
        let need_all = maybe_pickle
            || match format {
                Format::Npy => npy::header(&prefix.data).map_or(true, |h| h.objects),
                // Searched whole for a Keras configuration (a legacy .h5 deflated in a
                // zip was passed unread before).
                Format::Hdf5 => true,
                f => f.needs_all(),
            };
        if whole || !need_all {
            if !whole
                && declared > RATIO_FLOOR
                && declared / (raw.len() as u64).max(1) > self.limits.max_ratio
            {
                let msg = format!(
                    "{} member declares {declared} bytes from {} compressed (more than {} to 1): not expanded",
                    codec.name(),
                    raw.len(),
                    self.limits.max_ratio
                );
                self.note(path, Severity::Unknown, "container.bomb", msg);
            }
            if !whole && !matches!(prefix.end, End::Prefix) {
                // Damaged within the first bytes: report it like a full decode would.
                let _ = self.decode_all(codec, raw, path);
            }
            let crc_ok = whole
                .then(|| crc.map(|c| crc32(&prefix.data) == c))
                .flatten();
            self.scan_as(format, &prefix.data, len, whole, path, depth, pickle_kind);
            return (format, crc_ok);
        }
        let Some(all) = self.decode_all(codec, raw, path) else {
            return (format, None);
        };
        let crc_ok = crc.map(|c| crc32(&all) == c);
        self.scan_as(
            format,
            &all,
            all.len() as u64,
            true,
            path,
            depth,
            pickle_kind,
        );
        self.polyglot(format, &all, path, depth);
        (format, crc_ok)
    }

    /// A compressed safetensors member: decoded as far as its header (the declared size
    /// stands for the file size).
    fn safetensors_member(
        &mut self,
        codec: Codec,
        raw: &[u8],
        prefix: &[u8],
        len: u64,
        path: &[String],
    ) {
        let head = match safetensors::header_len(prefix, len) {
            Ok(n) => decompress::decode(codec, raw, 8 + n, u64::MAX, true).data,
            Err(_) => prefix.to_vec(),
        };
        self.decompressed += head.len() as u64;
        self.safetensors(&head, len, path);
    }

    fn tar(&mut self, data: &[u8], path: &mut Vec<String>, depth: usize) -> String {
        if self.too_deep(path, depth, "tar archive") {
            return "tar".into();
        }
        let room = self.limits.max_members.saturating_sub(self.members);
        let a = tar::read(data, room);
        if let Some(why) = &a.damaged {
            let msg = format!("{why}: the rest of the tar archive is not scanned");
            self.note(path, Severity::Unknown, "container.corrupt", msg);
        }
        if a.too_many {
            self.too_many_members(path, a.members.len() as u64 + 1);
        }
        self.members += a.members.len();
        for m in &a.members {
            path.push(m.name.clone());
            if m.truncated {
                let msg =
                    "tar member data runs past the end of the archive: what is there is scanned"
                        .into();
                self.note(path, Severity::Unknown, "container.truncated", msg);
            }
            self.member(
                &data[m.start..m.end],
                None,
                0,
                None,
                path,
                depth + 1,
                kind::PICKLE,
                false,
            );
            path.pop();
        }
        "tar".into()
    }

    fn npy(&mut self, data: &[u8], len: u64, complete: bool, path: &[String]) {
        let h = match npy::header(data) {
            Ok(h) => h,
            Err(why) => {
                let msg = format!("npy file that numpy cannot read: {why}");
                self.note(path, Severity::Unknown, "npy.header", msg);
                return;
            }
        };
        let have = len.saturating_sub(h.data as u64);
        if h.objects {
            if complete {
                self.stream(
                    &data[h.data.min(data.len())..],
                    path,
                    kind::NPY_OBJECT,
                    Some(1),
                );
            }
            return;
        }
        match h.data_len {
            Some(need) if need == have => {
                let msg = format!("numpy array of dtype {}: plain data, no pickle", h.descr);
                self.note(path, Severity::Info, "npy.plain", msg);
            }
            Some(need) if need < have => {
                let msg = format!(
                    "numpy array of dtype {}: plain data, no pickle; {} bytes after the array are not loaded",
                    h.descr,
                    have - need
                );
                self.note(path, Severity::Info, "npy.plain", msg);
            }
            Some(need) => {
                let msg = format!(
                    "npy data ends early: its header declares {need} bytes, {have} are there"
                );
                self.note(path, Severity::Unknown, "container.truncated", msg);
            }
            None => {
                let msg =
                    "npy header declares more data than any file holds (its size overflows)".into();
                self.note(path, Severity::Unknown, "container.truncated", msg);
            }
        }
    }

    fn safetensors(&mut self, data: &[u8], len: u64, path: &[String]) {
        match safetensors::check(data, len) {
            Ok(msg) => self.note(path, Severity::Info, "safetensors.checked", msg),
            Err(why) => {
                let msg = format!("safetensors file a loader would refuse: {why}");
                self.note(path, Severity::Unknown, "safetensors.insane", msg);
            }
        }
    }

    fn json(&mut self, data: &[u8], path: &[String], depth: usize) -> String {
        // A name, or content that names classes: a configuration a loader may read.
        let keras_name = path
            .last()
            .is_some_and(|n| n == "config.json" || n.ends_with("/config.json"))
            || memchr::memmem::find(data, b"\"class_name\"").is_some();
        let parsed = if data.len() as u64 <= MAX_JSON {
            keras::parse_json(data)
        } else {
            None
        };
        match parsed {
            Some(v) if keras::is_config(&v) => {
                self.keras(&v, path, depth);
                "keras-config".into()
            }
            Some(v) if jinja::has_chat_template(&v) => {
                self.issues(path, jinja::tokenizer_config(&v));
                "tokenizer-config".into()
            }
            None if keras_name => {
                let msg =
                    "Keras config.json (or JSON naming classes) that cannot be read: the model it describes is not checked"
                        .into();
                self.note(path, Severity::Unknown, "keras.config-unreadable", msg);
                "json".into()
            }
            _ => {
                if !self.quiet {
                    let msg = "not a model format: JSON without a Keras model configuration".into();
                    self.note(path, Severity::Info, "container.not-model", msg);
                }
                "json".into()
            }
        }
    }

    fn keras(&mut self, config: &serde_json::Value, path: &[String], depth: usize) {
        self.issues(path, keras::check(config));
        // Files kept inside the configuration (a TorchModuleWrapper's torch.save).
        let (mut files, mut problems) = (Vec::new(), Vec::new());
        keras::embedded(config, &mut files, &mut problems);
        self.issues(path, problems);
        for (label, bytes) in files {
            let mut p = path.to_vec();
            p.push(label);
            if !self.too_deep(&p, depth, "file inside a Keras configuration") {
                self.scan(&bytes, &mut p, depth + 1, kind::PICKLE);
            }
        }
    }

    /// The findings of a format checker (GGUF, ONNX, SavedModel, Keras).
    fn issues(&mut self, path: &[String], issues: Vec<keras::Issue>) {
        for i in issues {
            self.note_global(path, i.global, i.severity, i.rule, i.message);
        }
    }

    fn hdf5(&mut self, data: &[u8], complete: bool, path: &[String], depth: usize) {
        if !complete {
            // `member` decodes compressed HDF5 whole; a part is never a pass.
            let msg =
                "HDF5 data only partly decoded: not searched for a Keras configuration".into();
            self.note(path, Severity::Unknown, "hdf5.not-searched", msg);
            return;
        }
        let mut configs = Vec::new();
        let mut unread = false;
        // A file that names a configuration: what cannot be read of it is not safe. (Data
        // files the reader cannot follow and that name none stay `hdf5.data`.)
        let names_config = memchr::memmem::find(data, b"model_config").is_some()
            || memchr::memmem::find(data, b"class_name").is_some();
        // The root group's attributes as HDF5 stores them (legacy Keras `.h5`).
        match hdf5::root_attributes(data) {
            Ok(root) => {
                for (name, value) in &root.attrs {
                    if name != "model_config" && name != "training_config" {
                        continue;
                    }
                    match keras::parse_json(value) {
                        Some(v) => configs.push(v),
                        None => {
                            unread = true;
                            let msg = format!("HDF5 attribute {name} is not JSON that Keras reads: the model it describes is not checked");
                            self.note(path, Severity::Unknown, "keras.config-unreadable", msg);
                        }
                    }
                }
                let read = root.attrs.iter().any(|(n, _)| n == "model_config");
                for why in root.skipped.iter().filter(|w| w.contains("_config")) {
                    unread = true;
                    let msg = format!("HDF5 root attribute not read ({why})");
                    self.note(path, Severity::Unknown, "hdf5.unreadable", msg);
                }
                if root.dense && !read && names_config {
                    unread = true;
                    let msg = "HDF5 root attributes in dense storage (fractal heap) are not read: the model_config there is not checked".into();
                    self.note(path, Severity::Unknown, "hdf5.unreadable", msg);
                }
            }
            Err(why) if names_config => {
                unread = true;
                let msg = format!("HDF5 file naming a model configuration whose root group cannot be read ({why}): only searched byte by byte");
                self.note(path, Severity::Unknown, "hdf5.unreadable", msg);
            }
            Err(_) => {}
        }
        // Configurations elsewhere in the file, found by their bytes (other groups,
        // datasets): checked too, once each.
        for c in keras::configs_in_hdf5(data, 16) {
            if !configs.contains(&c) {
                configs.push(c);
            }
        }
        if configs.is_empty() && !unread {
            let msg =
                "HDF5 file without a Keras model configuration: arrays only, no pickle".into();
            self.note(path, Severity::Info, "hdf5.data", msg);
        }
        for c in &configs {
            self.keras(c, path, depth);
        }
    }
}

/// The rule and message for a 7z archive or entry that cannot be read.
fn seven_zip_error(e: &sevenz_rust2::Error) -> (&'static str, String) {
    use sevenz_rust2::Error;
    match e {
        Error::PasswordRequired | Error::MaybeBadPassword(_) => (
            "container.encrypted",
            format!("encrypted 7z archive: its content cannot be read ({e})"),
        ),
        Error::UnsupportedCompressionMethod(_)
        | Error::Unsupported(_)
        | Error::MaxMemLimited { .. }
        | Error::ExternalUnsupported => (
            "container.unsupported",
            format!("7z content not read here ({e}): not scanned"),
        ),
        _ => (
            "container.corrupt",
            format!("7z archive that cannot be read further ({e}): the rest is not scanned"),
        ),
    }
}

/// Reads a 7z entry into at most `cap` bytes; past 1 MiB of output, more than `ratio`
/// bytes out (`before` of earlier entries with these) per byte of the archive (`archive`
/// bytes) is a bomb. What was read, and the problem that stopped it.
fn read_capped(
    r: &mut dyn std::io::Read,
    cap: u64,
    before: u64,
    archive: u64,
    ratio: u64,
) -> (Vec<u8>, Option<(&'static str, String)>) {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let room = cap.saturating_sub(out.len() as u64);
        let want = usize::try_from(room.saturating_add(1)).map_or(buf.len(), |w| w.min(buf.len()));
        match r.read(&mut buf[..want]) {
            Ok(0) => return (out, None),
            Ok(n) => {
                let take = n.min(usize::try_from(room).unwrap_or(usize::MAX));
                out.extend_from_slice(&buf[..take]);
                let total = before + out.len() as u64;
                if total > RATIO_FLOOR && total / archive.max(1) > ratio {
                    let msg = format!(
                        "7z bomb: {total} bytes out of a {archive}-byte archive (more than {ratio} to 1): the rest is not scanned"
                    );
                    return (out, Some(("container.bomb", msg)));
                }
                if take < n {
                    let msg = format!(
                        "7z entry decompresses to more than {cap} bytes (the bound of one stream, or what is left of this file's): the rest is not scanned"
                    );
                    return (out, Some(("container.bomb", msg)));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let msg = format!(
                    "7z entry that does not decode ({e}): the {} bytes before the damage are scanned",
                    out.len()
                );
                return (out, Some(("container.corrupt", msg)));
            }
        }
    }
}

fn crc32(d: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(d);
    c.sum()
}
