//! Argument checks: every value a tool takes is validated before it reaches a query, and
//! a bad one is a tool error that says what was expected.

use crate::store::StoreError;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// Why a tool call has no answer. Shown to the caller (a tool error), so it never carries
/// more than the caller sent, and database errors are reduced to their kind.
#[derive(Debug, thiserror::Error)]
pub enum ArgError {
    #[error("invalid arguments: {0}")]
    Invalid(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("the database is unavailable; retry later")]
    Unavailable,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ArgError {
    fn from(e: StoreError) -> Self {
        if e.is_unavailable() {
            Self::Unavailable
        } else {
            tracing::error!(error = %e, "governance query failed");
            Self::Internal("the query failed; see the server log".into())
        }
    }
}

const MAX_ID_LEN: usize = 128;

/// A transaction or account id: 1 to 128 printable characters.
pub fn identifier<'a>(name: &str, v: &'a str) -> Result<&'a str, ArgError> {
    let v = v.trim();
    if v.is_empty() || v.len() > MAX_ID_LEN || v.chars().any(char::is_control) {
        return Err(ArgError::Invalid(format!(
            "{name} must be 1 to {MAX_ID_LEN} printable characters"
        )));
    }
    Ok(v)
}

/// What `record_lineage` follows: exactly one of a transaction id and a source position.
pub fn lineage_lookup(
    transaction_id: Option<String>,
    source_position: Option<String>,
) -> Result<crate::journey::Lookup, ArgError> {
    use crate::journey::{parse_position, Lookup};
    match (transaction_id, source_position) {
        (Some(id), None) => Ok(Lookup::TransactionId(
            identifier("transaction_id", &id)?.to_owned(),
        )),
        (None, Some(p)) => parse_position(&p)
            .map(Lookup::SourcePosition)
            .map_err(|e| ArgError::Invalid(e.to_string())),
        _ => Err(ArgError::Invalid(
            "give exactly one of transaction_id and source_position".into(),
        )),
    }
}

pub fn decision(v: &str) -> Result<String, ArgError> {
    match v.trim().to_ascii_lowercase().as_str() {
        d @ ("allow" | "review" | "deny") => Ok(d.to_owned()),
        _ => Err(ArgError::Invalid(format!(
            "decision must be allow, review or deny, got {v:?}"
        ))),
    }
}

/// A reason code as policies write them: lower-case letters, digits and `_`.
pub fn reason(v: &str) -> Result<String, ArgError> {
    let v = v.trim();
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':');
    if !ok {
        return Err(ArgError::Invalid(format!(
            "reason must be a reason code such as high_risk_score (a-z, 0-9, _), got {v:?}"
        )));
    }
    Ok(v.to_owned())
}

pub fn timestamp(name: &str, v: &str) -> Result<DateTime<Utc>, ArgError> {
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            ArgError::Invalid(format!(
                "{name} must be an RFC 3339 timestamp such as 2026-01-31T00:00:00Z, got {v:?}"
            ))
        })
}

/// A `next_cursor` from a previous page: the sequence number to continue below.
pub fn cursor(v: &str) -> Result<i64, ArgError> {
    v.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 1)
        .ok_or_else(|| {
            ArgError::Invalid(format!(
                "cursor must be the next_cursor of a previous page, got {v:?}"
            ))
        })
}

/// `30m`, `24h`, `7d`, `3600s`: at most 366 days.
pub fn window(v: &str) -> Result<Duration, ArgError> {
    let t = v.trim();
    let bad = || {
        ArgError::Invalid(format!(
            "window must be a positive duration such as 30m, 24h or 7d (at most 366d), got {v:?}"
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (num, unit) = t.split_at(split);
    let n: i64 = num.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    }
    .ok_or_else(bad)?;
    if secs <= 0 || secs > 366 * 86_400 {
        return Err(bad());
    }
    Ok(Duration::seconds(secs))
}

/// The policy input must be the document the govern stage builds: an object with a
/// `transaction` object. Anything else would only ever be denied as undefined.
pub fn policy_input(input: &serde_json::Map<String, Value>) -> Result<(), ArgError> {
    match input.get("transaction") {
        Some(Value::Object(_)) => Ok(()),
        _ => Err(ArgError::Invalid(
            "input must be the policy input document: an object with a `transaction` object \
             (id, account_id, amount, currency, mcc, country, channel, category…), `risk` and `pii`"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows() {
        assert_eq!(window("24h").expect("24h"), Duration::hours(24));
        assert_eq!(window(" 7d ").expect("7d"), Duration::days(7));
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "24",
            "24x",
            "367d",
            "99999999999999999999d",
        ] {
            assert!(window(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_reasons_cursors_and_decisions() {
        assert!(identifier("transaction_id", "").is_err());
        assert!(identifier("transaction_id", &"x".repeat(129)).is_err());
        assert_eq!(identifier("t", " txn-1 ").expect("ok"), "txn-1");
        assert!(reason("a%").is_err());
        assert!(reason("high_risk_score").is_ok());
        assert!(cursor("abc").is_err());
        assert!(cursor("1").is_err());
        assert_eq!(cursor("42").expect("ok"), 42);
        assert_eq!(decision("DENY").expect("ok"), "deny");
        assert!(decision("maybe").is_err());
        assert!(timestamp("from", "yesterday").is_err());
    }
}
