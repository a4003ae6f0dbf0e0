//! PostgreSQL's commit role: a batch in one transaction, and what a batch reads first.

use super::{Cols, PgStore};
use crate::crypto::WrappedKey;
use crate::store::copy_text;
use crate::store::lineage;
use crate::store::rows::{classify, dedupe_within_batch, extend_chain};
use crate::store::sql;
use crate::store::{
    CommitBatch, CommitOutcome, CommitStore, CopyLines, Counts, StoreError, TxnRow,
};
use chrono::Utc;
use sqlx::Row;
use std::collections::{HashMap, HashSet};

const CHAIN_HEAD_FOR_UPDATE: &str =
    "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1 FOR UPDATE";

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
        let mut replays = Vec::new();
        let (rows, mut dead) = dedupe_within_batch(&batch.rows, &mut outcome, &mut replays, now);
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
                classify(
                    &rows,
                    &HashMap::new(),
                    |_| true,
                    &mut outcome,
                    &mut replays,
                    now,
                )
            }
            IdWrite::Upsert => {
                let (existing, inserted) = upsert_ids(&mut tx, &rows).await?;
                classify(
                    &rows,
                    &existing,
                    |id| inserted.contains(id),
                    &mut outcome,
                    &mut replays,
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
        let mut new_dead_keys = crate::store::outbox::DeadKeys::new();
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
        if !replays.is_empty() {
            sqlx::query(
                "INSERT INTO record_replays (transaction_id, source, source_partition, source_offset, seen_at) \
                 SELECT t, s, p, o, now() FROM UNNEST($1::text[], $2::text[], $3::int4[], $4::int8[]) \
                 AS u(t, s, p, o) ORDER BY t COLLATE \"C\", s, p, o ON CONFLICT DO NOTHING",
            )
            .bind(replays.iter().map(|r| r.transaction_id.as_str()).collect::<Cols<_>>())
            .bind(replays.iter().map(|r| r.source.as_str()).collect::<Cols<_>>())
            .bind(replays.iter().map(|r| r.partition).collect::<Cols<_>>())
            .bind(replays.iter().map(|r| r.offset).collect::<Cols<_>>())
            .execute(&mut *tx)
            .await?;
        }
        let out = if batch.publish.is_empty() {
            Vec::new()
        } else {
            crate::store::outbox::entries(&batch.publish, &fresh, &dead, &new_dead_keys)
        };
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

        if let Some(target) = &batch.lineage {
            let new_dead = lineage::inserted_dead(&dead, &new_dead_keys);
            let tallies = lineage::commit_tallies(target, &fresh, &new_dead, &out);
            if !tallies.is_empty() {
                sqlx::query(
                    "INSERT INTO lineage_tallies (run_id, item, row_count, byte_count) \
                     SELECT $1, i, r, b FROM UNNEST($2::text[], $3::int8[], $4::int8[]) AS t(i, r, b) \
                     ON CONFLICT (run_id, item) DO UPDATE SET \
                     row_count = lineage_tallies.row_count + excluded.row_count, \
                     byte_count = lineage_tallies.byte_count + excluded.byte_count",
                )
                .bind(&target.run_id)
                .bind(tallies.iter().map(|t| t.item.as_str()).collect::<Cols<_>>())
                .bind(tallies.iter().map(|t| t.rows).collect::<Cols<_>>())
                .bind(tallies.iter().map(|t| t.bytes).collect::<Cols<_>>())
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
            let head: (i64, String) = sqlx::query_as(CHAIN_HEAD_FOR_UPDATE)
                .fetch_one(&mut *tx)
                .await?;
            let chain = extend_chain(head, &fresh);
            let mut text = String::with_capacity(chain.len() * 400);
            for c in &chain {
                copy_text::chain_line(&mut text, c);
            }
            copy_in(&mut tx, "decision_log", copy_text::CHAIN_COLUMNS, &text).await?;
            if let Some(last) = chain.last() {
                sqlx::query(sql::SET_CHAIN_HEAD)
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
    rows: &[&TxnRow],
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

impl CommitStore for PgStore {
    fn overlaps_commits(&self) -> bool {
        true
    }

    fn encode_ahead(&self, batch: &mut CommitBatch) {
        batch.copy_lines = Some(CopyLines::encode(batch.rows.iter()));
    }

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
        let row = sqlx::query(sql::COUNTS).fetch_one(&self.pool).await?;
        Ok(Counts {
            transactions: row.try_get(0)?,
            quarantine: row.try_get(1)?,
            dead_letters: row.try_get(2)?,
            decision_log: row.try_get(3)?,
        })
    }
}
