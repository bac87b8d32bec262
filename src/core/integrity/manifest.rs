//! Manifests: every regular file of a tree with its size and digest, and one root digest.
//!
//! The root follows the OpenSSF Model Signing v1.0 construction (the `model-signing`
//! package): the digest of the concatenation of the raw digests of the resources, taken
//! in the order of their relative POSIX paths compared component by component.
//!
//! * files mode (`shard_size = None`): one resource per file, the digest of its content.
//! * shards mode (`shard_size = Some(n)`): each file is cut into `n`-byte shards (the last
//!   one shorter, none for an empty file); the resources are the shards, ordered by
//!   (path, start). Every shard of every file is hashed in parallel. A file's own digest
//!   is the digest of its content when it is one shard (or empty), as in files mode, so
//!   `sha256sum` agrees with it; a file of several shards has the digest of the
//!   concatenation of its shard digests (`file_digest`).
//!
//! Paths are raw bytes (Unix file names need not be UTF-8). They are ordered as Python
//! orders the `surrogateescape` decoding of their components, which is what
//! `model-signing` does and, for UTF-8 names, plain byte order per component.
//!
//! Walking: a symbolic link inside the tree is hashed as its target's content; a link
//! leaving the tree is refused unless `follow_symlinks`; a directory already on the
//! current walk path (a loop) is always refused; FIFOs, devices and sockets are refused
//! and never opened. Empty folders have no files and so do not appear.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::hashing::{
    combine, hash_ranges, special_kind, unsafe_path, Algorithm, Digest, RangeJob,
};
use crate::core::error::{CoreError, CoreResult};
use crate::core::progress::Progress;

/// How to build a manifest.
#[derive(Debug, Clone)]
pub struct Options {
    pub algorithm: Algorithm,
    pub shard_size: Option<u64>,
    pub ignore: Vec<String>,
    pub follow_symlinks: bool,
}

/// One regular file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, raw bytes.
    pub path: Vec<u8>,
    pub size: u64,
    pub digest: Digest,
    /// Shard digests in shards mode.
    pub shards: Option<Vec<Digest>>,
}

/// Entries in canonical order and the root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub algorithm: Algorithm,
    pub shard_size: Option<u64>,
    pub entries: Vec<Entry>,
    pub root: Digest,
}

// ---------------------------------------------------------------------------------------
// Ordering and root

/// The code points of Python's `bytes.decode("utf-8", "surrogateescape")` of `b`.
fn surrogateescape_code_points(mut b: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(b.len());
    while !b.is_empty() {
        match std::str::from_utf8(b) {
            Ok(s) => {
                out.extend(s.chars().map(|c| c as u32));
                break;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                // Safe: the prefix was just validated.
                let s = std::str::from_utf8(&b[..valid]).unwrap_or_default();
                out.extend(s.chars().map(|c| c as u32));
                let bad = e.error_len().unwrap_or(b.len() - valid);
                out.extend(b[valid..valid + bad].iter().map(|&x| 0xDC00 + x as u32));
                b = &b[valid + bad..];
            }
        }
    }
    out
}

/// Orders relative paths as `pathlib.PurePosixPath` does (component lists of Python
/// strings), which is the order of `model-signing`.
pub fn compare_paths(a: &[u8], b: &[u8]) -> Ordering {
    let mut ca = a.split(|&c| c == b'/');
    let mut cb = b.split(|&c| c == b'/');
    loop {
        match (ca.next(), cb.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let o = if std::str::from_utf8(x).is_ok() && std::str::from_utf8(y).is_ok() {
                    x.cmp(y) // UTF-8 byte order is code point order
                } else {
                    surrogateescape_code_points(x).cmp(&surrogateescape_code_points(y))
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// The root digest of entries already in canonical order.
pub fn root_of(algorithm: Algorithm, entries: &[Entry]) -> Digest {
    combine(
        algorithm,
        entries.iter().flat_map(|e| match &e.shards {
            Some(s) => s.iter(),
            None => std::slice::from_ref(&e.digest).iter(),
        }),
    )
}

fn shard_count(size: u64, shard: u64) -> u64 {
    size.div_ceil(shard)
}

// ---------------------------------------------------------------------------------------
// Ignore patterns

/// Glob match on bytes: `*` any run without `/`, `**` any run (`**/` zero or more whole
/// components), `?` one character other than `/`, `[...]` a class (`!`/`^` negates,
/// `a-z` ranges), `\` escapes.
fn glob_match(p: &[u8], s: &[u8]) -> bool {
    if p.is_empty() {
        return s.is_empty();
    }
    match p[0] {
        b'*' if p.get(1) == Some(&b'*') => {
            let rest = &p[2..];
            if rest.is_empty() {
                return true;
            }
            if rest[0] == b'/' {
                let after = &rest[1..];
                if glob_match(after, s) {
                    return true;
                }
                return s
                    .iter()
                    .enumerate()
                    .any(|(i, &c)| c == b'/' && glob_match(after, &s[i + 1..]));
            }
            (0..=s.len()).any(|i| glob_match(rest, &s[i..]))
        }
        b'*' => {
            let rest = &p[1..];
            for i in 0..=s.len() {
                if glob_match(rest, &s[i..]) {
                    return true;
                }
                if i < s.len() && s[i] == b'/' {
                    break;
                }
            }
            false
        }
        b'?' => {
            if s.is_empty() || s[0] == b'/' {
                return false;
            }
            // One UTF-8 character (continuation bytes belong to it).
            let mut n = 1;
            if s[0] >= 0xC0 {
                while n < s.len() && (s[n] & 0xC0) == 0x80 {
                    n += 1;
                }
            }
            glob_match(&p[1..], &s[n..])
        }
        b'[' => match class_end(p) {
            Some(end) => {
                if s.is_empty() || s[0] == b'/' {
                    return false;
                }
                let mut body = &p[1..end];
                let negate = matches!(body.first(), Some(b'!') | Some(b'^'));
                if negate {
                    body = &body[1..];
                }
                let c = s[0];
                let mut hit = false;
                let mut i = 0;
                while i < body.len() {
                    if i + 2 < body.len() && body[i + 1] == b'-' {
                        hit |= body[i] <= c && c <= body[i + 2];
                        i += 3;
                    } else {
                        hit |= body[i] == c;
                        i += 1;
                    }
                }
                hit != negate && glob_match(&p[end + 1..], &s[1..])
            }
            None => !s.is_empty() && s[0] == b'[' && glob_match(&p[1..], &s[1..]),
        },
        b'\\' if p.len() > 1 => !s.is_empty() && s[0] == p[1] && glob_match(&p[2..], &s[1..]),
        c => !s.is_empty() && s[0] == c && glob_match(&p[1..], &s[1..]),
    }
}

fn class_end(p: &[u8]) -> Option<usize> {
    // The first `]` after the opening one (a `]` right after `[`, `[!` or `[^` is literal).
    let mut i = 1;
    if matches!(p.get(i), Some(b'!') | Some(b'^')) {
        i += 1;
    }
    if p.get(i) == Some(&b']') {
        i += 1;
    }
    while i < p.len() {
        if p[i] == b']' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Compiled `ignore` patterns. A pattern with a `/` matches the whole relative path; one
/// without matches the name at any depth; a leading `/` anchors a pattern at the top of
/// the tree (all as in `.gitignore`). A directory that matches is skipped with everything
/// below it. A trailing `/` is dropped.
#[derive(Debug, Clone, Default)]
pub struct Ignore {
    patterns: Vec<(Vec<u8>, bool)>,
}

impl Ignore {
    pub fn new(patterns: &[String]) -> CoreResult<Self> {
        let mut out = Vec::new();
        for p in patterns {
            let t = p.strip_prefix("./").unwrap_or(p).trim_end_matches('/');
            let (t, anchored) = match t.strip_prefix('/') {
                Some(rest) => (rest, true),
                None => (t, false),
            };
            if t.is_empty() || t.starts_with('/') {
                return Err(CoreError::invalid(format!(
                    "ignore: expected glob patterns relative to the tree (like \"*.tmp\", \
                     \".git/**\" or \"/model.sig\"), got {p:?}"
                )));
            }
            out.push((t.as_bytes().to_vec(), anchored || t.contains('/')));
        }
        Ok(Ignore { patterns: out })
    }

    pub fn matches(&self, rel: &[u8]) -> bool {
        let name = rel.rsplit(|&c| c == b'/').next().unwrap_or(rel);
        self.patterns
            .iter()
            .any(|(p, full)| glob_match(p, if *full { rel } else { name }))
    }

    /// Whether a walk would leave out the file at `rel`: it or a folder above it matches
    /// (a matching folder is skipped whole).
    pub fn covers(&self, rel: &[u8]) -> bool {
        rel.iter()
            .enumerate()
            .filter(|&(_, &c)| c == b'/')
            .any(|(i, _)| self.matches(&rel[..i]))
            || self.matches(rel)
    }
}

// ---------------------------------------------------------------------------------------
// Walking

struct Job {
    abs: PathBuf,
    rel: Vec<u8>,
    meta: Metadata,
}

struct Walker<'a> {
    ignore: &'a Ignore,
    follow_symlinks: bool,
    canonical_root: PathBuf,
    /// (dev, inode) of the directories on the current walk path.
    stack: Vec<(u64, u64)>,
    jobs: Vec<Job>,
    progress: &'a Progress,
}

impl Walker<'_> {
    fn walk(&mut self, dir: &Path, rel: &[u8]) -> CoreResult<()> {
        self.progress.check()?;
        let rd = std::fs::read_dir(dir).map_err(|e| CoreError::io(dir, e))?;
        for item in rd {
            let item = item.map_err(|e| CoreError::io(dir, e))?;
            let name = item.file_name();
            let mut child_rel = rel.to_vec();
            if !child_rel.is_empty() {
                child_rel.push(b'/');
            }
            child_rel.extend_from_slice(name.as_bytes());
            if self.ignore.matches(&child_rel) {
                continue;
            }
            let abs = item.path();
            let lmeta = std::fs::symlink_metadata(&abs).map_err(|e| CoreError::io(&abs, e))?;
            let meta = if lmeta.file_type().is_symlink() {
                self.resolve_link(&abs)?
            } else {
                lmeta
            };
            if meta.is_dir() {
                let key = (meta.dev(), meta.ino());
                if self.stack.contains(&key) {
                    return Err(CoreError::UnsafePath {
                        path: abs,
                        reason: "is a symbolic link loop: it leads back to a folder that \
                                 contains it"
                            .into(),
                    });
                }
                self.stack.push(key);
                self.walk(&abs, &child_rel)?;
                self.stack.pop();
            } else if let Some(kind) = special_kind(&meta) {
                return Err(unsafe_path(&abs, kind));
            } else {
                self.progress.add_total(meta.size());
                self.jobs.push(Job {
                    abs,
                    rel: child_rel,
                    meta,
                });
            }
        }
        Ok(())
    }

    /// The `stat` of a link's target, after checking that it stays inside the tree.
    fn resolve_link(&self, abs: &Path) -> CoreResult<Metadata> {
        let meta = match std::fs::metadata(abs) {
            Ok(m) => m,
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                return Err(CoreError::UnsafePath {
                    path: abs.to_path_buf(),
                    reason: "is a symbolic link loop".into(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(CoreError::UnsafePath {
                    path: abs.to_path_buf(),
                    reason: "is a symbolic link whose target does not exist".into(),
                })
            }
            Err(e) => return Err(CoreError::io(abs, e)),
        };
        if !self.follow_symlinks {
            let target = std::fs::canonicalize(abs).map_err(|e| CoreError::io(abs, e))?;
            if !target.starts_with(&self.canonical_root) {
                return Err(CoreError::UnsafePath {
                    path: abs.to_path_buf(),
                    reason: format!(
                        "is a symbolic link leading outside the tree (to {}); pass \
                         follow_symlinks=True to follow it",
                        target.display()
                    ),
                });
            }
        }
        Ok(meta)
    }
}

/// The regular files under `root` (or `root` itself if it is a file), in canonical order.
fn list(root: &Path, opts: &Options, progress: &Progress) -> CoreResult<Vec<Job>> {
    let meta = std::fs::metadata(root).map_err(|e| CoreError::io(root, e))?;
    if !meta.is_dir() {
        if let Some(kind) = special_kind(&meta) {
            return Err(unsafe_path(root, kind));
        }
        let name = root.file_name().unwrap_or_else(|| OsStr::new("file"));
        progress.add_total(meta.size());
        return Ok(vec![Job {
            abs: root.to_path_buf(),
            rel: name.as_bytes().to_vec(),
            meta,
        }]);
    }
    let ignore = Ignore::new(&opts.ignore)?;
    let canonical_root = std::fs::canonicalize(root).map_err(|e| CoreError::io(root, e))?;
    let mut w = Walker {
        ignore: &ignore,
        follow_symlinks: opts.follow_symlinks,
        canonical_root,
        stack: vec![(meta.dev(), meta.ino())],
        jobs: Vec::new(),
        progress,
    };
    w.walk(root, b"")?;
    let mut jobs = w.jobs;
    jobs.sort_by(|a, b| compare_paths(&a.rel, &b.rel));
    Ok(jobs)
}

/// The digest of a file from its shard digests: the content's own digest for a file of
/// one shard or none (the digest of nothing for an empty file), else the digest of the
/// concatenation of the shard digests.
pub fn file_digest(algorithm: Algorithm, shards: &[Digest]) -> Digest {
    match shards {
        [one] => *one,
        _ => combine(algorithm, shards),
    }
}

/// Builds the manifest of the file or folder `root`, hashing files (and shards) in
/// parallel on the current rayon pool.
pub fn build(root: &Path, opts: &Options, progress: &Progress) -> CoreResult<Manifest> {
    if opts.shard_size == Some(0) {
        return Err(CoreError::invalid(
            "shard_size: expected a positive number of bytes or None",
        ));
    }
    let jobs = list(root, opts, progress)?;
    // Every file, or every shard of every file, is one range; `first[k]..first[k + 1]`
    // are file k's. An empty file still gets one (empty) range, so that it is opened and
    // checked against its listing like any other; in shards mode it has no shards.
    let mut ranges = Vec::with_capacity(jobs.len());
    let mut first = Vec::with_capacity(jobs.len() + 1);
    for job in &jobs {
        first.push(ranges.len());
        let size = job.meta.size();
        let (step, count) = match opts.shard_size {
            Some(n) if size > 0 => (n, shard_count(size, n)),
            _ => (size, 1),
        };
        ranges.extend((0..count).map(|i| RangeJob {
            path: &job.abs,
            listed: &job.meta,
            start: i * step,
            end: (i * step).saturating_add(step).min(size),
        }));
    }
    first.push(ranges.len());
    let digests = hash_ranges(opts.algorithm, &ranges, progress)?;
    let entries: Vec<Entry> = jobs
        .iter()
        .zip(first.windows(2))
        .map(|(job, span)| {
            let own = &digests[span[0]..span[1]];
            let (digest, shards) = match opts.shard_size {
                None => (own[0], None),
                Some(_) if job.meta.size() == 0 => (file_digest(opts.algorithm, &[]), Some(vec![])),
                Some(_) => (file_digest(opts.algorithm, own), Some(own.to_vec())),
            };
            Entry {
                path: job.rel.clone(),
                size: job.meta.size(),
                digest,
                shards,
            }
        })
        .collect();
    let root = root_of(opts.algorithm, &entries);
    Ok(Manifest {
        algorithm: opts.algorithm,
        shard_size: opts.shard_size,
        entries,
        root,
    })
}

// ---------------------------------------------------------------------------------------
// Checking a stored manifest

fn bad(msg: String) -> CoreError {
    CoreError::Manifest(msg)
}

fn shown(path: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(path))
}

/// Checks a stored manifest's content and returns it in canonical order together with the
/// permutation applied (`order[i]` = index in `entries` of the i-th canonical entry):
/// safe relative paths, no duplicates, digests of the manifest's algorithm, the shard
/// count each size implies, each file digest equal to the combination of its shards, and
/// the claimed root equal to the one the listed digests give (a hand edit breaks it).
pub fn check(
    algorithm: Algorithm,
    shard_size: Option<u64>,
    entries: Vec<Entry>,
    claimed_root: Digest,
) -> CoreResult<(Manifest, Vec<usize>)> {
    if shard_size == Some(0) {
        return Err(bad("shard_size must be a positive integer or null".into()));
    }
    for e in &entries {
        let p = &e.path;
        let unsafe_component = p
            .split(|&c| c == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..");
        if p.is_empty() || p.contains(&0) || unsafe_component {
            return Err(bad(format!(
                "unsafe path {}: paths must be relative, '/'-separated, without empty, '.' \
                 or '..' components",
                shown(p)
            )));
        }
        let digests = std::iter::once(&e.digest).chain(e.shards.iter().flatten());
        for d in digests {
            if d.algorithm != algorithm {
                return Err(bad(format!(
                    "{}: digest {d} does not use the manifest's algorithm {}",
                    shown(p),
                    algorithm.name()
                )));
            }
        }
        match (shard_size, &e.shards) {
            (None, Some(_)) => {
                return Err(bad(format!(
                    "{}: has shards but the manifest has no shard_size",
                    shown(p)
                )))
            }
            (Some(_), None) => {
                return Err(bad(format!(
                    "{}: has no shards but the manifest has a shard_size",
                    shown(p)
                )))
            }
            (Some(n), Some(s)) => {
                if s.len() as u64 != shard_count(e.size, n) {
                    return Err(bad(format!(
                        "{}: a file of {} bytes has {} shards of {n} bytes, not {}",
                        shown(p),
                        e.size,
                        shard_count(e.size, n),
                        s.len()
                    )));
                }
                if file_digest(algorithm, s) != e.digest {
                    return Err(bad(format!(
                        "{}: digest {} is not the digest of its shard digests",
                        shown(p),
                        e.digest
                    )));
                }
            }
            (None, None) => {}
        }
    }
    let mut order: Vec<usize> = (0..entries.len()).collect();
    order.sort_by(|&a, &b| compare_paths(&entries[a].path, &entries[b].path));
    for w in order.windows(2) {
        if entries[w[0]].path == entries[w[1]].path {
            return Err(bad(format!(
                "duplicate path {}",
                shown(&entries[w[0]].path)
            )));
        }
    }
    let mut slots: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
    let sorted: Vec<Entry> = order.iter().filter_map(|&i| slots[i].take()).collect();
    let root = root_of(algorithm, &sorted);
    if root != claimed_root {
        return Err(bad(format!(
            "root {claimed_root} does not match the listed digests, which give {root} \
             (was the manifest edited?)"
        )));
    }
    Ok((
        Manifest {
            algorithm,
            shard_size,
            entries: sorted,
            root,
        },
        order,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::integrity::hashing::digest_bytes;
    use std::os::unix::ffi::OsStrExt;

    fn opts(algorithm: Algorithm, shard_size: Option<u64>) -> Options {
        Options {
            algorithm,
            shard_size,
            ignore: vec![],
            follow_symlinks: false,
        }
    }

    fn put(root: &Path, rel: &str, data: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }

    fn paths(m: &Manifest) -> Vec<String> {
        m.entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect()
    }

    #[test]
    fn ordering_is_by_component() {
        let d = tempfile::tempdir().unwrap();
        for p in ["a.b", "a/b", "a/a", "b", "A", "a-c/x"] {
            put(d.path(), p, p.as_bytes());
        }
        std::fs::create_dir(d.path().join("empty")).unwrap();
        let m = build(d.path(), &opts(Algorithm::Sha256, None), &Progress::new()).unwrap();
        // Component order: "a" < "a-c" < "a.b" although '/' > '-' and '.' bytewise.
        assert_eq!(paths(&m), ["A", "a/a", "a/b", "a-c/x", "a.b", "b"]);
        let expected = combine(
            Algorithm::Sha256,
            &m.entries
                .iter()
                .map(|e| digest_bytes(Algorithm::Sha256, &e.path))
                .collect::<Vec<_>>(),
        );
        assert_eq!(m.root, expected);
    }

    #[test]
    fn model_signing_fixture_root() {
        // The sample folder of model-signing's tests; root computed with hashlib:
        // sha256(b"".join(sha256(content).digest() for files in PurePosixPath order)).
        let d = tempfile::tempdir().unwrap();
        for i in 0..2 {
            for j in 0..3 {
                put(
                    d.path(),
                    &format!("d{i}/f{i}{j}"),
                    format!("This is file f{i}{j} in d{i}.").as_bytes(),
                );
            }
        }
        for i in 0..4 {
            put(
                d.path(),
                &format!("f{i}"),
                format!("This is file f{i} in root.").as_bytes(),
            );
        }
        let m = build(d.path(), &opts(Algorithm::Sha256, None), &Progress::new()).unwrap();
        assert_eq!(
            paths(&m),
            ["d0/f00", "d0/f01", "d0/f02", "d1/f10", "d1/f11", "d1/f12", "f0", "f1", "f2", "f3"]
        );
        let mut cat = Vec::new();
        for e in &m.entries {
            let content = std::fs::read(d.path().join(OsStr::from_bytes(&e.path))).unwrap();
            cat.extend_from_slice(&digest_bytes(Algorithm::Sha256, &content).bytes);
        }
        assert_eq!(m.root, digest_bytes(Algorithm::Sha256, &cat));
    }

    #[test]
    fn shards() {
        let d = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
        put(d.path(), "x", &data);
        put(d.path(), "empty", b"");
        let m = build(
            d.path(),
            &opts(Algorithm::Sha256, Some(300)),
            &Progress::new(),
        )
        .unwrap();
        let empty = &m.entries[0];
        assert_eq!(empty.shards.as_deref(), Some(&[][..]));
        let x = &m.entries[1];
        let want: Vec<Digest> = data
            .chunks(300)
            .map(|c| digest_bytes(Algorithm::Sha256, c))
            .collect();
        assert_eq!(x.shards.as_ref().unwrap(), &want);
        assert_eq!(x.digest, combine(Algorithm::Sha256, &want));
        assert_eq!(empty.digest, digest_bytes(Algorithm::Sha256, b""));
        // The empty file has no shards, so the root only covers x's shards.
        assert_eq!(m.root, combine(Algorithm::Sha256, &want));
        // Stored and checked back.
        let (back, order) = check(Algorithm::Sha256, Some(300), m.entries.clone(), m.root).unwrap();
        assert_eq!(back, m);
        assert_eq!(order, [0, 1]);
        // A file of one shard has its content's digest, as in files mode.
        let m = build(
            d.path(),
            &opts(Algorithm::Sha256, Some(4096)),
            &Progress::new(),
        )
        .unwrap();
        assert_eq!(m.entries[1].digest, digest_bytes(Algorithm::Sha256, &data));
    }

    #[test]
    fn check_rejects_edits() {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "a", b"1");
        put(d.path(), "b", b"2");
        let m = build(d.path(), &opts(Algorithm::Blake3, None), &Progress::new()).unwrap();
        let mut edited = m.entries.clone();
        edited[0].digest = digest_bytes(Algorithm::Blake3, b"x");
        assert!(matches!(
            check(Algorithm::Blake3, None, edited, m.root),
            Err(CoreError::Manifest(_))
        ));
        let mut dup = m.entries.clone();
        dup[1].path = b"a".to_vec();
        assert!(check(Algorithm::Blake3, None, dup, m.root).is_err());
        for p in [&b"../x"[..], b"/x", b"a//b", b"./a", b""] {
            let mut e = m.entries.clone();
            e[0].path = p.to_vec();
            assert!(check(Algorithm::Blake3, None, e, m.root).is_err());
        }
        // Reordered entries are fine: canonical order is restored.
        let mut rev = m.entries.clone();
        rev.reverse();
        let (back, order) = check(Algorithm::Blake3, None, rev, m.root).unwrap();
        assert_eq!(back, m);
        assert_eq!(order, [1, 0]);
    }

    #[test]
    fn symlinks_and_loops() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("tree");
        put(&t, "sub/real", b"content");
        std::os::unix::fs::symlink("sub/real", t.join("inside")).unwrap();
        let m = build(&t, &opts(Algorithm::Sha256, None), &Progress::new()).unwrap();
        assert_eq!(paths(&m), ["inside", "sub/real"]);
        assert_eq!(m.entries[0].digest, m.entries[1].digest);

        put(d.path(), "outside", b"secret");
        std::os::unix::fs::symlink("../outside", t.join("out")).unwrap();
        let err = build(&t, &opts(Algorithm::Sha256, None), &Progress::new()).unwrap_err();
        assert!(matches!(err, CoreError::UnsafePath { .. }), "{err}");
        let mut o = opts(Algorithm::Sha256, None);
        o.follow_symlinks = true;
        assert_eq!(build(&t, &o, &Progress::new()).unwrap().entries.len(), 3);
        std::fs::remove_file(t.join("out")).unwrap();

        std::os::unix::fs::symlink("..", t.join("sub/up")).unwrap();
        for follow in [false, true] {
            let mut o = opts(Algorithm::Sha256, None);
            o.follow_symlinks = follow;
            let err = build(&t, &o, &Progress::new()).unwrap_err();
            assert!(
                matches!(&err, CoreError::UnsafePath { reason, .. } if reason.contains("loop")),
                "{err}"
            );
        }
        std::fs::remove_file(t.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("self", t.join("self")).unwrap();
        let err = build(&t, &opts(Algorithm::Sha256, None), &Progress::new()).unwrap_err();
        assert!(matches!(err, CoreError::UnsafePath { .. }), "{err}");
    }

    #[test]
    fn fifo_in_tree_is_refused() {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "a", b"1");
        let f = d.path().join("pipe");
        let c = std::ffi::CString::new(f.as_os_str().as_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = build(d.path(), &opts(Algorithm::Sha256, None), &Progress::new()).unwrap_err();
        assert!(matches!(err, CoreError::UnsafePath { .. }), "{err}");
        let mut o = opts(Algorithm::Sha256, None);
        o.ignore = vec!["pipe".into()];
        assert_eq!(
            build(d.path(), &o, &Progress::new()).unwrap().entries.len(),
            1
        );
    }

    #[test]
    fn ignore_patterns() {
        let ig = Ignore::new(&[
            "*.tmp".into(),
            ".git/**".into(),
            "cache".into(),
            "d?/x[0-9]".into(),
        ])
        .unwrap();
        assert!(ig.matches(b"a.tmp"));
        assert!(ig.matches(b"deep/er/a.tmp"));
        assert!(!ig.matches(b"a.tmpx"));
        assert!(ig.matches(b".git/objects/ab"));
        assert!(!ig.matches(b".github/x"));
        assert!(ig.matches(b"x/cache"));
        assert!(ig.matches(b"d1/x5"));
        assert!(!ig.matches(b"d1/xa"));
        assert!(glob_match(b"a/**/b", b"a/b"));
        assert!(glob_match(b"a/**/b", b"a/x/y/b"));
        assert!(!glob_match(b"a/*", b"a/x/y"));
        // A leading '/' anchors at the top of the tree, as in .gitignore.
        let top = Ignore::new(&["/model.sig".into()]).unwrap();
        assert!(top.matches(b"model.sig"));
        assert!(!top.matches(b"sub/model.sig"));
        assert!(Ignore::new(&["/".into()]).is_err());
        assert!(Ignore::new(&["//x".into()]).is_err());
        // covers: a file under a matching folder is left out with it.
        assert!(ig.covers(b"x/cache/deep/file.bin") && !ig.matches(b"x/cache/deep/file.bin"));
        assert!(ig.covers(b".git/HEAD") && ig.covers(b"a.tmp"));
        assert!(!ig.covers(b"cached/file") && !ig.covers(b"keep/x.bin"));
        let exact = Ignore::new(&["/sig\\[1\\].json".into()]).unwrap();
        assert!(exact.covers(b"sig[1].json") && !exact.covers(b"sig1.json"));
    }

    #[test]
    fn non_utf8_names_order_like_python() {
        // Python: sorted(["\udcff", "\uffff", "a"]) puts the escaped byte 0xff (U+DCFF)
        // before U+FFFF although its raw byte 0xff sorts after 0xef bytewise.
        let ff = vec![0xffu8];
        let max_bmp = "\u{ffff}".as_bytes().to_vec();
        assert_eq!(compare_paths(&ff, &max_bmp), Ordering::Less);
        assert_eq!(compare_paths(b"a", &ff), Ordering::Less);
        assert_eq!(surrogateescape_code_points(b"a\xffb"), [0x61, 0xdcff, 0x62]);
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(OsStr::from_bytes(b"\xff.bin")), b"x").unwrap();
        let m = build(d.path(), &opts(Algorithm::Sha256, None), &Progress::new()).unwrap();
        assert_eq!(m.entries[0].path, b"\xff.bin");
    }

    #[test]
    fn single_file_and_missing() {
        let d = tempfile::tempdir().unwrap();
        put(d.path(), "w.bin", b"weights");
        let m = build(
            &d.path().join("w.bin"),
            &opts(Algorithm::Sha256, None),
            &Progress::new(),
        )
        .unwrap();
        assert_eq!(paths(&m), ["w.bin"]);
        let err = build(
            &d.path().join("nope"),
            &opts(Algorithm::Sha256, None),
            &Progress::new(),
        )
        .unwrap_err();
        assert!(matches!(err, CoreError::Io { .. }));
    }
}
