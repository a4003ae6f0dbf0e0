//! Splits text into word tokens for the name finder, a window of [`WINDOW`] tokens at a time,
//! folding each word and looking it up in the lexicon as it goes.

use unicode_normalization::char::is_combining_mark;

use super::lexicon::{fnv, Lexicon, AMBIGUOUS, FNV_OFFSET, GIVEN, SURNAME, WEAK};
use super::token::{Case, Gap, Tok};
use crate::fold::fold;

/// Tokens per window; longer texts are scanned in overlapping windows.
pub(super) const WINDOW: usize = 64;
/// Tokens of context carried into the next window.
pub(super) const OVERLAP: usize = 8;
/// Longest folded word that is looked up (longer ones are still words, never listed).
const MAX_KEY: usize = 40;

/// Folded form of the word being scanned (lower-case ASCII plus '-' and '\''); words that
/// fold to other characters (Cyrillic, Greek, CJK) or run longer than `MAX_KEY` are not
/// looked up.
struct Key {
    bytes: [u8; MAX_KEY],
    len: usize,
    ascii: bool,
    separators: bool,
}

impl Key {
    fn new() -> Self {
        Self {
            bytes: [0; MAX_KEY],
            len: 0,
            ascii: true,
            separators: false,
        }
    }

    fn push(&mut self, b: u8) {
        match self.bytes.get_mut(self.len) {
            Some(slot) => *slot = b,
            None => self.ascii = false,
        }
        self.len += 1;
        self.separators |= b == b'-' || b == b'\'';
    }

    fn push_char(&mut self, c: char) {
        if c.is_ascii() {
            // `c` is ASCII, so the cast is lossless.
            self.push(c as u8);
        } else {
            self.ascii = false;
        }
    }

    /// Drops a trailing "'s"; true when there was one.
    fn strip_possessive(&mut self) -> bool {
        let n = self.len;
        if self.ascii && n >= 3 && self.bytes.get(n - 2..n) == Some(b"'s".as_slice()) {
            self.len -= 2;
            return true;
        }
        false
    }

    /// Lexicon flags and hash of the word.
    fn finish(&self, lex: &Lexicon) -> (u16, u64) {
        let Some(key) = self
            .bytes
            .get(..self.len)
            .filter(|_| self.ascii && self.len > 0)
        else {
            return (0, 0);
        };
        let full = key.iter().copied().fold(FNV_OFFSET, fnv);
        let mut flags = lex.get(full);
        if flags == 0 && self.separators {
            // "O'Brien" as "obrien"; "Anna-Lena", "Jean-Pierre", "Min-jun": given when every
            // part is (or the joined form is); "Schmidt-Weber": a surname when a part is.
            let joined = key
                .iter()
                .copied()
                .filter(|&b| b != b'-' && b != b'\'')
                .fold(FNV_OFFSET, fnv);
            flags = lex.get(joined);
            if flags == 0 && key.contains(&b'-') {
                let (mut all_given, mut all_ambiguous, mut surname) = (true, true, false);
                for part in key.split(|&b| b == b'-').take(4) {
                    let f = lex.get(part.iter().copied().fold(FNV_OFFSET, fnv));
                    all_given &= f & GIVEN != 0;
                    all_ambiguous &= f & AMBIGUOUS != 0;
                    surname |= f & SURNAME != 0 && f & WEAK == 0;
                }
                if all_given {
                    flags |= GIVEN | if all_ambiguous { AMBIGUOUS } else { 0 };
                }
                if surname {
                    flags |= SURNAME;
                }
            }
        }
        (flags, full)
    }

    /// First 4 and last 8 bytes of the folded form, and its length (0 when not looked up).
    fn ends(&self) -> ([u8; 4], [u8; 8], u8) {
        let mut head = [0; 4];
        let mut tail = [0; 8];
        let Some(key) = self.bytes.get(..self.len).filter(|_| self.ascii) else {
            return (head, tail, 0);
        };
        for (d, s) in head.iter_mut().zip(key) {
            *d = *s;
        }
        for (d, s) in tail.iter_mut().rev().zip(key.iter().rev()) {
            *d = *s;
        }
        (head, tail, u8::try_from(key.len()).unwrap_or(u8::MAX))
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '\u{02BC}')
}

/// Characters that glue a word to an address or a code when directly before it.
fn glue_before(c: char) -> bool {
    c.is_ascii_digit()
        || matches!(
            c,
            '@' | '_' | '.' | '/' | '\\' | '#' | '+' | '=' | '%' | '&'
        )
}

/// Splits `text[from..]` into word tokens; returns their number and whether text remains.
pub(super) fn tokenize(
    text: &str,
    from: usize,
    first_window: bool,
    lex: &Lexicon,
    toks: &mut [Tok; WINDOW],
) -> (usize, bool) {
    let Some(rest) = text.get(from..) else {
        return (0, false);
    };
    let mut n = 0;
    let mut prev_end: Option<usize> = if first_window { None } else { Some(from) };
    let mut chars = rest.char_indices().peekable();
    let mut before: Option<char> = if first_window {
        None
    } else {
        text.get(..from).and_then(|s| s.chars().next_back())
    };
    while let Some((off, c)) = chars.next() {
        if !c.is_alphabetic() {
            before = Some(c);
            continue;
        }
        if n == WINDOW {
            return (n, true);
        }
        let start = from + off;
        let mut key = Key::new();
        let (mut upper, mut lower, mut letters) = (0u32, 0u32, 0u32);
        let first_upper = c.is_uppercase();
        // Letters before the first '-' or apostrophe, and the case of the letter after it.
        let (mut prefix_letters, mut prefix_lower) = (0u32, true);
        let mut after_sep_upper: Option<bool> = None;
        let mut seen_sep = false;
        let mut end = start;
        let mut cur = Some((off, c));
        while let Some((o, ch)) = cur {
            let alpha = ch.is_alphabetic();
            if alpha || (!ch.is_ascii() && is_combining_mark(ch)) {
                if alpha {
                    letters += 1;
                    let (up, low) = if ch.is_ascii() {
                        (ch.is_ascii_uppercase(), ch.is_ascii_lowercase())
                    } else {
                        (ch.is_uppercase(), ch.is_lowercase())
                    };
                    upper += u32::from(up);
                    lower += u32::from(low);
                    if !seen_sep {
                        prefix_letters += 1;
                        prefix_lower &= low;
                    } else if after_sep_upper.is_none() {
                        after_sep_upper = Some(up);
                    }
                }
                if ch.is_ascii() {
                    // ASCII letter: lossless cast.
                    key.push((ch as u8).to_ascii_lowercase());
                } else {
                    for f in fold(ch).chars() {
                        key.push_char(f);
                    }
                }
                end = from + o + ch.len_utf8();
                cur = chars.next();
                continue;
            }
            let joins = (is_apostrophe(ch) || ch == '-')
                && chars.peek().is_some_and(|&(_, nx)| nx.is_alphabetic());
            if !joins {
                break;
            }
            seen_sep = true;
            key.push(if ch == '-' { b'-' } else { b'\'' });
            end = from + o + ch.len_utf8();
            cur = chars.next();
        }
        // `cur` is the char after the word, already taken from the iterator (never a letter).
        let next = cur.map(|(_, ch)| ch);
        let next2 = chars.peek().map(|&(_, ch)| ch);
        let possessive = key.strip_possessive();
        let name_end = if possessive {
            // The word minus its "'s": cut at the apostrophe (second char from the end).
            text.get(start..end)
                .and_then(|w| w.char_indices().rev().nth(1).map(|(k, _)| start + k))
                .unwrap_or(end)
        } else {
            end
        };
        let (flags, hash) = key.finish(lex);
        let (head, tail, key_len) = key.ends();
        let case = if upper == 0 && lower > 0 {
            Case::Lower
        } else if lower == 0 && upper > 0 {
            Case::Upper
        } else if upper > 0 && first_upper {
            Case::Cap
        } else if upper > 0 && prefix_lower && prefix_letters <= 3 && after_sep_upper == Some(true)
        {
            // "al-Hassan", "d'Angelo".
            Case::Cap
        } else {
            Case::Other
        };
        let dot = next == Some('.');
        // "J.P." keeps its second initial; "amzn.de" and "a.b@c" glue their parts.
        let attached_before =
            before.is_some_and(glue_before) && !(before == Some('.') && letters == 1);
        let attached_after = match next {
            Some(ch) if ch.is_ascii_digit() || ch == '@' || ch == '_' => true,
            Some('.') => next2.is_some_and(char::is_alphanumeric) && letters > 1,
            _ => false,
        };
        let gap = match prev_end {
            None => Gap::Start,
            Some(p) => classify_gap(text.get(p..start).unwrap_or("")),
        };
        if let Some(slot) = toks.get_mut(n) {
            *slot = Tok {
                start,
                end: name_end,
                hash,
                flags,
                case,
                letters: u8::try_from(letters).unwrap_or(u8::MAX),
                dot,
                gap,
                possessive,
                attached: attached_before || attached_after,
                head,
                tail,
                key_len,
            };
            n += 1;
        }
        prev_end = Some(end);
        before = next;
    }
    (n, false)
}

fn classify_gap(gap: &str) -> Gap {
    if let Some(rest) = gap.trim_start().strip_prefix('&') {
        let lead = gap.len() - gap.trim_start().len();
        return if lead <= 3 && rest.chars().all(char::is_whitespace) && rest.len() <= 3 {
            Gap::Amp
        } else {
            Gap::Break
        };
    }
    let mut chars = gap.chars();
    let Some(first) = chars.next() else {
        return Gap::Break;
    };
    let (kind, rest_spaces) = match first {
        '.' => (Gap::Dot, true),
        ',' => (Gap::Comma, true),
        ':' => (Gap::Colon, true),
        '/' => (Gap::Slash, true),
        '&' => (Gap::Amp, true),
        c if c.is_whitespace() => (Gap::Space, true),
        _ => (Gap::Break, false),
    };
    if !rest_spaces {
        return Gap::Break;
    }
    let mut spaces = usize::from(first.is_whitespace());
    for c in chars {
        if !c.is_whitespace() {
            return Gap::Break;
        }
        spaces += 1;
        if spaces > 3 {
            return Gap::Break;
        }
    }
    if kind == Gap::Space && spaces == 0 {
        return Gap::Break;
    }
    kind
}
