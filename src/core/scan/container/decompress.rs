//! Decompression with a hard cap on the output and a bomb rule on the ratio.
//!
//! Deflate, zlib and gzip run on `flate2`'s low-level inflater so that the input consumed
//! and the end of each stream are known exactly (the gzip framing of RFC 1952 is read
//! here: header fields, CRC-32 and size trailer, members one after another, zero padding).
//! bzip2 runs on `bzip2`'s low-level decoder (streams one after another, as Python's `bz2`
//! reads them); xz and lzma on `lzma-rust2`'s readers, whose dictionary is checked against
//! `DICT_MEMORY` before it is allocated; Zstandard on `ruzstd` (frames one after another,
//! the window checked against `ZSTD_WINDOW` before it is allocated) and LZ4 frames on
//! `lz4_flex` (blocks of at most 4 MiB), both after any skippable frames.
//!
//! Output stops at `cap` bytes. Past 1 MiB of output, more than `ratio` output bytes per
//! input byte consumed is a bomb. Whatever was decoded before an error, a cap or a bomb is
//! returned with the reason, so the caller can still scan it (an unpickler reading a
//! truncated stream runs everything before the damage).

use std::io::Read;

use flate2::{Crc, Decompress, FlushDecompress, Status};

/// Memory the xz/lzma decoders may take for their dictionary: four times the largest
/// dictionary of any xz preset (64 MiB for `-9`).
pub(crate) const DICT_MEMORY: u32 = 256 << 10; // KiB
/// Output past which the ratio rule applies.
const RATIO_FLOOR: u64 = 1 << 20;
const CHUNK: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// Raw deflate (zip method 8).
    Deflate,
    /// RFC 1950 (joblib's `.z`).
    Zlib,
    Gzip,
    /// One or more bzip2 streams (also zip method 12).
    Bzip2,
    /// `.xz` (also zip method 95).
    Xz,
    /// `.lzma` (`FORMAT_ALONE`): 13-byte header, then LZMA.
    LzmaAlone,
    /// Zip method 14: version (2 bytes), properties size (2), properties (5), then LZMA;
    /// `Some(n)` is the unpacked size, `None` when an end marker closes the data.
    ZipLzma(Option<u64>),
    /// Zstandard frames one after another, skippable frames skipped (also zip method 93).
    Zstd,
    /// LZ4 frames (and the legacy format) one after another, skippable frames skipped.
    Lz4,
}

impl Codec {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Codec::Deflate => "deflate",
            Codec::Zlib => "zlib",
            Codec::Gzip => "gzip",
            Codec::Bzip2 => "bzip2",
            Codec::Xz => "xz",
            Codec::LzmaAlone | Codec::ZipLzma(_) => "lzma",
            Codec::Zstd => "zstd",
            Codec::Lz4 => "lz4",
        }
    }
}

/// How decoding ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// All of it.
    Complete,
    /// Stopped at the cap with `prefix` asked: the content goes on.
    Prefix,
    /// The input ended inside the compressed data.
    Truncated,
    /// The compressed data is damaged (the message says how).
    Corrupt(String),
    /// More output than the cap.
    TooBig,
    /// Past the ratio rule: (output, input consumed) when it tripped.
    Bomb(u64, u64),
    /// A form the decoders do not read (the message says which).
    Unsupported(String),
}

#[derive(Debug)]
pub(crate) struct Decoded {
    pub data: Vec<u8>,
    pub end: End,
    /// Notes that are not failures, e.g. a gzip CRC mismatch or data after the stream.
    pub notes: Vec<String>,
}

/// Decodes `input` into at most `cap` bytes. With `prefix`, stopping at the cap is not a
/// finding (`End::Prefix`) and the ratio rule is off: the caller only wants to sniff.
pub(crate) fn decode(codec: Codec, input: &[u8], cap: u64, ratio: u64, prefix: bool) -> Decoded {
    let mut sink = Sink {
        out: Vec::new(),
        cap,
        ratio: if prefix { u64::MAX } else { ratio.max(1) },
        notes: Vec::new(),
    };
    let r = match codec {
        Codec::Deflate => inflate(input, false, 0, "deflate", &mut sink).map(|_| ()),
        Codec::Zlib => inflate(input, true, 0, "zlib", &mut sink).map(|_| ()),
        Codec::Gzip => gunzip(input, &mut sink),
        Codec::Bzip2 => bunzip(input, &mut sink),
        Codec::Xz => xz(input, &mut sink),
        Codec::LzmaAlone => lzma_alone(input, &mut sink),
        Codec::ZipLzma(size) => zip_lzma(input, size, &mut sink),
        Codec::Zstd => zstd(input, &mut sink),
        Codec::Lz4 => lz4(input, &mut sink),
    };
    let end = match r {
        Ok(()) => End::Complete,
        Err(End::TooBig) if prefix => End::Prefix,
        Err(e) => e,
    };
    Decoded {
        data: sink.out,
        end,
        notes: sink.notes,
    }
}

struct Sink {
    out: Vec<u8>,
    cap: u64,
    ratio: u64,
    notes: Vec<String>,
}

impl Sink {
    /// Appends what fits; `consumed` is the input read so far, for the ratio rule.
    fn push(&mut self, bytes: &[u8], consumed: u64) -> Result<(), End> {
        let room = self.cap.saturating_sub(self.out.len() as u64);
        let take = bytes.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        self.out.extend_from_slice(&bytes[..take]);
        let n = self.out.len() as u64;
        if n > RATIO_FLOOR && n / consumed.max(1) > self.ratio {
            return Err(End::Bomb(n, consumed));
        }
        if take < bytes.len() {
            return Err(End::TooBig);
        }
        Ok(())
    }

    /// Room left, at most one chunk: decoders are never asked for more than fits plus one
    /// byte (to tell "exactly at the cap" from "past it").
    fn want(&self) -> usize {
        let room = self.cap.saturating_sub(self.out.len() as u64);
        usize::try_from(room.saturating_add(1)).map_or(CHUNK, |r| r.min(CHUNK))
    }
}

/// RFC 1952 members, one after another; zero bytes may pad the end (as Python reads it).
fn gunzip(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    let mut pos = 0usize;
    loop {
        let header = gzip_header(&input[pos..])?;
        let start = sink.out.len();
        pos += header;
        let base = pos as u64;
        let used = inflate(&input[pos..], false, base, "gzip", sink)?;
        pos += used;
        let trailer = input.get(pos..pos + 8).ok_or(End::Truncated)?;
        let crc = u32::from_le_bytes(trailer[..4].try_into().unwrap());
        let size = u32::from_le_bytes(trailer[4..].try_into().unwrap());
        let mut c = Crc::new();
        c.update(&sink.out[start..]);
        if c.sum() != crc || c.amount() != size {
            sink.notes
                .push("gzip CRC-32 or size does not match the data".into());
        }
        pos += 8;
        let rest = &input[pos..];
        if rest.iter().all(|&b| b == 0) {
            return Ok(());
        }
        if !rest.starts_with(b"\x1f\x8b") {
            sink.notes.push(format!(
                "{} bytes after the gzip data are not read",
                rest.len()
            ));
            return Ok(());
        }
    }
}

/// Inflates raw deflate (or zlib) at `input`, which starts `base` bytes into the whole
/// input (for the ratio rule); returns the bytes the stream took.
fn inflate(input: &[u8], zlib: bool, base: u64, what: &str, sink: &mut Sink) -> Result<usize, End> {
    let mut d = Decompress::new(zlib);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let in_before = d.total_in() as usize;
        let out_before = d.total_out();
        let want = sink.want();
        let status = d
            .decompress(&input[in_before..], &mut buf[..want], FlushDecompress::None)
            .map_err(|e| End::Corrupt(format!("{what} data: {e}")))?;
        let produced = (d.total_out() - out_before) as usize;
        sink.push(&buf[..produced], base + d.total_in())?;
        if status == Status::StreamEnd {
            return Ok(d.total_in() as usize);
        }
        if produced == 0 && d.total_in() as usize == in_before {
            return Err(if in_before >= input.len() {
                End::Truncated
            } else {
                End::Corrupt(format!("{what} data makes no progress"))
            });
        }
    }
}

/// The length of the gzip member header at the start of `d`.
fn gzip_header(d: &[u8]) -> Result<usize, End> {
    if d.len() < 10 {
        return Err(End::Truncated);
    }
    if d[0] != 0x1f || d[1] != 0x8b || d[2] != 8 {
        return Err(End::Corrupt("not a gzip member header".into()));
    }
    let flags = d[3];
    let mut pos = 10usize;
    if flags & 4 != 0 {
        let xlen = d.get(pos..pos + 2).ok_or(End::Truncated)?;
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
    }
    for bit in [8u8, 16] {
        if flags & bit != 0 {
            let rest = d.get(pos..).ok_or(End::Truncated)?;
            pos += memchr::memchr(0, rest).ok_or(End::Truncated)? + 1;
        }
    }
    if flags & 2 != 0 {
        pos += 2;
    }
    if pos > d.len() {
        return Err(End::Truncated);
    }
    Ok(pos)
}

fn bunzip(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    let mut pos = 0usize;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let mut d = bzip2::Decompress::new(false);
        loop {
            let in_before = d.total_in() as usize;
            let out_before = d.total_out();
            let want = sink.want();
            let status = d
                .decompress(&input[pos + in_before..], &mut buf[..want])
                .map_err(|e| End::Corrupt(format!("bzip2 data: {e}")))?;
            let produced = (d.total_out() - out_before) as usize;
            sink.push(&buf[..produced], pos as u64 + d.total_in())?;
            if status == bzip2::Status::StreamEnd {
                break;
            }
            if produced == 0 && d.total_in() as usize == in_before {
                return Err(if pos + in_before >= input.len() {
                    End::Truncated
                } else {
                    End::Corrupt("bzip2 data makes no progress".into())
                });
            }
        }
        pos += d.total_in() as usize;
        let rest = &input[pos..];
        if rest.is_empty() {
            return Ok(());
        }
        if !rest.starts_with(b"BZh") {
            sink.notes.push(format!(
                "{} bytes after the bzip2 data are not read",
                rest.len()
            ));
            return Ok(());
        }
    }
}

/// Counts the input an lzma-rust2 reader takes (it reads ahead, so this is an upper
/// bound of what it decoded: the ratio rule errs towards "not a bomb", the cap still holds).
struct Counting<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads a decoder to its end into the sink.
fn drain<R: Read>(
    mut r: R,
    consumed: impl Fn(&R) -> u64,
    what: &str,
    sink: &mut Sink,
) -> Result<(), End> {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let want = sink.want();
        match r.read(&mut buf[..want]) {
            Ok(0) => return Ok(()),
            Ok(n) => sink.push(&buf[..n], consumed(&r))?,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(End::Truncated),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                return Err(End::Unsupported(format!(
                    "{what} data needs a dictionary larger than {} MiB",
                    DICT_MEMORY >> 10
                )))
            }
            Err(e) => return Err(End::Corrupt(format!("{what} data: {e}"))),
        }
    }
}

fn xz(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    let r = lzma_rust2::XzReader::new_mem_limit(
        Counting {
            data: input,
            pos: 0,
        },
        true,
        DICT_MEMORY,
    );
    drain(r, |r| r.inner().pos as u64, "xz", sink)
}

fn lzma_alone(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    if input.len() < 13 {
        return Err(End::Truncated);
    }
    let r = lzma_rust2::LzmaReader::new_mem_limit(
        Counting {
            data: input,
            pos: 0,
        },
        DICT_MEMORY,
        None,
    )
    .map_err(|e| lzma_error(e, "lzma"))?;
    drain(r, |r| r.inner().pos as u64, "lzma", sink)
}

fn zip_lzma(input: &[u8], size: Option<u64>, sink: &mut Sink) -> Result<(), End> {
    if input.len() < 9 {
        return Err(End::Truncated);
    }
    let props_len = usize::from(u16::from_le_bytes([input[2], input[3]]));
    if props_len != 5 {
        return Err(End::Corrupt(format!(
            "zip lzma properties of {props_len} bytes, not 5"
        )));
    }
    let props = input[4];
    let dict = u32::from_le_bytes(input[5..9].try_into().unwrap());
    let need = lzma_rust2::lzma_get_memory_usage_by_props(dict, props)
        .map_err(|e| lzma_error(e, "lzma"))?;
    if need > DICT_MEMORY {
        return Err(End::Unsupported(format!(
            "lzma data needs a dictionary larger than {} MiB",
            DICT_MEMORY >> 10
        )));
    }
    let r = lzma_rust2::LzmaReader::new_with_props(
        Counting {
            data: input,
            pos: 9,
        },
        size.unwrap_or(u64::MAX),
        props,
        dict,
        None,
    )
    .map_err(|e| lzma_error(e, "lzma"))?;
    drain(r, |r| r.inner().pos as u64, "lzma", sink)
}

/// The window a Zstandard frame may ask for: libzstd's default limit
/// (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`, 2^27), as Python's zstandard and pandas read. A frame
/// asking for more is one they refuse too, and `Unsupported` here.
pub(crate) const ZSTD_WINDOW: u64 = 1 << 27;

/// Skippable frames (magic 0x184D2A50 to 0x184D2A5F, a length, that many bytes), as both
/// the zstd and the LZ4 frame formats define them: where the next real frame starts.
fn skip_frames(input: &[u8], mut pos: usize) -> Result<usize, End> {
    while let Some(h) = input.get(pos..pos + 4) {
        if !(h[0] & 0xf0 == 0x50 && h[1..] == *b"\x2a\x4d\x18") {
            break;
        }
        let n = input.get(pos + 4..pos + 8).ok_or(End::Truncated)?;
        let n = u32::from_le_bytes(n.try_into().unwrap()) as usize;
        pos = pos
            .checked_add(8 + n)
            .filter(|&p| p <= input.len())
            .ok_or(End::Truncated)?;
    }
    Ok(pos)
}

/// A decoder's error: the input ended inside a frame when every byte was taken.
fn frame_error(e: End, taken: usize, input: &[u8]) -> End {
    match e {
        End::Corrupt(_) if taken >= input.len() => End::Truncated,
        e => e,
    }
}

/// Zstandard frames one after another (ruzstd, window at most `ZSTD_WINDOW`), skippable
/// frames skipped; bytes after the last frame that start none are a note.
fn zstd(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    let mut pos = skip_frames(input, 0)?;
    let mut frames = 0;
    loop {
        let rest = &input[pos..];
        if rest.is_empty() {
            return if frames == 0 {
                Err(End::Truncated)
            } else {
                Ok(())
            };
        }
        if !rest.starts_with(b"\x28\xb5\x2f\xfd") {
            if frames == 0 {
                return Err(End::Corrupt("zstd data: no frame".into()));
            }
            let n = rest.len();
            sink.notes
                .push(format!("{n} bytes after the zstd data are not read"));
            return Ok(());
        }
        let mut src = Counting { data: input, pos };
        let mut d = ruzstd::decoding::FrameDecoder::new();
        d.set_max_window_size(ZSTD_WINDOW);
        let r = match ruzstd::decoding::StreamingDecoder::new_with_decoder(&mut src, d) {
            Ok(r) => r,
            Err(ruzstd::decoding::errors::FrameDecoderError::WindowSizeTooBig {
                requested,
                ..
            }) => {
                return Err(End::Unsupported(format!(
                    "zstd frame asks for a {requested}-byte window, past the {ZSTD_WINDOW} bytes Python's zstandard reads by default"
                )))
            }
            Err(e) => {
                return Err(frame_error(
                    End::Corrupt(format!("zstd data: {e}")),
                    src.pos,
                    input,
                ));
            }
        };
        let out = drain(r, |r| r.get_ref().pos as u64, "zstd", sink);
        out.map_err(|e| frame_error(e, src.pos, input))?;
        frames += 1;
        pos = skip_frames(input, src.pos)?;
    }
}

/// LZ4 frames one after another (lz4_flex; the legacy format too), skippable frames
/// skipped; bytes after the last frame that start none are a note.
fn lz4(input: &[u8], sink: &mut Sink) -> Result<(), End> {
    let mut pos = skip_frames(input, 0)?;
    let mut frames = 0;
    loop {
        let rest = &input[pos..];
        if rest.is_empty() && frames > 0 {
            return Ok(());
        }
        if rest.len() < 4 {
            return Err(End::Truncated);
        }
        if !(rest.starts_with(b"\x04\x22\x4d\x18") || rest.starts_with(b"\x02\x21\x4c\x18")) {
            if frames == 0 {
                return Err(End::Corrupt("lz4 data: no frame".into()));
            }
            let n = rest.len();
            sink.notes
                .push(format!("{n} bytes after the lz4 data are not read"));
            return Ok(());
        }
        let mut src = Counting { data: input, pos };
        let r = lz4_flex::frame::FrameDecoder::new(&mut src);
        let out = drain(r, |r| r.get_ref().pos as u64, "lz4", sink);
        out.map_err(|e| frame_error(e, src.pos, input))?;
        frames += 1;
        if src.pos == pos {
            return Err(End::Corrupt("lz4 data makes no progress".into()));
        }
        pos = skip_frames(input, src.pos)?;
    }
}

fn lzma_error(e: std::io::Error, what: &str) -> End {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => End::Truncated,
        std::io::ErrorKind::OutOfMemory => End::Unsupported(format!(
            "{what} data needs a dictionary larger than {} MiB",
            DICT_MEMORY >> 10
        )),
        _ => End::Corrupt(format!("{what} data: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trips() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let g = gz(&data);
        let d = decode(Codec::Gzip, &g, 1 << 30, 1000, false);
        assert_eq!((d.end, d.data.len()), (End::Complete, data.len()));
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(&data).unwrap();
        let z = e.finish().unwrap();
        assert_eq!(decode(Codec::Zlib, &z, 1 << 30, 1000, false).data, data);
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(&data).unwrap();
        let f = e.finish().unwrap();
        assert_eq!(decode(Codec::Deflate, &f, 1 << 30, 1000, false).data, data);
        // Two gzip members read as one stream.
        let mut two = gz(b"abc");
        two.extend(gz(b"def"));
        assert_eq!(decode(Codec::Gzip, &two, 100, 1000, false).data, b"abcdef");
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(&data).unwrap();
        let b = e.finish().unwrap();
        assert_eq!(decode(Codec::Bzip2, &b, 1 << 30, 1000, false).data, data);
    }

    #[test]
    fn caps_bombs_and_truncation() {
        let zeros = vec![0u8; 50 << 20];
        let g = gz(&zeros);
        let d = decode(Codec::Gzip, &g, 1 << 30, 100, false);
        assert!(matches!(d.end, End::Bomb(..)), "{:?}", d.end);
        assert!(d.data.len() < 4 << 20);
        let d = decode(Codec::Gzip, &g, 1000, 100_000, false);
        assert_eq!((d.end, d.data.len()), (End::TooBig, 1000));
        let d = decode(Codec::Gzip, &g, 1000, 100, true);
        assert_eq!(d.end, End::Prefix);
        let d = decode(Codec::Gzip, &g[..g.len() / 2], 1 << 30, 1_000_000, false);
        assert_eq!(d.end, End::Truncated);
        assert!(!d.data.is_empty());
        // Exactly at the cap is complete.
        let d = decode(Codec::Gzip, &gz(b"12345"), 5, 100, false);
        assert_eq!(d.end, End::Complete);
    }

    #[test]
    fn zstd_and_lz4_frames() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let level = ruzstd::encoding::CompressionLevel::Fastest;
        // Two frames with a skippable frame between them, then bytes that start none.
        let mut z = ruzstd::encoding::compress_to_vec(&data[..1000], level);
        z.extend(b"\x50\x2a\x4d\x18\x02\x00\x00\x00xy");
        z.extend(ruzstd::encoding::compress_to_vec(&data[1000..], level));
        let d = decode(Codec::Zstd, &z, 1 << 30, 1000, false);
        assert_eq!((d.end, d.data == data), (End::Complete, true));
        z.extend(b"tail");
        let d = decode(Codec::Zstd, &z, 1 << 30, 1000, false);
        assert_eq!((d.end, d.notes.len()), (End::Complete, 1));
        // A skippable frame that runs past the end; no frame at all.
        let d = decode(
            Codec::Zstd,
            b"\x50\x2a\x4d\x18\xff\x00\x00\x00",
            100,
            1000,
            false,
        );
        assert_eq!(d.end, End::Truncated);
        assert!(matches!(
            decode(Codec::Zstd, b"nothing", 100, 1000, false).end,
            End::Corrupt(_)
        ));
        // LZ4: two frames, read as one stream; capped as a prefix.
        let mut l = Vec::new();
        for part in [&data[..7], &data[7..]] {
            let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
            e.write_all(part).unwrap();
            l.extend(e.finish().unwrap());
        }
        let d = decode(Codec::Lz4, &l, 1 << 30, 1000, false);
        assert_eq!(d.end, End::Complete, "{} of {}", d.data.len(), data.len());
        assert!(d.data == data, "{} of {}", d.data.len(), data.len());
        let d = decode(Codec::Lz4, &l, 100, 1000, true);
        assert_eq!((d.end, d.data.len()), (End::Prefix, 100));
        let d = decode(Codec::Lz4, &l[..l.len() / 2], 1 << 30, 1000, false);
        assert_eq!(d.end, End::Truncated);
    }
}
