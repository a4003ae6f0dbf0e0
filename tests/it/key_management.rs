//! KEK rotation with a key ring, and `pipeline reencrypt`, against the real PostgreSQL
//! started by scripts/test.sh. Readability is checked by decrypting every stored PII field
//! with the library's key ring and comparing it with the plaintext of the input.

use crate::common;

use crate::common::keys::{key, plaintext_by_id, stored_ciphertexts};
use crate::common::{fresh_migrated_pg_database, generated_input, pipeline_cmd};
use pfm::crypto::{key_id_of, KekRing};
use pfm::store::{KeyStore, PgStore};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

type Expected = HashMap<String, (String, BTreeMap<&'static str, String>)>;

const K1: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // pragma: allowlist secret (a test-only key)
const K2: &str = "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA="; // pragma: allowlist secret (a test-only key)
const K3: &str = "S2V5VGhyZWVLZXlUaHJlZUtleVRocmVlS2V5VGhyZWU=";

/// Decrypts every stored field with `ring` and checks it against the input's plaintext;
/// returns how many fields were checked.
async fn assert_all_readable(store: &PgStore, ring: &KekRing, expected: &Expected) -> usize {
    let cts = stored_ciphertexts(store).await;
    let mut keys = HashMap::new();
    for (id, account, field, ct) in &cts {
        if !keys.contains_key(account) {
            let wrapped = store
                .data_key(account)
                .await
                .expect("read key")
                .unwrap_or_else(|| panic!("no data key for {account}"));
            let dk = ring
                .unwrap(&wrapped)
                .unwrap_or_else(|e| panic!("key of {account} unreadable: {e}"));
            keys.insert(account.clone(), dk);
        }
        let dk = &keys[account];
        assert_eq!(key_id_of(ct), Some(dk.key_id()));
        let plain = dk
            .decrypt(ct, &format!("{account}/{field}"))
            .unwrap_or_else(|e| panic!("{id}/{field}: {e}"));
        let (exp_account, exp_fields) = &expected[id];
        assert_eq!(exp_account, account);
        assert_eq!(exp_fields.get(field), Some(&plain), "{id}/{field}");
    }
    cts.len()
}

async fn kek_ids(store: &PgStore) -> BTreeMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT kek_id, count(*) FROM data_keys GROUP BY kek_id")
        .fetch_all(store.pool())
        .await
        .expect("kek ids")
        .into_iter()
        .collect()
}

/// A `run --input` in-process (`pfm::app::App`): the keys, not the process, are under test.
async fn run_input(
    dir: &std::path::Path,
    url: &str,
    env: &[(&str, &str)],
    input: &str,
) -> Result<pfm::app::Summary, pfm::app::AppError> {
    let path = dir.join(format!("in-{}.jsonl", rand::random::<u32>()));
    std::fs::write(&path, input).expect("write input");
    let mut pipeline = common::in_process::InProcess::new(dir, Some(url));
    for (k, v) in env {
        pipeline = pipeline.env(k, *v);
    }
    pipeline.run_file(&path).await
}

fn reencrypt(dir: &std::path::Path, url: &str, env: &[(&str, &str)]) -> (bool, Value) {
    let mut cmd = pipeline_cmd(dir, Some(url));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.arg("reencrypt").output().expect("reencrypt");
    // Logs share stdout; the report is the last line.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report = serde_json::from_str(last).unwrap_or_else(|e| {
        panic!(
            "reencrypt printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.success(), report)
}

/// Same records, each moved to an account that already exists (so its key is under K1).
fn reuse_accounts(input: &str, accounts: &[String], prefix: &str) -> String {
    input
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).expect("json");
            v["transaction_id"] = Value::from(format!("{prefix}-{i}"));
            if i % 2 == 0 {
                v["account_id"] = Value::from(accounts[i % accounts.len()].clone());
            }
            v.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kek_rotation_mid_run_keeps_every_record_readable_and_reencrypt_moves_old_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let store = PgStore::connect(&url, 2).await.expect("connect");
    let first = generated_input(600, 71);
    run_input(dir.path(), &url, &[("ENCRYPTION_KEY", K1)], &first)
        .await
        .expect("the first run");
    let old_accounts: Vec<String> = plaintext_by_id(&first)
        .into_values()
        .map(|(a, _)| a)
        .collect();

    // The rotation: new records for old and new accounts, with K1 only in the ring.
    let second = reuse_accounts(&generated_input(600, 72), &old_accounts, "rot");
    let rotated = [("ENCRYPTION_KEY", K2), ("ENCRYPTION_KEY_PREVIOUS", K1)];
    run_input(dir.path(), &url, &rotated, &second)
        .await
        .expect("the run after the rotation");

    let mut expected = plaintext_by_id(&first);
    expected.extend(plaintext_by_id(&second));
    let ring = KekRing::new(&key(K2), &[key(K1)]);
    let by_kek = kek_ids(&store).await;
    println!("data keys by KEK after the rotated run: {by_kek:?}");
    assert_eq!(by_kek.len(), 2, "keys under both KEKs: {by_kek:?}");
    let checked = assert_all_readable(&store, &ring, &expected).await;
    println!("fields decrypted with the ring (K2 + previous K1): {checked}");
    assert!(checked > 600, "checked {checked}");

    // Without K1 in the ring, the old accounts' records cannot be processed: fail closed.
    let third = reuse_accounts(&generated_input(50, 73), &old_accounts, "nok1");
    let stderr = match run_input(dir.path(), &url, &[("ENCRYPTION_KEY", K2)], &third).await {
        Ok(s) => panic!("a key under an unknown KEK must stop the run: {s:?}"),
        Err(e) => format!("{e}"),
    };
    assert!(stderr.contains("cannot be unwrapped"), "{stderr}");
    assert!(
        !stderr.contains(K1) && !stderr.contains(K2),
        "no key material in errors"
    );

    // A KEK that wrapped nothing is reported as unreadable, not half-applied.
    let (ok, report) = reencrypt(dir.path(), &url, &[("ENCRYPTION_KEY", K3)]);
    assert!(!ok);
    assert_eq!(report["unreadable"], report["data_keys"], "{report}");
    assert_eq!(report["rewrapped"], 0);

    // The failed run still stored keys for its new accounts (under K2): count again.
    let by_kek = kek_ids(&store).await;
    let (ok, report) = reencrypt(dir.path(), &url, &rotated);
    println!("reencrypt: {report}");
    assert!(ok, "{report}");
    assert_eq!(report["unreadable"], 0);
    assert_eq!(report["data_keys"], by_kek.values().sum::<i64>());
    let k1_keys = by_kek
        .get(KekRing::new(&key(K1), &[]).current().id())
        .copied()
        .unwrap_or(0);
    assert!(k1_keys > 0);
    assert_eq!(report["rewrapped"], k1_keys);
    assert_eq!(kek_ids(&store).await.len(), 1, "every key under K2 now");

    // K1 can now leave the ring: every record is still readable with K2 alone.
    let only_k2 = KekRing::new(&key(K2), &[]);
    assert_eq!(
        assert_all_readable(&store, &only_k2, &expected).await,
        checked
    );
    let (ok, again) = reencrypt(dir.path(), &url, &[("ENCRYPTION_KEY", K2)]);
    assert!(ok && again["rewrapped"] == 0, "idempotent: {again}");
    run_input(dir.path(), &url, &[("ENCRYPTION_KEY", K2)], &third)
        .await
        .expect("the run with K2 alone after reencrypt");
}
