//! National identity numbers.
//!
//! Recognised on their own, by a distinctive written form plus their check rule: US SSN
//! (123-45-6789), UK NI number (AB 12 34 56 C), Spanish DNI/NIE (12345678Z), Irish PPS
//! (1234567T), Finnish HETU (131052-308T), Swedish personnummer (811228-9874), Czech birth
//! number (710319/2745), Belgian register number (85.07.30-033.28), Swiss AHV
//! (756.9217.0769.85), French NIR (2 55 08 14 168 025 38), German tax id (86 095 742 719),
//! Dutch BSN (1234.56.782).
//!
//! After an identity keyword ("ID", "SSN", "BSN", "tax id", "DNI" ...) also in plain digits:
//! the above plus Canadian SIN, Portuguese NIF, Polish PESEL, Danish/Norwegian DDMMYY-NNNN and
//! passport-style numbers (two letters and seven digits).

mod codice_fiscale;
mod nino;
mod passport;
mod schemes;
mod ssn;

use regex::Regex;

pub use nino::nino_valid;
pub use ssn::ssn_valid;

use crate::candidate::{Gap, Sub};
use crate::keyword::{keyword_before, Keyword};
use crate::span::{PiiKind, PiiSpan};

/// Dutch BSN: 9 digits (8 with an implied leading zero), dots, spaces and dashes ignored,
/// eleven-check 9·d1 + 8·d2 + … + 2·d8 − d9 ≡ 0 (mod 11), not all zeros.
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
    schemes::bsn(&d[..n])
}

/// Numeric identity numbers inside a numeric run (see the module docs).
pub(crate) fn is_national_id(sub: &Sub<'_>) -> bool {
    if !sub.free_standing() || sub.plus || sub.any_paren() {
        return false;
    }
    let mut buf = [0u8; 19];
    let mut n = 0;
    for (slot, b) in buf.iter_mut().zip(sub.digits()) {
        *slot = b.wrapping_sub(b'0');
        n += 1;
    }
    let d = &buf[..n];
    let mut gaps = sub.gaps();
    let first_gap = gaps.next();
    let uniform = first_gap.is_none_or(|g| gaps.all(|x| x == g));
    let gap = |i: usize| sub.groups.get(i).map(|g| g.gap);
    let all = |g: Gap| uniform && first_gap == Some(g);

    // Distinctive written forms, valid without a keyword.
    let shaped = (sub.lens_are(&[3, 2, 4])
        && uniform
        && matches!(first_gap, Some(Gap::Dash | Gap::Space | Gap::Dot))
        && ssn::ssn_parts_valid(d))
        || (sub.lens_are(&[2, 2, 2, 3, 2])
            && (gap(1), gap(2), gap(3), gap(4))
                == (
                    Some(Gap::Dot),
                    Some(Gap::Dot),
                    Some(Gap::Dash),
                    Some(Gap::Dot),
                )
            && schemes::be_nrn(d))
        || (sub.lens_are(&[3, 4, 4, 2]) && all(Gap::Dot) && schemes::ch_ahv(d))
        || ((sub.lens_are(&[6, 4]) || sub.lens_are(&[8, 4]))
            && all(Gap::Dash)
            && schemes::se_pnr(d))
        || (sub.lens_are(&[6, 4]) && all(Gap::Slash) && schemes::cz_birth_number(d))
        || (sub.lens_are(&[1, 2, 2, 2, 3, 3, 2])
            && (all(Gap::Space) || all(Gap::Dot))
            && schemes::fr_nir(d))
        || (sub.lens_are(&[13, 2]) && all(Gap::Space) && schemes::fr_nir(d))
        || (sub.lens_are(&[6, 3, 2]) && (all(Gap::Space) || all(Gap::Dash)) && schemes::be_nrn(d))
        || (sub.lens_are(&[2, 3, 3, 3]) && all(Gap::Space) && schemes::de_steuer_id(d))
        || (sub.lens_are(&[4, 2, 3]) && all(Gap::Dot) && schemes::bsn(d));
    if shaped {
        return true;
    }
    let plain = sub.groups.len() == 1;
    let three_by_three = sub.lens_are(&[3, 3, 3]) && uniform;
    match sub.keyword {
        Keyword::Ssn => return plain && ssn::ssn_parts_valid(d),
        Keyword::Bsn => return (plain || three_by_three) && schemes::bsn(d),
        Keyword::Id => {}
        // Without a context word only the schemes whose check covers a date or a structure
        // as well as a check digit (PESEL, Steuer-ID, Belgian NRN: 11 digits; NIR: 15):
        // about 4 in 100 random 11-digit strings pass, so a reference word still vetoes.
        Keyword::None => {
            return plain
                && match d.len() {
                    11 => {
                        schemes::de_steuer_id_strict(d)
                            || schemes::pl_pesel(d)
                            || schemes::be_nrn(d)
                    }
                    15 => schemes::fr_nir(d),
                    _ => false,
                }
        }
        _ => return false,
    }
    match d.len() {
        8 => plain && schemes::bsn(d),
        9 => {
            ((plain || three_by_three) && schemes::bsn(d))
                || (plain && ssn::ssn_parts_valid(d))
                || ((plain || three_by_three) && (schemes::ca_sin(d) || schemes::pt_nif(d)))
        }
        10 => {
            (plain && (schemes::se_pnr(d) || schemes::cz_birth_number(d)))
                || (sub.lens_are(&[6, 4]) && all(Gap::Dash) && schemes::ddmmyy_serial(d))
        }
        11 => plain && (schemes::de_steuer_id(d) || schemes::pl_pesel(d) || schemes::be_nrn(d)),
        12 => plain && schemes::se_pnr(d),
        13 => plain && schemes::ch_ahv(d),
        15 => plain && schemes::fr_nir(d),
        _ => false,
    }
}

/// Identity numbers that contain letters, found by pattern and then checked.
pub(crate) struct IdFinder {
    re: Regex,
    passports: passport::PassportFinder,
}

impl IdFinder {
    pub(crate) fn new() -> Self {
        let re = Regex::new(
            r"(?x-u)
            \b(?:
                [A-Za-z]{2}\ ?[0-9]{2}\ ?[0-9]{2}\ ?[0-9]{2}\ ?[A-Da-d]   # UK NI number
              | [0-9]{8}[-\ ]?[A-Za-z]                                    # ES DNI
              | [0-9]{2}\.[0-9]{3}\.[0-9]{3}-?[A-Za-z]                     # ES DNI, dotted
              | [XYZxyz]-?[0-9]{7}-?[A-Za-z]                              # ES NIE
              | [0-9]{7}[A-Wa-w][A-IWa-iw]?                               # IE PPS
              | [0-9]{6}[-+A-FU-Ya-fu-y][0-9]{3}[0-9A-Ya-y]               # FI HETU
              | [A-Z]{2}[0-9]{7}                                          # passport-style
              | [A-Za-z]{6}[0-9LMNPQRSTUVlmnpqrstuv]{2}[A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{2}
                [A-Za-z][0-9LMNPQRSTUVlmnpqrstuv]{3}[A-Za-z]              # IT codice fiscale
              | PT[0-9]{9}                                                # PT NIF, VAT form
            )\b",
        )
        .expect("constant identity number pattern");
        Self {
            re,
            passports: passport::PassportFinder::new(),
        }
    }

    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        self.passports.find(text, out);
        for m in self.re.find_iter(text) {
            let ok = match id_token(m.as_str().as_bytes()) {
                Some(IdToken::Passport) => keyword_before(text, m.start()).is_identity(),
                Some(_) => true,
                None => false,
            };
            if ok {
                out.push(PiiSpan {
                    kind: PiiKind::NationalId,
                    start: m.start(),
                    end: m.end(),
                });
            }
        }
    }
}

/// The scheme of a token matched by [`IdFinder`]'s pattern, when its check passes (passports
/// have no check; the caller wants a keyword for them).
#[derive(Debug, PartialEq, Eq)]
enum IdToken {
    Nino,
    Dni,
    Pps,
    Hetu,
    Passport,
    CodiceFiscale,
    Nif,
}

fn id_token(tok: &[u8]) -> Option<IdToken> {
    if tok.len() == 16 {
        return codice_fiscale::valid(tok).then_some(IdToken::CodiceFiscale);
    }
    // Only "PT" and nine digits is the NIF's VAT form: a UK NI number may start with PT too.
    if let Some(nif) = tok
        .strip_prefix(b"PT")
        .filter(|n| n.len() == 9 && n.iter().all(u8::is_ascii_digit))
    {
        let mut d = [0u8; 9];
        for (slot, b) in d.iter_mut().zip(nif) {
            *slot = b.wrapping_sub(b'0');
        }
        return (nif.len() == 9 && schemes::pt_nif(&d)).then_some(IdToken::Nif);
    }
    let mut digits = [0u8; 12];
    let mut nd = 0;
    for &b in tok.iter().filter(|b| b.is_ascii_digit()) {
        *digits.get_mut(nd)? = b - b'0';
        nd += 1;
    }
    let digits = &digits[..nd];
    let number = schemes::num(digits.get(..8.min(nd))?) as u32;
    let last = *tok.last()?;
    let first = *tok.first()?;
    if first.is_ascii_alphabetic() {
        if tok.get(1).is_some_and(u8::is_ascii_alphabetic) {
            // "AB 12 34 56 C" or "AB1234567".
            return if last.is_ascii_alphabetic() {
                nino_valid(std::str::from_utf8(tok).ok()?).then_some(IdToken::Nino)
            } else {
                Some(IdToken::Passport)
            };
        }
        // NIE "X-1234567-L": X, Y, Z stand for a leading 0, 1, 2.
        let prefix = u32::from(first.to_ascii_uppercase().checked_sub(b'X')?) * 10_000_000;
        return schemes::es_dni(prefix + number, last).then_some(IdToken::Dni);
    }
    if nd == 8 && last.is_ascii_alphabetic() {
        // DNI "12345678Z", "12345678 Z", "12.345.678-Z".
        return schemes::es_dni(number, last).then_some(IdToken::Dni);
    }
    let lead = tok.iter().take_while(|b| b.is_ascii_digit()).count();
    match lead {
        // DNI "12345678Z" / "12345678-Z".
        8 => schemes::es_dni(number, last).then_some(IdToken::Dni),
        // PPS "1234567T" / "1234567TW".
        7 => match tok.get(7..)? {
            [check] => schemes::ie_pps(digits, *check, None),
            [check, second] => schemes::ie_pps(digits, *check, Some(*second)),
            _ => false,
        }
        .then_some(IdToken::Pps),
        // HETU "131052-308T": date, century sign, serial, check char (a digit or a letter).
        6 => {
            let serial = digits.get(..9)?;
            schemes::fi_hetu(serial, last).then_some(IdToken::Hetu)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bsn_public_validator() {
        assert!(bsn_valid("111222333"));
        assert!(bsn_valid("1234.56.782"));
        assert!(bsn_valid("12345672"));
        assert!(!bsn_valid("123456789"));
        assert!(!bsn_valid("000000000"));
        assert!(!bsn_valid("12345678a"));
        assert!(!bsn_valid("1234567"));
    }

    #[test]
    fn a_ni_number_with_the_portuguese_prefix_is_not_taken_for_a_nif() {
        // Found by a chaos run: "PT" + digits was read as the NIF's VAT form and rejected.
        let found = |text: &str| {
            let mut out = Vec::new();
            IdFinder::new().find(text, &mut out);
            out.iter()
                .map(|s| &text[s.start..s.end])
                .collect::<Vec<_>>()
                .join("|")
        };
        assert_eq!(found("ID no. PT 96 71 07 C"), "PT 96 71 07 C");
        assert_eq!(found("DNI/ID PT131143C"), "PT131143C");
        assert_eq!(found("ID PT 74 49 49 A verification"), "PT 74 49 49 A");
        // The NIF's VAT form still needs its check digit.
        assert_eq!(found("NIF PT501964843"), "PT501964843");
        assert_eq!(found("NIF PT501964842"), "");
    }
}
