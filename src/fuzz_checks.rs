//! Invariant checks shared by the fuzz targets (`fuzz/`, nightly + libFuzzer) and by their
//! stable replay test (`tests/fuzz_corpus_replay.rs`) and property tests. Each `check_*`
//! takes the raw bytes of one corpus file and panics when an invariant does not hold.
//!
//! This file only uses `crate::domain` and `pfm_pii`, so the fuzz crate compiles it (and
//! `src/domain/`) by path without building the pipeline's I/O dependencies.

use crate::domain::{
    floor_char_boundary_lossy, parse_record, truncated_payload, RejectReason, Rejection,
    Transaction, TransactionId, MAX_PAYLOAD_BYTES,
};
use pfm_pii::{PiiKind, PiiSpan, Scrubber};
use serde_json::{Map, Number, Value};
use std::sync::OnceLock;

pub use crate::domain::{OPTIONAL_FIELDS, REQUIRED_FIELDS};

/// Every explanation a field rejection may carry. A detail is `"{field}: {why}"` with both
/// parts from fixed lists, so it cannot quote the payload (which may hold PII).
const FIELD_WHYS: [&str; 17] = [
    crate::domain::NUL_WHY,
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

fn scrubber() -> &'static Scrubber {
    static S: OnceLock<Scrubber> = OnceLock::new();
    S.get_or_init(Scrubber::new)
}

// ---------------------------------------------------------------------------------------
// decode: parse_record on arbitrary bytes
// ---------------------------------------------------------------------------------------

/// `parse_record` on arbitrary bytes: never panics; same bytes, same outcome; the reason
/// matches what the bytes are; the detail comes from a fixed vocabulary; an accepted record
/// satisfies the domain invariants and survives a round trip through its canonical JSON;
/// the digest depends only on the JSON value without `label`; and the dead-letter path
/// (truncate, then redact) keeps a char-boundary prefix of the payload.
pub fn check_decode(data: &[u8]) {
    let outcome = parse_record(data);
    assert_same_outcome(&outcome, &parse_record(data), "same bytes parsed twice");

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

fn check_detail_vocabulary(r: &Rejection, len: usize) {
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
                || (f == "extra" && why == crate::domain::NUL_WHY)
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

// ---------------------------------------------------------------------------------------
// validate: structured mutations of a valid record, with an oracle for each field
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Validity {
    Valid,
    Invalid,
    /// Not decided by the oracle (random text, edge cases the contract leaves open).
    Unknown,
}
use Validity::{Invalid, Unknown, Valid};

/// Fields the mutations touch: the named ones, `label` and one unknown field.
const MUTATED_FIELDS: [&str; 16] = {
    let mut all = [""; 16];
    let mut i = 0;
    while i < REQUIRED_FIELDS.len() {
        all[i] = REQUIRED_FIELDS[i];
        i += 1;
    }
    while i < REQUIRED_FIELDS.len() + OPTIONAL_FIELDS.len() {
        all[i] = OPTIONAL_FIELDS[i - REQUIRED_FIELDS.len()];
        i += 1;
    }
    all[14] = "label";
    all[15] = "loyalty_tier";
    all
};

/// A valid record; every field is then mutated by the fuzz input.
pub fn valid_record() -> Map<String, Value> {
    let v = serde_json::json!({
        "transaction_id": "t-1", "account_id": "acct-1", "timestamp": "2026-03-01T10:00:00Z",
        "amount": "12.50", "currency": "EUR", "merchant": "Shop", "mcc": "5411",
        "country": "DE", "channel": "online", "description": "groceries",
        "customer_email": "x@example.com", "loyalty_tier": "gold", "label": {"fraud": false}
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn s(x: &str) -> Value {
    Value::String(x.to_owned())
}

fn n(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// Values the oracle knows the answer for, per field.
fn pool(field: &str) -> Vec<(Value, Validity)> {
    let long = |c: &str, k: usize| s(&c.repeat(k));
    match field {
        "transaction_id" | "account_id" => vec![
            (s("t-1"), Valid),
            (s("  padded\t"), Valid),
            (s("ünïcødé 東京"), Valid),
            (long("x", 128), Valid),
            (s("a\u{a0}b"), Valid),
            (long("x", 129), Invalid),
            (long("é", 65), Invalid),
            (s(""), Invalid),
            (s(" \n\t "), Invalid),
            (s("a\u{7}b"), Invalid),
            (s("a\u{9f}b"), Invalid),
            (n(7.0), Invalid),
            (Value::Bool(true), Invalid),
            (serde_json::json!(["t-1"]), Invalid),
        ],
        "timestamp" => vec![
            (s("2026-03-01T10:00:00Z"), Valid),
            (s("2026-03-01T10:00:00.123456789+05:30"), Valid),
            (s("1970-01-01T00:00:00Z"), Valid),
            (s("2016-12-31T23:59:60Z"), Valid),
            (s("9999-12-31T23:59:59Z"), Valid),
            (s("0000-01-01T00:00:00Z"), Valid),
            (s("2024-02-29T12:00:00-08:00"), Valid),
            (s("9999-12-31T23:59:59-01:00"), Unknown),
            (s("0000-01-01T00:00:00+01:00"), Unknown),
            (s("2026-03-01 10:00:00Z"), Unknown),
            (s("2026-02-30T10:00:00Z"), Invalid),
            (s("2025-02-29T10:00:00Z"), Invalid),
            (s("2026-03-01T24:00:00Z"), Invalid),
            (s("2026-03-01T10:00:00"), Invalid),
            (s("yesterday"), Invalid),
            (s(""), Invalid),
            (n(1_700_000_000.0), Invalid),
        ],
        "amount" => vec![
            (s("12.50"), Valid),
            (s("0.0001"), Valid),
            (s("9999999999999.9999"), Valid),
            (s(" 7 "), Valid),
            (s("1e3"), Valid),
            (s("1.5E2"), Valid),
            (s("12.5000000"), Valid),
            (n(12.5), Valid),
            (n(1.0), Valid),
            (n(0.01), Valid),
            (Value::from(42u64), Valid),
            (Value::from(9_999_999_999_999u64), Valid),
            (s("0"), Invalid),
            (s("-0"), Invalid),
            (s("-1"), Invalid),
            (s("0.00001"), Invalid),
            (s("10000000000000"), Invalid),
            (s("NaN"), Invalid),
            (s("inf"), Invalid),
            (s("1e309"), Invalid),
            (s("1e-5"), Invalid),
            (s("1,5"), Invalid),
            (s(""), Invalid),
            (n(0.0), Invalid),
            (n(-1.0), Invalid),
            (n(0.00001), Invalid),
            (n(1e13), Invalid),
            (Value::from(u64::MAX), Invalid),
            (Value::from(-5i64), Invalid),
            (Value::Bool(true), Invalid),
            (serde_json::json!({"value": 1}), Invalid),
            (s("+5"), Unknown),
            (s(".5"), Unknown),
        ],
        "currency" => vec![
            (s("EUR"), Valid),
            (s("JPY"), Valid),
            (s("XXX"), Valid),
            (s("eur"), Invalid),
            (s("EURO"), Invalid),
            (s("XYZ"), Invalid),
            (s(" EUR"), Invalid),
            (s(""), Invalid),
            (Value::from(978u64), Invalid),
        ],
        "merchant" => vec![
            (s("Shop"), Valid),
            (s("Café 東京 😀"), Valid),
            (long("m", 256), Valid),
            (s("  Shop  "), Valid),
            (long("m", 257), Invalid),
            (s(""), Invalid),
            (s("   "), Invalid),
            (n(1.0), Invalid),
        ],
        "mcc" => vec![
            (s("5411"), Valid),
            (s("0742"), Valid),
            (s("0000"), Valid),
            (s("9999"), Valid),
            (Value::from(5411u64), Valid),
            (Value::from(742u64), Valid),
            (Value::from(0u64), Valid),
            (s("541"), Invalid),
            (s("54111"), Invalid),
            (s("54a1"), Invalid),
            (s("-541"), Invalid),
            (s(" 5411"), Invalid),
            (s("٥٤١١"), Invalid),
            (Value::from(10000u64), Invalid),
            (Value::from(-1i64), Invalid),
            (n(54.11), Invalid),
            (Value::Bool(false), Invalid),
        ],
        "country" => vec![
            (s("DE"), Valid),
            (s("GB"), Valid),
            (s("de"), Invalid),
            (s("XX"), Invalid),
            (s("DEU"), Invalid),
            (s(""), Invalid),
        ],
        "channel" => vec![
            (s("online"), Valid),
            (s("card_present"), Valid),
            (s("atm"), Valid),
            (s("transfer"), Valid),
            (s("Online"), Invalid),
            (s("pigeon"), Invalid),
            (s(""), Invalid),
        ],
        "description" | "customer_name" | "customer_email" | "card_number" | "iban" => {
            let max = match field {
                "description" => 4096,
                "customer_email" => 320,
                "card_number" | "iban" => 64,
                _ => 256,
            };
            vec![
                (s(""), Valid),
                (s("  \t"), Valid),
                (s("Jane Doe"), Valid),
                (s("4111 1111 1111 1111"), Valid),
                (s("jane.doe@example.com"), Valid),
                (s("DE89 3704 0044 0532 0130 00"), Valid),
                (long("x", max), Valid),
                (s("a\u{0}b"), Invalid),
                (long("x", max + 1), Invalid),
                (n(1.0), Invalid),
                (Value::Bool(true), Invalid),
            ]
        }
        _ => {
            let mut v = vec![
                (s("gold"), Valid),
                (serde_json::json!({"fraud": true}), Valid),
                (serde_json::json!([1, "two", null]), Valid),
                (n(1e300), Valid),
            ];
            // U+0000 cannot be stored; `label` is dropped before anything is stored.
            if field != "label" {
                v.push((serde_json::json!({"note": "a\u{0}b"}), Invalid));
            }
            v
        }
    }
}

/// Fields whose value must match exactly (no trimming).
fn exact(field: &str) -> bool {
    matches!(
        field,
        "currency" | "mcc" | "country" | "channel" | "timestamp"
    )
}

fn is_named(field: &str) -> bool {
    REQUIRED_FIELDS.contains(&field) || OPTIONAL_FIELDS.contains(&field)
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn take(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

/// Builds a record from a valid one and a list of byte-coded mutations, then checks
/// `parse_record` against the oracle: all fields valid → accepted; any field invalid →
/// rejected, naming a field that is not known to be valid, as missing only if it is absent;
/// accepted → every field holds exactly the (trimmed) value given.
pub fn check_validate(data: &[u8]) {
    let (obj, status) = build_mutated(data);
    let bytes = serde_json::to_vec(&Value::Object(obj.clone())).unwrap_or_default();
    let outcome = parse_record(&bytes);
    let of = |f: &str| status.get(f).copied().unwrap_or(Valid);

    let all_valid = MUTATED_FIELDS.iter().all(|f| of(f) == Valid);
    let any_invalid = MUTATED_FIELDS.iter().any(|f| of(f) == Invalid);
    match &outcome {
        Ok((t, _)) => {
            assert!(
                !any_invalid,
                "accepted with an invalid field: {status:?}\n{obj:?}"
            );
            check_transaction(t);
            // Compare with the value as serde_json reads it back: its default float parsing
            // may land one ulp away from the f64 that was written (see docs/reliability.md).
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(read)) => check_fields_kept(t, &read),
                other => panic!("own JSON unreadable: {other:?}"),
            }
        }
        Err(r) => {
            assert!(
                !all_valid,
                "rejected a record the oracle calls valid: {r:?}\n{obj:?}"
            );
            check_detail_vocabulary(r, bytes.len());
            let (field, _) = r.detail.split_once(": ").unwrap_or_default();
            if field == "extra" {
                // Unknown fields are named together; one of them must not be valid.
                assert!(
                    MUTATED_FIELDS
                        .iter()
                        .any(|f| !is_named(f) && *f != "label" && of(f) != Valid),
                    "rejected valid unknown fields: {r:?}\n{obj:?}"
                );
                check_decode(&bytes);
                return;
            }
            assert!(is_named(field), "{r:?}");
            assert_ne!(of(field), Valid, "rejected a valid {field}: {r:?}\n{obj:?}");
            let absent = matches!(obj.get(field), None | Some(Value::Null));
            match r.reason {
                RejectReason::MissingField => assert!(absent, "{r:?}"),
                RejectReason::InvalidField => assert!(!absent, "{r:?}"),
                _ => panic!("an object rejected as {r:?}"),
            }
        }
    }
    check_decode(&bytes);
}

type Status = std::collections::BTreeMap<&'static str, Validity>;

fn build_mutated(data: &[u8]) -> (Map<String, Value>, Status) {
    let mut obj = valid_record();
    let mut status = Status::new();
    let mut r = Reader(data);
    while let Some(op) = r.byte() {
        let field = MUTATED_FIELDS[usize::from(op >> 3) % MUTATED_FIELDS.len()];
        let named = is_named(field);
        let required = REQUIRED_FIELDS.contains(&field);
        let (value, validity) = match op & 7 {
            0 => (None, if required { Invalid } else { Valid }),
            1 => (Some(Value::Null), if required { Invalid } else { Valid }),
            2 | 3 => {
                let choices = pool(field);
                let pick = usize::from(r.byte().unwrap_or(0)) % choices.len();
                let (v, ok) = choices[pick].clone();
                (Some(v), ok)
            }
            4 => {
                let len = usize::from(r.byte().unwrap_or(0) % 48);
                let text = String::from_utf8_lossy(r.take(len)).into_owned();
                // U+0000 cannot be stored; `label` is dropped before anything is stored.
                let validity = match (named, text.contains('\0') && field != "label") {
                    (true, _) => Unknown,
                    (false, true) => Invalid,
                    (false, false) => Valid,
                };
                (Some(Value::String(text)), validity)
            }
            5 => {
                let mut raw = [0u8; 8];
                let got = r.take(8);
                raw[..got.len()].copy_from_slice(got);
                let v = match got.first().map(|b| b % 3) {
                    Some(0) => n(f64::from_bits(u64::from_le_bytes(raw))),
                    Some(1) => Value::from(i64::from_le_bytes(raw) % 100_000),
                    _ => Value::from(u64::from_le_bytes(raw)),
                };
                (Some(v), if named { Unknown } else { Valid })
            }
            6 => {
                let pad = [" ", "\t", "\n", "\u{a0}", "\u{3000}", "\r\n"];
                let p = pad[usize::from(r.byte().unwrap_or(0)) % pad.len()];
                match obj.get(field) {
                    Some(Value::String(cur)) => {
                        let prev = status.get(field).copied().unwrap_or(Valid);
                        let now = if exact(field) && prev == Valid {
                            if field == "timestamp" {
                                Unknown
                            } else {
                                Invalid
                            }
                        } else {
                            prev
                        };
                        (Some(Value::String(format!("{p}{cur}{p}"))), now)
                    }
                    _ => continue,
                }
            }
            _ => {
                let depth = usize::from(r.byte().unwrap_or(0) % 8);
                let mut v = Value::from("leaf");
                for i in 0..depth {
                    v = if i % 2 == 0 {
                        Value::Array(vec![v])
                    } else {
                        serde_json::json!({ "k": v })
                    };
                }
                // Depth 0 is a plain string, which the oracle cannot judge.
                let validity = match (named, depth) {
                    (false, _) => Valid,
                    (true, 0) => Unknown,
                    (true, _) => Invalid,
                };
                (Some(v), validity)
            }
        };
        match value {
            Some(v) => {
                obj.insert(field.to_owned(), v);
            }
            None => {
                obj.remove(field);
            }
        }
        status.insert(field, validity);
    }
    (obj, status)
}

/// An accepted record holds exactly the values given, trimmed where the contract trims.
fn check_fields_kept(t: &Transaction, obj: &Map<String, Value>) {
    let text = |f: &str| obj.get(f).and_then(Value::as_str).map(str::trim);
    assert_eq!(Some(t.id.as_str()), text("transaction_id"));
    assert_eq!(Some(t.account_id.as_str()), text("account_id"));
    assert_eq!(Some(t.merchant.as_str()), text("merchant"));
    assert_eq!(Some(t.currency.as_str()), text("currency"));
    assert_eq!(Some(t.country.as_str()), text("country"));
    assert_eq!(Some(t.channel.as_str()), text("channel"));
    match obj.get("mcc") {
        Some(Value::String(m)) => assert_eq!(&t.mcc.to_code_string(), m),
        Some(Value::Number(m)) => assert_eq!(m.as_u64(), Some(u64::from(t.mcc.code()))),
        other => panic!("accepted mcc {other:?}"),
    }
    let optional = [
        ("description", &t.description),
        ("customer_name", &t.pii.name),
        ("customer_email", &t.pii.email),
        ("card_number", &t.pii.card_number),
        ("iban", &t.pii.iban),
    ];
    for (f, got) in optional {
        let want = text(f).filter(|s| !s.is_empty());
        assert_eq!(got.as_deref(), want, "{f}");
    }
    let extra: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| !is_named(k) && k.as_str() != "label")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(t.extra, extra);
}

// ---------------------------------------------------------------------------------------
// scrub: the PII scrubber on arbitrary text
// ---------------------------------------------------------------------------------------

/// Splits a corpus file into (customer name, text): `name\0text`, or all text when there
/// is no NUL. Invalid UTF-8 is replaced, so every input exercises the scrubber.
pub fn scrub_input(data: &[u8]) -> (Option<String>, String) {
    let all = String::from_utf8_lossy(data);
    match all.split_once('\0') {
        Some((name, text)) => (Some(name.to_owned()), text.to_owned()),
        None => (None, all.into_owned()),
    }
}

/// The scrubber on arbitrary text and name: spans sorted, disjoint, non-empty and on char
/// boundaries; deterministic; `scrub`, `scrub_cow` and `redact_all` agree with `find`; the
/// output is the text with each span replaced by its token; found cards, IBANs and e-mail
/// addresses do not survive, and the scrubber finds none in the text it kept.
pub fn check_scrub(data: &[u8]) {
    let (name, text) = scrub_input(data);
    let sc = scrubber();
    let spans = sc.find(&text, name.as_deref());
    check_spans(&text, &spans);

    // `scrub` finds again, so this also checks that finding is deterministic.
    let scrubbed = sc.scrub(&text, name.as_deref());
    assert_eq!(scrubbed.spans, spans, "scrub and find disagree");
    let want = replaced(&text, &spans);
    assert_eq!(scrubbed.text, want, "not the text with spans replaced");
    let cow = sc.scrub_cow(&text, name.as_deref());
    assert_eq!(cow, want);
    assert_eq!(
        matches!(cow, std::borrow::Cow::Borrowed(_)),
        spans.is_empty()
    );
    check_no_leaks(&text, &spans, &scrubbed.text);
    check_output_clean(&spans, &scrubbed.text, name.as_deref());

    let anonymous = sc.find(&text, None);
    check_spans(&text, &anonymous);
    assert_eq!(sc.redact_all(&text), replaced(&text, &anonymous));
    // Not checked: that the name only adds findings. The first pass finds the same non-name
    // spans with or without it, but a "[NAME]" token changes the context of later passes
    // (a phone number next to it may then not be found again).
}

/// `text` with each span replaced by its kind's token (spans already checked).
fn replaced(text: &str, spans: &[PiiSpan]) -> String {
    let mut out = String::new();
    let mut last = 0;
    for sp in spans {
        out.push_str(&text[last..sp.start]);
        out.push_str(sp.kind.token());
        last = sp.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Searching the scrubbed output again finds no card, IBAN or e-mail address in the text
/// the scrub kept (only, possibly, across a replacement token such as "[CARD]").
fn check_output_clean(spans: &[PiiSpan], scrubbed: &str, name: Option<&str>) {
    // Byte ranges of the tokens in the output.
    let mut tokens = Vec::with_capacity(spans.len());
    let (mut orig, mut out) = (0usize, 0usize);
    for s in spans {
        out += s.start - orig;
        tokens.push((out, out + s.kind.token().len()));
        out += s.kind.token().len();
        orig = s.end;
    }
    for f in scrubber().find(scrubbed, name) {
        if matches!(f.kind, PiiKind::CardNumber | PiiKind::Iban | PiiKind::Email) {
            assert!(
                tokens.iter().any(|&(a, b)| f.start < b && a < f.end),
                "{} {:?} left in the scrubbed text {scrubbed:?}",
                f.kind,
                &scrubbed[f.start..f.end]
            );
        }
    }
}

fn check_spans(text: &str, spans: &[PiiSpan]) {
    for s in spans {
        assert!(s.start < s.end && s.end <= text.len(), "{s:?} in {text:?}");
        assert!(
            text.is_char_boundary(s.start) && text.is_char_boundary(s.end),
            "{s:?} not on char boundaries in {text:?}"
        );
    }
    for w in spans.windows(2) {
        assert!(
            w[0].end <= w[1].start,
            "unsorted or overlapping {w:?} in {text:?}"
        );
    }
}

/// A found card, IBAN or e-mail address does not appear in the scrubbed output, unless the
/// same characters also occur in the text outside every finding (e.g. inside a longer digit
/// run the scrubber rightly did not flag: "41111111111111111" holds "4111111111111111").
fn check_no_leaks(text: &str, spans: &[PiiSpan], scrubbed: &str) {
    for s in spans {
        if !matches!(s.kind, PiiKind::CardNumber | PiiKind::Iban | PiiKind::Email) {
            continue;
        }
        let found = &text[s.start..s.end];
        let unflagged_copy = text
            .char_indices()
            .map(|(i, _)| i)
            .filter(|&i| text[i..].starts_with(found))
            .any(|i| {
                let end = i + found.len();
                spans.iter().all(|o| end <= o.start || o.end <= i)
            });
        assert!(
            unflagged_copy || !scrubbed.contains(found),
            "{} {found:?} survives in {scrubbed:?}",
            s.kind
        );
    }
}
