//! The context word in front of a number ("tel", "ID", "SSN", "invoice"), which decides how
//! an otherwise ambiguous digit string is read, and the vocabulary behind it. Shared by the
//! numeric scan and the pattern-based identity finder.

use crate::fold::fold_char;

/// Context word in front of a run that licenses unformatted numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    None,
    Phone,
    /// "ID", "tax id", "DNI", "passport" ...: an identity number of any scheme follows.
    Id,
    /// "SSN", "social security": a US SSN follows.
    Ssn,
    /// "BSN", "sofinummer": a Dutch BSN follows.
    Bsn,
    /// "Invoice", "order", "account", "ref" ...: a national-format number is not a phone.
    Reference,
}

impl Keyword {
    /// Any identity keyword.
    pub(crate) fn is_identity(self) -> bool {
        matches!(self, Keyword::Id | Keyword::Ssn | Keyword::Bsn)
    }
}

/// Words that introduce reference numbers rather than phone numbers.
const REFERENCE_WORDS: &[&str] = &[
    "invoice",
    "inv",
    "order",
    "ord",
    "ref",
    "reference",
    "account",
    "acct",
    "acc",
    "konto",
    "kontonr",
    "rechnung",
    "fattura",
    "factura",
    "fatura",
    "faktura",
    "factuur",
    "bestellung",
    "pedido",
    "ordine",
    "facture",
    "commande",
    "booking",
    "ticket",
    "policy",
    "contract",
    "kundennr",
    "kundennummer",
    "auftrag",
    "tracking",
    "batch",
    "serial",
    "sn",
    "iban",
    "mandate",
    "transaction",
    "txn",
    "receipt",
    "parcel",
    "package",
    "shipment",
    "bill",
    "terminal",
    "merchant",
    "device",
    "session",
    "user",
    "client",
];

/// Words after which an unformatted digit string is a phone number ("Tel: 2125550147").
const PHONE_WORDS: &[&str] = &[
    "tel",
    "tele",
    "telephone",
    "telefon",
    "telefono",
    "phone",
    "ph",
    "mobile",
    "mob",
    "mobil",
    "cell",
    "cellphone",
    "call",
    "fax",
    "whatsapp",
    "sms",
    "text",
    "contact",
    "handy",
    "gsm",
];

/// Words after which a number is read as a US SSN only.
const SSN_WORDS: &[&str] = &["ssn", "ssa", "security"];
/// Words after which a number is read as a Dutch BSN only.
const BSN_WORDS: &[&str] = &["bsn", "burgerservicenummer", "sofinummer", "sofi"];
/// Words after which a number is read as an identity number of any scheme.
const ID_WORDS: &[&str] = &[
    "id",
    "ids",
    "dni",
    "nie",
    "nif",
    "pps",
    "ppsn",
    "sin",
    "nas",
    "nir",
    "insee",
    "tax",
    "taxid",
    "tin",
    "steuer",
    "steuerid",
    "idnr",
    "pesel",
    "nino",
    "cpr",
    "personnummer",
    "hetu",
    "ahv",
    "avs",
    "passport",
    "identity",
    "identification",
    "ausweis",
    "personalausweis",
    "identifikationsnummer",
    "codice",
    "fiscale",
    "fisc",
    "cf",
    "secu",
    "sociale",
    "national",
    "rijksregisternummer",
    "rijksregister",
    "insz",
    "nn",
    "nrn",
    "contribuinte",
    "pnr",
    "personnr",
    "person",
    "skatteverket",
    "dowod",
];

/// Words that may sit between a keyword and the number: "phone no.", "SSN is", "call me on".
const FILLERS: &[&str] = &[
    "no", "nr", "num", "number", "nummer", "numero", "is", "on", "me", "at", "to", "us", "my",
    "back", "under", "via", "the", "your", "our", "n", "o", "de", "numer", "nro",
];

/// Looks at up to four words before `pos` for a phone, identity or reference keyword.
pub(crate) fn keyword_before(text: &str, pos: usize) -> Keyword {
    let mut it = text.get(..pos).unwrap_or("").chars().rev().peekable();
    let mut found = Keyword::None;
    for _ in 0..4 {
        // Skip separators such as ": ", " #", ". ".
        let mut skipped = 0;
        while it.peek().is_some_and(|c| !c.is_alphanumeric()) {
            it.next();
            skipped += 1;
            if skipped > 4 {
                return Keyword::None;
            }
        }
        let mut word = [0u8; 24];
        let mut len = 0;
        while let Some(&c) = it.peek() {
            if !c.is_alphanumeric() {
                break;
            }
            it.next();
            let f = fold_char(c);
            if !f.is_ascii() || len == word.len() {
                return Keyword::None;
            }
            len += 1;
            word[word.len() - len] = f as u8;
        }
        if len == 0 {
            return found;
        }
        let w = &word[word.len() - len..];
        let is = |list: &[&str]| list.iter().any(|k| k.as_bytes() == w);
        if found == Keyword::Id {
            // "order id", "transaction id": a reference, not an identity number.
            return if is(REFERENCE_WORDS) {
                Keyword::Reference
            } else {
                Keyword::Id
            };
        }
        if w == b"id" {
            found = Keyword::Id;
            continue;
        }
        return if is(PHONE_WORDS) {
            Keyword::Phone
        } else if is(SSN_WORDS) {
            Keyword::Ssn
        } else if is(BSN_WORDS) {
            Keyword::Bsn
        } else if is(ID_WORDS) {
            Keyword::Id
        } else if is(REFERENCE_WORDS) {
            Keyword::Reference
        } else if is(FILLERS) {
            continue;
        } else {
            Keyword::None
        };
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_lookup() {
        assert_eq!(keyword_before("Tel: ", 5), Keyword::Phone);
        assert_eq!(keyword_before("phone no. ", 10), Keyword::Phone);
        assert_eq!(keyword_before("Hotel ", 6), Keyword::None);
        assert_eq!(keyword_before("SSN is ", 7), Keyword::Ssn);
        assert_eq!(keyword_before("BSN: ", 5), Keyword::Bsn);
        assert_eq!(keyword_before("SSN/ID:", 7), Keyword::Id);
        assert_eq!(keyword_before("Tax id ", 7), Keyword::Id);
        assert_eq!(keyword_before("ID no. ", 7), Keyword::Id);
        assert_eq!(keyword_before("order id ", 9), Keyword::Reference);
        assert_eq!(keyword_before("pls call me back on ", 20), Keyword::Phone);
        assert_eq!(keyword_before("Tél. ", 6), Keyword::Phone);
        assert_eq!(keyword_before("Invoice no ", 11), Keyword::Reference);
    }
}
