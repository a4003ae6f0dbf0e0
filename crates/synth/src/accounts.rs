//! Synthetic customers: identity, PII, spending habits and where they are right now.

use rand::Rng;

use crate::amounts::lognormal;
use crate::countries::COUNTRIES;
use crate::identity;
use crate::merchants::pick_weighted;
use crate::names::{self, ascii_fold};

/// Median amount (EUR) of an ordinary transaction of a customer with spend level 1, given the
/// category mix in `merchants::CATEGORIES`; "typical spend" of an account is this times its
/// spend level.
pub(crate) const TYPICAL_EUR: f64 = 30.0;

pub(crate) struct Account {
    pub id: String,
    pub home: usize,
    pub first: &'static str,
    pub last: &'static str,
    pub email: String,
    pub card: String,
    pub iban: Option<String>,
    pub phones: Vec<String>,
    pub national_ids: Vec<String>,
    /// Multiplier on every category's median amount.
    pub spend: f64,
    /// Mean transactions per day.
    pub daily_rate: f64,
    /// Seed for the account's favourite merchants.
    pub favourite: u64,
    /// City (index into the home country's cities) the customer lives in.
    pub home_city: usize,
    /// Country the customer is in now.
    pub location: usize,
    /// City (index into the current country's cities) the customer is in now.
    pub city: usize,
    /// Simulated ms until which the customer is travelling (no card-present use).
    pub busy_until: i64,
    /// When the current trip abroad ends.
    pub trip_end: Option<i64>,
    /// Until when an injected pattern is running on this account.
    pub episode_until: i64,
    /// Ordinary card transactions so far (history available for the outlier pattern).
    pub card_txns: u32,
}

impl Account {
    pub(crate) fn name(&self) -> String {
        format!("{} {}", self.first, self.last)
    }

    pub(crate) fn typical_eur(&self) -> f64 {
        self.spend * TYPICAL_EUR
    }

    pub(crate) fn idle(&self, now: i64) -> bool {
        now >= self.busy_until && now >= self.episode_until
    }
}

pub(crate) fn build<R: Rng>(rng: &mut R, count: usize) -> Vec<Account> {
    let weights: Vec<f64> = COUNTRIES.iter().map(|c| c.home_weight).collect();
    (0..count)
        .map(|i| {
            let home = pick_weighted(rng, &weights);
            let country = &COUNTRIES[home];
            let (first, last) = names::person(rng, country.lang);
            let email = email(rng, first, last, country.tld);
            let birth = identity::birth_date(rng);
            let home_city = rng.gen_range(0..country.cities.len());
            Account {
                id: format!("acct-{i:06}"),
                home,
                first,
                last,
                email,
                card: identity::card_number(rng),
                iban: identity::iban(rng, country),
                phones: identity::phone_variants(rng, country),
                national_ids: identity::national_id_variants(rng, country.code, birth),
                spend: lognormal(rng, 1.0, 0.4).clamp(0.3, 4.0),
                daily_rate: lognormal(rng, 2.2, 0.5).clamp(0.3, 12.0),
                favourite: rng.gen(),
                home_city,
                location: home,
                city: home_city,
                busy_until: 0,
                trip_end: None,
                episode_until: 0,
                card_txns: 0,
            }
        })
        .collect()
}

/// An e-mail address derived from a name, in one of the usual shapes.
pub(crate) fn email<R: Rng>(rng: &mut R, first: &str, last: &str, tld: &str) -> String {
    let (f, l) = (ascii_fold(first), ascii_fold(last));
    let initial = f.chars().next().unwrap_or('x');
    let local = match rng.gen_range(0..6) {
        0 | 1 => format!("{f}.{l}"),
        2 => format!("{initial}.{l}"),
        3 => format!("{f}{l}{}", rng.gen_range(1..100)),
        4 => format!("{f}_{l}"),
        _ => format!("{l}.{f}"),
    };
    let domain = match rng.gen_range(0..5) {
        0 => "example.com".to_string(),
        1 => "example.org".to_string(),
        2 => "example.net".to_string(),
        3 => format!("example.{tld}"),
        _ => format!("mail.example.{tld}"),
    };
    format!("{local}@{domain}")
}
