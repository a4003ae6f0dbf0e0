use super::copy_text;
use super::rows::{classify, dedupe_within_batch, extend_chain, format_ts};
use super::{ChainRow, CommitBatch, CommitOutcome, CopyLines, Counts, Store, StoreError};
use crate::crypto::WrappedKey;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Production store. A batch's ids, rows and decision-log entries are written with `COPY`
/// (decision 0007), the smaller tables with `INSERT … SELECT FROM UNNEST`: one statement per
/// table per batch. The decision-log chain is serialised by a row lock on its head.
#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// TLS follows the URL (`sslmode=require|verify-full`); every statement is bounded by
    /// `statement_timeout` so a stuck query cannot hold a batch forever.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(StoreError::Query)?
            .options([("statement_timeout", "30s"), ("lock_timeout", "20s")])
            .application_name("agentic-pfm");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

/// How a commit writes `record_ids`.
#[derive(Clone, Copy)]
enum IdWrite {
    /// COPY: fails (and the attempt reports [`Attempt::IdsTaken`]) if any id is stored.
    Copy,
    /// `INSERT … ON CONFLICT DO NOTHING`, then the stored digests of the ids that existed.
    Upsert,
}

enum Attempt {
    Done(CommitOutcome),
    IdsTaken,
}

impl PgStore {
    async fn commit_attempt(
        &self,
        batch: &CommitBatch,
        ids: IdWrite,
    ) -> Result<Attempt, StoreError> {
        let now = Utc::now();
        let mut outcome = CommitOutcome::default();
        let (rows, mut dead) = dedupe_within_batch(&batch.rows, &mut outcome, now);
        // Every write below takes its row locks in key order (sorted lines, `ORDER BY`), so
        // replicas that share accounts or ids queue behind each other instead of deadlocking.
        // Ids go in byte order on both paths (Rust's `str` order is `COLLATE "C"`).
        let mut tx = self.pool.begin().await?;

        let (fresh, dups) = match ids {
            IdWrite::Copy => {
                let mut sorted = rows.clone();
                sorted.sort_unstable_by(|a, b| a.transaction_id.cmp(&b.transaction_id));
                let mut text = String::with_capacity(sorted.len() * 100);
                for r in &sorted {
                    copy_text::id_line(&mut text, r);
                }
                match copy_in(&mut tx, "record_ids", copy_text::ID_COLUMNS, &text).await {
                    Ok(()) => {}
                    // Stored before, or by a concurrent replica whose commit we waited for.
                    Err(e) if is_unique_violation(&e) => return Ok(Attempt::IdsTaken),
                    Err(e) => return Err(e.into()),
                }
                classify(&rows, &HashMap::new(), |_| true, &mut outcome, now)
            }
            IdWrite::Upsert => {
                let (existing, inserted) = upsert_ids(&mut tx, &rows).await?;
                classify(
                    &rows,
                    &existing,
                    |id| inserted.contains(id),
                    &mut outcome,
                    now,
                )
            }
        };
        dead.extend(dups);
        outcome.duplicate_ids = dead.len() as u64;

        // Lines encoded ahead cover the whole batch; they fit only when all of it is new.
        let ahead = batch
            .copy_lines
            .as_ref()
            .filter(|l| l.rows == batch.rows.len() && fresh.len() == batch.rows.len());
        let encoded;
        let lines = match ahead {
            Some(l) => l,
            None => {
                encoded = CopyLines::encode(fresh.iter().copied());
                &encoded
            }
        };
        for (table, text) in [
            ("transactions", &lines.transactions),
            ("quarantine", &lines.quarantine),
        ] {
            if !text.is_empty() {
                copy_in(&mut tx, table, copy_text::TXN_COLUMNS, text).await?;
            }
        }

        let review: Vec<_> = fresh.iter().filter(|r| r.decision == "review").collect();
        if !review.is_empty() {
            sqlx::query(
                "INSERT INTO workflows (workflow_id, kind, subject, account_id, status, created_at, updated_at) \
                 SELECT 'investigation:' || t, 'investigation', t, a, 'runnable', now(), now() \
                 FROM UNNEST($1::text[], $2::text[]) AS x(t, a) ON CONFLICT DO NOTHING",
            )
            .bind(review.iter().map(|r| r.transaction_id.as_str()).collect::<Cols<_>>())
            .bind(review.iter().map(|r| r.account_id.as_str()).collect::<Cols<_>>())
            .execute(&mut *tx)
            .await?;
        }
        dead.extend(batch.dead_letters.iter().cloned());
        let mut new_dead_keys = super::outbox::DeadKeys::new();
        if !dead.is_empty() {
            let res = sqlx::query(
                "INSERT INTO dead_letters (source, source_partition, source_offset, transaction_id, reason, detail, \
                 payload, received_at) SELECT * FROM UNNEST($1::text[], $2::int4[], $3::int8[], $4::text[], \
                 $5::text[], $6::text[], $7::text[], $8::timestamptz[]) ON CONFLICT DO NOTHING \
                 RETURNING source, source_partition, source_offset",
            )
            .bind(dead.iter().map(|d| d.source.as_str()).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.partition).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.offset).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.transaction_id.as_deref()).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.reason.as_str()).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.detail.as_str()).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.payload.as_str()).collect::<Cols<_>>())
            .bind(dead.iter().map(|d| d.received_at).collect::<Cols<_>>())
            .fetch_all(&mut *tx)
            .await?;
            outcome.dead_letters = res.len() as u64;
            new_dead_keys.extend(res.into_iter().map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<i32, _>(1),
                    r.get::<i64, _>(2),
                )
            }));
        }
        if !batch.publish.is_empty() {
            let out = super::outbox::entries(&batch.publish, &fresh, &dead, &new_dead_keys);
            if !out.is_empty() {
                sqlx::query(
                    "INSERT INTO outbox (topic, message_key, payload, headers) \
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])",
                )
                .bind(out.iter().map(|o| o.topic.as_str()).collect::<Cols<_>>())
                .bind(out.iter().map(|o| o.key.as_str()).collect::<Cols<_>>())
                .bind(out.iter().map(|o| o.payload.as_str()).collect::<Cols<_>>())
                .bind(out.iter().map(|o| o.headers.as_str()).collect::<Cols<_>>())
                .execute(&mut *tx)
                .await?;
            }
        }

        if !batch.detector_state.is_empty() {
            sqlx::query(
                "INSERT INTO detector_state (account_id, state, updated_at) \
                 SELECT a, s, now() FROM UNNEST($1::text[], $2::text[]) AS t(a, s) ORDER BY a \
                 ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            )
            .bind(batch.detector_state.iter().map(|(a, _)| a.as_str()).collect::<Cols<_>>())
            .bind(batch.detector_state.iter().map(|(_, s)| s.as_str()).collect::<Cols<_>>())
            .execute(&mut *tx)
            .await?;
        }

        if !batch.offsets.is_empty() {
            sqlx::query(
                "INSERT INTO source_offsets (source, source_partition, next_offset, updated_at) \
                 SELECT s, p, o, now() FROM UNNEST($1::text[], $2::int4[], $3::int8[]) AS t(s, p, o) \
                 ON CONFLICT (source, source_partition) DO UPDATE SET \
                 next_offset = GREATEST(source_offsets.next_offset, excluded.next_offset), \
                 updated_at = excluded.updated_at",
            )
            .bind(batch.offsets.iter().map(|o| o.source.as_str()).collect::<Cols<_>>())
            .bind(batch.offsets.iter().map(|o| o.partition).collect::<Cols<_>>())
            .bind(batch.offsets.iter().map(|o| o.next_offset).collect::<Cols<_>>())
            .execute(&mut *tx)
            .await?;
        }

        if !fresh.is_empty() {
            // Taken last, so concurrent replicas serialise only on the chain append.
            let head: (i64, String) = sqlx::query_as(
                "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE",
            )
            .fetch_one(&mut *tx)
            .await?;
            let chain = extend_chain(head, &fresh);
            let mut text = String::with_capacity(chain.len() * 400);
            for c in &chain {
                copy_text::chain_line(&mut text, c);
            }
            copy_in(&mut tx, "decision_log", copy_text::CHAIN_COLUMNS, &text).await?;
            if let Some(last) = chain.last() {
                sqlx::query(
                    "UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1",
                )
                .bind(last.seq)
                .bind(&last.row_hash)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(Attempt::Done(outcome))
    }
}

/// Writes `text`, COPY text lines holding `columns`, into `table`.
async fn copy_in(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
    text: &str,
) -> Result<(), sqlx::Error> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    copy.send(text.as_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("23505"))
}

/// Inserts the ids not stored yet; returns the stored digest of each id that existed and
/// the ids inserted now.
async fn upsert_ids(
    tx: &mut sqlx::PgConnection,
    rows: &[&super::TxnRow],
) -> Result<(HashMap<String, String>, HashSet<String>), StoreError> {
    let ids: Cols<&str> = rows.iter().map(|r| r.transaction_id.as_str()).collect();
    let digests: Cols<&str> = rows.iter().map(|r| r.digest.as_str()).collect();
    let kinds: Cols<&str> = rows.iter().map(|r| r.id_outcome()).collect();
    let inserted: HashSet<String> = sqlx::query_scalar(
        "INSERT INTO record_ids (transaction_id, digest, outcome) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) AS u(t, d, o) ORDER BY t COLLATE \"C\" \
         ON CONFLICT DO NOTHING RETURNING transaction_id",
    )
    .bind(&ids)
    .bind(&digests)
    .bind(&kinds)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut existing = HashMap::new();
    if inserted.len() < rows.len() {
        let others: Cols<&str> = ids
            .iter()
            .copied()
            .filter(|id| !inserted.contains(*id))
            .collect();
        let found: Vec<(String, String)> = sqlx::query_as(
            "SELECT transaction_id, digest FROM record_ids WHERE transaction_id = ANY($1)",
        )
        .bind(&others)
        .fetch_all(&mut *tx)
        .await?;
        existing.extend(found);
    }
    Ok((existing, inserted))
}

fn expected_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

type Cols<T> = Vec<T>;

/// The advisory-lock key of the outbox relay ("pfm-outbox" as digits, unique to this schema).
const RELAY_LOCK: i64 = 0x7066_6d6f_7574_0001;

impl Store for PgStore {
    fn overlaps_commits(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // The migrator holds a PostgreSQL advisory lock, so concurrent replicas serialise.
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn check_schema(&self) -> Result<(), StoreError> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        let found: i64 = match exists {
            None => 0,
            Some(_) => {
                sqlx::query_scalar(
                    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success",
                )
                .fetch_one(&self.pool)
                .await?
            }
        };
        StoreError::check_version(found, expected_version())
    }

    async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    async fn load_offsets(&self, source: &str) -> Result<HashMap<i32, i64>, StoreError> {
        let rows: Vec<(i32, i64)> = sqlx::query_as(
            "SELECT source_partition, next_offset FROM source_offsets WHERE source = $1",
        )
        .bind(source)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().collect())
    }

    async fn load_detector_state(
        &self,
        accounts: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT account_id, state FROM detector_state WHERE account_id = ANY($1)",
        )
        .bind(accounts)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn get_or_create_data_keys(
        &self,
        proposed: &[(String, WrappedKey)],
    ) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let accounts: Cols<&str> = proposed.iter().map(|(a, _)| a.as_str()).collect();
        let key_ids: Cols<&str> = proposed.iter().map(|(_, k)| k.key_id.as_str()).collect();
        let kek_ids: Cols<&str> = proposed.iter().map(|(_, k)| k.kek_id.as_str()).collect();
        let wrapped: Cols<&[u8]> = proposed.iter().map(|(_, k)| k.wrapped.as_slice()).collect();
        sqlx::query(
            "INSERT INTO data_keys (account_id, key_id, kek_id, wrapped, created_at) \
             SELECT a, k, e, w, now() FROM UNNEST($1::text[], $2::text[], $3::text[], $4::bytea[]) AS t(a, k, e, w) \
             ORDER BY a ON CONFLICT (account_id) DO NOTHING",
        )
        .bind(&accounts)
        .bind(&key_ids)
        .bind(&kek_ids)
        .bind(&wrapped)
        .execute(&self.pool)
        .await?;
        let rows: Vec<(String, String, String, Vec<u8>)> = sqlx::query_as(
            "SELECT account_id, key_id, kek_id, wrapped FROM data_keys WHERE account_id = ANY($1)",
        )
        .bind(&accounts)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(a, key_id, kek_id, wrapped)| {
                (
                    a,
                    WrappedKey {
                        key_id,
                        kek_id,
                        wrapped,
                    },
                )
            })
            .collect())
    }

    fn encode_ahead(&self, batch: &mut CommitBatch) {
        batch.copy_lines = Some(CopyLines::encode(batch.rows.iter()));
    }

    async fn commit(&self, batch: &CommitBatch) -> Result<CommitOutcome, StoreError> {
        // COPY cannot skip ids that are already stored. They appear only in a replay (after a
        // crash or a rebalance) or an id reuse, so such a batch is rolled back and committed
        // again with the upsert, which can.
        if let Attempt::Done(outcome) = self.commit_attempt(batch, IdWrite::Copy).await? {
            return Ok(outcome);
        }
        match self.commit_attempt(batch, IdWrite::Upsert).await? {
            Attempt::Done(outcome) => Ok(outcome),
            Attempt::IdsTaken => Err(StoreError::Corrupt(
                "record ids conflicted on the upsert path".into(),
            )),
        }
    }

    async fn counts(&self) -> Result<Counts, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM transactions), (SELECT COUNT(*) FROM quarantine), \
             (SELECT COUNT(*) FROM dead_letters), (SELECT COUNT(*) FROM decision_log)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(Counts {
            transactions: row.try_get(0)?,
            quarantine: row.try_get(1)?,
            dead_letters: row.try_get(2)?,
            decision_log: row.try_get(3)?,
        })
    }

    async fn chain_rows(&self, after_seq: i64, limit: i64) -> Result<Vec<ChainRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, transaction_id, account_id, policy_path, policy_version, result, reasons, findings, \
             decided_at, prev_hash, row_hash FROM decision_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let decided: DateTime<Utc> = r.try_get(8)?;
                Ok(ChainRow {
                    seq: r.try_get(0)?,
                    transaction_id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    policy_path: r.try_get(3)?,
                    policy_version: r.try_get(4)?,
                    result: r.try_get(5)?,
                    reasons: r.try_get(6)?,
                    findings: r.try_get(7)?,
                    decided_at: format_ts(decided),
                    prev_hash: r.try_get(9)?,
                    row_hash: r.try_get(10)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    async fn export_claim(
        &self,
        min_rows: i64,
        max_rows: i64,
        flush: bool,
    ) -> Result<Option<super::ExportRange>, StoreError> {
        self.export_claim_impl(min_rows, max_rows, flush).await
    }

    async fn export_rows(
        &self,
        range: super::ExportRange,
    ) -> Result<super::ExportRows, StoreError> {
        self.export_rows_impl(range).await
    }

    async fn export_done(
        &self,
        range: super::ExportRange,
        objects: &[String],
        rows: i64,
    ) -> Result<(), StoreError> {
        self.export_done_impl(range, objects, rows).await
    }

    async fn export_backlog(&self) -> Result<i64, StoreError> {
        self.export_backlog_impl().await
    }

    async fn export_oldest_waiting(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT decided_at FROM decision_log WHERE seq = \
             COALESCE((SELECT MAX(end_seq) FROM export_ledger WHERE status = 'done'), 0)::int8 + 1",
        )
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn outbox_pending(&self, limit: i64) -> Result<Vec<super::OutboxEntry>, StoreError> {
        let rows: Vec<super::outbox::EntryColumns> = sqlx::query_as(
            "SELECT id, topic, message_key, payload, headers, out_partition, floor_offset, \
                 EXTRACT(EPOCH FROM now() - sent_at)::float8 FROM outbox ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(super::outbox::entry_from).collect())
    }

    async fn outbox_mark_sent(
        &self,
        sent: &[(i64, super::SentTo)],
    ) -> Result<Vec<i64>, StoreError> {
        if sent.is_empty() {
            return Ok(Vec::new());
        }
        Ok(sqlx::query_scalar(
            "UPDATE outbox o SET out_partition = t.p, floor_offset = t.f, sent_at = now() \
             FROM UNNEST($1::int8[], $2::int4[], $3::int8[]) AS t(id, p, f) \
             WHERE o.id = t.id AND o.out_partition IS NULL RETURNING o.id",
        )
        .bind(sent.iter().map(|(id, _)| *id).collect::<Cols<_>>())
        .bind(sent.iter().map(|(_, s)| s.partition).collect::<Cols<_>>())
        .bind(sent.iter().map(|(_, s)| s.floor).collect::<Cols<_>>())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn outbox_settle(
        &self,
        delivered: &[i64],
        not_delivered: &[i64],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !delivered.is_empty() {
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
                .bind(delivered)
                .execute(&mut *tx)
                .await?;
        }
        if !not_delivered.is_empty() {
            sqlx::query(
                "UPDATE outbox SET out_partition = NULL, floor_offset = NULL, sent_at = NULL WHERE id = ANY($1)",
            )
            .bind(not_delivered)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn relay_lease(&self) -> Result<Option<super::RelayLease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then(|| super::RelayLease::held(conn)))
    }

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        Ok(
            sqlx::query_as("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

fn export_row(r: &sqlx::postgres::PgRow) -> Result<(i64, super::TxnRow), sqlx::Error> {
    Ok((
        r.try_get(0)?,
        super::TxnRow {
            transaction_id: r.try_get(1)?,
            digest: String::new(),
            account_id: r.try_get(2)?,
            ts: r.try_get(3)?,
            amount: r.try_get(4)?,
            currency: r.try_get(5)?,
            merchant: r.try_get(6)?,
            mcc: r.try_get(7)?,
            country: r.try_get(8)?,
            channel: r.try_get(9)?,
            category: r.try_get(10)?,
            description: r.try_get(11)?,
            customer_name_enc: r.try_get(12)?,
            customer_email_enc: r.try_get(13)?,
            card_number_enc: r.try_get(14)?,
            iban_enc: r.try_get(15)?,
            key_id: r.try_get(16)?,
            extra: r.try_get(17)?,
            risk_score: r.try_get(18)?,
            findings: r.try_get(19)?,
            decision: r.try_get(20)?,
            reasons: r.try_get(21)?,
            policy_path: r.try_get(22)?,
            policy_version: r.try_get(23)?,
            decided_at: r.try_get(24)?,
            source: r.try_get(25)?,
            partition: r.try_get(26)?,
            offset: r.try_get(27)?,
        },
    ))
}

impl PgStore {
    pub(crate) async fn export_claim_impl(
        &self,
        min_rows: i64,
        max_rows: i64,
        flush: bool,
    ) -> Result<Option<super::ExportRange>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Serialises claimers across replicas without touching the commit path's locks.
        sqlx::query("SELECT pg_advisory_xact_lock(7272001)")
            .execute(&mut *tx)
            .await?;
        let pending: Option<(i64, i64)> = sqlx::query_as(
            "SELECT start_seq, end_seq FROM export_ledger WHERE status = 'pending' ORDER BY start_seq LIMIT 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((start, end)) = pending {
            tx.commit().await?;
            return Ok(Some(super::ExportRange { start, end }));
        }
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(end_seq), 0)::int8 FROM export_ledger")
                .fetch_one(&mut *tx)
                .await?;
        let head: i64 = sqlx::query_scalar("SELECT last_seq FROM audit_chain_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let waiting = head - last;
        if waiting <= 0 || (waiting < min_rows && !flush) {
            return Ok(None);
        }
        let range = super::ExportRange {
            start: last,
            end: head.min(last + max_rows),
        };
        sqlx::query("INSERT INTO export_ledger (start_seq, end_seq, status, created_at) VALUES ($1, $2, 'pending', now())")
            .bind(range.start)
            .bind(range.end)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(range))
    }

    pub(crate) async fn export_rows_impl(
        &self,
        range: super::ExportRange,
    ) -> Result<super::ExportRows, StoreError> {
        let mut out = super::ExportRows::default();
        let cols = super::rows::EXPORT_COLUMNS
            .replace("t.amount", "t.amount::text")
            .replace("t.extra", "t.extra::text")
            .replace("t.findings", "t.findings::text")
            .replace("t.reasons", "t.reasons::text");
        for (table, dest) in [
            ("transactions", &mut out.transactions),
            ("quarantine", &mut out.quarantine),
        ] {
            let sql = format!(
                "SELECT {cols} FROM decision_log d JOIN {table} t ON t.transaction_id = d.transaction_id \
                 WHERE d.seq > $1 AND d.seq <= $2 ORDER BY d.seq"
            );
            let rows = sqlx::query(&sql)
                .bind(range.start)
                .bind(range.end)
                .fetch_all(&self.pool)
                .await?;
            for r in &rows {
                dest.push(export_row(r)?);
            }
        }
        out.decisions = self
            .chain_rows(range.start, range.end - range.start)
            .await?;
        Ok(out)
    }

    pub(crate) async fn export_done_impl(
        &self,
        range: super::ExportRange,
        objects: &[String],
        rows: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE export_ledger SET status = 'done', objects = $1::jsonb, rows_exported = $2, finished_at = now() \
             WHERE start_seq = $3 AND end_seq = $4",
        )
        .bind(serde_json::to_string(objects).unwrap_or_else(|_| "[]".into()))
        .bind(rows)
        .bind(range.start)
        .bind(range.end)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn export_backlog_impl(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT last_seq FROM audit_chain_head WHERE id = 1) - \
             COALESCE((SELECT MAX(end_seq) FROM export_ledger WHERE status = 'done'), 0)::int8",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
