use super::rows::{classify, dedupe_within_batch, extend_chain, format_ts};
use super::{ChainRow, CommitBatch, CommitOutcome, Counts, Store, StoreError, TxnRow};
use crate::crypto::WrappedKey;
use chrono::Utc;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// Rows per multi-row statement: 26 columns × 1000 stays under SQLite's 32,766 variables.
const CHUNK: usize = 1000;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The embedded default: one file, WAL mode. `synchronous=NORMAL` keeps every commit across
/// a process crash (the WAL is written before commit returns); only an OS crash or power
/// loss can drop the newest commits, and the source offsets roll back with them.
#[derive(Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Unavailable(sqlx::Error::Io(e)))?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn expected_version() -> i64 {
    MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
}

impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn check_schema(&self) -> Result<(), StoreError> {
        let exists: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM sqlite_master WHERE type='table' AND name='_sqlx_migrations'",
        )
        .fetch_optional(&self.pool)
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
            "SELECT source_partition, next_offset FROM source_offsets WHERE source = ?",
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
        let mut out = Vec::new();
        for chunk in accounts.chunks(500) {
            let placeholders = vec!["?"; chunk.len()].join(",");
            let sql = format!(
                "SELECT account_id, state FROM detector_state WHERE account_id IN ({placeholders})"
            );
            let mut q = sqlx::query_as::<_, (String, String)>(&sql);
            for a in chunk {
                q = q.bind(a);
            }
            out.extend(q.fetch_all(&self.pool).await?);
        }
        Ok(out)
    }

    async fn get_or_create_data_keys(
        &self,
        proposed: &[(String, WrappedKey)],
    ) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(proposed.len());
        for (account, key) in proposed {
            sqlx::query(
                "INSERT INTO data_keys (account_id, key_id, kek_id, wrapped, created_at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (account_id) DO NOTHING",
            )
            .bind(account)
            .bind(&key.key_id)
            .bind(&key.kek_id)
            .bind(&key.wrapped)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            let (key_id, kek_id, wrapped): (String, String, Vec<u8>) = sqlx::query_as(
                "SELECT key_id, kek_id, wrapped FROM data_keys WHERE account_id = ?",
            )
            .bind(account)
            .fetch_one(&mut *tx)
            .await?;
            out.push((
                account.clone(),
                WrappedKey {
                    key_id,
                    kek_id,
                    wrapped,
                },
            ));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn commit(&self, batch: &CommitBatch) -> Result<CommitOutcome, StoreError> {
        let now = Utc::now();
        let now_s = format_ts(now);
        let mut outcome = CommitOutcome::default();
        let (rows, mut dead) = dedupe_within_batch(&batch.rows, &mut outcome, now);
        let mut tx = self.pool.begin().await?;
        // Multi-row statements: every statement is a round trip to sqlx's SQLite worker
        // thread, which costs far more than the insert itself.
        let mut inserted = HashSet::new();
        for chunk in rows.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO record_ids (transaction_id, digest, outcome) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.transaction_id)
                    .push_bind(&r.digest)
                    .push_bind(r.id_outcome());
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING transaction_id");
            let ids: Vec<String> = q.build_query_scalar().fetch_all(&mut *tx).await?;
            inserted.extend(ids);
        }
        let mut existing = HashMap::new();
        let others: Vec<&str> = rows
            .iter()
            .map(|r| r.transaction_id.as_str())
            .filter(|id| !inserted.contains(*id))
            .collect();
        for chunk in others.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT transaction_id, digest FROM record_ids WHERE transaction_id IN (",
            );
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            let found: Vec<(String, String)> = q.build_query_as().fetch_all(&mut *tx).await?;
            existing.extend(found);
        }
        let (fresh, dups) = classify(
            &rows,
            &existing,
            |id| inserted.contains(id),
            &mut outcome,
            now,
        );
        dead.extend(dups);
        outcome.duplicate_ids = dead.len() as u64;
        for table in ["transactions", "quarantine"] {
            let part: Vec<&TxnRow> = fresh
                .iter()
                .copied()
                .filter(|r| r.is_quarantine() == (table == "quarantine"))
                .collect();
            for chunk in part.chunks(CHUNK) {
                let mut q = QueryBuilder::<Sqlite>::new(format!(
                    "INSERT INTO {table} (transaction_id, account_id, ts, amount, currency, merchant, mcc, country, \
                     channel, category, description, customer_name_enc, customer_email_enc, card_number_enc, \
                     iban_enc, key_id, extra, risk_score, findings, decision, reasons, policy_version, source, \
                     source_partition, source_offset, committed_at) "
                ));
                q.push_values(chunk, |mut b, r| {
                    b.push_bind(&r.transaction_id)
                        .push_bind(&r.account_id)
                        .push_bind(format_ts(r.ts))
                        .push_bind(&r.amount)
                        .push_bind(&r.currency)
                        .push_bind(&r.merchant)
                        .push_bind(&r.mcc)
                        .push_bind(&r.country)
                        .push_bind(&r.channel)
                        .push_bind(&r.category)
                        .push_bind(&r.description)
                        .push_bind(&r.customer_name_enc)
                        .push_bind(&r.customer_email_enc)
                        .push_bind(&r.card_number_enc)
                        .push_bind(&r.iban_enc)
                        .push_bind(&r.key_id)
                        .push_bind(&r.extra)
                        .push_bind(r.risk_score)
                        .push_bind(&r.findings)
                        .push_bind(&r.decision)
                        .push_bind(&r.reasons)
                        .push_bind(&r.policy_version)
                        .push_bind(&r.source)
                        .push_bind(r.partition)
                        .push_bind(r.offset)
                        .push_bind(&now_s);
                });
                q.build().execute(&mut *tx).await?;
            }
        }
        let review: Vec<&TxnRow> = fresh
            .iter()
            .copied()
            .filter(|r| r.decision == "review")
            .collect();
        for chunk in review.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO workflows (workflow_id, kind, subject, account_id, status, created_at, updated_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(format!("investigation:{}", r.transaction_id))
                    .push_bind("investigation")
                    .push_bind(&r.transaction_id)
                    .push_bind(&r.account_id)
                    .push_bind("runnable")
                    .push_bind(&now_s)
                    .push_bind(&now_s);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        dead.extend(batch.dead_letters.iter().cloned());
        let mut new_dead_keys = super::outbox::DeadKeys::new();
        for chunk in dead.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO dead_letters (source, source_partition, source_offset, transaction_id, reason, detail, \
                 payload, received_at) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(&d.source)
                    .push_bind(d.partition)
                    .push_bind(d.offset)
                    .push_bind(&d.transaction_id)
                    .push_bind(&d.reason)
                    .push_bind(&d.detail)
                    .push_bind(&d.payload)
                    .push_bind(format_ts(d.received_at));
            });
            q.push(" ON CONFLICT DO NOTHING RETURNING source, source_partition, source_offset");
            let inserted = q.build().fetch_all(&mut *tx).await?;
            outcome.dead_letters += inserted.len() as u64;
            new_dead_keys.extend(inserted.into_iter().map(|r| {
                (
                    r.get::<String, _>(0),
                    r.get::<i32, _>(1),
                    r.get::<i64, _>(2),
                )
            }));
        }
        if !batch.publish.is_empty() {
            let out = super::outbox::entries(&batch.publish, &fresh, &dead, &new_dead_keys);
            for chunk in out.chunks(CHUNK) {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO outbox (topic, message_key, payload, headers) ",
                );
                q.push_values(chunk, |mut b, o| {
                    b.push_bind(&o.topic)
                        .push_bind(&o.key)
                        .push_bind(&o.payload)
                        .push_bind(&o.headers);
                });
                q.build().execute(&mut *tx).await?;
            }
        }
        for chunk in batch.detector_state.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO detector_state (account_id, state, updated_at) ",
            );
            q.push_values(chunk, |mut b, (account, state)| {
                b.push_bind(account).push_bind(state).push_bind(&now_s);
            });
            q.push(
                " ON CONFLICT (account_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            );
            q.build().execute(&mut *tx).await?;
        }
        for o in &batch.offsets {
            sqlx::query(
                "INSERT INTO source_offsets (source, source_partition, next_offset, updated_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (source, source_partition) DO UPDATE SET \
                 next_offset = MAX(source_offsets.next_offset, excluded.next_offset), \
                 updated_at = excluded.updated_at",
            )
            .bind(&o.source)
            .bind(o.partition)
            .bind(o.next_offset)
            .bind(&now_s)
            .execute(&mut *tx)
            .await?;
        }
        if !fresh.is_empty() {
            let head: (i64, String) =
                sqlx::query_as("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await?;
            let chain = extend_chain(head, &fresh);
            for chunk in chain.chunks(CHUNK) {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO decision_log (seq, transaction_id, account_id, policy_path, policy_version, result, \
                     reasons, findings, decided_at, prev_hash, row_hash) ",
                );
                q.push_values(chunk, |mut b, c| {
                    b.push_bind(c.seq)
                        .push_bind(&c.transaction_id)
                        .push_bind(&c.account_id)
                        .push_bind(&c.policy_path)
                        .push_bind(&c.policy_version)
                        .push_bind(&c.result)
                        .push_bind(&c.reasons)
                        .push_bind(&c.findings)
                        .push_bind(&c.decided_at)
                        .push_bind(&c.prev_hash)
                        .push_bind(&c.row_hash);
                });
                q.build().execute(&mut *tx).await?;
            }
            if let Some(last) = chain.last() {
                sqlx::query("UPDATE audit_chain_head SET last_seq = ?, last_hash = ? WHERE id = 1")
                    .bind(last.seq)
                    .bind(&last.row_hash)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(outcome)
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
             decided_at, prev_hash, row_hash FROM decision_log WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ChainRow {
                    seq: r.try_get(0)?,
                    transaction_id: r.try_get(1)?,
                    account_id: r.try_get(2)?,
                    policy_path: r.try_get(3)?,
                    policy_version: r.try_get(4)?,
                    result: r.try_get(5)?,
                    reasons: r.try_get(6)?,
                    findings: r.try_get(7)?,
                    decided_at: r.try_get(8)?,
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

    async fn export_oldest_waiting(&self) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
        let at: Option<String> = sqlx::query_scalar(
            "SELECT decided_at FROM decision_log WHERE seq = \
             COALESCE((SELECT MAX(end_seq) FROM export_ledger WHERE status = 'done'), 0) + 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        at.map(|t| parse_ts(&t))
            .transpose()
            .map_err(StoreError::from)
    }

    async fn outbox_pending(&self, limit: i64) -> Result<Vec<super::OutboxEntry>, StoreError> {
        let rows: Vec<super::outbox::EntryColumns> = sqlx::query_as(
            "SELECT id, topic, message_key, payload, headers, out_partition, floor_offset, \
             (julianday('now') - sent_at) * 86400.0 FROM outbox ORDER BY id LIMIT ?",
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
        let mut tx = self.pool.begin().await?;
        let mut marked = Vec::with_capacity(sent.len());
        for (id, to) in sent {
            let done = sqlx::query(
                "UPDATE outbox SET out_partition = ?, floor_offset = ?, sent_at = julianday('now') \
                 WHERE id = ? AND out_partition IS NULL",
            )
            .bind(to.partition)
            .bind(to.floor)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 1 {
                marked.push(*id);
            }
        }
        tx.commit().await?;
        Ok(marked)
    }

    async fn outbox_settle(
        &self,
        delivered: &[i64],
        not_delivered: &[i64],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in delivered.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM outbox WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        for chunk in not_delivered.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "UPDATE outbox SET out_partition = NULL, floor_offset = NULL, sent_at = NULL WHERE id IN (",
            );
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
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
        Ok(Some(super::RelayLease::embedded()))
    }

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        Ok(
            sqlx::query_as("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }
}

fn parse_ts(s: &str) -> Result<chrono::DateTime<Utc>, sqlx::Error> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn export_row(r: &sqlx::sqlite::SqliteRow) -> Result<(i64, super::TxnRow), sqlx::Error> {
    let ts: String = r.try_get(3)?;
    let decided: String = r.try_get(24)?;
    Ok((
        r.try_get(0)?,
        super::TxnRow {
            transaction_id: r.try_get(1)?,
            digest: String::new(),
            account_id: r.try_get(2)?,
            ts: parse_ts(&ts)?,
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
            decided_at: parse_ts(&decided)?,
            source: r.try_get(25)?,
            partition: r.try_get(26)?,
            offset: r.try_get(27)?,
        },
    ))
}

impl SqliteStore {
    pub(crate) async fn export_claim_impl(
        &self,
        min_rows: i64,
        max_rows: i64,
        flush: bool,
    ) -> Result<Option<super::ExportRange>, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A write first, so this transaction takes SQLite's write lock up front.
        sqlx::query("UPDATE export_ledger SET status = status WHERE 0")
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
        let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(end_seq), 0) FROM export_ledger")
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
        sqlx::query("INSERT INTO export_ledger (start_seq, end_seq, status, created_at) VALUES (?, ?, 'pending', ?)")
            .bind(range.start)
            .bind(range.end)
            .bind(format_ts(Utc::now()))
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
        for (table, dest) in [
            ("transactions", &mut out.transactions),
            ("quarantine", &mut out.quarantine),
        ] {
            let sql = format!(
                "SELECT {} FROM decision_log d JOIN {table} t ON t.transaction_id = d.transaction_id \
                 WHERE d.seq > ? AND d.seq <= ? ORDER BY d.seq",
                super::rows::EXPORT_COLUMNS
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
            "UPDATE export_ledger SET status = 'done', objects = ?, rows_exported = ?, finished_at = ? \
             WHERE start_seq = ? AND end_seq = ?",
        )
        .bind(serde_json::to_string(objects).unwrap_or_else(|_| "[]".into()))
        .bind(rows)
        .bind(format_ts(Utc::now()))
        .bind(range.start)
        .bind(range.end)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn export_backlog_impl(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT (SELECT last_seq FROM audit_chain_head WHERE id = 1) - \
             COALESCE((SELECT MAX(end_seq) FROM export_ledger WHERE status = 'done'), 0)",
        )
        .fetch_one(&self.pool)
        .await?)
    }
}
