//! The simulated world (customers, merchants, clock origin) and the assembly of one output
//! record from "who paid whom how much when".

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rand::Rng;

use crate::accounts::Account;
use crate::amounts::{atm_round, eur_to, format_amount};
use crate::countries::COUNTRIES;
use crate::merchants::{Kind, Merchants, CATEGORIES};
use crate::pii;
use crate::{Label, Pattern, SyntheticTxn};

pub(crate) struct World {
    pub accounts: Vec<Account>,
    pub merchants: Merchants,
    pub start: DateTime<Utc>,
    pub pii_rate: f64,
}

/// An amount either in EUR (converted to the merchant's currency) or already in it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Amount {
    Eur(f64),
    Local(f64),
}

impl World {
    /// Builds the record of account `acct` paying merchant `merchant` at simulated time
    /// `at_ms`. `pattern` is the injected pattern the record belongs to, if any. The
    /// transaction id is left empty (assigned on emission, in stream order).
    pub(crate) fn txn<R: Rng>(
        &self,
        rng: &mut R,
        at_ms: i64,
        acct: usize,
        merchant: usize,
        amount: Amount,
        pattern: Option<Pattern>,
    ) -> SyntheticTxn {
        let a = &self.accounts[acct];
        let m = &self.merchants.list[merchant];
        let kind = CATEGORIES[m.cat].kind;
        let country = &COUNTRIES[m.country];
        let currency = country.currency;
        let local = match amount {
            Amount::Local(x) => x,
            Amount::Eur(e) if kind == Kind::Atm => atm_round(currency, eur_to(currency, e)),
            Amount::Eur(e) => eur_to(currency, e),
        };
        let (customer_name, customer_email, card_number, iban) = match kind {
            Kind::Physical => (
                rng.gen_bool(0.5).then(|| a.name()),
                None,
                Some(a.card.clone()),
                None,
            ),
            Kind::Online => (
                rng.gen_bool(0.9).then(|| a.name()),
                rng.gen_bool(0.8).then(|| a.email.clone()),
                Some(a.card.clone()),
                None,
            ),
            Kind::Atm => (
                rng.gen_bool(0.2).then(|| a.name()),
                None,
                Some(a.card.clone()),
                None,
            ),
            Kind::Transfer => (
                Some(a.name()),
                rng.gen_bool(0.3).then(|| a.email.clone()),
                None,
                a.iban.clone(),
            ),
        };
        let (description, pii) = pii::describe(rng, a, m, self.pii_rate);
        SyntheticTxn {
            transaction_id: String::new(),
            account_id: a.id.clone(),
            timestamp: self.timestamp(at_ms),
            amount: format_amount(currency, local),
            currency: currency.to_string(),
            merchant: m.name.clone(),
            mcc: format!("{:04}", m.mcc),
            country: country.code.to_string(),
            channel: kind.channel().to_string(),
            description,
            customer_name,
            customer_email,
            card_number,
            iban,
            label: Label {
                fraud: pattern.is_some(),
                pattern,
                pii,
            },
        }
    }

    /// RFC 3339 UTC timestamp ("Z", whole seconds) of simulated time `at_ms`.
    pub(crate) fn timestamp(&self, at_ms: i64) -> String {
        (self.start + TimeDelta::milliseconds(at_ms)).to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}
