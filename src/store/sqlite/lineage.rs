//! SQLite's lineage queries: the shared body in `store/lineage_impl.rs`.

use super::SqliteStore;
use crate::store::lineage_impl::lineage_impl;
use crate::store::sql::Dialect;

lineage_impl!(SqliteStore, Dialect::Sqlite);
