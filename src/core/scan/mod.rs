//! Scan: will loading this model file run someone's code?
//!
//! * `pickle`: a pickle reader that never executes anything. It follows every opcode of
//!   protocols 0 to 5 with a model of the stack and memo, so it knows which global each
//!   opcode that imports or calls ends up naming, however the names were built.
//! * `policy`: allow-list first. Known plain-data constructors are fine, known-dangerous
//!   globals are `Dangerous`, and anything else is `Unknown` (not safe).
//! * `container`: formats recognised by their content, never by their name: PyTorch zips
//!   and legacy files, joblib (raw and compressed), gzip/bz2/xz/zstd/lz4 pickles, `.npy`/`.npz`
//!   object arrays, nested zips, Keras archives, safetensors, folders. Each embedded
//!   stream that may hold a pickle goes to the pickle reader. Formats that hold no pickle
//!   but can still reach code, files or the network when loaded are read for that: GGUF
//!   headers and their Jinja chat templates (and those of tokenizer configurations), ONNX
//!   models (external data, custom operator domains), TensorFlow SavedModels and frozen
//!   graphs (Python, file and network operations; tf.keras metadata), Keras
//!   configurations (`.keras`, `model.to_json()`, the `model_config` attribute of legacy
//!   HDF5 files).
//!
//! Everything is bounded: decompressed sizes, nesting depth, member counts and pickle
//! stack/memo sizes have limits (`Limits`), and going past one is a finding, never a
//! silent pass and never a crash.

pub mod container;
pub mod pickle;
pub mod policy;

pub use container::{FileSummary, ScanResult};
pub use pickle::{scan_pickles, scan_stream, GlobalUse, NamedBy, PickleScan};
pub use policy::{Format, Policy, Verdict};

use std::fmt;
use std::path::Path;

use crate::core::error::CoreResult;
use crate::core::progress::Progress;

/// How bad a finding is. The scan is safe only when no finding is above `Info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing, not a risk (e.g. a safetensors file was checked).
    Info,
    /// A global the policy does not know, or content that could not be fully read:
    /// nobody can say the file is safe.
    Unknown,
    /// Code execution, imports, attribute walking, file/process/network access.
    Dangerous,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Unknown => "unknown",
            Severity::Dangerous => "dangerous",
        }
    }
}

/// Where a finding is: the file, the path of archive members down to the stream (nested
/// archives joined with `/`, e.g. `outer.zip!inner.zip!archive/data.pkl` becomes
/// `["inner.zip", "archive/data.pkl"]`), and the byte offset inside that stream (after
/// decompression).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: Vec<u8>,
    pub members: Vec<String>,
    pub offset: Option<u64>,
}

/// One thing the scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub location: Location,
    /// `module.qualname` for findings about a pickle global.
    pub global: Option<String>,
    pub severity: Severity,
    /// A stable identifier of the rule, e.g. `pickle.dangerous-global`.
    pub rule: &'static str,
    /// One line for a person.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} [{}]",
            self.severity.name(),
            self.message,
            self.rule
        )
    }
}

/// Bounds that keep every scan finite in time and memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes any single decompressed stream may reach.
    pub max_decompressed: u64,
    /// Bytes decompressed in all from one file (its members and nested streams together).
    pub max_total_decompressed: u64,
    /// Decompressed bytes over compressed bytes, above which a stream is a bomb (checked
    /// once it is past 1 MiB).
    pub max_ratio: u64,
    /// Archives inside archives.
    pub max_depth: usize,
    /// Members read per archive.
    pub max_members: usize,
    /// Pickle stack and memo entries.
    pub max_pickle_items: usize,
    /// Opcodes read per pickle stream.
    pub max_opcodes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: 4 << 30,
            max_total_decompressed: 16 << 30,
            max_ratio: 1000,
            max_depth: 4,
            max_members: 100_000,
            max_pickle_items: 10_000_000,
            max_opcodes: 500_000_000,
        }
    }
}

/// Scans a file or every file below a folder: each stream the containers find goes to the
/// pickle reader under `policy`. `Err` only when `path` itself cannot be read or the scan
/// was cancelled; everything else is a finding.
pub fn scan(
    path: &Path,
    policy: &Policy,
    limits: &Limits,
    progress: &Progress,
) -> CoreResult<ScanResult> {
    container::scan_path(path, limits, progress, &|stream| {
        scan_stream(&stream, policy, limits)
    })
}
