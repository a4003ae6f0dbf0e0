//! Writes the digest-stability fixture (crates/domain/tests/data/content_digests.jsonl):
//! generated records of several seeds and shapes plus hand-made edge cases, each with what
//! `parse_record` makes of it (content digest, or rejection).
//!   cargo run --example digest_fixture > crates/domain/tests/data/content_digests.jsonl
//! Run it only on a commit whose decode is the reference: the fixture exists to show that
//! later versions give the same digests, so regenerating it with a changed decode would hide
//! exactly the change it guards against.

#[path = "../crates/domain/tests/support/outcome.rs"]
mod outcome;

use serde_json::{json, Value};
use std::io::Write;

/// A record as text, fields in the given order, names and values as raw JSON (so that
/// number forms, escapes and duplicate keys stay exactly as written).
fn rec(fields: &[(&str, &str)]) -> String {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

const BASE: [(&str, &str); 9] = [
    ("transaction_id", r#""t-1""#),
    ("account_id", r#""acct-1""#),
    ("timestamp", r#""2026-03-01T10:00:00Z""#),
    ("amount", r#""12.50""#),
    ("currency", r#""EUR""#),
    ("merchant", r#""Shop""#),
    ("mcc", r#""5411""#),
    ("country", r#""DE""#),
    ("channel", r#""online""#),
];

/// The base record with `field` set to the raw JSON `value` (added at the end if absent).
fn with(field: &str, value: &str) -> String {
    let mut f: Vec<(&str, &str)> = BASE.to_vec();
    match f.iter_mut().find(|(k, _)| *k == field) {
        Some(slot) => slot.1 = value,
        None => f.push((field, value)),
    }
    rec(&f)
}

fn without(field: &str) -> String {
    let f: Vec<(&str, &str)> = BASE.iter().copied().filter(|(k, _)| *k != field).collect();
    rec(&f)
}

fn edge_cases() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |case: &str, payload: String| out.push((case.to_owned(), payload));
    add("base", rec(&BASE));
    let mut rev = BASE.to_vec();
    rev.reverse();
    add("fields reversed", rec(&rev));
    let mut rotated = BASE.to_vec();
    rotated.rotate_left(4);
    add("fields rotated", rec(&rotated));
    let pretty = serde_json::to_string_pretty(
        &serde_json::from_str::<Value>(&rec(&BASE)).expect("base is JSON"),
    )
    .expect("pretty");
    add("pretty printed", pretty);
    add(
        "whitespace everywhere",
        format!(
            " \t\n{} \r\n",
            rec(&BASE)
                .replace("\":", "\" :\t")
                .replace(",\"", " ,\n  \"")
        ),
    );
    add("trailing garbage", format!("{} x", rec(&BASE)));
    add("two objects", format!("{0}{0}", rec(&BASE)));
    add("byte order mark", format!("\u{feff}{}", rec(&BASE)));

    // Labels: removed before the digest whatever they hold, but they must still be JSON.
    for (case, label) in [
        ("label object", r#"{"fraud":false,"pattern":null,"pii":[]}"#),
        ("label null", "null"),
        ("label number", "1e3"),
        ("label string with NUL", r#""a\u0000b""#),
        (
            "label nested",
            r#"{"a":[{"b":[1,2,{"c":"\ud83c\udf55"}]}],"d":-0.0}"#,
        ),
        ("label duplicate keys", r#"{"fraud":true,"fraud":false}"#),
        ("label lone surrogate", r#""\ud800""#),
        ("label number out of range", "1e309"),
        ("label bad escape", r#""\x""#),
    ] {
        add(case, with("label", label));
    }
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    add("label nested 100 deep", with("label", &deep(100)));
    add("label nested 126 deep", with("label", &deep(126)));
    add("label nested 127 deep", with("label", &deep(127)));
    add("label nested 200 deep", with("label", &deep(200)));
    add(
        "label twice",
        format!("{},\"label\":2}}", with("label", "1").trim_end_matches('}')),
    );
    add(
        "label first",
        format!("{{\"label\":{{\"fraud\":true}},{}", &rec(&BASE)[1..]),
    );

    // Amounts: strings and every JSON number form.
    for (case, amount) in [
        ("amount int", "12"),
        ("amount float", "12.5"),
        ("amount float trailing zero", "12.50"),
        ("amount 1.0", "1.0"),
        ("amount exp", "1e2"),
        ("amount EXP", "1E2"),
        ("amount exp plus", "1e+2"),
        ("amount frac exp", "1.5e1"),
        ("amount neg exp", "1e-2"),
        ("amount 0.1", "0.1"),
        ("amount 0.30000000000000004", "0.30000000000000004"),
        ("amount 4 places", "123456789.1234"),
        ("amount 5 places", "1.23456"),
        ("amount just below limit", "9999999999999.99"),
        ("amount limit", "10000000000000"),
        ("amount 1e13", "1e13"),
        ("amount u64 max", "18446744073709551615"),
        ("amount u64 overflow", "18446744073709551616"),
        ("amount huge int", "123456789012345678901234567890"),
        ("amount negative", "-5"),
        ("amount negative float", "-5.5"),
        ("amount i64 min", "-9223372036854775808"),
        ("amount below i64 min", "-9223372036854775809"),
        ("amount zero", "0"),
        ("amount minus zero", "-0"),
        ("amount minus zero float", "-0.0"),
        ("amount tiny", "5e-324"),
        ("amount max f64", "1.7976931348623157e308"),
        ("amount out of range", "1e309"),
        ("amount leading zero", "012"),
        ("amount many digits", "12.345000000000000000000001"),
        (
            "amount long fraction",
            "0.1000000000000000055511151231257827",
        ),
        ("amount string exp", r#""1e2""#),
        ("amount string padded", r#"" 12.5 ""#),
        ("amount string plus", r#""+12.5""#),
        ("amount string comma", r#""12,5""#),
        ("amount string NaN", r#""NaN""#),
        ("amount string empty", r#""""#),
        ("amount true", "true"),
        ("amount array", "[1]"),
        ("amount object", r#"{"v":1}"#),
        ("amount null", "null"),
    ] {
        add(case, with("amount", amount));
    }
    for (case, mcc) in [
        ("mcc number", "5411"),
        ("mcc number 742", "742"),
        ("mcc number 0", "0"),
        ("mcc string 0742", r#""0742""#),
        ("mcc string padded", r#""5411 ""#),
        ("mcc 10000", "10000"),
        ("mcc float", "7.5"),
        ("mcc float whole", "5411.0"),
        ("mcc negative", "-1"),
        ("mcc letters", r#""54a1""#),
        ("mcc null", "null"),
    ] {
        add(case, with("mcc", mcc));
    }

    // Strings: raw and escaped unicode, every escape serde_json writes or reads.
    for (case, merchant) in [
        ("merchant raw accents", r#""Café Müller""#),
        ("merchant escaped accents", r#""Caf\u00e9 M\u00FCller""#),
        ("merchant raw CJK", r#""東京スーパー""#),
        ("merchant escaped CJK", r#""\u6771\u4eac""#),
        ("merchant raw emoji", r#""Pizza 🍕""#),
        ("merchant escaped emoji", r#""Pizza \ud83c\udf55""#),
        ("merchant combining", r#""Cafe\u0301""#),
        (
            "merchant quote and backslash",
            r#""Joe's \"Diner\" \\ Bar""#,
        ),
        ("merchant escaped slash", r#""A\/B""#),
        ("merchant short escapes", r#""a\b\f\n\r\tb""#),
        ("merchant control escapes", r#""a\u0001\u001f\u007fb""#),
        ("merchant raw DEL", "\"a\u{7f}b\""),
        ("merchant line separators", "\"a\u{2028}b\u{2029}c\""),
        ("merchant escaped line separators", r#""a\u2028b""#),
        ("merchant lone surrogate", r#""\udc00""#),
        ("merchant raw tab", "\"a\tb\""),
        ("merchant padded", r#""  Shop  ""#),
        ("merchant blank", r#""   ""#),
        ("merchant NUL", r#""Sh\u0000op""#),
        ("merchant number", "7"),
    ] {
        add(case, with("merchant", merchant));
    }
    add(
        "merchant 256 bytes",
        with("merchant", &format!("\"{}\"", "é".repeat(128))),
    );
    add(
        "merchant 257 bytes",
        with("merchant", &format!("\"x{}\"", "é".repeat(128))),
    );
    add(
        "description 4096 bytes",
        with("description", &format!("\"{}\"", "d".repeat(4096))),
    );
    add(
        "description 4097 bytes",
        with("description", &format!("\"{}\"", "d".repeat(4097))),
    );
    add(
        "id 128 bytes",
        with("transaction_id", &format!("\"{}\"", "i".repeat(128))),
    );
    add(
        "id 129 bytes",
        with("transaction_id", &format!("\"{}\"", "i".repeat(129))),
    );
    add("id padded", with("transaction_id", r#""  t-9  ""#));
    add("id control", with("transaction_id", r#""t\u0007""#));
    add("id number", with("transaction_id", "7"));
    add("id NUL with bad amount", {
        let f = [("transaction_id", r#""t\u0000""#), ("amount", r#""-1""#)];
        rec(&f)
    });
    add("escaped key", {
        let mut f = BASE.to_vec();
        f[5].0 = r"merch\u0061nt";
        rec(&f)
    });

    // Optional fields: strings, blanks, nulls, wrong types.
    for field in [
        "description",
        "customer_name",
        "customer_email",
        "card_number",
        "iban",
    ] {
        for (what, v) in [
            ("set", r#""x@example.com 4111 1111""#),
            ("null", "null"),
            ("empty", r#""""#),
            ("blank", r#""  \t ""#),
            ("number", "5"),
            ("NUL", r#""a\u0000""#),
        ] {
            add(&format!("{field} {what}"), with(field, v));
        }
    }
    add("all optional set", {
        let mut f = BASE.to_vec();
        f.extend([
            ("description", r#""groceries for Jane Doe""#),
            ("customer_name", r#""Jane Doe""#),
            ("customer_email", r#""jane@example.com""#),
            ("card_number", r#""4111 1111 1111 1111""#),
            ("iban", r#""DE89 3704 0044 0532 0130 00""#),
            ("label", r#"{"fraud":false}"#),
        ]);
        rec(&f)
    });
    for (case, v) in [
        ("timestamp offset", r#""2026-03-01T10:00:00+02:00""#),
        ("timestamp fraction", r#""2026-03-01T10:00:00.123456789Z""#),
        ("timestamp lowercase", r#""2026-03-01t10:00:00z""#),
        ("timestamp space", r#""2026-03-01 10:00:00Z""#),
        ("timestamp leap second", r#""2026-06-30T23:59:60Z""#),
        ("timestamp feb 30", r#""2026-02-30T10:00:00Z""#),
        (
            "timestamp year 10000 in UTC",
            r#""9999-12-31T23:59:59-01:00""#,
        ),
        ("timestamp number", "1767225600"),
    ] {
        add(case, with("timestamp", v));
    }
    for (case, field, v) in [
        ("currency lowercase", "currency", r#""eur""#),
        ("currency unknown", "currency", r#""XYZ""#),
        ("country lowercase", "country", r#""de""#),
        ("channel upper", "channel", r#""ATM""#),
        ("channel atm", "channel", r#""atm""#),
        ("account blank", "account_id", r#""  ""#),
    ] {
        add(case, with(field, v));
    }
    for field in BASE.map(|(k, _)| k) {
        add(&format!("missing {field}"), without(field));
        add(&format!("null {field}"), with(field, "null"));
    }

    // Unknown fields are kept; duplicates keep the last value.
    add("extra string", with("loyalty_tier", r#""gold""#));
    add(
        "extra nested",
        with(
            "meta",
            r#"{"tags":["a","b"],"score":1.5,"ok":true,"n":null}"#,
        ),
    );
    add("extra unicode key", with("größe", r#""L""#));
    add("extra NUL", with("notes", r#"["ok","x\u0000y"]"#));
    add("extra NUL key", with(r"no\u0000te", "1"));
    add("extra empty key", with("", "1"));
    add(
        "duplicate amount",
        format!("{},\"amount\":\"13\"}}", rec(&BASE).trim_end_matches('}')),
    );
    add(
        "duplicate id",
        format!(
            "{},\"transaction_id\":\"t-2\"}}",
            rec(&BASE).trim_end_matches('}')
        ),
    );
    add(
        "duplicate amount bad then good",
        format!(
            "{{\"amount\":\"-1\",{}",
            &rec(&BASE)[1..].replace("\"12.50\"", "\"2\"")
        ),
    );

    // Not records at all.
    for (case, p) in [
        ("empty", ""),
        ("garbage", "garbage"),
        ("array", "[1,2]"),
        ("array of fields", r#"["t-1","acct-1"]"#),
        ("null", "null"),
        ("string", r#""str""#),
        ("number", "1"),
        ("empty object", "{}"),
        ("truncated", r#"{"transaction_id":"t-1""#),
        ("comment", "{/* c */}"),
        ("single quotes", "{'a':1}"),
        ("trailing comma", r#"{"a":1,}"#),
        ("raw NUL", "{\"a\":\"\u{0}\"}"),
    ] {
        add(case, p.to_owned());
    }
    out
}

/// Generated records of several seeds and rates, each also written in other shapes: keys in
/// serde_json's (sorted) order, pretty-printed, amount as a JSON number, without `label`.
fn generated() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (seed, fraud_rate, pii_rate, n) in [
        (1u64, 0.02, 0.3, 1000usize),
        (7, 0.5, 1.0, 1000),
        (42, 0.02, 0.0, 600),
        (2026, 0.9, 0.5, 600),
    ] {
        let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
            seed,
            fraud_rate,
            pii_rate,
            ..Default::default()
        });
        for (i, t) in gen.take(n).enumerate() {
            let case = format!("synth seed {seed} #{i}");
            let text = serde_json::to_string(&t).expect("generated record serialises");
            out.push((case.clone(), text));
            if i % 5 != 0 {
                continue;
            }
            let mut v = serde_json::to_value(&t).expect("generated record is JSON");
            match i % 20 {
                0 => out.push((format!("{case} sorted"), v.to_string())),
                5 => out.push((
                    format!("{case} pretty"),
                    serde_json::to_string_pretty(&v).expect("pretty"),
                )),
                10 => {
                    let n = t.amount.parse::<f64>().unwrap_or(1.0);
                    v["amount"] = json!(n);
                    out.push((format!("{case} numeric amount"), v.to_string()));
                }
                _ => {
                    if let Some(o) = v.as_object_mut() {
                        o.remove("label");
                    }
                    out.push((format!("{case} unlabelled"), v.to_string()));
                }
            }
        }
    }
    out
}

fn main() {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    for (case, payload) in edge_cases().into_iter().chain(generated()) {
        let line = json!({
            "case": case,
            "payload": payload,
            "outcome": outcome::outcome(payload.as_bytes()),
        });
        writeln!(w, "{line}").expect("write to stdout");
    }
}
