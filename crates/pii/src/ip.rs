//! IP addresses (RFC 791 dotted quads, RFC 4291 / 5952 IPv6 text forms). An address in a
//! description is a device or session identifier of the customer (GDPR recital 30).
//!
//! IPv4: four decimal octets 0–255 joined by dots, free-standing (not part of a longer dotted
//! run such as "611.408.515.416" or "1.2.3.4.5"), and not after a version word ("version",
//! "build", "firmware", "v"), where "10.0.19045.3930"-like strings are version numbers.
//! IPv6: a run of hex digits and colons with at least two colons that the standard library
//! parses as an IPv6 address (so times "12:30:45" and MAC addresses fail).

use std::net::Ipv6Addr;

use crate::fold::fold_char;
use crate::span::{PiiKind, PiiSpan};

/// Words after which a dotted quad is a version number.
const VERSION_WORDS: &[&str] = &["version", "ver", "build", "firmware", "release", "v", "fw"];

/// Finds IPv4 addresses; callers check for a digit first.
pub(crate) fn find_v4(text: &str, out: &mut Vec<PiiSpan>) {
    let b = text.as_bytes();
    if b.iter().filter(|&&c| c == b'.').count() < 3 {
        return;
    }
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && glued(b[i - 1])) {
            i += 1;
            continue;
        }
        let (end, parts, ok) = dotted_run(b, i);
        // A full stop ends the sentence unless a word or number continues after it.
        let continued = match b.get(end) {
            Some(b'.') => b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric),
            Some(&c) => glued(c),
            None => false,
        };
        if ok && parts == 4 && !continued && !after_version_word(text, i) {
            out.push(PiiSpan {
                kind: PiiKind::IpAddress,
                start: i,
                end,
            });
        }
        i = end.max(i + 1);
    }
}

/// A char that makes a digit run part of a longer token.
fn glued(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b':' | b'$' | b'#')
}

/// Reads "d.d.d..." from `start`: its end, the number of parts, and whether every part is
/// an octet without a superfluous leading zero.
fn dotted_run(b: &[u8], start: usize) -> (usize, usize, bool) {
    let (mut i, mut parts, mut ok) = (start, 0, true);
    loop {
        let s = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let part = b.get(s..i).unwrap_or_default();
        let value = part.iter().fold(0u32, |a, &d| {
            a.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        });
        ok &= (1..=3).contains(&part.len()) && value <= 255 && !(part.len() > 1 && part[0] == b'0');
        parts += 1;
        if b.get(i) == Some(&b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit) && parts < 5 {
            i += 1;
        } else {
            return (i, parts, ok);
        }
    }
}

fn after_version_word(text: &str, pos: usize) -> bool {
    let before = text
        .get(..pos)
        .unwrap_or("")
        .trim_end_matches([' ', ':', '#']);
    let word: String = before
        .chars()
        .rev()
        .take_while(|c| c.is_alphabetic())
        .map(fold_char)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    VERSION_WORDS.contains(&word.as_str())
}

/// Cheap check before the IPv6 scan: two colons in the text.
pub(crate) fn may_hold_v6(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter()
        .position(|&c| c == b':')
        .is_some_and(|first| b.get(first + 1..).is_some_and(|r| r.contains(&b':')))
}

/// Finds IPv6 addresses.
pub(crate) fn find_v6(text: &str, out: &mut Vec<PiiSpan>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !(b[i].is_ascii_hexdigit() || b[i] == b':')
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b':'))
        {
            i += 1;
            continue;
        }
        let mut end = i;
        while b
            .get(end)
            .is_some_and(|&c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            end += 1;
        }
        // A trailing '.' or ':' ends the sentence, not the address.
        while end > i && matches!(b[end - 1], b'.') {
            end -= 1;
        }
        let token = text.get(i..end).unwrap_or("");
        let colons = token.bytes().filter(|&c| c == b':').count();
        let free = !b.get(end).is_some_and(|c| c.is_ascii_alphanumeric());
        if colons >= 2 && free && token.parse::<Ipv6Addr>().is_ok() && has_hex_group(token) {
            out.push(PiiSpan {
                kind: PiiKind::IpAddress,
                start: i,
                end,
            });
        }
        i = end.max(i + 1);
    }
}

/// Not a bare "::" or a run of decimal clock-like groups.
fn has_hex_group(token: &str) -> bool {
    token.split(':').filter(|g| !g.is_empty()).count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        find_v4(text, &mut out);
        if may_hold_v6(text) {
            find_v6(text, &mut out);
        }
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn v4() {
        assert_eq!(found("login from 81.2.69.160, blocked"), ["81.2.69.160"]);
        assert_eq!(found("IP: 10.0.0.1."), ["10.0.0.1"]);
        assert!(found("version 1.2.3.4").is_empty());
        assert!(found("build 10.0.190.39").is_empty());
        assert!(found("Batch 611.408.515.416").is_empty());
        assert!(found("1.2.3.4.5 and 1.2.3 and 01.2.3.4").is_empty());
        assert!(found("total 1.234.567,89").is_empty());
    }

    #[test]
    fn v6() {
        assert_eq!(
            found("ip 2001:db8:85a3::8a2e:370:7334 x"),
            ["2001:db8:85a3::8a2e:370:7334"]
        );
        assert_eq!(found("from FE80::1:2:3:4."), ["FE80::1:2:3:4"]);
        assert!(found("at 12:30:45 and 00:1A:2B:3C:4D:5E").is_empty());
    }
}
