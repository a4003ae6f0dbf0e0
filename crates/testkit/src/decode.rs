//! decode: `parse_record` on arbitrary bytes.

use crate::scrub::{check_no_leaks, check_output_clean, check_spans, replaced};
use crate::scrubber;
use pfm_domain::{
    floor_char_boundary_lossy, parse_record, parse_record_reference, truncated_payload,
    RejectReason, Rejection, Transaction, TransactionId, MAX_PAYLOAD_BYTES, OPTIONAL_FIELDS,
    REQUIRED_FIELDS,
};
use serde_json::{Map, Value};

/// Every explanation a field rejection may carry. A detail is `"{field}: {why}"` with both
/// parts from fixed lists, so it cannot quote the payload (which may hold PII).
const FIELD_WHYS: [&str; 17] = [
    pfm_domain::NUL_WHY,
    "required",
    "must be a string",
    "must not be empty",
    "too long",
    "contains control characters",
    "not a finite decimal number",
    "must be greater than zero",
    "more than 4 decimal places",
    "too large",
    "must be a decimal number or string",
    "not an ISO 4217 currency code",
    "must be exactly 4 digits",
    "not an ISO 3166-1 alpha-2 country code",
    "must be one of card_present, online, atm, transfer",
    "must be an RFC 3339 date-time that exists",
    "must be between years 0000 and 9999 in UTC",
];

/// serde_json's syntax error messages (`ErrorCode`'s Display), followed in a detail by
/// " at line L column C". A new serde_json message fails the checks until it is listed here.
const JSON_ERRORS: [&str; 23] = [
    "EOF while parsing a list",
    "EOF while parsing an object",
    "EOF while parsing a string",
    "EOF while parsing a value",
    "expected `:`",
    "expected `,` or `]`",
    "expected `,` or `}`",
    "expected ident",
    "expected value",
    "expected `\"`",
    "invalid escape",
    "invalid number",
    "number out of range",
    "invalid unicode code point",
    "control character (\\u0000-\\u001F) found while parsing a string",
    "key must be a string",
    "invalid value: expected key to be a number in quotes",
    "float key must be finite (got NaN or +/-inf)",
    "lone leading surrogate in hex escape",
    "trailing comma",
    "trailing characters",
    "unexpected end of hex escape",
    "recursion limit exceeded",
];

/// The dead-letter store keeps this many bytes of a rejected payload (as `stage::decode`).
pub const STORED_PAYLOAD_BYTES: usize = 64 * 1024;

/// `parse_record` on arbitrary bytes: never panics; same bytes, same outcome, which is that
/// of `parse_record_reference` (the `Value` path, without the typed fast path); the reason
/// matches what the bytes are; the detail comes from a fixed vocabulary; an accepted record
/// satisfies the domain invariants and survives a round trip through its canonical JSON;
/// the digest depends only on the JSON value without `label`; and the dead-letter path
/// (truncate, then redact) keeps a char-boundary prefix of the payload.
pub fn check_decode(data: &[u8]) {
    let outcome = parse_record(data);
    assert_same_outcome(&outcome, &parse_record(data), "same bytes parsed twice");
    // The typed fast path must be invisible: same digest, fields and rejection as the
    // `Value` path that defines them.
    assert_same_outcome(
        &outcome,
        &parse_record_reference(data),
        "typed path and Value path",
    );

    let expected = expected_structural_reason(data);
    match (&outcome, expected) {
        (Err(r), Some(want)) => assert_eq!(r.reason, want, "{r:?}"),
        (Ok(_), Some(want)) => panic!("accepted a payload that should be {want:?}"),
        (Err(r), None) => assert!(
            matches!(
                r.reason,
                RejectReason::MissingField | RejectReason::InvalidField
            ),
            "a JSON object rejected as {r:?}"
        ),
        (Ok(_), None) => {}
    }

    match &outcome {
        Ok((t, _)) => {
            check_transaction(t);
            check_round_trip(t);
        }
        Err(r) => {
            assert!(RejectReason::ALL.contains(&r.reason));
            check_detail_vocabulary(r, data.len());
            check_id_hint(r, data);
            check_dead_letter_payload(data);
        }
    }

    // The digest (and the outcome) depend on the JSON value only: not on formatting, key
    // order, duplicate keys or the synthetic `label`.
    if data.len() <= MAX_PAYLOAD_BYTES {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(data) {
            check_value_only(&obj, &outcome);
        }
    }
}

/// What the bytes are structurally, if that alone decides the rejection.
fn expected_structural_reason(data: &[u8]) -> Option<RejectReason> {
    if data.len() > MAX_PAYLOAD_BYTES {
        return Some(RejectReason::Oversized);
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return Some(RejectReason::InvalidUtf8);
    };
    match serde_json::from_str::<Value>(text) {
        Err(_) => Some(RejectReason::BadJson),
        Ok(Value::Object(_)) => None,
        Ok(_) => Some(RejectReason::NotAnObject),
    }
}

type Outcome = Result<(Transaction, [u8; 32]), Rejection>;

fn assert_same_outcome(a: &Outcome, b: &Outcome, what: &str) {
    match (a, b) {
        (Ok((ta, da)), Ok((tb, db))) => {
            assert_eq!(
                record_json(ta),
                record_json(tb),
                "{what}: transactions differ"
            );
            assert_eq!(da, db, "{what}: digests differ");
        }
        (Err(ra), Err(rb)) => assert_eq!(ra, rb, "{what}: rejections differ"),
        _ => panic!("{what}: one accepted, one rejected: {a:?} / {b:?}"),
    }
}

pub(crate) fn check_detail_vocabulary(r: &Rejection, len: usize) {
    let d = r.detail.as_str();
    let ok = match r.reason {
        RejectReason::Oversized => {
            d == format!("{len} bytes exceeds the {MAX_PAYLOAD_BYTES} byte limit")
        }
        RejectReason::InvalidUtf8 => d
            .strip_prefix("at byte ")
            .is_some_and(|n| n.parse::<usize>().is_ok_and(|n| n < len)),
        RejectReason::BadJson => {
            let msg = match d.rsplit_once(" at line ") {
                Some((msg, pos)) => {
                    let numbers: Vec<&str> = pos.split(" column ").collect();
                    assert!(
                        numbers.len() == 2 && numbers.iter().all(|n| n.parse::<u64>().is_ok()),
                        "bad position in {d:?}"
                    );
                    msg
                }
                None => d,
            };
            JSON_ERRORS.contains(&msg)
        }
        RejectReason::NotAnObject => d == "a record must be a JSON object",
        RejectReason::MissingField => REQUIRED_FIELDS
            .iter()
            .any(|f| d == format!("{f}: required")),
        RejectReason::InvalidField => d.split_once(": ").is_some_and(|(f, why)| {
            (REQUIRED_FIELDS.contains(&f) || OPTIONAL_FIELDS.contains(&f))
                && FIELD_WHYS.contains(&why)
                || (f == "extra" && why == pfm_domain::NUL_WHY)
        }),
        RejectReason::DuplicateId => false,
    };
    assert!(ok, "detail outside the fixed vocabulary: {r:?}");
}

/// The id hint is given exactly when the payload is an object whose `transaction_id` is a
/// valid id, and it is that id.
fn check_id_hint(r: &Rejection, data: &[u8]) {
    let want = match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(obj)) if data.len() <= MAX_PAYLOAD_BYTES => obj
            .get("transaction_id")
            .and_then(Value::as_str)
            .and_then(|s| TransactionId::parse(s).ok())
            .map(|t| t.as_str().to_owned()),
        _ => None,
    };
    assert_eq!(r.transaction_id, want, "id hint of {r:?}");
}

/// The dead-letter payload: a prefix of at most `max` bytes that loses at most 3 bytes to
/// a split character, is exactly the original text when that was UTF-8, and (as stored)
/// redacts without leaving a card, IBAN or e-mail address the scrubber can find.
fn check_dead_letter_payload(data: &[u8]) {
    let first = data.first().copied().map_or(0, usize::from);
    for max in [data.len() / 2, first % 16, STORED_PAYLOAD_BYTES] {
        let end = floor_char_boundary_lossy(data, max);
        assert!(end <= max.min(data.len()), "cut at {end} beyond {max}");
        if data.len() > max {
            assert!(
                end + 3 >= max,
                "cut at {end}, lost over 3 bytes before {max}"
            );
        } else {
            assert_eq!(end, data.len());
        }
        let kept = truncated_payload(data, max);
        if let Ok(text) = std::str::from_utf8(data) {
            assert!(text.is_char_boundary(end));
            assert_eq!(kept, &text[..end]);
        }
        if max == STORED_PAYLOAD_BYTES {
            let spans = scrubber().find(&kept, None);
            check_spans(&kept, &spans);
            let redacted = scrubber().redact_all(&kept);
            assert_eq!(redacted, replaced(&kept, &spans));
            check_no_leaks(&kept, &spans, &redacted);
            check_output_clean(&spans, &redacted, None);
        }
    }
}

/// Accepted records: the canonical JSON re-parses to the same record (a fixed point).
fn check_round_trip(t: &Transaction) {
    let canonical = record_json(t);
    let bytes = serde_json::to_vec(&canonical).unwrap_or_default();
    if bytes.len() > MAX_PAYLOAD_BYTES {
        return;
    }
    // Compared with the JSON as serde_json reads it back: a float in an unknown field may
    // come back one ulp away from what was written (see docs/reliability.md).
    let read: Value = serde_json::from_slice(&bytes).unwrap_or_default();
    match parse_record(&bytes) {
        Ok((t2, d2)) => {
            assert_eq!(record_json(&t2), read, "round trip changed the record");
            let again = parse_record(&bytes).map(|(_, d)| d).ok();
            assert_eq!(again, Some(d2));
        }
        Err(r) => panic!("canonical form of an accepted record rejected: {r:?}\n{canonical}"),
    }
}

/// Re-encoding the same JSON value (pretty, with and without another `label`) gives the
/// same outcome and digest.
fn check_value_only(obj: &Map<String, Value>, outcome: &Outcome) {
    let mut relabelled = obj.clone();
    relabelled.insert(
        "label".into(),
        serde_json::json!({"fraud": true, "note": "fuzz"}),
    );
    let mut unlabelled = obj.clone();
    unlabelled.remove("label");
    for variant in [obj, &relabelled, &unlabelled] {
        let Ok(bytes) = serde_json::to_vec_pretty(variant) else {
            continue;
        };
        if bytes.len() > MAX_PAYLOAD_BYTES {
            continue;
        }
        // serde_json's default float parsing is not always exact, so a re-encoded float
        // may come back one ulp off: compare only when the value itself round-tripped.
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(back)) if &back == variant => {}
            _ => continue,
        }
        assert_same_outcome(outcome, &parse_record(&bytes), "re-encoded JSON value");
    }
}

/// The input-format JSON of an accepted record (what a producer would send for it).
pub fn record_json(t: &Transaction) -> Value {
    let mut m = t.extra.clone();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("transaction_id", t.id.as_str().into());
    put("account_id", t.account_id.as_str().into());
    put(
        "timestamp",
        t.timestamp
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            .into(),
    );
    put("amount", t.amount.to_string().into());
    put("currency", t.currency.as_str().into());
    put("merchant", t.merchant.as_str().into());
    put("mcc", t.mcc.to_code_string().into());
    put("country", t.country.as_str().into());
    put("channel", t.channel.as_str().into());
    let optional = [
        ("description", &t.description),
        ("customer_name", &t.pii.name),
        ("customer_email", &t.pii.email),
        ("card_number", &t.pii.card_number),
        ("iban", &t.pii.iban),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            put(k, v.as_str().into());
        }
    }
    Value::Object(m)
}

/// What `Transaction`'s types promise, checked from the outside.
pub fn check_transaction(t: &Transaction) {
    for (what, id) in [("id", t.id.as_str()), ("account", t.account_id.as_str())] {
        assert!(
            !id.is_empty() && id.len() <= 128 && id.trim() == id,
            "{what} {id:?}"
        );
        assert!(!id.chars().any(char::is_control), "{what} {id:?}");
    }
    let a = t.amount.value();
    assert!(a > rust_decimal::Decimal::ZERO, "amount {a}");
    assert!(a.scale() <= 4, "amount {a}");
    assert!(
        a < rust_decimal::Decimal::from(10_000_000_000_000i64),
        "amount {a}"
    );
    let f = t.amount.to_f64();
    assert!(f.is_finite() && f > 0.0, "amount {a} as f64 {f}");
    let is_upper = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_uppercase());
    assert!(is_upper(t.currency.as_str(), 3), "{:?}", t.currency);
    assert!(is_upper(t.country.as_str(), 2), "{:?}", t.country);
    let mcc = t.mcc.to_code_string();
    assert!(
        t.mcc.code() <= 9999 && mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit()),
        "{mcc}"
    );
    let year = chrono::Datelike::year(&t.timestamp);
    assert!((0..=9999).contains(&year), "timestamp {}", t.timestamp);
    let texts = [
        ("merchant", Some(&t.merchant), 256),
        ("description", t.description.as_ref(), 4096),
        ("customer_name", t.pii.name.as_ref(), 256),
        ("customer_email", t.pii.email.as_ref(), 320),
        ("card_number", t.pii.card_number.as_ref(), 64),
        ("iban", t.pii.iban.as_ref(), 64),
    ];
    for (what, text, max) in texts {
        if let Some(s) = text {
            assert!(
                !s.is_empty() && s.len() <= max && s.trim() == s,
                "{what} {s:?}"
            );
        }
    }
    for k in REQUIRED_FIELDS
        .iter()
        .chain(&OPTIONAL_FIELDS)
        .chain(&["label"])
    {
        assert!(!t.extra.contains_key(*k), "{k} left in extra");
    }
}
