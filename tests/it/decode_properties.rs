//! Property tests for decode + validate (`pfm::domain::parse_record`). The invariant checks
//! are the fuzz targets' (`pfm_testkit`), here driven by proptest on stable.

use chrono::{DateTime, Utc};
use pfm::domain::{parse_record, parse_record_reference, RejectReason, MAX_PAYLOAD_BYTES};
use pfm_testkit::{check_decode, check_scrub, check_transaction, check_validate};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{json, Value};

/// Proptest's default (`SourceParallel`) would put the saved failures under
/// `tests/proptest-regressions/` now that this file sits next to the binary's `main.rs`;
/// they stay next to this module, in `decode_properties.proptest-regressions`.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

const CURRENCIES: [&str; 6] = ["EUR", "USD", "GBP", "JPY", "CHF", "XXX"];
const COUNTRIES: [&str; 6] = ["DE", "US", "GB", "JP", "FR", "NL"];
const CHANNELS: [&str; 4] = ["card_present", "online", "atm", "transfer"];

fn valid_record_json() -> Value {
    json!({
        "transaction_id": "t-1", "account_id": "acct-1", "timestamp": "2026-03-01T10:00:00Z",
        "amount": "12.50", "currency": "EUR", "merchant": "Shop", "mcc": "5411",
        "country": "DE", "channel": "online"
    })
}

/// A record the contract accepts, with what the transaction must then hold.
#[derive(Debug, Clone)]
struct Generated {
    json: Value,
    id: String,
    timestamp: DateTime<Utc>,
    amount: rust_decimal::Decimal,
    mcc: u16,
    merchant: String,
    description: Option<String>,
}

fn generated_record() -> impl Strategy<Value = Generated> {
    let text = "[A-Za-z0-9][A-Za-z0-9 ._'/&-]{0,30}[A-Za-z0-9]?";
    (
        (text, text, " {0,2}", " {0,2}"),
        // Seconds well inside 0000..=9999 so any offset stays in range, plus nanoseconds
        // and an offset in minutes.
        (
            86_400i64..253_402_300_799 - 86_400,
            0u32..1_000_000_000,
            -1439i32..1440,
        ),
        (1u64..1_000_000_000_000_000, 0u32..=4, any::<bool>()),
        (0u16..=9999, any::<bool>()),
        (
            prop::sample::select(CURRENCIES.to_vec()),
            prop::sample::select(COUNTRIES.to_vec()),
            prop::sample::select(CHANNELS.to_vec()),
        ),
        proptest::option::of("\\PC{0,40}"),
    )
        .prop_filter_map(
            "amount in range",
            |(
                (id, merchant, pad_l, pad_r),
                (secs, nanos, offset_min),
                (mantissa, scale, as_number),
                (mcc, mcc_number),
                (currency, country, channel),
                description,
            )| {
                let amount = rust_decimal::Decimal::new(i64::try_from(mantissa).ok()?, scale);
                if amount >= rust_decimal::Decimal::from(10_000_000_000_000i64) {
                    return None;
                }
                let offset = chrono::FixedOffset::east_opt(offset_min * 60)?;
                let timestamp = DateTime::from_timestamp(secs, nanos)?;
                let shown = timestamp
                    .with_timezone(&offset)
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
                // Numbers only where f64 holds the decimal exactly enough (15 digits).
                let amount_json = if as_number && mantissa < 1_000_000_000_000_000 / 100 {
                    let f: f64 = amount.to_string().parse().ok()?;
                    json!(f)
                } else {
                    Value::from(format!("{pad_l}{amount}{pad_r}"))
                };
                let mcc_json = if mcc_number {
                    json!(mcc)
                } else {
                    Value::from(format!("{mcc:04}"))
                };
                let mut v = json!({
                    "transaction_id": format!("{pad_l}{id}{pad_r}"),
                    "account_id": "acct-1",
                    "timestamp": shown,
                    "amount": amount_json,
                    "currency": currency,
                    "merchant": format!("{pad_r}{merchant}"),
                    "mcc": mcc_json,
                    "country": country,
                    "channel": channel,
                    "loyalty_tier": "gold",
                    "label": {"fraud": false},
                });
                if let Some(d) = &description {
                    v["description"] = Value::from(d.as_str());
                }
                let description = description
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty());
                Some(Generated {
                    json: v,
                    id: id.trim().to_owned(),
                    timestamp,
                    amount: amount.normalize(),
                    mcc,
                    merchant: merchant.trim().to_owned(),
                    description,
                })
            },
        )
}

/// (field, value) pairs the contract rejects, with the reason.
fn invalid_field() -> impl Strategy<Value = (&'static str, Value, RejectReason)> {
    use RejectReason::{InvalidField, MissingField};
    prop::sample::select(vec![
        ("transaction_id", Value::Null, MissingField),
        ("transaction_id", json!("  "), InvalidField),
        ("transaction_id", json!("x".repeat(129)), InvalidField),
        ("transaction_id", json!("a\u{1b}b"), InvalidField),
        ("account_id", json!(7), InvalidField),
        ("timestamp", json!("2026-02-30T10:00:00Z"), InvalidField),
        ("timestamp", json!("2026-03-01T10:00:00"), InvalidField),
        ("timestamp", Value::Null, MissingField),
        ("amount", json!("0"), InvalidField),
        ("amount", json!(-3.5), InvalidField),
        ("amount", json!("0.00001"), InvalidField),
        ("amount", json!("1e13"), InvalidField),
        ("amount", json!(true), InvalidField),
        ("amount", Value::Null, MissingField),
        ("currency", json!("eur"), InvalidField),
        ("currency", json!("ABC"), InvalidField),
        ("merchant", json!(""), InvalidField),
        ("merchant", json!("m".repeat(257)), InvalidField),
        ("mcc", json!("541"), InvalidField),
        ("mcc", json!(10_000), InvalidField),
        ("mcc", json!(-1), InvalidField),
        ("mcc", Value::Null, MissingField),
        ("country", json!("ZZ"), InvalidField),
        ("channel", json!("pigeon"), InvalidField),
        ("channel", Value::Null, MissingField),
    ])
}

/// A JSON string literal for `s` with the characters `mask` picks written as `\u` escapes
/// (UTF-16, so surrogate pairs beyond the BMP), as a producer other than serde_json might.
fn escaped(s: &str, mask: u64) -> String {
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if (mask >> (i % 64)) & 1 == 1 {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04X}", u32::from(c))),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

/// JSON number text in the forms a producer may write: integer, fraction, exponent.
fn json_number() -> impl Strategy<Value = String> {
    (1u64..10_000_000_000_000, 0usize..8, -4i32..5, 0u8..4).prop_map(|(m, point, exp, form)| {
        let digits = m.to_string();
        let at = digits.len().saturating_sub(point).max(1);
        let (int, frac) = digits.split_at(at);
        let fraction = if frac.is_empty() {
            String::new()
        } else {
            format!(".{frac}")
        };
        match form {
            0 => int.to_owned(),
            1 => format!("{int}{fraction}"),
            2 => format!("{int}{fraction}e{exp}"),
            _ => format!("{int}{fraction}E+{}", exp.unsigned_abs()),
        }
    })
}

/// `obj` written by hand: names in an order `seed` picks, strings partly `\u`-escaped,
/// whitespace `ws` around the punctuation.
fn reshaped(obj: &serde_json::Map<String, Value>, seed: u64, ws: &str) -> String {
    use std::hash::{Hash, Hasher};
    let rank = |k: &str| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (seed, k).hash(&mut h);
        h.finish()
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort_by_key(|k| rank(k));
    let fields: Vec<String> = keys
        .iter()
        .map(|k| {
            let v = match &obj[k.as_str()] {
                Value::String(s) => escaped(s, rank(s).rotate_left(7)),
                other => other.to_string(),
            };
            format!("{ws}{}{ws}:{ws}{v}", escaped(k, rank(k)))
        })
        .collect();
    format!("{{{}{ws}}}", fields.join(","))
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn arbitrary_bytes_never_panic_and_reasons_are_known(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let outcome = parse_record(&data);
        if let Err(r) = &outcome {
            prop_assert!(RejectReason::ALL.contains(&r.reason));
        }
        check_decode(&data);
    }

    #[test]
    fn mutated_valid_records_never_break_invariants(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..6),
    ) {
        let mut data = valid_record_json().to_string().into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(data.len() + 1);
            match op {
                0 => data.insert(i, byte),
                1 if i < data.len() => { data.remove(i); }
                _ if i < data.len() => data[i] = byte,
                _ => {}
            }
        }
        check_decode(&data);
    }

    #[test]
    fn structured_mutations_match_the_field_oracle(data in prop::collection::vec(any::<u8>(), 0..48)) {
        check_validate(&data);
    }

    #[test]
    fn generated_valid_records_round_trip(g in generated_record()) {
        let bytes = g.json.to_string().into_bytes();
        let (t, digest) = parse_record(&bytes).map_err(|r| TestCaseError::fail(format!("{r:?} for {}", g.json)))?;
        check_transaction(&t);
        prop_assert_eq!(t.id.as_str(), g.id.as_str());
        prop_assert_eq!(t.timestamp, g.timestamp);
        prop_assert_eq!(t.amount.value(), g.amount);
        prop_assert_eq!(t.mcc.code(), g.mcc);
        prop_assert_eq!(&t.merchant, &g.merchant);
        prop_assert_eq!(&t.description, &g.description);
        prop_assert_eq!(t.extra.get("loyalty_tier"), Some(&json!("gold")));
        // The same record again (another label) is the same content.
        let mut relabelled = g.json.clone();
        relabelled["label"] = json!({"fraud": true});
        let again = parse_record(relabelled.to_string().as_bytes()).map(|(_, d)| d).ok();
        prop_assert_eq!(again, Some(digest));
        check_decode(&bytes);
    }

    #[test]
    fn reshaped_records_decode_alike_on_both_paths(
        g in generated_record(),
        seed in any::<u64>(),
        ws in prop::sample::select(vec!["", " ", "\n  ", "\t"]),
        amount in proptest::option::of(json_number()),
        keep_extra in any::<bool>(),
        keep_label in any::<bool>(),
    ) {
        let mut obj = g.json.as_object().cloned().unwrap_or_default();
        if !keep_extra {
            obj.remove("loyalty_tier");
        }
        if !keep_label {
            obj.remove("label");
        }
        let mut text = reshaped(&obj, seed, ws);
        if let Some(n) = &amount {
            obj.remove("amount");
            text = format!("{},\"amount\":{n}}}", reshaped(&obj, seed, ws).trim_end_matches('}'));
        }
        // The typed path and the `Value` path: same digest, fields or rejection.
        check_decode(text.as_bytes());
        if amount.is_none() {
            // Names' order, escapes and whitespace are not content.
            let plain = parse_record_reference(g.json.to_string().as_bytes()).map(|(_, d)| d);
            let (_, digest) = parse_record(text.as_bytes()).map_err(|r| TestCaseError::fail(format!("{r:?} for {text}")))?;
            if keep_extra {
                prop_assert_eq!(Ok(digest), plain);
            } else {
                prop_assert_ne!(Ok(digest), plain, "the unknown field is content");
            }
        }
    }

    #[test]
    fn an_invalid_required_field_is_rejected_naming_it(bad in invalid_field(), g in generated_record()) {
        let (field, value, reason) = bad;
        let mut v = g.json.clone();
        v[field] = value;
        let r = parse_record(v.to_string().as_bytes()).err();
        prop_assert_eq!(r.as_ref().map(|r| r.reason), Some(reason), "{}", v);
        let detail = r.map(|r| r.detail).unwrap_or_default();
        prop_assert!(detail.starts_with(&format!("{field}: ")), "{}", detail);
    }

    #[test]
    fn scrubber_invariants_hold_on_arbitrary_text(text in "\\PC{0,80}", name in proptest::option::of("\\PC{0,12}")) {
        let data = match name {
            Some(n) => format!("{}\0{text}", n.replace('\0', "")),
            None => text.replace('\0', ""),
        };
        check_scrub(data.as_bytes());
    }
}

proptest! {
    #![proptest_config(config(8))]

    #[test]
    fn payloads_over_the_limit_are_oversized(extra in 1usize..4096, g in generated_record()) {
        // A valid record padded with whitespace (still valid JSON) past the limit.
        let mut data = g.json.to_string().into_bytes();
        data.resize(MAX_PAYLOAD_BYTES + extra, b' ');
        let r = parse_record(&data).err();
        prop_assert_eq!(r.as_ref().map(|r| r.reason), Some(RejectReason::Oversized));
        prop_assert!(r.map(|r| r.transaction_id.is_none()).unwrap_or(false));
        // At the limit exactly, the same padding is accepted.
        data.truncate(MAX_PAYLOAD_BYTES);
        prop_assert!(parse_record(&data).is_ok());
    }
}
