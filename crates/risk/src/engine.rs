//! Runs every detector on a transaction against the account's state.

use crate::{
    amount_outlier, card_testing, fan_in, fan_out, impossible_travel, structuring, velocity,
    AccountState, BeneficiaryIndex, Channel, Event, Finding, RiskConfig, TxnFeatures,
};

/// The detectors with their parameters. Stateless itself: all memory is in the
/// [`AccountState`] passed to [`RiskEngine::assess`], so one engine serves every account and
/// thread.
#[derive(Clone, Debug, Default)]
pub struct RiskEngine {
    config: RiskConfig,
}

impl RiskEngine {
    pub fn new(config: RiskConfig) -> Self {
        RiskEngine { config }
    }

    pub fn config(&self) -> &RiskConfig {
        &self.config
    }

    /// Judges `txn` against what `state` remembers of its account, then updates `state` with
    /// it. Call in timestamp order per account. Returns the findings for this transaction
    /// (empty when nothing is suspicious).
    pub fn assess(&self, state: &mut AccountState, txn: &TxnFeatures<'_>) -> Vec<Finding> {
        let c = &self.config;
        let ev = Event {
            t: txn.timestamp.timestamp_millis(),
            eur: c.to_eur(txn.amount, txn.currency),
            txn,
        };
        let mut findings = Vec::new();
        findings.extend(card_testing::check(
            &c.card_testing,
            &state.card_testing,
            &ev,
        ));
        findings.extend(velocity::check(&c.velocity, &state.velocity, &ev));
        let travel = impossible_travel::check(&c.impossible_travel, &state.travel, &ev);
        impossible_travel::record(
            &c.impossible_travel,
            &mut state.travel,
            &ev,
            travel.as_ref(),
        );
        findings.extend(travel.map(|t| t.finding));
        findings.extend(structuring::check(c, &state.structuring, &ev));
        findings.extend(amount_outlier::check(
            &c.amount_outlier,
            &state.amounts,
            &ev,
        ));
        findings.extend(fan_out::check(&c.fan_out, &state.fan_out, &ev));

        card_testing::record(&c.card_testing, &mut state.card_testing, &ev);
        velocity::record(&c.velocity, &mut state.velocity, &ev);
        structuring::record(c, &mut state.structuring, &ev);
        fan_out::record(&c.fan_out, &mut state.fan_out, &ev);
        amount_outlier::record(
            &c.amount_outlier,
            &mut state.amounts,
            &ev,
            findings.is_empty(),
        );
        findings
    }

    /// Judges a transfer against what `index` remembers of its beneficiary (fan-in), then
    /// remembers it. The other detectors' memory is the paying account's; this one's is the
    /// receiving side's, which many accounts share.
    pub fn assess_beneficiary(
        &self,
        index: &mut BeneficiaryIndex,
        txn: &TxnFeatures<'_>,
    ) -> Option<Finding> {
        // Most records are not transfers to a named party: skip the currency lookup for them.
        if txn.channel != Channel::Transfer || txn.counterparty.is_none() {
            return None;
        }
        let c = &self.config;
        let ev = Event {
            t: txn.timestamp.timestamp_millis(),
            eur: c.to_eur(txn.amount, txn.currency),
            txn,
        };
        fan_in::assess(&c.fan_in, index, &ev)
    }
}
