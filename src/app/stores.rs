//! Opening the configured database once, for every command. The backends are separate
//! types (their traits are generic, not object-safe), so the choice is an enum and
//! [`with_store!`](crate::with_store) runs one body against whichever it holds.

use crate::config::{Config, DatabaseConfig};
use crate::crypto::KekRing;
use crate::store::{Database, PgStore, SqliteStore, StoreError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("opening the embedded database: {0}")]
    Embedded(#[source] StoreError),
    #[error("database unreachable after {attempts} attempts: {source}")]
    Unreachable {
        attempts: u32,
        #[source]
        source: StoreError,
    },
    #[error("migrating the database: {0}")]
    Migrate(#[source] StoreError),
    #[error("checking the database schema: {0}")]
    Schema(#[source] StoreError),
    #[error("reading or creating the embedded encryption key: {0}")]
    EmbeddedKey(#[source] std::io::Error),
}

/// The configured database.
#[derive(Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Runs `$body` with `$s` bound to the concrete store, whichever backend it is.
#[macro_export]
macro_rules! with_store {
    ($any:expr, $s:ident => $body:expr) => {
        match $any {
            $crate::app::AnyStore::Sqlite($s) => $body,
            $crate::app::AnyStore::Postgres($s) => $body,
        }
    };
}

/// What to do with the schema when opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Apply the embedded migrations (SQLite on `run`, and `pipeline migrate`).
    Migrate,
    /// Refuse a schema older or newer than this binary.
    Check,
    /// Touch nothing (`healthcheck`, `audit verify`).
    AsIs,
}

/// How often start-up tries PostgreSQL before giving up (about 10 s in all).
const CONNECT_ATTEMPTS: u32 = 3;

impl AnyStore {
    pub fn kind(&self) -> &'static str {
        with_store!(self, s => s.kind())
    }
}

/// Opens the configured database. PostgreSQL gets a short bounded retry, so a database
/// that stays unreachable is a non-zero exit with the cause rather than a hang.
pub async fn open_store(
    cfg: &Config,
    max_connections: u32,
    schema: Schema,
) -> Result<AnyStore, OpenError> {
    let store = match &cfg.database {
        DatabaseConfig::Sqlite { path } => {
            AnyStore::Sqlite(SqliteStore::open(path).await.map_err(OpenError::Embedded)?)
        }
        DatabaseConfig::Postgres { url } => {
            AnyStore::Postgres(connect_pg(url.expose(), max_connections).await?)
        }
    };
    match schema {
        Schema::Migrate => {
            with_store!(&store, s => s.migrate().await).map_err(OpenError::Migrate)?
        }
        Schema::Check => {
            with_store!(&store, s => s.check_schema().await).map_err(OpenError::Schema)?
        }
        Schema::AsIs => {}
    }
    Ok(store)
}

/// Only the connection itself, without touching the schema: `healthcheck` wants a yes/no.
pub async fn reachable(cfg: &Config) -> bool {
    match &cfg.database {
        DatabaseConfig::Sqlite { path } => match SqliteStore::open(path).await {
            Ok(s) => s.ping().await,
            Err(_) => false,
        },
        DatabaseConfig::Postgres { url } => match PgStore::connect(url.expose(), 1).await {
            Ok(s) => s.ping().await,
            Err(_) => false,
        },
    }
}

async fn connect_pg(url: &str, max_connections: u32) -> Result<PgStore, OpenError> {
    let mut attempt = 1;
    loop {
        match PgStore::connect(url, max_connections).await {
            Ok(s) => return Ok(s),
            Err(e) if attempt < CONNECT_ATTEMPTS => {
                tracing::warn!(attempt, error = %e, "database not reachable yet");
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(source) => {
                return Err(OpenError::Unreachable {
                    attempts: attempt,
                    source,
                })
            }
        }
    }
}

/// The key-encryption key ring: `ENCRYPTION_KEY` (+ previous ones), or on the embedded
/// default a key generated once into `DATA_DIR`.
pub fn load_kek(cfg: &Config) -> Result<KekRing, OpenError> {
    let previous = cfg.previous_encryption_keys.expose();
    match &cfg.encryption_key {
        Some(k) => Ok(KekRing::new(k.expose(), previous)),
        None => {
            let (key, created) = crate::crypto::load_or_create_embedded_kek(&cfg.data_dir)
                .map_err(OpenError::EmbeddedKey)?;
            if created {
                tracing::warn!(
                    path = %cfg.data_dir.join(crate::crypto::EMBEDDED_KEY_FILE).display(),
                    "ENCRYPTION_KEY is unset: generated an embedded key; set ENCRYPTION_KEY outside local use"
                );
            }
            Ok(KekRing::new(&key, previous))
        }
    }
}
