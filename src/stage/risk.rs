use super::{Batch, Stage, StageContext, StageError};
use crate::domain::{Channel, Record};
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
        for i in event_time_order(&batch.records) {
            let r = &mut batch.records[i];
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

/// The batch's records in the order they happened. A terminal that uploads late puts a
/// transaction into the stream after later ones of the same account; nothing in the batch
/// is decided before every record has been judged, so the detectors can see the batch as
/// it happened, whatever the order of arrival (decision 0023). Stable: transactions at the
/// same instant keep their arrival order. Records in earlier batches are already decided.
fn event_time_order(records: &[Record]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by_key(|&i| records[i].txn.timestamp);
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stage::{Decode, Envelope, Position};
    use pfm_pii::Scrubber;
    use std::sync::Arc;

    fn env(offset: i64, id: &str, time: &str, country: &str) -> Envelope {
        let payload = format!(
            r#"{{"transaction_id":"{id}","account_id":"acct-9","timestamp":"{time}","amount":"40","currency":"EUR","merchant":"Shop","mcc":"5411","country":"{country}","channel":"card_present"}}"#
        );
        Envelope {
            position: Position {
                source: "test".into(),
                partition: 0,
                offset,
            },
            payload: payload.into_bytes(),
        }
    }

    fn travel(r: &Record) -> bool {
        r.findings
            .iter()
            .any(|f| f.detector == pfm_risk::Detector::ImpossibleTravel)
    }

    #[test]
    fn the_later_leg_is_flagged_whichever_arrives_first_within_a_batch() {
        let berlin = ("t-de", "2026-01-01T10:00:00Z", "DE");
        let tokyo = ("t-jp", "2026-01-01T10:30:00Z", "JP");
        for arrival in [[berlin, tokyo], [tokyo, berlin]] {
            let input = arrival
                .iter()
                .enumerate()
                .map(|(i, (id, t, c))| env(i as i64, id, t, c))
                .collect();
            let mut batch = Batch::new(input);
            let mut ctx = StageContext::default();
            Decode::new(Arc::new(Scrubber::new()))
                .execute(&mut batch, &mut ctx)
                .expect("decodes");
            Risk::new(RiskEngine::default())
                .execute(&mut batch, &mut ctx)
                .expect("runs");
            let flagged: Vec<(&str, bool)> = batch
                .records
                .iter()
                .map(|r| (r.txn.id.as_str(), travel(r)))
                .collect();
            assert!(flagged.contains(&("t-jp", true)), "{flagged:?}");
            assert!(flagged.contains(&("t-de", false)), "{flagged:?}");
            assert_eq!(
                batch.records[0].txn.id.as_str(),
                arrival[0].0,
                "arrival order is kept"
            );
        }
    }
}
