//! UK National Insurance numbers.

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

#[cfg(test)]
mod tests {
    use super::*;

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
