use super::{Batch, Stage, StageContext, StageError};
use crate::domain::Channel;
use pfm_risk::{BeneficiaryIndex, RiskEngine, TxnFeatures};

/// risk: the fraud/AML detectors. The per-account state comes from the context, which the
/// runtime fills from the store (so it survives batches and restarts) before this runs. The
/// fan-in detector's memory is keyed on beneficiaries, which many accounts (and so many
/// partitions) share: it is this process's own, bounded, and starts empty (decision 0020).
pub struct Risk {
    engine: RiskEngine,
    beneficiaries: BeneficiaryIndex,
}

impl Risk {
    pub fn new(engine: RiskEngine) -> Self {
        Self {
            engine,
            beneficiaries: BeneficiaryIndex::default(),
        }
    }
}

fn channel(c: Channel) -> pfm_risk::Channel {
    match c {
        Channel::CardPresent => pfm_risk::Channel::CardPresent,
        Channel::Online => pfm_risk::Channel::Online,
        Channel::Atm => pfm_risk::Channel::Atm,
        Channel::Transfer => pfm_risk::Channel::Transfer,
    }
}

impl Stage for Risk {
    fn name(&self) -> &'static str {
        "risk"
    }

    fn execute(&mut self, batch: &mut Batch, ctx: &mut StageContext) -> Result<(), StageError> {
        for r in &mut batch.records {
            let t = &r.txn;
            let features = TxnFeatures {
                account_id: t.account_id.as_str(),
                timestamp: t.timestamp,
                amount: t.amount.to_f64(),
                currency: t.currency.as_str(),
                country: t.country.as_str(),
                channel: channel(t.channel),
                mcc: t.mcc.code(),
                merchant: &t.merchant,
                // An optional field of the contract, kept with the record's other extra fields.
                counterparty: t
                    .extra
                    .get("counterparty_account")
                    .and_then(serde_json::Value::as_str),
            };
            let state = ctx
                .detector_state
                .entry(t.account_id.as_str().to_owned())
                .or_default();
            r.findings = self.engine.assess(state, &features);
            r.findings.extend(
                self.engine
                    .assess_beneficiary(&mut self.beneficiaries, &features),
            );
        }
        Ok(())
    }
}
