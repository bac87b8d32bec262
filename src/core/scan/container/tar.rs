//! tar archives (POSIX ustar, GNU and pax extensions), as the oldest PyTorch format
//! (`storages`, `tensors` and `pickle` members) and other model bundles use them.
//! Regular files are members; GNU long names (`L`) and pax `path` records give names.

/// One regular file: its name and its bytes' range, and whether the data is cut short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    pub name: String,
    pub start: usize,
    pub end: usize,
    pub truncated: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Archive {
    pub members: Vec<Member>,
    /// A header that is not one (bad checksum, unreadable size): reading stopped there.
    pub damaged: Option<String>,
    pub too_many: bool,
}

fn octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        // GNU base-256: big-endian after the marker bit.
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

fn cstr(field: &[u8]) -> String {
    let end = memchr::memchr(0, field).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn checksum_ok(h: &[u8]) -> bool {
    let Some(want) = octal(&h[148..156]) else {
        return false;
    };
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    sum == want
}

/// The regular files of the tar archive `d`, at most `max_members`.
pub(crate) fn read(d: &[u8], max_members: usize) -> Archive {
    let mut a = Archive::default();
    let mut pos = 0usize;
    let mut long_name: Option<String> = None;
    while pos + 512 <= d.len() {
        let h = &d[pos..pos + 512];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        if !checksum_ok(h) {
            a.damaged = Some(format!("bad tar header checksum at offset {pos}"));
            break;
        }
        let Some(size) = octal(&h[124..136]) else {
            a.damaged = Some(format!("unreadable tar member size at offset {pos}"));
            break;
        };
        let start = pos + 512;
        let avail = d.len() - start;
        let len = usize::try_from(size).unwrap_or(usize::MAX).min(avail);
        let truncated = (len as u64) < size;
        let body = &d[start..start + len];
        let mut name = cstr(&h[0..100]);
        if &h[257..262] == b"ustar" {
            let prefix = cstr(&h[345..500]);
            if !prefix.is_empty() {
                name = format!("{prefix}/{name}");
            }
        }
        match h[156] {
            b'L' => long_name = Some(cstr(body)),
            b'x' => {
                if let Some(p) = pax_path(body) {
                    long_name = Some(p);
                }
            }
            b'0' | 0 | b'7' => {
                if a.members.len() >= max_members {
                    a.too_many = true;
                    break;
                }
                a.members.push(Member {
                    name: long_name.take().unwrap_or(name),
                    start,
                    end: start + len,
                    truncated,
                });
            }
            _ => long_name = None,
        }
        if truncated {
            break;
        }
        pos = start + len.div_ceil(512) * 512;
    }
    a
}

/// The `path` record of a pax extended header (`"%d path=%s\n"` records).
fn pax_path(body: &[u8]) -> Option<String> {
    let mut rest = body;
    while !rest.is_empty() {
        let sp = memchr::memchr(b' ', rest)?;
        let n: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if n <= sp || n > rest.len() {
            return None;
        }
        let rec = &rest[sp + 1..n];
        if let Some(v) = rec.strip_prefix(b"path=") {
            return Some(String::from_utf8_lossy(v.strip_suffix(b"\n").unwrap_or(v)).into_owned());
        }
        rest = &rest[n..];
    }
    None
}
