//! SQLite's lineage role: one process by construction, so every lease is granted.

use super::SqliteStore;
use crate::store::lineage::apply_lineage_step;
use crate::store::{LineageEvent, LineageStep, LineageStore, OpenRun, RelayLease, StoreError};
use sqlx::{QueryBuilder, Sqlite};

impl LineageStore for SqliteStore {
    async fn lineage_open_runs(&self) -> Result<Vec<OpenRun>, StoreError> {
        let rows: Vec<(String, Option<String>, String, String, String)> = sqlx::query_as(
            "SELECT run_id, parent_run_id, kind, event_key, start_event FROM lineage_runs \
             ORDER BY started_at, run_id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(run_id, parent_run_id, kind, key, json)| OpenRun {
                run_id,
                parent_run_id,
                kind,
                start: LineageEvent { key, json },
            })
            .collect())
    }

    async fn lineage_apply(&self, step: LineageStep) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let n = apply_lineage_step!(tx, step);
        tx.commit().await?;
        Ok(n)
    }

    async fn lineage_run_lease(&self, _run_id: &str) -> Result<Option<RelayLease>, StoreError> {
        Ok(Some(RelayLease::embedded()))
    }

    async fn lineage_pending(&self, limit: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, event FROM lineage_outbox WHERE rejected IS NULL ORDER BY id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn lineage_settle(
        &self,
        delivered: &[i64],
        rejected: &[(i64, String)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for chunk in delivered.chunks(super::CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("DELETE FROM lineage_outbox WHERE id IN (");
            let mut list = q.separated(", ");
            for id in chunk {
                list.push_bind(id);
            }
            q.push(")");
            q.build().execute(&mut *tx).await?;
        }
        for (id, reason) in rejected {
            sqlx::query("UPDATE lineage_outbox SET rejected = $1 WHERE id = $2")
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn lineage_backlog(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM lineage_outbox WHERE rejected IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn lineage_relay_lease(&self) -> Result<Option<RelayLease>, StoreError> {
        Ok(Some(RelayLease::embedded()))
    }
}
