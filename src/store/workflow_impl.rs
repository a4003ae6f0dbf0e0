//! The workflow role ([`WorkflowStore`](super::WorkflowStore)) implemented once for both
//! backends: [`workflow_impl!`] is the whole body, over a store type with a `pool` field
//! and a [`Dialect`] whose statements it runs (`workflow_sql.rs`). The backends differ
//! only in the statements' text, never in what is bound or read back. Every write that
//! changes a workflow is fenced on the lease owner and the step it expects; transactions
//! open with [`Dialect::begin_write`], so SQLite holds its one write lock from the start.

use super::sql::Dialect;
use chrono::{DateTime, Utc};
use sqlx::query::Query;

/// Binds `now` as the statement's last parameter where the dialect's text has it (SQLite).
pub(crate) fn bind_now<'q, DB: sqlx::Database>(
    q: Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    d: Dialect,
    now: DateTime<Utc>,
) -> Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
where
    String: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    match d.now_arg(now) {
        Some(n) => q.bind(n),
        None => q,
    }
}

/// Countries as the history statement returns them (a JSON array), distinct and sorted.
pub(crate) fn countries(json: &str) -> Result<Vec<String>, super::StoreError> {
    let mut c: Vec<String> = serde_json::from_str(json)
        .map_err(|e| super::StoreError::Corrupt(format!("history countries {json:?}: {e}")))?;
    c.sort_unstable();
    c.dedup();
    Ok(c)
}

macro_rules! workflow_impl {
    ($store:ty, $dialect:expr) => {
        impl $crate::store::WorkflowStore for $store {
            fn claim_workflow<'a>(
                &'a self,
                worker: &'a str,
                kinds: &'a [&'a str],
                lease: std::time::Duration,
            ) -> $crate::store::workflow::Fut<'a, Option<$crate::store::Claim>> {
                use sqlx::Row;
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().claim)
                        .bind(worker)
                        .bind(d.lease_arg(lease, now))
                        .bind($crate::store::workflow_sql::json_list(kinds));
                    let Some(r) = bind_now(q, d, now).fetch_optional(&self.pool).await? else {
                        return Ok(None);
                    };
                    Ok(Some($crate::store::Claim {
                        workflow_id: r.try_get(0)?,
                        kind: r.try_get(1)?,
                        subject: r.try_get(2)?,
                        account_id: r.try_get(3)?,
                        next_step: r.try_get(4)?,
                        attempt: r.try_get(5)?,
                    }))
                })
            }

            fn checkpoints<'a>(
                &'a self,
                workflow_id: &'a str,
            ) -> $crate::store::workflow::Fut<'a, Vec<(i32, String, String)>> {
                use sqlx::Row;
                Box::pin(async move {
                    let rows = sqlx::query(&$dialect.workflow_sql().checkpoints)
                        .bind(workflow_id)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err(Into::into)
                })
            }

            fn begin_run<'a>(
                &'a self,
                claim: &'a $crate::store::Claim,
                step_name: &'a str,
                worker: &'a str,
                lease: std::time::Duration,
            ) -> $crate::store::workflow::Fut<'a, Option<i64>> {
                use sqlx::Row;
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let s = d.workflow_sql();
                    let mut tx = self.pool.begin_with(d.begin_write()).await?;
                    let fence = sqlx::query(&s.begin_run_fence)
                        .bind(&claim.workflow_id)
                        .bind(claim.next_step)
                        .bind(worker)
                        .bind(d.lease_arg(lease, now));
                    let Some(r) = bind_now(fence, d, now).fetch_optional(&mut *tx).await? else {
                        // Dropping the transaction rolls it back: nothing was written.
                        return Ok(None);
                    };
                    let attempt: i32 = r.try_get(0)?;
                    let insert = sqlx::query(&s.begin_run_insert)
                        .bind(&claim.workflow_id)
                        .bind(claim.next_step)
                        .bind(step_name)
                        .bind(worker)
                        .bind(attempt);
                    let run_id: i64 = bind_now(insert, d, now)
                        .fetch_one(&mut *tx)
                        .await?
                        .try_get(0)?;
                    tx.commit().await?;
                    Ok(Some(run_id))
                })
            }

            fn renew_lease<'a>(
                &'a self,
                workflow_id: &'a str,
                worker: &'a str,
                lease: std::time::Duration,
            ) -> $crate::store::workflow::Fut<'a, bool> {
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().renew_lease)
                        .bind(workflow_id)
                        .bind(worker)
                        .bind(d.lease_arg(lease, now));
                    let r = bind_now(q, d, now).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                })
            }

            fn checkpoint<'a>(
                &'a self,
                step: $crate::store::CheckpointWrite<'a>,
            ) -> $crate::store::workflow::Fut<'a, $crate::store::Checkpointed> {
                use $crate::store::workflow_impl::bind_now;
                use $crate::store::EffectWrite;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let s = d.workflow_sql();
                    let claim = step.claim;
                    let mut tx = self.pool.begin_with(d.begin_write()).await?;
                    let advance = sqlx::query(&s.advance)
                        .bind(&claim.workflow_id)
                        .bind(step.worker)
                        .bind(claim.next_step)
                        .bind(step.last)
                        .bind(step.keep_lease)
                        .bind(d.lease_arg(step.lease, now));
                    let moved = bind_now(advance, d, now).execute(&mut *tx).await?;
                    if moved.rows_affected() != 1 {
                        // Dropping the transaction rolls it back: nothing was written.
                        return Ok($crate::store::Checkpointed::LeaseLost);
                    }
                    let insert = sqlx::query(&s.insert_checkpoint)
                        .bind(&claim.workflow_id)
                        .bind(claim.next_step)
                        .bind(step.step_name)
                        .bind(step.output.to_string())
                        .bind(step.worker)
                        .bind(claim.attempt);
                    bind_now(insert, d, now).execute(&mut *tx).await?;
                    let mut applied = Vec::new();
                    for (i, effect) in step.effects.iter().enumerate() {
                        let journal = sqlx::query(&s.insert_effect)
                            .bind(&effect.key)
                            .bind(&claim.workflow_id)
                            .bind(claim.next_step)
                            .bind(effect.name)
                            .bind(effect.payload.to_string());
                        let fresh = bind_now(journal, d, now).execute(&mut *tx).await?;
                        if fresh.rows_affected() != 1 {
                            continue;
                        }
                        match &effect.write {
                            EffectWrite::JournalOnly => {}
                            EffectWrite::InvestigationCase(c) => {
                                let q = sqlx::query(&s.insert_case)
                                    .bind(&c.workflow_id)
                                    .bind(&c.transaction_id)
                                    .bind(&c.account_id)
                                    .bind(&c.decision)
                                    .bind(c.score)
                                    .bind(c.factors.to_string())
                                    .bind(&c.note)
                                    .bind(&c.decided_by)
                                    .bind(&c.proposed_action)
                                    .bind(&c.rationale)
                                    .bind(c.cited_findings.as_ref().map(|v| v.to_string()))
                                    .bind(&c.fallback)
                                    .bind(c.governance.as_ref().map(|v| v.to_string()));
                                bind_now(q, d, now).execute(&mut *tx).await?;
                            }
                            EffectWrite::AuditFindings(findings) => {
                                for f in findings {
                                    let q = sqlx::query(&s.insert_finding)
                                        .bind(&f.finding_id)
                                        .bind(&f.workflow_id)
                                        .bind($crate::store::format_ts(f.window_start))
                                        .bind($crate::store::format_ts(f.window_end))
                                        .bind(&f.kind)
                                        .bind(&f.subject)
                                        .bind(&f.severity)
                                        .bind(f.detail.to_string());
                                    bind_now(q, d, now).execute(&mut *tx).await?;
                                }
                            }
                            EffectWrite::AuditReport(r) => {
                                let q = sqlx::query(&s.insert_report)
                                    .bind(&r.workflow_id)
                                    .bind($crate::store::format_ts(r.window_start))
                                    .bind($crate::store::format_ts(r.window_end))
                                    .bind(&r.narrative)
                                    .bind(&r.narrated_by)
                                    .bind(&r.fallback)
                                    .bind(r.statistics.to_string());
                                bind_now(q, d, now).execute(&mut *tx).await?;
                            }
                        }
                        applied.push(i);
                    }
                    let close = sqlx::query(&s.run_checkpointed).bind(step.run_id);
                    bind_now(close, d, now).execute(&mut *tx).await?;
                    if let Some(lineage) = step.lineage {
                        $crate::store::lineage::apply_lineage_step!(tx, lineage);
                    }
                    tx.commit().await?;
                    Ok($crate::store::Checkpointed::Done { applied })
                })
            }

            fn close_run<'a>(
                &'a self,
                run_id: i64,
                outcome: &'a str,
                error: Option<&'a str>,
            ) -> $crate::store::workflow::Fut<'a, ()> {
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().close_run)
                        .bind(run_id)
                        .bind(outcome)
                        .bind(error);
                    bind_now(q, d, now).execute(&self.pool).await?;
                    Ok(())
                })
            }

            fn give_back_failed<'a>(
                &'a self,
                claim: &'a $crate::store::Claim,
                worker: &'a str,
                permanent: bool,
                max_attempts: i32,
                backoff: std::time::Duration,
            ) -> $crate::store::workflow::Fut<'a, Option<String>> {
                use sqlx::Row;
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().give_back_failed)
                        .bind(&claim.workflow_id)
                        .bind(worker)
                        .bind(permanent)
                        .bind(max_attempts)
                        .bind(d.lease_arg(backoff, now));
                    match bind_now(q, d, now).fetch_optional(&self.pool).await? {
                        Some(r) => Ok(Some(r.try_get(0)?)),
                        None => Ok(None),
                    }
                })
            }

            fn release_lease<'a>(
                &'a self,
                workflow_id: &'a str,
                worker: &'a str,
            ) -> $crate::store::workflow::Fut<'a, ()> {
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().release_lease)
                        .bind(workflow_id)
                        .bind(worker);
                    bind_now(q, d, now).execute(&self.pool).await?;
                    Ok(())
                })
            }

            fn release_all_leases<'a>(
                &'a self,
                worker: &'a str,
            ) -> $crate::store::workflow::Fut<'a, u64> {
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().release_all_leases).bind(worker);
                    Ok(bind_now(q, d, now)
                        .execute(&self.pool)
                        .await?
                        .rows_affected())
                })
            }

            fn runnable_workflows<'a>(
                &'a self,
                kinds: &'a [&'a str],
            ) -> $crate::store::workflow::Fut<'a, i64> {
                use sqlx::Row;
                Box::pin(async move {
                    let r = sqlx::query(&$dialect.workflow_sql().runnable)
                        .bind($crate::store::workflow_sql::json_list(kinds))
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(r.try_get(0)?)
                })
            }

            fn schedule_workflow<'a>(
                &'a self,
                workflow_id: &'a str,
                kind: &'a str,
                subject: &'a str,
            ) -> $crate::store::workflow::Fut<'a, bool> {
                use $crate::store::workflow_impl::bind_now;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let q = sqlx::query(&d.workflow_sql().schedule)
                        .bind(workflow_id)
                        .bind(kind)
                        .bind(subject);
                    let r = bind_now(q, d, now).execute(&self.pool).await?;
                    Ok(r.rows_affected() == 1)
                })
            }

            fn prune_finished(
                &self,
                retention: std::time::Duration,
                batch: i64,
            ) -> $crate::store::workflow::Fut<'_, $crate::store::PruneReport> {
                use sqlx::Row;
                Box::pin(async move {
                    let (d, now) = ($dialect, chrono::Utc::now());
                    let s = d.workflow_sql();
                    let mut report = $crate::store::PruneReport::default();
                    // Finished workflows never change again, so no row lock is needed; two
                    // pruners at once only delete the same rows twice.
                    let mut tx = self.pool.begin_with(d.begin_write()).await?;
                    let victims: Vec<String> = sqlx::query(&s.prune_victims)
                        .bind(d.ago_arg(retention, now))
                        .bind(batch)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| r.try_get(0))
                        .collect::<Result<_, sqlx::Error>>()?;
                    if victims.is_empty() {
                        tx.commit().await?;
                        return Ok(report);
                    }
                    let ids = $crate::store::workflow_sql::json_list(&victims);
                    let [checkpoints, runs, effects] = &s.prune;
                    for (sql, count) in [
                        (checkpoints, &mut report.checkpoints),
                        (runs, &mut report.step_runs),
                        (effects, &mut report.effects),
                    ] {
                        *count += sqlx::query(sql)
                            .bind(&ids)
                            .execute(&mut *tx)
                            .await?
                            .rows_affected();
                    }
                    tx.commit().await?;
                    report.workflows = victims.len() as u64;
                    Ok(report)
                })
            }

            fn investigation_subject<'a>(
                &'a self,
                transaction_id: &'a str,
            ) -> $crate::store::workflow::Fut<'a, Option<$crate::store::SubjectRow>> {
                use sqlx::Row;
                Box::pin(async move {
                    let Some(r) = sqlx::query(&$dialect.workflow_sql().subject)
                        .bind(transaction_id)
                        .fetch_optional(&self.pool)
                        .await?
                    else {
                        return Ok(None);
                    };
                    let amount_text: String = r.try_get(3)?;
                    Ok(Some($crate::store::SubjectRow {
                        account_id: r.try_get(0)?,
                        ts: r.try_get(1)?,
                        amount: r.try_get(2)?,
                        amount_text: $crate::store::workflow_sql::trim_amount(&amount_text),
                        currency: r.try_get(4)?,
                        merchant: r.try_get(5)?,
                        category: r.try_get(6)?,
                        country: r.try_get(7)?,
                        channel: r.try_get(8)?,
                        risk_score: r.try_get(9)?,
                        findings: r.try_get(10)?,
                        reasons: r.try_get(11)?,
                        policy_version: r.try_get(12)?,
                        description: r.try_get(13)?,
                        decision: r.try_get(14)?,
                    }))
                })
            }

            fn account_history<'a>(
                &'a self,
                account_id: &'a str,
                since: chrono::DateTime<chrono::Utc>,
                until: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::workflow::Fut<'a, $crate::store::HistoryRow> {
                use sqlx::Row;
                Box::pin(async move {
                    let h = sqlx::query(&$dialect.workflow_sql().history)
                        .bind(account_id)
                        .bind($crate::store::format_ts(since))
                        .bind($crate::store::format_ts(until))
                        .fetch_one(&self.pool)
                        .await?;
                    let variance: f64 = h.try_get(2)?;
                    let countries: String = h.try_get(6)?;
                    Ok($crate::store::HistoryRow {
                        transactions: h.try_get(0)?,
                        mean_amount: h.try_get(1)?,
                        stddev_amount: variance.max(0.0).sqrt(),
                        max_amount: h.try_get(3)?,
                        reviews: h.try_get(4)?,
                        denials: h.try_get(5)?,
                        countries: $crate::store::workflow_impl::countries(&countries)?,
                    })
                })
            }

            fn prior_escalations<'a>(
                &'a self,
                account_id: &'a str,
                workflow_id: &'a str,
            ) -> $crate::store::workflow::Fut<'a, i64> {
                use sqlx::Row;
                Box::pin(async move {
                    let r = sqlx::query(&$dialect.workflow_sql().prior_escalations)
                        .bind(account_id)
                        .bind(workflow_id)
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(r.try_get(0)?)
                })
            }

            fn decision_counts(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::workflow::Fut<'_, Vec<(String, String, i64)>> {
                use sqlx::Row;
                Box::pin(async move {
                    let rows = sqlx::query(&$dialect.workflow_sql().decision_counts)
                        .bind($crate::store::format_ts(from))
                        .bind($crate::store::format_ts(to))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err(Into::into)
                })
            }

            fn amount_buckets<'a>(
                &'a self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                edges: &'a [f64],
            ) -> $crate::store::workflow::Fut<'a, Vec<(i32, String, i64)>> {
                use sqlx::Row;
                Box::pin(async move {
                    let d = $dialect;
                    let rows = sqlx::query(&d.workflow_sql().amount_buckets)
                        .bind($crate::store::format_ts(from))
                        .bind($crate::store::format_ts(to))
                        .bind(d.float_list(edges))
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err(Into::into)
                })
            }

            fn dead_letters_between(
                &self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> $crate::store::workflow::Fut<'_, i64> {
                use sqlx::Row;
                Box::pin(async move {
                    let r = sqlx::query(&$dialect.workflow_sql().dead_letters_between)
                        .bind($crate::store::format_ts(from))
                        .bind($crate::store::format_ts(to))
                        .fetch_one(&self.pool)
                        .await?;
                    Ok(r.try_get(0)?)
                })
            }

            fn accounts_in_band<'a>(
                &'a self,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
                (low, high): (f64, f64),
                min_count: i64,
                eur_per_unit: &'a std::collections::BTreeMap<String, f64>,
            ) -> $crate::store::workflow::Fut<'a, Vec<$crate::store::BandCount>> {
                use sqlx::Row;
                Box::pin(async move {
                    // A JSON object; a non-finite rate becomes null, which matches no amount.
                    let rates = serde_json::Value::Object(
                        eur_per_unit
                            .iter()
                            .map(|(c, r)| (c.clone(), serde_json::Value::from(*r)))
                            .collect(),
                    )
                    .to_string();
                    let rows = sqlx::query(&$dialect.workflow_sql().accounts_in_band)
                        .bind($crate::store::format_ts(from))
                        .bind($crate::store::format_ts(to))
                        .bind(low)
                        .bind(high)
                        .bind(min_count)
                        .bind(rates)
                        .fetch_all(&self.pool)
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok($crate::store::BandCount {
                                account_id: r.try_get(0)?,
                                count: r.try_get(1)?,
                                min_amount: r.try_get(2)?,
                                max_amount: r.try_get(3)?,
                            })
                        })
                        .collect::<Result<_, sqlx::Error>>()
                        .map_err(Into::into)
                })
            }
        }
    };
}
pub(crate) use workflow_impl;
