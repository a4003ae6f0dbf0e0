//! Names anchored by what comes before the surname: a title ("Dr. Okafor", "Mme Dubois"),
//! initials ("R. Takahashi", "J. de Vries") or a cue word ("transfer to Xochitl Quispe").

use super::context::{at, business_after, cue_before, spaced};
use super::lexicon::{Lexicon, NOT_SURNAME, PARTICLE, PLACE, SURNAME, TITLE};
use super::shapes::given_first;
use super::token::{Case, Gap, Tok};

/// "Dr. Okafor", "Mme Dubois", "Dr. Priya Patel" (→ "Priya Patel").
pub(super) fn after_title(toks: &[Tok], i: usize, lex: &Lexicon) -> Option<(usize, usize)> {
    let title = at(toks, i)?;
    if !title.word() || title.case == Case::Lower {
        return None;
    }
    // "Frau Dr. Müller", "Prof. Dr. Klaus Meier": the span starts at the first title.
    let mut j = i + 1;
    while toks
        .get(j)
        .is_some_and(|t| t.has(TITLE) && t.word() && matches!(t.gap, Gap::Space | Gap::Dot))
        && j < i + 3
    {
        j += 1;
    }
    let t = at(toks, j)?;
    if !matches!(t.gap, Gap::Space | Gap::Dot) || t.initial() {
        return None;
    }
    // "MRS A PATEL", "Mr J K Smith": bare initials between title and surname.
    let mut k = j;
    while toks
        .get(k)
        .is_some_and(|t| t.letters == 1 && t.case == Case::Upper && !t.dot && t.word() && spaced(t))
        && k < j + 3
    {
        k += 1;
    }
    if k > j {
        let s = at(toks, k)?;
        if !spaced(s) {
            return None;
        }
        let last = surname_chain(toks, k)?;
        return (!business_after(toks, last)).then_some((i, last));
    }
    if let Some(last) = given_first(toks, j, lex, true, false) {
        return Some((j, last));
    }
    let last = surname_chain(toks, j)?;
    if business_after(toks, last) {
        return None;
    }
    // "Mr. Benedict Cumberbatch": an unlisted given name and a surname; like a listed one,
    // the span is the name without the title.
    if last == j {
        let (a, b) = (at(toks, j)?, toks.get(j + 1));
        if let Some(b) = b.filter(|b| spaced(b) && b.surname(a.case) && !a.possessive) {
            let closes = toks
                .get(j + 2)
                .is_none_or(|n| !spaced(n) || !n.surname(a.case));
            if closes && !business_after(toks, j + 1) && !b.wordy() {
                return Some((j, j + 1));
            }
        }
    }
    // "Sra. van der Berg, Willem": the given name after a comma belongs to the name.
    let given_after = toks
        .get(last + 1)
        .is_some_and(|g| g.gap == Gap::Comma && g.given() && g.case == Case::Cap);
    Some((i, if given_after { last + 1 } else { last }))
}

/// Two-letter abbreviations written with full stops ("U.S.", "P.O."), folded.
const ABBREVIATIONS: &[[u8; 2]] = &[
    *b"us", *b"uk", *b"eu", *b"un", *b"dc", *b"la", *b"ny", *b"po", *b"sa", *b"nv", *b"bv", *b"ag",
    *b"co", *b"pm", *b"am", *b"ad", *b"bc", *b"eg", *b"ie", *b"st",
];

/// "R. Takahashi", "J.P. Morgan", "F. De Luca".
pub(super) fn after_initial(toks: &[Tok], i: usize, lex: &Lexicon) -> Option<(usize, usize)> {
    // Not inside a chain of initials that did not match from its start ("U.S. Steel").
    if i > 0
        && toks.get(i).is_some_and(|t| t.gap == Gap::Dot)
        && toks.get(i - 1).is_some_and(|p| p.letters == 1 && p.dot)
    {
        return None;
    }
    let mut j = i;
    while toks
        .get(j + 1)
        .is_some_and(|n| n.initial() && n.gap == Gap::Dot)
        && j < i + 3
    {
        j += 1;
    }
    // "U.S. Steel", "P.O. Box": abbreviations, not initials.
    if j == i + 1 {
        let pair = [i, j].map(|k| toks.get(k).map_or(0, |t| t.head[0]));
        if ABBREVIATIONS.contains(&pair) {
            return None;
        }
    }
    let s = at(toks, j + 1)?;
    if s.gap != Gap::Dot {
        return None;
    }
    let last = surname_chain(toks, j + 1)?;
    let end_tok = at(toks, last)?;
    // "J.P. Morgan", "E. Leclerc": listed by the first or the last initial.
    let brand = [i, j]
        .iter()
        .filter_map(|&k| toks.get(k))
        .any(|first| lex.is_brand(first.hash, end_tok.hash));
    if brand || business_after(toks, last) {
        return None;
    }
    Some((i, last))
}

/// Particles then a capitalised surname, from token `j` (its gap is checked by the caller).
fn surname_chain(toks: &[Tok], j: usize) -> Option<usize> {
    let mut k = j;
    while toks.get(k).is_some_and(Tok::particle) {
        k += 1;
        if !toks.get(k).is_some_and(spaced) {
            return None;
        }
    }
    let s = at(toks, k)?;
    if s.case == Case::Lower || !s.surname(Case::Cap) {
        return None;
    }
    Some(k)
}

/// After a cue word: two capitalised (or two upper-case) words that are neither stop words
/// nor particles, and no third such word ("to New York City" is not a name); the pair may be
/// written surname first with a comma ("an Petrović, Đorđe").
pub(super) fn cue_pair(toks: &[Tok], i: usize, lex: &Lexicon) -> Option<usize> {
    // "a favore di Zephyrine Okwuosa": a lower-case preposition between cue and name.
    let via_particle = i > 0
        && toks
            .get(i - 1)
            .is_some_and(|p| p.has(PARTICLE) && p.case == Case::Lower && spaced(p))
        && cue_before(toks, i - 1, false);
    if !cue_before(toks, i, false) && !via_particle {
        return None;
    }
    let (a, b) = (at(toks, i)?, at(toks, i + 1)?);
    let ctx = a.case;
    if !matches!(ctx, Case::Cap | Case::Upper) {
        return None;
    }
    let plain = |t: &Tok| t.case == ctx && t.word() && !t.has(NOT_SURNAME | PARTICLE | PLACE);
    let gap_ok = spaced(b) || (b.gap == Gap::Comma && ctx == Case::Cap);
    if !plain(a) || !plain(b) || a.possessive || !gap_ok || a.letters < 2 {
        return None;
    }
    if !b.surname(ctx) || (b.wordy() && !b.has(SURNAME)) || a.wordy() {
        return None;
    }
    if let Some(c) = toks.get(i + 2) {
        let continues = match ctx {
            Case::Upper => c.case == Case::Upper && !c.has(NOT_SURNAME),
            _ => matches!(c.case, Case::Cap | Case::Upper),
        };
        if spaced(c) && continues && c.word() && !b.possessive {
            return None;
        }
    }
    if lex.is_brand(a.hash, b.hash) || business_after(toks, i + 1) {
        return None;
    }
    Some(i + 1)
}
