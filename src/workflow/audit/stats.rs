//! What the audit reads: per-window statistics of the decision log, the committed rows and
//! the dead letters, and accounts that keep landing just under a policy threshold.

use crate::workflow::step::StepError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;

/// Upper edges of the amount histogram's buckets: roughly half-decades, so that a shift of
/// the whole distribution by a factor of three moves records across a bucket edge.
pub const AMOUNT_EDGES: [f64; 11] = [
    1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1_000.0, 3_000.0, 10_000.0, 30_000.0, 100_000.0,
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub decisions: i64,
    pub allow: i64,
    pub review: i64,
    pub deny: i64,
    pub policy_versions: BTreeMap<String, i64>,
    /// `AMOUNT_EDGES.len() + 1` counts; bucket i holds amounts below edge i (and at least
    /// edge i-1).
    pub amount_buckets: Vec<i64>,
    pub currencies: BTreeMap<String, i64>,
    pub dead_letters: i64,
}

/// A policy amount threshold, as read from the policy data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub name: String,
    pub amount: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NearThreshold {
    pub account_id: String,
    pub threshold: String,
    pub threshold_amount: f64,
    pub count: i64,
    pub min_amount: f64,
    pub max_amount: f64,
}

/// Decisions with the amount and currency of their record (transactions or quarantine).
const DECIDED_ROWS: &str = "decision_log d JOIN (SELECT transaction_id, amount, currency FROM transactions \
     UNION ALL SELECT transaction_id, amount, currency FROM quarantine) t ON t.transaction_id = d.transaction_id";

pub async fn window_stats(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<WindowStats, StepError> {
    let mut s = WindowStats {
        from: Some(from),
        to: Some(to),
        amount_buckets: vec![0; AMOUNT_EDGES.len() + 1],
        ..WindowStats::default()
    };
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT result, policy_version, count(*)::int8 FROM decision_log \
         WHERE decided_at >= $1 AND decided_at < $2 GROUP BY 1, 2",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await?;
    for (result, version, n) in rows {
        s.decisions += n;
        match result.as_str() {
            "allow" => s.allow += n,
            "review" => s.review += n,
            _ => s.deny += n,
        }
        *s.policy_versions.entry(version).or_default() += n;
    }
    let sql = format!(
        "SELECT width_bucket(t.amount::float8, $3::float8[])::int4, t.currency, count(*)::int8 FROM {DECIDED_ROWS} \
         WHERE d.decided_at >= $1 AND d.decided_at < $2 GROUP BY 1, 2"
    );
    let rows = sqlx::query(&sql)
        .bind(from)
        .bind(to)
        .bind(AMOUNT_EDGES.as_slice())
        .fetch_all(pool)
        .await?;
    for r in rows {
        let bucket: i32 = r.try_get(0)?;
        let currency: String = r.try_get(1)?;
        let n: i64 = r.try_get(2)?;
        let i = usize::try_from(bucket).unwrap_or(0).min(AMOUNT_EDGES.len());
        s.amount_buckets[i] += n;
        *s.currencies.entry(currency).or_default() += n;
    }
    s.dead_letters = sqlx::query_scalar(
        "SELECT count(*)::int8 FROM dead_letters WHERE received_at >= $1 AND received_at < $2",
    )
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    Ok(s)
}

/// Accounts with at least `min_count` decided amounts in `[(1 - band) × threshold,
/// threshold)` for one of the thresholds: the pattern of someone keeping under a limit.
pub async fn near_thresholds(
    pool: &PgPool,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    thresholds: &[Threshold],
    band: f64,
    min_count: i64,
) -> Result<Vec<NearThreshold>, StepError> {
    let sql = format!(
        "SELECT d.account_id, count(*)::int8, min(t.amount)::float8, max(t.amount)::float8 FROM {DECIDED_ROWS} \
         WHERE d.decided_at >= $1 AND d.decided_at < $2 AND t.amount >= $3::float8 AND t.amount < $4::float8 \
         GROUP BY d.account_id HAVING count(*) >= $5 ORDER BY d.account_id"
    );
    let mut out = Vec::new();
    for th in thresholds {
        let rows: Vec<(String, i64, f64, f64)> = sqlx::query_as(&sql)
            .bind(from)
            .bind(to)
            .bind(th.amount * (1.0 - band))
            .bind(th.amount)
            .bind(min_count)
            .fetch_all(pool)
            .await?;
        out.extend(
            rows.into_iter().map(
                |(account_id, count, min_amount, max_amount)| NearThreshold {
                    account_id,
                    threshold: th.name.clone(),
                    threshold_amount: th.amount,
                    count,
                    min_amount,
                    max_amount,
                },
            ),
        );
    }
    Ok(out)
}

/// Every numeric `*_amount` entry of the policy's `agentic_config`: the limits the policy
/// compares amounts against. New thresholds in the policy data are picked up by name.
pub fn policy_thresholds(data: &serde_json::Value) -> Vec<Threshold> {
    let mut out: Vec<Threshold> = data
        .get("agentic_config")
        .and_then(|c| c.as_object())
        .map(|c| {
            c.iter()
                .filter(|(k, _)| k.ends_with("_amount"))
                .filter_map(|(k, v)| {
                    v.as_f64().filter(|a| *a > 0.0).map(|amount| Threshold {
                        name: k.clone(),
                        amount,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_come_from_the_shipped_policy_data() {
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../../../policies/data.json")).expect("json");
        let names: Vec<String> = policy_thresholds(&data)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert!(names.contains(&"high_value_amount".to_owned()), "{names:?}");
        assert!(names.contains(&"hard_limit_amount".to_owned()), "{names:?}");
    }
}
