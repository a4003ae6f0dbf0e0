//! Candidates for the numeric kinds: the digit groups of a numeric run (as the tokenizer in
//! `numeric` reads them) and a contiguous range of them with its surroundings ([`Sub`]), which
//! the card, phone and national-id rules judge.

use crate::keyword::Keyword;

/// The separator in front of a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gap {
    /// First group of a run.
    First,
    /// One or two spaces, a no-break or thin space, or " - ".
    Space,
    Dash,
    Dot,
    /// "030/1234567", "710319/2745".
    Slash,
    /// No separator: next to a parenthesised group, as in "(212)555" or "44(0)20".
    Tight,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Group {
    /// Byte range of the digits.
    pub start: usize,
    pub end: usize,
    /// Digits are wrapped in "(" ... ")".
    pub paren: bool,
    pub gap: Gap,
}

impl Group {
    pub(crate) const EMPTY: Group = Group {
        start: 0,
        end: 0,
        paren: false,
        gap: Gap::First,
    };

    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    pub(crate) fn outer_start(&self) -> usize {
        self.start - usize::from(self.paren)
    }

    pub(crate) fn outer_end(&self) -> usize {
        self.end + usize::from(self.paren)
    }
}

/// How a run touches the text around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attach {
    /// Free-standing (space, punctuation, start or end of text).
    None,
    /// Glued to a letter, currency sign or '#': "ORD-5551234", "$1200", "12kg".
    Weak,
    /// Continues another number: "1,234", "12:30", "12/26".
    Numeric,
}

/// A candidate range of groups, with what surrounds it.
pub(crate) struct Sub<'a> {
    pub text: &'a str,
    pub groups: &'a [Group],
    /// Preceded by '+' (international prefix).
    pub plus: bool,
    pub left: Attach,
    pub right: Attach,
    pub keyword: Keyword,
}

impl Sub<'_> {
    pub(crate) fn digit_count(&self) -> usize {
        self.groups.iter().map(Group::len).sum()
    }

    /// All digits of the range, without separators.
    pub(crate) fn digits(&self) -> impl DoubleEndedIterator<Item = u8> + '_ {
        let bytes = self.text.as_bytes();
        self.groups.iter().flat_map(move |g| {
            bytes
                .get(g.start..g.end)
                .unwrap_or_default()
                .iter()
                .copied()
        })
    }

    pub(crate) fn group(&self, i: usize) -> &str {
        self.groups
            .get(i)
            .and_then(|g| self.text.get(g.start..g.end))
            .unwrap_or("")
    }

    pub(crate) fn lens_are(&self, lens: &[usize]) -> bool {
        self.groups.len() == lens.len() && self.groups.iter().zip(lens).all(|(g, &l)| g.len() == l)
    }

    /// Separators between the groups of the range (the first group's gap is not part of it).
    pub(crate) fn gaps(&self) -> impl Iterator<Item = Gap> + '_ {
        self.groups.iter().skip(1).map(|g| g.gap)
    }

    pub(crate) fn any_paren(&self) -> bool {
        self.groups.iter().any(|g| g.paren)
    }

    pub(crate) fn free_standing(&self) -> bool {
        self.left == Attach::None && self.right == Attach::None
    }
}
