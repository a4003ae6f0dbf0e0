//! PostgreSQL's workflow role: leases (`FOR UPDATE SKIP LOCKED` plus an expiry), fenced
//! checkpoints with their effects, retention, and the reads of the investigation and audit
//! steps. See docs/decisions/0003-durable-workflows.md.

use super::PgStore;
use crate::store::workflow::{
    BandCount, CaseRow, CheckpointWrite, Checkpointed, Claim, EffectWrite, FindingRow, Fut,
    HistoryRow, PruneReport, SubjectRow, WorkflowStore,
};
use chrono::{DateTime, Utc};
use futures::FutureExt;
use sqlx::{PgConnection, Row};
use std::time::Duration;

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Decisions with the amount and currency of their record (transactions or quarantine).
const DECIDED_ROWS: &str = "decision_log d JOIN (SELECT transaction_id, amount, currency FROM transactions \
     UNION ALL SELECT transaction_id, amount, currency FROM quarantine) t ON t.transaction_id = d.transaction_id";

impl WorkflowStore for PgStore {
    fn claim_workflow<'a>(
        &'a self,
        worker: &'a str,
        kinds: &'a [&'a str],
        lease: Duration,
    ) -> Fut<'a, Option<Claim>> {
        async move {
            let row = sqlx::query(
                "UPDATE workflows w SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2), \
                 attempts = w.attempts + 1, updated_at = now() \
                 WHERE w.workflow_id = (SELECT workflow_id FROM workflows WHERE status = 'runnable' AND kind = ANY($3) \
                   AND (lease_expires_at IS NULL OR lease_expires_at <= now()) \
                   ORDER BY created_at, workflow_id LIMIT 1 FOR UPDATE SKIP LOCKED) \
                 RETURNING w.workflow_id, w.kind, w.subject, w.account_id, w.next_step, w.attempts",
            )
            .bind(worker)
            .bind(secs(lease))
            .bind(kinds)
            .fetch_optional(&self.pool)
            .await?;
            Ok(match row {
                None => None,
                Some(r) => Some(Claim {
                    workflow_id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    subject: r.try_get(2)?,
                    account_id: r.try_get(3)?,
                    next_step: r.try_get(4)?,
                    attempt: r.try_get(5)?,
                }),
            })
        }
        .boxed()
    }

    fn checkpoints<'a>(&'a self, workflow_id: &'a str) -> Fut<'a, Vec<(i32, String, String)>> {
        async move {
            Ok(sqlx::query_as(
                "SELECT step_index, step_name, output::text FROM workflow_checkpoints \
                 WHERE workflow_id = $1 ORDER BY step_index",
            )
            .bind(workflow_id)
            .fetch_all(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn begin_run<'a>(
        &'a self,
        claim: &'a Claim,
        step_name: &'a str,
        worker: &'a str,
        lease: Duration,
    ) -> Fut<'a, Option<i64>> {
        async move {
            Ok(sqlx::query_scalar(
                "WITH w AS (UPDATE workflows SET lease_expires_at = now() + make_interval(secs => $5), updated_at = now() \
                   WHERE workflow_id = $1 AND next_step = $2 AND lease_owner = $4 AND status = 'runnable' \
                   RETURNING workflow_id, next_step, attempts) \
                 INSERT INTO workflow_step_runs (workflow_id, step_index, step_name, worker_id, attempt, started_at) \
                 SELECT workflow_id, next_step, $3, $4, attempts, now() FROM w RETURNING run_id",
            )
            .bind(&claim.workflow_id)
            .bind(claim.next_step)
            .bind(step_name)
            .bind(worker)
            .bind(secs(lease))
            .fetch_optional(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn renew_lease<'a>(
        &'a self,
        workflow_id: &'a str,
        worker: &'a str,
        lease: Duration,
    ) -> Fut<'a, bool> {
        async move {
            let r = sqlx::query(
                "UPDATE workflows SET lease_expires_at = now() + make_interval(secs => $3), updated_at = now() \
                 WHERE workflow_id = $1 AND lease_owner = $2 AND status = 'runnable'",
            )
            .bind(workflow_id)
            .bind(worker)
            .bind(secs(lease))
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected() == 1)
        }
        .boxed()
    }

    fn checkpoint<'a>(&'a self, step: CheckpointWrite<'a>) -> Fut<'a, Checkpointed> {
        async move {
            let claim = step.claim;
            let mut tx = self.pool.begin().await?;
            let moved = sqlx::query(
                "UPDATE workflows SET next_step = next_step + 1, \
                   status = CASE WHEN $4 THEN 'completed' ELSE 'runnable' END, \
                   completed_at = CASE WHEN $4 THEN now() END, \
                   lease_owner = CASE WHEN $4 OR NOT $5 THEN NULL ELSE lease_owner END, \
                   lease_expires_at = CASE WHEN $4 OR NOT $5 THEN NULL ELSE now() + make_interval(secs => $6) END, \
                   updated_at = now() \
                 WHERE workflow_id = $1 AND lease_owner = $2 AND next_step = $3 AND status = 'runnable'",
            )
            .bind(&claim.workflow_id)
            .bind(step.worker)
            .bind(claim.next_step)
            .bind(step.last)
            .bind(step.keep_lease)
            .bind(secs(step.lease))
            .execute(&mut *tx)
            .await?;
            if moved.rows_affected() != 1 {
                // Dropping the transaction rolls it back: nothing was written.
                return Ok(Checkpointed::LeaseLost);
            }
            sqlx::query(
                "INSERT INTO workflow_checkpoints (workflow_id, step_index, step_name, output, worker_id, attempt, created_at) \
                 VALUES ($1, $2, $3, $4::jsonb, $5, $6, now())",
            )
            .bind(&claim.workflow_id)
            .bind(claim.next_step)
            .bind(step.step_name)
            .bind(step.output.to_string())
            .bind(step.worker)
            .bind(claim.attempt)
            .execute(&mut *tx)
            .await?;
            let mut applied = Vec::new();
            for (i, effect) in step.effects.iter().enumerate() {
                let fresh = sqlx::query(
                    "INSERT INTO workflow_effects (idempotency_key, workflow_id, step_index, effect, payload, applied_at) \
                     VALUES ($1, $2, $3, $4, $5::jsonb, now()) ON CONFLICT (idempotency_key) DO NOTHING",
                )
                .bind(&effect.key)
                .bind(&claim.workflow_id)
                .bind(claim.next_step)
                .bind(effect.name)
                .bind(effect.payload.to_string())
                .execute(&mut *tx)
                .await?;
                if fresh.rows_affected() == 1 {
                    apply(&mut tx, &effect.write).await?;
                    applied.push(i);
                }
            }
            sqlx::query(
                "UPDATE workflow_step_runs SET finished_at = now(), outcome = 'checkpointed' WHERE run_id = $1",
            )
            .bind(step.run_id)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Checkpointed::Done { applied })
        }
        .boxed()
    }

    fn close_run<'a>(
        &'a self,
        run_id: i64,
        outcome: &'a str,
        error: Option<&'a str>,
    ) -> Fut<'a, ()> {
        async move {
            sqlx::query(
                "UPDATE workflow_step_runs SET finished_at = now(), outcome = $2, error = $3 WHERE run_id = $1",
            )
            .bind(run_id)
            .bind(outcome)
            .bind(error)
            .execute(&self.pool)
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn give_back_failed<'a>(
        &'a self,
        claim: &'a Claim,
        worker: &'a str,
        permanent: bool,
        max_attempts: i32,
        backoff: Duration,
    ) -> Fut<'a, Option<String>> {
        async move {
            Ok(sqlx::query_scalar(
                "UPDATE workflows SET lease_owner = NULL, \
                   status = CASE WHEN $3 OR attempts >= $4 THEN 'failed' ELSE 'runnable' END, \
                   completed_at = CASE WHEN $3 OR attempts >= $4 THEN now() END, \
                   lease_expires_at = CASE WHEN $3 OR attempts >= $4 THEN NULL ELSE now() + make_interval(secs => $5) END, \
                   updated_at = now() \
                 WHERE workflow_id = $1 AND lease_owner = $2 RETURNING status",
            )
            .bind(&claim.workflow_id)
            .bind(worker)
            .bind(permanent)
            .bind(max_attempts)
            .bind(secs(backoff))
            .fetch_optional(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn release_lease<'a>(&'a self, workflow_id: &'a str, worker: &'a str) -> Fut<'a, ()> {
        async move {
            sqlx::query(
                "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
                 WHERE workflow_id = $1 AND lease_owner = $2",
            )
            .bind(workflow_id)
            .bind(worker)
            .execute(&self.pool)
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn release_all_leases<'a>(&'a self, worker: &'a str) -> Fut<'a, u64> {
        async move {
            Ok(sqlx::query(
                "UPDATE workflows SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now() \
                 WHERE lease_owner = $1",
            )
            .bind(worker)
            .execute(&self.pool)
            .await?
            .rows_affected())
        }
        .boxed()
    }

    fn runnable_workflows<'a>(&'a self, kinds: &'a [&'a str]) -> Fut<'a, i64> {
        async move {
            Ok(sqlx::query_scalar(
                "SELECT count(*) FROM workflows WHERE status = 'runnable' AND kind = ANY($1)",
            )
            .bind(kinds)
            .fetch_one(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn schedule_workflow<'a>(
        &'a self,
        workflow_id: &'a str,
        kind: &'a str,
        subject: &'a str,
    ) -> Fut<'a, bool> {
        async move {
            let r = sqlx::query(
                "INSERT INTO workflows (workflow_id, kind, subject, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'runnable', now(), now()) ON CONFLICT (workflow_id) DO NOTHING",
            )
            .bind(workflow_id)
            .bind(kind)
            .bind(subject)
            .execute(&self.pool)
            .await?;
            Ok(r.rows_affected() == 1)
        }
        .boxed()
    }

    fn prune_finished(&self, retention: Duration, batch: i64) -> Fut<'_, PruneReport> {
        async move {
            let mut report = PruneReport::default();
            let mut tx = self.pool.begin().await?;
            // Finished workflows never change again, so no row lock is needed; two pruners at
            // once only delete the same rows twice. The IN list keeps the scan proportional to
            // what is left to prune rather than to all history.
            let victims: Vec<String> = sqlx::query_scalar(
                "SELECT w.workflow_id FROM workflows w \
                 WHERE w.status <> 'runnable' AND w.completed_at < now() - make_interval(secs => $1) \
                   AND w.workflow_id IN (SELECT workflow_id FROM workflow_checkpoints \
                                         UNION SELECT workflow_id FROM workflow_step_runs) \
                 ORDER BY w.completed_at LIMIT $2",
            )
            .bind(retention.as_secs_f64())
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            if victims.is_empty() {
                tx.commit().await?;
                return Ok(report);
            }
            for (sql, count) in [
                (
                    "DELETE FROM workflow_checkpoints WHERE workflow_id = ANY($1)",
                    &mut report.checkpoints,
                ),
                (
                    "DELETE FROM workflow_step_runs WHERE workflow_id = ANY($1)",
                    &mut report.step_runs,
                ),
                (
                    "DELETE FROM workflow_effects WHERE workflow_id = ANY($1)",
                    &mut report.effects,
                ),
            ] {
                *count += sqlx::query(sql)
                    .bind(&victims)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            report.workflows = victims.len() as u64;
            Ok(report)
        }
        .boxed()
    }

    fn investigation_subject<'a>(&'a self, transaction_id: &'a str) -> Fut<'a, Option<SubjectRow>> {
        async move {
            let Some(row) = sqlx::query(
                "SELECT account_id, ts, amount::float8, trim_scale(amount)::text, currency, merchant, category, country, channel, \
                 risk_score, findings::text, reasons::text, policy_version FROM transactions WHERE transaction_id = $1",
            )
            .bind(transaction_id)
            .fetch_optional(&self.pool)
            .await?
            else {
                return Ok(None);
            };
            Ok(Some(SubjectRow {
                account_id: row.try_get(0)?,
                ts: row.try_get(1)?,
                amount: row.try_get(2)?,
                amount_text: row.try_get(3)?,
                currency: row.try_get(4)?,
                merchant: row.try_get(5)?,
                category: row.try_get(6)?,
                country: row.try_get(7)?,
                channel: row.try_get(8)?,
                risk_score: row.try_get(9)?,
                findings: row.try_get(10)?,
                reasons: row.try_get(11)?,
                policy_version: row.try_get(12)?,
            }))
        }
        .boxed()
    }

    fn account_history<'a>(
        &'a self,
        account_id: &'a str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Fut<'a, HistoryRow> {
        async move {
            let h = sqlx::query(
                "SELECT count(*)::int8, COALESCE(avg(amount), 0)::float8, COALESCE(stddev_pop(amount), 0)::float8, \
                 COALESCE(max(amount), 0)::float8, count(*) FILTER (WHERE decision = 'review')::int8, \
                 count(*) FILTER (WHERE decision = 'deny')::int8, \
                 COALESCE(array_agg(DISTINCT country ORDER BY country), '{}'::text[]) \
                 FROM (SELECT amount, decision, country FROM transactions WHERE account_id = $1 AND ts >= $2 AND ts < $3 \
                       UNION ALL \
                       SELECT amount, decision, country FROM quarantine WHERE account_id = $1 AND ts >= $2 AND ts < $3) h",
            )
            .bind(account_id)
            .bind(since)
            .bind(until)
            .fetch_one(&self.pool)
            .await?;
            Ok(HistoryRow {
                transactions: h.try_get(0)?,
                mean_amount: h.try_get(1)?,
                stddev_amount: h.try_get(2)?,
                max_amount: h.try_get(3)?,
                reviews: h.try_get(4)?,
                denials: h.try_get(5)?,
                countries: h.try_get(6)?,
            })
        }
        .boxed()
    }

    fn prior_escalations<'a>(&'a self, account_id: &'a str, workflow_id: &'a str) -> Fut<'a, i64> {
        async move {
            Ok(sqlx::query_scalar(
                "SELECT count(*)::int8 FROM investigation_cases \
                 WHERE account_id = $1 AND decision = 'escalate' AND workflow_id <> $2",
            )
            .bind(account_id)
            .bind(workflow_id)
            .fetch_one(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn decision_counts(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Fut<'_, Vec<(String, String, i64)>> {
        async move {
            Ok(sqlx::query_as(
                "SELECT result, policy_version, count(*)::int8 FROM decision_log \
                 WHERE decided_at >= $1 AND decided_at < $2 GROUP BY 1, 2",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn amount_buckets<'a>(
        &'a self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        edges: &'a [f64],
    ) -> Fut<'a, Vec<(i32, String, i64)>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT width_bucket(t.amount::float8, $3::float8[])::int4, t.currency, count(*)::int8 FROM {DECIDED_ROWS} \
                 WHERE d.decided_at >= $1 AND d.decided_at < $2 GROUP BY 1, 2"
            )
        });
        async move {
            Ok(sqlx::query_as(&SQL)
                .bind(from)
                .bind(to)
                .bind(edges)
                .fetch_all(&self.pool)
                .await?)
        }
        .boxed()
    }

    fn dead_letters_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Fut<'_, i64> {
        async move {
            Ok(sqlx::query_scalar(
                "SELECT count(*)::int8 FROM dead_letters WHERE received_at >= $1 AND received_at < $2",
            )
            .bind(from)
            .bind(to)
            .fetch_one(&self.pool)
            .await?)
        }
        .boxed()
    }

    fn accounts_in_band(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        low: f64,
        high: f64,
        min_count: i64,
    ) -> Fut<'_, Vec<BandCount>> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT d.account_id, count(*)::int8, min(t.amount)::float8, max(t.amount)::float8 FROM {DECIDED_ROWS} \
                 WHERE d.decided_at >= $1 AND d.decided_at < $2 AND t.amount >= $3::float8 AND t.amount < $4::float8 \
                 GROUP BY d.account_id HAVING count(*) >= $5 ORDER BY d.account_id"
            )
        });
        async move {
            let rows: Vec<(String, i64, f64, f64)> = sqlx::query_as(&SQL)
                .bind(from)
                .bind(to)
                .bind(low)
                .bind(high)
                .bind(min_count)
                .fetch_all(&self.pool)
                .await?;
            Ok(rows
                .into_iter()
                .map(|(account_id, count, min_amount, max_amount)| BandCount {
                    account_id,
                    count,
                    min_amount,
                    max_amount,
                })
                .collect())
        }
        .boxed()
    }
}

/// Writes an effect's rows, in the checkpoint's transaction.
async fn apply(conn: &mut PgConnection, write: &EffectWrite) -> Result<(), sqlx::Error> {
    match write {
        EffectWrite::JournalOnly => Ok(()),
        EffectWrite::InvestigationCase(c) => insert_case(conn, c).await,
        EffectWrite::AuditFindings(findings) => {
            for f in findings {
                insert_finding(&mut *conn, f).await?;
            }
            Ok(())
        }
    }
}

async fn insert_case(conn: &mut PgConnection, c: &CaseRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO investigation_cases (workflow_id, transaction_id, account_id, decision, score, factors, \
         note, decided_at) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, now()) ON CONFLICT (workflow_id) DO NOTHING",
    )
    .bind(&c.workflow_id)
    .bind(&c.transaction_id)
    .bind(&c.account_id)
    .bind(&c.decision)
    .bind(c.score)
    .bind(c.factors.to_string())
    .bind(&c.note)
    .execute(conn)
    .await
    .map(|_| ())
}

async fn insert_finding(conn: &mut PgConnection, f: &FindingRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_findings (finding_id, workflow_id, window_start, window_end, kind, subject, \
         severity, detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, now()) \
         ON CONFLICT (finding_id) DO NOTHING",
    )
    .bind(&f.finding_id)
    .bind(&f.workflow_id)
    .bind(f.window_start)
    .bind(f.window_end)
    .bind(&f.kind)
    .bind(&f.subject)
    .bind(&f.severity)
    .bind(f.detail.to_string())
    .execute(conn)
    .await
    .map(|_| ())
}
