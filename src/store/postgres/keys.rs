//! PostgreSQL's data keys and erasures (shared SQL).

use super::{stmts, PgStore};
use crate::crypto::WrappedKey;
use crate::store::keys::{to_pair, KeyRow};
use crate::store::sql;
use crate::store::{Erasure, KeyStore, StoreError};

impl KeyStore for PgStore {
    async fn data_keys_page(
        &self,
        after_account: &str,
        limit: i64,
    ) -> Result<Vec<(String, WrappedKey)>, StoreError> {
        let rows: Vec<KeyRow> = sqlx::query_as(sql::DATA_KEYS_PAGE)
            .bind(after_account)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(to_pair).collect())
    }

    async fn data_key(&self, account: &str) -> Result<Option<WrappedKey>, StoreError> {
        let row: Option<KeyRow> = sqlx::query_as(sql::DATA_KEY)
            .bind(account)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| to_pair(r).1))
    }

    async fn replace_wrapped_key(
        &self,
        account: &str,
        old: &WrappedKey,
        new: &WrappedKey,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql::REPLACE_WRAPPED_KEY)
            .bind(&new.kek_id)
            .bind(&new.wrapped)
            .bind(account)
            .bind(&old.key_id)
            .bind(&old.kek_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn erase_account(&self, account: &str) -> Result<Erasure, StoreError> {
        let mut tx = self.pool.begin().await?;
        let key_id: Option<String> = sqlx::query_scalar(sql::DELETE_DATA_KEY)
            .bind(account)
            .fetch_optional(&mut *tx)
            .await?;
        sqlx::query(sql::DELETE_DETECTOR_STATE)
            .bind(account)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&stmts().insert_erasure)
            .bind(account)
            .bind(&key_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Erasure {
            account_id: account.to_owned(),
            key_id,
        })
    }

    async fn erasures_after(&self, after_id: i64) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(sqlx::query_as(sql::ERASURES_AFTER)
            .bind(after_id)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn erasure_head(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar::<_, Option<i64>>(sql::ERASURE_HEAD)
            .fetch_one(&self.pool)
            .await?
            .unwrap_or(0))
    }
}
