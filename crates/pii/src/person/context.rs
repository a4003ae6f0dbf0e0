//! What surrounds a candidate name: the cue word or title before it, a business word before
//! or after it, a listed brand it starts. Shared by every name shape.

use super::lexicon::{Lexicon, BUSINESS, CUE, GIVEN, TITLE, WEAK_CUE};
use super::token::{Case, Gap, Tok};

/// Last token of a listed brand ("Ted Baker", "Jean Paul Gaultier") starting at `i`.
pub(super) fn brand_at(toks: &[Tok], i: usize, lex: &Lexicon) -> Option<usize> {
    let first = toks.get(i)?;
    if !first.has(GIVEN | TITLE) && first.letters != 1 {
        return None;
    }
    (i + 1..(i + 4).min(toks.len()))
        .take_while(|&k| {
            toks.get(k)
                .is_some_and(|t| matches!(t.gap, Gap::Space | Gap::Dot))
        })
        .find(|&k| {
            toks.get(k)
                .is_some_and(|t| lex.is_brand(first.hash, t.hash))
        })
}

pub(super) fn at(toks: &[Tok], i: usize) -> Option<&Tok> {
    toks.get(i)
}

/// Separated from the previous token by spaces only.
pub(super) fn spaced(t: &Tok) -> bool {
    t.gap == Gap::Space
}

/// A cue word (or title) right before token `i`; `weak` also accepts conjunctions.
pub(super) fn cue_before(toks: &[Tok], i: usize, weak: bool) -> bool {
    let (Some(prev), Some(t)) = (i.checked_sub(1).and_then(|p| toks.get(p)), toks.get(i)) else {
        return false;
    };
    let wanted = if weak { CUE | WEAK_CUE | TITLE } else { CUE };
    // "a", "à", "w/" are cues; "Pret A Manger" is not.
    let short_ok = prev.letters > 1 || prev.case == Case::Lower;
    !prev.attached
        && short_ok
        && prev.has(wanted)
        && matches!(t.gap, Gap::Space | Gap::Colon | Gap::Slash | Gap::Dot)
}

/// No business word or '&' right after the name ("John Smith Ltd", "Marks & Spencer").
pub(super) fn business_after(toks: &[Tok], last: usize) -> bool {
    toks.get(last + 1)
        .is_some_and(|n| n.has(BUSINESS) && !n.attached && matches!(n.gap, Gap::Space | Gap::Amp))
}

/// A business word right before the name ("Hotel Maria Cristina", "Salon Anna").
pub(super) fn business_before(toks: &[Tok], i: usize) -> bool {
    toks.get(i).is_some_and(spaced)
        && i.checked_sub(1)
            .and_then(|p| toks.get(p))
            .is_some_and(|p| p.has(BUSINESS) && !p.attached)
}
