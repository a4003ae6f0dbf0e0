//! Names written out in full: given name(s) first ("Maria José García", "olivia hughes"),
//! surname first ("SCHMIDT Hannah", "Clarke, Amelia"), and a description that is nothing but
//! a name.

use super::context::{at, business_after, business_before, cue_before, spaced};
use super::lexicon::{
    Lexicon, AMBIGUOUS, CUE, GIVEN, NOT_SURNAME, PLACE, STOP, SURNAME, WEAK, WEAK_CUE,
};
use super::token::{Case, Gap, Tok};

/// Given name(s), middle initials, particles, surname(s), starting at the given name `i`.
/// Returns the last token.
pub(super) fn given_first(
    toks: &[Tok],
    i: usize,
    lex: &Lexicon,
    supported: bool,
    alone: bool,
) -> Option<usize> {
    let g = at(toks, i)?;
    if !g.given() {
        return None;
    }
    let ctx = g.case;
    if i > 0 && spaced(g) && toks.get(i - 1).is_some_and(|p| p.has(PLACE)) {
        return None;
    }
    let mut last = None;
    let mut committed = false;
    let mut particles = 0usize;
    let mut pending_particle = None;
    let mut evidence = false;
    let mut upper_seen = false;
    let mut words = 1;
    let mut j = i + 1;
    while let Some(t) = toks.get(j) {
        let prev_initial = toks.get(j - 1).is_some_and(Tok::initial);
        let gap_ok = spaced(t) || (t.gap == Gap::Dot && prev_initial);
        if !gap_ok || words >= 5 || toks.get(j - 1).is_some_and(|p| p.possessive) {
            break;
        }
        if t.particle() && (t.case == Case::Lower || t.case == ctx || ctx == Case::Cap) {
            particles += 1;
            pending_particle = Some(j);
            j += 1;
            continue;
        }
        if t.initial() {
            if committed || particles > 0 || ctx == Case::Lower {
                break;
            }
            j += 1;
            continue;
        }
        if !t.surname(ctx) {
            break;
        }
        if ctx == Case::Cap {
            if t.case == Case::Upper {
                upper_seen = true;
            } else if upper_seen {
                break;
            }
        }
        if committed {
            if pending_particle.is_some() {
                // "bin Rashid Al Maktoum", "García de la Vega": particles continue the surname.
                last = Some(j);
                pending_particle = None;
                words += 1;
                j += 1;
                continue;
            }
            // A second surname ("García López") when it is listed or surname-shaped, or when
            // the first one is and nothing name-like follows ("RODRÍGUEZ ZAPATERO").
            let listed = t.surname_evidence();
            let closes = toks.get(j + 1).is_none_or(|n| {
                !spaced(n) || !matches!(n.case, Case::Cap | Case::Upper) || n.has(NOT_SURNAME)
            });
            let first_listed = last
                .and_then(|l| toks.get(l))
                .is_some_and(Tok::surname_evidence);
            let relaxed = first_listed && closes && t.case == Case::Upper && !t.wordy();
            if t.letters >= 3 && !t.possessive && (listed || relaxed) {
                last = Some(j);
            }
            break;
        }
        last = Some(j);
        pending_particle = None;
        words += 1;
        if !t.has(GIVEN) || particles > 0 {
            committed = true;
        }
        if particles > 0 || t.surname_evidence() {
            evidence = true;
        }
        if t.possessive {
            break;
        }
        j += 1;
    }
    // "Ravi Das", "Thi Le": a trailing particle that is itself a listed surname.
    if let Some(p) = pending_particle {
        let t = toks.get(p)?;
        if t.has(SURNAME)
            && t.case != Case::Lower
            && (last.is_none() || last < Some(p))
            && !committed
        {
            last = Some(p);
            evidence = true;
        }
    }
    let last = last?;
    let end_tok = toks.get(last)?;
    let ambiguous = g.has(AMBIGUOUS);
    if ambiguous {
        // "Will Mary Smith": start at the unambiguous name instead.
        // In lower case a cue word, even "and", still supports a pair ending in a weak
        // surname ("from grace brown", "w/ charlotte brown", "… and charlotte brown"):
        // found missing by the chaos runs' scans.
        let lower_cued =
            ctx == Case::Lower && words == 2 && end_tok.has(WEAK) && cue_before(toks, i, true);
        let support = evidence
            || lower_cued
            || alone
            || (ctx != Case::Lower && (supported || cue_before(toks, i, true)));
        let cued = supported || cue_before(toks, i, false);
        if !cued
            && words >= 3
            && toks
                .get(i + 1)
                .is_some_and(|t| t.has(GIVEN) && !t.has(AMBIGUOUS))
        {
            return None;
        }
        if !support {
            return None;
        }
    }
    // "Jimmy John's", "Trader Joe's": a given name with a possessive ends a shop name.
    if end_tok.possessive && end_tok.has(GIVEN) {
        return None;
    }
    // Lower case needs a listed or surname-shaped surname ("olivia hughes", not "noah piano
    // lessons"); a weak one ("olivia brown") only where the name clearly ends.
    if ctx == Case::Lower {
        let closes = toks
            .get(last + 1)
            .is_none_or(|n| !spaced(n) || n.case != Case::Lower || n.has(STOP | CUE | WEAK_CUE));
        let weak_ok = (!g.has(AMBIGUOUS) || alone || cue_before(toks, i, true))
            && end_tok.has(WEAK)
            && closes;
        if end_tok.letters < 3 || !(evidence || weak_ok) {
            return None;
        }
    }
    let brand = toks
        .get(i + 1..=last)
        .is_some_and(|rest| rest.iter().any(|t| lex.is_brand(g.hash, t.hash)));
    if brand || business_after(toks, last) || business_before(toks, i) {
        return None;
    }
    Some(last)
}

/// A description that is nothing but a name, or a name then an e-mail address ("Grace
/// Brown", "BROWN Jack", "Brown, Charlotte - c.brown@example.net"): a transfer to a person.
/// The whole text is the context a weak surname otherwise lacks; found missing by the chaos
/// runs' scans. Two words only, the second a listed surname, so "Amber Glass" stays.
pub(super) fn alone(text: &str, toks: &[Tok], lex: &Lexicon) -> Option<(usize, usize)> {
    let (first, second) = (toks.first()?, toks.get(1)?);
    if !text.get(..first.start)?.trim().is_empty() || !first.word() {
        return None;
    }
    let given_then_surname = first.has(GIVEN) && second.has(SURNAME);
    let last = given_then_surname
        .then(|| given_first(toks, 0, lex, false, true))
        .flatten()
        .or_else(|| {
            first
                .has(SURNAME)
                .then(|| surname_first(toks, 0, lex, true))
                .flatten()
        });
    if last != Some(1) {
        return None;
    }
    let rest = text.get(second.end..)?.trim_start();
    let rest = rest
        .strip_prefix(['-', '–', ',', '(', ':'])
        .unwrap_or(rest)
        .trim_start();
    let email_next = rest
        .split_whitespace()
        .next()
        .is_some_and(|w| w.contains('@') && w.contains('.'));
    (rest.is_empty() || email_next).then_some((0, 1))
}

/// "SCHMIDT Hannah", "VAN DIJK Bram", "Clarke, Amelia", "de Vries, Daan", "ROSSI GIULIA",
/// "Horvat Ivan". Returns the last token.
pub(super) fn surname_first(toks: &[Tok], i: usize, lex: &Lexicon, alone: bool) -> Option<usize> {
    // A lower-case particle after an ordinary word is a preposition ("pago de Walsh, John");
    // after a cue it starts the surname ("transfer to de Vries, Thijs").
    let first = at(toks, i)?;
    if first.particle() && first.case == Case::Lower && spaced(first) {
        if let Some(prev) = i.checked_sub(1).and_then(|p| toks.get(p)) {
            if prev.word() && !prev.has(CUE | WEAK_CUE) {
                return None;
            }
        }
    }
    let mut j = i;
    while toks.get(j).is_some_and(Tok::particle) {
        j += 1;
        if !toks.get(j).is_some_and(spaced) {
            return None;
        }
    }
    let particles = j > i;
    let s = at(toks, j)?;
    if s.possessive || !s.surname(s.case) {
        return None;
    }
    // Particles take the surname's case: "VAN DIJK", "van Dijk", not "von KOWALCZYK".
    if s.case == Case::Upper
        && toks
            .get(i..j)
            .is_some_and(|ps| ps.iter().any(|p| p.case != Case::Upper))
    {
        return None;
    }
    let g = at(toks, j + 1)?;
    if !g.given() {
        return None;
    }
    let evidence = particles || alone || s.surname_evidence() || cue_before(toks, i, true);
    let mut last = j + 1;
    match (s.case, g.gap, g.case) {
        // "SCHMIDT Hannah", "VAN DIJK Bram".
        (Case::Upper, Gap::Space, Case::Cap) => {
            if s.letters < 2 || (g.has(AMBIGUOUS) && !evidence) {
                return None;
            }
        }
        // "Clarke, Amelia", "MOREAU, Camille", "de vries, daan".
        (Case::Cap, Gap::Comma, Case::Cap)
        | (Case::Upper, Gap::Comma, Case::Upper | Case::Cap)
        | (Case::Lower, Gap::Comma, Case::Lower) => {
            if g.has(AMBIGUOUS) && !evidence {
                return None;
            }
        }
        // "ROSSI GIULIA", "Horvat Ivan": only with a listed surname that is not also a given
        // name, and no surname-like word after (that would be "Given Surname").
        (Case::Upper, Gap::Space, Case::Upper) | (Case::Cap, Gap::Space, Case::Cap) => {
            if !s.has(SURNAME) || s.has(GIVEN | PLACE) || particles {
                return None;
            }
            if g.has(AMBIGUOUS) && !cue_before(toks, i, false) {
                return None;
            }
            if let Some(n) = toks.get(j + 2) {
                if spaced(n) && n.surname(g.case) && !g.possessive {
                    // "Nguyen Thi Lan", "Kim Min Jun"; another surname-like word would make
                    // it "Given Surname" starting at `g`.
                    if n.has(GIVEN) {
                        last = j + 2;
                    } else {
                        return None;
                    }
                }
            }
        }
        _ => return None,
    }
    // A second given name: "SCHMIDT Anna Maria", "Müller, Hans Peter".
    if last == j + 1 && !g.possessive {
        if let Some(n) = toks.get(j + 2) {
            if spaced(n) && n.given() && !n.has(AMBIGUOUS) && n.case == g.case {
                last = j + 2;
            }
        }
    }
    let end_tok = at(toks, last)?;
    if lex.is_brand(g.hash, s.hash) || business_after(toks, last) || end_tok.attached {
        return None;
    }
    Some(last)
}
