//! SQL that both backends run, written once. Placeholders are `$n` in both: sqlx binds
//! SQLite's `$NNN` parameters by their number, as PostgreSQL does. What differs (casts, the
//! clock, the lock that serialises export claims) comes from [`Dialect`], and the statements
//! that need it are built once per dialect, on first use, into a [`Statements`] that lives
//! for the whole process: no statement is formatted per call.

use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// `expr` converted to `ty` where PostgreSQL needs it (to pick a Rust type, or to parse
    /// text into jsonb); SQLite's values carry their type, so it is left as it is.
    pub(crate) fn cast(self, expr: &str, ty: &str) -> String {
        match self {
            Self::Postgres => format!("{expr}::{ty}"),
            Self::Sqlite => expr.to_owned(),
        }
    }

    /// The statement's clock: the database's on PostgreSQL; on SQLite, which stores
    /// timestamps as RFC 3339 text, the caller binds `format_ts(now)` as parameter `n`.
    pub(crate) fn now(self, n: u32) -> String {
        match self {
            Self::Postgres => "now()".to_owned(),
            Self::Sqlite => format!("${n}"),
        }
    }

    /// Seconds since the timestamp in `col`, as a float (NULL stays NULL). The outbox keeps
    /// `sent_at` in the database's own clock: `timestamptz` on PostgreSQL, a Julian day
    /// number on SQLite.
    fn seconds_since(self, col: &str) -> String {
        match self {
            Self::Postgres => format!("EXTRACT(EPOCH FROM now() - {col})::float8"),
            Self::Sqlite => format!("(julianday('now') - {col}) * 86400.0"),
        }
    }

    /// A timestamp column as the RFC 3339 text (microseconds, `Z`) that `format_ts` writes
    /// and the decision-log hash covers. SQLite stores that text already.
    pub(crate) fn ts_text(self, col: &str) -> String {
        match self {
            Self::Postgres => {
                format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')")
            }
            Self::Sqlite => col.to_owned(),
        }
    }

    /// Whether the text column `col` contains the bound string `$n`.
    fn contains(self, col: &str, n: usize) -> String {
        match self {
            Self::Postgres => format!("strpos({col}, ${n}) > 0"),
            Self::Sqlite => format!("instr({col}, ${n}) > 0"),
        }
    }

    /// The shared statements for this dialect.
    pub(crate) fn sql(self) -> &'static Statements {
        match self {
            Self::Postgres => &POSTGRES,
            Self::Sqlite => &SQLITE,
        }
    }
}

static POSTGRES: LazyLock<Statements> = LazyLock::new(|| Statements::new(Dialect::Postgres));
static SQLITE: LazyLock<Statements> = LazyLock::new(|| Statements::new(Dialect::Sqlite));

// ---- statements identical in both dialects ----

pub(crate) const SELECT_ONE: &str = "SELECT 1";
pub(crate) const SCHEMA_VERSION: &str =
    "SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success";
pub(crate) const COUNTS: &str =
    "SELECT (SELECT COUNT(*) FROM transactions), (SELECT COUNT(*) FROM quarantine), \
     (SELECT COUNT(*) FROM dead_letters), (SELECT COUNT(*) FROM decision_log)";
pub(crate) const LOAD_OFFSETS: &str =
    "SELECT source_partition, next_offset FROM source_offsets WHERE source = $1";

/// Audit log: the chain in order, and its head.
pub(crate) const CHAIN_ROWS: &str =
    "SELECT seq, transaction_id, account_id, policy_path, policy_version, result, reasons, findings, \
     decided_at, prev_hash, row_hash FROM decision_log WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const CHAIN_HEAD: &str = "SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1";
pub(crate) const SET_CHAIN_HEAD: &str =
    "UPDATE audit_chain_head SET last_seq = $1, last_hash = $2 WHERE id = 1";

/// Export ledger.
pub(crate) const EXPORT_PENDING: &str =
    "SELECT start_seq, end_seq FROM export_ledger WHERE status = 'pending' ORDER BY start_seq LIMIT 1";
pub(crate) const HEAD_SEQ: &str = "SELECT last_seq FROM audit_chain_head WHERE id = 1";

/// Outbox.
pub(crate) const OUTBOX_BACKLOG: &str = "SELECT COUNT(*) FROM outbox";

/// Data keys and erasures.
pub(crate) const DATA_KEYS_PAGE: &str =
    "SELECT account_id, key_id, kek_id, wrapped FROM data_keys \
     WHERE account_id > $1 ORDER BY account_id LIMIT $2";
pub(crate) const DATA_KEY: &str =
    "SELECT account_id, key_id, kek_id, wrapped FROM data_keys WHERE account_id = $1";
pub(crate) const REPLACE_WRAPPED_KEY: &str = "UPDATE data_keys SET kek_id = $1, wrapped = $2 \
     WHERE account_id = $3 AND key_id = $4 AND kek_id = $5";
pub(crate) const DELETE_DATA_KEY: &str =
    "DELETE FROM data_keys WHERE account_id = $1 RETURNING key_id";
pub(crate) const DELETE_DETECTOR_STATE: &str = "DELETE FROM detector_state WHERE account_id = $1";
pub(crate) const ERASURES_AFTER: &str =
    "SELECT id, account_id FROM erasures WHERE id > $1 ORDER BY id LIMIT 10000";
pub(crate) const ERASURE_HEAD: &str = "SELECT max(id) FROM erasures";

/// The statements whose text depends on the dialect.
pub(crate) struct Statements {
    /// Taken first in an export claim: serialises claimers across replicas without touching
    /// the commit path's locks (PostgreSQL); takes the write lock up front (SQLite).
    pub export_claim_lock: &'static str,
    pub export_last_end: String,
    /// `$1` start, `$2` end; SQLite: `$3` now.
    pub export_insert: String,
    /// The rows of a range joined to their decisions: `[transactions, quarantine]`.
    pub export_rows: [String; 2],
    /// `$1` objects, `$2` rows, `$3` start, `$4` end; SQLite: `$5` now.
    pub export_done: String,
    pub export_backlog: String,
    pub export_oldest_waiting: String,
    /// `$1` limit.
    pub outbox_pending: String,
    /// `$1` account, `$2` key id; SQLite: `$3` now.
    pub insert_erasure: String,
    // ---- governance queries (the MCP server) ----
    /// `$1` transaction id: its decision-log entries (index `decision_log_txn`).
    pub decisions_for: String,
    /// `$1` transaction id: its row in `[transactions, quarantine]`.
    pub outcome_row: [String; 2],
    /// `$1` transaction id (index `dead_letters_txn`).
    pub dead_letters_for: String,
    /// `$1` since: `(key, count)` rows.
    pub count_by_decision: String,
    pub count_by_reason: String,
    pub count_by_detector: String,
    /// `$1` since: quarantine total and since, dead letters total and since.
    pub backlog_counts: String,
    /// `$1` since: the audit agent's findings whose window ends after it, newest first.
    pub audit_findings_since: String,
    /// `$1` workflow id.
    pub workflow_row: String,
    pub workflow_steps: String,
    pub investigation_case: String,
    /// `$1` at, `$2` caller, `$3` tool, `$4` digest, `$5` outcome, `$6` error, `$7` ms.
    pub insert_mcp_audit: String,
}

/// The columns of a record's outcome row returned as text, in order (`risk_score` follows
/// them). Ciphertexts and tokens only: the `*_enc` columns are envelope ciphertexts and
/// `description` is stored scrubbed.
pub(crate) const OUTCOME_TEXT_COLUMNS: [&str; 19] = [
    "transaction_id",
    "account_id",
    "ts",
    "amount",
    "currency",
    "merchant",
    "mcc",
    "country",
    "channel",
    "category",
    "description",
    "customer_name_enc",
    "customer_email_enc",
    "card_number_enc",
    "iban_enc",
    "key_id",
    "decision",
    "policy_version",
    "committed_at",
];

fn decision_columns(d: Dialect) -> String {
    format!(
        "seq, transaction_id, account_id, policy_path, policy_version, result, reasons, findings, \
         {}, prev_hash, row_hash",
        d.ts_text("decided_at")
    )
}

/// `search_decisions`: only the filters that are set, each a fixed fragment with a bound
/// value, numbered in the order the caller binds them (account, decision, reason, from, to,
/// before_seq, limit). Newest first, so `seq < before_seq` is the next page.
pub(crate) fn search_decisions(d: Dialect, q: &super::DecisionQuery) -> String {
    let mut conds = Vec::new();
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };
    if q.account_id.is_some() {
        conds.push(format!("account_id = ${}", next()));
    }
    if q.decision.is_some() {
        conds.push(format!("result = ${}", next()));
    }
    if q.reason.is_some() {
        conds.push(d.contains("reasons", next()));
    }
    if q.from.is_some() {
        conds.push(format!(
            "decided_at >= {}",
            d.cast(&format!("${}", next()), "timestamptz")
        ));
    }
    if q.to.is_some() {
        conds.push(format!(
            "decided_at < {}",
            d.cast(&format!("${}", next()), "timestamptz")
        ));
    }
    if q.before_seq.is_some() {
        conds.push(format!("seq < ${}", next()));
    }
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conds.join(" AND "))
    };
    format!(
        "SELECT {} FROM decision_log{filter} ORDER BY seq DESC LIMIT ${}",
        decision_columns(d),
        next()
    )
}

impl Statements {
    fn new(d: Dialect) -> Self {
        let last_done = d.cast(
            "COALESCE((SELECT MAX(end_seq) FROM export_ledger WHERE status = 'done'), 0)",
            "int8",
        );
        let mut cols = super::rows::EXPORT_COLUMNS.to_owned();
        for c in ["t.amount", "t.extra", "t.findings", "t.reasons"] {
            cols = cols.replace(c, &d.cast(c, "text"));
        }
        let export_rows = ["transactions", "quarantine"].map(|table| {
            format!(
                "SELECT {cols} FROM decision_log d JOIN {table} t ON t.transaction_id = d.transaction_id \
                 WHERE d.seq > $1 AND d.seq <= $2 ORDER BY d.seq"
            )
        });
        let since = d.cast("$1", "timestamptz");
        let text = |c: &str| d.cast(c, "text");
        let outcome_cols: Vec<String> = OUTCOME_TEXT_COLUMNS
            .iter()
            .map(|c| match *c {
                "ts" | "committed_at" => d.ts_text(c),
                "amount" => text(c),
                other => other.to_owned(),
            })
            .collect();
        let outcome_cols = outcome_cols.join(", ");
        let (reasons_each, detectors_each) = match d {
            Dialect::Postgres => (
                "SELECT r, COUNT(*) FROM decision_log d, jsonb_array_elements_text(d.reasons::jsonb) r",
                "SELECT f->>'detector', COUNT(*) FROM decision_log d, jsonb_array_elements(d.findings::jsonb) f",
            ),
            Dialect::Sqlite => (
                "SELECT j.value, COUNT(*) FROM decision_log d, json_each(d.reasons) j",
                "SELECT json_extract(j.value, '$.detector'), COUNT(*) FROM decision_log d, json_each(d.findings) j",
            ),
        };
        Self {
            decisions_for: format!(
                "SELECT {} FROM decision_log WHERE transaction_id = $1 ORDER BY seq",
                decision_columns(d)
            ),
            outcome_row: ["transactions", "quarantine"].map(|t| {
                format!("SELECT {outcome_cols}, risk_score FROM {t} WHERE transaction_id = $1")
            }),
            dead_letters_for: format!(
                "SELECT reason, source, source_partition, source_offset, {} FROM dead_letters \
                 WHERE transaction_id = $1 ORDER BY received_at LIMIT 100",
                d.ts_text("received_at")
            ),
            count_by_decision: format!(
                "SELECT result, COUNT(*) FROM decision_log WHERE decided_at >= {since} GROUP BY result"
            ),
            count_by_reason: format!("{reasons_each} WHERE d.decided_at >= {since} GROUP BY 1"),
            count_by_detector: format!("{detectors_each} WHERE d.decided_at >= {since} GROUP BY 1"),
            backlog_counts: format!(
                "SELECT (SELECT COUNT(*) FROM quarantine), \
                 (SELECT COUNT(*) FROM quarantine WHERE committed_at >= {since}), \
                 (SELECT COUNT(*) FROM dead_letters), \
                 (SELECT COUNT(*) FROM dead_letters WHERE received_at >= {since})"
            ),
            audit_findings_since: format!(
                "SELECT finding_id, kind, subject, severity, {}, {}, {} FROM audit_findings \
                 WHERE window_end >= {since} ORDER BY created_at DESC, finding_id LIMIT 100",
                text("detail"),
                d.ts_text("window_start"),
                d.ts_text("window_end")
            ),
            workflow_row: format!(
                "SELECT status, next_step, attempts, {}, {}, {} FROM workflows WHERE workflow_id = $1",
                d.ts_text("created_at"),
                d.ts_text("updated_at"),
                d.ts_text("completed_at")
            ),
            workflow_steps: format!(
                "SELECT step_index, step_name, {}, {} FROM workflow_checkpoints \
                 WHERE workflow_id = $1 ORDER BY step_index",
                text("output"),
                d.ts_text("created_at")
            ),
            investigation_case: format!(
                "SELECT decision, score, {}, note, {} FROM investigation_cases WHERE workflow_id = $1",
                text("factors"),
                d.ts_text("decided_at")
            ),
            insert_mcp_audit: format!(
                "INSERT INTO mcp_audit (called_at, caller, tool, args_sha256, outcome, error, duration_ms) \
                 VALUES ({}, $2, $3, $4, $5, $6, $7)",
                d.cast("$1", "timestamptz")
            ),
            export_claim_lock: match d {
                Dialect::Postgres => "SELECT pg_advisory_xact_lock(7272001)",
                Dialect::Sqlite => "UPDATE export_ledger SET status = status WHERE 0",
            },
            export_last_end: format!(
                "SELECT {} FROM export_ledger",
                d.cast("COALESCE(MAX(end_seq), 0)", "int8")
            ),
            export_insert: format!(
                "INSERT INTO export_ledger (start_seq, end_seq, status, created_at) VALUES ($1, $2, 'pending', {})",
                d.now(3)
            ),
            export_rows,
            export_done: format!(
                "UPDATE export_ledger SET status = 'done', objects = {}, rows_exported = $2, finished_at = {} \
                 WHERE start_seq = $3 AND end_seq = $4",
                d.cast("$1", "jsonb"),
                d.now(5)
            ),
            export_backlog: format!(
                "SELECT (SELECT last_seq FROM audit_chain_head WHERE id = 1) - {last_done}"
            ),
            export_oldest_waiting: format!(
                "SELECT decided_at FROM decision_log WHERE seq = {last_done} + 1"
            ),
            outbox_pending: format!(
                "SELECT id, topic, message_key, payload, headers, out_partition, floor_offset, \
                 {} FROM outbox ORDER BY id LIMIT $1",
                d.seconds_since("sent_at")
            ),
            insert_erasure: match d {
                // The column's default is the database's clock.
                Dialect::Postgres => {
                    "INSERT INTO erasures (account_id, key_id) VALUES ($1, $2)".to_owned()
                }
                Dialect::Sqlite => {
                    "INSERT INTO erasures (account_id, key_id, erased_at) VALUES ($1, $2, $3)"
                        .to_owned()
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_statements_keep_their_casts_and_clock() {
        let s = Dialect::Postgres.sql();
        assert!(
            s.export_done.contains("objects = $1::jsonb"),
            "{}",
            s.export_done
        );
        assert!(s.export_done.contains("finished_at = now()"));
        assert!(
            s.export_rows[0].contains("t.amount::text, "),
            "{}",
            s.export_rows[0]
        );
        assert!(s.export_rows[1].contains("JOIN quarantine t"));
        assert!(
            s.export_backlog.ends_with("'done'), 0)::int8"),
            "{}",
            s.export_backlog
        );
        assert!(s
            .outbox_pending
            .contains("EXTRACT(EPOCH FROM now() - sent_at)::float8"));
    }

    #[test]
    fn sqlite_statements_bind_the_clock_and_have_no_casts() {
        let s = Dialect::Sqlite.sql();
        for text in [
            &s.export_last_end,
            &s.export_insert,
            &s.export_done,
            &s.export_backlog,
            &s.export_oldest_waiting,
            &s.outbox_pending,
            &s.export_rows[0],
        ] {
            assert!(!text.contains("::"), "{text}");
            assert!(!text.contains("now()"), "{text}");
        }
        assert!(s.export_insert.ends_with("'pending', $3)"));
        assert!(s.export_done.contains("finished_at = $5"));
    }
}
