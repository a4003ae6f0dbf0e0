//! Detector parameters. Governance thresholds on the scores live in the policy data, not here.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::{
    AmountOutlierConfig, CardTestingConfig, FanInConfig, FanOutConfig, ImpossibleTravelConfig,
    StructuringConfig, VelocityConfig,
};

/// Parameters of every detector plus the reference exchange rates used to compare amounts
/// across currencies.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RiskConfig {
    pub card_testing: CardTestingConfig,
    pub velocity: VelocityConfig,
    pub impossible_travel: ImpossibleTravelConfig,
    pub structuring: StructuringConfig,
    pub amount_outlier: AmountOutlierConfig,
    pub fan_out: FanOutConfig,
    pub fan_in: FanInConfig,
    /// Units of each currency per EUR (static reference rates; detectors only need
    /// magnitudes). Amounts in a currency missing here skip the amount-based checks.
    pub fx_per_eur: HashMap<String, f64>,
}

impl Default for RiskConfig {
    fn default() -> Self {
        let fx = [
            ("EUR", 1.0),
            ("USD", 1.08),
            ("GBP", 0.85),
            ("CHF", 0.95),
            ("SEK", 11.3),
            ("NOK", 11.6),
            ("DKK", 7.46),
            ("PLN", 4.3),
            ("CZK", 25.0),
            ("HUF", 395.0),
            ("RON", 4.97),
            ("BGN", 1.96),
            ("ISK", 150.0),
            ("JPY", 160.0),
            ("CNY", 7.8),
            ("HKD", 8.4),
            ("KRW", 1450.0),
            ("TWD", 34.5),
            ("CAD", 1.47),
            ("AUD", 1.65),
            ("NZD", 1.8),
            ("SGD", 1.45),
            ("AED", 3.97),
            ("SAR", 4.05),
            ("QAR", 3.93),
            ("ILS", 4.0),
            ("BRL", 5.9),
            ("MXN", 19.0),
            ("ARS", 950.0),
            ("CLP", 1000.0),
            ("COP", 4300.0),
            ("THB", 38.0),
            ("MYR", 5.0),
            ("IDR", 17000.0),
            ("PHP", 61.0),
            ("VND", 27000.0),
            ("INR", 90.0),
            ("PKR", 300.0),
            ("ZAR", 20.0),
            ("TRY", 35.0),
            ("EGP", 52.0),
            ("MAD", 10.8),
            ("KES", 140.0),
            ("NGN", 1600.0),
            ("UAH", 44.0),
        ];
        RiskConfig {
            card_testing: CardTestingConfig::default(),
            velocity: VelocityConfig::default(),
            impossible_travel: ImpossibleTravelConfig::default(),
            structuring: StructuringConfig::default(),
            amount_outlier: AmountOutlierConfig::default(),
            fan_out: FanOutConfig::default(),
            fan_in: FanInConfig::default(),
            fx_per_eur: fx.iter().map(|(c, r)| (c.to_string(), *r)).collect(),
        }
    }
}

impl RiskConfig {
    /// `amount` in `currency` converted to EUR, if the currency is known.
    pub(crate) fn to_eur(&self, amount: f64, currency: &str) -> Option<f64> {
        let rate = self.fx_per_eur.get(currency)?;
        (*rate > 0.0 && amount.is_finite() && amount > 0.0).then(|| amount / rate)
    }

    /// Units of `currency` per EUR, if known.
    pub(crate) fn per_eur(&self, currency: &str) -> Option<f64> {
        self.fx_per_eur.get(currency).copied().filter(|r| *r > 0.0)
    }
}
