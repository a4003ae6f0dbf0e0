//! Phone numbers in international (+CC / 00CC), North American, trunk-prefix (0...) national
//! and parenthesised-area-code formats, plus any plain grouping after a phone keyword ("call
//! 917 894 574"). Dates, amounts and times fail the grouping rules or are attached to other
//! numbers ("12:30", "1,234.56") and are rejected before these rules run; after a reference
//! or identity keyword ("invoice", "ID") only '+' numbers count.

use crate::candidate::{Gap, Sub};
use crate::keyword::Keyword;

/// `sub` is a phone number.
pub(crate) fn is_phone(sub: &Sub<'_>) -> bool {
    if !sub.free_standing() {
        return false;
    }
    if sub.plus {
        return international(sub);
    }
    if sub.keyword == Keyword::Reference || sub.keyword.is_identity() {
        return false;
    }
    if sub.group(0).starts_with("00") {
        return international_00(sub);
    }
    nanp(sub) || national_trunk(sub) || paren_area(sub) || with_keyword(sub)
}

/// An area code in parentheses without trunk 0: "(11) 98765-4321", "(30) 1234 5678".
fn paren_area(sub: &Sub<'_>) -> bool {
    let g = sub.groups;
    let n = g.len();
    (2..=4).contains(&n)
        && g[0].paren
        && (2..=4).contains(&g[0].len())
        && g.iter().skip(1).all(|x| !x.paren && x.len() >= 3)
        && (10..=11).contains(&sub.digit_count())
        && sub
            .gaps()
            .all(|x| matches!(x, Gap::Space | Gap::Dash | Gap::Tight))
}

/// "+44 20 7946 0958", "+44 (0)20 7946 0958", "+1-202-555-0198", "+4915112345678".
fn international(sub: &Sub<'_>) -> bool {
    if sub.groups.len() > 7 || sub.group(0).starts_with('0') {
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
    // "0049 (0)30 1234567": a "(0)" trunk marker after the country code is not dialled.
    let trunk = sub
        .groups
        .iter()
        .enumerate()
        .filter(|(i, g)| g.paren && g.len() == 1 && *i > 0)
        .count();
    if !(2..=7).contains(&n) || sub.groups.iter().filter(|g| g.paren).count() != trunk {
        return false;
    }
    let country_first = if sub.group(0).len() == 2 {
        sub.group(1).bytes().next()
    } else {
        sub.group(0).as_bytes().get(2).copied()
    };
    if !country_first.is_some_and(|c| (b'1'..=b'9').contains(&c)) {
        return false;
    }
    (8..=15).contains(&(sub.digit_count() - 2 - trunk))
}

/// "(212) 555-0147", "212-555-0147", "555.123.4567", "212/555-0147", "1-800-555-0199",
/// "1 (800) 555-0199".
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
    } else if exch.gap == Gap::Slash {
        line.gap == Gap::Dash
    } else {
        exch.gap == line.gap && matches!(exch.gap, Gap::Dash | Gap::Dot | Gap::Space)
    }
}

/// National numbers with a trunk 0: "07911 123456", "020 7946 0958", "030 1234567",
/// "030/1234567", "06 12 34 56 78", "06-12345678", "(020) 7946 0958", and unformatted
/// "0612345678" when it has a mobile prefix or a phone keyword (many account numbers also
/// start with 0).
fn national_trunk(sub: &Sub<'_>) -> bool {
    let g = sub.groups;
    let n = g.len();
    let mut first = sub.group(0).bytes();
    if first.next() != Some(b'0') || first.next().is_none_or(|c| c == b'0') {
        return false;
    }
    let d = sub.digit_count();
    if n == 1 {
        const MOBILE: &[&str] = &["06", "07", "015", "016", "017"];
        let g0 = sub.group(0);
        return (10..=12).contains(&d)
            && (sub.keyword == Keyword::Phone || MOBILE.iter().any(|p| g0.starts_with(p)));
    }
    // 9 digits in three or more groups only with spaces ("01 234 5678", not "030-2024-11").
    let spaced = sub.gaps().all(|x| x == Gap::Space);
    let min_digits = if n >= 3 && !spaced { 10 } else { 9 };
    if n > 5 || !(min_digits..=12).contains(&d) || !(2..=5).contains(&g[0].len()) {
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
        // "030/1234567": area code and subscriber only.
        Some(Gap::Slash) => n == 2,
        _ => false,
    }
}

/// After a phone keyword: a plain 7–15 digit string, "555-0147", or 2–5 groups of 8–12
/// digits with one kind of separator ("917 894 574", "91-98-73-56", "22 383 56 03").
fn with_keyword(sub: &Sub<'_>) -> bool {
    if sub.keyword != Keyword::Phone || sub.any_paren() {
        return false;
    }
    let d = sub.digit_count();
    let n = sub.groups.len();
    let mut gaps = sub.gaps();
    let uniform = gaps
        .next()
        .is_some_and(|g| matches!(g, Gap::Space | Gap::Dash | Gap::Dot) && gaps.all(|x| x == g));
    (n == 1 && (7..=15).contains(&d))
        || (sub.lens_are(&[3, 4]) && sub.gaps().all(|x| x == Gap::Dash))
        || ((2..=5).contains(&n)
            && (8..=12).contains(&d)
            && uniform
            && sub.groups.iter().all(|g| g.len() >= 2)
            && !looks_like_date(sub))
}

/// "12.03.2024", "2024-03-12", "12/03/24": day, month and year in some order.
fn looks_like_date(sub: &Sub<'_>) -> bool {
    let n = |i: usize| sub.group(i).parse::<u32>().unwrap_or(0);
    let day_month = |a: u32, b: u32| (1..=31).contains(&a) && (1..=12).contains(&b);
    if sub.lens_are(&[2, 2, 4]) || sub.lens_are(&[2, 2, 2]) {
        day_month(n(0), n(1)) || day_month(n(1), n(0))
    } else if sub.lens_are(&[4, 2, 2]) {
        day_month(n(2), n(1))
    } else {
        false
    }
}
