//! National identifiers: US Social Security numbers, UK National Insurance numbers and Dutch
//! citizen service numbers (BSN, eleven-check).

use regex::Regex;

use crate::numeric::{Gap, Keyword, Sub};
use crate::{PiiKind, PiiSpan};

/// Words after which a plain nine-digit string is read as an SSN.
pub(crate) const SSN_KEYWORDS: &[&str] = &["ssn", "security", "ssa"];
/// Words after which a nine-digit string is read as a BSN.
pub(crate) const BSN_KEYWORDS: &[&str] = &["bsn", "burgerservicenummer", "sofinummer", "sofi"];

/// US SSN "123-45-6789", "123 45 6789" or "123456789": area not 000, 666 or 900–999, group
/// not 00, serial not 0000.
pub fn ssn_valid(s: &str) -> bool {
    let mut d = [0u8; 9];
    let mut n = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' if n < 9 => {
                d[n] = b - b'0';
                n += 1;
            }
            b'-' | b' ' if n == 3 || n == 5 => {}
            _ => return false,
        }
    }
    n == 9 && ssn_parts_valid(&d)
}

fn ssn_parts_valid(d: &[u8; 9]) -> bool {
    let num = |r: std::ops::Range<usize>| {
        d.get(r)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |a, &x| a * 10 + u32::from(x))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Dutch BSN: 9 digits (8 with an implied leading zero), dots/spaces ignored, eleven-check
/// 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11), not all zeros.
pub fn bsn_valid(s: &str) -> bool {
    let mut d = [0u8; 9];
    let mut n = 0;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' if n < 9 => {
                d[n] = b - b'0';
                n += 1;
            }
            b'.' | b' ' | b'-' => {}
            _ => return false,
        }
    }
    if n == 8 {
        d.copy_within(0..8, 1);
        d[0] = 0;
    } else if n != 9 {
        return false;
    }
    let sum: i32 = d
        .iter()
        .take(8)
        .zip((2..=9).rev())
        .map(|(&x, w)| i32::from(x) * w)
        .sum::<i32>()
        - i32::from(d[8]);
    sum != 0 && sum.rem_euclid(11) == 0
}

/// UK National Insurance number "AB 12 34 56 C": valid prefix letters (no D, F, I, Q, U, V;
/// second letter not O; not BG, GB, KN, NK, NT, TN, ZZ), suffix A–D. Spaces are ignored.
pub fn nino_valid(s: &str) -> bool {
    let mut c = [0u8; 9];
    let mut n = 0;
    for b in s.bytes() {
        if b == b' ' {
            continue;
        }
        if n == 9 {
            return false;
        }
        c[n] = b.to_ascii_uppercase();
        n += 1;
    }
    n == 9
        && c[2..8].iter().all(u8::is_ascii_digit)
        && matches!(c[8], b'A'..=b'D')
        && nino_prefix_valid(c[0], c[1])
}

fn nino_prefix_valid(a: u8, b: u8) -> bool {
    const BAD_FIRST: &[u8] = b"DFIQUV";
    const BAD_SECOND: &[u8] = b"DFIQUVO";
    const BAD_PAIRS: &[&[u8; 2]] = &[b"BG", b"GB", b"KN", b"NK", b"NT", b"TN", b"ZZ"];
    a.is_ascii_uppercase()
        && b.is_ascii_uppercase()
        && !BAD_FIRST.contains(&a)
        && !BAD_SECOND.contains(&b)
        && !BAD_PAIRS.contains(&&[a, b])
}

/// Numeric national ids inside a run: SSN (grouped 3-2-4, or nine digits after "SSN") and BSN
/// (after "BSN").
pub(crate) fn is_national_id(sub: &Sub<'_>) -> bool {
    if !sub.free_standing() || sub.plus || sub.any_paren() {
        return false;
    }
    let mut gaps = sub.gaps();
    let same_gaps = match gaps.next() {
        None => true,
        Some(g) => gaps.all(|x| x == g),
    };
    if !same_gaps {
        return false;
    }
    let digits = || {
        let mut d = [0u8; 9];
        for (slot, b) in d.iter_mut().zip(sub.digits()) {
            *slot = b.wrapping_sub(b'0');
        }
        d
    };
    match sub.keyword {
        Keyword::Bsn => {
            let n = sub.digit_count();
            let shaped = sub.groups.len() == 1 || sub.lens_are(&[4, 2, 3]);
            if shaped && (n == 9 || n == 8) {
                let mut buf = [0u8; 9];
                for (slot, b) in buf.iter_mut().zip(sub.digits()) {
                    *slot = b;
                }
                return std::str::from_utf8(&buf[..n]).is_ok_and(bsn_valid);
            }
            false
        }
        Keyword::Ssn if sub.lens_are(&[9]) => ssn_parts_valid(&digits()),
        _ => {
            sub.lens_are(&[3, 2, 4])
                && matches!(sub.groups[1].gap, Gap::Dash | Gap::Space)
                && ssn_parts_valid(&digits())
        }
    }
}

pub(crate) struct NinoFinder {
    re: Regex,
}

impl NinoFinder {
    pub(crate) fn new() -> Self {
        Self {
            re: Regex::new(r"(?i-u)\b[a-z]{2} ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[a-d]\b")
                .expect("constant NI number pattern"),
        }
    }

    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        for m in self.re.find_iter(text) {
            if nino_valid(m.as_str()) {
                out.push(PiiSpan {
                    kind: PiiKind::NationalId,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn() {
        assert!(ssn_valid("123-45-6789"));
        assert!(ssn_valid("123 45 6789"));
        assert!(ssn_valid("078051121"));
        assert!(!ssn_valid("000-12-3456"));
        assert!(!ssn_valid("666-12-3456"));
        assert!(!ssn_valid("900-12-3456"));
        assert!(!ssn_valid("999-12-3456"));
        assert!(!ssn_valid("123-00-4567"));
        assert!(!ssn_valid("123-45-0000"));
        assert!(!ssn_valid("123-456-789"));
        assert!(!ssn_valid("12345678"));
        assert!(!ssn_valid("1234567890"));
    }

    #[test]
    fn bsn() {
        assert!(bsn_valid("111222333"));
        assert!(bsn_valid("123456782"));
        assert!(bsn_valid("1234.56.782"));
        assert!(bsn_valid("12345672")); // leading zero implied
        assert!(!bsn_valid("12345673"));
        assert!(!bsn_valid("123456789"));
        assert!(!bsn_valid("000000000"));
        assert!(!bsn_valid("12345678a"));
        assert!(!bsn_valid("1234567"));
    }

    #[test]
    fn nino() {
        assert!(nino_valid("AB 12 34 56 C"));
        assert!(nino_valid("ab123456c"));
        assert!(nino_valid("JG103759A"));
        assert!(!nino_valid("GB 12 34 56 C"));
        assert!(!nino_valid("DA 12 34 56 C"));
        assert!(!nino_valid("AO 12 34 56 C"));
        assert!(!nino_valid("AB 12 34 56 E"));
        assert!(!nino_valid("AB 12 34 5 C"));
        assert!(!nino_valid("AB 12 34 56 C D"));
    }
}
