//! SQLite's workflow role: the shared body in `store/workflow_impl.rs`, SQLite's
//! statements (one writer at a time: a claim is one `UPDATE … RETURNING`, each checkpoint a
//! `BEGIN IMMEDIATE` transaction; instants bound as RFC 3339 text). See
//! docs/decisions/0012-workflows-on-sqlite.md.

use super::SqliteStore;
use crate::store::sql::Dialect;
use crate::store::workflow_impl::workflow_impl;

workflow_impl!(SqliteStore, Dialect::Sqlite);
