use crate::domain::Record;
use regorus::Value;
use std::collections::BTreeMap;

fn object<const N: usize>(fields: [(&str, Value); N]) -> Value {
    Value::from(
        fields
            .into_iter()
            .map(|(k, v)| (Value::from(k), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// The document a policy sees for one record. Only scrubbed data: no customer PII. Built
/// directly as a regorus value: a JSON round trip per record costs more than the policy.
pub fn policy_input(r: &Record) -> Value {
    let t = &r.txn;
    let findings: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            object([
                ("detector", Value::from(f.detector.as_str())),
                ("score", Value::from(f.score)),
                ("reason", Value::from(f.reason.as_str())),
            ])
        })
        .collect();
    let max_score = r.findings.iter().map(|f| f.score).fold(0.0_f64, f64::max);
    let kinds: Vec<Value> = r
        .pii_found
        .iter()
        .map(|k| Value::from(k.as_str()))
        .collect();
    object([
        (
            "transaction",
            object([
                ("id", Value::from(t.id.as_str())),
                ("account_id", Value::from(t.account_id.as_str())),
                ("timestamp", Value::from(t.timestamp.to_rfc3339())),
                ("amount", Value::from(t.amount.to_f64())),
                ("amount_text", Value::from(t.amount.to_string())),
                ("currency", Value::from(t.currency.as_str())),
                ("merchant", Value::from(t.merchant.as_str())),
                ("mcc", Value::from(t.mcc.to_code_string())),
                ("country", Value::from(t.country.as_str())),
                ("channel", Value::from(t.channel.as_str())),
                ("category", Value::from(r.category)),
            ]),
        ),
        (
            "risk",
            object([
                ("findings", Value::from(findings)),
                ("max_score", Value::from(max_score)),
            ]),
        ),
        ("pii", object([("description_kinds", Value::from(kinds))])),
    ])
}
