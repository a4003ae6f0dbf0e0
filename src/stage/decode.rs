use super::{Batch, DeadLetter, Record, Stage, StageContext, StageError};
use crate::domain::{parse_record, truncated_payload};
use pfm_pii::Scrubber;
use std::sync::Arc;

/// Dead-letter payloads are stored scrubbed and truncated to this many bytes.
const MAX_STORED_PAYLOAD: usize = 64 * 1024;

/// decode + validate: turns payloads into records, or into dead letters with their reason.
pub struct Decode {
    scrubber: Arc<Scrubber>,
}

impl Decode {
    pub fn new(scrubber: Arc<Scrubber>) -> Self {
        Self { scrubber }
    }
}

impl Stage for Decode {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn execute(&mut self, batch: &mut Batch, _ctx: &mut StageContext) -> Result<(), StageError> {
        for env in batch.input.drain(..) {
            match parse_record(&env.payload) {
                Ok((txn, digest)) => batch.records.push(Record {
                    position: env.position,
                    txn,
                    digest,
                    pii_found: Vec::new(),
                    category: "uncategorised",
                    findings: Vec::new(),
                    decision: None,
                    protected: Default::default(),
                }),
                Err(rejection) => {
                    let text = truncated_payload(&env.payload, MAX_STORED_PAYLOAD);
                    batch.dead.push(DeadLetter {
                        position: env.position,
                        reason: rejection.reason,
                        detail: rejection.detail,
                        transaction_id: rejection.transaction_id,
                        payload: self.scrubber.redact_all(&text),
                    })
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::RejectReason;
    use crate::stage::{Envelope, Position};

    fn env(offset: i64, payload: &str) -> Envelope {
        Envelope {
            position: Position {
                source: "test".into(),
                partition: 0,
                offset,
            },
            payload: payload.as_bytes().to_vec(),
        }
    }

    #[test]
    fn splits_good_and_bad_and_scrubs_dead_payloads() {
        let good = r#"{"transaction_id":"t1","account_id":"a","timestamp":"2026-01-01T00:00:00Z","amount":"1","currency":"EUR","merchant":"m","mcc":"5411","country":"DE","channel":"online"}"#;
        let bad =
            r#"{"transaction_id":"t2","customer_email":"jane.doe@example.com","amount":"-5"}"#;
        let mut b = Batch::new(vec![env(0, good), env(1, bad), env(2, "garbage")]);
        Decode::new(Arc::new(Scrubber::new()))
            .execute(&mut b, &mut StageContext::default())
            .expect("runs");
        assert_eq!(b.records.len(), 1);
        assert_eq!(b.dead.len(), 2);
        assert!(!b.dead[0].payload.contains("jane.doe@example.com"));
        assert_eq!(b.dead[0].transaction_id.as_deref(), Some("t2"));
        assert_eq!(b.dead[1].reason, RejectReason::BadJson);
        assert!(b.input.is_empty());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "é".repeat(MAX_STORED_PAYLOAD);
        let kept = truncated_payload(s.as_bytes(), MAX_STORED_PAYLOAD + 1);
        assert!(s.starts_with(kept.as_ref()) && kept.len() == MAX_STORED_PAYLOAD);
    }
}
