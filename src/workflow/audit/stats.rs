//! What the audit reads: per-window statistics of the decision log, the committed rows and
//! the dead letters, and accounts that keep landing just under a policy threshold.

use crate::store::WorkflowStore;
use crate::workflow::step::StepError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
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
    /// In euros, as the amounts below.
    pub threshold_amount: f64,
    pub count: i64,
    pub min_amount: f64,
    pub max_amount: f64,
}

pub async fn window_stats(
    store: &dyn WorkflowStore,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<WindowStats, StepError> {
    let mut s = WindowStats {
        from: Some(from),
        to: Some(to),
        amount_buckets: vec![0; AMOUNT_EDGES.len() + 1],
        ..WindowStats::default()
    };
    for (result, version, n) in store.decision_counts(from, to).await? {
        s.decisions += n;
        match result.as_str() {
            "allow" => s.allow += n,
            "review" => s.review += n,
            _ => s.deny += n,
        }
        *s.policy_versions.entry(version).or_default() += n;
    }
    for (bucket, currency, n) in store.amount_buckets(from, to, &AMOUNT_EDGES).await? {
        let i = usize::try_from(bucket).unwrap_or(0).min(AMOUNT_EDGES.len());
        s.amount_buckets[i] += n;
        *s.currencies.entry(currency).or_default() += n;
    }
    s.dead_letters = store.dead_letters_between(from, to).await?;
    Ok(s)
}

/// Accounts with at least `min_count` decided amounts in `[(1 - band) × threshold,
/// threshold)` for one of the thresholds: the pattern of someone keeping under a limit. The
/// thresholds are in euros, as the policy's are (decision 0019): amounts are converted at
/// the policy's own `fx_to_eur`, so the audit sees the limits the policy applies.
pub async fn near_thresholds(
    store: &dyn WorkflowStore,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    thresholds: &[Threshold],
    eur_per_unit: &BTreeMap<String, f64>,
    band: f64,
    min_count: i64,
) -> Result<Vec<NearThreshold>, StepError> {
    let mut out = Vec::new();
    for th in thresholds {
        let band = (th.amount * (1.0 - band), th.amount);
        let rows = store
            .accounts_in_band(from, to, band, min_count, eur_per_unit)
            .await?;
        out.extend(rows.into_iter().map(|r| NearThreshold {
            account_id: r.account_id,
            threshold: th.name.clone(),
            threshold_amount: th.amount,
            count: r.count,
            min_amount: r.min_amount,
            max_amount: r.max_amount,
        }));
    }
    Ok(out)
}

/// The policy's exchange rates (`agentic_config.fx_to_eur`: euros per unit of each
/// currency); positive finite numbers only.
pub fn policy_rates(data: &serde_json::Value) -> BTreeMap<String, f64> {
    data.get("agentic_config")
        .and_then(|c| c.get("fx_to_eur"))
        .and_then(|t| t.as_object())
        .map(|t| {
            t.iter()
                .filter_map(|(c, r)| {
                    r.as_f64()
                        .filter(|r| r.is_finite() && *r > 0.0)
                        .map(|r| (c.clone(), r))
                })
                .collect()
        })
        .unwrap_or_default()
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
        let rates = policy_rates(&data);
        assert_eq!(rates.get("EUR"), Some(&1.0));
        assert!(rates.len() >= 50, "{} rates", rates.len());
    }
}
