//! The outbox: what a commit publishes, written in the same transaction as the rows, so a
//! record is published if and only if it was committed, and only the first time.

use super::{format_ts, DeadLetterRow, TxnRow};

/// Where a commit's publications go; `None` topics are not published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishTopics {
    /// Every governed record (transactions and quarantine), PII encrypted.
    pub processed: Option<String>,
    /// Records that were not simply allowed, or that a detector flagged.
    pub alerts: Option<String>,
    /// Dead letters, with the reason and the source coordinates in headers.
    pub dlq: Option<String>,
}

impl PublishTopics {
    pub fn is_empty(&self) -> bool {
        self.processed.is_none() && self.alerts.is_none() && self.dlq.is_none()
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub topic: String,
    pub key: String,
    pub payload: String,
    /// JSON object of string headers.
    pub headers: String,
}

/// A stored outbox message, as the relay reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    pub id: i64,
    pub topic: String,
    pub key: String,
    pub payload: String,
    pub headers: String,
    /// Set once a send was attempted: the outcome of that send is in doubt until checked.
    pub sent: Option<SentTo>,
    /// Seconds since the send was marked (database clock); infinite if unknown.
    pub sent_seconds_ago: f64,
}

/// A message the broker holds: its outbox id and the offset it landed at (in the partition
/// the relay marked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub id: i64,
    pub offset: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentTo {
    pub partition: i32,
    /// The partition's end offset before the first send.
    pub floor: i64,
}

/// The public form of a governed record: no plaintext PII (ciphertexts and the scrubbed
/// description only).
pub fn record_payload(r: &TxnRow) -> String {
    let json = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap_or_default();
    serde_json::json!({
        "transaction_id": r.transaction_id,
        "account_id": r.account_id,
        "timestamp": format_ts(r.ts),
        "amount": r.amount,
        "currency": r.currency,
        "merchant": r.merchant,
        "mcc": r.mcc,
        "country": r.country,
        "channel": r.channel,
        "category": r.category,
        "description": r.description,
        "customer_name_enc": r.customer_name_enc,
        "customer_email_enc": r.customer_email_enc,
        "card_number_enc": r.card_number_enc,
        "iban_enc": r.iban_enc,
        "key_id": r.key_id,
        "risk_score": r.risk_score,
        "findings": json(&r.findings),
        "decision": r.decision,
        "reasons": json(&r.reasons),
        "policy_version": r.policy_version,
        "decided_at": format_ts(r.decided_at),
    })
    .to_string()
}

fn headers(pairs: &[(&str, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Dead letters by their key (source, partition, offset), as `RETURNING` gives them back.
pub(crate) type DeadKeys = std::collections::HashSet<(String, i32, i64)>;

/// The outbox rows for a commit's newly stored records and for those of `dead` that the
/// commit actually inserted (`inserted`; the others were stored before and published then).
pub fn entries(
    topics: &PublishTopics,
    fresh: &[&TxnRow],
    dead: &[DeadLetterRow],
    inserted: &DeadKeys,
) -> Vec<OutboxRow> {
    let new_dead = dead
        .iter()
        .filter(|d| inserted.contains(&(d.source.clone(), d.partition, d.offset)));
    let mut out = Vec::new();
    for r in fresh {
        let origin = [
            ("pfm-source", r.source.clone()),
            ("pfm-source-partition", r.partition.to_string()),
            ("pfm-source-offset", r.offset.to_string()),
            ("pfm-decision", r.decision.clone()),
        ];
        let payload = record_payload(r);
        if let Some(t) = &topics.processed {
            out.push(OutboxRow {
                topic: t.clone(),
                key: r.account_id.clone(),
                payload: payload.clone(),
                headers: headers(&origin),
            });
        }
        let flagged = r.decision != "allow" || r.findings.trim() != "[]";
        if let (Some(t), true) = (&topics.alerts, flagged) {
            out.push(OutboxRow {
                topic: t.clone(),
                key: r.account_id.clone(),
                payload,
                headers: headers(&origin),
            });
        }
    }
    if let Some(t) = &topics.dlq {
        for d in new_dead {
            out.push(OutboxRow {
                topic: t.clone(),
                key: d
                    .transaction_id
                    .clone()
                    .unwrap_or_else(|| format!("{}:{}:{}", d.source, d.partition, d.offset)),
                payload: d.payload.clone(),
                headers: headers(&[
                    ("pfm-reason", d.reason.clone()),
                    ("pfm-detail", d.detail.clone()),
                    ("pfm-source", d.source.clone()),
                    ("pfm-source-partition", d.partition.to_string()),
                    ("pfm-source-offset", d.offset.to_string()),
                ]),
            });
        }
    }
    out
}

pub(crate) type EntryColumns = (
    i64,
    String,
    String,
    String,
    String,
    Option<i32>,
    Option<i64>,
    Option<f64>,
);

pub(crate) fn entry_from(
    (id, topic, key, payload, headers, partition, floor, age): EntryColumns,
) -> OutboxEntry {
    OutboxEntry {
        id,
        topic,
        key,
        payload,
        headers,
        sent: match (partition, floor) {
            (Some(partition), Some(floor)) => Some(SentTo { partition, floor }),
            _ => None,
        },
        sent_seconds_ago: age.unwrap_or(f64::INFINITY),
    }
}

/// The right to relay the outbox: one replica at a time, so the in-doubt check after a
/// crash can trust that nobody else published the same messages. On PostgreSQL it is a
/// session advisory lock held on a dedicated connection: it ends when the process or its
/// connection dies.
pub struct RelayLease {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
}

impl RelayLease {
    /// The embedded database has one process by construction.
    pub(crate) fn embedded() -> Self {
        Self { conn: None }
    }

    pub(crate) fn held(conn: sqlx::pool::PoolConnection<sqlx::Postgres>) -> Self {
        Self { conn: Some(conn) }
    }

    /// `false` once the lock's connection is gone (another replica may hold it now).
    pub async fn still_held(&mut self) -> bool {
        match self.conn.as_mut() {
            None => true,
            Some(c) => sqlx::query("SELECT 1").execute(&mut **c).await.is_ok(),
        }
    }
}

impl Drop for RelayLease {
    fn drop(&mut self) {
        // Closing the connection, rather than returning it to the pool, releases the lock.
        if let Some(c) = self.conn.take() {
            drop(c.detach());
        }
    }
}
