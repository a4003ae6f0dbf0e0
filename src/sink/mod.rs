//! Where committed results go after the database: the Parquet lakehouse, in a local folder
//! or an S3-compatible bucket, the Kafka output topics (through the outbox), and the
//! OpenLineage backend (through the lineage outbox).

mod export_loop;
pub mod kafka_publisher;
mod lakehouse;
pub mod lineage_relay;
mod parquet_files;

pub use export_loop::{export_periodically, flush_before, FLUSH_EVERY};
pub use lakehouse::{
    ExportReport, ExportRuns, ExportedTable, Lakehouse, LakehouseError, CONNECT_TIMEOUT,
    MAX_RETRIES, PROBE_TIMEOUT, REQUEST_TIMEOUT, RETRY_TIMEOUT,
};
