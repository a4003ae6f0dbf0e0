//! Structuring (smurfing): cash deposits / withdrawals or transfers kept just under the
//! reporting threshold, or split into sub-threshold amounts that add up over it, within 24 h.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{Channel, Detector, Event, Finding, RiskConfig};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StructuringConfig {
    pub window_secs: i64,
    /// "Just under": within this fraction below the threshold (0.10: 90-100%).
    pub band: f64,
    /// Cash / transfer amounts of at least this fraction of the threshold are remembered and
    /// summed.
    pub track_ratio: f64,
    /// Reporting threshold per currency (in that currency).
    pub thresholds: HashMap<String, f64>,
    /// Threshold in EUR for currencies not listed (converted at the reference rate).
    pub default_threshold_eur: f64,
    /// Bound on remembered amounts.
    pub max_events: usize,
}

impl Default for StructuringConfig {
    fn default() -> Self {
        let thresholds = [
            ("EUR", 10_000.0),
            ("USD", 10_000.0),
            ("GBP", 10_000.0),
            ("CHF", 10_000.0),
            ("SEK", 100_000.0),
            ("NOK", 100_000.0),
            ("DKK", 75_000.0),
            ("PLN", 40_000.0),
            ("CZK", 250_000.0),
            ("JPY", 1_000_000.0),
            ("CAD", 10_000.0),
            ("AUD", 10_000.0),
            ("NZD", 10_000.0),
        ];
        StructuringConfig {
            window_secs: 24 * 3600,
            band: 0.10,
            track_ratio: 0.5,
            thresholds: thresholds
                .iter()
                .map(|(c, t)| (c.to_string(), *t))
                .collect(),
            default_threshold_eur: 10_000.0,
            max_events: 32,
        }
    }
}

/// Recent large cash / transfer amounts, as fractions of their currency's threshold.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    large: VecDeque<Large>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.large.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Large {
    t: i64,
    /// amount / threshold.
    r: f32,
}

impl Timed for Large {
    fn t(&self) -> i64 {
        self.t
    }
}

/// The reporting threshold for a currency, in that currency.
fn threshold(cfg: &RiskConfig, currency: &str) -> f64 {
    let s = &cfg.structuring;
    s.thresholds
        .get(currency)
        .copied()
        .filter(|t| *t > 0.0)
        .unwrap_or_else(|| s.default_threshold_eur * cfg.per_eur(currency).unwrap_or(1.0))
}

/// amount / threshold for cash and transfers with a usable amount.
fn ratio(cfg: &RiskConfig, ev: &Event<'_>) -> Option<f64> {
    let cash_like = matches!(ev.txn.channel, Channel::Atm | Channel::Transfer);
    let amount = ev.txn.amount;
    (cash_like && amount.is_finite() && amount > 0.0)
        .then(|| amount / threshold(cfg, ev.txn.currency))
}

pub(crate) fn check(cfg: &RiskConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    let s = &cfg.structuring;
    let r = ratio(cfg, ev)?;
    if r >= 1.0 {
        return None; // at or over the threshold: reported, not structured
    }
    let near = 1.0 - s.band;
    let (mut n_prior, mut near_prior, mut sum) = (0usize, 0usize, r);
    for large in window::within(&state.large, ev.t, ms(s.window_secs)) {
        n_prior += 1;
        sum += f64::from(large.r);
        if f64::from(large.r) >= near {
            near_prior += 1;
        }
    }
    let hours = s.window_secs / 3600;
    let limit = threshold(cfg, ev.txn.currency);
    if r >= near {
        let n = near_prior + 1;
        let base: f64 = match n {
            1 => 0.45,
            2 => 0.75,
            _ => 0.9,
        };
        let score = (base + if sum >= 2.0 { 0.05 } else { 0.0 }).min(1.0);
        return Some(Finding {
            detector: Detector::Structuring,
            score,
            reason: format!(
                "{n} cash/transfer amount(s) just under the {limit:.0} {} reporting threshold \
                 within {hours} h (total {:.1}x the threshold)",
                ev.txn.currency, sum
            ),
        });
    }
    if r >= s.track_ratio && n_prior >= 1 && sum >= 1.0 {
        return Some(Finding {
            detector: Detector::Structuring,
            score: 0.55,
            reason: format!(
                "{} sub-threshold cash/transfer amounts within {hours} h add up to {:.1}x the \
                 {limit:.0} {} reporting threshold",
                n_prior + 1,
                sum,
                ev.txn.currency
            ),
        });
    }
    None
}

pub(crate) fn record(cfg: &RiskConfig, state: &mut State, ev: &Event<'_>) {
    let s = &cfg.structuring;
    match ratio(cfg, ev) {
        Some(r) if r >= s.track_ratio && r < 1.0 => {
            let large = Large {
                t: ev.t,
                r: r as f32,
            };
            window::push(
                &mut state.large,
                large,
                ev.t,
                ms(s.window_secs),
                s.max_events,
            );
        }
        _ => window::prune(&mut state.large, ev.t, ms(s.window_secs)),
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    const D: Detector = Detector::Structuring;
    const HOUR: i64 = 3600;

    #[test]
    fn repeated_amounts_just_under_the_threshold() {
        let mut s = AccountState::default();
        let first = run(&mut s, &Tx::new(0, 9_500.0, Channel::Transfer), D).expect("just under");
        let second = run(&mut s, &Tx::new(5 * HOUR, 9_800.0, Channel::Atm), D).expect("again");
        let third = run(&mut s, &Tx::new(9 * HOUR, 9_400.0, Channel::Transfer), D).expect("3rd");
        assert!(first < second && second < third, "{first} {second} {third}");
        assert!(third >= 0.9);
    }

    #[test]
    fn other_amounts_channels_and_windows() {
        let mut s = AccountState::default();
        assert_eq!(
            run(&mut s, &Tx::new(0, 9_500.0, Channel::CardPresent), D),
            None
        );
        assert_eq!(
            run(&mut s, &Tx::new(60, 10_500.0, Channel::Transfer), D),
            None
        );
        assert_eq!(
            run(&mut s, &Tx::new(120, 4_000.0, Channel::Transfer), D),
            None
        );
        let mut s = AccountState::default();
        run(&mut s, &Tx::new(0, 9_500.0, Channel::Transfer), D);
        let later = run(&mut s, &Tx::new(26 * HOUR, 9_500.0, Channel::Transfer), D);
        assert_eq!(
            later,
            Some(0.45),
            "the first one is outside the 24 h window"
        );
    }

    #[test]
    fn split_amounts_adding_up_over_the_threshold() {
        let mut s = AccountState::default();
        assert_eq!(run(&mut s, &Tx::new(0, 6_000.0, Channel::Atm), D), None);
        assert!(run(&mut s, &Tx::new(2 * HOUR, 5_000.0, Channel::Transfer), D).is_some());
    }

    #[test]
    fn thresholds_per_currency() {
        let mut s = AccountState::default();
        let sek = Tx::new(0, 95_000.0, Channel::Transfer).currency("SEK");
        assert!(run(&mut s, &sek, D).is_some());
        let mut s = AccountState::default();
        let sek = Tx::new(0, 9_500.0, Channel::Transfer).currency("SEK");
        assert_eq!(run(&mut s, &sek, D), None, "9,500 SEK is small money");
    }
}
