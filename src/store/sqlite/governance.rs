//! SQLite's governance queries (the MCP server): the shared body in `store/governance.rs`.
//! No workflow runs on SQLite (the worker needs PostgreSQL), so investigations are
//! reported as unsupported rather than "not found".

use super::SqliteStore;
use crate::store::governance::governance_impl;
use crate::store::sql::Dialect;

governance_impl!(SqliteStore, Dialect::Sqlite, workflows: false);
