//! Tokenizer for numeric runs ("+44 (0)20 7946 0958", "4111-1111-1111-1111", "123-45-6789")
//! and the single pass that classifies them as card, national id or phone number.
//!
//! A run is a sequence of digit groups joined by one separator each (space, dash, dot, slash,
//! a parenthesised group), with an optional leading '+'. How the run touches its neighbours
//! ("1,234", "ORD-5551234") and the context word before it ("tel", "ID", "invoice") go with it. Every kind is decided on a contiguous range of a run's groups, so one
//! scan over the text serves all numeric kinds, and a run can hold several numbers in a row.

use crate::name::fold_char;
use crate::{card, national_id, phone, PiiKind, PiiSpan};

/// Runs are cut after this many groups; no kind needs more than seven.
const MAX_GROUPS: usize = 12;

/// The separator in front of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gap {
    /// First group of a run.
    First,
    /// One or two spaces, a no-break or thin space, or " - ".
    Space,
    Dash,
    Dot,
    /// "030/1234567", "710319/2745".
    Slash,
    /// No separator: next to a parenthesised group, as in "(212)555" or "44(0)20".
    Tight,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    /// Byte range of the digits.
    pub start: usize,
    pub end: usize,
    /// Digits are wrapped in "(" ... ")".
    pub paren: bool,
    pub gap: Gap,
}

impl Group {
    const EMPTY: Group = Group {
        start: 0,
        end: 0,
        paren: false,
        gap: Gap::First,
    };

    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    fn outer_start(&self) -> usize {
        self.start - usize::from(self.paren)
    }

    fn outer_end(&self) -> usize {
        self.end + usize::from(self.paren)
    }
}

/// How a run touches the text around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attach {
    /// Free-standing (space, punctuation, start or end of text).
    None,
    /// Glued to a letter, currency sign or '#': "ORD-5551234", "$1200", "12kg".
    Weak,
    /// Continues another number: "1,234", "12:30", "12/26".
    Numeric,
}

/// Context word in front of a run that licenses unformatted numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    None,
    Phone,
    /// "ID", "tax id", "DNI", "passport" ...: an identity number of any scheme follows.
    Id,
    /// "SSN", "social security": a US SSN follows.
    Ssn,
    /// "BSN", "sofinummer": a Dutch BSN follows.
    Bsn,
    /// "Invoice", "order", "account", "ref" ...: a national-format number is not a phone.
    Reference,
}

impl Keyword {
    /// Any identity keyword.
    pub(crate) fn is_identity(self) -> bool {
        matches!(self, Keyword::Id | Keyword::Ssn | Keyword::Bsn)
    }
}

/// Words that introduce reference numbers rather than phone numbers.
const REFERENCE_WORDS: &[&str] = &[
    "invoice",
    "inv",
    "order",
    "ord",
    "ref",
    "reference",
    "account",
    "acct",
    "acc",
    "konto",
    "kontonr",
    "rechnung",
    "facture",
    "commande",
    "booking",
    "ticket",
    "policy",
    "contract",
    "kundennr",
    "auftrag",
    "tracking",
    "batch",
    "serial",
    "sn",
    "iban",
    "mandate",
    "transaction",
    "txn",
    "receipt",
    "parcel",
    "package",
    "shipment",
    "bill",
    "terminal",
    "merchant",
    "device",
    "session",
    "user",
    "client",
];

/// A candidate range of groups, with what surrounds it.
pub(crate) struct Sub<'a> {
    pub text: &'a str,
    pub groups: &'a [Group],
    /// Preceded by '+' (international prefix).
    pub plus: bool,
    pub left: Attach,
    pub right: Attach,
    pub keyword: Keyword,
}

impl Sub<'_> {
    pub(crate) fn digit_count(&self) -> usize {
        self.groups.iter().map(Group::len).sum()
    }

    /// All digits of the range, without separators.
    pub(crate) fn digits(&self) -> impl DoubleEndedIterator<Item = u8> + '_ {
        let bytes = self.text.as_bytes();
        self.groups.iter().flat_map(move |g| {
            bytes
                .get(g.start..g.end)
                .unwrap_or_default()
                .iter()
                .copied()
        })
    }

    pub(crate) fn group(&self, i: usize) -> &str {
        self.groups
            .get(i)
            .and_then(|g| self.text.get(g.start..g.end))
            .unwrap_or("")
    }

    pub(crate) fn lens_are(&self, lens: &[usize]) -> bool {
        self.groups.len() == lens.len() && self.groups.iter().zip(lens).all(|(g, &l)| g.len() == l)
    }

    /// Separators between the groups of the range (the first group's gap is not part of it).
    pub(crate) fn gaps(&self) -> impl Iterator<Item = Gap> + '_ {
        self.groups.iter().skip(1).map(|g| g.gap)
    }

    pub(crate) fn any_paren(&self) -> bool {
        self.groups.iter().any(|g| g.paren)
    }

    pub(crate) fn free_standing(&self) -> bool {
        self.left == Attach::None && self.right == Attach::None
    }
}

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
        (outer_start > 0 && b.get(outer_start - 1) == Some(&b'+')).then(|| outer_start - 1)
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
    if total >= 7 {
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
            if let Some(kind) = classify(&sub, card_ok) {
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

/// Words that may sit between a keyword and the number: "phone no.", "SSN is", "call me on".
const FILLERS: &[&str] = &[
    "no", "nr", "num", "number", "nummer", "numero", "is", "on", "me", "at", "to", "us", "my",
    "back", "under", "via", "the", "your", "our",
];

/// Looks at up to four words before `pos` for a phone, identity or reference keyword.
pub(crate) fn keyword_before(text: &str, pos: usize) -> Keyword {
    let mut it = text.get(..pos).unwrap_or("").chars().rev().peekable();
    let mut found = Keyword::None;
    for _ in 0..4 {
        // Skip separators such as ": ", " #", ". ".
        let mut skipped = 0;
        while it.peek().is_some_and(|c| !c.is_alphanumeric()) {
            it.next();
            skipped += 1;
            if skipped > 4 {
                return Keyword::None;
            }
        }
        let mut word = [0u8; 24];
        let mut len = 0;
        while let Some(&c) = it.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            it.next();
            let f = fold_char(c);
            if !f.is_ascii() || len == word.len() {
                return Keyword::None;
            }
            len += 1;
            word[word.len() - len] = f as u8;
        }
        if len == 0 {
            return found;
        }
        let w = &word[word.len() - len..];
        let is = |list: &[&str]| list.iter().any(|k| k.as_bytes() == w);
        if found == Keyword::Id {
            // "order id", "transaction id": a reference, not an identity number.
            return if is(REFERENCE_WORDS) {
                Keyword::Reference
            } else {
                Keyword::Id
            };
        }
        if w == b"id" {
            found = Keyword::Id;
            continue;
        }
        return if is(phone::KEYWORDS) {
            Keyword::Phone
        } else if is(national_id::SSN_KEYWORDS) {
            Keyword::Ssn
        } else if is(national_id::BSN_KEYWORDS) {
            Keyword::Bsn
        } else if is(national_id::KEYWORDS) {
            Keyword::Id
        } else if is(REFERENCE_WORDS) {
            Keyword::Reference
        } else if is(FILLERS) {
            continue;
        } else {
            Keyword::None
        };
    }
    found
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
    fn keyword_lookup() {
        assert_eq!(keyword_before("Tel: ", 5), Keyword::Phone);
        assert_eq!(keyword_before("phone no. ", 10), Keyword::Phone);
        assert_eq!(keyword_before("Hotel ", 6), Keyword::None);
        assert_eq!(keyword_before("SSN is ", 7), Keyword::Ssn);
        assert_eq!(keyword_before("BSN: ", 5), Keyword::Bsn);
        assert_eq!(keyword_before("SSN/ID:", 7), Keyword::Id);
        assert_eq!(keyword_before("Tax id ", 7), Keyword::Id);
        assert_eq!(keyword_before("ID no. ", 7), Keyword::Id);
        assert_eq!(keyword_before("order id ", 9), Keyword::Reference);
        assert_eq!(keyword_before("pls call me back on ", 20), Keyword::Phone);
        assert_eq!(keyword_before("Tél. ", 6), Keyword::Phone);
        assert_eq!(keyword_before("Invoice no ", 11), Keyword::Reference);
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
}
