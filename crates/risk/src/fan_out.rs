//! Fan-out: one account pays many different counterparties within a day (AMLSim's fan-out,
//! FATF's "funds dispersed to many beneficiaries"): layering through mule accounts, or a
//! taken-over account emptied to many receivers. Only *new* payees count: a payee this
//! account already paid before the window (payroll, rent, a supplier) is an established
//! relation, not dispersal (decision 0021).

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
    /// How long a payee stays established after its last payment (a monthly payroll or rent
    /// needs a little over 31 days).
    pub established_secs: i64,
    /// Bound on remembered payees; the one paid longest ago is forgotten first.
    pub max_established: usize,
}

impl Default for FanOutConfig {
    fn default() -> Self {
        FanOutConfig {
            window_secs: 24 * 3600,
            min_counterparties: 3,
            min_eur: 250.0,
            max_events: 32,
            established_secs: 35 * 86_400,
            max_established: 24,
        }
    }
}

/// Recent qualifying transfers: when, and a digest of whom to (the counterparty itself is
/// not kept in the state).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    recent: VecDeque<Payment>,
    /// Payees paid before: digest, first and last payment (ms). Older states have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    known: Vec<Payee>,
}

impl State {
    pub(crate) fn len(&self) -> usize {
        self.recent.len() + self.known.len()
    }

    /// Most accounts never fan out: their persisted state carries no empty field for it.
    pub(crate) fn is_empty(&self) -> bool {
        self.recent.is_empty() && self.known.is_empty()
    }

    /// Whether `to` was first paid before `since` and last paid after `horizon` (and so is
    /// not a new payee now).
    fn established(&self, to: u32, since: i64, horizon: i64) -> bool {
        self.known
            .iter()
            .any(|p| p.to == to && p.first < since && p.last >= horizon)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Payee {
    to: u32,
    first: i64,
    last: i64,
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
    let since = ev.t.saturating_sub(ms(cfg.window_secs));
    let horizon = ev.t.saturating_sub(ms(cfg.established_secs));
    if state.established(to, since, horizon) {
        return None;
    }
    let mut seen: Vec<u32> = window::within(&state.recent, ev.t, ms(cfg.window_secs))
        .map(|p| p.to)
        .filter(|&p| !state.established(p, since, horizon))
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
            "transfers to {n} different new counterparties within {} h",
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
        remember(cfg, state, to, ev.t);
    }
}

fn remember(cfg: &FanOutConfig, state: &mut State, to: u32, t: i64) {
    let horizon = t.saturating_sub(ms(cfg.established_secs));
    state.known.retain(|p| p.last >= horizon);
    if let Some(p) = state.known.iter_mut().find(|p| p.to == to) {
        p.first = p.first.min(t);
        p.last = p.last.max(t);
        return;
    }
    if state.known.len() >= cfg.max_established.max(1) {
        if let Some(i) = (0..state.known.len()).min_by_key(|&i| state.known[i].last) {
            state.known.swap_remove(i);
        }
    }
    state.known.push(Payee {
        to,
        first: t,
        last: t,
    });
}

#[cfg(test)]
mod tests {
    use crate::test_support::{run, Tx};
    use crate::{AccountState, Channel, Detector};

    fn transfer(secs: i64, eur: f64, to: &'static str) -> Tx {
        Tx::new(secs, eur, Channel::Transfer).counterparty(to)
    }

    #[test]
    fn the_third_distinct_new_payee_in_a_day_is_flagged() {
        let mut s = AccountState::default();
        let payees = ["b-1", "b-2", "b-3", "b-4"];
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
        assert_eq!(&scores[..2], &[None; 2]);
        assert!(scores[2].is_some_and(|x| x >= 0.5), "{scores:?}");
        assert!(scores[3] > scores[2], "more payees, more evidence");
    }

    #[test]
    fn a_monthly_payroll_to_established_payees_is_not_fan_out() {
        // A small employer pays the same five people every month: the first month is a
        // burst of new payees (flagged), the months after are established relations.
        let mut s = AccountState::default();
        let staff = ["e-1", "e-2", "e-3", "e-4", "e-5"];
        let month = 30 * 86_400;
        let mut flagged = [0usize; 4];
        for (m, f) in flagged.iter_mut().enumerate() {
            for (i, p) in staff.iter().enumerate() {
                let tx = transfer(m as i64 * month + i as i64 * 300, 2_400.0, p);
                *f += usize::from(run(&mut s, &tx, Detector::FanOut).is_some());
            }
        }
        assert_eq!(flagged, [3, 0, 0, 0]);
        // A new payee among them is one new payee, not a fan-out; three are.
        let t0 = 4 * month;
        for (i, p) in ["e-1", "e-2", "new-1", "e-3"].iter().enumerate() {
            let tx = transfer(t0 + i as i64 * 300, 2_400.0, p);
            assert_eq!(run(&mut s, &tx, Detector::FanOut), None, "{p}");
        }
        let burst: Vec<bool> = ["new-2", "new-3"]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let tx = transfer(t0 + 3_600 + i as i64 * 300, 2_400.0, p);
                run(&mut s, &tx, Detector::FanOut).is_some()
            })
            .collect();
        assert_eq!(burst, [false, true], "new-1, new-2, new-3 within the day");
    }

    #[test]
    fn established_payees_are_bounded_and_forgotten_after_their_horizon() {
        let cfg = crate::FanOutConfig::default();
        let mut s = AccountState::default();
        for i in 0..200i64 {
            let tx = transfer(
                i * 86_400,
                900.0,
                Box::leak(format!("p-{i}").into_boxed_str()),
            );
            run(&mut s, &tx, Detector::FanOut);
            assert!(s.fan_out.known.len() <= cfg.max_established);
        }
        // A payee last paid more than the horizon ago is new again.
        let mut s = AccountState::default();
        for (i, p) in ["a", "b", "c"].iter().enumerate() {
            run(
                &mut s,
                &transfer(i as i64 * 86_400 * 2, 900.0, p),
                Detector::FanOut,
            );
        }
        let later = 100 * 86_400;
        let again: Vec<bool> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, p)| {
                run(
                    &mut s,
                    &transfer(later + i as i64 * 60, 900.0, p),
                    Detector::FanOut,
                )
                .is_some()
            })
            .collect();
        assert_eq!(again, [false, false, true]);
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
