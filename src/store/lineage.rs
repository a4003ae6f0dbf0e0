//! Lineage runs as the store keeps them (decision 0013): the open runs with their START
//! events, the tallies each batch commit adds to its process's open interval, and the
//! outbox of events for the lineage relay. The store knows nothing of OpenLineage: the
//! events are text that the caller renders from what a transaction actually closed.

use super::{DeadLetterRow, OutboxRow, TxnRow};
use std::collections::BTreeMap;

/// One event and the Kafka key it is published under (when the Kafka transport is on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageEvent {
    pub key: String,
    pub json: String,
}

/// A run recorded as open. Its START event is the template its terminal event is made from,
/// so whoever closes it (the process itself, or the next start after a crash) reports the
/// same job and datasets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRun {
    pub run_id: String,
    pub parent_run_id: Option<String>,
    /// `process`, `interval`, `export` or `command`.
    pub kind: String,
    pub start: LineageEvent,
}

/// What a commit added to a run: rows and bytes per item (`table:transactions`,
/// `topic:<name>`, `input`, `reason:dead_letters:<reason>`, `policy:<version>`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub item: String,
    pub rows: i64,
    pub bytes: i64,
}

/// A run a [`LineageStep`] closed, with everything tallied into it.
#[derive(Debug, Clone)]
pub struct ClosedRun {
    pub run: OpenRun,
    pub tallies: Vec<Tally>,
}

/// Renders the terminal events of the runs a step actually closed. A run that was closed
/// already (by another process) is not passed, so no run gets two terminal events.
pub type RenderEvents = Box<dyn FnOnce(&[ClosedRun]) -> Vec<LineageEvent> + Send>;

/// Where events go: the lineage outbox (for the relay) and/or a Kafka topic (the outbox
/// the Kafka relay publishes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineageRoute {
    pub relay: bool,
    pub kafka_topic: Option<String>,
}

/// One transaction's worth of lineage: close these runs (terminal events from `render`),
/// then open those (their START events).
pub struct LineageStep {
    pub close: Vec<String>,
    pub open: Vec<OpenRun>,
    pub render: RenderEvents,
    pub route: LineageRoute,
}

/// The open interval a batch commit counts into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineageTarget {
    pub run_id: String,
    /// Records the batch read (stored, replayed or dead-lettered) and their bytes.
    pub records_in: i64,
    pub bytes_in: i64,
}

/// Bytes of the column values a row writes (their text form), not the size on disk: the
/// same on both databases.
fn txn_row_bytes(r: &TxnRow) -> i64 {
    let opt = |o: &Option<String>| o.as_deref().map_or(0, str::len);
    let text = r.transaction_id.len()
        + r.account_id.len()
        + r.amount.len()
        + r.currency.len()
        + r.merchant.len()
        + r.mcc.len()
        + r.country.len()
        + r.channel.len()
        + r.category.len()
        + opt(&r.description)
        + opt(&r.customer_name_enc)
        + opt(&r.customer_email_enc)
        + opt(&r.card_number_enc)
        + opt(&r.iban_enc)
        + opt(&r.key_id)
        + r.extra.len()
        + r.findings.len()
        + r.decision.len()
        + r.reasons.len()
        + r.policy_version.len()
        + r.source.len();
    // Two timestamps (ts, committed_at) as RFC 3339 text, risk score, partition, offset.
    (text + 2 * 27 + 3 * 8) as i64
}

/// A decision-log row: the record's decision fields, the decision time and two hashes.
fn decision_bytes(r: &TxnRow) -> i64 {
    let text = r.transaction_id.len()
        + r.account_id.len()
        + r.policy_path.len()
        + r.policy_version.len()
        + r.decision.len()
        + r.reasons.len()
        + r.findings.len();
    (text + 27 + 2 * 64 + 8) as i64
}

fn dead_letter_bytes(d: &DeadLetterRow) -> i64 {
    let text = d.source.len()
        + d.transaction_id.as_deref().map_or(0, str::len)
        + d.reason.len()
        + d.detail.len()
        + d.payload.len();
    (text + 27 + 4 + 8) as i64
}

/// What a commit adds to its interval: `fresh` are the records it newly stored, `new_dead`
/// the dead letters it inserted (not those stored before), `outbox` what it publishes.
pub(crate) fn commit_tallies(
    target: &LineageTarget,
    fresh: &[&TxnRow],
    new_dead: &[&DeadLetterRow],
    outbox: &[OutboxRow],
) -> Vec<Tally> {
    let mut t: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut add = |item: String, bytes: i64| {
        let e = t.entry(item).or_default();
        e.0 += 1;
        e.1 += bytes;
    };
    for r in fresh {
        let table = if r.is_quarantine() {
            "table:quarantine"
        } else {
            "table:transactions"
        };
        add(table.into(), txn_row_bytes(r));
        add("table:decision_log".into(), decision_bytes(r));
        add(format!("decision:{}", r.decision), 0);
        add(format!("policy:{}", r.policy_version), 0);
        if r.is_quarantine() {
            let reasons: Vec<String> = serde_json::from_str(&r.reasons).unwrap_or_default();
            for reason in reasons {
                add(format!("reason:quarantine:{reason}"), 0);
            }
        }
    }
    for d in new_dead {
        add("table:dead_letters".into(), dead_letter_bytes(d));
        add(format!("reason:dead_letters:{}", d.reason), 0);
    }
    for o in outbox {
        add(
            format!("topic:{}", o.topic),
            (o.key.len() + o.payload.len()) as i64,
        );
    }
    let mut out: Vec<Tally> = t
        .into_iter()
        .map(|(item, (rows, bytes))| Tally { item, rows, bytes })
        .collect();
    if target.records_in > 0 {
        out.push(Tally {
            item: "input".into(),
            rows: target.records_in,
            bytes: target.bytes_in,
        });
    }
    out
}

/// The dead letters a commit inserted, each once: `inserted` holds the keys its
/// `INSERT … RETURNING` gave back; a key that appears twice in `dead` was inserted once.
pub(crate) fn inserted_dead<'a>(
    dead: &'a [DeadLetterRow],
    inserted: &super::outbox::DeadKeys,
) -> Vec<&'a DeadLetterRow> {
    let mut left = inserted.clone();
    dead.iter()
        .filter(|d| left.remove(&(d.source.clone(), d.partition, d.offset)))
        .collect()
}

/// The advisory-lock key that marks a run's process alive (PostgreSQL).
pub(crate) fn run_lock_key(run_id: &str) -> i64 {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("pfm-lineage-run:{run_id}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(b)
}

/// Runs one [`LineageStep`] inside the open transaction `$tx` (both backends: the SQL is
/// the same). Evaluates to the number of events written, or returns the error.
macro_rules! apply_lineage_step {
    ($tx:expr, $step:expr) => {{
        let step: $crate::store::LineageStep = $step;
        let mut closed = Vec::with_capacity(step.close.len());
        for id in &step.close {
            let row: Option<(String, Option<String>, String, String, String)> = sqlx::query_as(
                "DELETE FROM lineage_runs WHERE run_id = $1 \
                 RETURNING run_id, parent_run_id, kind, event_key, start_event",
            )
            .bind(id)
            .fetch_optional(&mut *$tx)
            .await?;
            let Some((run_id, parent_run_id, kind, key, json)) = row else {
                continue;
            };
            let tallies: Vec<(String, i64, i64)> = sqlx::query_as(
                "DELETE FROM lineage_tallies WHERE run_id = $1 RETURNING item, row_count, byte_count",
            )
            .bind(&run_id)
            .fetch_all(&mut *$tx)
            .await?;
            closed.push($crate::store::ClosedRun {
                run: $crate::store::OpenRun {
                    run_id,
                    parent_run_id,
                    kind,
                    start: $crate::store::LineageEvent { key, json },
                },
                tallies: tallies
                    .into_iter()
                    .map(|(item, rows, bytes)| $crate::store::Tally { item, rows, bytes })
                    .collect(),
            });
        }
        let mut events = (step.render)(&closed[..]);
        for run in &step.open {
            sqlx::query(
                "INSERT INTO lineage_runs (run_id, parent_run_id, kind, event_key, start_event) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&run.run_id)
            .bind(&run.parent_run_id)
            .bind(&run.kind)
            .bind(&run.start.key)
            .bind(&run.start.json)
            .execute(&mut *$tx)
            .await?;
            events.push(run.start.clone());
        }
        for e in &events {
            if step.route.relay {
                sqlx::query("INSERT INTO lineage_outbox (event) VALUES ($1)")
                    .bind(&e.json)
                    .execute(&mut *$tx)
                    .await?;
            }
            if let Some(topic) = &step.route.kafka_topic {
                sqlx::query(
                    "INSERT INTO outbox (topic, message_key, payload, headers) VALUES ($1, $2, $3, '{}')",
                )
                .bind(topic)
                .bind(&e.key)
                .bind(&e.json)
                .execute(&mut *$tx)
                .await?;
            }
        }
        events.len()
    }};
}
pub(crate) use apply_lineage_step;

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, decision: &str, reasons: &str) -> TxnRow {
        TxnRow {
            transaction_id: id.into(),
            digest: String::new(),
            account_id: "a".into(),
            ts: chrono::Utc::now(),
            amount: "1".into(),
            currency: "EUR".into(),
            merchant: "m".into(),
            mcc: "5411".into(),
            country: "DE".into(),
            channel: "online".into(),
            category: "groceries".into(),
            description: None,
            received_at: None,
            pii_removed: None,
            customer_name_enc: None,
            customer_email_enc: None,
            card_number_enc: None,
            iban_enc: None,
            key_id: None,
            extra: "{}".into(),
            risk_score: 0.0,
            findings: "[]".into(),
            decision: decision.into(),
            reasons: reasons.into(),
            policy_path: "agentic/allow".into(),
            policy_version: "embedded:v1".into(),
            decided_at: chrono::Utc::now(),
            source: "file:x".into(),
            partition: 0,
            offset: 0,
        }
    }

    #[test]
    fn tallies_count_what_the_commit_stored() {
        let (a, b, c) = (
            row("1", "allow", "[]"),
            row("2", "deny", r#"["velocity","sanctioned_country"]"#),
            row("3", "deny", r#"["velocity"]"#),
        );
        let dead = DeadLetterRow {
            source: "file:x".into(),
            partition: 0,
            offset: 9,
            transaction_id: None,
            reason: "bad_json".into(),
            detail: "d".into(),
            payload: "{x".into(),
            received_at: chrono::Utc::now(),
        };
        let dead_twice = vec![dead.clone(), dead];
        let mut keys = crate::store::outbox::DeadKeys::new();
        keys.insert(("file:x".into(), 0, 9));
        let new_dead = inserted_dead(&dead_twice, &keys);
        assert_eq!(new_dead.len(), 1, "a key inserted once counts once");
        let outbox = vec![OutboxRow {
            topic: "processed".into(),
            key: "a".into(),
            payload: "{}".into(),
            headers: "{}".into(),
        }];
        let target = LineageTarget {
            run_id: "r".into(),
            records_in: 4,
            bytes_in: 400,
        };
        let t = commit_tallies(&target, &[&a, &b, &c], &new_dead, &outbox);
        let get = |item: &str| t.iter().find(|x| x.item == item).map(|x| (x.rows, x.bytes));
        assert_eq!(get("table:transactions").map(|x| x.0), Some(1));
        assert_eq!(get("table:quarantine").map(|x| x.0), Some(2));
        assert_eq!(get("table:decision_log").map(|x| x.0), Some(3));
        assert_eq!(get("table:dead_letters").map(|x| x.0), Some(1));
        assert_eq!(get("reason:quarantine:velocity").map(|x| x.0), Some(2));
        assert_eq!(
            get("reason:quarantine:sanctioned_country").map(|x| x.0),
            Some(1)
        );
        assert_eq!(get("reason:dead_letters:bad_json").map(|x| x.0), Some(1));
        assert_eq!(get("policy:embedded:v1").map(|x| x.0), Some(3));
        assert_eq!(get("topic:processed"), Some((1, 3)));
        assert_eq!(get("input"), Some((4, 400)));
        assert!(get("table:transactions").is_some_and(|(_, bytes)| bytes > 0));
    }

    #[test]
    fn run_lock_keys_differ_per_run() {
        assert_ne!(run_lock_key("a"), run_lock_key("b"));
        assert_eq!(run_lock_key("a"), run_lock_key("a"));
    }
}
