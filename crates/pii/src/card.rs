//! Payment card numbers: 13–19 digits in a card-like grouping that pass the Luhn check.

use crate::candidate::{Attach, Gap, Sub};
use crate::luhn::luhn_digits;

/// `sub` is a card number: contiguous or grouped 4-4-4-4(-3), 4-6-5 / 4-6-4, 6-10, with one
/// kind of separator (space, dash, dot or slash; space and dash may mix in 4-digit groups, as
/// in "4111-1111 1111-1111"), not starting with 0 (no issuer uses major industry identifier
/// 0), Luhn-valid.
pub(crate) fn is_card(sub: &Sub<'_>) -> bool {
    if sub.plus || sub.any_paren() || sub.left == Attach::Numeric || sub.right == Attach::Numeric {
        return false;
    }
    let d = sub.digit_count();
    // Major industry identifier 2-6: the card schemes (2221-2720 Mastercard, 3 Amex, Diners
    // and JCB, 4 Visa, 5 Mastercard and Maestro, 6 Discover, UnionPay, Maestro); 0, 1, 7, 8
    // and 9 are not payment cards, and random references starting with them stay.
    let Some(first) = sub.digits().next() else {
        return false;
    };
    if !(13..=19).contains(&d) || !(b'2'..=b'6').contains(&first) {
        return false;
    }
    let mut gaps = sub.gaps();
    let first_gap = gaps.next();
    if let Some(g) = first_gap {
        let fours = sub.groups.iter().rev().skip(1).all(|x| x.len() == 4);
        let mixed_ok = |x: Gap| {
            x == g || (fours && matches!((g, x), (Gap::Space | Gap::Dash, Gap::Space | Gap::Dash)))
        };
        if !matches!(g, Gap::Space | Gap::Dash | Gap::Dot | Gap::Slash) || !gaps.all(mixed_ok) {
            return false;
        }
    }
    card_shape(sub) && luhn_digits(sub.digits())
}

fn card_shape(sub: &Sub<'_>) -> bool {
    let n = sub.groups.len();
    if n == 1 {
        return true;
    }
    if sub.lens_are(&[4, 6, 5]) || sub.lens_are(&[4, 6, 4]) || sub.lens_are(&[6, 10]) {
        return true;
    }
    n >= 3
        && sub.groups.iter().enumerate().all(|(i, g)| {
            if i + 1 == n {
                (1..=4).contains(&g.len())
            } else {
                g.len() == 4
            }
        })
}
