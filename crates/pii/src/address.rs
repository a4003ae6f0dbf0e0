//! Postal addresses: a street with its house number, and the postcode (with the city) when it
//! follows, in the written forms of the post offices of the UK, the US and the EU's largest
//! countries:
//!
//! * number first, street type last: "221B Baker Street", "4821 Maple Ave" (UK, US);
//! * number first, street type first: "15 bis rue de la Paix" (FR);
//! * street type first, number last: "Calle Mayor 12", "Via Giuseppe Verdi, 10", "ul.
//!   Długa 5/3", "Rua Augusta, 120", "Rue de la Loi 16" (ES, IT, PL, PT, BE);
//! * a street word with a type suffix, then the number: "Hauptstraße 5", "Berliner Straße
//!   12a", "Kerkstraat 12", "Drottninggatan 7" (DE, NL, SE);
//!
//! then an optional floor ("3º B"), and a postcode and city: "28013 Madrid", "1017 GC
//! Amsterdam", "00-950 Warszawa", "1100-053 Lisboa", "London SW1A 1AA", "Springfield, IL
//! 62704". A street needs its house number: "Wall Street Journal", "Via Verde" and "Abbey
//! Road Studios" are not addresses. A number followed by a decimal part ("Hauptstraße 12.40
//! EUR") is an amount.

use regex::Regex;

use crate::span::{PiiKind, PiiSpan};

pub(crate) struct AddressFinder {
    re: Regex,
}

/// A word of a street name: capitalised, or a lower-case particle ("de la", "van der").
const NAME: &str = r"(?:\p{Lu}[\p{L}'’\-]*\.?|(?:de|la|las|los|del|della|delle|dei|degli|di|du|des|da|do|dos|das|van|der|den|von|le|les|l'|d'|y|e|of|the)(?-u:\b))";
/// House number: "12", "221B", "15 bis", "5/3", "12-14".
const NUM: &str =
    r"[1-9]\d{0,4}[A-Za-z]?(?-u:\b)(?:\s?(?:bis|ter)(?-u:\b))?(?:[/-]\d{1,4}[A-Za-z]?(?-u:\b))?";
/// Street types written after the name (English).
const TYPE_AFTER: &str = r"(?i:street|st|road|rd|lane|ln|avenue|ave|close|drive|dr|gardens|crescent|cres|terrace|way|boulevard|blvd|place|pl|court|ct|square|sq|row|grove|mews|parkway|pkwy|highway|hwy)(?-u:\b)\.?";
/// Street types written before the name.
const TYPE_BEFORE: &str = r"(?i:rue|avenue|av\.|boulevard|bd|place|chemin|all[ée]e|impasse|quai|cours|chauss[ée]e|calle|c/|avda\.?|avenida|plaza|pza\.?|paseo|rambla|carrer|ronda|camino|via|viale|piazza|piazzale|p\.za|corso|vicolo|largo|strada|rua|travessa|ul\.|ulica|al\.|aleja|plac|osiedle|os\.)";
/// Street words ending in a type ("Hauptstraße", "Kerkstraat", "Drottninggatan"), or the
/// type as a word of its own after an adjective ("Berliner Straße").
const TYPE_SUFFIX: &str = r"(?:\p{Lu}[\p{L}\-]*er\s(?i:stra(?:ß|ss)e(?-u:\b)|str\.|weg(?-u:\b)|allee(?-u:\b)|platz(?-u:\b)|ring(?-u:\b)|damm(?-u:\b))|\p{L}[\p{L}\-]+(?i:(?:stra(?:ß|ss)e|weg|allee|platz|gasse|damm|ufer|chaussee|straat|laan|gracht|plein|kade|singel|dreef|steeg|gatan|vägen|vagen|gränd|torget|gade|vej|veien|gata)(?-u:\b)|str\.))";
/// Floor and door: ", 3º B", " 2º izq.", ", apt 4".
const UNIT: &str =
    r"(?:,?\s*\d{1,2}\s?[ºª°]\s?[\p{L}.]{0,5}|,?\s*(?i:apt|flat|app)\.?\s*\d{1,4}[A-Za-z]?)?";
/// Postcodes: NL "1017 GC", PL "00-950", PT "1100-053", SE "114 55", 4–5 digit, UK outward
/// and inward codes.
const POSTCODE: &str = r"(?:\d{4}\s?[A-Z]{2}(?-u:\b)|\d{2}-\d{3}(?-u:\b)|\d{4}-\d{3}(?-u:\b)|\d{3}\s\d{2}(?-u:\b)|\d{4,5}(?-u:\b)|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}(?-u:\b))";
/// City: capitalised words with their lower-case links ("Frankfurt am Main").
const CITY: &str = r"\p{Lu}[\p{L}'\-]+(?:\s(?:am|an|upon|sur|de|del|la|le|\p{Lu}[\p{L}'\-]+)){0,3}";

impl AddressFinder {
    pub(crate) fn new() -> Self {
        let names = format!(r"{NAME}(?:\s{NAME}){{0,4}}");
        let street = format!(
            r"(?:{NUM},?\s+(?:{names})\s+{TYPE_AFTER}|{NUM},?\s+{TYPE_BEFORE}\s+{names}|{TYPE_BEFORE}\s*{names},?\s+{NUM}|{TYPE_SUFFIX}\s+{NUM})"
        );
        let postal = format!(
            r"(?:,?\s+{POSTCODE}(?:\s+{CITY})?|,\s*{CITY},?\s+(?:[A-Z]{{2}}\s+)?{POSTCODE}(?:-\d{{4}})?)?"
        );
        let re = Regex::new(&format!(r"(?-u:\b){street}{UNIT}{postal}"))
            .expect("constant address pattern");
        Self { re }
    }

    /// Callers check for a digit first.
    pub(crate) fn find(&self, text: &str, out: &mut Vec<PiiSpan>) {
        for m in self.re.find_iter(text) {
            let rest = &text[m.end()..];
            // "Hauptstraße 12.40 EUR": an amount, not a house number.
            let mut next = rest.chars();
            if matches!(next.next(), Some('.' | ',' | ':'))
                && next.next().is_some_and(|c| c.is_ascii_digit())
            {
                continue;
            }
            if rest.chars().next().is_some_and(|c| c.is_alphanumeric()) {
                continue;
            }
            let s = m.as_str();
            let end = m.start() + s.trim_end_matches([',', ' ', '.']).len();
            out.push(PiiSpan {
                kind: PiiKind::PostalAddress,
                start: m.start(),
                end,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        AddressFinder::new().find(text, &mut out);
        out.iter().map(|s| &text[s.start..s.end]).collect()
    }

    #[test]
    fn addresses() {
        assert_eq!(
            found("Delivery to 221B Baker Street, London NW1 6XE today"),
            ["221B Baker Street, London NW1 6XE"]
        );
        assert_eq!(
            found("new address Hauptstraße 5, 10115 Berlin"),
            ["Hauptstraße 5, 10115 Berlin"]
        );
        assert_eq!(
            found("15 bis rue de la Paix, 75002 Paris"),
            ["15 bis rue de la Paix, 75002 Paris"]
        );
        assert_eq!(
            found("domicilio Calle Mayor, 12, 3º B, 28013 Madrid"),
            ["Calle Mayor, 12, 3º B, 28013 Madrid"]
        );
        assert_eq!(
            found("ul. Długa 5/3, 00-950 Warszawa"),
            ["ul. Długa 5/3, 00-950 Warszawa"]
        );
        assert_eq!(
            found("4821 Maple Ave, Springfield, IL 62704"),
            ["4821 Maple Ave, Springfield, IL 62704"]
        );
        assert_eq!(
            found("Kerkstraat 12, 1017 GC Amsterdam"),
            ["Kerkstraat 12, 1017 GC Amsterdam"]
        );
    }

    #[test]
    fn streets_without_numbers_and_amounts_stay() {
        for text in [
            "Wall Street Journal subscription",
            "Via Verde portagem",
            "Abbey Road Studios",
            "POS Lidl Hauptstraße 12.40 EUR",
            "Street food market 12 items",
            "Route 66 Diner",
        ] {
            assert!(found(text).is_empty(), "{text}: {:?}", found(text));
        }
    }
}
