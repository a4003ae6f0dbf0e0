//! A word token of the name finder and what one word alone says: its case, what separates it
//! from the previous word, its lexicon flags and whether it is shaped like a surname or like
//! an ordinary word.

use super::lexicon::{GIVEN, NOT_SURNAME, PARTICLE, SURNAME, WEAK};

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum Case {
    /// "Maria", "O'Brien", "McDonald", "al-Hassan".
    Cap,
    /// "MARIA", "O'BRIEN", "M" (a single capital letter).
    Upper,
    /// "maria".
    Lower,
    /// "iPhone", CJK, anything else.
    #[default]
    Other,
}

/// What separates a token from the previous one.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(super) enum Gap {
    /// First token of the text.
    #[default]
    Start,
    /// One to three spaces.
    Space,
    /// A full stop, then up to three spaces ("J. Smith", "J.P.").
    Dot,
    /// A comma, then up to three spaces ("Smith, John").
    Comma,
    /// A colon, then spaces ("name: John Smith").
    Colon,
    /// A slash, then spaces ("w/ John").
    Slash,
    /// An ampersand between spaces ("Smith & Sons").
    Amp,
    /// Anything else: other punctuation, digits, long runs of spaces.
    Break,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Tok {
    pub(super) start: usize,
    /// End of the name part (before a possessive "'s").
    pub(super) end: usize,
    pub(super) hash: u64,
    pub(super) flags: u16,
    pub(super) case: Case,
    pub(super) letters: u8,
    /// Directly followed by '.'.
    pub(super) dot: bool,
    pub(super) gap: Gap,
    pub(super) possessive: bool,
    /// Glued to digits, '@', '_' or a domain: part of an address or code, not a word.
    pub(super) attached: bool,
    /// First and last bytes of the folded form, for the spelling checks (`strong`, `wordy`).
    pub(super) head: [u8; 4],
    pub(super) tail: [u8; 8],
    pub(super) key_len: u8,
}

impl Tok {
    pub(super) fn has(&self, f: u16) -> bool {
        self.flags & f != 0
    }

    pub(super) fn word(&self) -> bool {
        !self.attached && self.case != Case::Other
    }

    /// "J." (a capital letter and a full stop).
    pub(super) fn initial(&self) -> bool {
        self.letters == 1 && self.case == Case::Upper && self.dot && !self.attached
    }

    pub(super) fn given(&self) -> bool {
        self.has(GIVEN) && self.word() && self.letters >= 2 && !self.possessive
    }

    pub(super) fn particle(&self) -> bool {
        self.has(PARTICLE) && self.word() && !self.possessive
    }

    /// Fills the surname slot of a name written in `ctx` case.
    pub(super) fn surname(&self, ctx: Case) -> bool {
        let case_ok = match ctx {
            Case::Cap => matches!(self.case, Case::Cap | Case::Upper),
            Case::Upper => self.case == Case::Upper,
            Case::Lower => self.case == Case::Lower,
            Case::Other => false,
        };
        case_ok
            && self.word()
            && !self.has(NOT_SURNAME)
            && (self.letters >= 3
                || (self.letters == 2 && self.has(SURNAME) && self.case != Case::Lower))
    }

    /// A listed surname or a surname shape: supports an ambiguous given name.
    pub(super) fn surname_evidence(&self) -> bool {
        (self.has(SURNAME) && !self.has(WEAK)) || self.strong()
    }

    /// The folded tail (up to 8 bytes) and the full folded length.
    fn tail(&self) -> (&[u8], usize) {
        let n = usize::from(self.key_len);
        let t = n.min(self.tail.len());
        (self.tail.get(self.tail.len() - t..).unwrap_or(&[]), n)
    }

    /// Surname-shaped: O'…, Mc…, …son, …ski, …ez, …ova ….
    fn strong(&self) -> bool {
        let (tail, n) = self.tail();
        let head = self.head.get(..n.min(self.head.len())).unwrap_or(&[]);
        let starts = |p: &[u8]| n > p.len() + 1 && head.starts_with(p);
        starts(b"o'")
            || starts(b"d'")
            || starts(b"mc")
            || starts(b"mac")
            || starts(b"al-")
            || starts(b"el-")
            || starts(b"fitz")
            || (n >= 5 && has_suffix(tail, n, STRONG_SUFFIXES))
    }

    /// Ends like an ordinary word ("swimming", "weekly", "payment").
    pub(super) fn wordy(&self) -> bool {
        let (tail, n) = self.tail();
        has_suffix(tail, n, WORD_SUFFIXES)
    }
}

/// Surname endings and prefixes that rarely end an ordinary word.
const STRONG_SUFFIXES: &[&str] = &[
    "sson", "sen", "son", "ski", "ska", "sky", "cki", "cka", "dzki", "wicz", "icz", "ovic", "evic",
    "ova", "ov", "ev", "enko", "chuk", "ian", "yan", "escu", "idis", "akis", "opoulos", "ini",
    "elli", "etti", "ucci", "oglu", "mann", "berg", "stein", "inen", "nen", "dottir", "quist",
    "qvist", "gaard", "strom", "moto", "mura", "kawa", "yama", "hashi", "shima", "zaki", "saki",
    "ez", "ers", "ner", "wski", "wska", "ak", "ek", "ik",
];

/// Endings of ordinary English, German and Romance words that rarely end a surname.
const WORD_SUFFIXES: &[&str] = &[
    "ing", "ed", "ly", "tion", "sion", "ness", "ment", "ity", "able", "ible", "ful", "less", "ous",
    "ive", "ism", "ist", "ship", "hood", "ware", "work", "works", "ery", "ary", "ory", "ics",
    "ize", "ise", "ung", "heit", "keit", "schaft", "ismo", "mente", "cion", "zione",
];

/// `tail` (the last bytes of a folded word of `len` bytes) ends with one of `suffixes`, and
/// the word is at least two bytes longer than the suffix.
fn has_suffix(tail: &[u8], len: usize, suffixes: &[&str]) -> bool {
    suffixes
        .iter()
        .any(|s| len > s.len() + 1 && tail.ends_with(s.as_bytes()))
}
