use super::{Batch, Stage, StageContext, StageError};
use pfm_pii::{PiiKind, Scrubber};
use serde_json::Value;
use std::sync::Arc;

/// PII scrub: replaces PII in free text (the description and any unknown string field)
/// with typed tokens, so nothing downstream can store or publish it.
pub struct Scrub {
    scrubber: Arc<Scrubber>,
}

impl Scrub {
    pub fn new(scrubber: Arc<Scrubber>) -> Self {
        Self { scrubber }
    }
}

impl Stage for Scrub {
    fn name(&self) -> &'static str {
        "scrub"
    }

    fn execute(&mut self, batch: &mut Batch, _ctx: &mut StageContext) -> Result<(), StageError> {
        for r in &mut batch.records {
            let name = r.txn.pii.name.as_deref();
            if let Some(desc) = r.txn.description.as_deref() {
                if let Some(out) = self.scrubber.scrub_if_found(desc, name) {
                    r.pii_found.extend(out.spans.iter().map(|s| s.kind));
                    r.txn.description = Some(out.text);
                }
            }
            for v in r.txn.extra.values_mut() {
                scrub_value(&self.scrubber, v, name, &mut r.pii_in_fields);
            }
        }
        Ok(())
    }
}

fn scrub_value(s: &Scrubber, v: &mut Value, name: Option<&str>, found: &mut Vec<PiiKind>) {
    match v {
        Value::String(text) => {
            if let Some(out) = s.scrub_if_found(text, name) {
                found.extend(out.spans.iter().map(|s| s.kind));
                *text = out.text;
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|i| scrub_value(s, i, name, found)),
        Value::Object(map) => map
            .values_mut()
            .for_each(|i| scrub_value(s, i, name, found)),
        _ => {}
    }
}
