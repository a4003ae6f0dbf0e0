use super::fields::*;
use super::types::*;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// Payloads above this size are dead-lettered without being parsed.
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    Oversized,
    InvalidUtf8,
    BadJson,
    NotAnObject,
    MissingField,
    InvalidField,
    DuplicateId,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Oversized => "oversized",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::BadJson => "bad_json",
            Self::NotAnObject => "not_an_object",
            Self::MissingField => "missing_field",
            Self::InvalidField => "invalid_field",
            Self::DuplicateId => "duplicate_id",
        }
    }

    pub const ALL: [RejectReason; 7] = [
        Self::Oversized,
        Self::InvalidUtf8,
        Self::BadJson,
        Self::NotAnObject,
        Self::MissingField,
        Self::InvalidField,
        Self::DuplicateId,
    ];
}

/// Why a payload could not become a [`Transaction`]. The detail never quotes field values,
/// so it is safe to store and log even when the payload held PII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
    /// Present when the payload was an object with a usable id, to help operators trace it.
    pub transaction_id: Option<String>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

impl Rejection {
    fn new(reason: RejectReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
            transaction_id: None,
        }
    }

    fn field(reason: RejectReason, field: &str, why: &str) -> Self {
        Self::new(reason, format!("{field}: {why}"))
    }
}

/// Decodes and validates one payload. Returns the transaction and a digest of its content
/// (canonical JSON without the synthetic `label`), used to tell a replay from an id reuse.
///
/// A record of the common shape is decoded by the typed path (typed.rs); anything else, and
/// every rejection, by [`parse_record_reference`]. Both give the same result for any input.
pub fn parse_record(payload: &[u8]) -> Result<(Transaction, [u8; 32]), Rejection> {
    let text = payload_text(payload)?;
    match super::typed::decode(text) {
        Some(done) => Ok(done),
        None => parse_value(text),
    }
}

/// [`parse_record`] through a `serde_json::Value` tree only: the definition of the digest and
/// of every rejection, which the typed path must reproduce (the property tests compare the
/// two on arbitrary input).
pub fn parse_record_reference(payload: &[u8]) -> Result<(Transaction, [u8; 32]), Rejection> {
    parse_value(payload_text(payload)?)
}

fn payload_text(payload: &[u8]) -> Result<&str, Rejection> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(Rejection::new(
            RejectReason::Oversized,
            format!(
                "{} bytes exceeds the {} byte limit",
                payload.len(),
                MAX_PAYLOAD_BYTES
            ),
        ));
    }
    std::str::from_utf8(payload).map_err(|e| {
        Rejection::new(
            RejectReason::InvalidUtf8,
            format!("at byte {}", e.valid_up_to()),
        )
    })
}

fn parse_value(text: &str) -> Result<(Transaction, [u8; 32]), Rejection> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| Rejection::new(RejectReason::BadJson, e.to_string()))?;
    let Value::Object(mut obj) = value else {
        return Err(Rejection::new(
            RejectReason::NotAnObject,
            "a record must be a JSON object",
        ));
    };
    obj.remove("label");
    let digest: [u8; 32] = Sha256::digest(serde_json::to_vec(&obj).unwrap_or_default()).into();
    let id_hint = obj
        .get("transaction_id")
        .and_then(Value::as_str)
        .and_then(|s| TransactionId::parse(s).ok())
        .map(|t| t.as_str().to_owned());
    let nul = field_holding_nul(&obj);
    let mut result = build(obj).map(|t| (t, digest));
    // Checked once the record is otherwise valid, so each field's own rules speak first.
    if let (Ok(_), Some(field)) = (&result, nul) {
        result = Err(Rejection::new(
            RejectReason::InvalidField,
            format!("{field}: {NUL_WHY}"),
        ));
    }
    result.map_err(|mut r| {
        r.transaction_id = id_hint;
        r
    })
}

fn build(mut obj: Map<String, Value>) -> Result<Transaction, Rejection> {
    let id = required(&mut obj, "transaction_id", TransactionId::parse)?;
    let account_id = required(&mut obj, "account_id", AccountId::parse)?;
    let timestamp = required(&mut obj, "timestamp", parse_timestamp)?;
    let amount = match obj.remove("amount") {
        None | Some(Value::Null) => return Err(missing("amount")),
        Some(Value::Number(n)) => Amount::parse(&n.to_string()),
        Some(Value::String(s)) => Amount::parse(&s),
        Some(_) => Err("must be a decimal number or string"),
    }
    .map_err(|why| Rejection::field(RejectReason::InvalidField, "amount", why))?;
    let currency = required(&mut obj, "currency", Currency::parse)?;
    let merchant = required(&mut obj, "merchant", |s| bounded_text(s, 256))?;
    let mcc = match obj.remove("mcc") {
        None | Some(Value::Null) => return Err(missing("mcc")),
        Some(Value::String(s)) => Mcc::parse(&s),
        // `Number`'s Display ignores width and fill, so pad its string.
        Some(Value::Number(n)) => Mcc::parse(&format!("{:0>4}", n.to_string())),
        Some(_) => Err("must be exactly 4 digits"),
    }
    .map_err(|why| Rejection::field(RejectReason::InvalidField, "mcc", why))?;
    let country = required(&mut obj, "country", Country::parse)?;
    let channel = required(&mut obj, "channel", Channel::parse)?;
    let description = optional(&mut obj, "description", |s| bounded_text(s, MAX_TEXT_LEN))?;
    let pii = CustomerPii {
        name: optional(&mut obj, "customer_name", |s| bounded_text(s, 256))?,
        email: optional(&mut obj, "customer_email", |s| bounded_text(s, 320))?,
        card_number: optional(&mut obj, "card_number", |s| bounded_text(s, 64))?,
        iban: optional(&mut obj, "iban", |s| bounded_text(s, 64))?,
    };
    Ok(Transaction {
        id,
        account_id,
        timestamp,
        amount,
        currency,
        merchant,
        mcc,
        country,
        channel,
        description,
        pii,
        extra: obj,
    })
}

fn missing(field: &str) -> Rejection {
    Rejection::field(RejectReason::MissingField, field, "required")
}

fn required<T>(
    obj: &mut Map<String, Value>,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<T, Rejection> {
    match obj.remove(field) {
        None | Some(Value::Null) => Err(missing(field)),
        Some(Value::String(s)) => {
            parse(&s).map_err(|why| Rejection::field(RejectReason::InvalidField, field, why))
        }
        Some(_) => Err(Rejection::field(
            RejectReason::InvalidField,
            field,
            "must be a string",
        )),
    }
}

fn optional<T>(
    obj: &mut Map<String, Value>,
    field: &str,
    parse: impl FnOnce(&str) -> Result<T, &'static str>,
) -> Result<Option<T>, Rejection> {
    match obj.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => parse(&s)
            .map(Some)
            .map_err(|why| Rejection::field(RejectReason::InvalidField, field, why)),
        Some(_) => Err(Rejection::field(
            RejectReason::InvalidField,
            field,
            "must be a string",
        )),
    }
}

/// The prefix of a rejected payload kept for the dead-letter store: at most `max` bytes, cut
/// before a UTF-8 character it would split, decoded lossily (the payload need not be UTF-8).
pub fn truncated_payload(payload: &[u8], max: usize) -> std::borrow::Cow<'_, str> {
    let end = floor_char_boundary_lossy(payload, max);
    String::from_utf8_lossy(&payload[..end])
}

/// Where to cut `bytes` so that the prefix holds at most `max` bytes and, for UTF-8 input,
/// ends on a character boundary.
pub fn floor_char_boundary_lossy(bytes: &[u8], max: usize) -> usize {
    if bytes.len() <= max {
        return bytes.len();
    }
    // Step back over UTF-8 continuation bytes so truncation never splits a character. A
    // character has at most 3 of them: more is invalid UTF-8, which is cut where it is
    // (lossy decoding marks it) rather than losing the whole run.
    let mut end = max;
    while end > 0 && max - end < 3 && (bytes[end] & 0b1100_0000) == 0b1000_0000 {
        end -= 1;
    }
    if (bytes[end] & 0b1100_0000) == 0b1000_0000 {
        return max;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        serde_json::json!({
            "transaction_id": "t-1", "account_id": "a-1", "timestamp": "2026-03-01T10:00:00Z",
            "amount": "12.50", "currency": "EUR", "merchant": "Shop", "mcc": "5411",
            "country": "DE", "channel": "online", "description": "groceries",
            "customer_email": "x@example.com", "loyalty_tier": "gold", "label": {"fraud": false}
        })
    }

    fn reject(v: &Value) -> Rejection {
        parse_record(v.to_string().as_bytes()).expect_err("must be rejected")
    }

    #[test]
    fn parses_a_valid_record_and_keeps_unknown_fields() {
        let (t, _) = parse_record(valid().to_string().as_bytes()).expect("valid");
        assert_eq!(t.id.as_str(), "t-1");
        assert_eq!(t.amount.to_string(), "12.5");
        assert_eq!(t.mcc.code(), 5411);
        assert_eq!(t.extra.get("loyalty_tier"), Some(&Value::from("gold")));
        assert!(!t.extra.contains_key("label"));
        assert_eq!(t.pii.email.as_deref(), Some("x@example.com"));
    }

    #[test]
    fn a_nul_character_anywhere_is_an_invalid_field() {
        let mut v = valid();
        v["description"] = Value::from("a\u{0}b");
        let r = reject(&v);
        assert_eq!(r.reason, RejectReason::InvalidField);
        assert!(r.detail.starts_with("description:"), "{}", r.detail);
        assert_eq!(r.transaction_id.as_deref(), Some("t-1"));

        let mut v = valid();
        v["loyalty"] = serde_json::json!({"notes": ["ok", "x\u{0}y"]});
        let r = reject(&v);
        assert_eq!(r.detail, format!("extra: {NUL_WHY}"));

        let mut v = valid();
        v["customer_name"] = Value::from("Jane\u{0}Doe");
        assert!(!reject(&v).detail.contains("Jane"), "no value is quoted");
    }

    #[test]
    fn numeric_amount_is_accepted() {
        let mut v = valid();
        v["amount"] = serde_json::json!(99.99);
        let (t, _) = parse_record(v.to_string().as_bytes()).expect("valid");
        assert_eq!(t.amount.to_string(), "99.99");
    }

    #[test]
    fn label_does_not_change_the_content_digest() {
        let a = valid();
        let mut b = valid();
        b["label"] = serde_json::json!({"fraud": true});
        let da = parse_record(a.to_string().as_bytes()).expect("valid").1;
        let db = parse_record(b.to_string().as_bytes()).expect("valid").1;
        assert_eq!(da, db);
        b["amount"] = Value::from("12.51");
        assert_ne!(da, parse_record(b.to_string().as_bytes()).expect("valid").1);
    }

    #[test]
    fn rejects_each_kind_of_bad_input_with_a_reason() {
        let cases: Vec<(&str, Value, RejectReason)> = vec![
            ("amount", Value::from("-1"), RejectReason::InvalidField),
            ("amount", Value::from("0"), RejectReason::InvalidField),
            ("amount", Value::from("NaN"), RejectReason::InvalidField),
            ("amount", Value::from("inf"), RejectReason::InvalidField),
            ("amount", Value::Bool(true), RejectReason::InvalidField),
            ("currency", Value::from("XYZ"), RejectReason::InvalidField),
            ("country", Value::from("ZZ"), RejectReason::InvalidField),
            (
                "timestamp",
                Value::from("2026-02-30T10:00:00Z"),
                RejectReason::InvalidField,
            ),
            (
                "timestamp",
                Value::from("yesterday"),
                RejectReason::InvalidField,
            ),
            ("mcc", Value::from("54a1"), RejectReason::InvalidField),
            ("channel", Value::from("pigeon"), RejectReason::InvalidField),
            ("account_id", Value::from(7), RejectReason::InvalidField),
            ("merchant", Value::Null, RejectReason::MissingField),
        ];
        for (field, bad, want) in cases {
            let mut v = valid();
            v[field] = bad.clone();
            let r = reject(&v);
            assert_eq!(r.reason, want, "{field}={bad}");
            assert!(r.detail.starts_with(field), "{}", r.detail);
            assert_eq!(r.transaction_id.as_deref(), Some("t-1"));
        }
    }

    #[test]
    fn rejects_structural_problems() {
        assert_eq!(
            parse_record(b"{not json").unwrap_err().reason,
            RejectReason::BadJson
        );
        assert_eq!(
            parse_record(b"[1,2]").unwrap_err().reason,
            RejectReason::NotAnObject
        );
        assert_eq!(
            parse_record(b"\xff\xfe").unwrap_err().reason,
            RejectReason::InvalidUtf8
        );
        assert_eq!(
            parse_record(b"{\"amount\": 1e309}").unwrap_err().reason,
            RejectReason::BadJson
        );
        let big = vec![b' '; MAX_PAYLOAD_BYTES + 1];
        assert_eq!(
            parse_record(&big).unwrap_err().reason,
            RejectReason::Oversized
        );
        let nested = "[".repeat(10_000);
        assert_eq!(
            parse_record(nested.as_bytes()).unwrap_err().reason,
            RejectReason::BadJson
        );
    }

    #[test]
    fn numeric_mcc_below_1000_is_zero_padded() {
        // Regression (property test): `format!("{n:0>4}")` on a serde_json Number ignored
        // the padding, so 742 (veterinary services, "0742") was rejected.
        for (mcc, code) in [
            (serde_json::json!(742), 742),
            (serde_json::json!(0), 0),
            (serde_json::json!(5411), 5411),
        ] {
            let mut v = valid();
            v["mcc"] = mcc;
            let (t, _) = parse_record(v.to_string().as_bytes()).expect("valid");
            assert_eq!(t.mcc.code(), code);
        }
        for bad in [
            serde_json::json!(10_000),
            serde_json::json!(-1),
            serde_json::json!(7.5),
        ] {
            let mut v = valid();
            v["mcc"] = bad;
            assert_eq!(reject(&v).reason, RejectReason::InvalidField);
        }
    }

    #[test]
    fn timestamps_outside_rfc_3339_years_in_utc_are_rejected() {
        // Regression (fuzz seed): accepted, then written as "+10000-01-01T00:59:59Z".
        for ts in ["9999-12-31T23:59:59-01:00", "0000-01-01T00:00:00+01:00"] {
            let mut v = valid();
            v["timestamp"] = Value::from(ts);
            let r = reject(&v);
            assert_eq!(r.reason, RejectReason::InvalidField, "{ts}");
            assert!(r.detail.starts_with("timestamp: "), "{}", r.detail);
        }
        for ts in [
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "0000-01-01T01:00:00+01:00",
        ] {
            let mut v = valid();
            v["timestamp"] = Value::from(ts);
            assert!(parse_record(v.to_string().as_bytes()).is_ok(), "{ts}");
        }
    }

    #[test]
    fn truncation_keeps_all_but_a_split_character() {
        // Regression (property test): a run of continuation bytes (invalid UTF-8) made the
        // cut step back over the whole run, storing an empty dead-letter payload.
        let junk = vec![0x80u8; 100];
        assert_eq!(floor_char_boundary_lossy(&junk, 50), 50);
        let s = "a€".repeat(10); // € is 3 bytes
        for max in 0..s.len() {
            let end = floor_char_boundary_lossy(s.as_bytes(), max);
            assert!(
                s.is_char_boundary(end) && end <= max && end + 3 >= max,
                "{max}"
            );
        }
        assert_eq!(truncated_payload(b"ab\xe2\x82", 3), "ab");
        assert_eq!(floor_char_boundary_lossy(b"short", 64), 5);
    }

    #[test]
    fn detail_never_echoes_field_values() {
        let mut v = valid();
        v["customer_email"] = Value::from("x".repeat(400) + "@example.com");
        let r = reject(&v);
        assert!(!r.detail.contains("xxxx"));
    }
}
