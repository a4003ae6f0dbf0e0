//! GDPR erasure by crypto-shredding, end to end against the real PostgreSQL, Kafka broker
//! (tansu) and the local Parquet lake: `pipeline erase --account` destroys the account's
//! data key while a replica is running, after which every ciphertext of that account in the
//! database, the lake and the published topic is unreadable, its plaintext is nowhere, the
//! running replica stops using the destroyed key, and other accounts are untouched.

use crate::common;

use crate::common::kafka as k;
use crate::common::keys::{
    key, lake_strings, plaintext_by_id, published_ciphertexts, stored_ciphertexts,
};
use pfm::crypto::{key_id_of, KekRing};
use pfm::store::{KeyStore, PgStore};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

async fn count(store: &PgStore, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sql)
        .fetch_one(store.pool())
        .await
        .expect(sql)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erase_shreds_an_accounts_pii_in_database_lake_and_topic_while_running() {
    let Some(bootstrap) = k::bootstrap() else {
        return;
    };
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let store = PgStore::connect(&url, 2).await.expect("connect");
    let processed = k::unique("erase-processed");
    let alerts = k::unique("erase-alerts");
    k::create_topic(&bootstrap, &processed, 1);
    k::create_topic(&bootstrap, &alerts, 1);

    let before = common::generated_input(400, 81);
    let plain = plaintext_by_id(&before);
    // The subject: the account with the most PII in the first part.
    let mut per_account: HashMap<&str, usize> = HashMap::new();
    for (account, fields) in plain.values() {
        *per_account.entry(account).or_default() += fields.len();
    }
    let (subject, _) = per_account
        .iter()
        .max_by_key(|(a, n)| (**n, std::cmp::Reverse(**a)))
        .expect("accounts");
    let subject = subject.to_string();
    let subject_plain: Vec<String> = plain
        .values()
        .filter(|(a, _)| *a == subject)
        .flat_map(|(_, f)| f.values().cloned())
        .filter(|v| v.len() >= 6)
        .collect();
    assert!(!subject_plain.is_empty());
    // After the erasure: new records for the same subject, each with PII.
    let after: String = common::generated_input(100, 82)
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).expect("json");
            v["transaction_id"] = Value::from(format!("after-{i}"));
            if i % 3 == 0 {
                v["account_id"] = Value::from(subject.clone());
                v["customer_name"] = Value::from(format!("Renewed Customer {i}"));
            }
            v.to_string() + "\n"
        })
        .collect();

    let mut child = common::pipeline_cmd(dir.path(), Some(&url))
        .env("BATCH_SIZE", "100")
        .env("ENABLE_S3_LAKEHOUSE_EXPORT", "true")
        .env("KAFKA_BOOTSTRAP_SERVERS", &bootstrap)
        .env("ENABLE_KAFKA_PUBLISH", "true")
        .env("KAFKA_PUBLISH_TOPIC", &processed)
        .env("KAFKA_ALERTS_TOPIC", &alerts)
        .env("KAFKA_PRODUCER_PROPERTIES", "batch.num.messages=1")
        .args(["run", "--input", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(before.as_bytes()).expect("feed");
    stdin.flush().expect("flush");
    let mut committed = 0;
    for _ in 0..300 {
        committed = count(
            &store,
            "SELECT (SELECT count(*) FROM transactions) + (SELECT count(*) FROM quarantine) + (SELECT count(*) FROM dead_letters)",
        )
        .await;
        if committed == 400 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        committed, 400,
        "first part committed by the running replica"
    );
    let old_key = store
        .data_key(&subject)
        .await
        .expect("key")
        .expect("subject has a data key");

    let out = common::pipeline_cmd(dir.path(), Some(&url))
        .args(["erase", "--account", &subject])
        .output()
        .expect("erase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or_default()).expect("report");
    println!("erase: {report}");
    assert_eq!(report["destroyed_key"], old_key.key_id.as_str());

    stdin.write_all(after.as_bytes()).expect("feed");
    drop(stdin);
    let status = child.wait().expect("wait");
    assert!(status.success(), "run exits 0");

    let ring = KekRing::new(&key(common::TEST_KEY), &[]);
    // Database: the subject's old ciphertexts remain, but no key can open them.
    let db = stored_ciphertexts(&store).await;
    let shredded: Vec<_> = db
        .iter()
        .filter(|(_, _, _, ct)| key_id_of(ct) == Some(old_key.key_id.as_str()))
        .collect();
    assert_eq!(
        count(
            &store,
            &format!(
                "SELECT count(*) FROM data_keys WHERE key_id = '{}'",
                old_key.key_id
            )
        )
        .await,
        0,
        "the destroyed key is gone"
    );
    let new_key = store
        .data_key(&subject)
        .await
        .expect("key")
        .expect("records after the erasure got a new key");
    assert_ne!(new_key.key_id, old_key.key_id);
    let new_dk = ring.unwrap(&new_key).expect("unwrap new key");
    for (id, account, field, ct) in &shredded {
        assert_eq!(account, &subject, "{id}");
        assert!(new_dk.decrypt(ct, &format!("{account}/{field}")).is_err());
    }
    // The running replica dropped its cached key: the subject's new records are readable
    // with the new key and none uses the destroyed one.
    let after_plain = plaintext_by_id(&after);
    let mut renewed = 0;
    let mut others = 0;
    let mut keys = HashMap::new();
    for (id, account, field, ct) in &db {
        if key_id_of(ct) == Some(old_key.key_id.as_str()) {
            assert!(
                !id.starts_with("after-"),
                "{id} was encrypted with the destroyed key"
            );
            continue;
        }
        if !keys.contains_key(account) {
            let w = store
                .data_key(account)
                .await
                .expect("key")
                .expect("key exists");
            keys.insert(account.clone(), ring.unwrap(&w).expect("unwrap"));
        }
        let text = keys[account]
            .decrypt(ct, &format!("{account}/{field}"))
            .unwrap_or_else(|e| panic!("{id}/{field} unreadable: {e}"));
        let expected = after_plain
            .get(id)
            .or_else(|| plain.get(id))
            .expect("known id");
        assert_eq!(expected.1.get(field), Some(&text));
        if account == &subject {
            renewed += 1;
        } else {
            others += 1;
        }
    }
    // The lake and the topic hold the same shredded ciphertexts, and nothing else opens them.
    let lake = lake_strings(&dir.path().join("lakehouse"));
    let lake_shredded = lake
        .iter()
        .filter(|(c, v)| c.ends_with("_enc") && key_id_of(v) == Some(old_key.key_id.as_str()))
        .count();
    let messages = k::dump(&python, &bootstrap, &processed);
    let topic_shredded = published_ciphertexts(&messages)
        .iter()
        .filter(|(_, _, ct)| key_id_of(ct) == Some(old_key.key_id.as_str()))
        .count();
    println!(
        "subject={subject} shredded ciphertexts: database={} lake={lake_shredded} topic={topic_shredded}; \
         readable after erasure: subject's new fields={renewed}, other accounts' fields={others}; \
         lake cells={} messages={}",
        shredded.len(),
        lake.len(),
        messages.len()
    );
    assert!(!shredded.is_empty());
    assert_eq!(
        lake_shredded,
        shredded.len(),
        "the lake holds the same ciphertexts"
    );
    assert_eq!(
        topic_shredded,
        shredded.len(),
        "the topic holds the same ciphertexts"
    );
    assert!(
        renewed >= 30 && others > 100,
        "renewed={renewed} others={others}"
    );
    // The subject's plaintext is nowhere.
    let db_text = common::database_text(&url).await;
    let topic_text: String = messages.iter().map(|m| m.to_string()).collect();
    for value in &subject_plain {
        assert!(
            !db_text.contains(value.as_str()),
            "database holds {value:?}"
        );
        assert!(
            !topic_text.contains(value.as_str()),
            "topic holds {value:?}"
        );
        assert!(
            lake.iter().all(|(_, v)| !v.contains(value.as_str())),
            "lake holds {value:?}"
        );
    }
    assert_eq!(
        count(
            &store,
            &format!("SELECT count(*) FROM erasures WHERE account_id = '{subject}'")
        )
        .await,
        1
    );
}
