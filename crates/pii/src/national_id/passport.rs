//! Passport numbers after a passport cue ("passport no. 533380006", "Reisepass Nr.
//! C01X00T47", "passeport n° 12AB34567"). Passport numbers carry no public check digit and
//! their formats (9 digits, letters and digits, 6 to 9 chars) overlap every reference
//! number, so only the cue makes one.

use regex::Regex;

use crate::fold::any_word_starts_with;
use crate::span::{PiiKind, PiiSpan};

pub(crate) struct PassportFinder {
    re: Regex,
}

impl PassportFinder {
    pub(crate) fn new() -> Self {
        let re = Regex::new(
            r"(?i)(?-u:\b)(?:passport|reisepass|passeport|pasaporte|passaporto|paszport|paspoort|passnummer|pass\s+nr|pp)(?-u:\b)(?:\s*(?:number|nummer|numero|número|num|n°|nº|no|nr|n)\.?)?[\s:#.]{0,3}((?-i:[A-Z0-9]{6,9}))(?-u:\b)",
        )
        .expect("constant passport pattern");
        Self { re }
    }

    /// Callers check for a digit first.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        // `captures_iter` allocates its slots even when nothing matches; `is_match` does not.
        let cue = any_word_starts_with(text, &["pas", "reisepas", "pp"]);
        if !cue || !self.re.is_match(text) {
            return;
        }
        for c in self.re.captures_iter(text) {
            let Some(m) = c.get(1) else { continue };
            if m.as_str().bytes().filter(u8::is_ascii_digit).count() < 1 {
                continue;
            }
            out.push(PiiSpan {
                kind: PiiKind::NationalId,
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
        PassportFinder::new().find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn cued_numbers() {
        assert_eq!(found("passport no. 533380006 KYC"), ["533380006"]);
        assert_eq!(found("Reisepass Nr. C01X00T47"), ["C01X00T47"]);
        assert_eq!(found("passeport n° 12AB34567"), ["12AB34567"]);
        assert_eq!(found("travel document/passport #YA1234567"), ["YA1234567"]);
        assert!(found("passport photo 2 EUR").is_empty());
        assert!(found("passport renewal fee 75.00").is_empty());
        assert!(found("ref 533380006").is_empty());
    }
}
