//! `pipeline lineage`: the journey of one record, on SQLite and PostgreSQL. A real run
//! writes generated records plus a bad line, an invalid record, a replay and a reused id;
//! the lake export runs to a local folder; an account is erased; publications are settled
//! through the store's relay role (the broker itself is the Kafka tests' business). Every
//! answer is checked against the database, read directly, and against the input: no
//! plaintext PII, positions as the file has them.

use crate::common;

use chrono::{DateTime, Utc};
use pfm::store::{Delivered, OutboxStore, PgStore, SentTo, SqliteStore};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Output;

enum Db {
    Sqlite(SqliteStore),
    Pg(PgStore),
}

macro_rules! on_db {
    ($db:expr, $s:ident => $body:expr) => {
        match $db {
            Db::Sqlite($s) => $body,
            Db::Pg($s) => $body,
        }
    };
}

/// Text of one value: `sql` with `{t}` as `::text` on PostgreSQL (jsonb, numeric, …).
async fn text(db: &Db, sql: &str, id: &str) -> Option<String> {
    match db {
        Db::Sqlite(s) => sqlx::query_scalar::<_, Option<String>>(&sql.replace("{t}", ""))
            .bind(id)
            .fetch_optional(s.pool())
            .await
            .expect(sql),
        Db::Pg(s) => sqlx::query_scalar::<_, Option<String>>(&sql.replace("{t}", "::text"))
            .bind(id)
            .fetch_optional(s.pool())
            .await
            .expect(sql),
    }
    .flatten()
}

/// The first id a query without parameters returns.
async fn first(db: &Db, sql: &str) -> String {
    on_db!(db, s => sqlx::query_scalar::<_, String>(sql).fetch_one(s.pool()).await.expect(sql))
}

async fn int(db: &Db, sql: &str, id: &str) -> i64 {
    on_db!(db, s => sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_one(s.pool()).await.expect(sql))
}

/// A timestamp column (timestamptz on PostgreSQL, RFC 3339 text on SQLite).
async fn ts(db: &Db, sql: &str, id: &str) -> DateTime<Utc> {
    match db {
        Db::Sqlite(s) => {
            let t: String = sqlx::query_scalar(sql)
                .bind(id)
                .fetch_one(s.pool())
                .await
                .expect(sql);
            parse(&t)
        }
        Db::Pg(s) => sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(s.pool())
            .await
            .expect(sql),
    }
}

fn parse(t: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(t)
        .unwrap_or_else(|e| panic!("{t:?}: {e}"))
        .to_utc()
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

struct Run {
    dir: tempfile::TempDir,
    url: Option<String>,
    db: Db,
    input: String,
    file: PathBuf,
    /// Every answer printed, for the PII scan.
    printed: std::cell::RefCell<String>,
}

const BATCH: usize = 50;
const GENERATED: usize = 300;

impl Run {
    fn lineage(&self, args: &[&str]) -> Output {
        let out = common::pipeline_cmd(self.dir.path(), self.url.as_deref())
            .arg("lineage")
            .args(args)
            .output()
            .expect("run pipeline lineage");
        let mut p = self.printed.borrow_mut();
        p.push_str(&String::from_utf8_lossy(&out.stdout));
        p.push_str(&String::from_utf8_lossy(&out.stderr));
        out
    }

    fn journey(&self, args: &[&str]) -> Value {
        let out = self.lineage(args);
        assert!(
            out.status.success(),
            "lineage {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the journey is JSON")
    }

    fn by_id(&self, id: &str) -> Value {
        self.journey(&["--transaction-id", id])
    }

    fn at_line(&self, line: usize) -> Value {
        let at = format!("{}:{line}", self.file.display());
        self.journey(&["--source-position", &at])
    }

    /// The input line (from 1) of the first record with this id.
    fn line_of(&self, id: &str) -> i64 {
        let i = self
            .input
            .lines()
            .position(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["transaction_id"] == id))
            .expect("id in the input");
        i as i64 + 1
    }
}

/// The input: generated records, then a bad line, an invalid record, a replay of line 5,
/// line 6's id reused with other content (in a later batch than the records they repeat),
/// and a record the policy denies and one it sends to review.
fn input() -> String {
    let generated = common::generated_input(GENERATED as u64, 23);
    let lines: Vec<&str> = generated.lines().collect();
    let mut invalid: Value = json(lines[10]);
    invalid["transaction_id"] = "invalid-1".into();
    invalid["amount"] = "-5".into();
    let mut reused: Value = json(lines[5]);
    reused["amount"] = "123456.78".into();
    let mut out = generated.clone();
    out.push_str("{\"transaction_id\": \"broken-1\", \n");
    out.push_str(&format!("{invalid}\n"));
    out.push_str(&format!("{}\n", lines[4]));
    out.push_str(&format!("{reused}\n"));
    let mut denied: Value = json(lines[20]);
    denied["transaction_id"] = "deny-1".into();
    denied["country"] = "KP".into();
    out.push_str(&format!("{denied}\n"));
    let mut review: Value = json(lines[30]);
    review["transaction_id"] = "review-1".into();
    review["amount"] = "20000".into();
    out.push_str(&format!("{review}\n"));
    out
}

async fn prepare(url: Option<String>) -> Run {
    let dir = tempfile::tempdir().expect("tmp");
    let input = input();
    let file = dir.path().join("input.jsonl");
    std::fs::write(&file, &input).expect("write input");
    let file = std::fs::canonicalize(&file).expect("canonical");
    let out = common::pipeline_cmd(dir.path(), url.as_deref())
        .env("BATCH_SIZE", BATCH.to_string())
        .env("ENABLE_S3_LAKEHOUSE_EXPORT", "true")
        .args(["run", "--input"])
        .arg(&file)
        .output()
        .expect("pipeline run");
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = match &url {
        None => Db::Sqlite(
            SqliteStore::open(&dir.path().join("pipeline.db"))
                .await
                .expect("open"),
        ),
        Some(u) => {
            // Investigations run on the worker: let it finish them.
            let worker = common::pipeline_cmd(dir.path(), Some(u))
                .args(["worker", "--once"])
                .output()
                .expect("worker");
            assert!(
                worker.status.success(),
                "worker: {}",
                String::from_utf8_lossy(&worker.stderr)
            );
            Db::Pg(PgStore::connect(u, 2).await.expect("connect"))
        }
    };
    Run {
        dir,
        url,
        db,
        input,
        file,
        printed: Default::default(),
    }
}

/// The record's journey agrees with its row, its decision-log entry, the export ledger and
/// the lake folder.
async fn check_record(run: &Run, j: &Value, id: &str, table: &str) {
    let db = &run.db;
    let r = &j["record"];
    assert_eq!(r["table"], table, "{j}");
    let q = |col: &str| format!("SELECT {col}{{t}} FROM {table} WHERE transaction_id = $1");
    let src = &r["source"];
    assert_eq!(src["kind"], "file");
    assert_eq!(src["file"], run.file.display().to_string());
    assert_eq!(
        src["offset"],
        int(
            db,
            &format!("SELECT source_offset FROM {table} WHERE transaction_id = $1"),
            id
        )
        .await
    );
    assert_eq!(src["offset"], run.line_of(id), "the line it was read from");
    let committed = ts(
        db,
        &format!("SELECT committed_at FROM {table} WHERE transaction_id = $1"),
        id,
    )
    .await;
    let received = ts(
        db,
        &format!("SELECT received_at FROM {table} WHERE transaction_id = $1"),
        id,
    )
    .await;
    let decided = ts(
        db,
        "SELECT decided_at FROM decision_log WHERE transaction_id = $1",
        id,
    )
    .await;
    assert_eq!(
        parse(r["committed_at"].as_str().expect("committed")),
        committed
    );
    assert_eq!(
        parse(r["received_at"].as_str().expect("received")),
        received
    );
    assert_eq!(parse(r["decided_at"].as_str().expect("decided")), decided);
    assert!(received <= decided && decided <= committed, "{j}");

    let s = &r["stages"];
    let pii = text(db, &q("pii_removed"), id)
        .await
        .expect("pii_removed recorded");
    assert_eq!(s["scrub"]["pii_removed"], json(&pii));
    let mut encrypted = Vec::new();
    for f in ["customer_name", "customer_email", "card_number", "iban"] {
        if text(db, &q(&format!("{f}_enc")), id).await.is_some() {
            encrypted.push(f);
        }
    }
    assert_eq!(s["scrub"]["encrypted_fields"], serde_json::json!(encrypted));
    assert_eq!(
        s["scrub"]["key_id"],
        serde_json::json!(text(db, &q("key_id"), id).await)
    );
    assert_eq!(
        s["categorise"]["category"],
        text(db, &q("category"), id).await.expect("category")
    );
    assert_eq!(
        s["risk"]["findings"],
        json(&text(db, &q("findings"), id).await.expect("findings"))
    );
    let d = |col: &str| format!("SELECT {col}{{t}} FROM decision_log WHERE transaction_id = $1");
    assert_eq!(
        s["govern"]["decision"],
        text(db, &d("result"), id).await.expect("result")
    );
    assert_eq!(
        s["govern"]["reasons"],
        json(&text(db, &d("reasons"), id).await.expect("reasons"))
    );
    assert_eq!(
        s["govern"]["policy_path"],
        text(db, &d("policy_path"), id).await.expect("path")
    );
    assert_eq!(
        s["govern"]["policy_version"],
        text(db, &d("policy_version"), id).await.expect("version")
    );

    let seq = int(
        db,
        "SELECT seq FROM decision_log WHERE transaction_id = $1",
        id,
    )
    .await;
    let log = &r["decision_log"];
    assert_eq!(log["seq"], seq);
    assert_eq!(
        log["row_hash"],
        text(db, &d("row_hash"), id).await.expect("hash")
    );
    assert_eq!(
        log["prev_hash"],
        text(db, &d("prev_hash"), id).await.expect("prev")
    );
    assert_eq!(log["chain"]["verified"], true, "{j}");
    assert_eq!(log["chain"]["through_seq"], seq);

    // The ledger range that covers the row, and the object on disk.
    let (start, end): (i64, i64) = on_db!(db, s => sqlx::query_as(
        "SELECT start_seq, end_seq FROM export_ledger WHERE start_seq < $1 AND end_seq >= $1 AND status = 'done'"
    ).bind(seq).fetch_one(s.pool()).await.expect("a done range covers the row"));
    let lake = &r["lake"];
    assert_eq!(lake["status"], "exported", "{j}");
    assert_eq!(lake["range"], serde_json::json!([start, end]));
    let objects: String = match db {
        Db::Sqlite(s) => {
            sqlx::query_scalar("SELECT objects FROM export_ledger WHERE start_seq = $1")
                .bind(start)
                .fetch_one(s.pool())
                .await
                .expect("objects")
        }
        Db::Pg(s) => {
            sqlx::query_scalar("SELECT objects::text FROM export_ledger WHERE start_seq = $1")
                .bind(start)
                .fetch_one(s.pool())
                .await
                .expect("objects")
        }
    };
    for key in ["object_key", "decision_log_object_key"] {
        let k = lake[key].as_str().expect("object key");
        assert!(
            json(&objects)
                .as_array()
                .expect("list")
                .iter()
                .any(|o| o == k),
            "{k} in {objects}"
        );
        assert!(
            run.dir.path().join("lakehouse").join(k).is_file(),
            "{k} on disk"
        );
    }
    assert!(lake["object_key"]
        .as_str()
        .is_some_and(|k| k.starts_with(&format!("table={table}/"))));
}

async fn every_path(url: Option<String>) {
    let run = prepare(url).await;
    let db = &run.db;

    // A transaction that had PII in its description and encrypted customer fields.
    let txn = first(
        db,
        "SELECT transaction_id FROM transactions WHERE pii_removed <> '[]' AND customer_name_enc IS NOT NULL \
         AND decision = 'allow' ORDER BY transaction_id LIMIT 1",
    )
    .await;
    let j = run.by_id(&txn);
    assert_eq!(j["path"], "transaction");
    assert_eq!(j["transaction_id"], txn.as_str());
    check_record(&run, &j, &txn, "transactions").await;
    let removed: BTreeSet<String> =
        serde_json::from_value(j["record"]["stages"]["scrub"]["pii_removed"].clone())
            .expect("kinds");
    let labelled: BTreeSet<String> = run
        .input
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["transaction_id"] == txn.as_str())
        .map(|v| {
            v["label"]["pii"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["kind"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !removed.is_empty() && !labelled.is_disjoint(&removed),
        "{removed:?} vs {labelled:?}"
    );
    assert_eq!(j["record"]["investigation"], Value::Null);
    assert_eq!(j["record"]["erasure"]["account_erased"], false);
    assert_eq!(j["record"]["erasure"]["record_pii"], "readable");
    assert_eq!(j["record"]["published"], serde_json::json!([]));
    assert_eq!(j["dead_letters"], serde_json::json!([]));
    assert_eq!(j["replays"], serde_json::json!([]));
    // The same record by its source position.
    let line = run.line_of(&txn) as usize;
    assert_eq!(run.at_line(line)["record"], j["record"]);

    // Quarantined.
    let denied = first(
        db,
        "SELECT transaction_id FROM quarantine ORDER BY transaction_id LIMIT 1",
    )
    .await;
    let j = run.by_id(&denied);
    assert_eq!(j["path"], "quarantine");
    check_record(&run, &j, &denied, "quarantine").await;
    assert_eq!(j["record"]["stages"]["govern"]["decision"], "deny");
    assert!(!j["record"]["stages"]["govern"]["reasons"]
        .as_array()
        .expect("reasons")
        .is_empty());

    // Reviewed: its investigation, as the workflow tables hold it.
    let review = first(
        db,
        "SELECT transaction_id FROM transactions WHERE decision = 'review' ORDER BY transaction_id LIMIT 1",
    )
    .await;
    let j = run.by_id(&review);
    check_record(&run, &j, &review, "transactions").await;
    let wf = format!("investigation:{review}");
    let inv = &j["record"]["investigation"];
    assert_eq!(inv["workflow_id"], wf.as_str());
    assert_eq!(
        inv["status"],
        text(
            db,
            "SELECT status FROM workflows WHERE workflow_id = $1",
            &wf
        )
        .await
        .expect("status")
    );
    let steps = int(
        db,
        "SELECT COUNT(*) FROM workflow_checkpoints WHERE workflow_id = $1",
        &wf,
    )
    .await;
    assert_eq!(inv["steps"].as_array().expect("steps").len() as i64, steps);
    if run.url.is_some() {
        assert!(steps > 0, "the worker ran the investigation");
    }
    let text_form = run.lineage(&["--transaction-id", &review, "--format", "text"]);
    assert!(text_form.status.success());
    let t = String::from_utf8_lossy(&text_form.stdout);
    let seq = j["record"]["decision_log"]["seq"].as_i64().expect("seq");
    for part in [
        "Path: transaction".to_owned(),
        format!("hash chain verified from genesis through seq {seq}"),
        format!("file {}, line {}", run.file.display(), run.line_of(&review)),
        format!("Investigation {wf}"),
        "exported in range (".to_owned(),
    ] {
        assert!(t.contains(&part), "{part:?} missing from:\n{t}");
    }

    // Dead letters: by id (an invalid record keeps its id) and by source position.
    let n = GENERATED;
    let j = run.by_id("invalid-1");
    assert_eq!(j["path"], "dead_letter");
    assert_eq!(j["record"], Value::Null);
    let d = &j["dead_letters"][0];
    assert_eq!(
        d["reason"],
        text(
            db,
            "SELECT reason FROM dead_letters WHERE transaction_id = $1",
            "invalid-1"
        )
        .await
        .expect("reason")
    );
    assert_eq!(d["reason"], "invalid_field");
    assert_eq!(d["source"]["offset"], n as i64 + 2);
    assert!(d["committed_at"].is_string(), "{j}");
    let j = run.at_line(n + 1);
    assert_eq!(j["path"], "dead_letter");
    assert_eq!(j["transaction_id"], Value::Null);
    assert_eq!(j["dead_letters"][0]["reason"], "bad_json");
    assert_eq!(j["dead_letters"][0]["source"]["offset"], n as i64 + 1);
    assert_eq!(j["dead_letters"].as_array().map(Vec::len), Some(1));

    // A replay: line n+3 repeats line 5. The original, and where it was seen again.
    let replayed = json(run.input.lines().nth(4).expect("line 5"))["transaction_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let j = run.by_id(&replayed);
    assert_eq!(j["record"]["source"]["offset"], 5);
    assert_eq!(j["replays"].as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(j["replays"][0]["position"]["offset"], n as i64 + 3);
    assert_eq!(
        int(
            db,
            "SELECT COUNT(*) FROM record_replays WHERE transaction_id = $1",
            &replayed
        )
        .await,
        1
    );
    let j = run.at_line(n + 3);
    assert_eq!(j["path"], "replay");
    assert_eq!(j["transaction_id"], replayed.as_str());
    assert_eq!(j["record"]["source"]["offset"], 5);

    // A reused id: the duplicate is a dead letter; the original stays.
    let reused = json(run.input.lines().nth(5).expect("line 6"))["transaction_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let j = run.by_id(&reused);
    assert_ne!(j["path"], "dead_letter");
    assert_eq!(j["record"]["source"]["offset"], 6);
    assert_eq!(j["dead_letters"][0]["reason"], "duplicate_id");
    assert_eq!(j["dead_letters"][0]["source"]["offset"], n as i64 + 4);
    let j = run.at_line(n + 4);
    assert_eq!(j["path"], "dead_letter");
    assert_eq!(j["dead_letters"][0]["reason"], "duplicate_id");
    assert_eq!(
        j["record"]["source"]["offset"], 6,
        "the original it repeats"
    );

    // Published: one message acknowledged at a partition and offset, one still waiting.
    let src = format!("file:{}", run.file.display());
    let line = run.line_of(&txn).to_string();
    for topic in ["processed", "alerts"] {
        let headers = serde_json::json!({
            "pfm-source": src, "pfm-source-partition": "0", "pfm-source-offset": line,
            "pfm-decision": "allow",
        })
        .to_string();
        on_db!(db, s => {
            sqlx::query("INSERT INTO outbox (topic, message_key, payload, headers) VALUES ($1, 'k', '{}', $2)")
                .bind(topic)
                .bind(&headers)
                .execute(s.pool())
                .await
                .expect("outbox row");
        });
    }
    on_db!(db, s => {
        let pending = s.outbox_pending(10).await.expect("pending");
        let processed = pending.iter().find(|e| e.topic == "processed").expect("processed");
        let marked = s
            .outbox_mark_sent(&[(processed.id, SentTo { partition: 2, floor: 40 })])
            .await
            .expect("mark");
        assert_eq!(marked, vec![processed.id]);
        s.outbox_settle(&[Delivered { id: processed.id, offset: 41 }], &[])
            .await
            .expect("settle");
    });
    let j = run.by_id(&txn);
    let published = j["record"]["published"].as_array().expect("published");
    assert_eq!(published.len(), 2, "{j}");
    assert_eq!(
        (
            published[0]["topic"].as_str(),
            published[0]["partition"].as_i64(),
            published[0]["offset"].as_i64()
        ),
        (Some("processed"), Some(2), Some(41))
    );
    assert_eq!(
        int(
            db,
            "SELECT out_offset FROM publications WHERE topic = $1",
            "processed"
        )
        .await,
        41
    );
    assert_eq!(
        (
            published[1]["topic"].as_str(),
            published[1]["offset"].as_i64()
        ),
        (Some("alerts"), None)
    );

    // An erased account: erased, its key destroyed, the record's PII shredded, none shown.
    let (account, key): (String, String) = on_db!(db, s => sqlx::query_as(
        "SELECT account_id, key_id FROM transactions WHERE key_id IS NOT NULL AND transaction_id <> $1 \
         ORDER BY transaction_id LIMIT 1"
    ).bind(&txn).fetch_one(s.pool()).await.expect("an account with a key"));
    let victim = text(
        db,
        "SELECT transaction_id FROM transactions WHERE key_id = $1 LIMIT 1",
        &key,
    )
    .await
    .expect("its record");
    let erase = common::pipeline_cmd(run.dir.path(), run.url.as_deref())
        .args(["erase", "--account", &account])
        .output()
        .expect("erase");
    assert!(
        erase.status.success(),
        "{}",
        String::from_utf8_lossy(&erase.stderr)
    );
    let j = run.by_id(&victim);
    let e = &j["record"]["erasure"];
    assert_eq!(e["account_erased"], true, "{j}");
    assert_eq!(e["destroyed_key_ids"], serde_json::json!([key]));
    assert_eq!(e["record_pii"], "shredded");
    let erased_at = ts(
        db,
        "SELECT erased_at FROM erasures WHERE account_id = $1",
        &account,
    )
    .await;
    assert_eq!(
        parse(e["erased_at"].as_str().expect("erased_at")),
        erased_at
    );

    // Unknown records: exit 1 with a message naming what was asked.
    for args in [
        ["--transaction-id", "no-such-record"],
        ["--source-position", "no-such-topic:0:1"],
    ] {
        let out = run.lineage(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("no record found for") && err.contains(&args[1][..8]),
            "{err}"
        );
    }
    let out = run.lineage(&["--source-position", "nonsense"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("topic:partition:offset"));

    assert_no_plaintext_pii(&run);
}

/// No answer holds a plaintext PII value of the input: customer fields or the PII hidden in
/// descriptions.
fn assert_no_plaintext_pii(run: &Run) {
    let printed = run.printed.borrow();
    let mut checked = 0;
    for (_, (_, fields)) in common::keys::plaintext_by_id(&run.input) {
        for v in fields.values().filter(|v| v.len() >= 8) {
            assert!(
                !printed.contains(v.as_str()),
                "plaintext PII in an answer: {v}"
            );
            checked += 1;
        }
    }
    for v in run
        .input
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        for p in v["label"]["pii"].as_array().into_iter().flatten() {
            if let Some(t) = p["text"].as_str().filter(|t| t.len() >= 8) {
                assert!(!printed.contains(t), "description PII in an answer: {t}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100, "only {checked} PII values checked");
}

/// Tampering with a decision-log row before a record's row breaks its journey's chain;
/// tampering after it does not (the chain is verified up to the record).
async fn tamper(url: Option<String>) {
    let run = prepare(url).await;
    let db = &run.db;
    let (early, late): (String, String) = on_db!(db, s => sqlx::query_as(
        "SELECT (SELECT transaction_id FROM decision_log WHERE seq = 3), \
                (SELECT transaction_id FROM decision_log WHERE seq = 20)"
    ).fetch_one(s.pool()).await.expect("ids"));
    assert_eq!(
        run.by_id(&late)["record"]["decision_log"]["chain"]["verified"],
        true
    );
    match db {
        Db::Sqlite(s) => {
            sqlx::query("DROP TRIGGER decision_log_no_update")
                .execute(s.pool())
                .await
                .expect("drop the guard");
            sqlx::query("UPDATE decision_log SET policy_version = 'forged' WHERE seq = 10")
                .execute(s.pool())
                .await
                .expect("tamper");
        }
        Db::Pg(s) => {
            sqlx::query("ALTER TABLE decision_log DISABLE TRIGGER decision_log_no_update")
                .execute(s.pool())
                .await
                .expect("disable the guard");
            sqlx::query("UPDATE decision_log SET policy_version = 'forged' WHERE seq = 10")
                .execute(s.pool())
                .await
                .expect("tamper");
        }
    }
    let j = run.by_id(&late);
    let chain = &j["record"]["decision_log"]["chain"];
    assert_eq!(chain["verified"], false, "{j}");
    assert_eq!(chain["first_broken_seq"], 10);
    assert_eq!(chain["through_seq"], 20);
    let t = run.lineage(&["--transaction-id", &late, "--format", "text"]);
    assert!(String::from_utf8_lossy(&t.stdout).contains("HASH CHAIN BROKEN at seq 10"));
    let j = run.by_id(&early);
    assert_eq!(
        j["record"]["decision_log"]["chain"]["verified"], true,
        "rows before it are intact"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_path_on_sqlite() {
    every_path(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_path_on_postgres() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    every_path(Some(url)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_row_before_the_record_fails_its_chain_on_sqlite() {
    tamper(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tampered_row_before_the_record_fails_its_chain_on_postgres() {
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    tamper(Some(url)).await;
}

#[test]
fn a_journey_needs_a_record_to_follow() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = common::pipeline_cmd(dir.path(), None)
        .arg("lineage")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--transaction-id") && err.contains("--source-position"),
        "{err}"
    );
}
