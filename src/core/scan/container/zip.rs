//! A lenient zip reader (PKWARE APPNOTE.TXT), written to see what any zip reader could
//! load: CRC mismatches and odd flags do not stop it, and without a usable central
//! directory it walks the local file headers instead.
//!
//! * The end of central directory record is looked for in the last 64 KiB + 22 bytes
//!   (the comment is at most 65535 bytes); Zip64 records are followed when present.
//! * Offsets are corrected for data prepended to the archive (self-extracting archives,
//!   polyglots), as Python's `zipfile` does: the central directory is expected right
//!   before the end record.
//! * A member's data starts after its *local* header (whose name and extra field may differ
//!   in length from the central ones); its compressed size comes from the central directory
//!   (or the Zip64 extra field), and data running past the end of the file is reported.
//! * Nothing here allocates by a declared size: every length is checked against the bytes
//!   actually there.
//! * Flag bits are kept as found; which ones the scan reads and which make a member
//!   unknown is in `flag` (`Entry::encrypted`, `Entry::unsupported_flags`).

use flate2::{Decompress, FlushDecompress, Status};
use std::collections::{HashMap, HashSet};

use memchr::memmem;

/// One member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The name, UTF-8 when it is (flag 11 or not), else read as Latin-1.
    pub name: String,
    pub flags: u16,
    pub method: u16,
    pub crc: u32,
    pub compressed: u64,
    pub uncompressed: u64,
    /// Offset of the local header in the data given to `read`.
    pub header: u64,
    /// Offset of the member's data, and whether all `compressed` bytes are there.
    pub data: u64,
    pub truncated: bool,
}

/// General-purpose flag bits (APPNOTE 4.4.4) and what this reader does with them.
pub(crate) mod flag {
    /// Traditional (ZipCrypto) encryption.
    pub(crate) const ENCRYPTED: u16 = 1;
    /// Compression options (deflate level, the LZMA end marker): read.
    pub(crate) const OPTIONS: u16 = 2 | 4;
    /// Sizes and CRC in a data descriptor after the data: read.
    pub(crate) const DESCRIPTOR: u16 = 8;
    /// Compressed patched data: the member is a patch to apply to another file.
    pub(crate) const PATCHED: u16 = 0x20;
    /// Strong encryption (PKWARE's), and its masked local headers (encrypted central
    /// directory).
    pub(crate) const STRONG: u16 = 0x40 | 0x2000;
    /// The name and comment are UTF-8: read (names are taken as UTF-8 when they are).
    pub(crate) const UTF8: u16 = 0x800;
    /// Bits APPNOTE leaves reserved or unused (4 "enhanced deflating", 7 to 10, 12
    /// "enhanced compression", 14, 15): no reader here knows what they change.
    pub(crate) const RESERVED: u16 = !(ENCRYPTED | OPTIONS | DESCRIPTOR | PATCHED | STRONG | UTF8);
}

impl Entry {
    pub(crate) fn encrypted(&self) -> bool {
        self.flags & (flag::ENCRYPTED | flag::STRONG) != 0
    }

    /// The flag bits set that change how the data is read and that this reader does not
    /// implement (encryption apart), said in words.
    pub(crate) fn unsupported_flags(&self) -> Option<String> {
        let mut why = Vec::new();
        if self.flags & flag::PATCHED != 0 {
            why.push(
                "bit 5, compressed patched data (the member is a patch to another file)"
                    .to_string(),
            );
        }
        let reserved = self.flags & flag::RESERVED;
        if reserved != 0 {
            let bits: Vec<String> = (0..16)
                .filter(|b| reserved & (1 << b) != 0)
                .map(|b| b.to_string())
                .collect();
            why.push(format!(
                "reserved bits {} (what they change is not defined)",
                bits.join(", ")
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// The member's raw (compressed) bytes that are present.
    pub(crate) fn raw<'d>(&self, d: &'d [u8]) -> &'d [u8] {
        let start = (self.data as usize).min(d.len());
        let end = self
            .data
            .saturating_add(self.compressed)
            .min(d.len() as u64) as usize;
        &d[start..end]
    }
}

/// What reading the archive found besides the members.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Note {
    /// No end record or a damaged central directory: members come from local headers.
    NoCentralDirectory(String),
    /// A central entry whose local header is missing or damaged (the member is skipped).
    BadLocalHeader { name: String, reason: String },
    /// More members than the caller allows; the rest were not listed.
    TooManyMembers(u64),
    /// Readers that take different views of the archive (its central directory, its local
    /// headers, Python's `zipfile`, PyTorch's miniz) would not see the same members.
    Disagree(String),
}

#[derive(Debug, Default)]
pub(crate) struct Archive {
    pub entries: Vec<Entry>,
    pub notes: Vec<Note>,
}

const EOCD: &[u8] = b"PK\x05\x06";
const EOCD64_LOCATOR: &[u8] = b"PK\x06\x07";
const EOCD64: &[u8] = b"PK\x06\x06";
const CENTRAL: &[u8] = b"PK\x01\x02";
const LOCAL: &[u8] = b"PK\x03\x04";
const DESCRIPTOR: &[u8] = b"PK\x07\x08";

fn u16_at(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(
        d.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(
        d.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(d: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(
        d.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// How many end records (from the end back) are each followed to a central directory.
const MAX_END_RECORDS: usize = 8;

/// The members of the archive in `d`, at most `max_members` of them; `max_out` bounds the
/// work of measuring a member without sizes (see `local_scan`).
///
/// Every view a loader could take is read, and the members of all of them are listed:
/// * the central directory of each end record found from the end back (Python's `zipfile`
///   and miniz take the last signature, readers that check the comment length may take
///   another); the directory is read to its recorded size, as Python reads it, whatever
///   count the end record gives (miniz trusts the count);
/// * the local headers: each central entry's own (its name and method against the central
///   ones), and every local header signature that parses as a member, that no directory
///   lists and that a reader walking the local headers could land on (see
///   `opaque_ranges`): in the bytes before, between and after the members, and inside the
///   data of a member whose end a walker cannot take from its local header (sizes in a
///   data descriptor, which streaming readers find by searching for the next signature;
///   a local size or method that disagrees with the central directory). A stored member
///   that is itself a zip is read as a nested archive instead.
///
/// Where the views differ, a `Note::Disagree` says how.
pub(crate) fn read(d: &[u8], max_members: usize, max_out: u64) -> Archive {
    let ends = find_ends(d);
    let mut a = Archive::default();
    let mut directories = 0usize;
    let mut first_error = None;
    let mut seen: HashSet<(u64, String)> = HashSet::new();
    let mut noted: HashSet<Note> = HashSet::new();
    for &end in &ends {
        // An end record inside a stored member that is a zip itself belongs to that
        // archive, which is read as a nested one.
        let at = end as u64;
        if a.entries.iter().any(|e| {
            e.method == 0
                && e.data <= at
                && at < e.data.saturating_add(e.compressed)
                && has_directory(e.raw(d))
        }) {
            continue;
        }
        match central(d, end, max_members.saturating_sub(a.entries.len())) {
            Ok(c) => {
                directories += 1;
                if directories > 1 {
                    let new = c
                        .entries
                        .iter()
                        .filter(|e| !seen.contains(&(e.header, e.name.clone())))
                        .count();
                    if new > 0 || c.entries.len() != a.entries.len() {
                        a.notes.push(Note::Disagree(format!(
                            "another end of central directory record (at offset {end}) leads to a \
                             directory of {} members, {new} of them not in the last one's: \
                             readers that take a different end record see different members",
                            c.entries.len()
                        )));
                    }
                }
                for e in c.entries {
                    if seen.insert((e.header, e.name.clone())) {
                        a.entries.push(e);
                    }
                }
                for n in c.notes {
                    if noted.insert(n.clone()) {
                        a.notes.push(n);
                    }
                }
            }
            Err(reason) => {
                first_error.get_or_insert(reason);
            }
        }
    }
    if directories == 0 {
        let reason = first_error.unwrap_or_else(|| "no end of central directory record".into());
        let mut l = local_scan(d, max_members, max_out);
        l.notes.insert(0, Note::NoCentralDirectory(reason));
        l.notes.extend(a.notes);
        a = l;
    }
    unlisted_local_headers(d, &mut a, max_members, max_out);
    a
}

/// Local headers found by their signature alone whose size is only in a data
/// descriptor, measured (by inflating) at most: past this they are reported, not read.
const MAX_MEASURED: usize = 16;

/// The range (of `ranges`, sorted by start) that holds `at`, looking at the last one that
/// starts at or before it.
fn holding(ranges: &[(u64, u64, usize)], at: u64) -> Option<usize> {
    let i = ranges.partition_point(|r| r.0 <= at);
    let r = ranges.get(i.checked_sub(1)?)?;
    (at < r.1).then_some(r.2)
}

/// The data of the members every view agrees on, sorted and merged: the central directory
/// and the local header give the same method and compressed size, no data descriptor, and
/// all the bytes are there. Central-directory readers take such data as the member's
/// content, and a reader walking the local headers skips it by its size, so no loader reads
/// a local header hidden inside it; every other byte of the archive is searched.
fn opaque_ranges(d: &[u8], a: &Archive) -> Vec<(usize, usize)> {
    let mut ranges: Vec<(usize, usize)> = a
        .entries
        .iter()
        .filter(|e| {
            let Ok(h) = usize::try_from(e.header) else {
                return false;
            };
            let local_flags = u16_at(d, h + 6).unwrap_or(flag::DESCRIPTOR);
            e.compressed > 0
                && !e.truncated
                && (e.flags | local_flags) & flag::DESCRIPTOR == 0
                && local_entry(d, h, 0)
                    .is_some_and(|l| l.method == e.method && l.compressed == e.compressed)
        })
        .filter_map(|e| {
            let start = usize::try_from(e.data).ok()?;
            let end = usize::try_from(e.data.saturating_add(e.compressed)).ok()?;
            Some((start, end.min(d.len())))
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if start <= last.1 => last.1 = last.1.max(end),
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// The offsets of the local header signatures outside `opaque` (sorted, disjoint), in order.
/// A signature that starts just before an opaque range and runs into it is found.
fn signatures_outside(d: &[u8], opaque: &[(usize, usize)]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut search = |from: usize, to: usize| {
        let to = to.saturating_add(LOCAL.len() - 1).min(d.len());
        if from < to {
            found.extend(memmem::find_iter(&d[from..to], LOCAL).map(|i| from + i));
        }
    };
    let mut pos = 0usize;
    for &(start, end) in opaque {
        search(pos, start);
        pos = pos.max(end);
    }
    search(pos, d.len());
    found
}

/// Adds the members whose local headers no view listed so far.
fn unlisted_local_headers(d: &[u8], a: &mut Archive, max_members: usize, max_out: u64) {
    // Stored members that are zips themselves are read as nested archives.
    let mut nested: Vec<(u64, u64, usize)> = a
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.method == 0 && (e.raw(d).starts_with(LOCAL) || has_directory(e.raw(d))))
        .map(|(i, e)| (e.data, e.data.saturating_add(e.compressed), i))
        .collect();
    nested.sort_unstable();
    let mut data: Vec<(u64, u64, usize)> = a
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.data, e.data.saturating_add(e.compressed), i))
        .collect();
    data.sort_unstable();
    let listed: HashSet<u64> = a.entries.iter().map(|e| e.header).collect();
    let mut measured = 0usize;
    for h in signatures_outside(d, &opaque_ranges(d, a)) {
        let at = h as u64;
        if listed.contains(&at) || holding(&nested, at).is_some() {
            continue;
        }
        let no_size = u16_at(d, h + 6).is_some_and(|f| f & 8 != 0)
            && matches!(u32_at(d, h + 18), Some(0 | 0xFFFF_FFFF));
        if no_size {
            if measured >= MAX_MEASURED {
                continue;
            }
            measured += 1;
        }
        let Some(e) = local_entry(d, h, max_out) else {
            continue;
        };
        if !plausible(d, h, &e) {
            continue;
        }
        if a.entries.len() >= max_members {
            if !a.notes.iter().any(|n| matches!(n, Note::TooManyMembers(_))) {
                a.notes
                    .push(Note::TooManyMembers(a.entries.len() as u64 + 1));
            }
            break;
        }
        let inside = holding(&data, at)
            .map(|i| format!(", inside the data of member {:?}", a.entries[i].name))
            .unwrap_or_default();
        a.notes.push(Note::Disagree(format!(
            "local header at offset {h} (member {:?}{inside}) is not listed by the central \
             directory: readers that walk or search the local headers load it",
            e.name
        )));
        a.entries.push(e);
    }
}

/// Whether a local header found by its signature alone looks like one a reader would take
/// (so that four bytes of tensor data that happen to read `PK\x03\x04` do not count).
fn plausible(d: &[u8], h: usize, e: &Entry) -> bool {
    let version = u16_at(d, h + 4).unwrap_or(u16::MAX);
    let name_len = u16_at(d, h + 26).unwrap_or(0);
    (version & 0xFF) <= 63
        && matches!(e.method, 0 | 8 | 12 | 14 | 93 | 95)
        && (1..=1024).contains(&name_len)
        && !e.name.contains('\0')
        && e.compressed > 0
        && !e.truncated
}

/// The offsets of the end of central directory records a reader could take, the last one
/// first: every signature in the last 64 KiB + 22 bytes that has room for its fixed part
/// (Python's `zipfile` and miniz take the last, whatever its comment length says), at most
/// `MAX_END_RECORDS`.
pub(crate) fn find_ends(d: &[u8]) -> Vec<usize> {
    let from = d.len().saturating_sub(22 + 65535);
    let tail = &d[from..];
    let mut end = tail.len();
    let mut out = Vec::new();
    while let Some(i) = memmem::rfind(&tail[..end], EOCD) {
        let at = from + i;
        if at + 22 <= d.len() {
            out.push(at);
            if out.len() >= MAX_END_RECORDS {
                break;
            }
        }
        end = i;
    }
    out
}

/// Whether `d` ends with a zip whose central directory lists at least one member.
pub(crate) fn has_directory(d: &[u8]) -> bool {
    find_ends(d)
        .into_iter()
        .any(|end| central(d, end, 1).is_ok_and(|a| !a.entries.is_empty()))
}

/// (entries, central directory size, central directory offset) from the end record and,
/// when needed, the Zip64 end record.
fn end_record(d: &[u8], end: usize) -> Result<(u64, u64, u64, usize), String> {
    let entries = u64::from(u16_at(d, end + 10).unwrap_or(0));
    let size = u64::from(u32_at(d, end + 12).unwrap_or(0));
    let offset = u64::from(u32_at(d, end + 16).unwrap_or(0));
    // Where the central directory should end: right before the end record, or before the
    // Zip64 end record.
    let mut cd_end = end;
    if end >= 20 && d[end - 20..].starts_with(EOCD64_LOCATOR) {
        let loc = end - 20;
        let z = u64_at(d, loc + 8).ok_or("bad Zip64 locator")?;
        // Like `offset` this may be shifted by prepended data; look just before the locator
        // first (a Zip64 end record has 56 bytes plus an extensible part).
        let at = memmem::rfind(&d[loc.saturating_sub(56 + 4096)..loc], EOCD64)
            .map(|i| loc.saturating_sub(56 + 4096) + i)
            .or_else(|| {
                usize::try_from(z)
                    .ok()
                    .filter(|&z| d.get(z..).is_some_and(|s| s.starts_with(EOCD64)))
            })
            .ok_or("Zip64 end record not found")?;
        let n = u64_at(d, at + 32).ok_or("truncated Zip64 end record")?;
        let s = u64_at(d, at + 40).ok_or("truncated Zip64 end record")?;
        let o = u64_at(d, at + 48).ok_or("truncated Zip64 end record")?;
        cd_end = at;
        return Ok((n, s, o, cd_end));
    }
    Ok((entries, size, offset, cd_end))
}

fn central(d: &[u8], end: usize, max_members: usize) -> Result<Archive, String> {
    let (count, size, offset, cd_end) = end_record(d, end)?;
    let cd_start = (cd_end as u64)
        .checked_sub(size)
        .ok_or("central directory larger than the data before it")? as usize;
    // Bytes prepended to the archive shift every recorded offset.
    let shift = (cd_start as u64).wrapping_sub(offset);
    let mut a = Archive::default();
    let mut pos = cd_start;
    let mut listed = 0u64;
    let mut names: HashSet<String> = HashSet::new();
    // Python's `zipfile` reads the directory to its recorded size, whatever the count.
    while pos < cd_end && d[pos..].starts_with(CENTRAL) {
        if a.entries.len() >= max_members {
            a.notes.push(Note::TooManyMembers(count.max(listed + 1)));
            break;
        }
        let name_len = usize::from(u16_at(d, pos + 28).ok_or("truncated central directory")?);
        let extra_len = usize::from(u16_at(d, pos + 30).ok_or("truncated central directory")?);
        let comment_len = usize::from(u16_at(d, pos + 32).ok_or("truncated central directory")?);
        let next = pos + 46 + name_len + extra_len + comment_len;
        if next > d.len() {
            return Err("central directory entry runs past the end".into());
        }
        let flags = u16_at(d, pos + 8).unwrap_or(0);
        let method = u16_at(d, pos + 10).unwrap_or(0);
        let raw_name = &d[pos + 46..pos + 46 + name_len];
        let name = decode_name(raw_name);
        let mut compressed = u64::from(u32_at(d, pos + 20).unwrap_or(0));
        let mut uncompressed = u64::from(u32_at(d, pos + 24).unwrap_or(0));
        let mut header = u64::from(u32_at(d, pos + 42).unwrap_or(0));
        zip64_extra(
            &d[pos + 46 + name_len..pos + 46 + name_len + extra_len],
            &mut [&mut uncompressed, &mut compressed, &mut header],
        );
        let header = header.wrapping_add(shift);
        match local_data(d, header) {
            Ok(data) => {
                let truncated = data.saturating_add(compressed) > d.len() as u64;
                let e = Entry {
                    name,
                    flags,
                    method,
                    crc: u32_at(d, pos + 16).unwrap_or(0),
                    compressed,
                    uncompressed,
                    header,
                    data,
                    truncated,
                };
                let local = compare_local(d, &e, raw_name, &mut a);
                if !names.insert(e.name.clone()) {
                    a.notes.push(Note::Disagree(format!(
                        "two members named {:?}: Python's zipfile opens the last, other readers \
                         the first",
                        e.name
                    )));
                }
                a.entries.push(e);
                // What a reader of the local header reads, when that is other bytes.
                a.entries.extend(local);
            }
            Err(reason) => a.notes.push(Note::BadLocalHeader { name, reason }),
        }
        pos = next;
        listed += 1;
    }
    let too_many = a.notes.iter().any(|n| matches!(n, Note::TooManyMembers(_)));
    if listed < count && !too_many {
        return Err(format!(
            "the central directory holds {listed} of the {count} entries its end record counts"
        ));
    }
    if listed > count && !too_many {
        a.notes.push(Note::Disagree(format!(
            "the end record counts {count} members but the central directory holds {listed}: \
             Python's zipfile (and np.load) reads them all, readers that trust the count \
             (miniz, PyTorch) only the first {count}"
        )));
    }
    Ok(a)
}

/// Compares a central entry with its local header: a reader that walks the local headers
/// takes the name, flags, method and size from there. Returns the member as the local
/// header gives it when that reads other bytes (another method or size).
fn compare_local(d: &[u8], e: &Entry, raw_name: &[u8], a: &mut Archive) -> Option<Entry> {
    let h = usize::try_from(e.header).ok()?;
    let local = local_entry(d, h, 0)?;
    let name_len = usize::from(u16_at(d, h + 26).unwrap_or(0));
    let local_name = d.get(h + 30..h + 30 + name_len).unwrap_or_default();
    let mut why = Vec::new();
    if local_name != raw_name {
        why.push(format!(
            "its local header names it {:?} (Python's zipfile refuses it, miniz and the \
             central directory take {:?})",
            local.name, e.name
        ));
    }
    // Bit 0 (encrypted), 3 (sizes in a descriptor), 5 (patched data), 6 (strong
    // encryption), 13 (masked headers) change how a reader takes the data.
    const READ_BITS: u16 = 1 | 8 | 0x20 | 0x40 | 0x2000;
    if (local.flags ^ e.flags) & READ_BITS & !8 != 0 {
        why.push(format!(
            "its local flags {:#06x} differ from the central ones {:#06x}",
            local.flags, e.flags
        ));
    }
    if local.method != e.method {
        why.push(format!(
            "its local header says compression method {} where the central directory says {}",
            local.method, e.method
        ));
    }
    let sized = local.flags & 8 == 0;
    let other_bytes = local.method != e.method || (sized && local.compressed != e.compressed);
    if sized && local.method == e.method && local.compressed != e.compressed {
        why.push(format!(
            "its local header gives {} compressed bytes where the central directory gives {}",
            local.compressed, e.compressed
        ));
    }
    if !why.is_empty() {
        a.notes.push(Note::Disagree(format!(
            "member {:?}: {}",
            e.name,
            why.join("; ")
        )));
    }
    (other_bytes && local.compressed > 0).then_some(local)
}

/// Fills the fields that are all ones (in order: sizes, offset) from a Zip64 extra field.
fn zip64_extra(extra: &[u8], fields: &mut [&mut u64]) {
    let mut p = 0usize;
    while p + 4 <= extra.len() {
        let id = u16_at(extra, p).unwrap_or(0);
        let len = usize::from(u16_at(extra, p + 2).unwrap_or(0));
        let body = &extra[p + 4..(p + 4 + len).min(extra.len())];
        if id == 1 {
            let mut q = 0usize;
            for f in fields.iter_mut() {
                if **f == 0xFFFF_FFFF {
                    match u64_at(body, q) {
                        Some(v) => **f = v,
                        None => return,
                    }
                    q += 8;
                }
            }
            return;
        }
        p += 4 + len;
    }
}

/// Where the data of the member whose local header is at `header` starts.
fn local_data(d: &[u8], header: u64) -> Result<u64, String> {
    let h = usize::try_from(header).map_err(|_| "local header offset out of range")?;
    if !d.get(h..).is_some_and(|s| s.starts_with(LOCAL)) {
        return Err(format!("no local header at offset {header}"));
    }
    let name_len = u16_at(d, h + 26).ok_or("truncated local header")?;
    let extra_len = u16_at(d, h + 28).ok_or("truncated local header")?;
    Ok(header + 30 + u64::from(name_len) + u64::from(extra_len))
}

fn decode_name(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.to_owned(),
        Err(_) => b.iter().map(|&c| char::from(c)).collect(),
    }
}

/// Members from the local headers, front to back, when there is no central directory.
/// Sizes come from the header; a member with a data descriptor (flag 3) is measured by
/// inflating it (deflate) or by finding its descriptor (other methods).
pub(crate) fn local_scan(d: &[u8], max_members: usize, max_out: u64) -> Archive {
    let mut a = Archive::default();
    let mut pos = 0usize;
    while let Some(i) = memmem::find(&d[pos..], LOCAL) {
        let h = pos + i;
        if a.entries.len() >= max_members {
            a.notes
                .push(Note::TooManyMembers(a.entries.len() as u64 + 1));
            break;
        }
        let Some(e) = local_entry(d, h, max_out) else {
            pos = h + 4;
            continue;
        };
        pos = usize::try_from(e.data.saturating_add(e.compressed))
            .unwrap_or(usize::MAX)
            .min(d.len())
            .max(h + 4);
        a.entries.push(e);
    }
    a
}

fn local_entry(d: &[u8], h: usize, max_out: u64) -> Option<Entry> {
    let flags = u16_at(d, h + 6)?;
    let method = u16_at(d, h + 8)?;
    let crc = u32_at(d, h + 14)?;
    let mut compressed = u64::from(u32_at(d, h + 18)?);
    let mut uncompressed = u64::from(u32_at(d, h + 22)?);
    let name_len = usize::from(u16_at(d, h + 26)?);
    let extra_len = usize::from(u16_at(d, h + 28)?);
    let data = h + 30 + name_len + extra_len;
    if data > d.len() {
        return None;
    }
    let name = decode_name(&d[h + 30..h + 30 + name_len]);
    zip64_extra(
        &d[h + 30 + name_len..data],
        &mut [&mut uncompressed, &mut compressed],
    );
    if flags & 8 != 0 && (compressed == 0 || compressed == 0xFFFF_FFFF) {
        compressed = measure(&d[data..], method, max_out)? as u64;
    }
    Some(Entry {
        name,
        flags,
        method,
        crc,
        compressed,
        uncompressed,
        header: h as u64,
        data: data as u64,
        truncated: (data as u64).saturating_add(compressed) > d.len() as u64,
    })
}

/// The length of member data whose size is only in a data descriptor. Inflating stops
/// after `max_out` bytes of output (the rest of the data is then taken as the member's).
fn measure(d: &[u8], method: u16, max_out: u64) -> Option<usize> {
    if method == 8 {
        let mut z = Decompress::new(false);
        let mut sink = vec![0u8; 64 << 10];
        loop {
            let before = (z.total_in(), z.total_out());
            let s = z
                .decompress(
                    &d[z.total_in() as usize..],
                    &mut sink,
                    FlushDecompress::None,
                )
                .ok()?;
            if s == Status::StreamEnd {
                return Some(z.total_in() as usize);
            }
            if (z.total_in(), z.total_out()) == before || z.total_out() > max_out {
                return Some(d.len());
            }
        }
    }
    // Stored (or other): the next descriptor whose size field matches its distance, else
    // the next header.
    let mut from = 0usize;
    while let Some(i) = memmem::find(&d[from..], DESCRIPTOR) {
        let at = from + i;
        if u32_at(d, at + 8).map(u64::from) == Some(at as u64) {
            return Some(at);
        }
        from = at + 4;
    }
    let next = [LOCAL, CENTRAL]
        .iter()
        .filter_map(|s| memmem::find(d, s))
        .min();
    Some(next.unwrap_or(d.len()))
}

/// The TorchScript source files of a `torch.jit.save` archive (`<name>/code/**.py`).
pub(crate) fn torchscript_code(entries: &[Entry]) -> usize {
    entries
        .iter()
        .filter(|e| {
            let n = e.name.as_str();
            n.ends_with(".py") && (n.starts_with("code/") || n.contains("/code/"))
        })
        .count()
}

/// What kind of archive the member names say it is (members are always sniffed by
/// content; the label names the summary's format and marks TorchScript).
/// The members of a PyTorch (or TorchScript) zip that torch unpickles: `data.pkl` and
/// `constants.pkl`, at the top or in the archive's folder.
pub(crate) fn torch_pickle(name: &str) -> bool {
    ["data.pkl", "constants.pkl"]
        .iter()
        .any(|p| name == *p || name.strip_suffix(p).is_some_and(|s| s.ends_with('/')))
}

/// The storage members of the PyTorch pickle member `pickle` (`<folder>/data.pkl` reads
/// `<folder>/data/<key>`, `constants.pkl` reads `constants/<key>`): their uncompressed
/// sizes by key, the first member of a name standing (as miniz takes it).
pub(crate) fn storage_sizes(entries: &[Entry], pickle: &str) -> HashMap<String, u64> {
    let folder = format!("{}/", pickle.strip_suffix(".pkl").unwrap_or(pickle));
    let mut sizes = HashMap::new();
    for e in entries {
        if let Some(key) = e.name.strip_prefix(&folder) {
            if !key.is_empty() && !key.contains('/') {
                sizes.entry(key.to_string()).or_insert(e.uncompressed);
            }
        }
    }
    sizes
}

/// Whether the member names are those of a `torch.package` archive: its `.data/` folder
/// (`version`, `extern_modules`) at the top or in the archive's folder.
pub(crate) fn is_torch_package(entries: &[Entry]) -> bool {
    let has = |leaf: &str| {
        entries.iter().any(|e| {
            let n = e.name.as_str();
            n == leaf || n.strip_suffix(leaf).is_some_and(|s| s.ends_with('/'))
        })
    };
    has(".data/version") && has(".data/extern_modules")
}

pub(crate) fn label(entries: &[Entry]) -> &'static str {
    let names = || entries.iter().map(|e| e.name.as_str());
    if is_torch_package(entries) {
        "torch-package"
    } else if names().any(|n| n == "data.pkl" || n.ends_with("/data.pkl")) {
        // torch.load takes a zip holding `constants.pkl` for TorchScript and hands it to
        // torch.jit.load; `code/` holds the program.
        let constants = names().any(|n| n == "constants.pkl" || n.ends_with("/constants.pkl"));
        if constants || torchscript_code(entries) > 0 {
            "torchscript"
        } else {
            "pytorch-zip"
        }
    } else if names().any(|n| n == "config.json") && names().any(|n| n == "metadata.json") {
        "keras"
    } else if !entries.is_empty() && names().all(|n| n.ends_with(".npy")) {
        "npz"
    } else {
        "zip"
    }
}
