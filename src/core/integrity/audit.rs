//! An append-only audit log: JSON Lines under an RFC 6962 Merkle tree.
//!
//! Each line is one JSON object:
//! * an entry: `{"type":"entry","index":i,"time":T,"event":{...},"leaf":HEX}` where `leaf`
//!   is the RFC 6962 leaf hash of the canonical JSON of `{"event","index","time"}` (keys
//!   sorted at every level, no white space, UTF-8);
//! * a checkpoint: `{"type":"checkpoint","size":n,"root":HEX,"time":T,"envelope":{...}}`,
//!   a DSSE envelope over the canonical JSON of `{"log","root","size","time"}` signed by the
//!   key given to `checkpoint`.
//!
//! Appends take an exclusive `flock` on the file, so several processes can append at once;
//! each line is written with one `write` on an `O_APPEND` descriptor and, when `durable`,
//! `fsync`ed before the call returns. A crash can leave a torn last line (no newline): it is
//! reported by `verify`, every earlier entry still verifies, and the next append cuts it
//! off (and says how many bytes it removed).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::merkle::{self, Hash};
use super::signing::{Envelope, PublicKey, SigningKey};
use crate::core::error::{CoreError, CoreResult};

pub const LOG_SCHEMA: &str = "mlsentry/audit-log/v1";
pub const CHECKPOINT_TYPE: &str = "application/vnd.mlsentry.audit-checkpoint+json";

/// JSON with keys sorted at every level and no white space: the bytes that are hashed.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The leaf hash of an entry: over the canonical JSON of `{"event","index","time"}`,
/// written straight out (keys in sorted order) rather than built as a map around a copy
/// of the event.
fn entry_leaf(index: u64, time: &str, event: &Value) -> Hash {
    let mut out = String::from("{\"event\":");
    write_canonical(event, &mut out);
    out.push_str(",\"index\":");
    out.push_str(&index.to_string());
    out.push_str(",\"time\":");
    write_canonical(&Value::from(time), &mut out);
    out.push('}');
    merkle::leaf_hash(out.as_bytes())
}

/// An exclusive advisory lock on an open file's descriptor, released on drop. The guard
/// must not outlive the `File` (callers declare it after the file, so it drops first).
struct Flock(std::os::unix::io::RawFd);

impl Flock {
    fn exclusive(file: &File, path: &Path) -> CoreResult<Self> {
        let fd = file.as_raw_fd();
        // SAFETY: flock on an open descriptor; it stays open while the guard lives.
        let rc = unsafe { libc::flock(fd, libc::LOCK_EX) };
        if rc != 0 {
            return Err(CoreError::io(path, std::io::Error::last_os_error()));
        }
        Ok(Flock(fd))
    }
}

impl Drop for Flock {
    fn drop(&mut self) {
        // SAFETY: unlocking the descriptor locked in `exclusive`, still open.
        unsafe {
            libc::flock(self.0, libc::LOCK_UN);
        }
    }
}

/// A parsed line of the log.
#[derive(Debug, Clone)]
pub enum Line {
    Entry {
        index: u64,
        time: String,
        event: Value,
        leaf: String,
    },
    Checkpoint {
        size: u64,
        root: String,
        time: String,
        envelope: Value,
    },
}

/// What `append` wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    pub leaf: String,
    pub line: String,
    /// Bytes of a torn last line (left by a crash) that were cut off before appending.
    pub torn_bytes_removed: u64,
}

/// Reads the end of the file: the last complete line and the length of a torn tail.
fn tail(file: &mut File, path: &Path) -> CoreResult<(Option<String>, u64, u64)> {
    let len = file.metadata().map_err(|e| CoreError::io(path, e))?.len();
    let mut end = len;
    let mut buf: Vec<u8> = Vec::new();
    let mut torn: Option<u64> = None;
    // Read backwards in blocks until a whole last line is in `buf`.
    let block = 64 * 1024u64;
    loop {
        let start = end.saturating_sub(block);
        let mut chunk = vec![0u8; (end - start) as usize];
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut chunk))
            .map_err(|e| CoreError::io(path, e))?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        end = start;
        if torn.is_none() {
            if buf.is_empty() {
                return Ok((None, 0, len));
            }
            let t = if buf.last() == Some(&b'\n') {
                0
            } else {
                match buf.iter().rposition(|&b| b == b'\n') {
                    Some(p) => (buf.len() - p - 1) as u64,
                    None if start == 0 => buf.len() as u64,
                    None => continue,
                }
            };
            torn = Some(t);
        }
        let t = torn.unwrap_or(0) as usize;
        // Blank lines at the end (an editor's extra newline) are not the last line.
        let Some(content_end) = buf[..buf.len() - t]
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map(|p| p + 1)
        else {
            if start == 0 {
                return Ok((None, t as u64, len));
            }
            continue;
        };
        let body = &buf[..content_end];
        // The last line is what follows the newline before `content_end`.
        match body.iter().rposition(|&b| b == b'\n') {
            Some(p) => {
                let line = String::from_utf8_lossy(&body[p + 1..]).into_owned();
                return Ok((Some(line), t as u64, len));
            }
            None if start == 0 => {
                let line = String::from_utf8_lossy(body).into_owned();
                return Ok((Some(line), t as u64, len));
            }
            None => continue,
        }
    }
}

/// The index and recomputed leaf hash (hex) of one entry line of a log, read on its own:
/// what an evidence bundle that carries a few lines of a log checks against their proofs.
pub fn entry_line_leaf(text: &str) -> CoreResult<(u64, String)> {
    match parse_line(text.trim_end_matches('\n')) {
        Ok(Line::Entry {
            index, time, event, ..
        }) => Ok((index, hex::encode(entry_leaf(index, &time, &event)))),
        Ok(Line::Checkpoint { .. }) => Err(CoreError::invalid(
            "line: a checkpoint line, not an entry of the log",
        )),
        Err(why) => Err(CoreError::invalid(format!("line: {why}"))),
    }
}

fn parse_line(text: &str) -> Result<Line, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
    let obj = v.as_object().ok_or("not a JSON object")?;
    let s = |k: &str| -> Result<String, String> {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("missing or non-string {k:?}"))
    };
    let n = |k: &str| -> Result<u64, String> {
        obj.get(k)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("missing or non-integer {k:?}"))
    };
    match obj.get("type").and_then(Value::as_str) {
        Some("entry") => Ok(Line::Entry {
            index: n("index")?,
            time: s("time")?,
            event: obj.get("event").cloned().ok_or("missing \"event\"")?,
            leaf: s("leaf")?,
        }),
        Some("checkpoint") => Ok(Line::Checkpoint {
            size: n("size")?,
            root: s("root")?,
            time: s("time")?,
            envelope: obj.get("envelope").cloned().ok_or("missing \"envelope\"")?,
        }),
        _ => Err("not an mlsentry audit-log line (no \"type\" entry/checkpoint)".into()),
    }
}

fn open_for_append(path: &Path) -> CoreResult<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(|e| CoreError::io(path, e))
}

/// Appends one event (a JSON object). `time` is an RFC 3339 timestamp from the caller.
pub fn append(path: &Path, event: &Value, time: &str, durable: bool) -> CoreResult<Appended> {
    if !event.is_object() {
        return Err(CoreError::invalid("event: expected a JSON object (a dict)"));
    }
    let mut file = open_for_append(path)?;
    let _lock = Flock::exclusive(&file, path)?;
    let (last, torn, len) = tail(&mut file, path)?;
    if torn > 0 {
        file.set_len(len - torn)
            .map_err(|e| CoreError::io(path, e))?;
    }
    let index = match last.as_deref() {
        None => 0,
        Some(text) => last_entry_index(path, text)?.map_or(0, |i| i + 1),
    };
    let leaf = hex::encode(entry_leaf(index, time, event));
    let mut m = Map::new();
    m.insert("type".into(), Value::from("entry"));
    m.insert("index".into(), Value::from(index));
    m.insert("time".into(), Value::from(time));
    m.insert("event".into(), event.clone());
    m.insert("leaf".into(), Value::from(leaf.clone()));
    let mut line = canonical_json(&Value::Object(m));
    line.push('\n');
    file.write_all(line.as_bytes())
        .map_err(|e| CoreError::io(path, e))?;
    if durable {
        file.sync_data().map_err(|e| CoreError::io(path, e))?;
    }
    line.pop();
    Ok(Appended {
        index,
        leaf,
        line,
        torn_bytes_removed: torn,
    })
}

/// The index of the last entry, given the last complete line. When that line is a
/// checkpoint, its size says how many entries precede it.
fn last_entry_index(path: &Path, text: &str) -> CoreResult<Option<u64>> {
    match parse_line(text) {
        Ok(Line::Entry { index, .. }) => Ok(Some(index)),
        Ok(Line::Checkpoint { size, .. }) => Ok(size.checked_sub(1)),
        Err(why) => Err(CoreError::InvalidInput(format!(
            "{} is not an mlsentry audit log (its last line: {why}); refusing to append",
            path.display()
        ))),
    }
}

/// One problem `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: u64,
    /// The entry index the line claims, when it claims one.
    pub index: Option<u64>,
    pub what: String,
}

#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub entries: u64,
    pub checkpoints: u64,
    pub checkpoints_signed_ok: u64,
    pub problems: Vec<Problem>,
    /// Bytes of a torn last line, 0 when the file ends cleanly.
    pub torn_bytes: u64,
    pub root: String,
}

/// A line of the log as the checks need it. An entry is reduced to its recomputed leaf
/// hash as soon as it is parsed, so a log of millions of entries is never held in memory
/// as JSON values (a 1,000,000-entry log took 2 GB that way).
pub enum Checked {
    Entry {
        index: u64,
        /// Recomputed from the entry's content.
        leaf: Hash,
        /// Whether the leaf hash stored on the line is that one.
        stored_matches: bool,
    },
    Checkpoint {
        size: u64,
        root: String,
        time: String,
        envelope: Value,
    },
    Unreadable(String),
    /// An empty or blank line (an editor's trailing newline): no entry, no problem.
    Blank,
}

/// Everything read from a log file: every complete line (1-based line number) and the
/// length of a torn tail.
pub struct Contents {
    pub lines: Vec<(u64, Checked)>,
    pub torn_bytes: u64,
}

/// Bytes read from the log at a time; each block's complete lines are parsed in parallel.
const READ_BLOCK: usize = 16 << 20;

fn check_line(text: Result<&str, std::str::Utf8Error>) -> Checked {
    if matches!(text, Ok(t) if t.trim().is_empty()) {
        return Checked::Blank;
    }
    let line = match text {
        Ok(t) => parse_line(t),
        Err(_) => Err("not UTF-8".to_string()),
    };
    match line {
        Ok(Line::Entry {
            index,
            time,
            event,
            leaf: stored,
        }) => {
            let leaf = entry_leaf(index, &time, &event);
            let mut bytes = [0u8; 32];
            let stored_matches = hex::decode_to_slice(&stored, &mut bytes).is_ok() && bytes == leaf;
            Checked::Entry {
                index,
                leaf,
                stored_matches,
            }
        }
        Ok(Line::Checkpoint {
            size,
            root,
            time,
            envelope,
        }) => Checked::Checkpoint {
            size,
            root,
            time,
            envelope,
        },
        Err(why) => Checked::Unreadable(why),
    }
}

pub fn read(path: &Path) -> CoreResult<Contents> {
    let mut file = File::open(path).map_err(|e| CoreError::io(path, e))?;
    let mut lines: Vec<(u64, Checked)> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut block = vec![0u8; READ_BLOCK];
    loop {
        let n = match file.read(&mut block) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CoreError::io(path, e)),
        };
        if n == 0 {
            break;
        }
        pending.extend_from_slice(&block[..n]);
        let Some(last) = memchr::memrchr(b'\n', &pending) else {
            continue; // a line longer than a block: read on
        };
        let body = &pending[..=last];
        let first = lines.len() as u64 + 1;
        let starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', &body[..last]).map(|p| p + 1))
            .collect();
        lines.par_extend(starts.par_iter().enumerate().map(|(i, &s)| {
            let end = starts.get(i + 1).map_or(last, |&next| next - 1);
            (
                first + i as u64,
                check_line(std::str::from_utf8(&body[s..end])),
            )
        }));
        pending.drain(..=last);
    }
    Ok(Contents {
        lines,
        torn_bytes: pending.len() as u64,
    })
}

/// Leaf hashes of the entries in order, recomputed from their content, with problems.
fn leaves_and_problems(contents: &Contents) -> (Vec<Hash>, Vec<Problem>) {
    let mut leaves = Vec::with_capacity(contents.lines.len());
    let mut problems = Vec::new();
    for (line_no, line) in &contents.lines {
        match line {
            Checked::Unreadable(why) => problems.push(Problem {
                line: *line_no,
                index: None,
                what: format!("unreadable line: {why}"),
            }),
            Checked::Entry {
                index,
                leaf,
                stored_matches,
            } => {
                let expected = leaves.len() as u64;
                if *index != expected {
                    let what = if *index < expected {
                        format!(
                            "entry {index} appears again or out of order \
                             (expected entry {expected}): reordered or inserted"
                        )
                    } else {
                        format!(
                            "entry {index} follows entry {}: entries {expected}..{} are \
                             missing (deleted)",
                            expected.wrapping_sub(1) as i64,
                            index - 1
                        )
                    };
                    problems.push(Problem {
                        line: *line_no,
                        index: Some(*index),
                        what,
                    });
                }
                if !stored_matches {
                    problems.push(Problem {
                        line: *line_no,
                        index: Some(*index),
                        what: format!(
                            "entry {index} was edited: its content does not match its leaf hash"
                        ),
                    });
                }
                leaves.push(*leaf);
            }
            Checked::Checkpoint { .. } | Checked::Blank => {}
        }
    }
    (leaves, problems)
}

/// What a record kept outside the log (in MLflow, an evidence bundle, a CI variable) says
/// the log held. A log can be cut at its end, signed checkpoints and all, and still verify
/// on its own: only a copy of its last size or checkpoint kept elsewhere catches that.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// The log held at least this many entries.
    pub size: Option<u64>,
    /// A checkpoint line (as [`checkpoint`] returns it): its first `size` entries must
    /// still hash to its root, and when keys are given its signature must verify.
    pub checkpoint: Option<Value>,
}

/// Verifies every entry and checkpoint. Checkpoint signatures are checked against `keys`
/// (any of them may have signed); with no keys, checkpoints are checked for their roots.
/// With keys, at least one signature must be checked: a log without a signed checkpoint
/// (or cut before its first one) does not verify. `expected` holds what a record kept
/// outside the log says it held (see [`Expected`]).
pub fn verify(path: &Path, keys: &[PublicKey], expected: &Expected) -> CoreResult<Verification> {
    let contents = read(path)?;
    if !contents.lines.is_empty()
        && contents
            .lines
            .iter()
            .all(|(_, l)| matches!(l, Checked::Unreadable(_) | Checked::Blank))
        && contents
            .lines
            .iter()
            .any(|(_, l)| matches!(l, Checked::Unreadable(_)))
    {
        return Ok(Verification {
            problems: vec![Problem {
                line: 1,
                index: None,
                what: format!(
                    "not an mlsentry audit log: none of its {} lines is an entry or a \
                     checkpoint ({LOG_SCHEMA})",
                    contents.lines.len()
                ),
            }],
            root: hex::encode(merkle::root(&[])),
            ..Verification::default()
        });
    }
    let (leaves, mut problems) = leaves_and_problems(&contents);
    let mut checkpoints = 0;
    let mut signed_ok = 0;
    let mut entries_seen = 0u64;
    // The tree head after each entry, kept as its right edge: a checkpoint at the end
    // costs O(log n), not a pass over every leaf before it.
    let mut frontier = merkle::Frontier::default();
    for (line_no, line) in &contents.lines {
        match line {
            Checked::Entry { .. } => {
                frontier.push(leaves[entries_seen as usize]);
                entries_seen += 1;
            }
            Checked::Checkpoint {
                size,
                root,
                time,
                envelope,
            } => {
                checkpoints += 1;
                let mut fail = |what: String| {
                    problems.push(Problem {
                        line: *line_no,
                        index: None,
                        what,
                    })
                };
                if *size > entries_seen {
                    fail(format!(
                        "checkpoint of size {size} stands after only {entries_seen} entries"
                    ));
                    continue;
                }
                let actual = if *size == entries_seen {
                    frontier.root()
                } else {
                    merkle::root(&leaves[..*size as usize])
                };
                if hex::encode(actual) != *root {
                    fail(format!(
                        "checkpoint of size {size}: the first {size} entries no longer \
                         hash to its root (an entry before it was changed)"
                    ));
                }
                match check_checkpoint_envelope(envelope, *size, root, time, keys) {
                    Ok(true) => signed_ok += 1,
                    Ok(false) => {}
                    Err(why) => fail(format!("checkpoint of size {size}: {why}")),
                }
            }
            Checked::Unreadable(_) | Checked::Blank => {}
        }
    }
    let outside = check_expected(expected, &leaves, keys, &mut problems);
    signed_ok += u64::from(outside);
    if !keys.is_empty() && signed_ok == 0 {
        problems.push(Problem {
            line: 0,
            index: None,
            what: "a public key was given but no checkpoint signature was checked: the log \
                   has no signed checkpoint (or was cut before its first one)"
                .into(),
        });
    }
    if contents.torn_bytes > 0 {
        problems.push(Problem {
            line: contents.lines.len() as u64 + 1,
            index: None,
            what: format!(
                "torn last line ({} bytes without a newline, e.g. from a crash); \
                 the entries before it are intact",
                contents.torn_bytes
            ),
        });
    }
    Ok(Verification {
        entries: leaves.len() as u64,
        checkpoints,
        checkpoints_signed_ok: signed_ok,
        problems,
        torn_bytes: contents.torn_bytes,
        root: hex::encode(merkle::root(&leaves)),
    })
}

/// The checks of [`Expected`]; `true` when the checkpoint kept outside the log had its
/// signature verified by one of `keys`. Its problems have line 0: they are about the whole
/// log, not one of its lines.
fn check_expected(
    expected: &Expected,
    leaves: &[Hash],
    keys: &[PublicKey],
    problems: &mut Vec<Problem>,
) -> bool {
    let entries = leaves.len() as u64;
    let mut fail = |what: String| {
        problems.push(Problem {
            line: 0,
            index: None,
            what,
        })
    };
    if let Some(size) = expected.size {
        if entries < size {
            fail(format!(
                "the log holds {entries} entries, fewer than the {size} expected: entries \
                 were cut from its end"
            ));
        }
    }
    let Some(value) = &expected.checkpoint else {
        return false;
    };
    let text = value.to_string();
    let (size, root, time, envelope) = match parse_line(&text) {
        Ok(Line::Checkpoint {
            size,
            root,
            time,
            envelope,
        }) => (size, root, time, envelope),
        Ok(Line::Entry { .. }) => {
            fail("the expected checkpoint is an entry line, not a checkpoint".into());
            return false;
        }
        Err(why) => {
            fail(format!("the expected checkpoint cannot be read: {why}"));
            return false;
        }
    };
    let mut signed = false;
    match check_checkpoint_envelope(&envelope, size, &root, &time, keys) {
        Ok(true) => signed = true,
        Ok(false) => {}
        Err(why) => fail(format!("the expected checkpoint (size {size}): {why}")),
    }
    if entries < size {
        fail(format!(
            "the log holds {entries} entries, fewer than the {size} of the checkpoint kept \
             outside it: entries were cut from its end"
        ));
    } else if hex::encode(merkle::root(&leaves[..size as usize])) != root {
        fail(format!(
            "the first {size} entries no longer hash to the root of the checkpoint kept \
             outside the log (an entry was changed, or the log was replaced)"
        ));
    }
    signed
}

fn checkpoint_payload(size: u64, root: &str, time: &str) -> String {
    let mut m = Map::new();
    m.insert("log".into(), Value::from(LOG_SCHEMA));
    m.insert("root".into(), Value::from(root));
    m.insert("size".into(), Value::from(size));
    m.insert("time".into(), Value::from(time));
    canonical_json(&Value::Object(m))
}

/// `Ok(true)` when a key verified the signature, `Ok(false)` when no key was given.
fn check_checkpoint_envelope(
    envelope: &Value,
    size: u64,
    root: &str,
    time: &str,
    keys: &[PublicKey],
) -> Result<bool, String> {
    let env: Envelope =
        serde_json::from_value(envelope.clone()).map_err(|e| format!("bad envelope ({e})"))?;
    let payload = super::signing::b64decode(&env.payload).map_err(|e| e.to_string())?;
    if payload != checkpoint_payload(size, root, time).as_bytes() {
        return Err("the signed tree head differs from the checkpoint line".into());
    }
    if keys.is_empty() {
        return Ok(false);
    }
    if keys
        .iter()
        .any(|k| env.verify(k, Some(CHECKPOINT_TYPE)).is_ok())
    {
        Ok(true)
    } else {
        Err("its signature does not verify with the given key(s)".into())
    }
}

/// Signs the current tree head and appends it as a checkpoint line.
pub fn checkpoint(path: &Path, key: &SigningKey, time: &str, durable: bool) -> CoreResult<Value> {
    let mut file = open_for_append(path)?;
    let _lock = Flock::exclusive(&file, path)?;
    let (_, torn, _) = tail(&mut file, path)?;
    if torn > 0 {
        return Err(CoreError::invalid(
            "the log ends with a torn line: append an event (which removes it) or repair \
             the log before signing a checkpoint",
        ));
    }
    let contents = read(path)?;
    let (leaves, problems) = leaves_and_problems(&contents);
    if let Some(p) = problems.first() {
        return Err(CoreError::Signature(format!(
            "refusing to sign a checkpoint over a log that does not verify: line {}: {}",
            p.line, p.what
        )));
    }
    let size = leaves.len() as u64;
    let root = hex::encode(merkle::root(&leaves));
    let payload = checkpoint_payload(size, &root, time);
    let env = Envelope::sign(CHECKPOINT_TYPE, payload.as_bytes(), key);
    let env_value = serde_json::to_value(&env).map_err(|e| CoreError::invalid(e.to_string()))?;
    let mut m = Map::new();
    m.insert("type".into(), Value::from("checkpoint"));
    m.insert("size".into(), Value::from(size));
    m.insert("root".into(), Value::from(root));
    m.insert("time".into(), Value::from(time));
    m.insert("envelope".into(), env_value);
    let value = Value::Object(m);
    let mut line = canonical_json(&value);
    line.push('\n');
    file.write_all(line.as_bytes())
        .map_err(|e| CoreError::io(path, e))?;
    if durable {
        file.sync_data().map_err(|e| CoreError::io(path, e))?;
    }
    Ok(value)
}

/// The entries' leaf hashes as recomputed, refusing a log that does not verify.
pub fn verified_leaves(path: &Path) -> CoreResult<Vec<Hash>> {
    let contents = read(path)?;
    let (leaves, problems) = leaves_and_problems(&contents);
    if let Some(p) = problems.first() {
        return Err(CoreError::Signature(format!(
            "the log does not verify: line {}: {}",
            p.line, p.what
        )));
    }
    Ok(leaves)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::integrity::signing::KeyAlgorithm;
    use serde_json::json;

    fn log_with(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        for i in 0..n {
            let a = append(
                &p,
                &json!({"check": "verify", "i": i}),
                "2026-11-22T00:00:00Z",
                false,
            )
            .unwrap();
            assert_eq!(a.index, i);
        }
        (dir, p)
    }

    #[test]
    fn an_entry_line_gives_back_its_leaf_and_an_edit_changes_it() {
        let (_dir, p) = log_with(3);
        let text = std::fs::read_to_string(&p).unwrap();
        let line = text.lines().nth(1).unwrap();
        let (index, leaf) = entry_line_leaf(line).unwrap();
        assert_eq!(index, 1);
        let stored: Value = serde_json::from_str(line).unwrap();
        assert_eq!(stored["leaf"].as_str().unwrap(), leaf);
        let edited = line.replace("\"i\":1", "\"i\":7");
        assert_ne!(entry_line_leaf(&edited).unwrap().1, leaf);
        assert!(entry_line_leaf("{}").is_err());
        assert!(entry_line_leaf("not json").is_err());
    }

    #[test]
    fn canonical_json_sorts_keys_everywhere() {
        let v = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": 1}], "c": "é"}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":"é","d":[1,{"y":1,"z":0}]},"b":1}"#
        );
    }

    #[test]
    fn entry_leaf_hashes_the_canonical_json_of_the_three_fields() {
        for (index, time, event) in [
            (0, "2026-11-22T00:00:00Z", json!({})),
            (
                7,
                "t\"\\\n",
                json!({"b": [1, {"z": null, "é": 2.5}], "a": "x"}),
            ),
            (u64::MAX, "", json!({"event": {"index": 1}, "time": true})),
        ] {
            let mut m = Map::new();
            m.insert("time".into(), Value::from(time));
            m.insert("index".into(), Value::from(index));
            m.insert("event".into(), event.clone());
            let whole = canonical_json(&Value::Object(m));
            assert_eq!(
                entry_leaf(index, time, &event),
                merkle::leaf_hash(whole.as_bytes()),
                "{whole}"
            );
        }
    }

    #[test]
    fn a_log_read_across_block_boundaries_is_read_whole() {
        // Lines straddle the 16 MiB read blocks, and one line is longer than a block.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        let big = "x".repeat(READ_BLOCK + 100);
        for i in 0..3000u64 {
            let pad = if i == 1500 { big.as_str() } else { "" };
            let pad = format!("{pad}{}", "y".repeat((i as usize * 7919) % 13_000));
            append(&p, &json!({"i": i, "pad": pad}), "t", false).unwrap();
        }
        assert!(std::fs::metadata(&p).unwrap().len() > 2 * READ_BLOCK as u64);
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.entries, 3000);
        let c = read(&p).unwrap();
        let numbers: Vec<u64> = c.lines.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=3000).collect::<Vec<u64>>());
    }

    #[test]
    fn clean_log_verifies_and_root_matches_merkle() {
        let (_d, p) = log_with(10);
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.entries, 10);
        let leaves = verified_leaves(&p).unwrap();
        assert_eq!(v.root, hex::encode(merkle::root(&leaves)));
    }

    fn rewrite(p: &Path, f: impl FnOnce(&mut Vec<String>)) {
        let text = std::fs::read_to_string(p).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        f(&mut lines);
        std::fs::write(p, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn edits_deletions_reorders_insertions_are_named() {
        let (_d, p) = log_with(6);
        rewrite(&p, |l| l[2] = l[2].replace("\"i\":2", "\"i\":20"));
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert_eq!(v.problems.len(), 1);
        assert_eq!(v.problems[0].index, Some(2));
        assert!(v.problems[0].what.contains("edited"));

        let (_d, p) = log_with(6);
        rewrite(&p, |l| {
            l.remove(3);
        });
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.iter().any(|x| x.what.contains("missing")));

        let (_d, p) = log_with(6);
        rewrite(&p, |l| l.swap(1, 4));
        assert!(!verify(&p, &[], &Expected::default())
            .unwrap()
            .problems
            .is_empty());

        let (_d, p) = log_with(6);
        rewrite(&p, |l| {
            let dup = l[1].clone();
            l.insert(3, dup);
        });
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.iter().any(|x| x.what.contains("again")));
    }

    #[test]
    fn checkpoints_catch_a_consistent_rewrite() {
        let (_d, p) = log_with(5);
        let key = SigningKey::generate(KeyAlgorithm::Ed25519);
        checkpoint(&p, &key, "2026-11-22T00:00:01Z", false).unwrap();
        append(&p, &json!({"after": true}), "2026-11-22T00:00:02Z", false).unwrap();
        let v = verify(&p, &[key.public_key()], &Expected::default()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(
            (v.entries, v.checkpoints, v.checkpoints_signed_ok),
            (6, 1, 1)
        );

        // Rewrite entry 1 AND recompute its leaf: only the checkpoint can tell.
        rewrite(&p, |l| {
            let event = json!({"check": "verify", "i": 99});
            let leaf = hex::encode(entry_leaf(1, "2026-11-22T00:00:00Z", &event));
            let mut m = Map::new();
            m.insert("type".into(), json!("entry"));
            m.insert("index".into(), json!(1));
            m.insert("time".into(), json!("2026-11-22T00:00:00Z"));
            m.insert("event".into(), event);
            m.insert("leaf".into(), json!(leaf));
            l[1] = canonical_json(&Value::Object(m));
        });
        let v = verify(&p, &[key.public_key()], &Expected::default()).unwrap();
        assert!(v.problems.iter().any(|x| x.what.contains("no longer hash")));

        let other = SigningKey::generate(KeyAlgorithm::Ed25519).public_key();
        let (_d, p) = log_with(2);
        checkpoint(&p, &key, "t", false).unwrap();
        assert!(!verify(&p, &[other], &Expected::default())
            .unwrap()
            .problems
            .is_empty());
    }

    #[test]
    fn blank_lines_are_not_entries_nor_problems() {
        let (_d, p) = log_with(3);
        let text = std::fs::read_to_string(&p).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.insert(1, "   ");
        std::fs::write(&p, lines.join("\n") + "\n\n").unwrap();
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.entries, 3);
        append(&p, &json!({"after": 1}), "t", false).unwrap();
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.is_empty() && v.entries == 4, "{:?}", v.problems);
    }

    #[test]
    fn a_key_means_at_least_one_signature_is_checked() {
        let key = SigningKey::generate(KeyAlgorithm::Ed25519);
        let none = Expected::default();
        let (_d, p) = log_with(3);
        // No checkpoint: fine without a key, not with one (0 signatures checked).
        assert!(verify(&p, &[], &none).unwrap().problems.is_empty());
        let v = verify(&p, &[key.public_key()], &none).unwrap();
        assert_eq!(v.checkpoints_signed_ok, 0);
        assert!(v
            .problems
            .iter()
            .any(|x| x.what.contains("no checkpoint signature")));
        checkpoint(&p, &key, "t", false).unwrap();
        assert!(verify(&p, &[key.public_key()], &none)
            .unwrap()
            .problems
            .is_empty());
    }

    #[test]
    fn a_cut_tail_is_caught_by_the_size_or_checkpoint_kept_elsewhere() {
        let key = SigningKey::generate(KeyAlgorithm::Ed25519);
        let (_d, p) = log_with(4);
        checkpoint(&p, &key, "t1", false).unwrap();
        append(&p, &json!({"i": 4}), "t", false).unwrap();
        append(&p, &json!({"i": 5}), "t", false).unwrap();
        let kept = checkpoint(&p, &key, "t2", false).unwrap(); // size 6, kept elsewhere
        let pk = [key.public_key()];
        let by_size = Expected {
            size: Some(6),
            checkpoint: None,
        };
        let by_checkpoint = Expected {
            size: None,
            checkpoint: Some(kept.clone()),
        };
        for e in [&by_size, &by_checkpoint] {
            assert!(verify(&p, &pk, e).unwrap().problems.is_empty());
        }
        // Cut the last two entries and the last checkpoint: the rest still verifies alone,
        // signature included.
        rewrite(&p, |l| l.truncate(5));
        assert!(verify(&p, &pk, &Expected::default())
            .unwrap()
            .problems
            .is_empty());
        for e in [&by_size, &by_checkpoint] {
            let v = verify(&p, &pk, e).unwrap();
            assert!(
                v.problems
                    .iter()
                    .any(|x| x.what.contains("cut from its end")),
                "{:?}",
                v.problems
            );
        }
        // The kept checkpoint needs the signer's key when one is given, and a root that
        // the log's first entries still have.
        let (_d2, q) = log_with(6);
        let other = SigningKey::generate(KeyAlgorithm::Ed25519).public_key();
        let v = verify(&q, &[other], &by_checkpoint).unwrap();
        assert!(v
            .problems
            .iter()
            .any(|x| x.what.contains("does not verify")));
        let v = verify(&q, &[], &by_checkpoint).unwrap();
        assert!(v.problems.iter().any(|x| x.what.contains("no longer hash")));
        let mut forged = kept.clone();
        forged["size"] = json!(5);
        let v = verify(
            &p,
            &pk,
            &Expected {
                size: None,
                checkpoint: Some(forged),
            },
        )
        .unwrap();
        assert!(v
            .problems
            .iter()
            .any(|x| x.what.contains("signed tree head differs")));
        let v = verify(
            &p,
            &[],
            &Expected {
                size: None,
                checkpoint: Some(json!({"a": 1})),
            },
        );
        assert!(v
            .unwrap()
            .problems
            .iter()
            .any(|x| x.what.contains("cannot be read")));
    }

    #[test]
    fn torn_tail_is_reported_then_cut_on_append() {
        let (_d, p) = log_with(3);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"type\":\"entry\",\"ind").unwrap();
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert_eq!(v.entries, 3);
        assert_eq!(v.torn_bytes, 20);
        assert_eq!(v.problems.len(), 1);
        let a = append(&p, &json!({"x": 1}), "t", false).unwrap();
        assert_eq!((a.index, a.torn_bytes_removed), (3, 20));
        assert!(verify(&p, &[], &Expected::default())
            .unwrap()
            .problems
            .is_empty());
    }

    #[test]
    fn foreign_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("notes.txt");
        std::fs::write(&p, "hello\nworld\n").unwrap();
        assert!(append(&p, &json!({}), "t", false).is_err());
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert_eq!(v.problems.len(), 1);
        assert!(v.problems[0].what.contains("not an mlsentry audit log"));
    }

    #[test]
    fn concurrent_appends_from_threads_keep_indices_unique() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("audit.jsonl");
        std::thread::scope(|s| {
            for t in 0..4 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..25 {
                        append(p, &json!({"t": t, "i": i}), "t", false).unwrap();
                    }
                });
            }
        });
        let v = verify(&p, &[], &Expected::default()).unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert_eq!(v.entries, 100);
    }
}
