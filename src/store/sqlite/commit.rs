//! SQLite's commit role: a batch in one transaction, as multi-row statements (every
//! statement is a round trip to sqlx's SQLite worker thread, which costs far more than the
//! insert itself).

use super::{SqliteStore, CHUNK};
use crate::crypto::WrappedKey;
use crate::store::lineage;
use crate::store::rows::{classify, dedupe_within_batch, extend_chain, format_ts};
use crate::store::sql;
use crate::store::{CommitBatch, CommitOutcome, CommitStore, Counts, StoreError, TxnRow};
use chrono::Utc;
use sqlx::{QueryBuilder, Row, Sqlite};
use std::collections::{HashMap, HashSet};

impl CommitStore for SqliteStore {
    async fn load_offsets(&self, source: &str) -> Result<HashMap<i32, i64>, StoreError> {
        let rows: Vec<(i32, i64)> = sqlx::query_as(sql::LOAD_OFFSETS)
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
        // Two multi-row statements per chunk instead of two per account: a run's first
        // batches meet mostly new accounts, and each statement is a worker round trip.
        let now = format_ts(Utc::now());
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(proposed.len());
        for chunk in proposed.chunks(CHUNK / 5) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO data_keys (account_id, key_id, kek_id, wrapped, created_at) ",
            );
            q.push_values(chunk, |mut b, (account, key)| {
                b.push_bind(account)
                    .push_bind(&key.key_id)
                    .push_bind(&key.kek_id)
                    .push_bind(&key.wrapped)
                    .push_bind(&now);
            });
            q.push(" ON CONFLICT (account_id) DO NOTHING");
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT account_id, key_id, kek_id, wrapped FROM data_keys WHERE account_id IN (",
            );
            let mut sep = q.separated(", ");
            for (account, _) in chunk {
                sep.push_bind(account);
            }
            q.push(")");
            let rows: Vec<(String, String, String, Vec<u8>)> =
                q.build_query_as().fetch_all(&mut *tx).await?;
            out.extend(rows.into_iter().map(|(account, key_id, kek_id, wrapped)| {
                (
                    account,
                    WrappedKey {
                        key_id,
                        kek_id,
                        wrapped,
                    },
                )
            }));
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn commit(&self, batch: &CommitBatch) -> Result<CommitOutcome, StoreError> {
        let now = Utc::now();
        let now_s = format_ts(now);
        let mut outcome = CommitOutcome::default();
        let mut replays = Vec::new();
        let (rows, mut dead) = dedupe_within_batch(&batch.rows, &mut outcome, &mut replays, now);
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
            &mut replays,
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
                     source_partition, source_offset, committed_at, received_at, pii_removed) "
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
                        .push_bind(&now_s)
                        .push_bind(r.received_at.map(format_ts))
                        .push_bind(&r.pii_removed);
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
        let mut new_dead_keys = crate::store::outbox::DeadKeys::new();
        for chunk in dead.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO dead_letters (source, source_partition, source_offset, transaction_id, reason, detail, \
                 payload, received_at, committed_at) ",
            );
            q.push_values(chunk, |mut b, d| {
                b.push_bind(&d.source)
                    .push_bind(d.partition)
                    .push_bind(d.offset)
                    .push_bind(&d.transaction_id)
                    .push_bind(&d.reason)
                    .push_bind(&d.detail)
                    .push_bind(&d.payload)
                    .push_bind(format_ts(d.received_at))
                    .push_bind(&now_s);
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
        for chunk in replays.chunks(CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO record_replays (transaction_id, source, source_partition, source_offset, seen_at) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(&r.transaction_id)
                    .push_bind(&r.source)
                    .push_bind(r.partition)
                    .push_bind(r.offset)
                    .push_bind(&now_s);
            });
            q.push(" ON CONFLICT DO NOTHING");
            q.build().execute(&mut *tx).await?;
        }
        let out = if batch.publish.is_empty() {
            Vec::new()
        } else {
            crate::store::outbox::entries(&batch.publish, &fresh, &dead, &new_dead_keys)
        };
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
        if let Some(target) = &batch.lineage {
            let new_dead = lineage::inserted_dead(&dead, &new_dead_keys);
            let tallies = lineage::commit_tallies(target, &fresh, &new_dead, &out);
            if !tallies.is_empty() {
                let mut q = QueryBuilder::<Sqlite>::new(
                    "INSERT INTO lineage_tallies (run_id, item, row_count, byte_count) ",
                );
                q.push_values(&tallies, |mut b, t| {
                    b.push_bind(&target.run_id)
                        .push_bind(&t.item)
                        .push_bind(t.rows)
                        .push_bind(t.bytes);
                });
                q.push(
                    " ON CONFLICT (run_id, item) DO UPDATE SET \
                     row_count = lineage_tallies.row_count + excluded.row_count, \
                     byte_count = lineage_tallies.byte_count + excluded.byte_count",
                );
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
            let head: (i64, String) = sqlx::query_as(sql::CHAIN_HEAD).fetch_one(&mut *tx).await?;
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
                sqlx::query(sql::SET_CHAIN_HEAD)
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
        let row = sqlx::query(sql::COUNTS).fetch_one(&self.pool).await?;
        Ok(Counts {
            transactions: row.try_get(0)?,
            quarantine: row.try_get(1)?,
            dead_letters: row.try_get(2)?,
            decision_log: row.try_get(3)?,
        })
    }
}
