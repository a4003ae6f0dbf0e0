//! Stateful per-account fraud and AML detectors for a transaction stream.
//!
//! The pipeline keeps one [`AccountState`] per account (persisted as JSON between batches) and
//! calls [`RiskEngine::assess`] for each transaction in timestamp order. Each detector keeps a
//! small bounded window of the account's recent events, so the state stays a few kilobytes at
//! most however long the account lives. No I/O, no clock: time is the transactions' own.
//!
//! Detectors:
//! - [`Detector::CardTesting`]: several tiny card-not-present charges within minutes.
//! - [`Detector::Velocity`]: many charges within a short window.
//! - [`Detector::ImpossibleTravel`]: card-present / ATM use in two countries too far apart for
//!   the time between them.
//! - [`Detector::Structuring`]: cash / transfer amounts just under the reporting threshold, or
//!   sub-threshold amounts adding up over it, within 24 h.
//! - [`Detector::AmountOutlier`]: a card purchase far above the account's usual amounts.
//! - [`Detector::FanOut`]: transfers to many different new counterparties within a day.
//! - [`Detector::FanIn`]: transfers from many different accounts to one beneficiary within
//!   days; its memory is keyed on the beneficiary ([`BeneficiaryIndex`]), not the account.

#![forbid(unsafe_code)]

mod amount_outlier;
mod card_testing;
mod config;
mod counterparty;
mod engine;
mod fan_in;
mod fan_out;
mod geo;
mod impossible_travel;
mod state;
mod structuring;
mod velocity;
mod window;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use amount_outlier::AmountOutlierConfig;
pub use card_testing::CardTestingConfig;
pub use config::RiskConfig;
pub use engine::RiskEngine;
pub use fan_in::{BeneficiaryIndex, FanInConfig};
pub use fan_out::FanOutConfig;
pub use geo::country_distance_km;
pub use impossible_travel::ImpossibleTravelConfig;
pub use state::AccountState;
pub use structuring::StructuringConfig;
pub use velocity::VelocityConfig;

/// How the transaction was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    CardPresent,
    Online,
    Atm,
    Transfer,
}

impl Channel {
    /// Parses the input-record spelling (`card_present`, `online`, `atm`, `transfer`).
    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "card_present" => Some(Channel::CardPresent),
            "online" => Some(Channel::Online),
            "atm" => Some(Channel::Atm),
            "transfer" => Some(Channel::Transfer),
            _ => None,
        }
    }

    /// Physically present: the customer (or their card) is in the transaction's country.
    pub fn is_physical(self) -> bool {
        matches!(self, Channel::CardPresent | Channel::Atm)
    }
}

/// What the detectors look at in one transaction (already validated by the pipeline).
#[derive(Clone, Copy, Debug)]
pub struct TxnFeatures<'a> {
    pub account_id: &'a str,
    pub timestamp: DateTime<Utc>,
    /// In the transaction currency.
    pub amount: f64,
    /// ISO 4217.
    pub currency: &'a str,
    /// ISO 3166-1 alpha-2.
    pub country: &'a str,
    pub channel: Channel,
    pub mcc: u16,
    pub merchant: &'a str,
    /// The other party's account for a transfer (`counterparty_account`), when given.
    pub counterparty: Option<&'a str>,
}

/// One detector's verdict on one transaction.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub detector: Detector,
    /// Strength of the evidence, 0..=1 (the governance thresholds live in the policy data).
    pub score: f64,
    /// Human-readable explanation (no PII: counts, amounts, countries, durations).
    pub reason: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    CardTesting,
    Velocity,
    ImpossibleTravel,
    Structuring,
    AmountOutlier,
    FanOut,
    FanIn,
}

impl Detector {
    pub const ALL: [Detector; 7] = [
        Detector::CardTesting,
        Detector::Velocity,
        Detector::ImpossibleTravel,
        Detector::Structuring,
        Detector::AmountOutlier,
        Detector::FanOut,
        Detector::FanIn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Detector::CardTesting => "card_testing",
            Detector::Velocity => "velocity",
            Detector::ImpossibleTravel => "impossible_travel",
            Detector::Structuring => "structuring",
            Detector::AmountOutlier => "amount_outlier",
            Detector::FanOut => "fan_out",
            Detector::FanIn => "fan_in",
        }
    }
}

/// A transaction as the detectors see it: time in ms since the epoch, amount in EUR when the
/// currency is known.
pub(crate) struct Event<'a> {
    pub t: i64,
    pub eur: Option<f64>,
    pub txn: &'a TxnFeatures<'a>,
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Hand-built transactions for the detector unit tests.

    use chrono::{DateTime, Utc};

    use crate::{AccountState, Channel, Detector, RiskConfig, RiskEngine, TxnFeatures};

    /// 2026-01-01T00:00:00Z plus `secs`.
    pub(crate) fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + secs, 0).unwrap_or_default()
    }

    pub(crate) struct Tx {
        pub secs: i64,
        pub amount: f64,
        pub currency: &'static str,
        pub country: &'static str,
        pub channel: Channel,
        pub mcc: u16,
        pub merchant: &'static str,
        pub counterparty: Option<&'static str>,
    }

    impl Tx {
        pub(crate) fn new(secs: i64, amount: f64, channel: Channel) -> Tx {
            Tx {
                secs,
                amount,
                currency: "EUR",
                country: "DE",
                channel,
                mcc: 5411,
                merchant: "Shop",
                counterparty: None,
            }
        }

        pub(crate) fn currency(mut self, c: &'static str) -> Tx {
            self.currency = c;
            self
        }

        pub(crate) fn country(mut self, c: &'static str) -> Tx {
            self.country = c;
            self
        }

        pub(crate) fn mcc(mut self, mcc: u16) -> Tx {
            self.mcc = mcc;
            self
        }

        pub(crate) fn merchant(mut self, m: &'static str) -> Tx {
            self.merchant = m;
            self
        }

        pub(crate) fn counterparty(mut self, c: &'static str) -> Tx {
            self.counterparty = Some(c);
            self
        }

        pub(crate) fn features(&self) -> TxnFeatures<'static> {
            TxnFeatures {
                account_id: "acct-1",
                timestamp: at(self.secs),
                amount: self.amount,
                currency: self.currency,
                country: self.country,
                channel: self.channel,
                mcc: self.mcc,
                merchant: self.merchant,
                counterparty: self.counterparty,
            }
        }
    }

    /// Runs `tx` through a default engine; returns the findings' scores for `detector`.
    pub(crate) fn run(state: &mut AccountState, tx: &Tx, detector: Detector) -> Option<f64> {
        let engine = RiskEngine::new(RiskConfig::default());
        let findings = engine.assess(state, &tx.features());
        for f in &findings {
            assert!((0.0..=1.0).contains(&f.score), "{f:?}");
            assert!(!f.reason.is_empty());
        }
        findings
            .iter()
            .find(|f| f.detector == detector)
            .map(|f| f.score)
    }
}
