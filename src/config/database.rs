//! Which database, and how to reach it: `DATABASE_URL`, or the `DB_*` variables the
//! manifests use against RDS (TLS verified by default), or the embedded SQLite file.

use super::{bad, ConfigError, Secret};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseConfig {
    /// Embedded default.
    Sqlite { path: PathBuf },
    /// The URL carries the password, so it is a secret as a whole.
    Postgres { url: Secret<String> },
}

impl DatabaseConfig {
    pub fn is_embedded(&self) -> bool {
        matches!(self, Self::Sqlite { .. })
    }
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Sqlite { .. } => "sqlite",
            Self::Postgres { .. } => "postgres",
        }
    }
}

/// libpq's `sslmode` values, as `DB_SSLMODE` accepts them.
const SSL_MODES: &[&str] = &[
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

pub(super) fn database(
    get: &impl Fn(&str) -> Option<String>,
    data_dir: &std::path::Path,
) -> Result<DatabaseConfig, ConfigError> {
    if let Some(url) = get("DATABASE_URL") {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseConfig::Postgres {
                url: Secret::new(url),
            });
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if !path.is_empty() {
                return Ok(DatabaseConfig::Sqlite {
                    path: PathBuf::from(path),
                });
            }
        }
        return Err(bad(
            "DATABASE_URL",
            "postgres://user:password@host:port/dbname or sqlite://PATH",
        ));
    }
    if let Some(host) = get("DB_HOST") {
        let port = match get("DB_PORT") {
            None => 5432,
            Some(p) => p
                .trim()
                .parse::<u16>()
                .map_err(|_| bad("DB_PORT", "a TCP port number"))?,
        };
        let name =
            get("DB_NAME").ok_or_else(|| bad("DB_NAME", "a database name (DB_HOST is set)"))?;
        let user = get("DB_USER").ok_or_else(|| bad("DB_USER", "a user name (DB_HOST is set)"))?;
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        let auth = match get("DB_PASSWORD") {
            Some(pw) => format!("{}:{}", enc(&user), enc(&pw)),
            None => enc(&user),
        };
        // The DB_* path is what the manifests use against RDS: verify the server by default
        // (libpq's own default, `prefer`, accepts any certificate and even plaintext).
        let sslmode = match get("DB_SSLMODE") {
            None => "verify-full".to_owned(),
            Some(m) => {
                let m = m.trim().to_ascii_lowercase();
                if !SSL_MODES.contains(&m.as_str()) {
                    return Err(bad("DB_SSLMODE", SSL_MODES.join(", ")));
                }
                m
            }
        };
        let mut url = format!(
            "postgres://{auth}@{host}:{port}/{}?sslmode={sslmode}",
            enc(&name)
        );
        if let Some(ca) = get("DB_SSLROOTCERT") {
            // Checked here so that a missing bundle is a configuration error naming the
            // variable, not a TLS failure on every connection attempt.
            if !std::path::Path::new(&ca).is_file() {
                return Err(bad("DB_SSLROOTCERT", "the path of a PEM CA bundle file"));
            }
            url.push_str("&sslrootcert=");
            url.push_str(&enc(&ca));
        }
        return Ok(DatabaseConfig::Postgres {
            url: Secret::new(url),
        });
    }
    Ok(DatabaseConfig::Sqlite {
        path: data_dir.join("pipeline.db"),
    })
}
