//! The arguments of the text opcodes of protocol 0, decoded as CPython decodes them:
//! `STRING` (a quoted Python 2 literal with backslash escapes), `UNICODE`
//! (raw-unicode-escape), `INT`/`LONG`/`GET`/`PUT` (decimal text), and the UTF-8 (with
//! `surrogatepass`) of `BINUNICODE` and friends.
//!
//! Strings are only ever needed as names, so a decoded string longer than `MAX_STR` bytes
//! is reported as long rather than kept; lone surrogates (which a Rust string cannot hold)
//! become U+FFFD, which no policy name contains.

use super::value::MAX_STR;

/// A decoded string: its text, or `None` when it is longer than `MAX_STR` bytes.
pub(crate) type Decoded = Option<String>;

/// `STRING`: the argument must be quoted (the same quote at both ends), and its escapes
/// are Python 2's (`PyBytes_DecodeEscape`). The bytes are then decoded with the
/// loader's encoding; names only matter in ASCII, so non-ASCII bytes decode as UTF-8
/// with replacement.
pub(crate) fn python2_string(line: &[u8]) -> Result<Decoded, String> {
    let n = line.len();
    if n < 2 || line[0] != line[n - 1] || !(line[0] == b'\'' || line[0] == b'"') {
        return Err("the STRING argument is not quoted".into());
    }
    let body = &line[1..n - 1];
    let mut out = Vec::with_capacity(body.len().min(MAX_STR + 4));
    let mut i = 0;
    let mut long = false;
    while i < body.len() {
        let c = body[i];
        i += 1;
        let b = if c != b'\\' {
            c
        } else {
            let Some(&e) = body.get(i) else {
                return Err("the STRING argument ends with a backslash".into());
            };
            i += 1;
            match e {
                b'\n' => continue,
                b'\\' | b'\'' | b'"' => e,
                b'b' => 8,
                b'f' => 12,
                b't' => b'\t',
                b'n' => b'\n',
                b'r' => b'\r',
                b'v' => 11,
                b'a' => 7,
                b'0'..=b'7' => {
                    let mut v = u32::from(e - b'0');
                    for _ in 0..2 {
                        match body.get(i) {
                            Some(&d @ b'0'..=b'7') => {
                                v = v * 8 + u32::from(d - b'0');
                                i += 1;
                            }
                            _ => break,
                        }
                    }
                    (v & 0xff) as u8
                }
                b'x' => match body.get(i..i + 2) {
                    Some(&[h, l]) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                        i += 2;
                        let d = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
                        d(h) * 16 + d(l)
                    }
                    _ => return Err(format!("invalid \\x escape at position {}", i - 2)),
                },
                // Unknown escapes stay as they are, backslash included.
                _ => {
                    push_capped(&mut out, b'\\', &mut long);
                    e
                }
            }
        };
        push_capped(&mut out, b, &mut long);
    }
    if long {
        return Ok(None);
    }
    Ok(Some(String::from_utf8_lossy(&out).into_owned()))
}

fn push_capped(out: &mut Vec<u8>, b: u8, long: &mut bool) {
    if out.len() < MAX_STR {
        out.push(b);
    } else {
        *long = true;
    }
}

/// `UNICODE`: raw-unicode-escape. Bytes are Latin-1 characters, except that a `\u` with
/// four hex digits or a `\U` with eight, after an odd number of backslashes, is the
/// character it names.
pub(crate) fn raw_unicode_escape(line: &[u8]) -> Result<Decoded, String> {
    fn push(out: &mut String, c: char, long: &mut bool) {
        if out.len() + c.len_utf8() <= MAX_STR {
            out.push(c);
        } else {
            *long = true;
        }
    }
    let mut out = String::new();
    let mut long = false;
    let mut i = 0;
    while i < line.len() {
        if line[i] != b'\\' {
            push(&mut out, char::from(line[i]), &mut long);
            i += 1;
            continue;
        }
        let start = i;
        while i < line.len() && line[i] == b'\\' {
            i += 1;
        }
        let run = i - start;
        let escape = run % 2 == 1 && matches!(line.get(i), Some(b'u' | b'U'));
        // The last backslash of an odd run belongs to the escape.
        for _ in 0..run - usize::from(escape) {
            push(&mut out, '\\', &mut long);
        }
        if !escape {
            continue;
        }
        let u = line[i];
        let digits = if u == b'u' { 4 } else { 8 };
        i += 1;
        let Some(hex) = line.get(i..i + digits) else {
            return Err(format!("truncated \\{} escape", char::from(u)));
        };
        let mut v: u32 = 0;
        for &h in hex {
            let d = char::from(h)
                .to_digit(16)
                .ok_or_else(|| format!("truncated \\{} escape", char::from(u)))?;
            v = v * 16 + d;
        }
        if v > 0x10ffff {
            return Err("\\Uxxxxxxxx out of range".into());
        }
        i += digits;
        push(&mut out, char::from_u32(v).unwrap_or('\u{fffd}'), &mut long);
    }
    if long {
        return Ok(None);
    }
    Ok(Some(out))
}

/// UTF-8 with `surrogatepass`: encoded surrogates (`ED A0..BF xx`) are accepted and
/// become U+FFFD. `Err` on anything else that is not UTF-8.
pub(crate) fn utf8_surrogatepass(b: &[u8]) -> Result<std::borrow::Cow<'_, str>, String> {
    match std::str::from_utf8(b) {
        Ok(s) => Ok(std::borrow::Cow::Borrowed(s)),
        Err(_) => {
            let mut out = String::new();
            let mut rest = b;
            loop {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        return Ok(std::borrow::Cow::Owned(out));
                    }
                    Err(e) => {
                        let good = e.valid_up_to();
                        out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or_default());
                        let bad = &rest[good..];
                        if bad.len() >= 3
                            && bad[0] == 0xed
                            && (0xa0..=0xbf).contains(&bad[1])
                            && (0x80..=0xbf).contains(&bad[2])
                        {
                            out.push('\u{fffd}');
                            rest = &bad[3..];
                        } else {
                            return Err(format!(
                                "invalid UTF-8 at byte {}",
                                b.len() - rest.len() + good
                            ));
                        }
                    }
                }
            }
        }
    }
}

/// An integer as text, as `int(text, 0)` and C's `strtol(text, 0)` read it when they
/// agree: optional whitespace and sign, then decimal digits (single underscores between
/// them allowed) or a `0x`/`0o`/`0b` literal. `Ok(None)` for a number outside `i64`
/// or one whose value the two readers would disagree on (leading zeros); `Err` for text
/// that is no number.
pub(crate) fn int_text(line: &[u8]) -> Result<Option<i64>, String> {
    let s = std::str::from_utf8(line).map_err(|_| "a number that is not ASCII".to_string())?;
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let lower = t.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else {
        (10, lower.as_str())
    };
    let clean = digits.trim_start_matches('_');
    let bad = || Err(format!("not a number: {:?}", shorten(s)));
    if clean.is_empty() || clean.ends_with('_') || clean.contains("__") {
        return bad();
    }
    if radix == 10 && digits.len() != clean.len() {
        return bad();
    }
    let plain: String = clean.chars().filter(|&c| c != '_').collect();
    if !plain.chars().all(|c| c.is_digit(radix)) {
        return bad();
    }
    if radix == 10 && plain.len() > 1 && plain.starts_with('0') {
        // `int(.., 0)` refuses it unless all zeros, `strtol` reads octal.
        return if plain.chars().all(|c| c == '0') {
            Ok(Some(0))
        } else {
            Ok(None)
        };
    }
    let Ok(v) = i128::from_str_radix(&plain, radix) else {
        return Ok(None);
    };
    let v = if neg { -v } else { v };
    Ok(i64::try_from(v).ok())
}

/// A decimal integer as text, as `int(text)` (and C's `PyLong_FromString(text, 10)`)
/// read the keys of `GET` and `PUT`: leading zeros are fine. `Ok(None)` outside `i64`.
pub(crate) fn decimal_text(line: &[u8]) -> Result<Option<i64>, String> {
    let s = std::str::from_utf8(line).map_err(|_| "a number that is not ASCII".to_string())?;
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let ok = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(format!("not a number: {:?}", shorten(s)));
    }
    let plain: String = digits.chars().filter(|&c| c != '_').collect();
    let Ok(v) = plain.parse::<i128>() else {
        return Ok(None);
    };
    Ok(i64::try_from(if neg { -v } else { v }).ok())
}

/// A float as text (`float(text)`): whether it is one.
pub(crate) fn is_float_text(line: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(line) else {
        return false;
    };
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let t = t.strip_prefix(['+', '-']).unwrap_or(t);
    let l = t.to_ascii_lowercase();
    matches!(l.as_str(), "inf" | "infinity" | "nan") || t.replace('_', "").parse::<f64>().is_ok()
}

/// Text for a message: at most 40 characters.
pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() <= 40 {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(37).collect();
        t.push_str("...");
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python2_escapes() {
        let d = |s: &[u8]| python2_string(s).unwrap().unwrap();
        assert_eq!(d(b"'os'"), "os");
        assert_eq!(d(b"\"o\\x73\""), "os");
        assert_eq!(d(b"'\\157\\163'"), "os");
        assert_eq!(d(b"'a\\'b'"), "a'b");
        assert_eq!(d(b"'\\q'"), "\\q");
        assert_eq!(d(b"'\\7a'"), "\u{7}a");
        assert!(python2_string(b"os").is_err());
        assert!(python2_string(b"'os\"").is_err());
        assert!(python2_string(b"'\\x7'").is_err());
        assert!(python2_string(b"'\\xzz'").is_err());
        assert!(python2_string(b"'").is_err());
        let long = [b"'".as_slice(), &[b'a'; MAX_STR + 1], b"'"].concat();
        assert_eq!(python2_string(&long).unwrap(), None);
    }

    #[test]
    fn raw_unicode_escapes() {
        let d = |s: &[u8]| raw_unicode_escape(s).unwrap().unwrap();
        assert_eq!(d(b"os"), "os");
        assert_eq!(d(b"\\u006fs"), "os");
        assert_eq!(d(b"\\U0000006fs"), "os");
        // An even run of backslashes escapes nothing.
        assert_eq!(d(b"\\\\u006f"), "\\\\u006f");
        assert_eq!(d(b"\\\\\\u006f"), "\\\\o");
        assert_eq!(d(b"\\x41"), "\\x41");
        assert_eq!(d(b"caf\xe9"), "caf\u{e9}");
        assert!(raw_unicode_escape(b"\\u12").is_err());
        assert!(raw_unicode_escape(b"\\U00110000").is_err());
        assert_eq!(d(b"\\ud800"), "\u{fffd}");
    }

    #[test]
    fn utf8_with_surrogates() {
        assert_eq!(utf8_surrogatepass(b"os").unwrap(), "os");
        assert_eq!(utf8_surrogatepass(b"a\xed\xa0\x80b").unwrap(), "a\u{fffd}b");
        assert!(utf8_surrogatepass(b"a\xffb").is_err());
        assert!(utf8_surrogatepass(b"\xc3").is_err());
    }

    #[test]
    fn ints() {
        assert_eq!(int_text(b"12"), Ok(Some(12)));
        assert_eq!(int_text(b" -7 "), Ok(Some(-7)));
        assert_eq!(int_text(b"0x10"), Ok(Some(16)));
        assert_eq!(int_text(b"1_000"), Ok(Some(1000)));
        assert_eq!(int_text(b"00"), Ok(Some(0)));
        assert_eq!(int_text(b"010"), Ok(None));
        assert_eq!(int_text(b"99999999999999999999999"), Ok(None));
        assert!(int_text(b"").is_err());
        assert!(int_text(b"1__0").is_err());
        assert!(int_text(b"_1").is_err());
        assert!(int_text(b"abc").is_err());
        assert!(int_text(b"1.5").is_err());
        assert_eq!(decimal_text(b"010"), Ok(Some(10)));
        assert_eq!(decimal_text(b" 7"), Ok(Some(7)));
        assert_eq!(decimal_text(b"-1"), Ok(Some(-1)));
        assert!(decimal_text(b"0x10").is_err());
        assert!(decimal_text(b"").is_err());
        assert!(is_float_text(b"1.5"));
        assert!(is_float_text(b"-inf"));
        assert!(is_float_text(b"1e+300"));
        assert!(!is_float_text(b"x"));
    }
}
