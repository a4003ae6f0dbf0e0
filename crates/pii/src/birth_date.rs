//! Dates of birth: a date right after a birth cue ("DOB 12/03/1985", "born on March 3,
//! 1985", "geb. 03.03.1985", "né le 3 mars 1985", "fecha de nacimiento 03-03-1985"). A date
//! without a cue is not a date of birth (statement, due and booking dates must stay), so only
//! the cue decides; the span is the date, the cue stays as context.

use regex::Regex;

use crate::fold::any_word_starts_with;
use crate::span::{PiiKind, PiiSpan};

/// A word of every cue in [`CUES`] starts with one of these: the cheap gate before the
/// pattern.
const CUE_STARTS: &[&str] = &[
    "dob", "d.o", "d. o", "birth", "born", "b.", "geb", "naiss", "nacim", "nacid", "nascit",
    "nascid", "nato", "nata", "n\u{e9}", "nee", "urodz", "ur.", "f\u{f6}d", "fod", "f.",
    "geboorte",
];

pub(crate) struct BirthDateFinder {
    re: Regex,
}

/// Birth cues in the languages of the EU's largest countries plus English.
const CUES: &str = r"d\.?\s?o\.?\s?b\.?|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?|b\.|geb\.?|geboren(?:\s+(?:am|op))?|geburtsdatum|n[ée]e?\s+le|date\s+de\s+naissance|fecha\s+de\s+nacimiento|f\.\s?nac\.?|nacid[oa](?:\s+el)?|data\s+di\s+nascita|nat[oa]\s+il|geboortedatum|data\s+urodzenia|ur\.|urodzon[ya](?:\s+dnia)?|f[öo]dd(?:\s+den)?|f[öo]delsedatum|data\s+de\s+nascimento|nascid[oa]\s+(?:em|a)";

/// Numeric dates in any order, ISO dates, and dates with a month word ("3 March 1985",
/// "March 3, 1985", "3. März 1985", "3 de marzo de 1985", "12-Mar-1985").
const DATE: &str = r"\d{1,2}[./-]\s?\d{1,2}[./-]\s?(?:\d{4}|\d{2})|\d{4}[./-]\d{1,2}[./-]\d{1,2}|\d{1,2}(?:st|nd|rd|th|er|º)?\.?[\s-]+(?:de\s+|of\s+)?\p{L}{3,10}\.?[\s-]+(?:de\s+)?\d{4}|\p{L}{3,10}\.?\s+\d{1,2}(?:st|nd|rd|th)?,?\s+\d{4}";

impl BirthDateFinder {
    pub(crate) fn new() -> Self {
        let re = Regex::new(&format!(
            r"(?i)(?-u:\b)(?:{CUES})[\s:\-]{{0,3}}(?:(?:on|le|el|il|am|den|em)\s+)?({DATE})"
        ))
        .expect("constant birth date pattern");
        Self { re }
    }

    /// Callers check for a digit first.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        // `captures_iter` allocates its slots even when nothing matches; `is_match` does not.
        if !any_word_starts_with(text, CUE_STARTS) || !self.re.is_match(text) {
            return;
        }
        for c in self.re.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            // "DOB 12/03/1985x" or "born 1.2.2024.5": part of a longer token.
            if text[m.end()..]
                .chars()
                .next()
                .is_some_and(|ch| ch.is_alphanumeric())
            {
                continue;
            }
            out.push(PiiSpan {
                kind: PiiKind::DateOfBirth,
                start: m.start(),
                end: m.end(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        BirthDateFinder::new().find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn cued_dates() {
        assert_eq!(found("KYC DOB 12/03/1985 ok"), ["12/03/1985"]);
        assert_eq!(found("born on March 3, 1985"), ["March 3, 1985"]);
        assert_eq!(found("Kontoinhaber geb. 03.03.1985"), ["03.03.1985"]);
        assert_eq!(found("né le 3 mars 1985 à Lyon"), ["3 mars 1985"]);
        assert_eq!(
            found("fecha de nacimiento 3 de marzo de 1985"),
            ["3 de marzo de 1985"]
        );
        assert_eq!(found("D.O.B. 1985-03-12"), ["1985-03-12"]);
        assert_eq!(found("dob:12-Mar-1985"), ["12-Mar-1985"]);
    }

    #[test]
    fn other_dates_stay() {
        assert!(found("Invoice date 12/03/2024").is_empty());
        assert!(found("due 2024-03-12, Born Free Ltd").is_empty());
        assert!(found("Born Free Ltd membership renewal 12/03/2024").is_empty());
    }
}
