//! SQLite's governance queries (the MCP server): the shared body in `store/governance.rs`.

use super::SqliteStore;
use crate::store::governance::governance_impl;
use crate::store::sql::Dialect;

governance_impl!(SqliteStore, Dialect::Sqlite);
