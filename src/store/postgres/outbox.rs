//! PostgreSQL's outbox: set-based marking and settling (`UNNEST`, `= ANY`), and the relay
//! lease as a session advisory lock.

use super::{stmts, Cols, PgStore};
use crate::store::outbox::{entry_from, EntryColumns};
use crate::store::sql;
use crate::store::sql::Dialect;
use crate::store::{Delivered, OutboxEntry, OutboxStore, RelayLease, SentTo, StoreError};
use std::sync::LazyLock;

/// `$1` delivered outbox ids, `$2` their offsets: into `publications`.
static SETTLE_PUBLICATIONS: LazyLock<String> = LazyLock::new(|| {
    let l = crate::store::journey::statements(Dialect::Postgres);
    format!(
        "WITH d AS (SELECT * FROM UNNEST($1::int8[], $2::int8[]) AS t(id, off)) {}now(){}",
        l.publish_head, l.publish_tail
    )
});

/// The advisory-lock key of the outbox relay ("pfm-outbox" as digits, unique to this schema).
const RELAY_LOCK: i64 = 0x7066_6d6f_7574_0001;

impl OutboxStore for PgStore {
    async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<EntryColumns> = sqlx::query_as(&stmts().outbox_pending)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(entry_from).collect())
    }

    async fn outbox_mark_sent(&self, sent: &[(i64, SentTo)]) -> Result<Vec<i64>, StoreError> {
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
        delivered: &[Delivered],
        not_delivered: &[i64],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        if !delivered.is_empty() {
            let ids: Cols<i64> = delivered.iter().map(|d| d.id).collect();
            // Where each landed, kept before its outbox row goes.
            sqlx::query(&SETTLE_PUBLICATIONS)
                .bind(&ids)
                .bind(delivered.iter().map(|d| d.offset).collect::<Cols<_>>())
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM outbox WHERE id = ANY($1)")
                .bind(&ids)
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
        Ok(sqlx::query_scalar(sql::OUTBOX_BACKLOG)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn relay_lease(&self) -> Result<Option<RelayLease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(RELAY_LOCK)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then(|| RelayLease::held(conn)))
    }
}
