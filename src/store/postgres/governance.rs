//! PostgreSQL's governance queries (the MCP server): the shared body in `store/governance.rs`.

use super::PgStore;
use crate::store::governance::governance_impl;
use crate::store::sql::Dialect;

governance_impl!(PgStore, Dialect::Postgres);
