//! The production store on PostgreSQL, one file per role. A batch's ids, rows and
//! decision-log entries are written with `COPY` (decision 0007), the smaller tables with
//! `INSERT … SELECT FROM UNNEST`: one statement per table per batch. The decision-log chain
//! is serialised by a row lock on its head.

mod audit;
mod commit;
mod export;
mod governance;
mod journey;
mod keys;
mod lineage;
mod outbox;
mod workflow;

use super::sql::{self, Dialect};
use super::{migrations, Database, StoreError};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::str::FromStr;
use std::time::Duration;

/// The shared statements in PostgreSQL's dialect.
fn stmts() -> &'static sql::Statements {
    Dialect::Postgres.sql()
}

/// A column of an `UNNEST` insert.
type Cols<T> = Vec<T>;

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// TLS follows the URL (`sslmode=require|verify-full`); every statement is bounded by
    /// `statement_timeout` so a stuck query cannot hold a batch forever.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let opts = PgConnectOptions::from_str(url)
            .map_err(StoreError::Query)?
            .options([("statement_timeout", "30s"), ("lock_timeout", "20s")])
            .application_name("agentic-pfm");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            .connect_with(opts)
            .await?;
        Ok(Self { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn expected_version() -> i64 {
    migrations::POSTGRES.latest_version()
}

impl Database for PgStore {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // The migrator holds a PostgreSQL advisory lock, so concurrent replicas serialise.
        migrations::POSTGRES
            .migrator()
            .await?
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn check_schema(&self) -> Result<(), StoreError> {
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
                .fetch_one(&self.pool)
                .await?;
        let found: i64 = match exists {
            None => 0,
            Some(_) => {
                sqlx::query_scalar(sql::SCHEMA_VERSION)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        StoreError::check_version(found, expected_version())
    }

    async fn ping(&self) -> bool {
        sqlx::query(sql::SELECT_ONE)
            .execute(&self.pool)
            .await
            .is_ok()
    }
}
