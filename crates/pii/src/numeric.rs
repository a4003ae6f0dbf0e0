//! Tokenizer for numeric runs ("+44 (0)20 7946 0958", "4111-1111-1111-1111", "123-45-6789")
//! and the single pass that classifies them as card, national id or phone number.
//!
//! A run is a sequence of digit groups joined by one separator each (space, dash, dot, slash,
//! a parenthesised group), with an optional leading '+'. How the run touches its neighbours
//! ("1,234", "ORD-5551234") and the context word before it ("tel", "ID", "invoice") go with it. Every kind is decided on a contiguous range of a run's groups, so one
//! scan over the text serves all numeric kinds, and a run can hold several numbers in a row.

use crate::candidate::{Attach, Gap, Group, Sub};
use crate::keyword::{keyword_before, Keyword};
use crate::span::{PiiKind, PiiSpan};
use crate::{card, national_id, phone};

/// Runs are cut after this many groups; no kind needs more than seven.
const MAX_GROUPS: usize = 12;

/// Finds cards, national ids and phone numbers in all numeric runs of `text`.
pub(crate) fn scan(text: &str, out: &mut Vec<PiiSpan>) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        i = scan_run(text, i, out);
    }
}

/// Reads the run whose first digit is at `first`, classifies it and returns its end.
fn scan_run(text: &str, first: usize, out: &mut Vec<PiiSpan>) -> usize {
    let b = text.as_bytes();
    let mut groups = [Group::EMPTY; MAX_GROUPS];
    let mut n = 0;

    let first_paren = first > 0 && b.get(first - 1) == Some(&b'(') && closes(b, first);
    let outer_start = first - usize::from(first_paren);
    // "(+44) 20 ..." : the country code in parentheses together with its '+'.
    let paren_plus = !first_paren
        && first >= 2
        && b.get(first - 2..first) == Some(b"(+".as_slice())
        && closes(b, first);
    let plus = if paren_plus {
        Some(first - 2)
    } else {
        // "+++123/4567/89012+++" (a Belgian structured reference): a '+' after another '+'
        // is not an international prefix.
        (outer_start > 0
            && b.get(outer_start - 1) == Some(&b'+')
            && (outer_start < 2 || b.get(outer_start - 2) != Some(&b'+')))
        .then(|| outer_start - 1)
    };
    let run_start = plus.unwrap_or(outer_start);

    let mut start = first;
    let mut paren = first_paren || paren_plus;
    let mut gap = Gap::First;
    let end = loop {
        let digits_end = digits_end(b, start);
        groups[n] = Group {
            start,
            end: digits_end,
            paren,
            gap,
        };
        n += 1;
        let after = digits_end + usize::from(paren);
        match next_group(b, after, paren) {
            Some((g, s, p)) if n < MAX_GROUPS => {
                gap = g;
                start = s;
                paren = p;
            }
            _ => break after,
        }
    };

    let groups = &groups[..n];
    let left = attach_before(text, run_start);
    let right = attach_after(text, end);
    let total: usize = groups.iter().map(Group::len).sum();
    if total >= 7 && !after_iban_head(b, run_start) {
        let keyword = keyword_before(text, run_start);
        classify_run(text, groups, plus, left, right, keyword, out);
    }
    end
}

/// Greedy left-to-right: at each possible start take the longest range that is some kind.
fn classify_run(
    text: &str,
    groups: &[Group],
    plus: Option<usize>,
    left: Attach,
    right: Attach,
    keyword: Keyword,
    out: &mut Vec<PiiSpan>,
) {
    let n = groups.len();
    let mut i = 0;
    // A finding may start after unclassified groups ("Order 12345 020 7946 0958") unless the
    // run is glued to a word, as the digits of a mistyped IBAN are; cards only where the run
    // starts, after another finding, or after groups that are not a 4-digit chain, so the
    // card-shaped tail of a longer grouped number is not taken.
    let mut fresh = true;
    while i < n {
        if i > 0 && (groups[i].gap != Gap::Space || (!fresh && left != Attach::None)) {
            i += 1;
            fresh = false;
            continue;
        }
        let mut found = None;
        for j in (i + 1..=n).rev() {
            if j < n && groups[j].gap != Gap::Space {
                continue;
            }
            let sub = Sub {
                text,
                groups: &groups[i..j],
                plus: i == 0 && plus.is_some(),
                left: if i == 0 { left } else { Attach::None },
                right: if j == n { right } else { Attach::None },
                // The context word governs the whole run: after "ID" or "invoice" no part of it
                // is read as a phone number.
                keyword,
            };
            let card_ok = fresh
                || (left == Attach::None
                    && groups.get(i.wrapping_sub(1)).is_some_and(|g| g.len() != 4));
            // Nor a phone number in the middle of a chain of 4-digit groups ("9400 1445 0062
            // 8885 6476 53", a voucher or an IBAN): the chain is one number.
            let chained = !fresh
                && groups[i].len() == 4
                && groups.get(i.wrapping_sub(1)).is_some_and(|g| g.len() == 4);
            let kind = classify(&sub, card_ok).filter(|k| !(chained && *k == PiiKind::Phone));
            if let Some(kind) = kind {
                found = Some((j, kind));
                break;
            }
        }
        match found {
            Some((j, kind)) => {
                let start = match plus {
                    Some(p) if i == 0 => p,
                    _ => groups[i].outer_start(),
                };
                out.push(PiiSpan {
                    kind,
                    start,
                    end: groups[j - 1].outer_end(),
                });
                i = j;
                fresh = true;
            }
            None => {
                i += 1;
                fresh = false;
            }
        }
    }
}

fn classify(sub: &Sub<'_>, card_ok: bool) -> Option<PiiKind> {
    let d = sub.digit_count();
    if !(7..=19).contains(&d) {
        return None;
    }
    // After "ID" a checksum-valid identity number wins over a Luhn-valid card reading.
    let id_first = sub.keyword.is_identity();
    if id_first && national_id::is_national_id(sub) {
        return Some(PiiKind::NationalId);
    }
    if card_ok && card::is_card(sub) {
        return Some(PiiKind::CardNumber);
    }
    if !id_first && national_id::is_national_id(sub) {
        return Some(PiiKind::NationalId);
    }
    if phone::is_phone(sub) {
        return Some(PiiKind::Phone);
    }
    None
}

/// The run follows "NL21 INGB ", the head of a grouped IBAN (one that failed its check,
/// or the IBAN finder would have taken it): its digits are the account, not a phone.
fn after_iban_head(b: &[u8], run_start: usize) -> bool {
    let Some(head) = run_start.checked_sub(10).and_then(|s| b.get(s..run_start)) else {
        return false;
    };
    head[..2].iter().all(u8::is_ascii_uppercase)
        && head[2..4].iter().all(u8::is_ascii_digit)
        && head[4] == b' '
        && head[5..9]
            .iter()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && head[9] == b' '
        && (run_start == 10
            || b.get(run_start - 11)
                .is_some_and(|c| !c.is_ascii_alphanumeric()))
}

fn digits_end(b: &[u8], mut i: usize) -> usize {
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Digits starting at `i` are followed by ')'.
fn closes(b: &[u8], i: usize) -> bool {
    b.get(digits_end(b, i)) == Some(&b')')
}

/// Parses the separator at `after` and returns (gap, first digit of next group, parenthesised).
fn next_group(b: &[u8], after: usize, prev_paren: bool) -> Option<(Gap, usize, bool)> {
    let (gap, k) = match b.get(after..).unwrap_or_default() {
        [b' ', b'-', b' ', ..] => (Gap::Space, after + 3),
        [b' ', b'/', b' ', ..] => (Gap::Slash, after + 3),
        [b'_', ..] => (Gap::Dash, after + 1),
        [b' ', b' ', ..] => (Gap::Space, after + 2),
        [b' ', ..] => (Gap::Space, after + 1),
        [b'-', ..] => (Gap::Dash, after + 1),
        [b'.', ..] => (Gap::Dot, after + 1),
        [b'/', ..] => (Gap::Slash, after + 1),
        [0xC2, 0xA0, ..] => (Gap::Space, after + 2),
        [0xE2, 0x80, 0xAF | 0x89, ..] => (Gap::Space, after + 3),
        _ => (Gap::Tight, after),
    };
    match b.get(k) {
        Some(b'(') if b.get(k + 1).is_some_and(u8::is_ascii_digit) && closes(b, k + 1) => {
            Some((gap, k + 1, true))
        }
        Some(d) if d.is_ascii_digit() && (gap != Gap::Tight || prev_paren) => Some((gap, k, false)),
        _ => None,
    }
}

fn attach_before(text: &str, pos: usize) -> Attach {
    let mut it = text.get(..pos).unwrap_or("").chars().rev();
    let Some(c) = it.next() else {
        return Attach::None;
    };
    if c.is_ascii_digit() {
        return Attach::Numeric;
    }
    if c.is_alphanumeric() || matches!(c, '_' | '$' | '€' | '£' | '¥' | '#') {
        return Attach::Weak;
    }
    let before = it.next();
    match c {
        '.' | ',' | ':' | '/' | '-' if before.is_some_and(|p| p.is_ascii_digit()) => {
            Attach::Numeric
        }
        '.' | '/' | '-' | '_' if before.is_some_and(char::is_alphanumeric) => Attach::Weak,
        _ => Attach::None,
    }
}

fn attach_after(text: &str, pos: usize) -> Attach {
    let mut it = text.get(pos..).unwrap_or("").chars();
    let Some(c) = it.next() else {
        return Attach::None;
    };
    if c.is_ascii_digit() {
        return Attach::Numeric;
    }
    if c.is_alphanumeric() || matches!(c, '_' | '%' | '$' | '€' | '£' | '¥') {
        return Attach::Weak;
    }
    let after = it.next();
    match c {
        '.' | ',' | ':' | '/' | '-' if after.is_some_and(|p| p.is_ascii_digit()) => Attach::Numeric,
        '.' | '/' | '-' | '_' | ',' if after.is_some_and(char::is_alphanumeric) => Attach::Weak,
        _ => Attach::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(PiiKind, &str)> {
        let mut out = Vec::new();
        scan(text, &mut out);
        out.iter()
            .map(|s| (s.kind, &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn runs_split_into_several_findings() {
        assert_eq!(
            found("4111 1111 1111 1111 +44 20 7946 0958"),
            [
                (PiiKind::CardNumber, "4111 1111 1111 1111"),
                (PiiKind::Phone, "+44 20 7946 0958")
            ]
        );
    }

    #[test]
    fn attachment() {
        assert_eq!(attach_before("1,234", 2), Attach::Numeric);
        assert_eq!(attach_before("ORD-555", 4), Attach::Weak);
        assert_eq!(attach_before("Tel:555", 4), Attach::None);
        assert_eq!(attach_after("12:30", 2), Attach::Numeric);
        assert_eq!(attach_after("0958. Thanks", 4), Attach::None);
    }

    // Identity numbers as the scrubber finds them: by the letter-form pattern and by the scan.
    fn found_ids(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        national_id::IdFinder::new().find(text, &mut out);
        scan(text, &mut out);
        out.iter()
            .filter(|s| s.kind == PiiKind::NationalId)
            .map(|s| &text[s.start..s.end])
            .collect()
    }

    #[test]
    fn national_id_letter_forms() {
        assert_eq!(found_ids("DNI 12345678Z ok"), ["12345678Z"]);
        assert_eq!(found_ids("NIE X-1234567-L"), ["X-1234567-L"]);
        assert_eq!(found_ids("PPS 1234567T"), ["1234567T"]);
        assert_eq!(found_ids("hetu 131052-308T"), ["131052-308T"]);
        assert_eq!(found_ids("ID: AB1234567"), ["AB1234567"]);
        assert!(found_ids("ref AB1234567").is_empty());
        assert!(found_ids("12345678A 1234567A 131052-308U").is_empty());
    }

    #[test]
    fn national_id_shaped_forms() {
        assert_eq!(found_ids("pnr 811228-9874"), ["811228-9874"]);
        assert_eq!(found_ids("rc 710319/2745"), ["710319/2745"]);
        assert_eq!(found_ids("nr 85.07.30-033.28"), ["85.07.30-033.28"]);
        assert_eq!(found_ids("AHV 756.9217.0769.85"), ["756.9217.0769.85"]);
        assert_eq!(
            found_ids("x 2 55 08 14 168 025 38"),
            ["2 55 08 14 168 025 38"]
        );
        assert_eq!(found_ids("x 86 095 742 719"), ["86 095 742 719"]);
        assert!(found_ids("x 86 095 742 718").is_empty());
    }

    #[test]
    fn national_id_keyword_forms() {
        assert_eq!(found_ids("ID 130692544"), ["130692544"]);
        assert_eq!(found_ids("Tax id 86095742719"), ["86095742719"]);
        assert_eq!(found_ids("ID no. 255081416802538"), ["255081416802538"]);
        assert_eq!(found_ids("ID 010180-1234"), ["010180-1234"]);
        assert!(found_ids("Order id 130692544").is_empty());
        assert!(found_ids("130692544").is_empty());
    }
}
