//! Structuring (smurfing): cash deposits / withdrawals or transfers kept just under a
//! reporting threshold, or split into sub-threshold amounts that add up over it, within 24 h;
//! or kept just under a threshold again and again over days.

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
    /// Other published thresholds per currency, below its main one, in that currency, that
    /// amounts are kept just under too (the band only; sums are judged against `thresholds`).
    pub other_thresholds: HashMap<String, Vec<f64>>,
    /// Threshold in EUR for currencies not listed (converted at the reference rate).
    pub default_threshold_eur: f64,
    /// Amounts just under a threshold this many times within `repeat_window_secs` (this one
    /// included) make a finding even when they are days apart (0 turns it off).
    pub repeat_min: usize,
    pub repeat_window_secs: i64,
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
            other_thresholds: [
                // US funds-transfer recordkeeping (31 CFR 1010.410): USD 3,000. Thresholds
                // above a currency's main one add nothing: an amount over the main one is
                // reported, not structured.
                ("USD", vec![3_000.0]),
            ]
            .into_iter()
            .map(|(c, t)| (c.to_owned(), t))
            .collect(),
            default_threshold_eur: 10_000.0,
            repeat_min: 3,
            repeat_window_secs: 7 * 24 * 3600,
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
    /// Just under one of the other thresholds (older states lack it: false).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    n: bool,
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

/// The other threshold the amount is just under, if any.
fn under_other(cfg: &RiskConfig, ev: &Event<'_>) -> Option<f64> {
    let s = &cfg.structuring;
    let near = 1.0 - s.band;
    let amount = ev.txn.amount;
    s.other_thresholds
        .get(ev.txn.currency)?
        .iter()
        .copied()
        .find(|t| *t > 0.0 && amount < *t && amount >= near * t)
}

fn is_near(large: &Large, near: f64) -> bool {
    large.n || f64::from(large.r) >= near
}

/// How long amounts are remembered: the longer of the two windows in use.
fn horizon_secs(s: &StructuringConfig) -> i64 {
    if s.repeat_min >= 2 {
        s.window_secs.max(s.repeat_window_secs)
    } else {
        s.window_secs
    }
}

pub(crate) fn check(cfg: &RiskConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    let s = &cfg.structuring;
    let r = ratio(cfg, ev)?;
    if r >= 1.0 {
        return None; // at or over the threshold: reported, not structured
    }
    let near = 1.0 - s.band;
    let other = under_other(cfg, ev);
    let (mut n_prior, mut near_prior, mut sum) = (0usize, 0usize, r);
    for large in window::within(&state.large, ev.t, ms(s.window_secs)) {
        if f64::from(large.r) >= s.track_ratio {
            n_prior += 1;
            sum += f64::from(large.r);
        }
        if is_near(large, near) {
            near_prior += 1;
        }
    }
    let hours = s.window_secs / 3600;
    let limit = other.unwrap_or_else(|| threshold(cfg, ev.txn.currency));
    if r >= near || other.is_some() {
        let n = near_prior + 1;
        let repeated = if s.repeat_min >= 2 && s.repeat_window_secs > s.window_secs {
            1 + window::within(&state.large, ev.t, ms(s.repeat_window_secs))
                .filter(|l| is_near(l, near))
                .count()
        } else {
            0
        };
        if n == 1 && repeated >= s.repeat_min {
            return Some(Finding {
                detector: Detector::Structuring,
                score: 0.7,
                reason: format!(
                    "{repeated} cash/transfer amounts just under a reporting threshold within {} \
                     days, this one under {limit:.0} {}",
                    s.repeat_window_secs / 86_400,
                    ev.txn.currency
                ),
            });
        }
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
    let horizon = ms(horizon_secs(s));
    let n = under_other(cfg, ev).is_some();
    match ratio(cfg, ev) {
        Some(r) if (r >= s.track_ratio || n) && r < 1.0 => {
            let large = Large {
                t: ev.t,
                r: r as f32,
                n,
            };
            window::push(&mut state.large, large, ev.t, horizon, s.max_events);
        }
        _ => window::prune(&mut state.large, ev.t, horizon),
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
    fn just_under_a_threshold_again_and_again_over_days() {
        let mut s = AccountState::default();
        let days = [0, 2 * 24, 4 * 24 + 5];
        let scores: Vec<Option<f64>> = days
            .iter()
            .map(|h| run(&mut s, &Tx::new(h * HOUR, 9_600.0, Channel::Atm), D))
            .collect();
        assert_eq!(scores[0], Some(0.45), "once is not a pattern");
        assert_eq!(scores[1], Some(0.45), "twice, two days apart");
        assert_eq!(scores[2], Some(0.7), "the third within a week: {scores:?}");
        // Spread over more than a week, it is not a pattern.
        let mut s = AccountState::default();
        for i in 0..3 {
            let got = run(
                &mut s,
                &Tx::new(i * 4 * 24 * HOUR, 9_600.0, Channel::Atm),
                D,
            );
            assert_eq!(got, Some(0.45), "transaction {i}");
        }
    }

    #[test]
    fn other_published_thresholds_count_for_the_band_only() {
        // USD 3,000 (US funds-transfer recordkeeping): just under it three times in a week.
        let mut s = AccountState::default();
        let usd =
            |h: i64, amount: f64| Tx::new(h * HOUR, amount, Channel::Transfer).currency("USD");
        assert_eq!(run(&mut s, &usd(0, 2_900.0), D), Some(0.45));
        assert_eq!(run(&mut s, &usd(30, 2_850.0), D), Some(0.45));
        assert_eq!(run(&mut s, &usd(60, 2_950.0), D), Some(0.7));
        // Amounts well under it, or sums of them, are ordinary.
        let mut s = AccountState::default();
        for h in 0..4 {
            assert_eq!(run(&mut s, &usd(h, 1_800.0), D), None, "hour {h}");
        }
        // Over the main threshold, it is reported, not structured.
        let mut s = AccountState::default();
        assert_eq!(run(&mut s, &usd(0, 10_500.0), D), None);
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
