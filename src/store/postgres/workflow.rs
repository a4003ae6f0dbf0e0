//! PostgreSQL's workflow role: the shared body in `store/workflow_impl.rs`, PostgreSQL's
//! statements (leases with `FOR UPDATE SKIP LOCKED`, the database's clock). See
//! docs/decisions/0003-durable-workflows.md.

use super::PgStore;
use crate::store::sql::Dialect;
use crate::store::workflow_impl::workflow_impl;

workflow_impl!(PgStore, Dialect::Postgres);
