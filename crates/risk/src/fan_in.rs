//! Fan-in: many different accounts pay one beneficiary within days (AMLSim's fan-in; FATF's
//! collection and mule accounts; smurfing into one receiver). The evidence is spread over the
//! payers' accounts, so this detector's memory is keyed on the beneficiary, not on the account
//! being assessed: [`BeneficiaryIndex`] is held by the process beside the per-account states.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::window::{self, ms, Timed};
use crate::{counterparty, Detector, Event, Finding};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FanInConfig {
    pub window_secs: i64,
    /// Distinct payers of one beneficiary in the window (this payment's included) that make a
    /// finding.
    pub min_payers: usize,
    /// Transfers below this (EUR) do not count: many small payments to one shop, club or
    /// utility are ordinary.
    pub min_eur: f64,
    /// Bound on the payments remembered per beneficiary.
    pub max_payments: usize,
    /// Bound on the beneficiaries remembered; beyond it the ones idle longest are forgotten.
    pub max_beneficiaries: usize,
}

impl Default for FanInConfig {
    fn default() -> Self {
        FanInConfig {
            window_secs: 72 * 3600,
            min_payers: 3,
            min_eur: 500.0,
            max_payments: 16,
            max_beneficiaries: 32_768,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Payment {
    t: i64,
    /// FNV-1a of the paying account (the account id itself is not kept).
    from: u32,
}

impl Timed for Payment {
    fn t(&self) -> i64 {
        self.t
    }
}

/// Recent qualifying transfers per beneficiary, keyed by a 64-bit digest of the beneficiary's
/// account (never the account itself). Bounded in entries per beneficiary and in
/// beneficiaries: at most `max_beneficiaries × max_payments` payments of 16 bytes.
#[derive(Debug, Default)]
pub struct BeneficiaryIndex {
    by_beneficiary: HashMap<u64, VecDeque<Payment>>,
}

impl BeneficiaryIndex {
    /// Beneficiaries remembered.
    pub fn len(&self) -> usize {
        self.by_beneficiary.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_beneficiary.is_empty()
    }

    /// Payments remembered, over every beneficiary.
    pub fn payments(&self) -> usize {
        self.by_beneficiary.values().map(VecDeque::len).sum()
    }

    /// Forgets the beneficiaries with nothing left in the window, then, if still at the
    /// bound, the quarter idle longest: one sweep pays for many inserts.
    fn make_room(&mut self, cap: usize, now: i64, window_ms: i64) {
        let horizon = now.saturating_sub(window_ms);
        self.by_beneficiary
            .retain(|_, q| q.back().is_some_and(|p| p.t >= horizon));
        if self.by_beneficiary.len() < cap {
            return;
        }
        let mut last: Vec<(i64, u64)> = self
            .by_beneficiary
            .iter()
            .map(|(k, q)| (q.back().map_or(i64::MIN, |p| p.t), *k))
            .collect();
        let drop = (cap / 4).max(1).min(last.len());
        last.select_nth_unstable(drop - 1);
        for (_, k) in &last[..drop] {
            self.by_beneficiary.remove(k);
        }
    }
}

/// The beneficiary's digest, when this is a transfer of at least `min_eur` to a named
/// counterparty.
fn beneficiary(cfg: &FanInConfig, ev: &Event<'_>) -> Option<u64> {
    counterparty::of_transfer(ev, cfg.min_eur).map(counterparty::digest64)
}

/// Judges the payment against what the index remembers of its beneficiary, then remembers it.
pub(crate) fn assess(
    cfg: &FanInConfig,
    index: &mut BeneficiaryIndex,
    ev: &Event<'_>,
) -> Option<Finding> {
    let to = beneficiary(cfg, ev)?;
    let window_ms = ms(cfg.window_secs);
    let cap = cfg.max_beneficiaries.max(1);
    if !index.by_beneficiary.contains_key(&to) && index.by_beneficiary.len() >= cap {
        index.make_room(cap, ev.t, window_ms);
    }
    let from = counterparty::digest32(ev.txn.account_id);
    let recent = index.by_beneficiary.entry(to).or_default();
    let mut payers: Vec<u32> = window::within(recent, ev.t, window_ms)
        .map(|p| p.from)
        .chain([from])
        .collect();
    payers.sort_unstable();
    payers.dedup();
    window::push(
        recent,
        Payment { t: ev.t, from },
        ev.t,
        window_ms,
        cfg.max_payments,
    );
    let n = payers.len();
    let min = cfg.min_payers.max(2);
    (n >= min).then(|| Finding {
        detector: Detector::FanIn,
        score: (0.6 + 0.1 * (n - min) as f64).min(1.0),
        reason: format!(
            "{n} different accounts paid the same beneficiary within {} h",
            cfg.window_secs / 3600
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, RiskConfig, RiskEngine, TxnFeatures};
    use chrono::{DateTime, Utc};

    fn pay(
        engine: &RiskEngine,
        index: &mut BeneficiaryIndex,
        secs: i64,
        from: &str,
        to: &str,
        eur: f64,
        channel: Channel,
    ) -> Option<f64> {
        let txn = TxnFeatures {
            account_id: from,
            timestamp: DateTime::<Utc>::from_timestamp(1_767_225_600 + secs, 0).expect("in range"),
            amount: eur,
            currency: "EUR",
            country: "DE",
            channel,
            mcc: 4829,
            merchant: "Outgoing transfer",
            counterparty: Some(to),
        };
        engine.assess_beneficiary(index, &txn).map(|f| {
            assert_eq!(f.detector, Detector::FanIn);
            f.score
        })
    }

    #[test]
    fn the_third_distinct_payer_of_one_beneficiary_is_flagged() {
        let engine = RiskEngine::new(RiskConfig::default());
        let mut index = BeneficiaryIndex::default();
        let scores: Vec<Option<f64>> = ["a-1", "a-2", "a-2", "a-3", "a-4", "a-5"]
            .iter()
            .enumerate()
            .map(|(i, from)| {
                let t = i as i64 * 3 * 3600;
                pay(
                    &engine,
                    &mut index,
                    t,
                    from,
                    "mule",
                    900.0,
                    Channel::Transfer,
                )
            })
            .collect();
        assert_eq!(&scores[..3], &[None; 3], "the same payer twice counts once");
        assert!(scores[3].is_some_and(|s| s >= 0.5), "{scores:?}");
        assert!(scores[4] > scores[3], "more payers, more evidence");
    }

    #[test]
    fn small_sums_card_payments_a_slow_pace_and_other_beneficiaries_are_not_fan_in() {
        let engine = RiskEngine::new(RiskConfig::default());
        let cases: [(&str, f64, Channel, i64); 3] = [
            ("small sums", 60.0, Channel::Transfer, 600),
            ("card payments", 900.0, Channel::Online, 600),
            (
                "one payer every four days",
                900.0,
                Channel::Transfer,
                4 * 86_400,
            ),
        ];
        for (why, eur, channel, step) in cases {
            let mut index = BeneficiaryIndex::default();
            for i in 0..8 {
                let from = format!("a-{i}");
                let got = pay(&engine, &mut index, i * step, &from, "b", eur, channel);
                assert_eq!(got, None, "{why}");
            }
        }
        let mut index = BeneficiaryIndex::default();
        for i in 0..8 {
            let (from, to) = (format!("a-{i}"), format!("b-{i}"));
            let got = pay(
                &engine,
                &mut index,
                i * 600,
                &from,
                &to,
                900.0,
                Channel::Transfer,
            );
            assert_eq!(got, None, "each pays someone else");
        }
    }

    #[test]
    fn the_index_stays_within_its_bounds() {
        let mut config = RiskConfig::default();
        config.fan_in.max_beneficiaries = 1_000;
        let engine = RiskEngine::new(config);
        let mut index = BeneficiaryIndex::default();
        for i in 0..100_000i64 {
            let (from, to) = (format!("a-{}", i % 7_919), format!("b-{}", i % 3_001));
            pay(&engine, &mut index, i, &from, &to, 900.0, Channel::Transfer);
            assert!(index.len() <= 1_000, "{} beneficiaries", index.len());
        }
        assert!(index.payments() <= 1_000 * 16);
        // A beneficiary paid just now is still remembered after an eviction sweep.
        let mut hits = 0;
        for k in 0..4 {
            let from = format!("late-{k}");
            hits += usize::from(
                pay(
                    &engine,
                    &mut index,
                    100_000 + k,
                    &from,
                    "b-fresh",
                    900.0,
                    Channel::Transfer,
                )
                .is_some(),
            );
        }
        assert_eq!(
            hits, 2,
            "the third and fourth payers of a fresh beneficiary are flagged"
        );
    }
}
