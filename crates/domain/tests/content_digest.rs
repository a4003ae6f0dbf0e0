//! Digest stability: every payload of `data/content_digests.jsonl` must still decode to the
//! content digest (and transaction fields) stored there, or be rejected as it was. A changed
//! digest would turn every replay after an upgrade into a `duplicate_id` dead letter.
//!
//! The fixture was written by `cargo run --example digest_fixture` on the commit that added
//! it (branch perf-decode), whose decode (`crates/domain/src`) is main's at c904fbf: the
//! `serde_json::Value` path, before the typed fast path. Never regenerate it with a changed
//! decode; add lines instead.
//!
//! Not in the fixture: payloads that are not UTF-8 (rejected before any parsing, and not
//! storable in a JSON line), and objects holding serde_json's private marker keys
//! (`$serde_json::private::…`), whose meaning depends on which serde_json features the build
//! unifies (see the unit tests of the typed decode).

#[path = "support/outcome.rs"]
mod outcome;

use serde_json::Value;

const FIXTURE: &str = include_str!("data/content_digests.jsonl");

struct Line {
    case: String,
    payload: String,
    want: Value,
}

fn lines() -> Vec<Line> {
    FIXTURE
        .lines()
        .enumerate()
        .map(|(n, l)| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("line {n}: {e}"));
            Line {
                case: v["case"].as_str().expect("case").to_owned(),
                payload: v["payload"].as_str().expect("payload").to_owned(),
                want: v["outcome"].clone(),
            }
        })
        .collect()
}

#[test]
fn the_fixture_covers_what_it_claims() {
    let lines = lines();
    let accepted = lines.iter().filter(|l| l.want.get("digest").is_some());
    let labelled = accepted.clone().filter(|l| l.payload.contains("\"label\""));
    let generated = lines.iter().filter(|l| l.case.starts_with("synth "));
    assert!(lines.len() >= 3000, "{} lines", lines.len());
    assert!(generated.count() >= 3000);
    assert!(accepted.count() >= 3000);
    assert!(labelled.count() >= 2000);
    assert!(
        lines
            .iter()
            .filter(|l| l.want.get("reject").is_some())
            .count()
            >= 100
    );
}

#[test]
fn digests_and_outcomes_are_those_of_the_fixture() {
    let mut wrong = Vec::new();
    for l in lines() {
        let mut got = outcome::outcome(l.payload.as_bytes());
        let mut want = l.want.clone();
        // serde_json's own parse error text (line, column, wording) is not this crate's
        // contract and may change with serde_json; the reason and the id hint are.
        if want["reject"] == "bad_json" {
            want["detail"] = Value::Null;
            got["detail"] = Value::Null;
        }
        if got != want {
            wrong.push(format!("{}: got {got}, want {want}", l.case));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of the fixture's payloads changed outcome:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
