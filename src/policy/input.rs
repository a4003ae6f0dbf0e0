use crate::stage::Record;
use serde_json::{json, Value};

/// The document a policy sees for one record. Only scrubbed data: no customer PII.
pub fn policy_input(r: &Record) -> Value {
    let t = &r.txn;
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| json!({"detector": f.detector.as_str(), "score": f.score, "reason": f.reason}))
        .collect();
    let max_score = r.findings.iter().map(|f| f.score).fold(0.0_f64, f64::max);
    let kinds: Vec<&str> = r.pii_found.iter().map(|k| k.as_str()).collect();
    json!({
        "transaction": {
            "id": t.id.as_str(),
            "account_id": t.account_id.as_str(),
            "timestamp": t.timestamp.to_rfc3339(),
            "amount": t.amount.to_f64(),
            "amount_text": t.amount.to_string(),
            "currency": t.currency.as_str(),
            "merchant": t.merchant,
            "mcc": t.mcc.to_code_string(),
            "country": t.country.as_str(),
            "channel": t.channel.as_str(),
            "category": r.category,
        },
        "risk": {"findings": findings, "max_score": max_score},
        "pii": {"description_kinds": kinds},
    })
}
