//! What `parse_record` makes of one payload, as a JSON value that can be stored and compared
//! across versions: the content digest, or the rejection. Shared (by `#[path]`) between the
//! digest-stability test and the example that writes its fixture, so both render alike.

use pfm_domain::{parse_record, Transaction};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// `sha256:` and lowercase hex. The prefix keeps the stored digests from reading as
/// high-entropy secrets to detect-secrets (it only flags quoted strings that are all hex).
pub fn tagged_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(7 + 2 * bytes.len());
    s.push_str("sha256:");
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// The decoded fields, rendered with serde_json (whose escaping is stable, unlike `Debug`'s)
/// and hashed: it shows that a change left the transaction itself alone too.
pub fn fields_digest(t: &Transaction) -> String {
    let fields = json!([
        t.id.as_str(),
        t.account_id.as_str(),
        t.timestamp.to_rfc3339(),
        t.amount.to_string(),
        t.currency.as_str(),
        t.merchant,
        t.mcc.code(),
        t.country.as_str(),
        t.channel.as_str(),
        t.description,
        t.pii.name,
        t.pii.email,
        t.pii.card_number,
        t.pii.iban,
        Value::Object(t.extra.clone()),
    ]);
    tagged_hex(&Sha256::digest(fields.to_string().as_bytes()))
}

/// The outcome of decoding `payload`: `{"digest", "fields"}` when accepted,
/// `{"reject", "detail", "transaction_id"}` when not.
pub fn outcome(payload: &[u8]) -> Value {
    match parse_record(payload) {
        Ok((t, digest)) => json!({ "digest": tagged_hex(&digest), "fields": fields_digest(&t) }),
        Err(r) => json!({
            "reject": r.reason.as_str(),
            "detail": r.detail,
            "transaction_id": r.transaction_id,
        }),
    }
}
