//! Italian codice fiscale (DM 23/12/1976): three letters of the surname, three of the given
//! name, birth year, month letter, day (+40 for women), the municipality's cadastral code
//! (a letter and three digits), and a check letter. In "omocodia" variants the digits are
//! replaced by the letters L M N P Q R S T U V.

/// Value of a char in an odd position (1st, 3rd ... 15th) for the check letter.
const ODD: [u8; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];
/// Month letters A (January) ... T (December).
const MONTHS: &[u8] = b"ABCDEHLMPRST";
/// Omocodia letters standing for 0..=9.
const OMOCODIA: &[u8] = b"LMNPQRSTUV";

/// `tok` (16 ASCII chars, any case) is a codice fiscale with a valid structure and check
/// letter.
pub(crate) fn valid(tok: &[u8]) -> bool {
    let Ok(c) = <[u8; 16]>::try_from(tok) else {
        return false;
    };
    let c = c.map(|b| b.to_ascii_uppercase());
    let digit_slot = |b: u8| b.is_ascii_digit() || OMOCODIA.contains(&b);
    let letters = c[..6].iter().all(u8::is_ascii_uppercase);
    let shape = letters
        && digit_slot(c[6])
        && digit_slot(c[7])
        && MONTHS.contains(&c[8])
        && digit_slot(c[9])
        && digit_slot(c[10])
        && c[11].is_ascii_uppercase()
        && c[12..15].iter().all(|&b| digit_slot(b))
        && c[15].is_ascii_uppercase();
    if !shape {
        return false;
    }
    let day = value(c[9]) * 10 + value(c[10]);
    if !(1..=31).contains(&(day % 40)) || (32..=40).contains(&day) || day > 71 {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in c[..15].iter().enumerate() {
        let v = if b.is_ascii_digit() {
            b - b'0'
        } else {
            b - b'A'
        };
        sum += u32::from(if i % 2 == 0 {
            ODD.get(usize::from(v)).copied().unwrap_or(0)
        } else {
            v
        });
    }
    u32::from(c[15] - b'A') == sum % 26
}

/// Digit value of a digit slot (a digit or its omocodia letter).
fn value(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        OMOCODIA.iter().position(|&x| x == b).map_or(0, |p| p as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values computed independently (Python, from the decree's tables).
    #[test]
    fn check_letter() {
        assert!(valid(b"RSSMRA85T10A562S"));
        assert!(valid(b"rssmra85t10a562s"));
        assert!(!valid(b"RSSMRA85T10A562T"));
        assert!(!valid(b"RSSMRA85Z10A562S"));
        // Omocodia: the last digit 2 written as N, with its own check letter.
        assert!(valid(b"RSSMRA85T10A56NH"));
    }
}
