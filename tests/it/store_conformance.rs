//! One suite, two stores: every test runs against SQLite and PostgreSQL.

use crate::common;

use chrono::{TimeZone, Utc};
use pfm::crypto::WrappedKey;
use pfm::store::*;

fn row(id: &str, decision: &str, amount: &str, offset: i64) -> TxnRow {
    TxnRow {
        digest: format!("digest-{id}-{amount}"),
        amount: amount.into(),
        description: Some("weekly [EMAIL]".into()),
        customer_name_enc: Some("v1:dk-1:abc".into()),
        key_id: Some("dk-1".into()),
        decision: decision.into(),
        decided_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 1).unwrap(),
        offset,
        ..common::sample_row(id)
    }
}

fn dead(offset: i64) -> DeadLetterRow {
    DeadLetterRow {
        source: "file:test".into(),
        partition: 0,
        offset,
        transaction_id: None,
        reason: "bad_json".into(),
        detail: "expected value".into(),
        payload: "{oops".into(),
        received_at: Utc::now(),
    }
}

fn batch(rows: Vec<TxnRow>, dead_letters: Vec<DeadLetterRow>, next: i64) -> CommitBatch {
    CommitBatch {
        rows,
        dead_letters,
        offsets: vec![OffsetRow {
            source: "file:test".into(),
            partition: 0,
            next_offset: next,
        }],
        detector_state: vec![("acct-1".into(), format!("{{\"n\":{next}}}"))],
        ..Default::default()
    }
}

async fn commit_replay_and_duplicates<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    s.migrate().await.expect("migrate is idempotent");
    s.check_schema().await.expect("schema current");
    let b = batch(
        vec![
            row("t1", "allow", "10", 1),
            row("t2", "review", "20", 2),
            row("t3", "deny", "30", 3),
        ],
        vec![dead(4)],
        5,
    );
    let o = s.commit(&b).await.expect("commit");
    assert_eq!(
        (o.transactions, o.quarantined, o.dead_letters, o.replays),
        (2, 1, 1, 0)
    );
    assert_eq!((o.allow, o.review, o.deny), (1, 1, 1));
    let c = s.counts().await.expect("counts");
    assert_eq!(
        (c.transactions, c.quarantine, c.dead_letters, c.decision_log),
        (2, 1, 1, 3)
    );

    // Re-delivery of the same batch (restart, rebalance, replay) changes nothing.
    let o = s.commit(&b).await.expect("replay");
    assert_eq!(
        (o.transactions, o.quarantined, o.dead_letters, o.replays),
        (0, 0, 0, 3)
    );
    assert_eq!(s.counts().await.expect("counts"), c);

    // Same id, different content, at a new position: a duplicate_id dead letter.
    let o = s
        .commit(&batch(vec![row("t1", "allow", "99", 6)], vec![], 7))
        .await
        .expect("dup");
    assert_eq!((o.transactions, o.duplicate_ids, o.dead_letters), (0, 1, 1));
    // Within one batch too: first wins, an identical copy is a replay, a changed one a dead letter.
    let o = s
        .commit(&batch(
            vec![
                row("t9", "allow", "1", 8),
                row("t9", "allow", "1", 9),
                row("t9", "allow", "2", 10),
            ],
            vec![],
            11,
        ))
        .await
        .expect("in-batch dups");
    assert_eq!((o.transactions, o.replays, o.duplicate_ids), (1, 1, 1));
    let c = s.counts().await.expect("counts");
    assert_eq!(
        (c.transactions, c.quarantine, c.dead_letters, c.decision_log),
        (3, 1, 3, 4)
    );

    let offsets = s.load_offsets("file:test").await.expect("offsets");
    assert_eq!(offsets.get(&0), Some(&11));
    assert!(s.load_offsets("other").await.expect("offsets").is_empty());
    let st = s
        .load_detector_state(&["acct-1".into(), "nobody".into()])
        .await
        .expect("state");
    assert_eq!(st, vec![("acct-1".to_owned(), "{\"n\":11}".to_owned())]);
    assert_eq!(
        audit_verify(s).await.expect("verify"),
        VerifyReport::Intact { rows: 4 }
    );
}

async fn data_keys_first_writer_wins<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    let k = |id: &str| WrappedKey {
        key_id: id.into(),
        kek_id: "kek-1".into(),
        wrapped: vec![1, 2, 3],
    };
    let got = s
        .get_or_create_data_keys(&[("a".into(), k("dk-a1"))])
        .await
        .expect("create");
    assert_eq!(got[0].1.key_id, "dk-a1");
    let got = s
        .get_or_create_data_keys(&[("a".into(), k("dk-a2")), ("b".into(), k("dk-b1"))])
        .await
        .expect("get");
    let mut ids: Vec<_> = got
        .iter()
        .map(|(a, w)| (a.clone(), w.key_id.clone()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![("a".into(), "dk-a1".into()), ("b".into(), "dk-b1".into())]
    );
}

async fn key_rotation_and_erasure<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    let old = pfm::crypto::KekRing::new(&[1u8; 32], &[]);
    let proposed: Vec<_> = (0..2500)
        .map(|i| {
            (
                format!("acct-{i:05}"),
                old.wrap(&pfm::crypto::DataKey::generate()),
            )
        })
        .collect();
    s.get_or_create_data_keys(&proposed).await.expect("create");
    assert_eq!(s.erasure_head().await.expect("head"), 0);
    // Rotation: every key (three pages) moves to the new KEK, once.
    let ring = pfm::crypto::KekRing::new(&[2u8; 32], &[[1u8; 32]]);
    let report = rewrap_all(s, &ring).await.expect("rewrap");
    assert_eq!(
        (report.data_keys, report.rewrapped, report.unreadable),
        (2500, 2500, 0)
    );
    let again = rewrap_all(s, &ring).await.expect("rewrap again");
    assert_eq!((again.rewrapped, again.already_current), (0, 2500));
    let moved = s
        .data_key("acct-00007")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(moved.kek_id, ring.current().id());
    assert_eq!(moved.key_id, proposed[7].1.key_id);
    // A stale replacement (the row changed meanwhile) is refused.
    assert!(!s
        .replace_wrapped_key("acct-00007", &proposed[7].1, &proposed[8].1)
        .await
        .expect("replace"));
    // Erasure: the key and the detector history go, the erasure is recorded, once.
    let erased = s.erase_account("acct-00007").await.expect("erase");
    assert_eq!(
        erased.key_id.as_deref(),
        Some(proposed[7].1.key_id.as_str())
    );
    assert!(s.data_key("acct-00007").await.expect("read").is_none());
    assert!(s
        .load_detector_state(&["acct-00007".to_owned()])
        .await
        .expect("state")
        .is_empty());
    let again = s.erase_account("acct-00007").await.expect("erase again");
    assert_eq!(again.key_id, None);
    let log = s.erasures_after(0).await.expect("erasures");
    assert_eq!(log.len(), 2);
    assert_eq!(s.erasure_head().await.expect("head"), log[1].0);
    assert!(s.erasures_after(log[1].0).await.expect("none").is_empty());
}

#[tokio::test]
async fn sqlite_key_rotation_and_erasure() {
    let (s, _d) = common::fresh_sqlite().await;
    key_rotation_and_erasure(&s).await;
}

#[tokio::test]
async fn postgres_key_rotation_and_erasure() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    key_rotation_and_erasure(&s).await;
}

async fn outbox_marks_fence_concurrent_relays<S: Store + LineageQueries>(s: &S) {
    s.migrate().await.expect("migrate");
    let mut b = batch(
        vec![row("o1", "allow", "10", 1), row("o2", "allow", "11", 2)],
        vec![],
        3,
    );
    b.publish = PublishTopics {
        processed: Some("processed".into()),
        alerts: None,
        dlq: None,
    };
    s.commit(&b).await.expect("commit");
    let pending = s.outbox_pending(10).await.expect("pending");
    assert_eq!(pending.len(), 2);
    assert!(pending.iter().all(|e| e.sent.is_none()));
    let plan: Vec<(i64, SentTo)> = pending
        .iter()
        .map(|e| {
            (
                e.id,
                SentTo {
                    partition: 0,
                    floor: 7,
                },
            )
        })
        .collect();
    let mut first = s.outbox_mark_sent(&plan).await.expect("mark");
    first.sort_unstable();
    assert_eq!(first, vec![pending[0].id, pending[1].id]);
    // A second relay marking the same rows gets none of them: it must not send them.
    assert!(s
        .outbox_mark_sent(&plan)
        .await
        .expect("mark again")
        .is_empty());
    let marked = s.outbox_pending(10).await.expect("pending");
    assert!(marked.iter().all(|e| e.sent
        == Some(SentTo {
            partition: 0,
            floor: 7
        })));
    assert!(
        marked.iter().all(|e| e.sent_seconds_ago < 30.0),
        "just marked: {marked:?}"
    );
    let delivered = Delivered {
        id: pending[0].id,
        offset: 42,
    };
    s.outbox_settle(&[delivered], &[pending[1].id])
        .await
        .expect("settle");
    let left = s.outbox_pending(10).await.expect("pending");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].id, pending[1].id);
    assert!(left[0].sent.is_none() && left[0].sent_seconds_ago.is_infinite());
    assert_eq!(s.outbox_backlog().await.expect("backlog"), 1);
    // Where the delivered message landed is kept; the other still waits in the outbox.
    let at = |offset| SourcePosition {
        source: "file:test".into(),
        partition: 0,
        offset,
    };
    let o1 = s.publications_of(&at(1)).await.expect("publications");
    assert_eq!(o1.len(), 1, "{o1:?}");
    assert_eq!(
        (o1[0].topic.as_str(), o1[0].partition, o1[0].offset),
        ("processed", Some(0), Some(42))
    );
    assert!(o1[0].published_at.is_some());
    let o2 = s.publications_of(&at(2)).await.expect("publications");
    assert_eq!(o2.len(), 1, "{o2:?}");
    assert_eq!(
        (o2[0].topic.as_str(), o2[0].partition, o2[0].offset),
        ("processed", None, None)
    );
}

#[tokio::test]
async fn sqlite_outbox_marks_fence_concurrent_relays() {
    let (s, _d) = common::fresh_sqlite().await;
    outbox_marks_fence_concurrent_relays(&s).await;
}

#[tokio::test]
async fn postgres_outbox_marks_fence_concurrent_relays() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    outbox_marks_fence_concurrent_relays(&s).await;
}

async fn schema_check_refuses_an_unmigrated_database<S: Store>(s: &S) {
    match s.check_schema().await {
        Err(StoreError::SchemaTooOld { found: 0, expected }) => assert!(expected >= 1),
        other => panic!("expected SchemaTooOld, got {other:?}"),
    }
}

/// Rows encoded ahead of the commit (PostgreSQL writes them with COPY) store exactly what
/// the row holds, and two replicas committing the same records at once store them once.
async fn encoded_ahead_and_concurrent_commits<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    let mut odd = row("e1", "allow", "10", 1);
    odd.description = Some("tab\there, new\nline, back\\slash, cr\r, \\N, \\.".into());
    let mut b = batch(vec![odd.clone(), row("e2", "deny", "20", 2)], vec![], 3);
    s.encode_ahead(&mut b);
    // A zombie and the partition's new owner commit the same batch concurrently.
    let (x, y) = tokio::join!(s.commit(&b), s.commit(&b));
    let (x, y) = (x.expect("first commit"), y.expect("second commit"));
    assert_eq!(
        (
            x.transactions + y.transactions,
            x.quarantined + y.quarantined,
            x.replays + y.replays,
            x.duplicate_ids + y.duplicate_ids
        ),
        (1, 1, 2, 0)
    );
    let c = s.counts().await.expect("counts");
    assert_eq!((c.transactions, c.quarantine, c.decision_log), (1, 1, 2));

    // Encoded ahead, but one of its rows is already stored: only the new one lands.
    // Year 0 (1 BC) is a valid timestamp; PostgreSQL's text input spells it "0001 … BC".
    let mut e3 = row("e3", "allow", "30", 4);
    e3.ts = Utc
        .with_ymd_and_hms(0, 2, 29, 12, 0, 0)
        .single()
        .expect("year 0");
    let mut later = batch(vec![row("e2", "deny", "20", 2), e3.clone()], vec![], 5);
    s.encode_ahead(&mut later);
    let o = s.commit(&later).await.expect("partly replayed");
    assert_eq!((o.transactions, o.quarantined, o.replays), (1, 0, 1));

    let range = s
        .export_claim(1, 100, true)
        .await
        .expect("claim")
        .expect("a range");
    let rows = s.export_rows(range).await.expect("rows");
    let stored: Vec<&TxnRow> = rows.transactions.iter().map(|(_, r)| r).collect();
    assert_eq!(stored.len(), 2);
    let e1 = stored
        .iter()
        .find(|r| r.transaction_id == "e1")
        .expect("e1 stored");
    assert_eq!(e1.description, odd.description);
    assert_eq!(e1.amount.parse::<f64>().ok(), Some(10.0));
    assert_eq!(e1.risk_score, odd.risk_score);
    let stored_e3 = stored
        .iter()
        .find(|r| r.transaction_id == "e3")
        .expect("e3 stored");
    assert_eq!(stored_e3.ts, e3.ts);
    assert_eq!(rows.quarantine.len(), 1);
    assert_eq!(
        audit_verify(s).await.expect("verify"),
        VerifyReport::Intact { rows: 3 }
    );
}

#[tokio::test]
async fn sqlite_encoded_ahead_and_concurrent_commits() {
    let (s, _d) = common::fresh_sqlite().await;
    encoded_ahead_and_concurrent_commits(&s).await;
}

#[tokio::test]
async fn postgres_encoded_ahead_and_concurrent_commits() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    encoded_ahead_and_concurrent_commits(&s).await;
}

#[tokio::test]
async fn sqlite_commit_replay_and_duplicates() {
    let (s, _d) = common::fresh_sqlite().await;
    commit_replay_and_duplicates(&s).await;
}

#[tokio::test]
async fn postgres_commit_replay_and_duplicates() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    commit_replay_and_duplicates(&s).await;
}

#[tokio::test]
async fn sqlite_data_keys_first_writer_wins() {
    let (s, _d) = common::fresh_sqlite().await;
    data_keys_first_writer_wins(&s).await;
}

#[tokio::test]
async fn postgres_data_keys_first_writer_wins() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    data_keys_first_writer_wins(&s).await;
}

#[tokio::test]
async fn sqlite_schema_check() {
    let (s, _d) = common::fresh_sqlite().await;
    schema_check_refuses_an_unmigrated_database(&s).await;
}

#[tokio::test]
async fn postgres_schema_check() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    schema_check_refuses_an_unmigrated_database(&s).await;
}

#[tokio::test]
async fn sqlite_decision_log_is_append_only_and_tamper_evident() {
    let (s, _d) = common::fresh_sqlite().await;
    s.migrate().await.expect("migrate");
    s.commit(&batch(
        vec![row("t1", "allow", "1", 1), row("t2", "deny", "2", 2)],
        vec![],
        3,
    ))
    .await
    .expect("commit");
    let upd = sqlx::query("UPDATE decision_log SET result = 'allow' WHERE seq = 2")
        .execute(s.pool())
        .await;
    assert!(upd.is_err(), "the trigger must refuse updates");
    // An attacker with DDL rights drops the guard and rewrites history: verify catches it.
    sqlx::query("DROP TRIGGER decision_log_no_update")
        .execute(s.pool())
        .await
        .expect("drop");
    sqlx::query("UPDATE decision_log SET result = 'allow' WHERE seq = 2")
        .execute(s.pool())
        .await
        .expect("tamper");
    match audit_verify(&s).await.expect("verify") {
        VerifyReport::Broken { seq, .. } => assert_eq!(seq, 2),
        other => panic!("tampering not detected: {other:?}"),
    }
}

#[tokio::test]
async fn postgres_decision_log_is_append_only_and_tamper_evident() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    s.migrate().await.expect("migrate");
    s.commit(&batch(
        vec![
            row("t1", "allow", "1", 1),
            row("t2", "deny", "2", 2),
            row("t3", "allow", "3", 3),
        ],
        vec![],
        4,
    ))
    .await
    .expect("commit");
    assert!(sqlx::query("DELETE FROM decision_log WHERE seq = 2")
        .execute(s.pool())
        .await
        .is_err());
    sqlx::query("ALTER TABLE decision_log DISABLE TRIGGER decision_log_no_update")
        .execute(s.pool())
        .await
        .expect("disable");
    sqlx::query("DELETE FROM decision_log WHERE seq = 2")
        .execute(s.pool())
        .await
        .expect("tamper");
    match audit_verify(&s).await.expect("verify") {
        VerifyReport::Broken { seq, .. } => assert_eq!(seq, 3),
        other => panic!("removal not detected: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_concurrent_migrations_are_safe() {
    let Some(url) = common::fresh_pg_database().await else {
        return;
    };
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let s = PgStore::connect(&url, 2).await.expect("connect");
            s.migrate().await.map(|_| ())
        }));
    }
    for t in tasks {
        t.await
            .expect("join")
            .expect("every replica's migrate succeeds");
    }
    let s = PgStore::connect(&url, 1).await.expect("connect");
    s.check_schema()
        .await
        .expect("schema current after concurrent migrations");
}

async fn export_backlog_and_its_age<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    assert_eq!(
        s.export_oldest_waiting().await.expect("age"),
        None,
        "nothing waits yet"
    );
    s.commit(&batch(
        vec![row("t1", "allow", "1", 1), row("t2", "deny", "2", 2)],
        vec![],
        3,
    ))
    .await
    .expect("commit");
    assert_eq!(s.export_backlog().await.expect("backlog"), 2);
    let oldest = s
        .export_oldest_waiting()
        .await
        .expect("age")
        .expect("something waits");
    assert_eq!(oldest, Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 1).unwrap());
    let range = s
        .export_claim(1, 100, false)
        .await
        .expect("claim")
        .expect("a range");
    s.export_done(range, &[], 2).await.expect("done");
    assert_eq!(s.export_backlog().await.expect("backlog"), 0);
    assert_eq!(s.export_oldest_waiting().await.expect("age"), None);
}

#[tokio::test]
async fn sqlite_export_backlog_and_its_age() {
    let (s, _d) = common::fresh_sqlite().await;
    export_backlog_and_its_age(&s).await;
}

#[tokio::test]
async fn postgres_export_backlog_and_its_age() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    export_backlog_and_its_age(&s).await;
}
