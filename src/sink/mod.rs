//! Where committed results go after the database: the Parquet lakehouse.

mod lakehouse;
mod parquet_files;

pub use lakehouse::{ExportReport, Lakehouse, LakehouseError};
