//! The workflow role's statements in both dialects, built once per dialect on first use
//! (like [`Statements`](super::sql::Statements)). Both backends bind the same values in the
//! same order; what differs is how a statement reads the clock and lists:
//!
//! - **Clock.** PostgreSQL uses the database's `now()`, so the leases of workers on
//!   different hosts compare against one clock; a lease is bound as its length and added
//!   in SQL. SQLite is one file on one host: every process reads the same system clock, and
//!   its timestamps are RFC 3339 text ([`format_ts`]) that compares in time order, so the
//!   caller binds the instants themselves (the lease's expiry, and `now` as the last
//!   parameter, which PostgreSQL's text does not have).
//! - **Lists** (workflow kinds, workflow ids) are bound as one JSON array; amount edges as
//!   a PostgreSQL array literal or a JSON array.
//! - **Leasing.** PostgreSQL picks the row with `FOR UPDATE SKIP LOCKED`. SQLite has one
//!   writer at a time: the claim's `UPDATE` takes the write lock before its subquery reads,
//!   so choosing and taking a workflow is one atomic step without any row lock.

use super::rows::format_ts;
use super::sql::Dialect;
use chrono::{DateTime, Utc};
use std::sync::LazyLock;
use std::time::Duration;

static POSTGRES: LazyLock<WorkflowStatements> =
    LazyLock::new(|| WorkflowStatements::new(Dialect::Postgres));
static SQLITE: LazyLock<WorkflowStatements> =
    LazyLock::new(|| WorkflowStatements::new(Dialect::Sqlite));

impl Dialect {
    /// The workflow statements of this dialect.
    pub(crate) fn workflow_sql(self) -> &'static WorkflowStatements {
        match self {
            Self::Postgres => &POSTGRES,
            Self::Sqlite => &SQLITE,
        }
    }

    /// Opens a write transaction. SQLite's `BEGIN IMMEDIATE` takes the write lock at once
    /// (waiting up to the busy timeout), so a transaction that reads before it writes can
    /// never fail to upgrade its lock halfway.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Self::Postgres => "BEGIN",
            Self::Sqlite => "BEGIN IMMEDIATE",
        }
    }

    /// The end of a lease taken now, from parameter `n` ([`Dialect::lease_arg`]).
    fn lease_until(self, n: u32) -> String {
        match self {
            Self::Postgres => format!("now() + make_interval(secs => ${n}::float8)"),
            Self::Sqlite => format!("${n}"),
        }
    }

    /// What [`Dialect::lease_until`] binds: the length in seconds, or the instant it ends.
    pub(crate) fn lease_arg(self, length: Duration, now: DateTime<Utc>) -> String {
        match self {
            Self::Postgres => length.as_secs_f64().to_string(),
            Self::Sqlite => format_ts(now + chrono::Duration::from_std(length).unwrap_or_default()),
        }
    }

    /// An instant `age` before now, from parameter `n` ([`Dialect::ago_arg`]).
    fn ago(self, n: u32) -> String {
        match self {
            Self::Postgres => format!("now() - make_interval(secs => ${n}::float8)"),
            Self::Sqlite => format!("${n}"),
        }
    }

    pub(crate) fn ago_arg(self, age: Duration, now: DateTime<Utc>) -> String {
        match self {
            Self::Postgres => age.as_secs_f64().to_string(),
            Self::Sqlite => format_ts(now - chrono::Duration::from_std(age).unwrap_or_default()),
        }
    }

    /// The value of the last parameter, `now`, which only SQLite's statements have.
    pub(crate) fn now_arg(self, now: DateTime<Utc>) -> Option<String> {
        match self {
            Self::Postgres => None,
            Self::Sqlite => Some(format_ts(now)),
        }
    }

    /// `col` is one of the strings of the JSON array bound as `$n`.
    fn in_json(self, col: &str, n: u32) -> String {
        match self {
            Self::Postgres => format!("{col} IN (SELECT jsonb_array_elements_text(${n}::jsonb))"),
            Self::Sqlite => format!("{col} IN (SELECT value FROM json_each(${n}))"),
        }
    }

    /// A list of floats as the statement that reads it expects it.
    pub(crate) fn float_list(self, values: &[f64]) -> String {
        let items: Vec<String> = values.iter().map(f64::to_string).collect();
        match self {
            Self::Postgres => format!("{{{}}}", items.join(",")),
            Self::Sqlite => format!("[{}]", items.join(",")),
        }
    }

    /// A timestamp parameter bound as RFC 3339 text.
    fn ts_param(self, n: u32) -> String {
        self.cast(&format!("${n}"), "timestamptz")
    }

    /// A numeric expression as a float. SQLite stores amounts as text, and sqlx reads an
    /// `f64` only from a REAL value (an empty aggregate's integer 0 would not do).
    fn real(self, expr: &str) -> String {
        match self {
            Self::Postgres => format!("{expr}::float8"),
            Self::Sqlite => format!("CAST({expr} AS REAL)"),
        }
    }
}

/// A JSON array of strings, for [`Dialect::in_json`].
pub(crate) fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::Value::from(items.iter().map(|s| s.as_ref()).collect::<Vec<_>>()).to_string()
}

/// An amount as stored, without trailing zeros (PostgreSQL's `trim_scale` does the same;
/// SQLite keeps the text it was given).
pub(crate) fn trim_amount(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

/// Every workflow statement, with its parameters. `now` is the last parameter of the
/// statements that read the clock, and is bound on SQLite only ([`Dialect::now_arg`]).
pub(crate) struct WorkflowStatements {
    /// `$1` worker, `$2` lease, `$3` kinds; returns the [`Claim`](super::Claim) columns.
    pub claim: String,
    /// `$1` workflow id: `(step_index, step_name, output)`.
    pub checkpoints: String,
    /// `$1` workflow, `$2` step, `$3` worker, `$4` lease: the fence and lease renewal of a
    /// run; returns `attempts`.
    pub begin_run_fence: String,
    /// `$1` workflow, `$2` step, `$3` step name, `$4` worker, `$5` attempt: returns `run_id`.
    pub begin_run_insert: String,
    /// `$1` workflow, `$2` worker, `$3` lease.
    pub renew_lease: String,
    /// `$1` workflow, `$2` worker, `$3` step, `$4` last, `$5` keep lease, `$6` lease.
    pub advance: String,
    /// `$1` workflow, `$2` step, `$3` name, `$4` output, `$5` worker, `$6` attempt.
    pub insert_checkpoint: String,
    /// `$1` key, `$2` workflow, `$3` step, `$4` effect, `$5` payload.
    pub insert_effect: String,
    /// `$1` workflow, `$2` transaction, `$3` account, `$4` decision, `$5` score,
    /// `$6` factors, `$7` note.
    pub insert_case: String,
    /// `$1` id, `$2` workflow, `$3` window start, `$4` window end, `$5` kind, `$6` subject,
    /// `$7` severity, `$8` detail.
    pub insert_finding: String,
    pub insert_report: String,
    /// `$1` run id.
    pub run_checkpointed: String,
    /// `$1` run id, `$2` outcome, `$3` error.
    pub close_run: String,
    /// `$1` workflow, `$2` worker, `$3` permanent, `$4` max attempts, `$5` back-off;
    /// returns the new status.
    pub give_back_failed: String,
    /// `$1` workflow, `$2` worker.
    pub release_lease: String,
    /// `$1` worker.
    pub release_all_leases: String,
    /// `$1` kinds.
    pub runnable: String,
    /// `$1` workflow, `$2` kind, `$3` subject.
    pub schedule: String,
    /// `$1` retention, `$2` batch: the workflows to prune.
    pub prune_victims: String,
    /// `$1` workflow ids: `[checkpoints, step runs, effects]`.
    pub prune: [String; 3],
    /// `$1` transaction id: the [`SubjectRow`](super::SubjectRow) columns.
    pub subject: String,
    /// `$1` account, `$2` since, `$3` until: count, mean, variance, max, reviews, denials,
    /// countries (JSON).
    pub history: String,
    /// `$1` account, `$2` workflow.
    pub prior_escalations: String,
    /// `$1` from, `$2` to.
    pub decision_counts: String,
    /// `$1` from, `$2` to, `$3` bucket edges ([`Dialect::float_list`]).
    pub amount_buckets: String,
    /// `$1` from, `$2` to.
    pub dead_letters_between: String,
    /// `$1` from, `$2` to, `$3` low, `$4` high, `$5` minimum count.
    pub accounts_in_band: String,
}

impl WorkflowStatements {
    fn new(d: Dialect) -> Self {
        let int = |e: &str| d.cast(e, "int8");
        let count = int("count(*)");
        // Decided records with their amount (as a float) and currency, from whichever
        // table holds them. SQLite would materialise a UNION ALL before joining it, so it
        // looks each decision's row up by primary key instead.
        let (decided, amount, currency, found) = match d {
            Dialect::Postgres => (
                "decision_log d JOIN (SELECT transaction_id, amount, currency FROM transactions \
                 UNION ALL SELECT transaction_id, amount, currency FROM quarantine) t \
                 ON t.transaction_id = d.transaction_id",
                "t.amount",
                "t.currency",
                "",
            ),
            Dialect::Sqlite => (
                "decision_log d LEFT JOIN transactions t ON t.transaction_id = d.transaction_id \
                 LEFT JOIN quarantine q ON q.transaction_id = d.transaction_id",
                "CAST(COALESCE(t.amount, q.amount) AS REAL)",
                "COALESCE(t.currency, q.currency)",
                " AND (t.transaction_id IS NOT NULL OR q.transaction_id IS NOT NULL)",
            ),
        };
        let window = format!(
            "d.decided_at >= {} AND d.decided_at < {}{found}",
            d.ts_param(1),
            d.ts_param(2)
        );
        let bucket = match d {
            Dialect::Postgres => format!("width_bucket({}, $3::float8[])::int4", d.real(amount)),
            // width_bucket over sorted edges: how many edges are at most the amount.
            Dialect::Sqlite => {
                format!("(SELECT count(*) FROM json_each($3) e WHERE e.value <= {amount})")
            }
        };
        let (amount_text, history_amount, variance, countries) = match d {
            Dialect::Postgres => (
                "trim_scale(amount)::text",
                "amount",
                "COALESCE(var_pop(a), 0)",
                "COALESCE(json_agg(DISTINCT country ORDER BY country)::text, '[]')",
            ),
            Dialect::Sqlite => (
                "amount",
                "CAST(amount AS REAL)",
                "COALESCE(avg(a * a) - avg(a) * avg(a), 0)",
                "json_group_array(DISTINCT country)",
            ),
        };
        let history_rows = |table: &str| {
            format!(
                "SELECT {history_amount} AS a, decision, country FROM {table} \
                 WHERE account_id = $1 AND ts >= {} AND ts < {}",
                d.ts_param(2),
                d.ts_param(3)
            )
        };
        let skip_locked = match d {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        Self {
            claim: format!(
                "UPDATE workflows SET lease_owner = $1, lease_expires_at = {}, attempts = attempts + 1, \
                 updated_at = {now} \
                 WHERE workflow_id = (SELECT workflow_id FROM workflows WHERE status = 'runnable' AND {} \
                   AND (lease_expires_at IS NULL OR lease_expires_at <= {now}) \
                   ORDER BY created_at, workflow_id LIMIT 1{skip_locked}) \
                 RETURNING workflow_id, kind, subject, account_id, next_step, attempts",
                d.lease_until(2),
                d.in_json("kind", 3),
                now = d.now(4),
            ),
            checkpoints: format!(
                "SELECT step_index, step_name, {} FROM workflow_checkpoints \
                 WHERE workflow_id = $1 ORDER BY step_index",
                d.cast("output", "text")
            ),
            begin_run_fence: format!(
                "UPDATE workflows SET lease_expires_at = {}, updated_at = {} \
                 WHERE workflow_id = $1 AND next_step = $2 AND lease_owner = $3 AND status = 'runnable' \
                 RETURNING attempts",
                d.lease_until(4),
                d.now(5)
            ),
            begin_run_insert: format!(
                "INSERT INTO workflow_step_runs (workflow_id, step_index, step_name, worker_id, attempt, started_at) \
                 VALUES ($1, $2, $3, $4, $5, {}) RETURNING run_id",
                d.now(6)
            ),
            renew_lease: format!(
                "UPDATE workflows SET lease_expires_at = {}, updated_at = {} \
                 WHERE workflow_id = $1 AND lease_owner = $2 AND status = 'runnable'",
                d.lease_until(3),
                d.now(4)
            ),
            advance: format!(
                "UPDATE workflows SET next_step = next_step + 1, \
                   status = CASE WHEN $4 THEN 'completed' ELSE 'runnable' END, \
                   completed_at = CASE WHEN $4 THEN {now} END, \
                   lease_owner = CASE WHEN $4 OR NOT $5 THEN NULL ELSE lease_owner END, \
                   lease_expires_at = CASE WHEN $4 OR NOT $5 THEN NULL ELSE {} END, \
                   updated_at = {now} \
                 WHERE workflow_id = $1 AND lease_owner = $2 AND next_step = $3 AND status = 'runnable'",
                d.lease_until(6),
                now = d.now(7)
            ),
            insert_checkpoint: format!(
                "INSERT INTO workflow_checkpoints (workflow_id, step_index, step_name, output, worker_id, attempt, \
                 created_at) VALUES ($1, $2, $3, {}, $5, $6, {})",
                d.cast("$4", "jsonb"),
                d.now(7)
            ),
            insert_effect: format!(
                "INSERT INTO workflow_effects (idempotency_key, workflow_id, step_index, effect, payload, applied_at) \
                 VALUES ($1, $2, $3, $4, {}, {}) ON CONFLICT (idempotency_key) DO NOTHING",
                d.cast("$5", "jsonb"),
                d.now(6)
            ),
            insert_case: format!(
                "INSERT INTO investigation_cases (workflow_id, transaction_id, account_id, decision, score, factors, \
                 note, decided_by, proposed_action, rationale, cited_findings, fallback, governance, decided_at) \
                 VALUES ($1, $2, $3, $4, $5, {}, $7, $8, $9, $10, {}, $12, {}, {}) \
                 ON CONFLICT (workflow_id) DO NOTHING",
                d.cast("$6", "jsonb"),
                d.cast("$11", "jsonb"),
                d.cast("$13", "jsonb"),
                d.now(14)
            ),
            insert_report: format!(
                "INSERT INTO audit_reports (workflow_id, window_start, window_end, narrative, narrated_by, fallback, \
                 statistics, created_at) VALUES ($1, {}, {}, $4, $5, $6, {}, {}) \
                 ON CONFLICT (workflow_id) DO NOTHING",
                d.ts_param(2),
                d.ts_param(3),
                d.cast("$7", "jsonb"),
                d.now(8)
            ),
            insert_finding: format!(
                "INSERT INTO audit_findings (finding_id, workflow_id, window_start, window_end, kind, subject, \
                 severity, detail, created_at) VALUES ($1, $2, {}, {}, $5, $6, $7, {}, {}) \
                 ON CONFLICT (finding_id) DO NOTHING",
                d.ts_param(3),
                d.ts_param(4),
                d.cast("$8", "jsonb"),
                d.now(9)
            ),
            run_checkpointed: format!(
                "UPDATE workflow_step_runs SET finished_at = {}, outcome = 'checkpointed' WHERE run_id = $1",
                d.now(2)
            ),
            close_run: format!(
                "UPDATE workflow_step_runs SET finished_at = {}, outcome = $2, error = $3 WHERE run_id = $1",
                d.now(4)
            ),
            give_back_failed: format!(
                "UPDATE workflows SET lease_owner = NULL, \
                   status = CASE WHEN $3 OR attempts >= $4 THEN 'failed' ELSE 'runnable' END, \
                   completed_at = CASE WHEN $3 OR attempts >= $4 THEN {now} END, \
                   lease_expires_at = CASE WHEN $3 OR attempts >= $4 THEN NULL ELSE {} END, \
                   updated_at = {now} \
                 WHERE workflow_id = $1 AND lease_owner = $2 RETURNING status",
                d.lease_until(5),
                now = d.now(6)
            ),
            release_lease: format!(
                "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = {} \
                 WHERE workflow_id = $1 AND lease_owner = $2",
                d.now(3)
            ),
            release_all_leases: format!(
                "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = {} \
                 WHERE lease_owner = $1",
                d.now(2)
            ),
            runnable: format!(
                "SELECT {count} FROM workflows WHERE status = 'runnable' AND {}",
                d.in_json("kind", 1)
            ),
            schedule: format!(
                "INSERT INTO workflows (workflow_id, kind, subject, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'runnable', {now}, {now}) ON CONFLICT (workflow_id) DO NOTHING",
                now = d.now(4)
            ),
            // The IN list keeps the scan proportional to what is left to prune rather than
            // to all history.
            prune_victims: format!(
                "SELECT w.workflow_id FROM workflows w \
                 WHERE w.status <> 'runnable' AND w.completed_at < {} \
                   AND w.workflow_id IN (SELECT workflow_id FROM workflow_checkpoints \
                                         UNION SELECT workflow_id FROM workflow_step_runs) \
                 ORDER BY w.completed_at LIMIT $2",
                d.ago(1)
            ),
            prune: ["workflow_checkpoints", "workflow_step_runs", "workflow_effects"].map(|t| {
                format!("DELETE FROM {t} WHERE {}", d.in_json("workflow_id", 1))
            }),
            subject: format!(
                "SELECT account_id, ts, {}, {amount_text}, currency, merchant, category, country, channel, \
                 risk_score, {}, {}, policy_version, description, decision FROM transactions \
                 WHERE transaction_id = $1",
                d.real("amount"),
                d.cast("findings", "text"),
                d.cast("reasons", "text")
            ),
            history: format!(
                "SELECT {count}, {}, {}, {}, {}, {}, {countries} FROM ({} UNION ALL {}) h",
                d.real("COALESCE(avg(a), 0)"),
                d.real(variance),
                d.real("COALESCE(max(a), 0)"),
                int("count(*) FILTER (WHERE decision = 'review')"),
                int("count(*) FILTER (WHERE decision = 'deny')"),
                history_rows("transactions"),
                history_rows("quarantine")
            ),
            prior_escalations: format!(
                "SELECT {count} FROM investigation_cases \
                 WHERE account_id = $1 AND decision = 'escalate' AND workflow_id <> $2"
            ),
            decision_counts: format!(
                "SELECT result, policy_version, {count} FROM decision_log \
                 WHERE decided_at >= {} AND decided_at < {} GROUP BY 1, 2",
                d.ts_param(1),
                d.ts_param(2)
            ),
            amount_buckets: format!(
                "SELECT b, c, {count} FROM (SELECT {bucket} AS b, {currency} AS c FROM {decided} \
                 WHERE {window}) x GROUP BY b, c"
            ),
            dead_letters_between: format!(
                "SELECT {count} FROM dead_letters WHERE received_at >= {} AND received_at < {}",
                d.ts_param(1),
                d.ts_param(2)
            ),
            // Amounts in euros at the policy's own rates (`$6`, a JSON object of euros per
            // unit); a currency without a rate has no euro amount and is left out.
            accounts_in_band: {
                let (rates, rate) = match d {
                    Dialect::Postgres => (
                        "jsonb_each_text($6::jsonb) r",
                        "CAST(r.value AS float8)".to_owned(),
                    ),
                    Dialect::Sqlite => ("json_each($6) r", "CAST(r.value AS REAL)".to_owned()),
                };
                let eur = format!("({} * {rate})", d.real(amount));
                format!(
                    "SELECT d.account_id, {count}, {}, {} FROM {decided} JOIN {rates} \
                     ON r.key = {currency} \
                     WHERE {window} AND {eur} >= {} AND {eur} < {} \
                     GROUP BY d.account_id HAVING count(*) >= $5 ORDER BY d.account_id",
                    d.real(&format!("min({eur})")),
                    d.real(&format!("max({eur})")),
                    d.cast("$3", "float8"),
                    d.cast("$4", "float8")
                )
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_keeps_its_clock_and_skip_locked() {
        let s = Dialect::Postgres.workflow_sql();
        assert!(s.claim.contains("FOR UPDATE SKIP LOCKED"), "{}", s.claim);
        assert!(s.claim.contains("lease_expires_at <= now()"), "{}", s.claim);
        assert!(
            !s.claim.contains("$4"),
            "PostgreSQL binds no clock: {}",
            s.claim
        );
        assert!(s.amount_buckets.contains("width_bucket("));
    }

    #[test]
    fn sqlite_binds_its_clock_last_and_has_no_postgres_syntax() {
        let s = Dialect::Sqlite.workflow_sql();
        for text in [
            &s.claim,
            &s.advance,
            &s.give_back_failed,
            &s.history,
            &s.amount_buckets,
            &s.accounts_in_band,
            &s.prune_victims,
        ] {
            for pg in [
                "::",
                "now()",
                "make_interval",
                "SKIP LOCKED",
                "jsonb",
                "width_bucket",
            ] {
                assert!(!text.contains(pg), "{pg} in {text}");
            }
        }
        assert!(s.claim.contains("lease_expires_at <= $4"), "{}", s.claim);
        assert!(s.advance.ends_with("status = 'runnable'"));
    }

    #[test]
    fn lists_and_amounts_are_encoded_for_each_dialect() {
        assert_eq!(json_list(&["a", "b\"c"]), r#"["a","b\"c"]"#);
        assert_eq!(Dialect::Postgres.float_list(&[1.0, 2.5]), "{1,2.5}");
        assert_eq!(Dialect::Sqlite.float_list(&[1.0, 2.5]), "[1,2.5]");
        assert_eq!(trim_amount("12.50"), "12.5");
        assert_eq!(trim_amount("2500.00"), "2500");
        assert_eq!(trim_amount("2500"), "2500");
        let now = Utc::now();
        let lease = Duration::from_millis(1500);
        assert_eq!(Dialect::Postgres.lease_arg(lease, now), "1.5");
        assert_eq!(
            Dialect::Sqlite.lease_arg(lease, now),
            format_ts(now + chrono::Duration::milliseconds(1500))
        );
        assert_eq!(Dialect::Postgres.now_arg(now), None);
    }
}
