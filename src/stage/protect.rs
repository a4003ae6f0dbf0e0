use super::{Batch, ProtectedPii, Stage, StageContext, StageError};

/// protect: encrypts the customer's direct identifiers with the account's data key and
/// drops the plain text, so no later stage or sink can see it.
pub struct Protect;

impl Stage for Protect {
    fn name(&self) -> &'static str {
        "protect"
    }

    fn execute(&mut self, batch: &mut Batch, ctx: &mut StageContext) -> Result<(), StageError> {
        for r in &mut batch.records {
            let pii = std::mem::take(&mut r.txn.pii);
            if pii.is_empty() {
                continue;
            }
            let account = r.txn.account_id.as_str();
            let key = ctx
                .keys
                .get(account)
                .ok_or_else(|| StageError::MissingDataKey(account.to_owned()))?;
            let enc = |v: Option<String>, field: &str| {
                v.map(|p| key.encrypt(&p, &format!("{account}/{field}")))
            };
            r.protected = ProtectedPii {
                name: enc(pii.name, "customer_name"),
                email: enc(pii.email, "customer_email"),
                card_number: enc(pii.card_number, "card_number"),
                iban: enc(pii.iban, "iban"),
                key_id: Some(key.key_id().to_owned()),
            };
        }
        Ok(())
    }
}
