//! Card testing: a fraudster checks stolen card details with several tiny card-not-present
//! charges within minutes, often at more than one merchant.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{Channel, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CardTestingConfig {
    /// Window in which tiny online charges are counted.
    pub window_secs: i64,
    /// Tiny online charges in the window (this one included) that make a finding.
    pub min_count: usize,
    /// "Tiny": at most this much (EUR equivalent).
    pub small_amount_eur: f64,
    /// Bound on remembered charges.
    pub max_events: usize,
}

impl Default for CardTestingConfig {
    fn default() -> Self {
        CardTestingConfig {
            window_secs: 15 * 60,
            min_count: 2,
            small_amount_eur: 2.5,
            max_events: 32,
        }
    }
}

/// Recent tiny online charges.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    small: VecDeque<Hit>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.small.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Hit {
    t: i64,
    /// FNV-1a hash of the merchant name (stable across builds, unlike std's hasher).
    m: u32,
}

impl Timed for Hit {
    fn t(&self) -> i64 {
        self.t
    }
}

fn is_small(cfg: &CardTestingConfig, ev: &Event<'_>) -> bool {
    ev.txn.channel == Channel::Online && ev.eur.is_some_and(|e| e <= cfg.small_amount_eur)
}

pub(crate) fn fnv1a(s: &str) -> u32 {
    s.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

pub(crate) fn check(cfg: &CardTestingConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    if !is_small(cfg, ev) {
        return None;
    }
    let w = ms(cfg.window_secs);
    let merchant = fnv1a(ev.txn.merchant);
    let mut count = 1usize;
    let mut merchants: Vec<u32> = vec![merchant];
    for hit in window::within(&state.small, ev.t, w) {
        count += 1;
        if !merchants.contains(&hit.m) {
            merchants.push(hit.m);
        }
    }
    if count < cfg.min_count.max(1) {
        return None;
    }
    let extra = (count - cfg.min_count.max(1)) as f64;
    let spread = if merchants.len() > 1 { 0.1 } else { 0.0 };
    let score = (0.55 + 0.08 * extra + spread).min(1.0);
    Some(Finding {
        detector: Detector::CardTesting,
        score,
        reason: format!(
            "{count} online charges of at most {:.2} EUR within {} min at {} merchant(s)",
            cfg.small_amount_eur,
            cfg.window_secs / 60,
            merchants.len()
        ),
    })
}

pub(crate) fn record(cfg: &CardTestingConfig, state: &mut State, ev: &Event<'_>) {
    if is_small(cfg, ev) {
        let hit = Hit {
            t: ev.t,
            m: fnv1a(ev.txn.merchant),
        };
        window::push(
            &mut state.small,
            hit,
            ev.t,
            ms(cfg.window_secs),
            cfg.max_events,
        );
    } else {
        window::prune(&mut state.small, ev.t, ms(cfg.window_secs));
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    const D: Detector = Detector::CardTesting;

    #[test]
    fn burst_of_tiny_online_charges() {
        let mut s = AccountState::default();
        let merchants = ["AppVault", "GameCloud"];
        let scores: Vec<Option<f64>> = (0..6)
            .map(|i| {
                let tx = Tx::new(i * 40, 0.5 + 0.25 * i as f64, Channel::Online)
                    .merchant(merchants[i as usize % 2]);
                run(&mut s, &tx, D)
            })
            .collect();
        assert_eq!(scores[0], None, "a single tiny charge is not card testing");
        assert!(scores[1..].iter().all(Option::is_some));
        assert!(
            scores[5] > scores[1],
            "more charges, more evidence: {scores:?}"
        );
    }

    #[test]
    fn spread_out_or_in_person_or_large_is_not_card_testing() {
        let mut s = AccountState::default();
        for i in 0..5 {
            assert_eq!(
                run(&mut s, &Tx::new(i * 3600, 0.99, Channel::Online), D),
                None
            );
        }
        let mut s = AccountState::default();
        for i in 0..5 {
            assert_eq!(
                run(&mut s, &Tx::new(i * 30, 1.5, Channel::CardPresent), D),
                None
            );
        }
        let mut s = AccountState::default();
        for i in 0..5 {
            assert_eq!(
                run(&mut s, &Tx::new(i * 30, 25.0, Channel::Online), D),
                None
            );
        }
    }

    #[test]
    fn amounts_are_compared_in_eur() {
        let mut s = AccountState::default();
        run(
            &mut s,
            &Tx::new(0, 150.0, Channel::Online).currency("JPY"),
            D,
        );
        let second = Tx::new(60, 200.0, Channel::Online).currency("JPY");
        assert!(
            run(&mut s, &second, D).is_some(),
            "200 JPY is about 1.25 EUR"
        );
        let mut s = AccountState::default();
        run(&mut s, &Tx::new(0, 1.0, Channel::Online).currency("XXX"), D);
        let unknown = Tx::new(60, 1.0, Channel::Online).currency("XXX");
        assert_eq!(
            run(&mut s, &unknown, D),
            None,
            "unknown currency: no amount checks"
        );
    }
}
