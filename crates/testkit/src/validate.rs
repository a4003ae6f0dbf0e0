//! validate: structured mutations of a valid record, with an oracle for each field.

use crate::decode::{check_decode, check_detail_vocabulary, check_transaction};
use pfm_domain::{parse_record, RejectReason, Transaction, OPTIONAL_FIELDS, REQUIRED_FIELDS};
use serde_json::{Map, Number, Value};

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
