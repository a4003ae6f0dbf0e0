//! SQLite's export ledger. The SQL is shared with PostgreSQL ([`crate::store::sql`]); what is
//! SQLite's own is the clock (bound as text) and the row decoding (timestamps as text).

use super::{parse_ts, stmts, SqliteStore};
use crate::store::lineage::apply_lineage_step;
use crate::store::rows::format_ts;
use crate::store::sql;
use crate::store::{
    AuditLog, ExportLedger, ExportRange, ExportRows, LineageStep, StoreError, TxnRow,
};
use chrono::Utc;
use sqlx::Row;

impl ExportLedger for SqliteStore {
    async fn export_claim(
        &self,
        min_rows: i64,
        max_rows: i64,
        flush: bool,
    ) -> Result<Option<ExportRange>, StoreError> {
        let s = stmts();
        let mut tx = self.pool.begin().await?;
        sqlx::query(s.export_claim_lock).execute(&mut *tx).await?;
        let pending: Option<(i64, i64)> = sqlx::query_as(sql::EXPORT_PENDING)
            .fetch_optional(&mut *tx)
            .await?;
        if let Some((start, end)) = pending {
            tx.commit().await?;
            return Ok(Some(ExportRange { start, end }));
        }
        let last: i64 = sqlx::query_scalar(&s.export_last_end)
            .fetch_one(&mut *tx)
            .await?;
        let head: i64 = sqlx::query_scalar(sql::HEAD_SEQ)
            .fetch_one(&mut *tx)
            .await?;
        let waiting = head - last;
        if waiting <= 0 || (waiting < min_rows && !flush) {
            return Ok(None);
        }
        let range = ExportRange {
            start: last,
            end: head.min(last + max_rows),
        };
        sqlx::query(&s.export_insert)
            .bind(range.start)
            .bind(range.end)
            .bind(format_ts(Utc::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(range))
    }

    async fn export_rows(&self, range: ExportRange) -> Result<ExportRows, StoreError> {
        let mut out = ExportRows::default();
        let [txn_sql, quarantine_sql] = &stmts().export_rows;
        for (sql, dest) in [
            (txn_sql, &mut out.transactions),
            (quarantine_sql, &mut out.quarantine),
        ] {
            let rows = sqlx::query(sql)
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

    async fn export_done(
        &self,
        range: ExportRange,
        objects: &[String],
        rows: i64,
        lineage: Option<LineageStep>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(&stmts().export_done)
            .bind(serde_json::to_string(objects).unwrap_or_else(|_| "[]".into()))
            .bind(rows)
            .bind(range.start)
            .bind(range.end)
            .bind(format_ts(Utc::now()))
            .execute(&mut *tx)
            .await?;
        if let Some(step) = lineage {
            apply_lineage_step!(tx, step);
        }
        tx.commit().await?;
        Ok(())
    }

    async fn export_backlog(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&stmts().export_backlog)
            .fetch_one(&self.pool)
            .await?)
    }

    async fn export_oldest_waiting(&self) -> Result<Option<chrono::DateTime<Utc>>, StoreError> {
        let at: Option<String> = sqlx::query_scalar(&stmts().export_oldest_waiting)
            .fetch_optional(&self.pool)
            .await?;
        at.map(|t| parse_ts(&t))
            .transpose()
            .map_err(StoreError::from)
    }
}

fn export_row(r: &sqlx::sqlite::SqliteRow) -> Result<(i64, TxnRow), sqlx::Error> {
    let ts: String = r.try_get(3)?;
    let decided: String = r.try_get(24)?;
    Ok((
        r.try_get(0)?,
        TxnRow {
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
            // Not exported (schema/lakehouse.md): the journey reads them from the table.
            received_at: None,
            pii_removed: None,
        },
    ))
}
