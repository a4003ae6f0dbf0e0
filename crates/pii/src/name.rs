//! The record's own customer name wherever it appears in free text: full name, "Last, First",
//! "First Last" without middle names, and each name part of three or more letters on its own.
//! Case-insensitive and accent-insensitive, honouring word boundaries ("Ann" does not match
//! inside "Annual"); scripts written without spaces (CJK) match without boundaries.

use crate::{PiiKind, PiiSpan};

const MAX_TOKENS: usize = 8;
/// Full name, first+last, last+first, then one pattern per token.
const MAX_PATTERNS: usize = 3 + MAX_TOKENS;
/// Shortest name part matched on its own (in characters).
const MIN_PART_CHARS: usize = 3;

/// Lower-cases and strips common Latin diacritics so "JOSÉ" matches "jose"; maps typographic
/// apostrophes to '\''. One char in, one char out, so offsets stay with the original text.
pub(crate) fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let l = c.to_lowercase().next().unwrap_or(c);
    match l {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
        'ğ' | 'ĝ' | 'ģ' => 'g',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' => 'i',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
        'ŕ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
        'ý' | 'ÿ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '`' | '´' => '\'',
        other => other,
    }
}

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
    let mut tokens = [""; MAX_TOKENS];
    let mut n = 0;
    for t in name.split(is_name_separator) {
        let t = t.trim_matches(|c: char| !c.is_alphanumeric());
        if t.is_empty() {
            continue;
        }
        if n == MAX_TOKENS {
            break;
        }
        tokens[n] = t;
        n += 1;
    }
    let tokens = &tokens[..n];
    if tokens.is_empty() {
        return;
    }

    let mut patterns = [Pattern {
        tokens: [0; MAX_TOKENS],
        len: 0,
    }; MAX_PATTERNS];
    let mut p = 0;
    let mut add = |idx: &[usize]| {
        let chars: usize = idx
            .iter()
            .filter_map(|&i| tokens.get(i))
            .map(|t| t.chars().count())
            .sum();
        if chars < MIN_PART_CHARS || p == MAX_PATTERNS {
            return;
        }
        let mut pat = Pattern {
            tokens: [0; MAX_TOKENS],
            len: idx.len(),
        };
        for (slot, &i) in pat.tokens.iter_mut().zip(idx) {
            // i < MAX_TOKENS <= u8::MAX
            *slot = i as u8;
        }
        patterns[p] = pat;
        p += 1;
    };
    let all: [usize; MAX_TOKENS] = [0, 1, 2, 3, 4, 5, 6, 7];
    add(&all[..n]);
    if n >= 3 {
        add(&[0, n - 1]);
    }
    if n >= 2 {
        add(&[n - 1, 0]);
        for i in 0..n {
            add(&[i]);
        }
    }
    let patterns = &patterns[..p];

    let mut prev: Option<char> = None;
    let mut skip_until = 0;
    for (pos, c) in text.char_indices() {
        let before = prev;
        prev = Some(c);
        if pos < skip_until {
            continue;
        }
        let fc = fold_char(c);
        for pat in patterns {
            let Some(first) = pat.tokens.first().and_then(|&i| tokens.get(usize::from(i))) else {
                continue;
            };
            let Some(edge) = first.chars().next() else {
                continue;
            };
            if fold_char(edge) != fc || !boundary_ok(before, edge) {
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
    let mut it = rest.char_indices().peekable();
    let mut last_edge = ' ';
    for (k, &ti) in pat.tokens.iter().take(pat.len).enumerate() {
        if k > 0 {
            let mut seps = 0;
            while it.peek().is_some_and(|&(_, c)| is_name_separator(c)) {
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
        let token = tokens.get(usize::from(ti))?;
        for want in token.chars() {
            let (_, got) = it.next()?;
            if fold_char(got) != fold_char(want) {
                return None;
            }
            last_edge = want;
        }
    }
    let end = it.peek().map_or(rest.len(), |&(i, _)| i);
    let next = it.peek().map(|&(_, c)| c);
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
    }

    #[test]
    fn short_names_are_not_matched_alone() {
        assert!(found("Li went to the shop", "Li").is_empty());
        assert_eq!(found("Li Na paid", "Li Na"), ["Li Na"]);
        assert!(found("Na", "Li Na").is_empty());
    }
}
