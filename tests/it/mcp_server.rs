//! `pipeline mcp` against a client no one here wrote: the official MCP Python SDK
//! (tests/mcp_client.py) connects over stdio and over Streamable HTTP, lists the tools and
//! resources and calls every tool with good and bad arguments. The answers are checked
//! against the database the pipeline wrote (SQLite, where `pipeline run` also runs the
//! investigations; PostgreSQL too with PFM_TEST_PG_URL, where a worker runs them), and so
//! is the `mcp_audit` trail.

use crate::common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "mcp-test-token-0123456789abcdef";
const TOOLS: [&str; 7] = [
    "compliance_summary",
    "evaluate_policy",
    "explain_decision",
    "get_investigation",
    "record_lineage",
    "search_decisions",
    "verify_audit_chain",
];
/// Calls that must come back as tool errors, with a message.
const BAD_CALLS: [&str; 16] = [
    "evaluate_bad_shape",
    "evaluate_wrong_type",
    "explain_unknown",
    "explain_missing_arg",
    "explain_wrong_type",
    "search_limit_too_large",
    "search_bad_range",
    "search_bad_decision",
    "search_bad_cursor",
    "verify_bad_range",
    "verify_past_head",
    "verify_wrong_type",
    "summary_bad_window",
    "lineage_unknown",
    "lineage_both_args",
    "unknown_tool",
];

/// What the database says, read directly (not through the server).
#[derive(Debug)]
struct Facts {
    review_txn: String,
    deny_txn: String,
    account: String,
    reason: String,
    head: i64,
    by_decision: BTreeMap<String, i64>,
    account_rows: i64,
    reason_rows: i64,
    policy_version: String,
    /// (seq, row_hash) of review_txn's entry.
    review_entry: (i64, String),
    investigation_status: Option<String>,
}

enum Db {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Db::Sqlite($pool) => $body,
            Db::Pg($pool) => $body,
        }
    };
}

async fn facts(db: &Db) -> Facts {
    let (review_txn, account, reasons): (String, String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT transaction_id, account_id, reasons FROM decision_log WHERE result = 'review' ORDER BY seq LIMIT 1"
    ).fetch_one(p).await.expect("a review decision"));
    let deny_txn: String = on_db!(db, p => sqlx::query_scalar(
        "SELECT transaction_id FROM decision_log WHERE result = 'deny' ORDER BY seq LIMIT 1"
    ).fetch_one(p).await.expect("a deny decision"));
    let reasons: Vec<String> = serde_json::from_str(&reasons).expect("reasons");
    let reason = reasons.first().cloned().expect("a review has a reason");
    let head: i64 = on_db!(db, p => sqlx::query_scalar("SELECT MAX(seq) FROM decision_log")
        .fetch_one(p).await.expect("head"));
    let rows: Vec<(String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT result, COUNT(*) FROM decision_log GROUP BY result"
    ).fetch_all(p).await.expect("counts"));
    let account_rows: i64 = on_db!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM decision_log WHERE account_id = $1"
    ).bind(&account).fetch_one(p).await.expect("account rows"));
    let reason_rows: i64 = on_db!(db, p => sqlx::query_scalar(
        "SELECT COUNT(*) FROM decision_log WHERE reasons LIKE $1"
    ).bind(format!("%\"{reason}\"%")).fetch_one(p).await.expect("reason rows"));
    let (seq, hash, policy_version): (i64, String, String) = on_db!(db, p => sqlx::query_as(
        "SELECT seq, row_hash, policy_version FROM decision_log WHERE transaction_id = $1"
    ).bind(&review_txn).fetch_one(p).await.expect("review entry"));
    let investigation_status: Option<String> = on_db!(db, p => sqlx::query_scalar(
        "SELECT status FROM workflows WHERE workflow_id = $1"
    ).bind(format!("investigation:{review_txn}")).fetch_optional(p).await.expect("workflow"));
    Facts {
        review_txn,
        deny_txn,
        account,
        reason,
        head,
        by_decision: rows.into_iter().collect(),
        account_rows,
        reason_rows,
        policy_version,
        review_entry: (seq, hash),
        investigation_status,
    }
}

fn ids(f: &Facts) -> String {
    serde_json::json!({
        "txn": f.review_txn, "deny_txn": f.deny_txn, "account": f.account, "reason": f.reason,
    })
    .to_string()
}

fn env_for(cmd: &mut Command, dir: &Path, url: Option<&str>) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATA_DIR", dir)
        .env("LOG_LEVEL", "WARN");
    if let Some(u) = url {
        cmd.env("DATABASE_URL", u)
            .env("ENCRYPTION_KEY", common::TEST_KEY);
    }
}

fn client_script() -> String {
    format!("{}/tests/mcp_client.py", env!("CARGO_MANIFEST_DIR"))
}

fn run_client(python: &str, args: &[&str], dir: &Path, url: Option<&str>) -> Value {
    let mut c = Command::new(python);
    c.arg(client_script()).args(args);
    env_for(&mut c, dir, url);
    let out = c.output().expect("run the Python MCP client");
    assert!(
        out.status.success(),
        "mcp_client.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the client's JSON report")
}

fn call<'a>(report: &'a Value, label: &str) -> &'a Value {
    let c = &report["calls"][label];
    assert!(c.is_object(), "no call {label} in the report");
    c
}

fn ok<'a>(report: &'a Value, label: &str) -> &'a Value {
    let c = call(report, label);
    assert_eq!(c["is_error"], false, "{label}: {c}");
    &c["structured"]
}

fn check(report: &Value, f: &Facts, transport: &str) {
    let tools: Vec<&str> = report["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(tools, TOOLS, "{transport}");
    assert_eq!(
        report["resources"],
        serde_json::json!(["policy://active", "schema://transaction"])
    );
    let policy = &report["resource_text"]["policy://active"];
    assert!(
        policy.as_str().is_some_and(|t| t.contains("agentic.rego")),
        "{policy}"
    );

    // The engine is the pipeline's: same version as the decision log records.
    let e = ok(report, "evaluate_ok");
    assert_eq!(e["decision"], "allow");
    assert_eq!(e["policy_version"], f.policy_version.as_str());
    let e = ok(report, "evaluate_risky");
    assert_ne!(e["decision"], "allow", "{e}");
    assert!(!e["reasons"].as_array().expect("reasons").is_empty());

    let x = ok(report, "explain_ok");
    assert_eq!(x["decisions"][0]["seq"], f.review_entry.0);
    assert_eq!(x["decisions"][0]["row_hash"], f.review_entry.1.as_str());
    assert_eq!(x["decisions"][0]["decision"], "review");
    assert_eq!(x["chain"]["intact"], true);
    assert_eq!(x["chain"]["rows"], f.review_entry.0);
    assert_eq!(x["outcome"]["table"], "transactions");
    let x = ok(report, "explain_deny");
    assert_eq!(x["outcome"]["table"], "quarantine");
    let row = &x["outcome"]["row"];
    assert_eq!(row["transaction_id"], f.deny_txn.as_str());
    assert_eq!(row["decision"], "deny");

    let s = ok(report, "search_account");
    assert_eq!(s["count"], f.account_rows);
    assert!(s["decisions"]
        .as_array()
        .expect("rows")
        .iter()
        .all(|d| d["account_id"] == f.account.as_str()));
    let s = ok(report, "search_deny");
    assert_eq!(s["count"], f.by_decision.get("deny").copied().unwrap_or(0));
    let s = ok(report, "search_reason");
    assert_eq!(s["count"], f.reason_rows);
    assert_eq!(ok(report, "search_window")["count"], 3);
    assert_eq!(ok(report, "search_sql_injection")["count"], 0);
    // Keyset pages: newest first, no overlap, the second continues below the first.
    let seqs = |label: &str| -> Vec<i64> {
        ok(report, label)["decisions"]
            .as_array()
            .expect("rows")
            .iter()
            .filter_map(|d| d["seq"].as_i64())
            .collect()
    };
    let (p1, p2) = (seqs("search_page1"), seqs("search_page2"));
    let expected: Vec<i64> = (f.head - 13..=f.head).rev().collect();
    assert_eq!([p1, p2].concat(), expected);

    let v = ok(report, "verify_all");
    assert_eq!(v["intact"], true);
    assert_eq!(v["rows"], f.head);
    let v = ok(report, "verify_range");
    assert_eq!(
        (v["intact"].clone(), v["rows"].clone()),
        (true.into(), 4.into())
    );

    let c = ok(report, "summary_ok");
    let by: BTreeMap<String, i64> =
        serde_json::from_value(c["by_decision"].clone()).expect("by_decision");
    assert_eq!(by, f.by_decision);
    assert_eq!(c["decisions"], f.head);
    assert_eq!(c["by_reason"][&f.reason], f.reason_rows);
    assert!(c["by_detector"].as_object().is_some_and(|m| !m.is_empty()));

    for label in BAD_CALLS {
        let c = call(report, label);
        assert_eq!(c["is_error"], true, "{transport} {label}: {c}");
        let msg = c["text"]
            .as_str()
            .or(c["protocol_error"].as_str())
            .unwrap_or("");
        assert!(msg.len() > 10, "{label} has no clear message: {c}");
    }
    assert!(call(report, "search_limit_too_large")["text"]
        .as_str()
        .is_some_and(|t| t.contains("1000")));

    // The journey of the reviewed record: the same decision-log entry, the chain verified
    // up to it, and its investigation.
    let j = ok(report, "lineage_ok");
    assert_eq!(j["path"], "transaction", "{j}");
    assert_eq!(j["transaction_id"], f.review_txn.as_str());
    let log = &j["record"]["decision_log"];
    assert_eq!(log["seq"], f.review_entry.0);
    assert_eq!(log["row_hash"], f.review_entry.1.as_str());
    assert_eq!(log["chain"]["verified"], true);
    assert_eq!(j["record"]["stages"]["govern"]["decision"], "review");
    assert_eq!(
        j["record"]["stages"]["govern"]["policy_version"],
        f.policy_version.as_str()
    );
    let inv = &j["record"]["investigation"];
    assert_eq!(
        inv["workflow_id"],
        format!("investigation:{}", f.review_txn).as_str()
    );
    if let Some(status) = &f.investigation_status {
        assert_eq!(inv["status"], status.as_str(), "{inv}");
    }
    assert!(call(report, "lineage_unknown")["text"]
        .as_str()
        .is_some_and(|t| t.contains("no record found")));

    let inv = call(report, "investigation");
    let status = f
        .investigation_status
        .as_deref()
        .expect("the review has an investigation");
    let s = &inv["structured"];
    assert_eq!(s["status"], status, "{inv}");
    assert_eq!(status, "completed", "{inv}");
    assert!(!s["steps"].as_array().expect("steps").is_empty(), "{inv}");
    assert!(
        s["case"]["note"].as_str().is_some_and(|n| !n.is_empty()),
        "{inv}"
    );
}

/// Every plaintext PII value of the input: none may appear in any answer.
fn assert_no_plaintext_pii(input: &str, reports: &[&Value]) {
    let text: String = reports.iter().map(|r| r.to_string()).collect();
    let mut checked = 0;
    for (_, (_, fields)) in common::keys::plaintext_by_id(input) {
        for v in fields.values().filter(|v| v.len() >= 8) {
            assert!(
                !text.contains(v.as_str()),
                "plaintext PII in an answer: {v}"
            );
            checked += 1;
        }
    }
    assert!(checked > 100, "only {checked} PII values checked");
}

async fn audit_rows(db: &Db) -> Vec<(String, String, String)> {
    on_db!(db, p => sqlx::query_as("SELECT caller, tool, outcome FROM mcp_audit ORDER BY id")
        .fetch_all(p).await.expect("mcp_audit"))
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_http(dir: &Path, url: Option<&str>) -> (Server, u16) {
    let port = common::free_port();
    let mut c = Command::new(env!("CARGO_BIN_EXE_pipeline"));
    env_for(&mut c, dir, url);
    c.args(["mcp", "--http"])
        .env("MCP_PORT", port.to_string())
        .env("MCP_TOKENS", format!("another-token-abcdefghijkl,{TOKEN}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Server(c.spawn().expect("start pipeline mcp --http"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(common::http_get(port, "/readyz"), Ok((200, _))) {
        assert!(Instant::now() < deadline, "mcp --http never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, port)
}

async fn exercise(dir: &Path, url: Option<&str>, db: Db, python: &str, input: &str) {
    let f = facts(&db).await;
    let bin = env!("CARGO_BIN_EXE_pipeline");
    let ids = ids(&f);
    let stdio = run_client(python, &["stdio", bin, &ids], dir, url);
    check(&stdio, &f, "stdio");

    let (server, port) = start_http(dir, url);
    let endpoint = format!("http://127.0.0.1:{port}/mcp");
    let http = run_client(python, &["http", &endpoint, TOKEN, &ids], dir, url);
    drop(server);
    check(&http, &f, "http");
    assert_eq!(http["status_no_token"], 401);
    assert_eq!(http["status_wrong_token"], 401);
    assert_eq!(http["status_foreign_origin"], 403);
    assert_eq!(http["status_bad_host"], 403);
    assert_eq!(http["status_too_large"], 413);
    assert_no_plaintext_pii(input, &[&stdio, &http]);

    // Every call is in the audit trail, stdio's as the local user, HTTP's as its token.
    let calls = |r: &Value| r["calls"].as_object().map_or(0, |m| m.len());
    let rows = audit_rows(&db).await;
    assert_eq!(rows.len(), calls(&stdio) + calls(&http), "{rows:?}");
    assert!(rows.iter().any(|r| r.0.starts_with("stdio:")));
    let http_callers: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.0.starts_with("token:"))
        .map(|r| r.0.as_str())
        .collect();
    assert_eq!(http_callers.len(), 1, "{rows:?}");
    assert!(!rows.iter().any(|r| r.0.contains(TOKEN)));
    assert!(rows.iter().any(|r| r.1 == "drop_tables" && r.2 == "error"));
    let errors = rows.iter().filter(|r| r.2 == "error").count();
    assert!(errors >= 2 * BAD_CALLS.len(), "{errors} errors audited");
    // Append-only.
    let deleted =
        on_db!(&db, p => sqlx::query("DELETE FROM mcp_audit").execute(p).await.map(|_| ()));
    assert!(deleted.is_err(), "mcp_audit accepted a DELETE");
}

fn prepare(dir: &Path, url: Option<&str>) -> String {
    let input = common::generated_input(600, 11);
    let path = dir.join("input.jsonl");
    std::fs::write(&path, &input).expect("write input");
    let mut run = common::pipeline_cmd(dir, url);
    run.args(["run", "--input"]).arg(&path);
    let out = run.output().expect("pipeline run");
    assert!(
        out.status.success(),
        "run: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    input
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_stdio_and_http_on_sqlite() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let input = prepare(dir.path(), None);
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("pipeline.db").display()
    ))
    .await
    .expect("open the pipeline's database");
    exercise(dir.path(), None, Db::Sqlite(db), &python, &input).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_over_stdio_and_http_on_postgres() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let input = prepare(dir.path(), Some(&url));
    // Investigations run on the worker: let it finish them, so get_investigation has steps.
    let worker = common::pipeline_cmd(dir.path(), Some(&url))
        .args(["worker", "--once"])
        .output()
        .expect("worker");
    assert!(
        worker.status.success(),
        "worker: {}",
        String::from_utf8_lossy(&worker.stderr)
    );
    let db = sqlx::PgPool::connect(&url).await.expect("connect");
    exercise(dir.path(), Some(&url), Db::Pg(db), &python, &input).await;
}

/// The MCP Inspector's CLI (npm `@modelcontextprotocol/inspector`, installed by
/// scripts/install-test-deps.sh into .npm-test), a client no one here wrote, over Streamable
/// HTTP with the bearer token: it lists the six tools and verifies the audit chain, and
/// without the token it is refused.
fn inspector() -> Option<String> {
    match std::env::var("PFM_TEST_MCP_INSPECTOR") {
        Ok(p) if Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PFM_TEST_MCP_INSPECTOR (the MCP Inspector's launcher) is missing in CI: run scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: PFM_TEST_MCP_INSPECTOR unset; run scripts/install-test-deps.sh and scripts/test.sh");
            None
        }
    }
}

/// Runs the Inspector's CLI against `endpoint`: (exit code, its JSON document, stderr).
fn run_inspector(
    launcher: &str,
    endpoint: &str,
    token: Option<&str>,
    args: &[&str],
) -> (Option<i32>, Value, String) {
    let mut c = Command::new("node");
    c.arg(launcher)
        .args(["--cli", endpoint, "--transport", "http"])
        .args(args);
    if let Some(t) = token {
        c.arg("--header").arg(format!("Authorization: Bearer {t}"));
    }
    let out = c.output().expect("run the MCP Inspector (node)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // An answer is on stdout; a failure's `{"error": …}` on stderr.
    let doc = if stdout.trim().is_empty() {
        stderr.as_str()
    } else {
        &stdout
    };
    let json = serde_json::from_str(doc.trim())
        .unwrap_or_else(|e| panic!("the Inspector printed no JSON ({e}): {stdout} {stderr}"));
    (out.status.code(), json, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn mcp_inspector_over_http_with_a_bearer_token() {
    let Some(launcher) = inspector() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(dir.path(), None);
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("pipeline.db").display()
    ))
    .await
    .expect("open the pipeline's database");
    let decisions: i64 = sqlx::query_scalar("SELECT count(*) FROM decision_log")
        .fetch_one(&db)
        .await
        .expect("count decisions");
    assert!(decisions > 5);
    let (_server, port) = start_http(dir.path(), None);
    let endpoint = format!("http://127.0.0.1:{port}/mcp");
    let inspect =
        |token: Option<&str>, args: &[&str]| run_inspector(&launcher, &endpoint, token, args);

    let (code, listed, err) = inspect(Some(TOKEN), &["--method", "tools/list"]);
    assert_eq!(code, Some(0), "tools/list: {listed} {err}");
    let names: std::collections::BTreeSet<&str> = listed["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools in {listed}"))
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    for tool in [
        "evaluate_policy",
        "explain_decision",
        "search_decisions",
        "verify_audit_chain",
        "compliance_summary",
        "get_investigation",
    ] {
        assert!(names.contains(tool), "{tool} not listed: {names:?}");
    }

    // The whole chain, then a range given as the Inspector's key=value arguments.
    let (code, whole, err) = inspect(
        Some(TOKEN),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "verify_audit_chain",
        ],
    );
    assert_eq!(code, Some(0), "verify_audit_chain: {whole} {err}");
    assert_eq!(whole["structuredContent"]["head_seq"], decisions, "{whole}");
    assert_eq!(whole["structuredContent"]["rows"], decisions, "{whole}");
    assert_eq!(whole["structuredContent"]["intact"], true, "{whole}");
    let (code, range, err) = inspect(
        Some(TOKEN),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "verify_audit_chain",
            "--tool-arg",
            "from_seq=2",
            "to_seq=5",
        ],
    );
    assert_eq!(code, Some(0), "verify_audit_chain range: {range} {err}");
    assert_eq!(range["structuredContent"]["rows"], 4, "{range}");
    // A bad argument is a tool error the Inspector reports as such (its exit code 5).
    let (code, bad, _) = inspect(
        Some(TOKEN),
        &[
            "--method",
            "tools/call",
            "--tool-name",
            "verify_audit_chain",
            "--tool-arg",
            "from_seq=0",
        ],
    );
    assert_ne!(code, Some(0));
    assert_eq!(bad["isError"], true, "{bad}");
    assert!(
        bad["content"][0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("from_seq must be at least 1")),
        "{bad}"
    );

    // Without the token, or with a wrong one, the server answers 401 and the Inspector
    // (which would then start an interactive OAuth flow) gives up: no tools are listed.
    let wrong = "wrong-token-0123456789abcdef"; // pragma: allowlist secret (made up)
    for token in [None, Some(wrong)] {
        let (code, refused, _) = inspect(token, &["--method", "tools/list"]);
        assert_ne!(code, Some(0), "listed without a valid token: {refused}");
        assert!(refused.get("tools").is_none(), "{refused}");
        assert_eq!(refused["error"]["code"], "auth_required", "{refused}");
    }
    // Every accepted call is audited under the token's caller id, never the token itself.
    let audited: Vec<(String, String)> =
        sqlx::query_as("SELECT caller, outcome FROM mcp_audit WHERE tool = 'verify_audit_chain'")
            .fetch_all(&db)
            .await
            .expect("read mcp_audit");
    assert_eq!(audited.len(), 3, "{audited:?}");
    assert!(audited
        .iter()
        .all(|(c, _)| c.starts_with("token:") && !c.contains(TOKEN)));
    assert_eq!(audited.iter().filter(|(_, o)| o == "error").count(), 1);
}
