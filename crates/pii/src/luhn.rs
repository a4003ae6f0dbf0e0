//! Luhn (mod 10) check used by payment card numbers (ISO/IEC 7812).

/// Returns `true` when `digits` is a 12–19 digit number whose Luhn checksum is valid.
///
/// Spaces and dashes are ignored; any other non-digit character makes the input invalid.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0usize;
    // Walk from the right so the doubling position does not depend on the length.
    for b in digits.bytes().rev() {
        match b {
            b' ' | b'-' => continue,
            b'0'..=b'9' => {
                let d = u32::from(b - b'0');
                sum += if count % 2 == 1 { double(d) } else { d };
                count += 1;
                if count > 19 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    count >= 12 && sum % 10 == 0
}

/// Luhn check over a slice of ASCII digit bytes (no separators), any length.
pub(crate) fn luhn_digits(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.rev().enumerate() {
        let d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        sum += if i % 2 == 1 { double(d) } else { d };
    }
    sum % 10 == 0
}

fn double(d: u32) -> u32 {
    let x = d * 2;
    if x > 9 {
        x - 9
    } else {
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_test_cards_are_valid() {
        for n in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "4111-1111-1111-1111",
            "5500000000000004",
            "378282246310005",
            "6011111111111117",
            "4222222222222",
            "30569309025904",
            "6011000990139424",
        ] {
            assert!(luhn_valid(n), "{n}");
        }
    }

    #[test]
    fn wrong_check_digit_is_invalid() {
        assert!(!luhn_valid("4111111111111112"));
        assert!(!luhn_valid("5500 0000 0000 0005"));
        assert!(!luhn_valid("378282246310006"));
    }

    #[test]
    fn length_bounds() {
        // 11 digits, Luhn-valid, but too short.
        assert!(!luhn_valid("00000000000"));
        assert!(luhn_valid("000000000000"));
        // 20 digits is too long.
        assert!(!luhn_valid("00000000000000000000"));
        assert!(luhn_valid("0000000000000000000"));
        assert!(!luhn_valid(""));
        assert!(!luhn_valid("   -- "));
    }

    #[test]
    fn rejects_non_digits() {
        assert!(!luhn_valid("4111a11111111111"));
        assert!(!luhn_valid("4111.1111.1111.1111"));
        assert!(!luhn_valid("٤١١١١١١١١١١١١١١١"));
    }

    #[test]
    fn raw_digit_helper() {
        assert!(luhn_digits(b"4111111111111111".iter().copied()));
        assert!(!luhn_digits(b"4111111111111112".iter().copied()));
        assert!(!luhn_digits(b"41x1".iter().copied()));
    }
}
