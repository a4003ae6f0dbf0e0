//! The schema's migrations, embedded in the binary as `sqlx::migrate!` would embed them.
//!
//! They are listed here instead of by the macro: the macro needs sqlx's `macros` feature,
//! which compiles sqlx's drivers (and rustls, tokio, chrono…) a second time, for the host,
//! in every clean build (decision 0022). Version, description, type and checksum come from
//! the file name and text by sqlx's own rules, so a database migrated by an earlier release
//! validates; a test checks them against sqlx's resolver on `migrations/`.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{MigrateError, Migration, MigrationSource, MigrationType, Migrator};

/// One backend's migrations: (file name, SQL), in version order.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Embedded(&'static [(&'static str, &'static str)]);

macro_rules! embed {
    ($dir:literal: $($file:literal),+ $(,)?) => {
        Embedded(&[$((
            $file,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/", $dir, "/", $file)),
        )),+])
    };
}

pub(crate) const POSTGRES: Embedded = embed!("postgres":
    "0001_init.sql", "0002_export_ledger.sql", "0003_workflows.sql",
    "0004_workflow_state.sql", "0005_outbox.sql", "0006_erasures.sql",
    "0007_outbox_sent_at.sql", "0008_copy_defaults.sql", "0009_mcp_governance.sql",
    "0011_lineage.sql", "0012_record_lineage.sql", "0013_llm_agents.sql",
    "0014_llm_slots.sql",
);

pub(crate) const SQLITE: Embedded = embed!("sqlite":
    "0001_init.sql", "0002_export_ledger.sql", "0003_workflows.sql",
    "0004_workflow_state.sql", "0005_outbox.sql", "0006_erasures.sql",
    "0007_outbox_sent_at.sql", "0009_mcp_governance.sql", "0011_lineage.sql",
    "0012_record_lineage.sql", "0013_llm_agents.sql", "0014_llm_slots.sql",
);

impl Embedded {
    /// The migrator over these migrations (sqlx's defaults: locking, no missing ones).
    pub(crate) async fn migrator(self) -> Result<Migrator, MigrateError> {
        Migrator::new(self).await
    }

    /// The schema version these migrations bring a database to.
    pub(crate) fn latest_version(self) -> i64 {
        self.migrations()
            .iter()
            .map(|m| m.version)
            .max()
            .unwrap_or(0)
    }

    /// The names are this file's own literals: a malformed one is a build mistake, caught by
    /// the tests, so it panics rather than returning an error at every start-up.
    fn migrations(self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|&(file, sql)| {
                let (version, rest) = file
                    .split_once('_')
                    .expect("migration file name: <version>_<description>.sql");
                let version: i64 = version.parse().expect("migration version: an integer");
                let migration_type = MigrationType::from_filename(rest);
                let description = rest
                    .trim_end_matches(migration_type.suffix())
                    .replace('_', " ");
                Migration::new(
                    version,
                    Cow::Owned(description),
                    migration_type,
                    Cow::Borrowed(sql),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect()
    }
}

impl<'s> MigrationSource<'s> for Embedded {
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 's>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// What sqlx's resolver (the one `sqlx::migrate!` ran at build time) makes of a directory.
    async fn resolved(dir: &str) -> Vec<Migration> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let m = Migrator::new(path).await.expect("resolve the directory");
        m.iter().cloned().collect()
    }

    fn same(a: &[Migration], b: &[Migration]) {
        assert_eq!(a.len(), b.len(), "every file of the directory is embedded");
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.version, y.version);
            assert_eq!(x.description, y.description);
            assert_eq!(x.migration_type, y.migration_type);
            assert_eq!(x.checksum, y.checksum, "version {}", x.version);
            assert_eq!(x.no_tx, y.no_tx);
        }
    }

    #[tokio::test]
    async fn embedded_migrations_are_the_directories_as_sqlx_resolves_them() {
        for (dir, embedded) in [("postgres", POSTGRES), ("sqlite", SQLITE)] {
            let ours = embedded.migrator().await.expect("migrator");
            let ours: Vec<Migration> = ours.iter().cloned().collect();
            let theirs = resolved(dir).await;
            same(&ours, &theirs);
            let latest = theirs.iter().map(|m| m.version).max();
            assert_eq!(Some(embedded.latest_version()), latest);
        }
    }
}
