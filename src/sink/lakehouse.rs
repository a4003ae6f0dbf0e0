use super::parquet_files::{decisions_batch, encode, transactions_batch};
use crate::store::{ExportRange, Store, StoreError, TxnRow};
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, PutPayload};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum LakehouseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("object store: {0}")]
    Object(#[from] object_store::Error),
    #[error("encoding Parquet: {0}")]
    Parquet(String),
    #[error("cannot prepare the local lakehouse folder: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ExportReport {
    pub ranges: u64,
    pub rows: u64,
    pub objects: Vec<String>,
    pub bytes: u64,
}

/// Exports committed rows as Hive-partitioned Parquet (`table=…/date=…/part-…`). Work is
/// cut into decision-log ranges recorded in the store's ledger; object keys derive from the
/// range, so a retry after a crash overwrites the same objects instead of duplicating rows.
pub struct Lakehouse {
    objects: Arc<dyn ObjectStore>,
    /// Fewer waiting rows than this are left to accumulate (files of useful size), unless
    /// flushing.
    pub min_rows: i64,
    pub max_rows: i64,
}

impl Lakehouse {
    pub fn new(objects: Arc<dyn ObjectStore>) -> Self {
        Self {
            objects,
            min_rows: 50_000,
            max_rows: 250_000,
        }
    }

    pub fn local(dir: &std::path::Path) -> Result<Self, LakehouseError> {
        std::fs::create_dir_all(dir)?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self::new(Arc::new(fs)))
    }

    /// Exports every range that is ready (all waiting rows when `flush`).
    pub async fn export_ready<S: Store>(
        &self,
        store: &S,
        flush: bool,
    ) -> Result<ExportReport, LakehouseError> {
        let mut report = ExportReport::default();
        while let Some(range) = store
            .export_claim(self.min_rows, self.max_rows, flush)
            .await?
        {
            self.export_range(store, range, &mut report).await?;
        }
        Ok(report)
    }

    async fn export_range<S: Store>(
        &self,
        store: &S,
        range: ExportRange,
        report: &mut ExportReport,
    ) -> Result<(), LakehouseError> {
        let rows = store.export_rows(range).await?;
        let part = format!("part-{:012}-{:012}.parquet", range.start, range.end);
        let mut written = Vec::new();
        let mut count = 0u64;
        for (table, data) in [
            ("transactions", &rows.transactions),
            ("quarantine", &rows.quarantine),
        ] {
            for (date, group) in
                by_date(data, |(_, r): &(i64, TxnRow)| r.ts.date_naive().to_string())
            {
                let batch = transactions_batch(&group)
                    .map_err(|e| LakehouseError::Parquet(e.to_string()))?;
                let key = format!("table={table}/date={date}/{part}");
                report.bytes += self.put(&key, &batch).await?;
                count += group.len() as u64;
                written.push(key);
            }
        }
        for (date, group) in by_date(&rows.decisions, |r| {
            r.decided_at.get(..10).unwrap_or("unknown").to_owned()
        }) {
            let batch =
                decisions_batch(&group).map_err(|e| LakehouseError::Parquet(e.to_string()))?;
            let key = format!("table=decision_log/date={date}/{part}");
            report.bytes += self.put(&key, &batch).await?;
            written.push(key);
        }
        store.export_done(range, &written, count as i64).await?;
        report.ranges += 1;
        report.rows += count;
        report.objects.extend(written);
        Ok(())
    }

    /// One PUT per object: readers see the whole file or none (the local store writes a
    /// temporary file and renames it; S3 makes a single PUT visible atomically).
    async fn put(
        &self,
        key: &str,
        batch: &arrow_array::RecordBatch,
    ) -> Result<u64, LakehouseError> {
        let bytes = encode(batch).map_err(|e| LakehouseError::Parquet(e.to_string()))?;
        let n = bytes.len() as u64;
        self.objects
            .put(&ObjPath::from(key), PutPayload::from(bytes))
            .await?;
        Ok(n)
    }
}

fn by_date<'a, T>(rows: &'a [T], date: impl Fn(&T) -> String) -> BTreeMap<String, Vec<&'a T>> {
    let mut out: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for r in rows {
        out.entry(date(r)).or_default().push(r);
    }
    out
}
