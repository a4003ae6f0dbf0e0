//! SQLite's outbox: one writer, so marking goes row by row and settling by `IN` lists; the
//! relay lease is implicit (one process by construction).

use super::{stmts, SqliteStore, CHUNK};
use crate::store::outbox::{entry_from, EntryColumns};
use crate::store::sql;
use crate::store::sql::Dialect;
use crate::store::{
    format_ts, Delivered, OutboxEntry, OutboxStore, RelayLease, SentTo, StoreError,
};
use sqlx::{QueryBuilder, Sqlite};

impl OutboxStore for SqliteStore {
    async fn outbox_pending(&self, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows: Vec<EntryColumns> = sqlx::query_as(&stmts().outbox_pending)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(entry_from).collect())
    }

    async fn outbox_mark_sent(&self, sent: &[(i64, SentTo)]) -> Result<Vec<i64>, StoreError> {
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
        delivered: &[Delivered],
        not_delivered: &[i64],
    ) -> Result<(), StoreError> {
        let now = format_ts(chrono::Utc::now());
        let lineage = crate::store::journey::statements(Dialect::Sqlite);
        let mut tx = self.pool.begin().await?;
        for chunk in delivered.chunks(CHUNK) {
            // Where each landed, kept before its outbox row goes.
            let mut q = QueryBuilder::<Sqlite>::new("WITH d(id, off) AS (");
            q.push_values(chunk, |mut b, d| {
                b.push_bind(d.id).push_bind(d.offset);
            });
            q.push(") ");
            q.push(&lineage.publish_head);
            q.push_bind(&now);
            q.push(&lineage.publish_tail);
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM outbox WHERE id IN (");
            let mut list = q.separated(", ");
            for d in chunk {
                list.push_bind(d.id);
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
        Ok(sqlx::query_scalar(sql::OUTBOX_BACKLOG)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn relay_lease(&self) -> Result<Option<RelayLease>, StoreError> {
        Ok(Some(RelayLease::embedded()))
    }
}
