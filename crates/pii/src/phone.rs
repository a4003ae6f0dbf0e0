//! Phone numbers in international (+CC / 00CC), North American and trunk-prefix (0...)
//! national formats. Dates, amounts and times fail the grouping rules or are attached to other
//! numbers ("12:30", "1,234.56") and are rejected before these rules run.

use crate::numeric::{Gap, Keyword, Sub};

/// Words after which an unformatted digit string is a phone number ("Tel: 2125550147").
pub(crate) const KEYWORDS: &[&str] = &[
    "tel",
    "tele",
    "telephone",
    "telefon",
    "telefono",
    "phone",
    "ph",
    "mobile",
    "mob",
    "mobil",
    "cell",
    "cellphone",
    "call",
    "fax",
    "whatsapp",
    "sms",
    "text",
    "contact",
    "handy",
    "gsm",
];

pub(crate) fn is_phone(sub: &Sub<'_>) -> bool {
    if !sub.free_standing() {
        return false;
    }
    if sub.plus {
        return international(sub);
    }
    if sub.group(0).starts_with("00") {
        return international_00(sub);
    }
    nanp(sub) || national_trunk(sub) || with_keyword(sub)
}

/// "+44 20 7946 0958", "+44 (0)20 7946 0958", "+1-202-555-0198", "+4915112345678".
fn international(sub: &Sub<'_>) -> bool {
    if sub.groups.len() > 7 || sub.group(0).starts_with('0') || sub.groups[0].paren {
        return false;
    }
    // A "(0)" trunk marker is not dialled.
    let trunk = sub
        .groups
        .iter()
        .skip(1)
        .filter(|g| g.paren && g.len() == 1)
        .count();
    let d = sub.digit_count() - trunk;
    (8..=15).contains(&d)
}

/// "0049 30 1234567", "0044 20 7946 0958": needs at least one separator.
fn international_00(sub: &Sub<'_>) -> bool {
    let n = sub.groups.len();
    if n < 2 || n > 7 || sub.any_paren() {
        return false;
    }
    let country_first = if sub.group(0).len() == 2 {
        sub.group(1).bytes().next()
    } else {
        sub.group(0).bytes().nth(2)
    };
    if !country_first.is_some_and(|c| (b'1'..=b'9').contains(&c)) {
        return false;
    }
    (8..=15).contains(&(sub.digit_count() - 2))
}

/// "(212) 555-0147", "212-555-0147", "555.123.4567", "1-800-555-0199", "1 (800) 555-0199".
fn nanp(sub: &Sub<'_>) -> bool {
    let g = sub.groups;
    let off = match g.len() {
        3 => 0,
        4 if sub.group(0) == "1"
            && !g[0].paren
            && matches!(g[1].gap, Gap::Space | Gap::Dash | Gap::Dot) =>
        {
            1
        }
        _ => return false,
    };
    let (area, exch, line) = (&g[off], &g[off + 1], &g[off + 2]);
    if area.len() != 3 || exch.len() != 3 || line.len() != 4 || exch.paren || line.paren {
        return false;
    }
    if !sub
        .group(off)
        .bytes()
        .next()
        .is_some_and(|c| (b'2'..=b'9').contains(&c))
    {
        return false;
    }
    if area.paren {
        matches!(exch.gap, Gap::Space | Gap::Tight | Gap::Dash)
            && matches!(line.gap, Gap::Dash | Gap::Space | Gap::Dot)
    } else {
        exch.gap == line.gap && matches!(exch.gap, Gap::Dash | Gap::Dot | Gap::Space)
    }
}

/// National numbers with a trunk 0: "07911 123456", "020 7946 0958", "030 1234567",
/// "06 12 34 56 78", "06-12345678", "(020) 7946 0958", "0612345678".
fn national_trunk(sub: &Sub<'_>) -> bool {
    let g = sub.groups;
    let n = g.len();
    let mut first = sub.group(0).bytes();
    if first.next() != Some(b'0') || !first.next().is_some_and(|c| c != b'0') {
        return false;
    }
    let d = sub.digit_count();
    if n == 1 {
        return (10..=11).contains(&d);
    }
    if n > 5 || !(9..=11).contains(&d) || !(2..=5).contains(&g[0].len()) {
        return false;
    }
    if g.iter().skip(1).any(|x| x.paren || x.len() < 2) {
        return false;
    }
    // One kind of separator throughout ("01.02.2024 12" mixes dots and a space).
    let mut gaps = sub.gaps();
    let mut head = gaps.next();
    if g[0].paren && matches!(head, Some(Gap::Space | Gap::Tight)) {
        head = gaps.next();
        if head.is_none() {
            return true;
        }
    }
    match head {
        Some(h @ (Gap::Space | Gap::Dash | Gap::Dot)) => gaps.all(|x| x == h),
        _ => false,
    }
}

/// After a phone keyword: a plain 7–15 digit string, or "555-0147".
fn with_keyword(sub: &Sub<'_>) -> bool {
    if sub.keyword != Keyword::Phone || sub.any_paren() {
        return false;
    }
    let d = sub.digit_count();
    (sub.groups.len() == 1 && (7..=15).contains(&d))
        || (sub.lens_are(&[3, 4]) && sub.gaps().all(|x| x == Gap::Dash))
}
