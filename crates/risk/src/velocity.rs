//! Velocity: many charges on one account within a short window (a stolen card being drained,
//! or an account takeover spending fast).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{Channel, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct VelocityConfig {
    pub window_secs: i64,
    /// Card / ATM transactions in the window (this one included) that make a finding.
    pub min_count: usize,
    /// Bound on remembered transactions.
    pub max_events: usize,
}

impl Default for VelocityConfig {
    fn default() -> Self {
        VelocityConfig {
            window_secs: 10 * 60,
            min_count: 3,
            max_events: 64,
        }
    }
}

/// Recent card and ATM transactions (transfers are batch-like and do not count).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    recent: VecDeque<Tick>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Tick {
    t: i64,
    /// EUR equivalent (0 when the currency is unknown).
    e: f32,
}

impl Timed for Tick {
    fn t(&self) -> i64 {
        self.t
    }
}

fn counts(ev: &Event<'_>) -> bool {
    ev.txn.channel != Channel::Transfer
}

pub(crate) fn check(cfg: &VelocityConfig, state: &State, ev: &Event<'_>) -> Option<Finding> {
    if !counts(ev) {
        return None;
    }
    let w = ms(cfg.window_secs);
    let (mut count, mut total) = (1usize, ev.eur.unwrap_or(0.0));
    for tick in window::within(&state.recent, ev.t, w) {
        count += 1;
        total += f64::from(tick.e);
    }
    let min = cfg.min_count.max(2);
    if count < min {
        return None;
    }
    let score = (0.5 + 0.1 * (count - min) as f64).min(1.0);
    Some(Finding {
        detector: Detector::Velocity,
        score,
        reason: format!(
            "{count} card transactions within {} min (about {total:.0} EUR)",
            cfg.window_secs / 60
        ),
    })
}

pub(crate) fn record(cfg: &VelocityConfig, state: &mut State, ev: &Event<'_>) {
    if counts(ev) {
        let tick = Tick {
            t: ev.t,
            e: ev.eur.unwrap_or(0.0) as f32,
        };
        window::push(
            &mut state.recent,
            tick,
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

    const D: Detector = Detector::Velocity;

    #[test]
    fn many_charges_within_minutes() {
        let mut s = AccountState::default();
        let scores: Vec<Option<f64>> = (0..6)
            .map(|i| run(&mut s, &Tx::new(i * 120, 40.0, Channel::CardPresent), D))
            .collect();
        assert_eq!(&scores[..2], &[None, None]);
        assert!(scores[2..].iter().all(Option::is_some), "{scores:?}");
        assert!(scores[5] > scores[2]);
    }

    #[test]
    fn ordinary_pace_and_transfers_do_not_count() {
        let mut s = AccountState::default();
        for i in 0..10 {
            let tx = Tx::new(i * 20 * 60, 40.0, Channel::Online);
            assert_eq!(run(&mut s, &tx, D), None);
        }
        let mut s = AccountState::default();
        for i in 0..10 {
            assert_eq!(
                run(&mut s, &Tx::new(i * 30, 400.0, Channel::Transfer), D),
                None
            );
        }
    }
}
