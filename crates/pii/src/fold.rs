//! Case- and accent-insensitive folding of characters, shared by the customer-name matcher,
//! the third-party name finder and the numeric context-word lookup.

use unicode_normalization::char::{decompose_compatible, is_combining_mark};

/// Up to four folded chars for one source char.
#[derive(Clone, Copy)]
pub(crate) struct Folded {
    buf: [char; 4],
    len: usize,
}

impl Folded {
    fn new() -> Self {
        Self {
            buf: ['\0'; 4],
            len: 0,
        }
    }

    fn of(chars: &[char]) -> Self {
        let mut f = Self::new();
        for &c in chars {
            f.push(c);
        }
        f
    }

    fn push(&mut self, c: char) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = c;
            self.len += 1;
        }
    }

    pub(crate) fn first(&self) -> Option<char> {
        self.buf.get(..self.len).and_then(|s| s.first().copied())
    }

    pub(crate) fn chars(self) -> impl Iterator<Item = char> {
        self.buf.into_iter().take(self.len)
    }
}

/// Case- and accent-insensitive form of a char: compatibility decomposition (so full-width
/// "Ｍ" is "m" and "ễ" is "e"), combining marks dropped, lower-cased, plus the letters that
/// plain ASCII writes differently ("ß" → "ss", "ø" → "o", "æ" → "ae"); typographic
/// apostrophes become '\''. A lone combining mark folds to nothing.
pub(crate) fn fold(c: char) -> Folded {
    if c.is_ascii() {
        return Folded::of(&[c.to_ascii_lowercase()]);
    }
    match c {
        'ß' | 'ẞ' => return Folded::of(&['s', 's']),
        'æ' | 'Æ' => return Folded::of(&['a', 'e']),
        'œ' | 'Œ' => return Folded::of(&['o', 'e']),
        'þ' | 'Þ' => return Folded::of(&['t', 'h']),
        'ø' | 'Ø' => return Folded::of(&['o']),
        'ł' | 'Ł' => return Folded::of(&['l']),
        'đ' | 'Đ' => return Folded::of(&['d']),
        'ı' => return Folded::of(&['i']),
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '´' => return Folded::of(&['\'']),
        _ => {}
    }
    let mut f = Folded::new();
    decompose_compatible(c, |d| {
        if !is_combining_mark(d) {
            for l in d.to_lowercase() {
                f.push(l);
            }
        }
    });
    f
}

/// First char of [`fold`], or the char itself when it folds to nothing.
pub(crate) fn fold_char(c: char) -> char {
    fold(c).first().unwrap_or(c)
}

/// Folded chars of `s`, each with the byte offset (relative to `s`) just after its source char
/// when it is the last char of that char's expansion.
pub(crate) fn folded(s: &str) -> impl Iterator<Item = (char, Option<usize>)> + '_ {
    s.char_indices().flat_map(|(i, c)| {
        let end = i + c.len_utf8();
        let f = fold(c);
        let last = f.len.saturating_sub(1);
        f.chars()
            .enumerate()
            .map(move |(k, x)| (x, (k == last).then_some(end)))
    })
}

/// Some word of `text` starts with one of `prefixes` (lower-case), compared case-insensitively
/// (ASCII case only; a prefix may hold non-ASCII letters in their lower-case form). A cheap
/// gate in front of the cue-driven patterns: it looks at word starts only.
pub(crate) fn any_word_starts_with(text: &str, prefixes: &[&str]) -> bool {
    // First letters of the prefixes as a bit set over 'a'..='z': most words fail that test.
    let mask = prefixes
        .iter()
        .filter_map(|p| p.bytes().next())
        .fold(0u32, |m, c| m | 1 << (c.wrapping_sub(b'a') & 31));
    let b = text.as_bytes();
    let mut prev_alnum = false;
    for (i, &c) in b.iter().enumerate() {
        let alnum = c.is_ascii_alphanumeric() || c >= 0x80;
        if alnum && !prev_alnum && mask & 1 << (c.to_ascii_lowercase().wrapping_sub(b'a') & 31) != 0
        {
            let rest = b.get(i..).unwrap_or_default();
            if prefixes.iter().any(|p| {
                rest.get(..p.len())
                    .is_some_and(|r| r.eq_ignore_ascii_case(p.as_bytes()))
            }) {
                return true;
            }
        }
        prev_alnum = alnum;
    }
    false
}
