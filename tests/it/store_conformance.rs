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
    s.export_done(range, &[], 2, None).await.expect("done");
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

fn lineage_run(id: &str, parent: Option<&str>, kind: &str) -> OpenRun {
    OpenRun {
        run_id: id.into(),
        parent_run_id: parent.map(Into::into),
        kind: kind.into(),
        start: LineageEvent {
            key: "run:test/pipeline.run".into(),
            json: format!(r#"{{"start":"{id}"}}"#),
        },
    }
}

/// A step whose render records what the transaction actually closed.
fn lineage_step(
    close: &[&str],
    open: Vec<OpenRun>,
    seen: &std::sync::Arc<std::sync::Mutex<Vec<ClosedRun>>>,
) -> LineageStep {
    let seen = seen.clone();
    LineageStep {
        close: close.iter().map(|s| (*s).to_owned()).collect(),
        open,
        render: Box::new(move |closed: &[ClosedRun]| {
            seen.lock().expect("lock").extend(closed.iter().cloned());
            closed
                .iter()
                .map(|c| LineageEvent {
                    key: c.run.start.key.clone(),
                    json: format!(r#"{{"end":"{}"}}"#, c.run.run_id),
                })
                .collect()
        }),
        route: LineageRoute {
            relay: true,
            kafka_topic: Some("lineage".into()),
        },
    }
}

async fn lineage_runs_close_once_with_their_tallies<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let opened = s
        .lineage_apply(lineage_step(
            &[],
            vec![
                lineage_run("p", None, "process"),
                lineage_run("i", Some("p"), "interval"),
            ],
            &seen,
        ))
        .await
        .expect("open");
    assert_eq!(opened, 2, "two START events");
    let open = s.lineage_open_runs().await.expect("open runs");
    assert_eq!(open.len(), 2);
    let interval = open
        .iter()
        .find(|r| r.run_id == "i")
        .expect("the interval is open");
    assert_eq!(interval.start.json, r#"{"start":"i"}"#);
    assert_eq!(interval.parent_run_id.as_deref(), Some("p"));
    assert_eq!(interval.kind, "interval");
    let target = |records_in| {
        Some(LineageTarget {
            run_id: "i".into(),
            records_in,
            bytes_in: 10 * records_in,
        })
    };
    let mut b = batch(
        vec![row("t1", "allow", "1", 1), row("t2", "deny", "2", 2)],
        vec![dead(3)],
        4,
    );
    b.lineage = target(3);
    s.commit(&b).await.expect("commit");
    let mut b = batch(vec![row("t3", "allow", "3", 4)], vec![], 5);
    b.lineage = target(1);
    s.commit(&b).await.expect("commit");
    // A replay is read (input) but stores nothing.
    s.commit(&b).await.expect("replay");

    let first = s
        .lineage_apply(lineage_step(&["i"], vec![], &seen))
        .await
        .expect("close");
    let again = s
        .lineage_apply(lineage_step(&["i"], vec![], &seen))
        .await
        .expect("close again");
    assert_eq!((first, again), (1, 0), "a run gets one terminal event");
    let closed = seen.lock().expect("lock").clone();
    assert_eq!(closed.len(), 1);
    let rows = |item: &str| {
        closed[0]
            .tallies
            .iter()
            .find(|t| t.item == item)
            .map(|t| t.rows)
    };
    assert_eq!(rows("table:transactions"), Some(2));
    assert_eq!(rows("table:quarantine"), Some(1));
    assert_eq!(rows("table:decision_log"), Some(3));
    assert_eq!(rows("table:dead_letters"), Some(1));
    assert_eq!(rows("reason:dead_letters:bad_json"), Some(1));
    assert_eq!(rows("input"), Some(5));
    assert!(closed[0].tallies.iter().all(|t| t.bytes >= 0));

    // The relay's queue holds the events in order; the Kafka outbox got the same ones.
    let pending = s.lineage_pending(10).await.expect("pending");
    let texts: Vec<&str> = pending.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(
        texts,
        [r#"{"start":"p"}"#, r#"{"start":"i"}"#, r#"{"end":"i"}"#]
    );
    assert_eq!(s.outbox_backlog().await.expect("outbox"), 3);
    s.lineage_settle(&[pending[0].0], &[(pending[1].0, "HTTP 400: bad".into())])
        .await
        .expect("settle");
    assert_eq!(
        s.lineage_backlog().await.expect("backlog"),
        1,
        "refused ones wait aside"
    );
    let left = s.lineage_pending(10).await.expect("pending");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].1, r#"{"end":"i"}"#);
    let open = s.lineage_open_runs().await.expect("open runs");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].run_id, "p");
    assert!(s.lineage_run_lease("p").await.expect("lease").is_some());
}

#[tokio::test]
async fn sqlite_lineage_runs_close_once_with_their_tallies() {
    let (s, _d) = common::fresh_sqlite().await;
    lineage_runs_close_once_with_their_tallies(&s).await;
}

#[tokio::test]
async fn postgres_lineage_runs_close_once_with_their_tallies() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    lineage_runs_close_once_with_their_tallies(&s).await;
}

// ---- the workflow role ----

fn at(h: u32, m: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, h, m, 0).unwrap()
}

fn wf_row(id: &str, account: &str, decision: &str, amount: &str, m: (u32, u32)) -> TxnRow {
    TxnRow {
        digest: format!("d-{id}"),
        account_id: account.into(),
        ts: at(m.0, m.1),
        decided_at: at(m.0, m.1),
        amount: amount.into(),
        decision: decision.into(),
        findings: r#"[{"detector":"velocity","score":0.6}]"#.into(),
        reasons: if decision == "review" {
            r#"["risk_velocity"]"#.into()
        } else {
            "[]".into()
        },
        ..common::sample_row(id)
    }
}

/// Two reviews (two investigations) on `acct-w`, with some history on it and another account.
async fn seed_workflows<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    let mut rows = vec![
        wf_row("h1", "acct-w", "allow", "40", (8, 0)),
        TxnRow {
            country: "FR".into(),
            ..wf_row("h2", "acct-w", "allow", "60", (8, 10))
        },
        wf_row("h3", "acct-w", "deny", "900", (8, 20)),
        TxnRow {
            currency: "USD".into(),
            ..wf_row("h4", "acct-o", "allow", "5", (8, 30))
        },
        wf_row("h5", "acct-o", "allow", "100", (8, 40)),
        wf_row("r1", "acct-w", "review", "2500.00", (10, 0)),
        TxnRow {
            currency: "GBP".into(),
            ..wf_row("r2", "acct-w", "review", "12.50", (10, 5))
        },
    ];
    for (i, r) in rows.iter_mut().enumerate() {
        r.offset = i as i64;
    }
    let dead_letter = DeadLetterRow {
        received_at: at(9, 0),
        ..dead(7)
    };
    let o = s
        .commit(&batch(rows, vec![dead_letter], 8))
        .await
        .expect("commit");
    assert_eq!(o.review, 2);
}

async fn workflow_reads<S: Store>(s: &S) {
    seed_workflows(s).await;
    let r1 = s
        .investigation_subject("r1")
        .await
        .expect("subject")
        .expect("r1 is a transaction");
    assert_eq!(
        (
            r1.account_id.as_str(),
            r1.ts,
            r1.amount,
            r1.amount_text.as_str()
        ),
        ("acct-w", at(10, 0), 2500.0, "2500")
    );
    assert_eq!((r1.currency.as_str(), r1.country.as_str()), ("EUR", "DE"));
    assert_eq!(r1.reasons, r#"["risk_velocity"]"#);
    let findings: serde_json::Value = serde_json::from_str(&r1.findings).expect("json");
    assert_eq!(findings[0]["detector"], "velocity");
    let r2 = s
        .investigation_subject("r2")
        .await
        .expect("r2")
        .expect("r2");
    assert_eq!(r2.amount_text, "12.5");
    assert!(
        s.investigation_subject("h3").await.expect("h3").is_none(),
        "quarantined"
    );

    // Strictly before 10:00: h1, h2 and the denied h3.
    let h = s
        .account_history("acct-w", at(0, 0), at(10, 0))
        .await
        .expect("history");
    let mean = (40.0 + 60.0 + 900.0) / 3.0;
    let var = [40.0f64, 60.0, 900.0]
        .iter()
        .map(|a| (a - mean).powi(2))
        .sum::<f64>()
        / 3.0;
    assert_eq!((h.transactions, h.reviews, h.denials), (3, 0, 1));
    assert!((h.mean_amount - mean).abs() < 1e-9, "{h:?}");
    assert!((h.stddev_amount - var.sqrt()).abs() < 1e-6, "{h:?}");
    assert_eq!(h.max_amount, 900.0);
    assert_eq!(h.countries, vec!["DE", "FR"]);
    let all = s
        .account_history("acct-w", at(0, 0), at(11, 0))
        .await
        .expect("history");
    assert_eq!((all.transactions, all.reviews), (5, 2));
    let none = s
        .account_history("acct-x", at(0, 0), at(11, 0))
        .await
        .expect("history");
    assert_eq!(none, HistoryRow::default());

    let mut counts = s
        .decision_counts(at(0, 0), at(11, 0))
        .await
        .expect("counts");
    counts.sort();
    let v1 = |r: &str, n| (r.to_owned(), "v1".to_owned(), n);
    assert_eq!(counts, vec![v1("allow", 4), v1("deny", 1), v1("review", 2)]);
    // Bucket i: at least edge i-1, below edge i (an amount on an edge goes up).
    let mut buckets = s
        .amount_buckets(at(0, 0), at(11, 0), &[10.0, 100.0, 1000.0])
        .await
        .expect("buckets");
    buckets.sort();
    let b = |i, c: &str, n| (i, c.to_owned(), n);
    assert_eq!(
        buckets,
        vec![
            b(0, "USD", 1),
            b(1, "EUR", 2),
            b(1, "GBP", 1),
            b(2, "EUR", 2),
            b(3, "EUR", 1)
        ]
    );
    assert_eq!(
        s.dead_letters_between(at(8, 0), at(10, 0))
            .await
            .expect("dead"),
        1
    );
    assert_eq!(
        s.dead_letters_between(at(9, 30), at(10, 0))
            .await
            .expect("dead"),
        0
    );
    // The band's low end is inside it, the high end outside; amounts in euros at the
    // rates given (acct-w's history is in EUR).
    let band = |low: f64, min_count: i64, rate: (&str, f64)| {
        let rates: std::collections::BTreeMap<String, f64> = [(rate.0.to_owned(), rate.1)].into();
        async move {
            s.accounts_in_band(at(0, 0), at(11, 0), (low, 900.0), min_count, &rates)
                .await
                .expect("band")
        }
    };
    assert_eq!(
        band(40.0, 2, ("EUR", 1.0)).await,
        vec![BandCount {
            account_id: "acct-w".into(),
            count: 2,
            min_amount: 40.0,
            max_amount: 60.0
        }]
    );
    assert!(band(40.0, 3, ("EUR", 1.0)).await.is_empty());
    // At another rate the same amounts are other euro values: 40 and 60 become 80 and 120,
    // both inside a band from 80.
    let doubled = band(80.0, 2, ("EUR", 2.0)).await;
    assert_eq!(
        doubled
            .iter()
            .map(|b| (b.min_amount, b.max_amount))
            .collect::<Vec<_>>(),
        vec![(80.0, 120.0)]
    );
    // Only currencies with a rate count: with USD alone, acct-o's 5 USD (4.60 EUR) is the
    // one amount left, and acct-w's EUR and GBP amounts have no euro value.
    let usd = band(0.0, 1, ("USD", 0.92)).await;
    assert_eq!(usd.len(), 1, "{usd:?}");
    assert_eq!((usd[0].account_id.as_str(), usd[0].count), ("acct-o", 1));
    assert!((usd[0].min_amount - 4.6).abs() < 1e-9, "{usd:?}");
}

#[tokio::test]
async fn sqlite_workflow_reads() {
    let (s, _d) = common::fresh_sqlite().await;
    workflow_reads(&s).await;
}

#[tokio::test]
async fn postgres_workflow_reads() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    workflow_reads(&s).await;
}

const LEASE: std::time::Duration = std::time::Duration::from_secs(30);

/// The LLM slots of `LLM_CLUSTER_CONCURRENCY` (decision 0015): taken up to the limit, fenced
/// on the holder, and free again once a dead holder's lease passes.
async fn llm_slots_expire_and_are_fenced<S: Store>(s: &S) {
    let lease = std::time::Duration::from_secs(1);
    s.migrate().await.expect("migrate");
    s.llm_slots_prepare(2).await.expect("prepare");
    s.llm_slots_prepare(2).await.expect("prepare is idempotent");
    assert_eq!(
        s.llm_slot_take(2, "a#0", lease).await.expect("take"),
        Some(0)
    );
    assert_eq!(
        s.llm_slot_take(2, "b#0", lease).await.expect("take"),
        Some(1)
    );
    assert_eq!(s.llm_slot_take(2, "c#0", lease).await.expect("full"), None);
    assert_eq!(s.llm_slots_held(2).await.expect("held"), 2);
    // Renewal and release are fenced on the holder.
    assert!(!s.llm_slot_renew(0, "c#0", lease).await.expect("renew"));
    assert!(!s.llm_slot_release(0, "c#0").await.expect("release"));
    assert!(s.llm_slot_release(1, "b#0").await.expect("release"));
    assert_eq!(
        s.llm_slot_take(2, "c#0", lease).await.expect("take"),
        Some(1)
    );
    // "a" dies: it stops renewing, "c" keeps renewing; only a's slot comes free.
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(450)).await;
        assert!(s.llm_slot_renew(1, "c#0", lease).await.expect("renew"));
    }
    assert_eq!(s.llm_slots_held(2).await.expect("held"), 1);
    assert_eq!(
        s.llm_slot_take(2, "d#0", lease).await.expect("take"),
        Some(0)
    );
    assert!(
        !s.llm_slot_renew(0, "a#0", lease).await.expect("renew"),
        "a lost it"
    );
    // A smaller limit ignores the slots above it.
    assert_eq!(s.llm_slot_take(1, "e#0", lease).await.expect("take"), None);
}

#[tokio::test]
async fn sqlite_llm_slots_expire_and_are_fenced() {
    let (s, _dir) = common::fresh_sqlite().await;
    llm_slots_expire_and_are_fenced(&s).await;
}

#[tokio::test]
async fn postgres_llm_slots_expire_and_are_fenced() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    llm_slots_expire_and_are_fenced(&s).await;
}

fn case(workflow: &str, txn: &str) -> EffectRecord {
    EffectRecord {
        key: format!("{workflow}/0/1-case"),
        name: "investigation_case",
        payload: serde_json::json!({"decision": "escalate"}),
        write: EffectWrite::InvestigationCase(CaseRow {
            workflow_id: workflow.into(),
            transaction_id: txn.into(),
            account_id: "acct-w".into(),
            decision: "escalate".into(),
            score: 0.9,
            factors: serde_json::json!([{"name": "pipeline_risk"}]),
            note: "escalated: velocity".into(),
            decided_by: "deterministic".into(),
            ..CaseRow::default()
        }),
    }
}

async fn run_step<S: Store>(
    s: &S,
    claim: &Claim,
    worker: &str,
    effects: &[EffectRecord],
    last: bool,
) -> Checkpointed {
    let run_id = s
        .begin_run(claim, "step", worker, LEASE)
        .await
        .expect("begin")
        .expect("the lease is ours");
    s.checkpoint(CheckpointWrite {
        claim,
        worker,
        lease: LEASE,
        run_id,
        step_name: "step",
        output: &serde_json::json!({"step": claim.next_step}),
        effects,
        last,
        keep_lease: true,
        lineage: None,
    })
    .await
    .expect("checkpoint")
}

/// Leases, fencing, checkpoints with their effects applied once, retries, expiry and
/// pruning: the same answers from both backends.
async fn workflow_leases_and_checkpoints<S: Store>(s: &S) {
    seed_workflows(s).await;
    let inv = ["investigation"];
    assert_eq!(s.runnable_workflows(&inv).await.expect("runnable"), 2);
    assert!(s
        .schedule_workflow("audit:A", "audit", "A/B")
        .await
        .expect("schedule"));
    assert!(!s
        .schedule_workflow("audit:A", "audit", "A/B")
        .await
        .expect("again"));
    assert_eq!(s.runnable_workflows(&["audit"]).await.expect("audit"), 1);

    // Oldest first; a live lease is nobody else's.
    let a = s
        .claim_workflow("a", &inv, LEASE)
        .await
        .expect("claim")
        .expect("r1");
    assert_eq!(
        (
            a.workflow_id.as_str(),
            a.subject.as_str(),
            a.account_id.as_deref()
        ),
        ("investigation:r1", "r1", Some("acct-w"))
    );
    assert_eq!(
        (a.next_step, a.attempt, a.kind.as_str()),
        (0, 1, "investigation")
    );
    let b = s
        .claim_workflow("b", &inv, LEASE)
        .await
        .expect("claim")
        .expect("r2");
    assert_eq!(b.workflow_id, "investigation:r2");
    assert!(s
        .claim_workflow("c", &inv, LEASE)
        .await
        .expect("claim")
        .is_none());

    // Fenced: another worker can neither start nor checkpoint a's step.
    assert!(s
        .begin_run(&a, "step", "b", LEASE)
        .await
        .expect("begin")
        .is_none());
    let run = s
        .begin_run(&a, "step", "a", LEASE)
        .await
        .expect("begin")
        .expect("a's run");
    let output = serde_json::json!({"history": 3});
    let effects = [
        EffectRecord {
            key: "investigation:r1/0/0-case_event".into(),
            name: "case_event",
            payload: serde_json::json!({"event": "history_gathered"}),
            write: EffectWrite::JournalOnly,
        },
        case("investigation:r1", "r1"),
    ];
    let write = |worker| CheckpointWrite {
        claim: &a,
        worker,
        lease: LEASE,
        run_id: run,
        step_name: "gather",
        output: &output,
        effects: &effects,
        last: false,
        keep_lease: true,
        lineage: None,
    };
    assert_eq!(
        s.checkpoint(write("b")).await.expect("fenced"),
        Checkpointed::LeaseLost
    );
    assert_eq!(
        s.checkpoint(write("a")).await.expect("checkpoint"),
        Checkpointed::Done {
            applied: vec![0, 1]
        }
    );
    assert_eq!(
        s.checkpoint(write("a")).await.expect("the step moved on"),
        Checkpointed::LeaseLost
    );
    let stored = s
        .checkpoints("investigation:r1")
        .await
        .expect("checkpoints");
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].0, stored[0].1.as_str()), (0, "gather"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stored[0].2).expect("json"),
        output
    );
    assert_eq!(
        s.prior_escalations("acct-w", "investigation:r2")
            .await
            .expect("escalations"),
        1
    );
    assert_eq!(
        s.prior_escalations("acct-w", "investigation:r1")
            .await
            .expect("own case"),
        0
    );
    // An effect whose key was seen is journalled once and applied once.
    let a1 = Claim {
        next_step: 1,
        ..a.clone()
    };
    assert_eq!(
        run_step(s, &a1, "a", &[case("investigation:r1", "r1")], false).await,
        Checkpointed::Done { applied: vec![] }
    );
    assert!(s
        .renew_lease("investigation:r1", "a", LEASE)
        .await
        .expect("renew"));
    assert!(!s
        .renew_lease("investigation:r1", "b", LEASE)
        .await
        .expect("not b's"));

    // Released: claimable at once, resuming after its checkpoints.
    s.release_lease("investigation:r1", "a")
        .await
        .expect("release");
    let c = s
        .claim_workflow("c", &inv, LEASE)
        .await
        .expect("claim")
        .expect("r1 again");
    assert_eq!(
        (c.workflow_id.as_str(), c.next_step, c.attempt),
        ("investigation:r1", 2, 2)
    );
    // A failed step backs off; nobody else may give it back.
    assert_eq!(
        s.give_back_failed(&c, "d", false, 10, LEASE)
            .await
            .expect("not d's"),
        None
    );
    assert_eq!(
        s.give_back_failed(&c, "c", false, 10, LEASE)
            .await
            .expect("give back")
            .as_deref(),
        Some("runnable")
    );
    assert!(s
        .claim_workflow("d", &inv, LEASE)
        .await
        .expect("claim")
        .is_none());
    assert_eq!(s.release_all_leases("b").await.expect("release all"), 1);

    // An expired lease is taken over, and its old owner fenced out.
    let short = std::time::Duration::from_millis(300);
    let d = s
        .claim_workflow("d", &inv, short)
        .await
        .expect("claim")
        .expect("r2");
    assert_eq!((d.workflow_id.as_str(), d.attempt), ("investigation:r2", 2));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let e = s
        .claim_workflow("e", &inv, LEASE)
        .await
        .expect("claim")
        .expect("expired");
    assert_eq!((e.workflow_id.as_str(), e.attempt), ("investigation:r2", 3));
    assert!(!s
        .renew_lease(&d.workflow_id, "d", LEASE)
        .await
        .expect("renew"));
    assert!(s
        .begin_run(&d, "step", "d", LEASE)
        .await
        .expect("begin")
        .is_none());
    assert_eq!(
        s.give_back_failed(&e, "e", true, 10, LEASE)
            .await
            .expect("fail")
            .as_deref(),
        Some("failed")
    );
    assert_eq!(s.runnable_workflows(&inv).await.expect("runnable"), 1);

    // A completed workflow's checkpoints, runs and journal are pruned; runnable ones keep theirs.
    let f = s
        .claim_workflow("f", &["audit"], LEASE)
        .await
        .expect("claim")
        .expect("audit");
    let finding = EffectRecord {
        key: "audit:A/0/0-audit_findings".into(),
        name: "audit_findings",
        payload: serde_json::json!({}),
        write: EffectWrite::AuditFindings(vec![FindingRow {
            finding_id: "audit:A/deny_spike/all".into(),
            workflow_id: "audit:A".into(),
            window_start: at(9, 0),
            window_end: at(10, 0),
            kind: "deny_spike".into(),
            subject: "all".into(),
            severity: "high".into(),
            detail: serde_json::json!({"rate": 0.5}),
        }]),
    };
    assert_eq!(
        run_step(s, &f, "f", &[finding], true).await,
        Checkpointed::Done { applied: vec![0] }
    );
    assert_eq!(s.runnable_workflows(&["audit"]).await.expect("audit"), 0);
    let pruned = s
        .prune_finished(std::time::Duration::ZERO, 10)
        .await
        .expect("prune");
    assert_eq!(
        pruned,
        PruneReport {
            workflows: 1,
            checkpoints: 1,
            step_runs: 1,
            effects: 1
        }
    );
    assert_eq!(
        s.prune_finished(std::time::Duration::ZERO, 10)
            .await
            .expect("again")
            .workflows,
        0
    );
    assert_eq!(
        s.checkpoints("investigation:r1").await.expect("kept").len(),
        2
    );
}

#[tokio::test]
async fn sqlite_workflow_leases_and_checkpoints() {
    let (s, _d) = common::fresh_sqlite().await;
    workflow_leases_and_checkpoints(&s).await;
}

#[tokio::test]
async fn postgres_workflow_leases_and_checkpoints() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    workflow_leases_and_checkpoints(&s).await;
}

/// Claims racing on several connections never hand one workflow to two workers.
async fn concurrent_claims_never_overlap<S: Store>(s: &S) {
    s.migrate().await.expect("migrate");
    for i in 0..6 {
        assert!(s
            .schedule_workflow(&format!("audit:{i}"), "audit", "x")
            .await
            .expect("schedule"));
    }
    let workers: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
    let kinds = ["audit"];
    let claims =
        futures::future::join_all(workers.iter().map(|w| s.claim_workflow(w, &kinds, LEASE))).await;
    let mut won: Vec<String> = claims
        .into_iter()
        .filter_map(|c| c.expect("claim"))
        .map(|c| c.workflow_id)
        .collect();
    assert_eq!(won.len(), 6, "six workflows, six claims: {won:?}");
    won.sort();
    won.dedup();
    assert_eq!(won.len(), 6, "no workflow claimed twice: {won:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_concurrent_claims_never_overlap() {
    let (s, dir) = common::fresh_sqlite().await;
    concurrent_claims_never_overlap(&s).await;
    // A second store on the same file stands for a second process.
    let other = SqliteStore::open(&dir.path().join("t.db"))
        .await
        .expect("open");
    assert!(other
        .claim_workflow("x", &["audit"], LEASE)
        .await
        .expect("claim")
        .is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_concurrent_claims_never_overlap() {
    let Some(s) = common::fresh_pg().await else {
        return;
    };
    concurrent_claims_never_overlap(&s).await;
}
