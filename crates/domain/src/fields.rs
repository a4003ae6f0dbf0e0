//! The named fields of a record and the rules for their text, shared by the `Value` path
//! (parse.rs) and the typed path (typed.rs) so that both accept exactly the same values.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub(crate) const MAX_TEXT_LEN: usize = 4096;

/// Why a record holding U+0000 is rejected.
pub const NUL_WHY: &str = "contains U+0000, which the database cannot store";

/// The fields `parse_record` requires, in the order it checks them.
pub const REQUIRED_FIELDS: [&str; 9] = [
    "transaction_id",
    "account_id",
    "timestamp",
    "amount",
    "currency",
    "merchant",
    "mcc",
    "country",
    "channel",
];

/// The optional fields `parse_record` names, in the order it checks them.
pub const OPTIONAL_FIELDS: [&str; 5] = [
    "description",
    "customer_name",
    "customer_email",
    "card_number",
    "iban",
];

/// PostgreSQL's `text` and `jsonb` cannot hold U+0000, and unknown fields are stored as
/// `jsonb`: a record with one anywhere, in a name or a value, is rejected here rather than
/// failing its whole batch's commit.
pub(crate) fn field_holding_nul(obj: &Map<String, Value>) -> Option<&'static str> {
    fn holds_nul(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains('\0'),
            Value::Array(a) => a.iter().any(holds_nul),
            Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || holds_nul(v)),
            _ => false,
        }
    }
    // Unknown fields are stored together as `extra`; their names are input, so that is the
    // name a rejection gives them.
    obj.iter()
        .find(|(k, v)| k.contains('\0') || holds_nul(v))
        .map(|(k, _)| {
            REQUIRED_FIELDS
                .iter()
                .chain(OPTIONAL_FIELDS.iter())
                .find(|f| **f == k.as_str())
                .copied()
                .unwrap_or("extra")
        })
}

pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, &'static str> {
    let t = DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "must be an RFC 3339 date-time that exists")?;
    // An offset can carry 9999-12-31T23:59:59-01:00 into year 10000 (or 0000 into -0001)
    // in UTC, which RFC 3339 cannot write: the record would leave as a timestamp nothing
    // downstream (nor this parser) reads back.
    if !(0..=9999).contains(&chrono::Datelike::year(&t)) {
        return Err("must be between years 0000 and 9999 in UTC");
    }
    Ok(t)
}

pub(crate) fn bounded_text(s: &str, max: usize) -> Result<String, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("must not be empty");
    }
    if t.len() > max {
        return Err("too long");
    }
    Ok(t.to_owned())
}
