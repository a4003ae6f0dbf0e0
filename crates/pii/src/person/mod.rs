//! Names of people other than the record's customer ("transfer to Maria Gonzalez", "rent paid
//! by JOHN O'BRIEN", "gift from anna-lena müller", "Dr. Okafor refund").
//!
//! A gazetteer of given names (`given_names.txt`, ~5,000 names across European, Middle
//! Eastern, South and East Asian and African naming traditions) anchors most matches; the
//! surname is any word of a compatible case that is not a stop word. The shapes found:
//!
//! * given name(s), middle initials, particles, surname: "Maria José García", "Noor van
//!   Dijk", "CLAIRE DUBOIS", "Claire DUBOIS", "olivia hughes" (lower case only as a pair of
//!   lower-case words);
//! * surname first: "SCHMIDT Hannah", "VAN DIJK Bram", "Clarke, Amelia", "de Vries, Daan",
//!   and "Horvat Ivan" when the surname is listed in `surnames.txt`;
//! * initial and surname: "R. Takahashi", "J. de Vries";
//! * title and surname: "Dr. Okafor", "Mme Dubois" (title kept in the span; with a given name,
//!   "Dr. Priya Patel", the span is the name alone);
//! * after a cue word ("to", "from", "paid by", "attn", "beneficiary" ...), any pair of
//!   capitalised words that are not stop words: "transfer to Xochitl Quispe".
//!
//! Given names that are also common words ("Will", "Grace", "May", "Jack") need support: a
//! listed or surname-shaped surname, a title or a cue word before them. A name followed by a
//! business word ("ANNE LEES bakery", "John Smith Ltd") or listed as a brand ("Ted Baker",
//! "Tim Hortons") is not reported, nor one after a place prefix ("San José", "St. Louis").
//!
//! Matching is case- and accent-insensitive through [`crate::fold::fold`]; words are hashed
//! (FNV-1a over the folded form) and looked up in one table, so a record costs one pass over
//! its characters and no allocation unless a name is found.

mod anchored;
mod context;
mod lexicon;
mod script;
mod shapes;
mod token;
mod tokenizer;

use crate::span::{PiiKind, PiiSpan};

use self::anchored::{after_initial, after_title, cue_pair};
use self::context::brand_at;
use self::lexicon::{lexicon, Lexicon, GIVEN, TITLE};
use self::shapes::{alone, given_first, surname_first};
use self::token::Tok;
use self::tokenizer::{tokenize, OVERLAP, WINDOW};

/// Finds third-party names; holds the shared lexicon (built once per process).
pub(crate) struct PersonFinder {
    lex: &'static Lexicon,
}

impl PersonFinder {
    pub(crate) fn new() -> Self {
        Self { lex: lexicon() }
    }

    /// Pushes a span for every third-party name in `text`.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        find_with(text, self.lex, out);
        if !text.is_ascii() {
            script::find(text, out);
        }
    }
}

fn find_with(text: &str, lex: &Lexicon, out: &mut Vec<PiiSpan>) {
    let mut toks = [Tok::default(); WINDOW];
    let mut from = 0;
    let mut first_window = true;
    let mut emitted_until = 0;
    loop {
        let (n, more) = tokenize(text, from, first_window, lex, &mut toks);
        let toks = toks.get(..n).unwrap_or(&[]);
        // Matches may start only where both sides have enough context in this window.
        let lo = if first_window { 0 } else { 2 };
        let hi = if more { n.saturating_sub(OVERLAP) } else { n };
        let mut i = lo;
        while i < hi {
            let Some(t) = toks.get(i) else { break };
            if !t.word() || t.start < emitted_until {
                i += 1;
                continue;
            }
            // "Ralph Lauren Polo": skip the whole brand, not just its first word.
            if let Some(end) = brand_at(toks, i, lex) {
                i = end + 1;
                continue;
            }
            let found = detect(toks, i, lex).or_else(|| {
                (first_window && i == 0)
                    .then(|| alone(text, toks, lex))
                    .flatten()
            });
            match found {
                Some((a, b)) => {
                    if let (Some(first), Some(last)) = (toks.get(a), toks.get(b)) {
                        out.push(PiiSpan {
                            kind: PiiKind::PersonName,
                            start: first.start,
                            end: last.end,
                        });
                        emitted_until = last.end;
                    }
                    i = b + 1;
                }
                None => i += 1,
            }
        }
        if !more {
            break;
        }
        // Resume two tokens before the first position this window did not try.
        match toks.get(hi.saturating_sub(2)) {
            Some(t) if t.start > from => from = t.start,
            _ => break,
        }
        first_window = false;
    }
}

/// The first shape matching at token `i`: (first token, last token) of the name.
fn detect(toks: &[Tok], i: usize, lex: &Lexicon) -> Option<(usize, usize)> {
    let t = toks.get(i)?;
    if t.has(TITLE) {
        if let Some(m) = after_title(toks, i, lex) {
            return Some(m);
        }
    }
    if t.initial() {
        if let Some(m) = after_initial(toks, i, lex) {
            return Some(m);
        }
    }
    if t.has(GIVEN) {
        if let Some(last) = given_first(toks, i, lex, false, false) {
            return Some((i, last));
        }
    }
    if let Some(last) = surname_first(toks, i, lex, false) {
        return Some((i, last));
    }
    if let Some(last) = cue_pair(toks, i, lex) {
        return Some((i, last));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        PersonFinder::new().find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn a_description_that_is_only_a_name() {
        for text in [
            "Grace Brown",
            "charlotte brown",
            "CHARLOTTE BROWN - charlotte_brown@example.co.uk",
            "BROWN Jack",
            "Brown, Charlotte - charlotte.brown@example.org",
        ] {
            let expected = text.split(" - ").next().unwrap_or(text);
            assert_eq!(names(text), vec![expected], "{text}");
        }
        // The whole text must be the name (or the name and an address).
        for text in [
            "Grace Brown bakery order",
            "Rose Garden",
            "Grace Brown - weekly",
            "Paid to grace brown cafe",
        ] {
            assert!(names(text).is_empty(), "{text}: {:?}", names(text));
        }
    }

    #[test]
    fn given_name_first() {
        assert_eq!(names("transfer to Maria Gonzalez"), ["Maria Gonzalez"]);
        assert_eq!(names("rent paid by JOHN O'BRIEN"), ["JOHN O'BRIEN"]);
        assert_eq!(names("gift from anna-lena müller"), ["anna-lena müller"]);
        assert_eq!(
            names("Transferencia de MARIA JOSE GARCIA"),
            ["MARIA JOSE GARCIA"]
        );
        assert_eq!(names("Mme Claire DUBOIS (ref)"), ["Claire DUBOIS"]);
        assert_eq!(names("from Noor van Dijk"), ["Noor van Dijk"]);
        assert_eq!(names("John F. Kennedy airport"), ["John F. Kennedy"]);
        assert_eq!(
            names("Remesa a Juan Carlos Pérez Rodríguez"),
            ["Juan Carlos Pérez Rodríguez"]
        );
        assert_eq!(
            names("Payment from Mohammed bin Rashid Al Maktoum"),
            ["Mohammed bin Rashid Al Maktoum"]
        );
        assert_eq!(
            names("dinner with Sofia Rossi and Luca Bianchi"),
            ["Sofia Rossi", "Luca Bianchi"]
        );
        assert_eq!(names("Emma Watson's ticket"), ["Emma Watson"]);
        assert_eq!(names("VENMO *JOHN SMITH"), ["JOHN SMITH"]);
    }

    #[test]
    fn surname_first_and_reversed() {
        assert_eq!(names("Paid by BROWN John card"), ["BROWN John"]);
        assert_eq!(names("VAN DIJK Bram paid rent"), ["VAN DIJK Bram"]);
        assert_eq!(names("gift from Dubois, Chloé"), ["Dubois, Chloé"]);
        assert_eq!(names("name:de Vries, Daan"), ["de Vries, Daan"]);
        assert_eq!(names("pago de Walsh, John DNI"), ["Walsh, John"]);
        assert_eq!(names("Bonifico a favore di ROSSI GIULIA"), ["ROSSI GIULIA"]);
        assert_eq!(names("Rent from Tanaka Hiroshi"), ["Tanaka Hiroshi"]);
        assert_eq!(names("Payment to Nguyen Thi Lan"), ["Nguyen Thi Lan"]);
        assert_eq!(
            names("SEPA von KOWALCZYK Agnieszka"),
            ["KOWALCZYK Agnieszka"]
        );
    }

    #[test]
    fn initials_and_titles() {
        assert_eq!(names("ship to R. Takahashi, tel."), ["R. Takahashi"]);
        assert_eq!(names("wrong card? belongs to J. de Vries"), ["J. de Vries"]);
        assert_eq!(names("book money from J.R.R. Tolkien"), ["J.R.R. Tolkien"]);
        assert_eq!(names("Dr. Okafor refund"), ["Dr. Okafor"]);
        assert_eq!(names("From: Dr. Priya Patel"), ["Priya Patel"]);
        assert_eq!(
            names("Lastschrift Frau Dr. Müller-Lüdenscheidt"),
            ["Frau Dr. Müller-Lüdenscheidt"]
        );
        assert_eq!(names("BACS credit MRS A PATEL"), ["MRS A PATEL"]);
        assert_eq!(names("Refund to Mrs O'Neill"), ["Mrs O'Neill"]);
        assert!(names("U.S. Steel dividend").is_empty());
        assert!(names("Dr Martens boots").is_empty());
        assert!(names("J.P. Morgan fee").is_empty());
    }

    #[test]
    fn cue_and_unknown_names() {
        assert_eq!(names("Payment to Xochitl Quispe"), ["Xochitl Quispe"]);
        assert_eq!(names("TWINT an Reto Keller"), ["Reto Keller"]);
        assert!(names("Transfer to Savings Account").is_empty());
        assert!(names("Sent to New York City office").is_empty());
        assert!(names("Pret A Manger Victoria").is_empty());
    }

    #[test]
    fn ambiguous_given_names_need_support() {
        for text in [
            "Amazon Prime",
            "Will Call",
            "May 2026",
            "Grace period",
            "Mark as paid",
            "Bill Payment",
            "Jan 15",
            "Summer Hill rental",
            "Jack Black Sunscreen",
            "Chase Sapphire Preferred",
        ] {
            assert!(names(text).is_empty(), "{text:?}: {:?}", names(text));
        }
        assert_eq!(names("Paid Will Turner back"), ["Will Turner"]);
        assert_eq!(names("Thanks to Grace Hopper"), ["Grace Hopper"]);
    }

    #[test]
    fn merchants_places_and_words_are_not_names() {
        for text in [
            "Tim Hortons #2231 Toronto",
            "TED BAKER LONDON",
            "Ralph Lauren Polo",
            "ANNE LEES bakery",
            "John Smith Ltd",
            "Hotel Maria Cristina",
            "San Jose Sharks",
            "St. Patrick's Day",
            "Trader Joe's #552",
            "Jimmy John's",
            "noah piano lessons",
            "emma swimming lessons",
            "Lunch at Joe dot com diner",
            "POS PURCHASE TESCO STORES 3312 LONDON GB",
        ] {
            assert!(names(text).is_empty(), "{text:?}: {:?}", names(text));
        }
    }

    #[test]
    fn addresses_and_codes_are_not_words() {
        assert_eq!(
            names("reimburse Åsa Nilsson (asa.nilsson@example.net)"),
            ["Åsa Nilsson"]
        );
        assert!(names("mail anna.schmidt@web.de").is_empty());
        assert!(names("ref ANNA123 SMITH").is_empty());
    }

    #[test]
    fn unicode_forms() {
        assert_eq!(
            names("Paid ＭＡＲＩＡ ＧＡＲＣＩＡ"),
            ["ＭＡＲＩＡ ＧＡＲＣＩＡ"]
        );
        assert_eq!(
            names("from Jose\u{301} Garci\u{301}a"),
            ["Jose\u{301} Garci\u{301}a"]
        );
        assert_eq!(names("to Łukasz Wiśniewski"), ["Łukasz Wiśniewski"]);
        assert_eq!(names("an Jürgen Groß"), ["Jürgen Groß"]);
        // Names in other scripts come from `script` once a cue or honorific is stripped.
        assert_eq!(names("付款给王小明的账户"), ["王小明"]);
    }

    #[test]
    fn long_texts_are_scanned_in_windows() {
        // Names before, across and after window boundaries match as in short texts.
        let filler = "paid 12 EUR for coffee and snacks at the station ";
        for pad in 0..12 {
            let mut text = String::new();
            for _ in 0..pad {
                text.push_str(filler);
            }
            text.push_str("transfer to Maria Gonzalez ");
            for _ in 0..3 {
                text.push_str(filler);
            }
            text.push_str("Paid by BROWN John card");
            assert_eq!(names(&text), ["Maria Gonzalez", "BROWN John"], "pad {pad}");
        }
    }
}
