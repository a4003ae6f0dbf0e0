//! PostgreSQL's lineage role. A process marks its run alive with a session advisory lock
//! held on a dedicated connection (released when the process or its connection dies), so a
//! starting replica can tell a crashed replica's runs from a live one's.

use super::PgStore;
use crate::store::lineage::{apply_lineage_step, run_lock_key};
use crate::store::{LineageEvent, LineageStep, LineageStore, OpenRun, RelayLease, StoreError};

/// The advisory-lock key of the lineage relay ("pfm-lineage" as digits).
const LINEAGE_RELAY_LOCK: i64 = 0x7066_6d6c_696e_0001;

impl PgStore {
    async fn try_lock(&self, key: i64) -> Result<Option<RelayLease>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        Ok(got.then(|| RelayLease::held(conn)))
    }
}

impl LineageStore for PgStore {
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

    async fn lineage_run_lease(&self, run_id: &str) -> Result<Option<RelayLease>, StoreError> {
        self.try_lock(run_lock_key(run_id)).await
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
        if !delivered.is_empty() {
            sqlx::query("DELETE FROM lineage_outbox WHERE id = ANY($1)")
                .bind(delivered)
                .execute(&mut *tx)
                .await?;
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
        self.try_lock(LINEAGE_RELAY_LOCK).await
    }
}
