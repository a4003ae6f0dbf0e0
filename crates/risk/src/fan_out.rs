//! Fan-out: one account pays many different counterparties within a day (AMLSim's fan-out,
//! FATF's "funds dispersed to many beneficiaries"): layering through mule accounts, or a
//! taken-over account emptied to many receivers.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{counterparty, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FanOutConfig {
    pub window_secs: i64,
    /// Distinct counterparties paid in the window (this payment's included) that make a
    /// finding.
    pub min_counterparties: usize,
    /// Transfers below this (EUR) do not count: small payments to many people are ordinary.
    pub min_eur: f64,
    /// Bound on remembered transfers.
    pub max_events: usize,
}

impl Default for FanOutConfig {
    fn default() -> Self {
        FanOutConfig {
            window_secs: 24 * 3600,
            min_counterparties: 5,
            min_eur: 250.0,
            max_events: 32,
        }
    }
}

/// Recent qualifying transfers: when, and a digest of whom to (the counterparty itself is
/// not kept in the state).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    recent: VecDeque<Payment>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }

    /// Most accounts never fan out: their persisted state carries no empty field for it.
    pub(crate) fn is_empty(&self) -> bool {
        self.recent.is_empty()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Payment {
    t: i64,
    /// FNV-1a of the counterparty: stable across processes, since the state is persisted.
    to: u32,
}

impl Timed for Payment {
    fn t(&self) -> i64 {
        self.t
    }
}

/// The payee's digest, when this is a transfer to a named counterparty of at least `min_eur`.
fn payee(cfg: &FanOutConfig, ev: &Event<'_>) -> Option<u32> {
    counterparty::of_transfer(ev, cfg.min_eur).map(counterparty::digest32)
}

pub(crate) fn check(cfg: &FanOutConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    let to = payee(cfg, ev)?;
    let mut seen: Vec<u32> = window::within(&state.recent, ev.t, ms(cfg.window_secs))
        .map(|p| p.to)
        .chain([to])
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let n = seen.len();
    let min = cfg.min_counterparties.max(2);
    if n < min {
        return None;
    }
    Some(Finding {
        detector: Detector::FanOut,
        score: (0.6 + 0.1 * (n - min) as f64).min(1.0),
        reason: format!(
            "transfers to {n} different counterparties within {} h",
            cfg.window_secs / 3600
        ),
    })
}

pub(crate) fn record(cfg: &FanOutConfig, state: &mut State, ev: &Event<'_>) {
    if let Some(to) = payee(cfg, ev) {
        window::push(
            &mut state.recent,
            Payment { t: ev.t, to },
            ev.t,
            ms(cfg.window_secs),
            cfg.max_events,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    fn transfer(secs: i64, eur: f64, to: &'static str) -> Tx {
        Tx::new(secs, eur, Channel::Transfer).counterparty(to)
    }

    #[test]
    fn the_fifth_distinct_payee_in_a_day_is_flagged() {
        let mut s = AccountState::default();
        let payees = ["b-1", "b-2", "b-3", "b-4", "b-5", "b-6"];
        let scores: Vec<Option<f64>> = payees
            .iter()
            .enumerate()
            .map(|(i, p)| {
                run(
                    &mut s,
                    &transfer(i as i64 * 1800, 900.0, p),
                    Detector::FanOut,
                )
            })
            .collect();
        assert_eq!(&scores[..4], &[None; 4]);
        assert!(scores[4].is_some_and(|x| x >= 0.5), "{scores:?}");
        assert!(scores[5] > scores[4], "more payees, more evidence");
    }

    #[test]
    fn the_same_payee_again_small_sums_and_a_slow_pace_are_not_fan_out() {
        let mut s = AccountState::default();
        for i in 0..8 {
            let tx = transfer(i * 600, 900.0, "landlord");
            assert_eq!(run(&mut s, &tx, Detector::FanOut), None);
        }
        let mut s = AccountState::default();
        for (i, p) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            let tx = transfer(i as i64 * 600, 40.0, p);
            assert_eq!(run(&mut s, &tx, Detector::FanOut), None, "small sums");
        }
        let mut s = AccountState::default();
        for (i, p) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            let tx = transfer(i as i64 * 2 * 86_400, 900.0, p);
            assert_eq!(
                run(&mut s, &tx, Detector::FanOut),
                None,
                "one a day or slower"
            );
        }
        let mut s = AccountState::default();
        for (i, p) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
            let tx = Tx::new(i as i64 * 60, 900.0, Channel::Online).counterparty(p);
            assert_eq!(run(&mut s, &tx, Detector::FanOut), None, "card purchases");
        }
    }

    #[test]
    fn the_digest_is_stable() {
        // Persisted state written by one release is read by the next.
        assert_eq!(crate::counterparty::digest32("benef-000001"), 0xd9f5_efb7);
    }
}
