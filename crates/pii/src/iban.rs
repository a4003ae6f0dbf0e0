//! IBAN validation (ISO 13616, mod 97-10) and detection in free text.

use regex::Regex;

use crate::span::{PiiKind, PiiSpan};

/// Longest IBAN in the registry (Russia: 33) rounded up to the ISO maximum.
const MAX_LEN: usize = 34;

/// IBAN length per country (SWIFT IBAN registry), sorted by country code for binary search.
const LENGTHS: &[([u8; 2], u8)] = &[
    (*b"AD", 24),
    (*b"AE", 23),
    (*b"AL", 28),
    (*b"AT", 20),
    (*b"AZ", 28),
    (*b"BA", 20),
    (*b"BE", 16),
    (*b"BG", 22),
    (*b"BH", 22),
    (*b"BI", 27),
    (*b"BR", 29),
    (*b"BY", 28),
    (*b"CH", 21),
    (*b"CR", 22),
    (*b"CY", 28),
    (*b"CZ", 24),
    (*b"DE", 22),
    (*b"DJ", 27),
    (*b"DK", 18),
    (*b"DO", 28),
    (*b"EE", 20),
    (*b"EG", 29),
    (*b"ES", 24),
    (*b"FI", 18),
    (*b"FK", 18),
    (*b"FO", 18),
    (*b"FR", 27),
    (*b"GB", 22),
    (*b"GE", 22),
    (*b"GI", 23),
    (*b"GL", 18),
    (*b"GR", 27),
    (*b"GT", 28),
    (*b"HN", 28),
    (*b"HR", 21),
    (*b"HU", 28),
    (*b"IE", 22),
    (*b"IL", 23),
    (*b"IQ", 23),
    (*b"IS", 26),
    (*b"IT", 27),
    (*b"JO", 30),
    (*b"KW", 30),
    (*b"KZ", 20),
    (*b"LB", 28),
    (*b"LC", 32),
    (*b"LI", 21),
    (*b"LT", 20),
    (*b"LU", 20),
    (*b"LV", 21),
    (*b"LY", 25),
    (*b"MC", 27),
    (*b"MD", 24),
    (*b"ME", 22),
    (*b"MK", 19),
    (*b"MN", 20),
    (*b"MR", 27),
    (*b"MT", 31),
    (*b"MU", 30),
    (*b"NI", 28),
    (*b"NL", 18),
    (*b"NO", 15),
    (*b"OM", 23),
    (*b"PK", 24),
    (*b"PL", 28),
    (*b"PS", 29),
    (*b"PT", 25),
    (*b"QA", 29),
    (*b"RO", 24),
    (*b"RS", 22),
    (*b"RU", 33),
    (*b"SA", 24),
    (*b"SC", 31),
    (*b"SD", 18),
    (*b"SE", 24),
    (*b"SI", 19),
    (*b"SK", 24),
    (*b"SM", 27),
    (*b"SO", 23),
    (*b"ST", 25),
    (*b"SV", 28),
    (*b"TL", 23),
    (*b"TN", 24),
    (*b"TR", 26),
    (*b"UA", 29),
    (*b"VA", 22),
    (*b"VG", 24),
    (*b"XK", 20),
    (*b"YE", 30),
];

/// Expected IBAN length for an upper-case ISO 3166 country code, if the country uses IBANs.
pub(crate) fn country_length(cc: [u8; 2]) -> Option<usize> {
    LENGTHS
        .binary_search_by(|(c, _)| c.cmp(&cc))
        .ok()
        .and_then(|i| LENGTHS.get(i))
        .map(|&(_, len)| usize::from(len))
}

/// Country codes with an IBAN format, for tests and generators.
pub fn iban_countries() -> impl Iterator<Item = (&'static str, usize)> {
    LENGTHS.iter().map(|(cc, len)| {
        // The table holds ASCII upper-case letters only.
        let s = std::str::from_utf8(cc).unwrap_or("??");
        (s, usize::from(*len))
    })
}

/// Returns `true` when `s` is a valid IBAN: known country, the registry length for that country,
/// alphanumeric, and mod 97 == 1. Spaces are ignored; letters may be in any case.
pub fn iban_valid(s: &str) -> bool {
    let mut buf = [0u8; MAX_LEN];
    let mut len = 0;
    for b in s.bytes() {
        if b == b' ' {
            continue;
        }
        if !b.is_ascii_alphanumeric() || len == MAX_LEN {
            return false;
        }
        buf[len] = b.to_ascii_uppercase();
        len += 1;
    }
    normalized_valid(&buf[..len])
}

/// Validates an IBAN already stripped of separators and upper-cased.
fn normalized_valid(iban: &[u8]) -> bool {
    let [c0, c1, k0, k1, ..] = *iban else {
        return false;
    };
    if !c0.is_ascii_uppercase()
        || !c1.is_ascii_uppercase()
        || !k0.is_ascii_digit()
        || !k1.is_ascii_digit()
    {
        return false;
    }
    if country_length([c0, c1]) != Some(iban.len()) {
        return false;
    }
    mod97(iban.iter().skip(4).chain(iban.iter().take(4)).copied()) == Some(1)
}

/// ISO 7064 mod 97-10 over alphanumerics (letters count as 10..=35); `None` on other bytes.
pub(crate) fn mod97(chars: impl Iterator<Item = u8>) -> Option<u32> {
    let mut r = 0u32;
    for c in chars {
        r = match c {
            b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
            b'A'..=b'Z' => (r * 100 + u32::from(c - b'A') + 10) % 97,
            b'a'..=b'z' => (r * 100 + u32::from(c - b'a') + 10) % 97,
            _ => return None,
        };
    }
    Some(r)
}

pub(crate) struct IbanFinder {
    start: Regex,
}

impl IbanFinder {
    pub(crate) fn new() -> Self {
        Self {
            // Two letters and two check digits at a word start; the rest is walked by hand so
            // the country length decides where the IBAN ends.
            start: Regex::new(r"(?i-u)\b[a-z]{2}[0-9]{2}").expect("constant IBAN start pattern"),
        }
    }

    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        let bytes = text.as_bytes();
        let mut next_allowed = 0;
        for m in self.start.find_iter(text) {
            if m.start() < next_allowed {
                continue;
            }
            if let Some(end) = walk(bytes, m.start()) {
                out.push(PiiSpan {
                    kind: PiiKind::Iban,
                    start: m.start(),
                    end,
                });
                next_allowed = end;
            }
        }
    }
}

/// Walks an IBAN candidate starting at `start` (country code), allowing one space or dash
/// between characters, and returns its end offset when it has exactly the country length,
/// ends at a word boundary and passes mod 97.
fn walk(bytes: &[u8], start: usize) -> Option<usize> {
    let cc = [
        bytes.get(start)?.to_ascii_uppercase(),
        bytes.get(start + 1)?.to_ascii_uppercase(),
    ];
    let want = country_length(cc)?;
    let mut buf = [0u8; MAX_LEN];
    let mut n = 0;
    let mut i = start;
    while n < want {
        match bytes.get(i) {
            Some(b) if b.is_ascii_alphanumeric() => {
                buf[n] = b.to_ascii_uppercase();
                n += 1;
                i += 1;
            }
            Some(b' ' | b'-')
                if n >= 4 && bytes.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) =>
            {
                i += 1;
            }
            _ => return None,
        }
    }
    if bytes.get(i).is_some_and(u8::is_ascii_alphanumeric) {
        return None;
    }
    normalized_valid(&buf[..n]).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(LENGTHS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn valid_ibans() {
        for s in [
            "GB82WEST12345698765432",
            "GB82 WEST 1234 5698 7654 32",
            "gb82 west 1234 5698 7654 32",
            "DE89370400440532013000",
            "FR1420041010050500013M02606",
            "NL91ABNA0417164300",
            "BE68539007547034",
            "NO9386011117947",
            "MT84MALT011000012345MTLCAST001S",
        ] {
            assert!(iban_valid(s), "{s}");
        }
    }

    #[test]
    fn invalid_ibans() {
        for s in [
            "GB82WEST12345698765433",      // checksum
            "GB83WEST12345698765432",      // check digits
            "GB82WEST1234569876543",       // length for GB
            "XX82WEST12345698765432",      // unknown country
            "DE89-3704-0044-0532-0130-00", // dashes are not ignored
            "DE8937040044053201300é",
            "",
            "GB",
            "1282WEST12345698765432",
        ] {
            assert!(!iban_valid(s), "{s}");
        }
    }

    #[test]
    fn walk_stops_at_country_length() {
        let t = "IBAN GB82 WEST 1234 5698 7654 32 ref 7";
        assert_eq!(walk(t.as_bytes(), 5), Some(32));
        let t = "GB82WEST12345698765432X";
        assert_eq!(walk(t.as_bytes(), 0), None);
    }
}
