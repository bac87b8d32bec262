//! Digests of files and of byte ranges of files, read safely.
//!
//! * Files are read with positioned reads (`read_at`) into large buffers, never memory
//!   mapped: a file truncated while mapped kills the process with SIGBUS.
//! * Reading the next buffer overlaps with hashing the current one (`rayon::join`), and
//!   BLAKE3 hashes each buffer with its own tree parallelism (`update_rayon`).
//! * Many ranges at once (the shards and files of a manifest, `hash_ranges`) are spread
//!   over the rayon pool; with SHA-256 on a CPU with the SHA extensions each worker hashes
//!   `sha256x::LANES` of them side by side, which is about 1.6x the single-stream speed.
//! * A file is opened with `O_NONBLOCK` and checked with `fstat` to be a regular file, so
//!   a FIFO swapped in after the directory walk can never block us.
//! * A file that changes while it is read (size, modification time, inode, short read,
//!   bytes past the announced end) gives `CoreError::FileChanged`: no digest is returned
//!   for content nobody can vouch for.

use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use rayon::prelude::*;
use sha2::{Digest as _, Sha256};

use super::sha256x::{self, LANES};
use crate::core::error::{CoreError, CoreResult};
use crate::core::progress::Progress;

/// Bytes read per positioned read (two such buffers per file being read). 1 MiB keeps the
/// buffer just copied from the page cache in the core's L2 cache while it is hashed: on
/// the 1 GiB + 2,000-file bench folder, 64 MiB shards hash about 8% faster than with 8 MiB
/// buffers (0.33-0.34 s against 0.36-0.38 s, release build, 2 cores), and whole files
/// as fast; at 256 KiB the per-buffer hand-off slows one-stream files by 5%.
pub const CHUNK: usize = 1 << 20;
/// Bytes read per stream and step when `LANES` streams share a core: the buffers just
/// read for all of them (768 KiB) still fit the core's L2 cache when they are hashed.
const LANE_CHUNK: usize = 256 << 10;
/// Below this, BLAKE3's multithreaded update costs more than it saves.
const BLAKE3_RAYON_MIN: usize = 256 << 10;

/// A supported hash function. Both give 32-byte digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    Sha256,
    Blake3,
}

impl Algorithm {
    pub fn parse(name: &str) -> CoreResult<Self> {
        match name {
            "sha256" => Ok(Algorithm::Sha256),
            "blake3" => Ok(Algorithm::Blake3),
            _ => Err(CoreError::invalid(format!(
                "algorithm: expected \"sha256\" or \"blake3\", got {name:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Blake3 => "blake3",
        }
    }
}

/// A digest: the algorithm and its 32 raw bytes. Displays as `"sha256:<hex>"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    pub algorithm: Algorithm,
    pub bytes: [u8; 32],
}

impl Digest {
    /// Parses `"<algorithm>:<64 lowercase hex digits>"`; `None` if malformed.
    pub fn parse(text: &str) -> Option<Self> {
        let (name, hex_part) = text.split_once(':')?;
        let algorithm = Algorithm::parse(name).ok()?;
        if hex_part.len() != 64
            || !hex_part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).ok()?;
        Some(Digest { algorithm, bytes })
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), hex::encode(self.bytes))
    }
}

/// A streaming hasher for either algorithm.
pub enum Hasher {
    Sha256(Sha256),
    Blake3(Box<blake3::Hasher>),
}

impl Hasher {
    pub fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Sha256 => Hasher::Sha256(Sha256::new()),
            Algorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(data),
            Hasher::Blake3(h) => {
                if data.len() >= BLAKE3_RAYON_MIN {
                    h.update_rayon(data);
                } else {
                    h.update(data);
                }
            }
        }
    }

    pub fn finalize(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest {
                algorithm: Algorithm::Sha256,
                bytes: h.finalize().into(),
            },
            Hasher::Blake3(h) => Digest {
                algorithm: Algorithm::Blake3,
                bytes: *h.finalize().as_bytes(),
            },
        }
    }
}

/// The digest of a byte string.
pub fn digest_bytes(algorithm: Algorithm, data: &[u8]) -> Digest {
    let mut h = Hasher::new(algorithm);
    h.update(data);
    h.finalize()
}

/// The digest of the concatenation of the raw bytes of `digests` (the OpenSSF Model
/// Signing construction of a root from its resources' digests).
pub fn combine<'a>(algorithm: Algorithm, digests: impl IntoIterator<Item = &'a Digest>) -> Digest {
    let mut h = Hasher::new(algorithm);
    for d in digests {
        h.update(&d.bytes);
    }
    h.finalize()
}

/// What kind of non-regular file `meta` describes, for error messages; `None` if regular.
pub fn special_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    if t.is_file() {
        None
    } else if t.is_dir() {
        Some("a directory")
    } else if t.is_fifo() {
        Some("a FIFO (named pipe), which is never opened")
    } else if t.is_char_device() {
        Some("a character device, which is never opened")
    } else if t.is_block_device() {
        Some("a block device, which is never opened")
    } else if t.is_socket() {
        Some("a socket, which is never opened")
    } else if t.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("not a regular file")
    }
}

fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.dev() == b.dev() && a.ino() == b.ino()
}

fn same_state(a: &Metadata, b: &Metadata) -> bool {
    same_file(a, b)
        && a.size() == b.size()
        && a.mtime() == b.mtime()
        && a.mtime_nsec() == b.mtime_nsec()
}

/// Opens the regular file `path` for reading without ever blocking (a FIFO swapped in
/// after `expected` was taken is refused, not opened for a read that never ends).
/// Returns the file and its `fstat`. `expected`, when given, is the `stat` the caller
/// walked: a different inode means the file was replaced in between.
pub fn open_regular(path: &Path, expected: Option<&Metadata>) -> CoreResult<(File, Metadata)> {
    if let Some(kind) = expected.and_then(special_kind) {
        return Err(unsafe_path(path, kind));
    }
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| CoreError::io(path, e))?;
    let meta = file.metadata().map_err(|e| CoreError::io(path, e))?;
    if let Some(kind) = special_kind(&meta) {
        return Err(unsafe_path(path, kind));
    }
    if let Some(exp) = expected {
        if !same_state(exp, &meta) {
            return Err(changed(
                path,
                "it was replaced or modified after it was listed",
            ));
        }
    }
    Ok((file, meta))
}

pub(crate) fn unsafe_path(path: &Path, reason: &str) -> CoreError {
    CoreError::UnsafePath {
        path: path.to_path_buf(),
        reason: format!("is {reason}"),
    }
}

fn changed(path: &Path, reason: &str) -> CoreError {
    CoreError::FileChanged {
        path: path.to_path_buf(),
        reason: format!("file changed while it was being hashed: {reason}"),
    }
}

/// Fills `buf` from `offset`; fewer bytes than asked means the file shrank.
fn read_full(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> CoreResult<()> {
    let mut done = 0usize;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => {
                return Err(changed(
                    path,
                    &format!(
                        "it ended at byte {}, before the size it had when opened",
                        offset + done as u64
                    ),
                ))
            }
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CoreError::io(path, e)),
        }
    }
    Ok(())
}

/// The digest of bytes `start..end` of an open file, read in `CHUNK`s with the next read
/// overlapping the hashing of the current buffer. Counts bytes into `progress` and stops
/// with `Cancelled` between chunks when asked.
pub fn hash_range(
    file: &File,
    path: &Path,
    algorithm: Algorithm,
    start: u64,
    end: u64,
    progress: &Progress,
) -> CoreResult<Digest> {
    let mut hasher = Hasher::new(algorithm);
    let len = end.saturating_sub(start);
    if len == 0 {
        return Ok(hasher.finalize());
    }
    let cap = (len.min(CHUNK as u64)) as usize;
    let mut cur = vec![0u8; cap];
    let mut next = vec![0u8; cap];
    let first = cap;
    read_full(file, path, &mut cur[..first], start)?;
    let mut cur_len = first;
    let mut pos = start + first as u64;
    loop {
        progress.check()?;
        let next_len = (end - pos).min(CHUNK as u64) as usize;
        let data = &cur[..cur_len];
        let h = &mut hasher;
        let (_, read) = if next_len > 0 {
            let buf = &mut next[..next_len];
            rayon::join(
                move || h.update(data),
                move || read_full(file, path, buf, pos),
            )
        } else {
            h.update(data);
            ((), Ok(()))
        };
        read?;
        progress.advance(cur_len as u64);
        if next_len == 0 {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
        pos += next_len as u64;
    }
    Ok(hasher.finalize())
}

/// After reading every announced byte of `file`: fails if there are more bytes or if the
/// `fstat` differs from `before` (size, modification time, inode).
pub fn check_unchanged(file: &File, path: &Path, before: &Metadata) -> CoreResult<()> {
    let mut probe = [0u8; 1];
    loop {
        match file.read_at(&mut probe, before.size()) {
            Ok(0) => break,
            Ok(_) => {
                return Err(changed(
                    path,
                    &format!(
                        "it grew past the {} bytes it had when opened",
                        before.size()
                    ),
                ))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CoreError::io(path, e)),
        }
    }
    let after = file.metadata().map_err(|e| CoreError::io(path, e))?;
    if !same_state(before, &after) {
        return Err(changed(
            path,
            &format!(
                "size or modification time changed (size {} -> {})",
                before.size(),
                after.size()
            ),
        ));
    }
    Ok(())
}

/// The digest of a whole open file whose `fstat` was `meta`, then checked unchanged.
pub fn hash_open_file(
    file: &File,
    path: &Path,
    meta: &Metadata,
    algorithm: Algorithm,
    progress: &Progress,
) -> CoreResult<Digest> {
    let digest = hash_range(file, path, algorithm, 0, meta.size(), progress)?;
    check_unchanged(file, path, meta)?;
    Ok(digest)
}

/// The standard digest of the whole file at `path` (symbolic links followed). FIFOs,
/// devices and sockets are refused without being opened; so are directories.
pub fn hash_file(path: &Path, algorithm: Algorithm, progress: &Progress) -> CoreResult<Digest> {
    let meta = std::fs::metadata(path).map_err(|e| CoreError::io(path, e))?;
    if meta.is_dir() {
        return Err(CoreError::invalid(format!(
            "path: {} is a directory; use manifest() to hash a folder",
            path.display()
        )));
    }
    let (file, meta) = open_regular(path, Some(&meta))?;
    progress.add_total(meta.size());
    hash_open_file(&file, path, &meta, algorithm, progress)
}

/// A byte range of a listed file, for `hash_ranges`. `listed` is the `stat` taken when the
/// file was listed: the file must still match it when opened and once its range is read.
#[derive(Debug, Clone, Copy)]
pub struct RangeJob<'a> {
    pub path: &'a Path,
    pub listed: &'a Metadata,
    pub start: u64,
    pub end: u64,
}

impl RangeJob<'_> {
    fn len(&self) -> u64 {
        self.end.saturating_sub(self.start)
    }
}

/// The digests of `jobs`, in their order, hashed in parallel on the current rayon pool.
/// Each range opens its file (checked against `listed`), reads its bytes and checks the
/// file unchanged, as `hash_open_file` does for a whole file; the first failure (I/O, a
/// changed file, cancellation) stops every worker and is returned.
pub fn hash_ranges(
    algorithm: Algorithm,
    jobs: &[RangeJob<'_>],
    progress: &Progress,
) -> CoreResult<Vec<Digest>> {
    if algorithm == Algorithm::Sha256 && jobs.len() > 1 && sha256x::interleaved() {
        return hash_ranges_side_by_side(jobs, progress);
    }
    jobs.par_iter()
        .map(|job| {
            let (file, meta) = open_regular(job.path, Some(job.listed))?;
            let digest = hash_range(&file, job.path, algorithm, job.start, job.end, progress)?;
            check_unchanged(&file, job.path, &meta)?;
            Ok(digest)
        })
        .collect()
}

/// One range being hashed by a worker: `cur` holds the bytes read and not yet hashed,
/// `next` receives the following `next_len` bytes, from `next_pos`, while they are.
struct Lane<'a> {
    slot: usize,
    job: RangeJob<'a>,
    file: File,
    meta: Metadata,
    stream: sha256x::Stream,
    cur: Vec<u8>,
    cur_len: usize,
    next: Vec<u8>,
    next_len: usize,
    next_pos: u64,
}

impl<'a> Lane<'a> {
    fn open(slot: usize, job: RangeJob<'a>, spare: &mut Vec<Vec<u8>>) -> CoreResult<Self> {
        let (file, meta) = open_regular(job.path, Some(job.listed))?;
        let mut cur = spare.pop().unwrap_or_else(|| vec![0u8; LANE_CHUNK]);
        let next = spare.pop().unwrap_or_else(|| vec![0u8; LANE_CHUNK]);
        let cur_len = job.len().min(LANE_CHUNK as u64) as usize;
        read_full(&file, job.path, &mut cur[..cur_len], job.start)?;
        Ok(Lane {
            slot,
            job,
            file,
            meta,
            stream: sha256x::Stream::default(),
            cur,
            cur_len,
            next,
            next_len: 0,
            next_pos: job.start + cur_len as u64,
        })
    }
}

/// SHA-256 of many ranges, `LANES` side by side per worker. Workers take ranges longest
/// first from a shared queue (equal shards then run in step), hash the buffers they hold
/// while the next ones are read (another core takes the read when it is idle, as at the
/// end, when one long range is left), and refill a lane as soon as its range is done.
fn hash_ranges_side_by_side(jobs: &[RangeJob<'_>], progress: &Progress) -> CoreResult<Vec<Digest>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].len()));
    let queue = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let workers = rayon::current_num_threads().clamp(1, jobs.len());
    let parts: Vec<CoreResult<Vec<(usize, Digest)>>> = (0..workers)
        .into_par_iter()
        .with_max_len(1)
        .map(|_| {
            let part = lane_worker(jobs, &order, &queue, &failed, progress);
            if part.is_err() {
                failed.store(true, Ordering::Relaxed);
            }
            part
        })
        .collect();
    let mut digests: Vec<Option<Digest>> = vec![None; jobs.len()];
    for part in parts {
        for (slot, digest) in part? {
            digests[slot] = Some(digest);
        }
    }
    digests
        .into_iter()
        .collect::<Option<Vec<Digest>>>()
        .ok_or_else(|| CoreError::invalid("internal: a range was left unhashed"))
}

fn lane_worker(
    jobs: &[RangeJob<'_>],
    order: &[usize],
    queue: &AtomicUsize,
    failed: &AtomicBool,
    progress: &Progress,
) -> CoreResult<Vec<(usize, Digest)>> {
    let mut done = Vec::new();
    let mut lanes: Vec<Lane> = Vec::with_capacity(LANES);
    let mut spare: Vec<Vec<u8>> = Vec::new();
    loop {
        if failed.load(Ordering::Relaxed) {
            // Another worker failed; its error is the one returned.
            return Ok(done);
        }
        progress.check()?;
        while lanes.len() < LANES {
            let Some(&slot) = order.get(queue.fetch_add(1, Ordering::Relaxed)) else {
                break;
            };
            lanes.push(Lane::open(slot, jobs[slot], &mut spare)?);
        }
        if lanes.is_empty() {
            return Ok(done);
        }
        let mut streams = Vec::with_capacity(LANES);
        let mut data = Vec::with_capacity(LANES);
        let mut reads = Vec::with_capacity(LANES);
        for lane in lanes.iter_mut() {
            let whole = lane.cur_len / 64 * 64;
            lane.next_len = lane
                .job
                .end
                .saturating_sub(lane.next_pos)
                .min(LANE_CHUNK as u64) as usize;
            streams.push(&mut lane.stream);
            data.push(&lane.cur[..whole]);
            if lane.next_len > 0 {
                let buf = &mut lane.next[..lane.next_len];
                reads.push((&lane.file, lane.job.path, buf, lane.next_pos));
            }
        }
        let ((), read) = rayon::join(
            || sha256x::absorb(&mut streams, &data),
            || {
                reads
                    .into_iter()
                    .try_for_each(|(file, path, buf, pos)| read_full(file, path, buf, pos))
            },
        );
        read?;
        let mut k = 0;
        while k < lanes.len() {
            let lane = &mut lanes[k];
            progress.advance(lane.cur_len as u64);
            if lane.next_len > 0 {
                std::mem::swap(&mut lane.cur, &mut lane.next);
                lane.cur_len = lane.next_len;
                lane.next_pos += lane.next_len as u64;
                k += 1;
                continue;
            }
            // Its whole range is read and all but the last partial block hashed.
            let lane = lanes.swap_remove(k);
            let whole = lane.cur_len / 64 * 64;
            let bytes = lane.stream.finish(&lane.cur[whole..lane.cur_len]);
            check_unchanged(&lane.file, lane.job.path, &lane.meta)?;
            done.push((
                lane.slot,
                Digest {
                    algorithm: Algorithm::Sha256,
                    bytes,
                },
            ));
            spare.push(lane.cur);
            spare.push(lane.next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const ABC_SHA256: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const EMPTY_BLAKE3: &str = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

    fn write(dir: &Path, name: &str, data: &[u8]) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, data).unwrap();
        p
    }

    #[test]
    fn known_vectors() {
        let d = tempfile::tempdir().unwrap();
        let p = Progress::new();
        let e = write(d.path(), "e", b"");
        let a = write(d.path(), "a", b"abc");
        assert_eq!(
            hash_file(&e, Algorithm::Sha256, &p).unwrap().to_string(),
            format!("sha256:{EMPTY_SHA256}")
        );
        assert_eq!(
            hash_file(&a, Algorithm::Sha256, &p).unwrap().to_string(),
            format!("sha256:{ABC_SHA256}")
        );
        assert_eq!(
            hash_file(&e, Algorithm::Blake3, &p).unwrap().to_string(),
            format!("blake3:{EMPTY_BLAKE3}")
        );
    }

    #[test]
    fn large_file_matches_one_shot_digest() {
        // Crosses several chunk boundaries, with a ragged tail.
        let d = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..(2 * CHUNK + 12345))
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let f = write(d.path(), "big", &data);
        let p = Progress::new();
        for alg in [Algorithm::Sha256, Algorithm::Blake3] {
            assert_eq!(hash_file(&f, alg, &p).unwrap(), digest_bytes(alg, &data));
        }
        let sha: [u8; 32] = Sha256::digest(&data).into();
        assert_eq!(digest_bytes(Algorithm::Sha256, &data).bytes, sha);
        assert_eq!(
            digest_bytes(Algorithm::Blake3, &data).bytes,
            *blake3::hash(&data).as_bytes()
        );
        assert_eq!(p.done(), 2 * data.len() as u64);
    }

    #[test]
    fn range_digest() {
        let d = tempfile::tempdir().unwrap();
        let f = write(d.path(), "r", b"0123abcd");
        let file = File::open(&f).unwrap();
        let dg = hash_range(&file, &f, Algorithm::Sha256, 4, 8, &Progress::new()).unwrap();
        // The example in model_signing/_hashing/io.py.
        assert_eq!(
            hex::encode(dg.bytes),
            "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"
        );
    }

    #[test]
    fn digest_parse_round_trip() {
        let s = format!("sha256:{ABC_SHA256}");
        assert_eq!(Digest::parse(&s).unwrap().to_string(), s);
        assert!(Digest::parse("sha256:abc").is_none());
        assert!(Digest::parse(&format!("md5:{ABC_SHA256}")).is_none());
        assert!(Digest::parse(&format!("sha256:{}", ABC_SHA256.to_uppercase())).is_none());
    }

    #[test]
    fn growth_and_truncation_are_detected() {
        let d = tempfile::tempdir().unwrap();
        let f = write(d.path(), "g", &vec![7u8; 100_000]);
        let p = Progress::new();
        // Grows between the fstat and the read.
        let (file, meta) = open_regular(&f, None).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&f)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        let err = hash_open_file(&file, &f, &meta, Algorithm::Sha256, &p).unwrap_err();
        assert!(matches!(err, CoreError::FileChanged { .. }), "{err}");
        // Shrinks: a short read.
        let (file, meta) = open_regular(&f, None).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&f)
            .unwrap()
            .set_len(10)
            .unwrap();
        let err = hash_open_file(&file, &f, &meta, Algorithm::Blake3, &p).unwrap_err();
        assert!(matches!(err, CoreError::FileChanged { .. }), "{err}");
        // Replaced after it was listed.
        let listed = std::fs::metadata(&f).unwrap();
        std::fs::remove_file(&f).unwrap();
        write(d.path(), "g", b"other content");
        let err = open_regular(&f, Some(&listed)).unwrap_err();
        assert!(matches!(err, CoreError::FileChanged { .. }), "{err}");
    }

    #[test]
    fn fifo_is_refused_without_opening() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("pipe");
        let c = std::ffi::CString::new(f.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = hash_file(&f, Algorithm::Sha256, &Progress::new()).unwrap_err();
        assert!(matches!(err, CoreError::UnsafePath { .. }), "{err}");
        // Even without a prior stat, the non-blocking open never hangs and is refused.
        let err = open_regular(&f, None).unwrap_err();
        assert!(matches!(err, CoreError::UnsafePath { .. }), "{err}");
    }

    #[test]
    fn missing_file_is_io_not_found() {
        let err = hash_file(
            Path::new("/nonexistent/x"),
            Algorithm::Sha256,
            &Progress::new(),
        )
        .unwrap_err();
        match err {
            CoreError::Io { source, .. } => assert_eq!(source.kind(), io::ErrorKind::NotFound),
            other => panic!("{other}"),
        }
    }

    /// Files of awkward sizes: empty, under a block, across lane chunks with ragged tails.
    fn many_files(dir: &Path) -> Vec<(std::path::PathBuf, Metadata, Vec<u8>)> {
        let sizes = [
            0usize,
            1,
            55,
            56,
            64,
            4096,
            LANE_CHUNK - 1,
            LANE_CHUNK,
            LANE_CHUNK + 1,
            3 * LANE_CHUNK + 777,
            2 * CHUNK + 5,
        ];
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let data: Vec<u8> = (0..n).map(|k| (k * 7 + i * 13) as u8).collect();
                let path = write(dir, &format!("f{i}"), &data);
                let meta = std::fs::metadata(&path).unwrap();
                (path, meta, data)
            })
            .collect()
    }

    #[test]
    fn many_ranges_give_the_digest_of_each_range() {
        let d = tempfile::tempdir().unwrap();
        let files = many_files(d.path());
        // Whole files, and each file cut at a few offsets (including empty pieces), so
        // there are more ranges than lanes on every worker and of every length mix.
        let mut jobs = Vec::new();
        let mut expected = Vec::new();
        for (path, meta, data) in &files {
            let n = data.len() as u64;
            for (start, end) in [(0, n), (0, n / 3), (n / 3, n), (n / 2, n / 2)] {
                jobs.push(RangeJob {
                    path,
                    listed: meta,
                    start,
                    end,
                });
                expected.push(&data[start as usize..end as usize]);
            }
        }
        for alg in [Algorithm::Sha256, Algorithm::Blake3] {
            let p = Progress::new();
            let got = hash_ranges(alg, &jobs, &p).unwrap();
            let want: Vec<Digest> = expected.iter().map(|b| digest_bytes(alg, b)).collect();
            assert_eq!(got, want, "{alg:?}");
            let total: usize = expected.iter().map(|b| b.len()).sum();
            assert_eq!(p.done(), total as u64, "{alg:?}");
        }
        // Side by side on one worker and on many: the same digests.
        for threads in [1, 2, 7] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let got = pool
                .install(|| hash_ranges(Algorithm::Sha256, &jobs, &Progress::new()))
                .unwrap();
            let want: Vec<Digest> = expected
                .iter()
                .map(|b| digest_bytes(Algorithm::Sha256, b))
                .collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn many_ranges_fail_on_a_changed_file_and_on_cancel() {
        let d = tempfile::tempdir().unwrap();
        let files = many_files(d.path());
        let jobs: Vec<RangeJob> = files
            .iter()
            .map(|(path, meta, data)| RangeJob {
                path,
                listed: meta,
                start: 0,
                end: data.len() as u64,
            })
            .collect();
        for alg in [Algorithm::Sha256, Algorithm::Blake3] {
            let p = Progress::new();
            p.cancel();
            let err = hash_ranges(alg, &jobs, &p).unwrap_err();
            assert!(matches!(err, CoreError::Cancelled), "{alg:?}: {err}");
        }
        // The largest file shrinks after it was listed: its range cannot be read whole.
        let (big, _, _) = &files[files.len() - 2];
        std::fs::OpenOptions::new()
            .write(true)
            .open(big)
            .unwrap()
            .set_len(100)
            .unwrap();
        for alg in [Algorithm::Sha256, Algorithm::Blake3] {
            let err = hash_ranges(alg, &jobs, &Progress::new()).unwrap_err();
            assert!(
                matches!(err, CoreError::FileChanged { .. }),
                "{alg:?}: {err}"
            );
        }
        // A range read whole from a file that grew past its listing is refused too.
        let (small, meta, _) = &files[5];
        let job = RangeJob {
            path: small,
            listed: meta,
            start: 0,
            end: 64,
        };
        std::fs::OpenOptions::new()
            .append(true)
            .open(small)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        let err = hash_ranges(Algorithm::Sha256, &[job, job], &Progress::new()).unwrap_err();
        assert!(matches!(err, CoreError::FileChanged { .. }), "{err}");
    }

    #[test]
    fn cancellation_stops() {
        let d = tempfile::tempdir().unwrap();
        let f = write(d.path(), "c", &vec![1u8; 1000]);
        let p = Progress::new();
        p.cancel();
        assert!(matches!(
            hash_file(&f, Algorithm::Sha256, &p),
            Err(CoreError::Cancelled)
        ));
    }
}
