//! PII detection and scrubbing for free text (transaction descriptions).
//!
//! Detection is patterns plus validators: card numbers must pass Luhn, IBANs mod 97 with the
//! country's length, SSNs the SSA allocation rules, UK NI numbers the prefix rules, other
//! national identity numbers (BSN, DNI, PPS, HETU, personnummer, NIR, Steuer-ID ...) their
//! check digits. Phone numbers follow international, North American and trunk-prefix national
//! formats; dates, amounts and times are rejected by their shape and context. A date is a
//! date of birth only after a birth cue ("DOB", "born", "geb."); IP addresses, postal
//! addresses (street with house number, postcode) and cued passport numbers are found too. The record's
//! own customer name is matched case- and accent-insensitively at word boundaries; other
//! people's names ("transfer to Maria Gonzalez", "Dr. Okafor refund") are found with a
//! gazetteer of given names, surname shapes, titles and cue words (see `person`).
//!
//! The hot path is cheap when there is nothing to find: a byte scan decides which detectors
//! run (digits → numeric kinds, '@' → e-mail, " dot " / "[at]" → obfuscated e-mail, a name →
//! name matching); all numeric kinds share one tokenizer pass; third-party names take one
//! pass over the words with a hash lookup each; and [`Scrubber::find`] does not allocate
//! unless it finds something ([`Scrubber::scrub_cow`] borrows the text then).
//!
//! # Layers
//!
//! Every module uses only modules below it, so the module graph has no cycles. Bottom to
//! top:
//!
//! 1. `span` (what a finding is: [`PiiKind`], [`PiiSpan`]), `luhn` (the card checksum) and
//!    `fold` (case- and accent-folding of characters): nothing else of the crate.
//! 2. `keyword`: the context word before a number ("tel", "ID", "invoice") and its
//!    vocabulary; uses `fold`.
//! 3. `candidate`: the digit groups of a numeric run and a range of them with what surrounds
//!    it; uses `keyword`.
//! 4. The detectors. `card`, `phone` and `national_id` judge a candidate (`national_id` also
//!    finds the letter forms, codice fiscale and cued passports by pattern); `email`, `iban`,
//!    `ip`, `birth_date` (cued dates of birth), `address` (street, number, postcode), `name`
//!    (the customer's own name) and `person` (other people's names, in any script) scan the
//!    text themselves. What each finds and leaves is in ADR 0016.
//! 5. `numeric`: tokenizes numeric runs and asks `national_id`, `card` and `phone` in turn.
//! 6. The crate root: [`Scrubber`] runs the detectors, resolves overlaps and replaces.
//!
//! Inside `person`, bottom to top: `lexicon` (word lists and flags), `token` (one word and
//! its shape), `tokenizer` (text to tokens) and `context` (cue, title and business words
//! around a name), `shapes` (written-out names), `anchored` (names after a title, initials
//! or a cue word), `script` (names in non-Latin scripts), then `person` itself (the window
//! loop).

#![forbid(unsafe_code)]

mod address;
mod birth_date;
mod candidate;
mod card;
mod email;
mod fold;
mod iban;
mod ip;
mod keyword;
mod luhn;
mod name;
mod national_id;
mod numeric;
mod person;
mod phone;
mod span;

use std::borrow::Cow;

pub use iban::{iban_countries, iban_valid};
pub use luhn::luhn_valid;
pub use national_id::{bsn_valid, nino_valid, ssn_valid};
pub use span::{PiiKind, PiiSpan};

/// Scrubbed text and the spans (offsets into the original text) that were replaced.
#[derive(Debug, Clone)]
pub struct Scrubbed {
    pub text: String,
    pub spans: Vec<PiiSpan>,
}

/// Compiled detectors. Build once and share (it is `Send + Sync`; wrap in `Arc` if needed).
pub struct Scrubber {
    address: address::AddressFinder,
    birth: birth_date::BirthDateFinder,
    email: email::EmailFinder,
    iban: iban::IbanFinder,
    ids: national_id::IdFinder,
    people: person::PersonFinder,
}

impl Default for Scrubber {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber").finish_non_exhaustive()
    }
}

impl Scrubber {
    pub fn new() -> Self {
        Self {
            address: address::AddressFinder::new(),
            birth: birth_date::BirthDateFinder::new(),
            email: email::EmailFinder::new(),
            iban: iban::IbanFinder::new(),
            ids: national_id::IdFinder::new(),
            people: person::PersonFinder::new(),
        }
    }

    /// All PII in `text`, sorted by start and non-overlapping. `customer_name` is the record's
    /// own customer, matched as a full name and by each part of three letters or more; other
    /// people's names are found whether or not a customer name is given.
    ///
    /// Replacing a finding can expose another: in "jane@example.com4111111111111111" the
    /// address only ends at a word boundary once the card after it is "[CARD]". So the text
    /// is scrubbed and searched again, keeping what appears inside the text that was kept,
    /// until nothing new appears (at most [`MAX_PASSES`] passes; one when nothing is found).
    pub fn find(&self, text: &str, customer_name: Option<&str>) -> Vec<PiiSpan> {
        let mut spans = self.find_once(text, customer_name);
        for _ in 1..MAX_PASSES {
            if spans.is_empty() {
                break;
            }
            let scrubbed = replace(text, &spans);
            let more = map_to_original(&spans, &self.find_once(&scrubbed, customer_name));
            if more.is_empty() {
                break;
            }
            spans.extend(more);
            spans.sort_by_key(|s| s.start);
        }
        spans
    }

    /// One detection pass over `text`.
    fn find_once(&self, text: &str, customer_name: Option<&str>) -> Vec<PiiSpan> {
        let mut out = Vec::new();
        let (mut has_digit, mut has_at) = (false, false);
        for &b in text.as_bytes() {
            has_digit |= b.is_ascii_digit();
            has_at |= b == b'@';
        }
        if has_at {
            self.email.find(text, &mut out);
        }
        if email::may_be_obfuscated(text) {
            self.email.find_obfuscated(text, &mut out);
        }
        if has_digit {
            self.iban.find(text, &mut out);
            self.ids.find(text, &mut out);
            numeric::scan(text, &mut out);
            ip::find_v4(text, &mut out);
            self.birth.find(text, &mut out);
            self.address.find(text, &mut out);
        }
        if ip::may_hold_v6(text) {
            ip::find_v6(text, &mut out);
        }
        if let Some(name) = customer_name {
            name::find(text, name, &mut out);
        }
        self.people.find(text, &mut out);
        resolve(out)
    }

    /// `text` with every finding replaced by its kind's token.
    pub fn scrub(&self, text: &str, customer_name: Option<&str>) -> Scrubbed {
        let spans = self.find(text, customer_name);
        let text = replace(text, &spans).into_owned();
        Scrubbed { text, spans }
    }

    /// Like [`Scrubber::scrub`], but `None` when nothing is found: most text holds no PII,
    /// and this spares it a copy.
    pub fn scrub_if_found(&self, text: &str, customer_name: Option<&str>) -> Option<Scrubbed> {
        let spans = self.find(text, customer_name);
        if spans.is_empty() {
            return None;
        }
        let text = replace(text, &spans).into_owned();
        Some(Scrubbed { text, spans })
    }

    /// Like [`Scrubber::scrub`] but borrows the input when nothing is found (no allocation).
    pub fn scrub_cow<'t>(&self, text: &'t str, customer_name: Option<&str>) -> Cow<'t, str> {
        let spans = self.find(text, customer_name);
        replace(text, &spans)
    }

    /// Scrubs every kind with no customer name known (e.g. dead-letter payloads): names are
    /// still found by the third-party detector.
    pub fn redact_all(&self, text: &str) -> String {
        self.scrub(text, None).text
    }
}

/// Upper bound on detection passes in [`Scrubber::find`] (each pass after the first needs
/// a finding the previous one exposed, so this only bounds adversarial chains).
pub const MAX_PASSES: usize = 16;

/// Maps findings in the scrubbed text back to the original, keeping only those that lie
/// within text the scrub kept (not in or across a replacement token). Those cannot overlap
/// the original `spans`.
fn map_to_original(spans: &[PiiSpan], found: &[PiiSpan]) -> Vec<PiiSpan> {
    // (start in the scrubbed text, end there, start in the original) of each kept segment.
    let mut kept = Vec::with_capacity(spans.len() + 1);
    let (mut orig, mut out) = (0usize, 0usize);
    for s in spans {
        let len = s.start.saturating_sub(orig);
        kept.push((out, out + len, orig));
        out += len + s.kind.token().len();
        orig = s.end;
    }
    kept.push((out, usize::MAX, orig));
    found
        .iter()
        .filter_map(|f| {
            let &(seg_start, _, seg_orig) =
                kept.iter().find(|&&(a, b, _)| a <= f.start && f.end <= b)?;
            Some(PiiSpan {
                kind: f.kind,
                start: seg_orig + (f.start - seg_start),
                end: seg_orig + (f.end - seg_start),
            })
        })
        .collect()
}

/// Keeps the highest-precedence (then longest, then earliest) finding among overlapping ones,
/// and returns the survivors sorted by start.
fn resolve(mut spans: Vec<PiiSpan>) -> Vec<PiiSpan> {
    if spans.len() < 2 {
        return spans;
    }
    spans.sort_by(|a, b| {
        b.kind
            .precedence()
            .cmp(&a.kind.precedence())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
    });
    let mut kept: Vec<PiiSpan> = Vec::with_capacity(spans.len());
    for s in spans {
        if kept.iter().all(|k| s.end <= k.start || k.end <= s.start) {
            kept.push(s);
        }
    }
    kept.sort_by_key(|s| s.start);
    kept
}

fn replace<'t>(text: &'t str, spans: &[PiiSpan]) -> Cow<'t, str> {
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8 * spans.len());
    let mut last = 0;
    for s in spans {
        if let (Some(keep), true) = (text.get(last..s.start), s.start >= last) {
            out.push_str(keep);
            out.push_str(s.kind.token());
            last = s.end;
        }
    }
    out.push_str(text.get(last..).unwrap_or(""));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubber_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Scrubber>();
    }

    #[test]
    fn tokens_and_names() {
        for k in PiiKind::ALL {
            let json = format!("\"{}\"", k.as_str());
            assert_eq!(
                serde_json::to_string(&k).ok().as_deref(),
                Some(json.as_str())
            );
            assert!(k.token().starts_with('[') && k.token().ends_with(']'));
        }
    }

    #[test]
    fn scrub_replaces_in_order() {
        let s = Scrubber::new();
        let r = s.scrub(
            "Pay John Smith card 4111 1111 1111 1111 mail j.smith@example.com",
            Some("John Smith"),
        );
        assert_eq!(r.text, "Pay [NAME] card [CARD] mail [EMAIL]");
        assert_eq!(r.spans.len(), 3);
    }

    #[test]
    fn findings_exposed_by_a_replacement_are_found_too() {
        // Regression (fuzz corpus): the address and the IBAN glued to the card were left in
        // the scrubbed text, where the scrubber itself then found them.
        let s = Scrubber::new();
        let text = "jane@example.com4111111111111111DE89370400440532013000 ok";
        let r = s.scrub(text, None);
        assert_eq!(r.text, "[EMAIL][CARD][IBAN] ok");
        let kinds: Vec<PiiKind> = r.spans.iter().map(|s| s.kind).collect();
        assert_eq!(kinds, [PiiKind::Email, PiiKind::CardNumber, PiiKind::Iban]);
        assert_eq!(&text[r.spans[0].start..r.spans[0].end], "jane@example.com");
        assert_eq!(s.scrub(&r.text, None).text, r.text);
    }

    #[test]
    fn nothing_found_borrows() {
        let s = Scrubber::new();
        assert!(matches!(
            s.scrub_cow("Coffee 4.50 EUR", None),
            Cow::Borrowed(_)
        ));
        assert_eq!(s.redact_all("mail a@b.io"), "mail [EMAIL]");
    }
}
