//! Free-text descriptions: most are harmless, a configurable share hides PII (e-mail, phone,
//! card number, IBAN, national id, person name) in varied formats, each span labelled with
//! exact byte offsets.

use rand::Rng;

use crate::accounts::{self, Account};
use crate::checksum::format_iban_grouped;
use crate::countries::COUNTRIES;
use crate::identity;
use crate::merchants::Merchant;
use crate::names;
use crate::PiiLabel;

#[derive(Clone, Copy)]
enum Slot {
    Email,
    Phone,
    Card,
    Iban,
    NationalId,
    Name,
}

#[derive(Clone, Copy)]
enum Part {
    /// Literal text.
    T(&'static str),
    /// The customer's own data.
    Own(Slot),
    /// A third party's data (the same person throughout one description).
    Other(Slot),
    /// Yet another person's data.
    Fresh(Slot),
    /// A harmless reference number.
    Num,
}

use Part::{Fresh, Num, Other, Own, T};
use Slot::{Card, Email, Iban, Name, NationalId, Phone};

const TEMPLATES: &[&[Part]] = &[
    &[T("refund to "), Own(Email)],
    &[T("call "), Own(Phone), T(" re order "), Num],
    &[T("card "), Own(Card), T(" declined at checkout")],
    &[T("IBAN "), Own(Iban), T(" - rent")],
    &[T("transfer to "), Other(Name), T(" IBAN "), Other(Iban)],
    &[Own(Name), T(" - "), Own(Email)],
    &[
        T("payment for "),
        Own(Name),
        T(", ID no. "),
        Own(NationalId),
    ],
    &[T("ID "), Own(NationalId), T(" verification")],
    &[T("Thanks "), Own(Name), T("! contact "), Own(Phone)],
    &[T("gift from "), Own(Name)],
    &[T("reimburse "), Other(Name), T(" ("), Other(Email), T(")")],
    &[T("pls call me back on "), Own(Phone)],
    &[T("Überweisung an "), Other(Name), T(" – Miete")],
    &[T("remboursement à "), Own(Email)],
    &[Own(Card)],
    &[T("tel:"), Own(Phone)],
    &[T("mail:"), Own(Email), T(";")],
    &[T("Paid by "), Own(Name), T(" card "), Own(Card)],
    &[T("Rückerstattung auf IBAN "), Own(Iban)],
    &[T("pago de "), Own(Name), T(" DNI/ID "), Own(NationalId)],
    &[Own(Name)],
    &[T("contact: "), Own(Phone), T(" / "), Own(Email)],
    &[T("dinner w/ "), Other(Name), T(" and "), Fresh(Name)],
    &[
        T("order "),
        Num,
        T(" ship to "),
        Own(Name),
        T(", tel. "),
        Own(Phone),
    ],
    &[T("Tax id "), Own(NationalId)],
    &[
        T("loan repayment from "),
        Other(Name),
        T(", phone "),
        Other(Phone),
    ],
    &[
        T("wrong card? "),
        Other(Card),
        T(" belongs to "),
        Other(Name),
    ],
    &[T("SSN/ID:"), Own(NationalId), T(" name:"), Own(Name)],
    &[T("Erstattung für "), Own(Name), T(" <"), Own(Email), T(">")],
    &[T("virement vers "), Own(Iban), T(" (épargne)")],
];

const BENIGN: &[&str] = &[
    "POS purchase",
    "Online order {num}",
    "Monthly subscription",
    "groceries",
    "Rent {month}",
    "Invoice 2026-{num}",
    "dinner with team",
    "Ref {num}",
    "Payment {merchant}",
    "coffee & snacks",
    "booking ref {code}",
    "Kartenzahlung {merchant}",
    "Order #{num}",
    "split bill 3 ways",
    "Erstattung Bestellung {num}",
    "paiement sans contact",
    "weekly shop",
    "parking {num}",
];

const MONTHS: &[&str] = &[
    "January", "February", "March", "April", "May", "June", "July", "August",
];

/// A description for a transaction of `account` at `merchant`: `None`, harmless text, or
/// (with probability `pii_rate`) text hiding PII, with its labels.
pub(crate) fn describe<R: Rng>(
    rng: &mut R,
    account: &Account,
    merchant: &Merchant,
    pii_rate: f64,
) -> (Option<String>, Vec<PiiLabel>) {
    if rng.gen_bool(pii_rate.clamp(0.0, 1.0)) {
        let template = TEMPLATES[rng.gen_range(0..TEMPLATES.len())];
        let mut b = Builder::default();
        let third = Person::random(rng);
        for part in template {
            match *part {
                T(s) => b.text(s),
                Num => b.text(&reference_number(rng)),
                Own(slot) => {
                    let v = own_value(rng, account, slot);
                    b.pii(slot, v);
                }
                Other(slot) => {
                    let v = third.value(rng, slot);
                    b.pii(slot, v);
                }
                Fresh(slot) => {
                    let v = Person::random(rng).value(rng, slot);
                    b.pii(slot, v);
                }
            }
        }
        return (Some(b.text), b.labels);
    }
    if rng.gen_bool(0.45) {
        return (None, Vec::new());
    }
    let t = BENIGN[rng.gen_range(0..BENIGN.len())];
    let text = t
        .replace("{num}", &reference_number(rng))
        .replace("{month}", MONTHS[rng.gen_range(0..MONTHS.len())])
        .replace("{merchant}", &merchant.name)
        .replace("{code}", &booking_code(rng));
    (Some(text), Vec::new())
}

#[derive(Default)]
struct Builder {
    text: String,
    labels: Vec<PiiLabel>,
}

impl Builder {
    fn text(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn pii(&mut self, slot: Slot, value: String) {
        let start = self.text.len();
        self.text.push_str(&value);
        self.labels.push(PiiLabel {
            field: "description".to_string(),
            kind: kind(slot).to_string(),
            start,
            end: self.text.len(),
            text: value,
        });
    }
}

fn kind(slot: Slot) -> &'static str {
    match slot {
        Email => "email",
        Phone => "phone",
        Card => "card_number",
        Iban => "iban",
        NationalId => "national_id",
        Name => "person_name",
    }
}

fn pick<'a, R: Rng>(rng: &mut R, values: &'a [String]) -> &'a str {
    values[rng.gen_range(0..values.len())].as_str()
}

fn own_value<R: Rng>(rng: &mut R, a: &Account, slot: Slot) -> String {
    match slot {
        Email => {
            if rng.gen_bool(0.15) {
                a.email.to_uppercase()
            } else {
                a.email.clone()
            }
        }
        Phone => pick(rng, &a.phones).to_string(),
        Card => identity::format_card(rng, &a.card),
        Iban => match &a.iban {
            Some(i) => format_iban(rng, i),
            None => Person::random(rng).value(rng, Iban),
        },
        NationalId => pick(rng, &a.national_ids).to_string(),
        Name => styled_name(rng, a.first, a.last),
    }
}

/// A third party mentioned in a description (not a customer of the simulated bank).
struct Person {
    first: &'static str,
    last: &'static str,
    country: usize,
}

impl Person {
    fn random<R: Rng>(rng: &mut R) -> Person {
        let country = rng.gen_range(0..COUNTRIES.len());
        let (first, last) = names::person(rng, COUNTRIES[country].lang);
        Person {
            first,
            last,
            country,
        }
    }

    fn value<R: Rng>(&self, rng: &mut R, slot: Slot) -> String {
        let country = &COUNTRIES[self.country];
        match slot {
            Email => accounts::email(rng, self.first, self.last, country.tld),
            Phone => {
                let variants = identity::phone_variants(rng, country);
                pick(rng, &variants).to_string()
            }
            Card => {
                let card = identity::card_number(rng);
                identity::format_card(rng, &card)
            }
            Iban => {
                let home = if country.bban.is_some() {
                    country
                } else {
                    &COUNTRIES[0]
                };
                identity::iban(rng, home)
                    .map(|i| format_iban(rng, &i))
                    .unwrap_or_default()
            }
            NationalId => {
                let birth = identity::birth_date(rng);
                let variants = identity::national_id_variants(rng, country.code, birth);
                pick(rng, &variants).to_string()
            }
            Name => styled_name(rng, self.first, self.last),
        }
    }
}

fn format_iban<R: Rng>(rng: &mut R, iban: &str) -> String {
    if rng.gen_bool(0.6) {
        format_iban_grouped(iban)
    } else {
        iban.to_string()
    }
}

/// A person's name written the way people do: natural, all caps, all lower case,
/// "Last, First", "LAST First" or with an initial.
fn styled_name<R: Rng>(rng: &mut R, first: &str, last: &str) -> String {
    match rng.gen_range(0..10) {
        0..=3 => format!("{first} {last}"),
        4 => format!("{first} {last}").to_uppercase(),
        5 => format!("{first} {last}").to_lowercase(),
        6 | 7 => format!("{last}, {first}"),
        8 => format!("{} {first}", last.to_uppercase()),
        _ => {
            let initial = first.chars().next().unwrap_or('X');
            format!("{initial}. {last}")
        }
    }
}

fn reference_number<R: Rng>(rng: &mut R) -> String {
    let len = rng.gen_range(4..=8);
    let mut s = String::with_capacity(len);
    s.push(char::from(b'1' + rng.gen_range(0..9u8)));
    for _ in 1..len {
        s.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    s
}

fn booking_code<R: Rng>(rng: &mut R) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..6)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}
