//! US Social Security numbers.

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

/// SSN rules on nine digit values.
pub(crate) fn ssn_parts_valid(d: &[u8]) -> bool {
    if d.len() != 9 {
        return false;
    }
    let num = |r: std::ops::Range<usize>| {
        d.get(r)
            .unwrap_or_default()
            .iter()
            .fold(0u32, |a, &x| a * 10 + u32::from(x))
    };
    let (area, group, serial) = (num(0..3), num(3..5), num(5..9));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
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
}
