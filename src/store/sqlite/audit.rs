//! SQLite's audit log: the decision-log chain read back (shared SQL; `decided_at` is stored
//! as the RFC 3339 text the hash covers).

use super::SqliteStore;
use crate::store::sql;
use crate::store::{AuditLog, ChainRow, StoreError};
use sqlx::Row;

impl AuditLog for SqliteStore {
    async fn chain_rows(&self, after_seq: i64, limit: i64) -> Result<Vec<ChainRow>, StoreError> {
        let rows = sqlx::query(sql::CHAIN_ROWS)
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

    async fn chain_head(&self) -> Result<(i64, String), StoreError> {
        Ok(sqlx::query_as(sql::CHAIN_HEAD)
            .fetch_one(&self.pool)
            .await?)
    }
}
