//! The audit's rules: pure functions of a window's statistics and its baseline's.

use super::stats::{NearThreshold, WindowStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Fewer decisions than this in the window or the baseline: no rate or drift check,
    /// since a handful of records makes every rate look extreme.
    pub min_decisions: i64,
    /// A rate spikes when it is at least `spike_ratio` times the baseline's, at least
    /// `spike_min_increase` above it, and the difference has a z-score of `spike_min_z`.
    pub spike_ratio: f64,
    pub spike_min_increase: f64,
    pub spike_min_z: f64,
    /// The dead-letter share is smaller than decision rates, so it has its own floor.
    pub dead_letter_min_increase: f64,
    /// Population stability index from which a distribution has drifted (0.25 is the
    /// usual "significant shift" mark in credit-risk monitoring).
    pub drift_psi: f64,
    /// Policy versions decisions may carry; empty disables the check.
    pub expected_versions: Vec<String>,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            min_decisions: 30,
            spike_ratio: 2.0,
            spike_min_increase: 0.05,
            spike_min_z: 3.0,
            dead_letter_min_increase: 0.02,
            drift_psi: 0.25,
            expected_versions: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: String,
    /// What the finding is about within its kind (a version, an account); part of its id.
    pub subject: String,
    pub severity: String,
    pub detail: serde_json::Value,
}

pub const UNEXPECTED_POLICY_VERSION: &str = "unexpected_policy_version";
pub const DENY_SPIKE: &str = "deny_spike";
pub const REVIEW_SPIKE: &str = "review_spike";
pub const AMOUNT_DRIFT: &str = "amount_drift";
pub const CURRENCY_DRIFT: &str = "currency_drift";
pub const DEAD_LETTER_DRIFT: &str = "dead_letter_drift";
pub const NEAR_THRESHOLD: &str = "near_threshold";

pub fn detect(
    window: &WindowStats,
    baseline: &WindowStats,
    near: &[NearThreshold],
    near_min: i64,
    cfg: &DetectConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if !cfg.expected_versions.is_empty() {
        for (version, n) in &window.policy_versions {
            if !cfg.expected_versions.contains(version) {
                out.push(Finding {
                    kind: UNEXPECTED_POLICY_VERSION.into(),
                    subject: version.clone(),
                    severity: "high".into(),
                    detail: serde_json::json!({
                        "policy_version": version, "decisions": n,
                        "expected": cfg.expected_versions,
                    }),
                });
            }
        }
    }
    let comparable =
        window.decisions >= cfg.min_decisions && baseline.decisions >= cfg.min_decisions;
    if comparable {
        for (kind, w, b, severity) in [
            (DENY_SPIKE, window.deny, baseline.deny, "high"),
            (REVIEW_SPIKE, window.review, baseline.review, "medium"),
        ] {
            let r = Rates::new(w, window.decisions, b, baseline.decisions);
            if r.spikes(cfg.spike_ratio, cfg.spike_min_increase, cfg.spike_min_z) {
                out.push(r.finding(kind, severity));
            }
        }
        let amount_psi = psi(&window.amount_buckets, &baseline.amount_buckets);
        if amount_psi >= cfg.drift_psi {
            out.push(Finding {
                kind: AMOUNT_DRIFT.into(),
                subject: "amount".into(),
                severity: "medium".into(),
                detail: serde_json::json!({
                    "psi": round4(amount_psi), "window_buckets": window.amount_buckets,
                    "baseline_buckets": baseline.amount_buckets,
                    "bucket_edges": super::stats::AMOUNT_EDGES,
                }),
            });
        }
        let (w, b) = aligned(&window.currencies, &baseline.currencies);
        let currency_psi = psi(&w, &b);
        if currency_psi >= cfg.drift_psi {
            out.push(Finding {
                kind: CURRENCY_DRIFT.into(),
                subject: "currency".into(),
                severity: "medium".into(),
                detail: serde_json::json!({
                    "psi": round4(currency_psi), "window": window.currencies, "baseline": baseline.currencies,
                }),
            });
        }
        let r = Rates::new(
            window.dead_letters,
            window.dead_letters + window.decisions,
            baseline.dead_letters,
            baseline.dead_letters + baseline.decisions,
        );
        if r.spikes(
            cfg.spike_ratio,
            cfg.dead_letter_min_increase,
            cfg.spike_min_z,
        ) {
            out.push(r.finding(DEAD_LETTER_DRIFT, "medium"));
        }
    }
    for n in near {
        out.push(Finding {
            kind: NEAR_THRESHOLD.into(),
            subject: format!("{}:{}", n.account_id, n.threshold),
            severity: if n.count >= 2 * near_min {
                "high"
            } else {
                "medium"
            }
            .into(),
            detail: serde_json::to_value(n).unwrap_or_default(),
        });
    }
    out
}

/// One rate in the window against the same rate in the baseline.
struct Rates {
    w: i64,
    wn: i64,
    b: i64,
    bn: i64,
}

impl Rates {
    fn new(w: i64, wn: i64, b: i64, bn: i64) -> Self {
        Self { w, wn, b, bn }
    }

    fn rate(x: i64, n: i64) -> f64 {
        if n == 0 {
            0.0
        } else {
            x as f64 / n as f64
        }
    }

    /// Two-proportion z-score with the pooled rate.
    fn z(&self) -> f64 {
        let (p1, p2) = (Self::rate(self.w, self.wn), Self::rate(self.b, self.bn));
        let p = Self::rate(self.w + self.b, self.wn + self.bn);
        let se =
            (p * (1.0 - p) * (1.0 / self.wn.max(1) as f64 + 1.0 / self.bn.max(1) as f64)).sqrt();
        if se == 0.0 {
            if p1 > p2 {
                f64::INFINITY
            } else {
                0.0
            }
        } else {
            (p1 - p2) / se
        }
    }

    fn spikes(&self, ratio: f64, min_increase: f64, min_z: f64) -> bool {
        let (p1, p2) = (Self::rate(self.w, self.wn), Self::rate(self.b, self.bn));
        p1 >= p2 * ratio && p1 - p2 >= min_increase && self.z() >= min_z
    }

    fn finding(&self, kind: &str, severity: &str) -> Finding {
        let z = self.z();
        Finding {
            kind: kind.into(),
            subject: "rate".into(),
            severity: severity.into(),
            detail: serde_json::json!({
                "window_rate": round4(Self::rate(self.w, self.wn)), "window_count": self.w, "window_total": self.wn,
                "baseline_rate": round4(Self::rate(self.b, self.bn)), "baseline_count": self.b, "baseline_total": self.bn,
                "z": if z.is_finite() { round4(z) } else { 999.0 },
            }),
        }
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Two category histograms over the union of their categories, in one order.
fn aligned(a: &BTreeMap<String, i64>, b: &BTreeMap<String, i64>) -> (Vec<i64>, Vec<i64>) {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .map(|k| {
            (
                a.get(k).copied().unwrap_or(0),
                b.get(k).copied().unwrap_or(0),
            )
        })
        .unzip()
}

/// Population stability index of `actual` against `expected` (same buckets). Half a count
/// is added to every bucket so that an empty bucket does not make it infinite.
pub fn psi(actual: &[i64], expected: &[i64]) -> f64 {
    let k = actual.len().max(expected.len());
    if k == 0 {
        return 0.0;
    }
    let at: f64 = actual.iter().sum::<i64>() as f64 + 0.5 * k as f64;
    let et: f64 = expected.iter().sum::<i64>() as f64 + 0.5 * k as f64;
    (0..k)
        .map(|i| {
            let a = (actual.get(i).copied().unwrap_or(0) as f64 + 0.5) / at;
            let e = (expected.get(i).copied().unwrap_or(0) as f64 + 0.5) / et;
            (a - e) * (a / e).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(allow: i64, review: i64, deny: i64, dead: i64) -> WindowStats {
        let mut s = WindowStats {
            decisions: allow + review + deny,
            allow,
            review,
            deny,
            dead_letters: dead,
            ..WindowStats::default()
        };
        s.amount_buckets = vec![0; super::super::stats::AMOUNT_EDGES.len() + 1];
        s.amount_buckets[4] = s.decisions;
        s.currencies.insert("EUR".into(), s.decisions);
        s.policy_versions.insert("v1".into(), s.decisions);
        s
    }

    fn kinds(f: &[Finding]) -> Vec<&str> {
        f.iter().map(|f| f.kind.as_str()).collect()
    }

    #[test]
    fn the_same_rates_as_the_baseline_find_nothing() {
        let cfg = DetectConfig {
            expected_versions: vec!["v1".into()],
            ..DetectConfig::default()
        };
        let f = detect(&stats(90, 6, 4, 1), &stats(900, 60, 40, 10), &[], 3, &cfg);
        assert!(f.is_empty(), "{f:?}");
    }

    #[test]
    fn a_deny_spike_is_found_and_a_small_sample_is_not_judged() {
        let cfg = DetectConfig::default();
        let f = detect(&stats(60, 6, 34, 1), &stats(900, 60, 40, 10), &[], 3, &cfg);
        assert_eq!(kinds(&f), vec![DENY_SPIKE]);
        let f = detect(&stats(6, 0, 4, 0), &stats(900, 60, 40, 10), &[], 3, &cfg);
        assert!(
            f.is_empty(),
            "10 decisions are too few to call a spike: {f:?}"
        );
    }

    #[test]
    fn psi_is_zero_for_equal_shapes_and_large_for_a_shift() {
        assert!(psi(&[10, 20, 70], &[100, 200, 700]).abs() < 1e-3);
        assert!(psi(&[70, 20, 10], &[10, 20, 70]) > 1.0);
    }
}
