//! Check rules of national identity numbers, on digit values (0..=9). Each function validates
//! one scheme's structure and check digit(s); callers decide which formats reach it.

use crate::luhn::luhn_digits;

/// Dutch BSN (8 digits get an implied leading zero): 9·d1 + … + 2·d8 − d9 ≡ 0 (mod 11).
pub(crate) fn bsn(d: &[u8]) -> bool {
    let mut v = [0u8; 9];
    match d.len() {
        9 => v.copy_from_slice(d),
        8 => v[1..].copy_from_slice(d),
        _ => return false,
    }
    let sum: i32 = v
        .iter()
        .take(8)
        .zip((2..=9).rev())
        .map(|(&x, w)| i32::from(x) * w)
        .sum::<i32>()
        - i32::from(v[8]);
    sum != 0 && sum.rem_euclid(11) == 0
}

/// Canadian SIN: 9 digits, Luhn, not starting with 0 or 8.
pub(crate) fn ca_sin(d: &[u8]) -> bool {
    d.len() == 9 && !matches!(d[0], 0 | 8) && luhn_values(d)
}

/// Portuguese NIF: 9 digits, mod 11 check digit (10 and 11 become 0).
pub(crate) fn pt_nif(d: &[u8]) -> bool {
    if d.len() != 9 || d[0] == 0 {
        return false;
    }
    let sum: u32 = d
        .iter()
        .take(8)
        .zip((2..=9).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    let check = match 11 - sum % 11 {
        10 | 11 => 0,
        c => c,
    };
    check == u32::from(d[8])
}

/// German tax id with the BZSt digit structure as well as its check digit: in the first ten
/// digits exactly one occurs twice or three times and the others at most once. Used where no
/// context word vouches for the number.
pub(crate) fn de_steuer_id_strict(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &x in &d[..10] {
        if let Some(c) = counts.get_mut(usize::from(x)) {
            *c += 1;
        }
    }
    counts.iter().filter(|&&c| c >= 2).count() == 1
        && counts.iter().all(|&c| c <= 3)
        && de_steuer_id(d)
}

/// German tax id (Steuer-IdNr): 11 digits, ISO 7064 MOD 11,10, not starting with 0.
pub(crate) fn de_steuer_id(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] == 0 {
        return false;
    }
    let mut product = 10u32;
    for &x in &d[..10] {
        let mut sum = (u32::from(x) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = match 11 - product {
        10 => 0,
        c => c,
    };
    check == u32::from(d[10])
}

/// Polish PESEL: 11 digits, weights 1-3-7-9, month encodes the century (+20, +40 ...).
pub(crate) fn pl_pesel(d: &[u8]) -> bool {
    if d.len() != 11 {
        return false;
    }
    let month = (num(&d[2..4]) % 20) as u8;
    let day = num(&d[4..6]) as u8;
    let sum: u32 = d
        .iter()
        .take(10)
        .zip([1u32, 3, 7, 9].iter().cycle())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    valid_date(day, month) && (10 - sum % 10) % 10 == u32::from(d[10])
}

/// French NIR (INSEE): 13 digits starting 1, 2, 7 or 8, and a key 97 − (body mod 97).
pub(crate) fn fr_nir(d: &[u8]) -> bool {
    d.len() == 15 && matches!(d[0], 1 | 2 | 7 | 8) && 97 - num(&d[..13]) % 97 == num(&d[13..])
}

/// Belgian national register number: YYMMDD + 3 digits + 97 − (body mod 97), with 2 000 000 000
/// added to the body for births from 2000.
pub(crate) fn be_nrn(d: &[u8]) -> bool {
    if d.len() != 11 || num(&d[2..4]) > 12 || num(&d[4..6]) > 31 {
        return false;
    }
    let body = num(&d[..9]);
    let check = num(&d[9..]);
    97 - body % 97 == check || 97 - (2_000_000_000 + body) % 97 == check
}

/// Swedish personnummer YYMMDDNNNC (or with the century, 12 digits): date, Luhn over 10.
pub(crate) fn se_pnr(d: &[u8]) -> bool {
    let d = match d.len() {
        10 => d,
        12 if matches!(num(&d[..2]), 18..=20) => &d[2..],
        _ => return false,
    };
    let day = num(&d[4..6]) as u8;
    // Co-ordination numbers add 60 to the day.
    let day = if day > 60 { day - 60 } else { day };
    valid_date(day, num(&d[2..4]) as u8) && luhn_values(d)
}

/// Czech / Slovak birth number YYMMDDNNNC: month +50 for women (+20 / +70 since 2004), the
/// whole number divisible by 11.
pub(crate) fn cz_birth_number(d: &[u8]) -> bool {
    if d.len() != 10 {
        return false;
    }
    let month = (num(&d[2..4]) % 50) as u8;
    let month = if month > 20 { month - 20 } else { month };
    valid_date(num(&d[4..6]) as u8, month) && num(d) % 11 == 0
}

/// Swiss AHV/AVS number: 13 digits starting 756, EAN-13 check digit.
pub(crate) fn ch_ahv(d: &[u8]) -> bool {
    if d.len() != 13 || d[..3] != [7, 5, 6] {
        return false;
    }
    let sum: u32 = d[..12]
        .iter()
        .enumerate()
        .map(|(i, &x)| u32::from(x) * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(d[12])
}

/// Danish CPR / Norwegian birth number written DDMMYY-NNNN: only the date can be checked.
pub(crate) fn ddmmyy_serial(d: &[u8]) -> bool {
    d.len() == 10 && valid_date(num(&d[..2]) as u8, num(&d[2..4]) as u8)
}

/// Spanish DNI (8 digits) or NIE (X/Y/Z + 7 digits): check letter from the number mod 23.
pub(crate) fn es_dni(number: u32, letter: u8) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    LETTERS.get((number % 23) as usize) == Some(&letter.to_ascii_uppercase())
}

/// Irish PPS number: 7 digits, a check letter and an optional second letter.
pub(crate) fn ie_pps(d: &[u8], check: u8, second: Option<u8>) -> bool {
    const LETTERS: &[u8; 23] = b"WABCDEFGHIJKLMNOPQRSTUV";
    if d.len() != 7 {
        return false;
    }
    let mut sum: u32 = d
        .iter()
        .zip((2..=8).rev())
        .map(|(&x, w)| u32::from(x) * w)
        .sum();
    if let Some(s) = second {
        let s = s.to_ascii_uppercase();
        sum += 9 * match s {
            b'W' => 0,
            b'A'..=b'I' => u32::from(s - b'A') + 1,
            _ => return false,
        };
    }
    LETTERS.get((sum % 23) as usize) == Some(&check.to_ascii_uppercase())
}

/// Finnish HETU DDMMYY?NNNC: date, check char from DDMMYYNNN mod 31.
pub(crate) fn fi_hetu(d: &[u8], check: u8) -> bool {
    const CHARS: &[u8; 31] = b"0123456789ABCDEFHJKLMNPRSTUVWXY";
    d.len() == 9
        && valid_date(num(&d[..2]) as u8, num(&d[2..4]) as u8)
        && CHARS.get((num(d) % 31) as usize) == Some(&check.to_ascii_uppercase())
}

fn luhn_values(d: &[u8]) -> bool {
    luhn_digits(d.iter().map(|&x| x + b'0'))
}

/// The digits as a number (callers pass at most 19 digits).
pub(crate) fn num(d: &[u8]) -> u64 {
    d.iter()
        .fold(0u64, |a, &x| a.wrapping_mul(10).wrapping_add(u64::from(x)))
}

fn valid_date(day: u8, month: u8) -> bool {
    (1..=31).contains(&day) && (1..=12).contains(&month)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<u8> {
        s.bytes().map(|b| b - b'0').collect()
    }

    // Reference values were computed independently (Python) from the published algorithms.
    #[test]
    fn checks_accept_valid_and_reject_changed_numbers() {
        type Check = fn(&[u8]) -> bool;
        let cases: &[(Check, &str, &str)] = &[
            (bsn, "111222333", "111222334"),
            (bsn, "12345672", "12345673"),
            (ca_sin, "130692544", "130692545"),
            (pt_nif, "501964843", "501964844"),
            (de_steuer_id, "86095742719", "86095742718"),
            (de_steuer_id_strict, "86095742719", "86095742718"),
            (pl_pesel, "44051401359", "44051401358"),
            (fr_nir, "255081416802538", "255081416802539"),
            (be_nrn, "85073003328", "85073003329"),
            (be_nrn, "17073003384", "17073003385"),
            (se_pnr, "8112289874", "8112289875"),
            (se_pnr, "198112289874", "198112289875"),
            (cz_birth_number, "7103192745", "7103192746"),
            (ch_ahv, "7569217076985", "7569217076986"),
            (ddmmyy_serial, "0101801234", "3201801234"),
        ];
        for (f, good, bad) in cases {
            assert!(f(&d(good)), "{good}");
            assert!(!f(&d(bad)), "{bad}");
        }
    }

    #[test]
    fn steuer_id_structure() {
        // Valid check digit, but 8 occurs four times in the first ten digits.
        assert!(de_steuer_id(&d("88018979586")));
        assert!(!de_steuer_id_strict(&d("88018979586")));
    }

    #[test]
    fn letter_checks() {
        assert!(es_dni(12345678, b'Z'));
        assert!(es_dni(87654321, b'x'));
        assert!(!es_dni(12345678, b'A'));
        // NIE X1234567L: X counts as 0.
        assert!(es_dni(1234567, b'L'));
        assert!(ie_pps(&d("1234567"), b'T', None));
        assert!(ie_pps(&d("1234567"), b'F', Some(b'A')));
        assert!(!ie_pps(&d("1234567"), b'A', None));
        assert!(fi_hetu(&d("131052308"), b'T'));
        assert!(!fi_hetu(&d("131052308"), b'U'));
    }
}
