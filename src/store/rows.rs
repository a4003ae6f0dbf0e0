use chrono::{DateTime, SecondsFormat, Utc};

/// A governed record, ready to store: PII already encrypted or scrubbed.
#[derive(Debug, Clone, PartialEq)]
pub struct TxnRow {
    pub transaction_id: String,
    pub digest: String,
    pub account_id: String,
    pub ts: DateTime<Utc>,
    pub amount: String,
    pub currency: String,
    pub merchant: String,
    pub mcc: String,
    pub country: String,
    pub channel: String,
    pub category: String,
    pub description: Option<String>,
    pub customer_name_enc: Option<String>,
    pub customer_email_enc: Option<String>,
    pub card_number_enc: Option<String>,
    pub iban_enc: Option<String>,
    pub key_id: Option<String>,
    pub extra: String,
    pub risk_score: f64,
    pub findings: String,
    /// `allow`, `review` (to `transactions`) or `deny` (to `quarantine`).
    pub decision: String,
    pub reasons: String,
    pub policy_path: String,
    pub policy_version: String,
    pub decided_at: DateTime<Utc>,
    pub source: String,
    pub partition: i32,
    pub offset: i64,
    /// When the pipeline took the record's batch from its source (`None` when read back
    /// from a row committed before it was recorded).
    pub received_at: Option<DateTime<Utc>>,
    /// The PII kinds the scrubber removed from the record's free text, as a JSON array
    /// (`None` as for `received_at`).
    pub pii_removed: Option<String>,
}

impl TxnRow {
    pub fn is_quarantine(&self) -> bool {
        self.decision == "deny"
    }

    /// The `record_ids.outcome` of this row: which table holds it.
    pub fn id_outcome(&self) -> &'static str {
        if self.is_quarantine() {
            "quarantine"
        } else {
            "transaction"
        }
    }

    /// What a `duplicate_id` dead letter stores: the row without ciphertexts.
    pub fn as_dead_letter(&self, now: DateTime<Utc>) -> DeadLetterRow {
        let payload = serde_json::json!({
            "transaction_id": self.transaction_id, "account_id": self.account_id,
            "timestamp": format_ts(self.ts), "amount": self.amount, "currency": self.currency,
            "merchant": self.merchant, "mcc": self.mcc, "country": self.country,
            "channel": self.channel, "description": self.description,
        });
        DeadLetterRow {
            source: self.source.clone(),
            partition: self.partition,
            offset: self.offset,
            transaction_id: Some(self.transaction_id.clone()),
            reason: "duplicate_id".into(),
            detail: "transaction_id already committed with different content".into(),
            payload: payload.to_string(),
            received_at: now,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterRow {
    pub source: String,
    pub partition: i32,
    pub offset: i64,
    pub transaction_id: Option<String>,
    pub reason: String,
    pub detail: String,
    pub payload: String,
    pub received_at: DateTime<Utc>,
}

pub use crate::domain::OffsetRow;

#[derive(Debug, Default, Clone)]
pub struct CommitBatch {
    pub rows: Vec<TxnRow>,
    pub dead_letters: Vec<DeadLetterRow>,
    pub offsets: Vec<OffsetRow>,
    /// (account_id, detector state as JSON)
    pub detector_state: Vec<(String, String)>,
    /// Topics the newly stored records and dead letters are published to (via the outbox).
    pub publish: super::PublishTopics,
    /// The rows as PostgreSQL COPY lines, when [`super::Store::encode_ahead`] filled them.
    pub copy_lines: Option<super::CopyLines>,
    /// The open lineage interval this commit is tallied into (OpenLineage on).
    pub lineage: Option<super::LineageTarget>,
}

/// What a commit actually changed. Replays (same id, same content) change nothing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CommitOutcome {
    pub transactions: u64,
    pub quarantined: u64,
    pub dead_letters: u64,
    pub replays: u64,
    pub duplicate_ids: u64,
    pub allow: u64,
    pub review: u64,
    pub deny: u64,
}

impl CommitOutcome {
    pub fn add(&mut self, o: &CommitOutcome) {
        self.transactions += o.transactions;
        self.quarantined += o.quarantined;
        self.dead_letters += o.dead_letters;
        self.replays += o.replays;
        self.duplicate_ids += o.duplicate_ids;
        self.allow += o.allow;
        self.review += o.review;
        self.deny += o.deny;
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub transactions: i64,
    pub quarantine: i64,
    pub dead_letters: i64,
    pub decision_log: i64,
}

/// Timestamps are stored and hashed at microsecond precision, the finest both databases keep.
pub fn format_ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Splits the batch's rows into those new to the store and the rest, given the stored
/// digest of each id that already existed. Shared by both stores so they agree exactly.
/// Replays (same id, same content) are added to `replays`: the store keeps where and when
/// each was seen (`record_replays`).
pub(crate) fn classify<'a>(
    rows: &[&'a TxnRow],
    existing: &std::collections::HashMap<String, String>,
    inserted: impl Fn(&str) -> bool,
    outcome: &mut CommitOutcome,
    replays: &mut Vec<&'a TxnRow>,
    now: DateTime<Utc>,
) -> (Vec<&'a TxnRow>, Vec<DeadLetterRow>) {
    let mut fresh = Vec::new();
    let mut dups = Vec::new();
    for &r in rows {
        if inserted(&r.transaction_id) {
            fresh.push(r);
            match r.decision.as_str() {
                "deny" => {
                    outcome.quarantined += 1;
                    outcome.deny += 1;
                }
                "review" => {
                    outcome.transactions += 1;
                    outcome.review += 1;
                }
                _ => {
                    outcome.transactions += 1;
                    outcome.allow += 1;
                }
            }
        } else if existing.get(&r.transaction_id) == Some(&r.digest) {
            outcome.replays += 1;
            replays.push(r);
        } else {
            dups.push(r.as_dead_letter(now));
        }
    }
    (fresh, dups)
}

/// Keeps the first row of each id in the batch; a later row with the same id is a replay
/// (same digest, added to `replays`) or a `duplicate_id` dead letter (different digest).
pub(crate) fn dedupe_within_batch<'a>(
    rows: &'a [TxnRow],
    outcome: &mut CommitOutcome,
    replays: &mut Vec<&'a TxnRow>,
    now: DateTime<Utc>,
) -> (Vec<&'a TxnRow>, Vec<DeadLetterRow>) {
    let mut seen: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut unique = Vec::with_capacity(rows.len());
    let mut dups = Vec::new();
    for r in rows {
        match seen.get(r.transaction_id.as_str()) {
            None => {
                seen.insert(&r.transaction_id, &r.digest);
                unique.push(r);
            }
            Some(d) if *d == r.digest => {
                outcome.replays += 1;
                replays.push(r);
            }
            Some(_) => dups.push(r.as_dead_letter(now)),
        }
    }
    (unique, dups)
}

/// The decision-log rows that extend the chain from `head` with the batch's new records.
pub(crate) fn extend_chain(head: (i64, String), fresh: &[&TxnRow]) -> Vec<super::ChainRow> {
    let (mut seq, mut prev) = head;
    fresh
        .iter()
        .map(|r| {
            seq += 1;
            let mut c = super::ChainRow {
                seq,
                transaction_id: r.transaction_id.clone(),
                account_id: r.account_id.clone(),
                policy_path: r.policy_path.clone(),
                policy_version: r.policy_version.clone(),
                result: r.decision.clone(),
                reasons: r.reasons.clone(),
                findings: r.findings.clone(),
                decided_at: format_ts(r.decided_at),
                prev_hash: prev.clone(),
                row_hash: String::new(),
            };
            c.row_hash = c.compute_hash();
            prev = c.row_hash.clone();
            c
        })
        .collect()
}

/// A half-open range of decision-log sequence numbers: `(start, end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportRange {
    pub start: i64,
    pub end: i64,
}

impl ExportRange {
    /// The lake object that holds this range's rows of `table` dated `date` (`YYYY-MM-DD`):
    /// the one naming rule of the exporter (schema/lakehouse.md) and of the record journey.
    pub fn object_key(&self, table: &str, date: &str) -> String {
        format!(
            "table={table}/date={date}/part-{:012}-{:012}.parquet",
            self.start, self.end
        )
    }
}

/// Everything one export range covers: rows with their decision's seq, and the decisions.
#[derive(Debug, Default)]
pub struct ExportRows {
    pub transactions: Vec<(i64, TxnRow)>,
    pub quarantine: Vec<(i64, TxnRow)>,
    pub decisions: Vec<super::ChainRow>,
}

/// Column list shared by both stores' export queries (`d` = decision_log, `t` = the table).
pub(crate) const EXPORT_COLUMNS: &str = "d.seq, t.transaction_id, t.account_id, t.ts, t.amount, t.currency, \
    t.merchant, t.mcc, t.country, t.channel, t.category, t.description, t.customer_name_enc, t.customer_email_enc, \
    t.card_number_enc, t.iban_enc, t.key_id, t.extra, t.risk_score, t.findings, t.decision, t.reasons, \
    d.policy_path, t.policy_version, d.decided_at, t.source, t.source_partition, t.source_offset";
