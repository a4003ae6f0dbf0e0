//! SQLite's lineage queries: the shared body in `store/journey_impl.rs`.

use super::SqliteStore;
use crate::store::journey_impl::journey_impl;
use crate::store::sql::Dialect;

journey_impl!(SqliteStore, Dialect::Sqlite);
