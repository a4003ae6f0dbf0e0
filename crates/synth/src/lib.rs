//! Deterministic synthetic financial transactions with labelled fraud/AML patterns and
//! labelled PII hidden in free-text descriptions.
//!
//! [`Generator`] is an infinite iterator of [`SyntheticTxn`] in non-decreasing (simulated)
//! timestamp order. Everything derives from [`GenConfig::seed`]: same seed, same stream; no
//! wall clock and no thread-local randomness are used.
//!
//! The simulated world: a few thousand customers (home country, name, e-mail, phone numbers,
//! national id, card with a valid Luhn digit, IBAN with a valid mod-97 checksum where the
//! country uses IBAN, spend level, activity level), a couple of thousand merchants with real
//! MCCs across ~30 countries, log-normal amounts per category, a local daily rhythm, trips
//! abroad that take realistic travel time, and currencies matching countries.

#![forbid(unsafe_code)]

mod accounts;
mod amounts;
pub mod checksum;
mod countries;
mod generator;
mod identity;
mod merchants;
mod names;
mod patterns;
mod pii;
mod rhythm;
mod traffic;
mod world;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use checksum::{
    format_iban_grouped, iban_check_digits, iban_from_bban, iban_valid, luhn_check_digit,
    luhn_valid,
};
pub use generator::Generator;

/// 2026-01-01T00:00:00Z, the default origin of simulated time.
const DEFAULT_START_EPOCH_SECS: i64 = 1_767_225_600;

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenConfig {
    pub seed: u64,
    /// Share of records that belong to an injected fraud/AML pattern (clamped to 0..=0.9).
    pub fraud_rate: f64,
    /// Share of records whose description hides PII (clamped to 0..=1).
    pub pii_rate: f64,
    /// Number of customer accounts (at least 1).
    pub accounts: usize,
    /// Target number of merchants; at least one per (category, country) pair is always made
    /// (about 560), so smaller values are rounded up.
    pub merchants: usize,
    /// Origin of simulated time (the first records are shortly after it).
    pub start: DateTime<Utc>,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            fraud_rate: 0.02,
            pii_rate: 0.3,
            accounts: 5000,
            merchants: 2000,
            start: DateTime::from_timestamp(DEFAULT_START_EPOCH_SECS, 0).unwrap_or_default(),
        }
    }
}

/// One generated transaction, in the pipeline's input-record shape plus a `label`.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct SyntheticTxn {
    pub transaction_id: String,
    pub account_id: String,
    /// RFC 3339, UTC, "Z", whole seconds.
    pub timestamp: String,
    /// Decimal with two places, e.g. "12.34" (whole numbers for JPY: "1500.00").
    pub amount: String,
    pub currency: String,
    pub merchant: String,
    /// Four digits.
    pub mcc: String,
    /// ISO 3166-1 alpha-2 of the merchant (card present, ATM), of the online merchant, or of
    /// the account's bank (transfers).
    pub country: String,
    /// `card_present`, `online`, `atm` or `transfer`.
    pub channel: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub customer_name: Option<String>,
    pub customer_email: Option<String>,
    pub card_number: Option<String>,
    pub iban: Option<String>,
    pub label: Label,
}

/// Ground truth for a record (synthetic data only; the pipeline ignores it).
#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Label {
    /// True for every record of an injected pattern.
    pub fraud: bool,
    pub pattern: Option<Pattern>,
    /// PII hidden in the description.
    pub pii: Vec<PiiLabel>,
}

/// The injected fraud / AML patterns.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// 5-15 online charges of 0.50-2.00 within minutes.
    CardTesting,
    /// 8-20 ordinary-sized charges a few minutes apart.
    Velocity,
    /// Card present (or ATM) in a country >= 2,500 km from a card-present use minutes before.
    ImpossibleTravel,
    /// 3-6 cash deposits / transfers of 90-99.9% of the reporting threshold within 24 h.
    Structuring,
    /// A purchase of 20-100 times the account's typical spend.
    AmountOutlier,
}

impl Pattern {
    pub const ALL: [Pattern; 5] = [
        Pattern::CardTesting,
        Pattern::Velocity,
        Pattern::ImpossibleTravel,
        Pattern::Structuring,
        Pattern::AmountOutlier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::CardTesting => "card_testing",
            Pattern::Velocity => "velocity",
            Pattern::ImpossibleTravel => "impossible_travel",
            Pattern::Structuring => "structuring",
            Pattern::AmountOutlier => "amount_outlier",
        }
    }
}

/// One PII span hidden in a text field.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct PiiLabel {
    /// The field holding the span ("description").
    pub field: String,
    /// `email`, `phone`, `card_number`, `iban`, `national_id` or `person_name`.
    pub kind: String,
    /// Byte offset of the first byte of the span.
    pub start: usize,
    /// Byte offset one past the last byte of the span.
    pub end: usize,
    /// The span's text (equals `field[start..end]`).
    pub text: String,
}
