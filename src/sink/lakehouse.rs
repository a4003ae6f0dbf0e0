use super::parquet_files::{decisions_batch, encode, transactions_batch};
use crate::config::LakehouseConfig;
use crate::store::{ExportRange, ExportRows, LineageStep, Store, StoreError, TxnRow};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjPath;
use object_store::{BackoffConfig, ClientConfigKey, ObjectStore, PutPayload, RetryConfig};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Connecting to the store: an unreachable host fails fast.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// One request, upload included: files are tens of MB, so this allows for a slow link
/// without letting a stalled store hang the exporter.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Retries of one request (connection errors, 5xx, throttling), within `RETRY_TIMEOUT`.
pub const MAX_RETRIES: usize = 3;
pub const RETRY_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on [`Lakehouse::probe`], so a health check never waits on a stalled store.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// Objects of one range uploaded at once.
const UPLOAD_CONCURRENCY: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum LakehouseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("S3 bucket `{bucket}` does not exist at {endpoint}: create it (the pipeline does not create buckets); exports wait in the ledger until it exists")]
    BucketMissing { bucket: String, endpoint: String },
    #[error("the object store {target} refused the credentials: {source}")]
    Denied {
        target: String,
        source: object_store::Error,
    },
    #[error("object store {target}: {source}")]
    Object {
        target: String,
        source: object_store::Error,
    },
    #[error("invalid lakehouse configuration: {0}")]
    Config(String),
    #[error("encoding Parquet: {0}")]
    Parquet(String),
    #[error("cannot prepare the local lakehouse folder: {0}")]
    Io(#[from] std::io::Error),
}

impl LakehouseError {
    /// The store is down, slow or misconfigured (as opposed to a database or encoding
    /// problem): the ranges stay pending and are retried later.
    pub fn is_store_unavailable(&self) -> bool {
        matches!(
            self,
            Self::BucketMissing { .. } | Self::Denied { .. } | Self::Object { .. }
        )
    }
}

/// Reports each exported range as a lineage run (decision 0013); the app implements it.
pub trait ExportRuns: Send + Sync {
    /// A new export run's id and the step that opens it (written before the upload).
    fn begin(&self) -> (String, LineageStep);
    /// The step that closes `run`: COMPLETE with what was written (committed with
    /// `export_done`), or FAIL with the error (the range stays pending and is retried).
    fn end(&self, run: &str, outcome: Result<&[ExportedTable], &str>) -> LineageStep;
}

/// What one range wrote to one lakehouse table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedTable {
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub files: u64,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ExportReport {
    pub ranges: u64,
    pub rows: u64,
    pub objects: Vec<String>,
    pub bytes: u64,
}

enum Target {
    Local(PathBuf),
    /// A store handed in by the caller (tests, benchmarks).
    Other,
    S3 {
        endpoint: String,
        bucket: String,
    },
}

/// Exports committed rows as Hive-partitioned Parquet (`table=…/date=…/part-…`), to a
/// local folder or an S3-compatible bucket. Work is cut into decision-log ranges recorded
/// in the store's ledger; object keys derive from the range, so a retry after a crash or an
/// outage overwrites the same objects instead of duplicating rows.
pub struct Lakehouse {
    objects: Arc<dyn ObjectStore>,
    target: Target,
    /// One export at a time per process (the periodic exporter and the final flush): both
    /// would claim the same pending range and upload the same objects twice.
    exporting: tokio::sync::Mutex<()>,
    /// Fewer waiting rows than this are left to accumulate (files of useful size), unless
    /// flushing.
    pub min_rows: i64,
    pub max_rows: i64,
    /// Lineage runs of the exports, when OpenLineage is on.
    pub runs: Option<Arc<dyn ExportRuns>>,
}

impl Lakehouse {
    pub fn new(objects: Arc<dyn ObjectStore>) -> Self {
        Self::with_target(objects, Target::Other)
    }

    fn with_target(objects: Arc<dyn ObjectStore>, target: Target) -> Self {
        Self {
            objects,
            target,
            exporting: tokio::sync::Mutex::new(()),
            min_rows: 50_000,
            // A range is held in memory while it is encoded (about 3 KB a row): this bounds
            // an export's footprint to ~60 MB. The soak run showed 250,000-row ranges as
            // RSS spikes of several hundred MB on every replica.
            max_rows: 20_000,
            runs: None,
        }
    }

    /// The S3 bucket when `S3_ENDPOINT` is set, else the local folder `$DATA_DIR/lakehouse`.
    /// Makes no request: an unreachable store is not a start-up failure (see [`Self::check`]).
    pub fn from_config(cfg: &LakehouseConfig) -> Result<Self, LakehouseError> {
        match &cfg.endpoint {
            None => Self::local(&cfg.local_dir),
            Some(endpoint) => {
                let keys = match (&cfg.access_key, &cfg.secret_key) {
                    (Some(k), Some(s)) => Some((k.expose().as_str(), s.expose().as_str())),
                    (None, None) => None,
                    _ => {
                        return Err(LakehouseError::Config(
                            "set both MINIO_ROOT_USER and MINIO_ROOT_PASSWORD, or neither (then the AWS credential chain applies)".into(),
                        ))
                    }
                };
                Self::s3(endpoint, &cfg.bucket, keys)
            }
        }
    }

    pub fn local(dir: &std::path::Path) -> Result<Self, LakehouseError> {
        std::fs::create_dir_all(dir)?;
        let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| {
            LakehouseError::Object {
                target: dir.display().to_string(),
                source: e,
            }
        })?;
        Ok(Self::with_target(
            Arc::new(fs),
            Target::Local(dir.to_path_buf()),
        ))
    }

    /// An S3-compatible bucket with path-style requests (MinIO, moto, S3). With `keys`
    /// `None`, credentials come from the standard AWS chain: `AWS_ACCESS_KEY_ID`/
    /// `AWS_SECRET_ACCESS_KEY`, web identity (IRSA on EKS: `AWS_WEB_IDENTITY_TOKEN_FILE`,
    /// `AWS_ROLE_ARN`), ECS/EKS Pod Identity container credentials, then instance metadata.
    /// The region comes from `AWS_REGION`/`AWS_DEFAULT_REGION` (default `us-east-1`).
    pub fn s3(
        endpoint: &str,
        bucket: &str,
        keys: Option<(&str, &str)>,
    ) -> Result<Self, LakehouseError> {
        let endpoint = endpoint.trim_end_matches('/');
        let shown = redact_userinfo(endpoint);
        let mut builder = AmazonS3Builder::from_env()
            .with_endpoint(endpoint)
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                format!("{}s", CONNECT_TIMEOUT.as_secs()),
            )
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                format!("{}s", REQUEST_TIMEOUT.as_secs()),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig {
                    init_backoff: Duration::from_millis(200),
                    max_backoff: Duration::from_secs(5),
                    base: 2.0,
                },
                max_retries: MAX_RETRIES,
                retry_timeout: RETRY_TIMEOUT,
            });
        if let Some((key, secret)) = keys {
            builder = builder
                .with_access_key_id(key)
                .with_secret_access_key(secret);
        }
        // Builder errors name the setting, never a credential value.
        let s3 = builder
            .build()
            .map_err(|e| LakehouseError::Config(format!("S3 bucket `{bucket}` at {shown}: {e}")))?;
        Ok(Self::with_target(
            Arc::new(s3),
            Target::S3 {
                endpoint: shown,
                bucket: bucket.to_owned(),
            },
        ))
    }

    /// Where the files go, for logs: `s3://BUCKET at ENDPOINT` or the folder.
    pub fn describe(&self) -> String {
        match &self.target {
            Target::Local(dir) => dir.display().to_string(),
            Target::Other => "the object store".into(),
            Target::S3 { endpoint, bucket } => format!("s3://{bucket} at {endpoint}"),
        }
    }

    /// One cheap request that tells whether the store is usable: a listing of an empty
    /// prefix in the bucket (the folder's existence for the local store). A missing bucket
    /// is [`LakehouseError::BucketMissing`].
    pub async fn check(&self) -> Result<(), LakehouseError> {
        match &self.target {
            Target::Local(dir) => {
                std::fs::metadata(dir)?;
                Ok(())
            }
            Target::S3 { .. } | Target::Other => {
                let prefix = ObjPath::from("_pfm_probe");
                match self.objects.list(Some(&prefix)).next().await {
                    None | Some(Ok(_)) => Ok(()),
                    Some(Err(e)) => Err(self.classify(e)),
                }
            }
        }
    }

    /// For `/health`'s `s3` check: true when [`Self::check`] succeeds within
    /// `PROBE_TIMEOUT`. Never an error, never a long wait.
    pub async fn probe(&self) -> bool {
        matches!(
            tokio::time::timeout(PROBE_TIMEOUT, self.check()).await,
            Ok(Ok(()))
        )
    }

    /// Logs whether the store is usable (at start-up); never fails: exports wait in the
    /// ledger until it is.
    pub async fn log_readiness(&self) {
        let target = self.describe();
        match tokio::time::timeout(PROBE_TIMEOUT * 2, self.check()).await {
            Ok(Ok(())) => tracing::info!(target = %target, "lakehouse store reachable"),
            Ok(Err(e @ LakehouseError::BucketMissing { .. })) => {
                tracing::error!(error = %e, "lakehouse bucket missing")
            }
            Ok(Err(e)) => tracing::warn!(
                target = %target, error = %e,
                "lakehouse store not usable yet; exports wait in the ledger"
            ),
            Err(_) => tracing::warn!(
                target = %target,
                "lakehouse store did not answer in time; exports wait in the ledger"
            ),
        }
    }

    /// Exports every range that is ready (all waiting rows when `flush`). Stops at the first
    /// failure: that range stays pending in the ledger and is retried first next time.
    pub async fn export_ready<S: Store>(
        &self,
        store: &S,
        flush: bool,
    ) -> Result<ExportReport, LakehouseError> {
        let _one_at_a_time = self.exporting.lock().await;
        let mut report = ExportReport::default();
        while let Some(range) = store
            .export_claim(self.min_rows, self.max_rows, flush)
            .await?
        {
            self.export_range(store, range, &mut report).await?;
        }
        Ok(report)
    }

    /// One range, as a lineage run when OpenLineage is on: its START before the upload, its
    /// COMPLETE in `export_done`'s transaction, FAIL if the range has to wait.
    async fn export_range<S: Store>(
        &self,
        store: &S,
        range: ExportRange,
        report: &mut ExportReport,
    ) -> Result<(), LakehouseError> {
        let Some(runs) = &self.runs else {
            return self.export_range_as(store, range, report, None).await;
        };
        let (run, open) = runs.begin();
        store.lineage_apply(open).await?;
        let result = self
            .export_range_as(store, range, report, Some((runs.as_ref(), run.as_str())))
            .await;
        if let Err(e) = &result {
            if let Err(le) = store
                .lineage_apply(runs.end(&run, Err(e.to_string().as_str())))
                .await
            {
                tracing::warn!(error = %le, "could not record the failed export's lineage run; the next start closes it");
            }
        }
        result
    }

    async fn export_range_as<S: Store>(
        &self,
        store: &S,
        range: ExportRange,
        report: &mut ExportReport,
        run: Option<(&dyn ExportRuns, &str)>,
    ) -> Result<(), LakehouseError> {
        let started = Instant::now();
        tracing::info!(
            start_seq = range.start,
            end_seq = range.end,
            "lakehouse export started"
        );
        let rows = store.export_rows(range).await?;
        let mut tables: Vec<ExportedTable> = [
            ("transactions", rows.transactions.len()),
            ("quarantine", rows.quarantine.len()),
            ("decision_log", rows.decisions.len()),
        ]
        .into_iter()
        .map(|(table, n)| ExportedTable {
            table: table.into(),
            rows: n as u64,
            bytes: 0,
            files: 0,
        })
        .collect();
        let read = started.elapsed();
        // Arrow building and zstd are CPU work: off the async workers that run the pipeline.
        let (objects, count) = tokio::task::spawn_blocking(move || encode_range(range, &rows))
            .await
            .map_err(|e| LakehouseError::Parquet(format!("encoder task failed: {e}")))??;
        let encoded = started.elapsed();
        let bytes: u64 = objects.iter().map(|o| o.bytes.len() as u64).sum();
        // One PUT per object: readers see a whole file or none (S3 makes a single PUT
        // visible atomically; the local store writes a temporary file and renames it).
        let uploads: Vec<_> = objects
            .iter()
            .map(|o| {
                let (store, path, bytes) = (
                    Arc::clone(&self.objects),
                    ObjPath::from(o.key.as_str()),
                    o.bytes.clone(),
                );
                async move { store.put(&path, PutPayload::from_bytes(bytes)).await }
            })
            .collect();
        futures::stream::iter(uploads)
            .buffer_unordered(UPLOAD_CONCURRENCY)
            .try_collect::<Vec<_>>()
            .await
            .map_err(|e| self.classify(e))?;
        for o in &objects {
            if let Some(t) = tables
                .iter_mut()
                .find(|t| o.key.starts_with(&format!("table={}/", t.table)))
            {
                t.bytes += o.bytes.len() as u64;
                t.files += 1;
            }
        }
        let written: Vec<String> = objects.into_iter().map(|o| o.key).collect();
        let lineage = run.map(|(runs, id)| runs.end(id, Ok(tables.as_slice())));
        store
            .export_done(range, &written, count as i64, lineage)
            .await?;
        let total = started.elapsed();
        tracing::info!(
            start_seq = range.start,
            end_seq = range.end,
            rows = count,
            objects = written.len(),
            bytes,
            read_ms = read.as_millis() as u64,
            encode_ms = (encoded - read).as_millis() as u64,
            upload_ms = (total - encoded).as_millis() as u64,
            "lakehouse range exported"
        );
        report.ranges += 1;
        report.rows += count;
        report.bytes += bytes;
        report.objects.extend(written);
        Ok(())
    }

    fn classify(&self, e: object_store::Error) -> LakehouseError {
        let target = self.describe();
        match (&self.target, &e) {
            // A PUT or a listing answered 404 only when the bucket itself is missing.
            (Target::S3 { endpoint, bucket }, _) if is_no_such_bucket(&e) => {
                LakehouseError::BucketMissing {
                    bucket: bucket.clone(),
                    endpoint: endpoint.clone(),
                }
            }
            (
                _,
                object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. },
            ) => LakehouseError::Denied { target, source: e },
            _ => LakehouseError::Object { target, source: e },
        }
    }
}

struct Object {
    key: String,
    bytes: Bytes,
}

/// The range's objects: one per table and date, named after the range.
fn encode_range(
    range: ExportRange,
    rows: &ExportRows,
) -> Result<(Vec<Object>, u64), LakehouseError> {
    let parquet = |e: &dyn std::fmt::Display| LakehouseError::Parquet(e.to_string());
    let mut out = Vec::new();
    let mut count = 0u64;
    for (table, data) in [
        ("transactions", &rows.transactions),
        ("quarantine", &rows.quarantine),
    ] {
        for (date, group) in by_date(data, |(_, r): &(i64, TxnRow)| r.ts.date_naive().to_string()) {
            let batch = transactions_batch(&group).map_err(|e| parquet(&e))?;
            out.push(Object {
                key: range.object_key(table, &date),
                bytes: Bytes::from(encode(&batch).map_err(|e| parquet(&e))?),
            });
            count += group.len() as u64;
        }
    }
    for (date, group) in by_date(&rows.decisions, |r| {
        r.decided_at.get(..10).unwrap_or("unknown").to_owned()
    }) {
        let batch = decisions_batch(&group).map_err(|e| parquet(&e))?;
        out.push(Object {
            key: range.object_key("decision_log", &date),
            bytes: Bytes::from(encode(&batch).map_err(|e| parquet(&e))?),
        });
    }
    Ok((out, count))
}

/// S3 and MinIO answer a request on a missing bucket with 404 `NoSuchBucket`. object_store
/// maps a PUT's 404 to `NotFound` (for a PUT that can only be the bucket) and keeps the
/// body of other answers in the message.
fn is_no_such_bucket(e: &object_store::Error) -> bool {
    if matches!(e, object_store::Error::NotFound { .. }) {
        return true;
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.to_string().contains("NoSuchBucket") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// `https://user:pass@host` → `https://host`: an endpoint is shown in logs and errors.
fn redact_userinfo(endpoint: &str) -> String {
    match endpoint.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = match rest.find('/') {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => endpoint.to_owned(),
    }
}

fn by_date<T>(rows: &[T], date: impl Fn(&T) -> String) -> BTreeMap<String, Vec<&T>> {
    let mut out: BTreeMap<String, Vec<&T>> = BTreeMap::new();
    for r in rows {
        out.entry(date(r)).or_default().push(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn s3_config(user: Option<&str>, password: Option<&str>) -> LakehouseConfig {
        LakehouseConfig {
            enabled: true,
            endpoint: Some("http://127.0.0.1:9".into()),
            bucket: "b".into(),
            access_key: user.map(|u| Secret::new(u.to_owned())),
            secret_key: password.map(|p| Secret::new(p.to_owned())),
            local_dir: PathBuf::from("unused"),
        }
    }

    #[test]
    fn endpoints_lose_their_userinfo() {
        assert_eq!(
            redact_userinfo("https://u:p@minio:9000/x"),
            "https://minio:9000/x"
        );
        assert_eq!(redact_userinfo("http://minio:9000"), "http://minio:9000");
    }

    #[test]
    fn half_a_key_pair_is_a_configuration_error_without_the_value() {
        let Err(e) = Lakehouse::from_config(&s3_config(Some("user"), None)) else {
            panic!("half a key pair accepted")
        };
        assert!(matches!(e, LakehouseError::Config(_)));
        let Err(e) = Lakehouse::from_config(&s3_config(None, Some("hunter2-secret"))) else {
            panic!("half a key pair accepted")
        };
        assert!(!e.to_string().contains("hunter2"));
    }

    #[tokio::test]
    async fn an_unreachable_store_fails_the_probe_quickly_and_names_no_secret() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let lh = Lakehouse::from_config(&s3_config(Some("user"), Some("hunter2-secret")))
            .expect("builds without a request");
        let t = Instant::now();
        assert!(!lh.probe().await);
        assert!(t.elapsed() <= PROBE_TIMEOUT + Duration::from_secs(1));
        let e = lh.check().await.expect_err("unreachable");
        assert!(e.is_store_unavailable());
        let text = format!("{e} {e:?}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[tokio::test]
    async fn local_folder_probe() {
        let dir = tempfile::tempdir().expect("tmp");
        let lh = Lakehouse::local(&dir.path().join("lake")).expect("local");
        assert!(lh.probe().await);
    }
}
