//! Velocity: many charges on one account within a short window (a stolen card being drained,
//! or an account takeover spending fast).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{Channel, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VelocityConfig {
    pub window_secs: i64,
    /// Card / ATM transactions in the window (this one included) that make a finding.
    pub min_count: usize,
    /// A slower burst kept up for longer: this many card / ATM transactions within
    /// `sustained_window_secs` also make a finding (0 turns it off).
    pub sustained_min_count: usize,
    pub sustained_window_secs: i64,
    /// Bound on remembered transactions.
    pub max_events: usize,
}

impl Default for VelocityConfig {
    fn default() -> Self {
        VelocityConfig {
            window_secs: 10 * 60,
            min_count: 3,
            sustained_min_count: 6,
            sustained_window_secs: 60 * 60,
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
    let burst = |window_secs: i64| {
        let (mut count, mut total) = (1usize, ev.eur.unwrap_or(0.0));
        for tick in window::within(&state.recent, ev.t, ms(window_secs)) {
            count += 1;
            total += f64::from(tick.e);
        }
        (count, total)
    };
    let finding = |count: usize, total: f64, min: usize, window_secs: i64| Finding {
        detector: Detector::Velocity,
        score: (0.5 + 0.1 * (count - min) as f64).min(1.0),
        reason: format!(
            "{count} card transactions within {} min (about {total:.0} EUR)",
            window_secs / 60
        ),
    };
    let min = cfg.min_count.max(2);
    let (count, total) = burst(cfg.window_secs);
    if count >= min {
        return Some(finding(count, total, min, cfg.window_secs));
    }
    let sustained = cfg.sustained_min_count;
    // Fewer remembered than the count needs: no scan (the common case).
    if sustained < 2
        || cfg.sustained_window_secs <= cfg.window_secs
        || state.recent.len() + 1 < sustained
    {
        return None;
    }
    let (count, total) = burst(cfg.sustained_window_secs);
    (count >= sustained).then(|| finding(count, total, sustained, cfg.sustained_window_secs))
}

/// How long a transaction is remembered: the longer of the two windows in use.
fn horizon_secs(cfg: &VelocityConfig) -> i64 {
    if cfg.sustained_min_count >= 2 {
        cfg.window_secs.max(cfg.sustained_window_secs)
    } else {
        cfg.window_secs
    }
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
            ms(horizon_secs(cfg)),
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
