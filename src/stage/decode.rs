use super::{Batch, DeadLetter, Record, Stage, StageContext, StageError};
use crate::domain::{floor_char_boundary_lossy, parse_record, truncated_payload, RejectReason};
use pfm_pii::{PiiKind, Scrubber};
use serde_json::Value;
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
                    pii_in_fields: Vec::new(),
                    category: "uncategorised",
                    findings: Vec::new(),
                    decision: None,
                    protected: Default::default(),
                }),
                Err(rejection) => {
                    let payload = redact_payload(&self.scrubber, rejection.reason, &env.payload);
                    batch.dead.push(DeadLetter {
                        position: env.position,
                        reason: rejection.reason,
                        detail: rejection.detail,
                        transaction_id: rejection.transaction_id,
                        payload,
                    })
                }
            }
        }
        Ok(())
    }
}

/// The customer fields of the input record: PII by position, whatever their content.
const CUSTOMER_FIELDS: [(&str, PiiKind); 4] = [
    ("customer_name", PiiKind::PersonName),
    ("customer_email", PiiKind::Email),
    ("card_number", PiiKind::CardNumber),
    ("iban", PiiKind::Iban),
];

/// What a dead letter stores of its payload: no PII, at most [`MAX_STORED_PAYLOAD`] bytes.
/// A rejected record that is still a JSON object has its customer fields replaced by their
/// tokens (free-text detection cannot recognise a bare name), and its customer name is
/// looked for in the rest of the text; anything else gets pattern-based redaction.
fn redact_payload(scrubber: &Scrubber, reason: RejectReason, payload: &[u8]) -> String {
    // PostgreSQL's `text` cannot hold U+0000; it is replaced as invalid UTF-8 is.
    let mut text = redacted(scrubber, reason, payload);
    if text.contains('\0') {
        text = text.replace('\0', "\u{FFFD}");
    }
    text
}

fn redacted(scrubber: &Scrubber, reason: RejectReason, payload: &[u8]) -> String {
    if reason != RejectReason::Oversized {
        if let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(payload) {
            let name = obj
                .get("customer_name")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for (field, kind) in CUSTOMER_FIELDS {
                if let Some(v) = obj.get_mut(field).filter(|v| !v.is_null()) {
                    *v = Value::from(kind.token());
                }
            }
            let text = scrubber
                .scrub(&Value::Object(obj).to_string(), name.as_deref())
                .text;
            let end = floor_char_boundary_lossy(text.as_bytes(), MAX_STORED_PAYLOAD);
            return text[..end].to_owned();
        }
    }
    scrubber.redact_all(&truncated_payload(payload, MAX_STORED_PAYLOAD))
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn customer_fields_of_a_rejected_object_are_redacted_by_position() {
        // Found by the chaos run's scan: a bare name is not recognisable as free text.
        let bad = r#"{"transaction_id":"t3","amount":"-5","customer_name":"Hostile Person8","customer_email":"x@y.org","card_number":"not a card","iban":"DE00","description":"call Hostile Person8 back"}"#;
        let mut b = Batch::new(vec![env(0, bad)]);
        Decode::new(Arc::new(Scrubber::new()))
            .execute(&mut b, &mut StageContext::default())
            .expect("runs");
        let stored = &b.dead[0].payload;
        for plain in ["Hostile Person8", "x@y.org", "not a card", "DE00"] {
            assert!(!stored.contains(plain), "{plain} in {stored}");
        }
        let v: Value = serde_json::from_str(stored).expect("still JSON");
        assert_eq!(v["customer_name"], "[NAME]");
        assert_eq!(v["iban"], "[IBAN]");
        assert_eq!(v["amount"], "-5", "non-PII kept for diagnosis");
    }

    #[test]
    fn a_stored_payload_holds_no_nul_character() {
        let mut b = Batch::new(vec![env(0, "raw\u{0}bytes, not JSON")]);
        Decode::new(Arc::new(Scrubber::new()))
            .execute(&mut b, &mut StageContext::default())
            .expect("runs");
        assert_eq!(b.dead[0].payload, "raw\u{FFFD}bytes, not JSON");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let s = "é".repeat(MAX_STORED_PAYLOAD);
        let kept = truncated_payload(s.as_bytes(), MAX_STORED_PAYLOAD + 1);
        assert!(s.starts_with(kept.as_ref()) && kept.len() == MAX_STORED_PAYLOAD);
    }
}
