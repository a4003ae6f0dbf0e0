//! `DB_HOST` connections verify the server (issue 18, item 11).
//!
//! A PostgreSQL 15 with `ssl=on` is started here with a CA and a server certificate that
//! `openssl` generates for this run only (nothing is committed; the keys live in a temporary
//! directory). The server certificate names `localhost` only. Through the same path the
//! service uses (`Config::from_lookup` with `DB_*` variables, then `PgStore::connect`):
//! - `verify-full` (the default) with `DB_SSLROOTCERT` = the test CA connects, over TLS;
//! - without the CA it is refused, and the error names the unknown issuer;
//! - with a host name the certificate does not carry (`127.0.0.1`) it is refused, and the
//!   error names the name mismatch;
//! - `require` (encryption without verification) connects without the CA: the refusals
//!   above come from verification, not from a server that cannot be reached.
//!
//! Self-contained: it needs `openssl` and the PostgreSQL 15 binaries. Without them it is
//! skipped locally and fails when `CI` is set, so CI never passes by skipping it.

use pfm::config::{Config, DatabaseConfig};
use pfm::store::{Database as _, PgStore};
use std::path::{Path, PathBuf};
use std::process::Command;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
// A fixed test key: the test never encrypts anything with it. pragma: allowlist secret
const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // pragma: allowlist secret

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root: run its tools as the `postgres` user then.
fn pg_cmd(tool: &str) -> Command {
    let path = format!("{PG_BIN}/{tool}");
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", &path]);
        c
    } else {
        Command::new(path)
    }
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `args` is split at whitespace (none of them contains any).
fn openssl(dir: &Path, args: &str) {
    run(
        Command::new("openssl")
            .current_dir(dir)
            .args(args.split_whitespace()),
        &format!("openssl {args}"),
    );
}

fn chown_postgres(path: &Path) {
    if is_root() {
        run(
            Command::new("chown").arg("postgres").arg(path),
            "chown postgres",
        );
    }
}

/// A CA and a server certificate for `localhost` (no IP address), made for this run.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        "req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=agentic-pfm-test-CA \
         -keyout ca.key -out ca.pem",
    );
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
    )
    .expect("write extensions");
    openssl(
        dir,
        "req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout server.key -out server.csr",
    );
    openssl(
        dir,
        "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
         -extfile server.ext -out server.pem",
    );
    // PostgreSQL requires the key to be private to its owner.
    let key = dir.join("server.key");
    chown_postgres(&key);
    run(
        Command::new("chmod").arg("600").arg(&key),
        "chmod server.key",
    );
}

struct Server {
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = pg_cmd("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start_tls_server(dir: &Path, port: u16) -> Server {
    run(
        pg_cmd("initdb")
            .arg("-D")
            .arg(dir.join("data"))
            .args(["-A", "trust", "-U", "postgres"]),
        "initdb",
    );
    let opts = format!(
        "-p {port} -k {d} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file={d}/server.pem \
         -c ssl_key_file={d}/server.key -c fsync=off",
        d = dir.display()
    );
    let server = Server {
        dir: dir.to_path_buf(),
    };
    run(
        pg_cmd("pg_ctl")
            .arg("-D")
            .arg(dir.join("data"))
            .arg("-l")
            .arg(dir.join("log"))
            .args(["-o", &opts, "-w", "start"]),
        "pg_ctl start",
    );
    server
}

fn url(port: u16, host: &str, extra: &[(&str, &str)]) -> String {
    let port = port.to_string();
    let mut vars: Vec<(&str, &str)> = vec![
        ("DB_HOST", host),
        ("DB_PORT", &port),
        ("DB_NAME", "postgres"),
        ("DB_USER", "postgres"),
        ("ENCRYPTION_KEY", KEY),
    ];
    vars.extend_from_slice(extra);
    let cfg = Config::from_lookup(|k| {
        vars.iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("valid configuration");
    match cfg.database {
        DatabaseConfig::Postgres { url } => url.expose().clone(),
        other => panic!("DB_HOST must select PostgreSQL, got {other:?}"),
    }
}

async fn refused(url: &str) -> String {
    match PgStore::connect(url, 1).await {
        Ok(_) => panic!("connected although the server must not be trusted: {url}"),
        Err(e) => {
            eprintln!("refused as expected: {e}");
            e.to_string()
        }
    }
}

#[tokio::test]
async fn db_host_connections_verify_the_server_certificate() {
    let have_tools = Path::new(PG_BIN).join("initdb").exists()
        && Command::new("openssl").arg("version").output().is_ok();
    if !have_tools {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run this test: openssl or {PG_BIN} is missing"
        );
        eprintln!("skipped: openssl or {PG_BIN} missing");
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("pfm-pg-tls")
        .tempdir()
        .expect("tempdir");
    let dir = tmp.path();
    // The postgres user must be able to enter the directory and own its data directory.
    run(Command::new("chmod").arg("755").arg(dir), "chmod tempdir");
    chown_postgres(dir);
    make_certificates(dir);
    let port = free_port();
    let _server = start_tls_server(dir, port);
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().expect("utf-8 path");

    // verify-full is the default of the DB_* path.
    let good = url(port, "localhost", &[("DB_SSLROOTCERT", ca)]);
    assert!(good.contains("sslmode=verify-full"), "default mode");
    let store = PgStore::connect(&good, 1)
        .await
        .expect("verify-full with the test CA connects");
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(store.pool())
        .await
        .expect("pg_stat_ssl");
    assert!(ssl, "the verified connection is encrypted");

    // Without the CA: the server's issuer is unknown.
    let err = refused(&url(port, "localhost", &[])).await;
    let lower = err.to_ascii_lowercase();
    assert!(
        lower.contains("unknownissuer") || lower.contains("unknown issuer"),
        "the error names the unknown issuer: {err}"
    );

    // With the CA but a name the certificate does not carry.
    let err = refused(&url(port, "127.0.0.1", &[("DB_SSLROOTCERT", ca)])).await;
    let lower = err.to_ascii_lowercase();
    assert!(
        lower.contains("notvalidforname") || lower.contains("not valid for name"),
        "the error names the host-name mismatch: {err}"
    );

    // Control: encryption without verification reaches the same server.
    let store = PgStore::connect(&url(port, "127.0.0.1", &[("DB_SSLMODE", "require")]), 1)
        .await
        .expect("sslmode=require connects without the CA");
    assert!(store.ping().await);
}
