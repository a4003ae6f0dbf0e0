//! Check digits used by the generated identifiers: Luhn (payment cards, some national ids)
//! and ISO 13616 mod-97 (IBAN).

/// The Luhn check digit to append to `payload` (digits only). `None` if `payload` is empty
/// or holds anything other than ASCII digits.
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    if payload.is_empty() {
        return None;
    }
    let mut sum = 0u32;
    // The check digit goes to the right, so the rightmost payload digit is doubled.
    for (i, c) in payload.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += if i % 2 == 0 {
            let x = d * 2;
            if x > 9 {
                x - 9
            } else {
                x
            }
        } else {
            d
        };
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// True if `number` (digits, optionally grouped with spaces or dashes) passes the Luhn check.
pub fn luhn_valid(number: &str) -> bool {
    let digits: String = number.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let (payload, check) = digits.split_at(digits.len() - 1);
    luhn_check_digit(payload) == check.parse::<u8>().ok()
}

/// Remainder mod 97 of the number formed by `chars`, letters counting as 10..=35.
fn mod97(chars: impl Iterator<Item = char>) -> Option<u32> {
    let mut r = 0u32;
    for c in chars {
        let v = c.to_digit(36)?;
        r = if v < 10 {
            (r * 10 + v) % 97
        } else {
            (r * 100 + v) % 97
        };
    }
    Some(r)
}

/// The two IBAN check digits for a country code (two uppercase letters) and a BBAN
/// (uppercase letters and digits).
pub fn iban_check_digits(country: &str, bban: &str) -> Option<u8> {
    let country_ok = country.len() == 2 && country.bytes().all(|b| b.is_ascii_uppercase());
    let bban_ok = !bban.is_empty()
        && bban
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    if !country_ok || !bban_ok {
        return None;
    }
    let r = mod97(bban.chars().chain(country.chars()).chain("00".chars()))?;
    Some((98 - r) as u8)
}

/// The IBAN (electronic form, no spaces) for a country code and BBAN.
pub fn iban_from_bban(country: &str, bban: &str) -> Option<String> {
    let check = iban_check_digits(country, bban)?;
    Some(format!("{country}{check:02}{bban}"))
}

/// True if `iban` (spaces allowed, any case) has a valid structure and mod-97 checksum.
pub fn iban_valid(iban: &str) -> bool {
    let compact: String = iban
        .chars()
        .filter(|c| *c != ' ')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if !(15..=34).contains(&compact.len()) || !compact.is_ascii() {
        return false;
    }
    let b = compact.as_bytes();
    if !(b[0].is_ascii_uppercase()
        && b[1].is_ascii_uppercase()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit())
    {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    mod97(tail.chars().chain(head.chars())) == Some(1)
}

/// An IBAN in its printed form: groups of four separated by single spaces.
pub fn format_iban_grouped(iban: &str) -> String {
    let compact: Vec<char> = iban.chars().filter(|c| *c != ' ').collect();
    compact
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_numbers() {
        assert_eq!(luhn_check_digit("411111111111111"), Some(1));
        assert!(luhn_valid("4111 1111 1111 1111"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111 1111 1111 1112"));
        assert!(!luhn_valid("x"));
        assert_eq!(luhn_check_digit(""), None);
        assert_eq!(luhn_check_digit("12a"), None);
    }

    #[test]
    fn iban_known_numbers() {
        assert_eq!(iban_check_digits("DE", "370400440532013000"), Some(89));
        assert!(iban_valid("DE89 3704 0044 0532 0130 00"));
        assert!(iban_valid("GB29NWBK60161331926819"));
        assert!(!iban_valid("GB28NWBK60161331926819"));
        assert_eq!(
            format_iban_grouped("DE89370400440532013000"),
            "DE89 3704 0044 0532 0130 00"
        );
        assert_eq!(iban_check_digits("de", "1"), None);
    }
}
