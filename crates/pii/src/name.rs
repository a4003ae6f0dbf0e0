//! The record's own customer name wherever it appears in free text: full name, "Last, First",
//! "First Last" without middle names, and each name part of three or more letters on its own.
//! Case-insensitive and accent-insensitive, honouring word boundaries ("Ann" does not match
//! inside "Annual"); scripts written without spaces (CJK) match without boundaries.

use unicode_normalization::char::is_combining_mark;

use crate::fold::{fold, folded};
use crate::span::{PiiKind, PiiSpan};

const MAX_TOKENS: usize = 8;
/// Full name, first+last, last+first, then one pattern per token.
/// Full name, surname first, last+first, first+last, two initial forms, each hyphenated word,
/// each part.
const MAX_PATTERNS: usize = 6 + 2 * MAX_TOKENS;
/// Pattern token flag: match only the token's first letter (an initial, "J." or "J").
const INITIAL: u8 = 0x80;
/// Surname particles that are not matched on their own ("van" in "Bram van Dijk").
const PARTICLES: &[&str] = &[
    "van", "von", "der", "den", "del", "della", "dos", "das", "les", "ten", "ter", "bin", "binti",
    "ibn", "zum", "zur", "mac",
];
/// Shortest name part matched on its own (in characters).
const MIN_PART_CHARS: usize = 3;

/// Han, Hiragana, Katakana: written without spaces between words.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{30FF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FFFF}')
}

fn is_name_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | ',' | '.')
}

/// A neighbour character keeps the boundary when it is not part of a word, or when the name's
/// edge is CJK.
fn boundary_ok(neighbour: Option<char>, edge: char) -> bool {
    neighbour.is_none_or(|c| !c.is_alphanumeric()) || is_cjk(edge)
}

#[derive(Clone, Copy)]
struct Pattern {
    tokens: [u8; MAX_TOKENS],
    len: usize,
}

/// Finds `name` in `text`; pushes one span per occurrence (longest pattern first).
pub(crate) fn find(text: &str, name: &str, out: &mut Vec<PiiSpan>) {
    // Tokens are the name's parts; words group the parts joined by '-' or '.' ("Ann-Marie").
    let mut tokens = [""; MAX_TOKENS];
    let mut words = [(0usize, 0usize); MAX_TOKENS];
    let (mut n, mut w) = (0, 0);
    for word in name.split(|c: char| c.is_whitespace() || c == ',') {
        let first = n;
        for t in word.split(['-', '.']) {
            let t = t.trim_matches(|c: char| !c.is_alphanumeric());
            if !t.is_empty() && n < MAX_TOKENS {
                tokens[n] = t;
                n += 1;
            }
        }
        if n > first {
            words[w] = (first, n);
            w += 1;
        }
    }
    let tokens = &tokens[..n];
    let words = &words[..w];
    let (Some(&first_word), Some(&last_word)) = (words.first(), words.last()) else {
        return;
    };

    let mut patterns = [Pattern {
        tokens: [0; MAX_TOKENS],
        len: 0,
    }; MAX_PATTERNS];
    let mut p = 0;
    // `parts` are token ranges; `initial` turns the first token into its first letter.
    let mut add = |parts: &[(usize, usize)], initial: bool| {
        let idx = parts.iter().flat_map(|&(a, b)| a..b);
        let chars: usize = idx
            .clone()
            .filter_map(|i| tokens.get(i))
            .map(|t| t.chars().count())
            .sum();
        let lone_particle = matches!(parts, [(a, b)] if b - a == 1
            && tokens
                .get(*a)
                .is_some_and(|t| PARTICLES.iter().any(|x| x.eq_ignore_ascii_case(t))));
        if chars < MIN_PART_CHARS || lone_particle || p == MAX_PATTERNS {
            return;
        }
        let mut pat = Pattern {
            tokens: [0; MAX_TOKENS],
            len: 0,
        };
        for (slot, i) in pat.tokens.iter_mut().zip(idx) {
            // i < MAX_TOKENS < INITIAL
            *slot = i as u8;
            pat.len += 1;
        }
        if initial {
            pat.tokens[0] |= INITIAL;
        }
        patterns[p] = pat;
        p += 1;
    };
    // Longest first: at each position the first pattern that matches wins.
    let (fw, lw) = (first_word, last_word);
    let surname = (fw.1, n);
    add(&[(0, n)], false);
    if w >= 2 {
        // "van Dijk, Bram", "GARCÍA LÓPEZ María".
        add(&[surname, fw], false);
        // "J. Smith", "B. van Dijk".
        add(&[(fw.0, fw.0 + 1), surname], true);
    }
    if w >= 3 {
        add(&[lw, fw], false);
        add(&[fw, lw], false);
        add(&[(fw.0, fw.0 + 1), lw], true);
    }
    if n >= 2 {
        for &(a, b) in words.iter().filter(|(a, b)| b - a >= 2) {
            add(&[(a, b)], false);
        }
        for i in 0..n {
            add(&[(i, i + 1)], false);
        }
    }
    let patterns = &patterns[..p];
    // Each pattern's first letter (as written, and folded) for a cheap pre-check per position.
    let mut heads = [(' ', None); MAX_PATTERNS];
    for (head, pat) in heads.iter_mut().zip(patterns) {
        let edge = pat
            .tokens
            .first()
            .and_then(|&i| tokens.get(usize::from(i & !INITIAL)))
            .and_then(|t| t.chars().next());
        if let Some(edge) = edge {
            *head = (edge, fold(edge).first());
        }
    }

    let mut prev: Option<char> = None;
    let mut skip_until = 0;
    for (pos, c) in text.char_indices() {
        let before = prev;
        prev = Some(c);
        if pos < skip_until {
            continue;
        }
        let Some(fc) = fold(c).first() else {
            continue;
        };
        for (pat, &(edge, head)) in patterns.iter().zip(&heads) {
            if head != Some(fc) || !boundary_ok(before, edge) {
                continue;
            }
            if let Some(end) = match_at(text, pos, tokens, pat) {
                out.push(PiiSpan {
                    kind: PiiKind::PersonName,
                    start: pos,
                    end,
                });
                skip_until = end;
                break;
            }
        }
    }
}

/// Matches the pattern's tokens at `pos` (separated by 1–3 separator characters) and returns
/// the end offset if the match ends at a word boundary.
fn match_at(text: &str, pos: usize, tokens: &[&str], pat: &Pattern) -> Option<usize> {
    let rest = text.get(pos..)?;
    let mut it = folded(rest).peekable();
    let mut last_edge = ' ';
    let mut end = None;
    for (k, &ti) in pat.tokens.iter().take(pat.len).enumerate() {
        if k > 0 {
            let mut seps = 0;
            while it.peek().is_some_and(|&(c, _)| is_name_separator(c)) {
                it.next();
                seps += 1;
                if seps > 3 {
                    return None;
                }
            }
            if seps == 0 {
                return None;
            }
        }
        let token = tokens.get(usize::from(ti & !INITIAL))?;
        if ti & INITIAL != 0 {
            // One letter; the separator loop then takes "." and spaces, and requires one.
            let want = token.chars().next().and_then(|c| fold(c).first())?;
            let (got, got_end) = it.next()?;
            if got != want || got_end.is_none() {
                return None;
            }
            end = got_end;
            last_edge = want;
            continue;
        }
        for (want, _) in folded(token) {
            let (got, got_end) = it.next()?;
            if got != want {
                return None;
            }
            end = got_end;
        }
        last_edge = token.chars().next_back().unwrap_or(last_edge);
    }
    // The match must not stop inside an expanded char ("ss" of "ß" against "s"), and takes
    // the combining marks of its last letter along ("e" + U+0301).
    let mut end = end?;
    let tail = rest.get(end..).unwrap_or("");
    end += tail
        .chars()
        .take_while(|&c| is_combining_mark(c))
        .map(char::len_utf8)
        .sum::<usize>();
    let next = rest.get(end..).and_then(|r| r.chars().next());
    boundary_ok(next, last_edge).then_some(pos + end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found<'t>(text: &'t str, name: &str) -> Vec<&'t str> {
        let mut out = Vec::new();
        find(text, name, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn full_name_and_parts() {
        assert_eq!(
            found("Refund to JOHN  SMITH ref", "John Smith"),
            ["JOHN  SMITH"]
        );
        assert_eq!(
            found("smith, john paid; John again", "John Smith"),
            ["smith, john", "John"]
        );
        assert_eq!(found("John Smith", "John Michael Smith"), ["John Smith"]);
        assert_eq!(found("gift from J. Smith", "John Smith"), ["J. Smith"]);
        assert_eq!(found("É. Lefèvre <x>", "Élodie Lefèvre"), ["É. Lefèvre"]);
        assert_eq!(
            found("VAN DIJK Bram paid", "Bram van Dijk"),
            ["VAN DIJK Bram"]
        );
        assert_eq!(found("van Dijk, Bram", "Bram van Dijk"), ["van Dijk, Bram"]);
        assert_eq!(found("B. van Dijk", "Bram van Dijk"), ["B. van Dijk"]);
        assert!(found("a van arrived", "Bram van Dijk").is_empty());
        assert_eq!(found("JS Smith", "John Smith"), ["Smith"]);
        assert_eq!(
            found("Ann-Marie paid Annmarie", "Ann-Marie Jones"),
            ["Ann-Marie"]
        );
        assert_eq!(
            found("Ann Marie JONES", "Ann-Marie Jones"),
            ["Ann Marie JONES"]
        );
        assert_eq!(
            found("Jones, Ann-Marie", "Ann-Marie Jones"),
            ["Jones, Ann-Marie"]
        );
    }

    #[test]
    fn word_boundaries() {
        assert_eq!(found("Annual fee for Ann's card", "Ann Lee"), ["Ann"]);
        assert!(found("Leeds branch", "Ann Lee").is_empty());
    }

    #[test]
    fn unicode() {
        assert_eq!(
            found("Virement de JOSÉ GARCÍA", "José García"),
            ["JOSÉ GARCÍA"]
        );
        assert_eq!(found("Pago a jose garcia", "José García"), ["jose garcia"]);
        assert_eq!(found("付款给王小明的", "王小明"), ["王小明"]);
        assert_eq!(found("Brief an Müller", "Jörg Müller"), ["Müller"]);
        assert_eq!(
            found("an STRAUSS und Strauß", "Johann Strauß"),
            ["STRAUSS", "Strauß"]
        );
        assert_eq!(found("Fa. Groß", "Anna Gross"), ["Groß"]);
        assert!(found("Straus", "Johann Strauß").is_empty());
        assert_eq!(found("ＭＡＲＴＩＮ paid", "Martin Roux"), ["ＭＡＲＴＩＮ"]);
        assert_eq!(found("Nguyễn Văn An", "Nguyen Van An"), ["Nguyễn Văn An"]);
        assert_eq!(found("Jose\u{301} paid", "José Ruiz"), ["Jose\u{301}"]);
        assert_eq!(found("Łukasz Żółć", "Lukasz Zolc"), ["Łukasz Żółć"]);
    }

    #[test]
    fn short_names_are_not_matched_alone() {
        assert!(found("Li went to the shop", "Li").is_empty());
        assert_eq!(found("Li Na paid", "Li Na"), ["Li Na"]);
        assert!(found("Na", "Li Na").is_empty());
    }
}
