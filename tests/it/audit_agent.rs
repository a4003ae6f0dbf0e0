//! The audit agent against PostgreSQL: a clean window yields no finding; each planted
//! anomaly yields its own finding, alone and all together, in `audit_findings` and in the
//! metric; the worker schedules and runs the audit of the last closed window by itself.

use crate::common;

use chrono::{DateTime, Duration as ChronoDuration, TimeZone, Utc};
use pfm::app::{WorkerExit, WorkerOptions};
use pfm::store::{CommitBatch, CommitStore, Database, DeadLetterRow, PgStore, TxnRow};
use pfm::workflow::audit::{self, AuditConfig, DetectConfig};
use pfm::workflow::{register_metrics, Engine, EngineSettings, FindingLabel, Progress};
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anomaly {
    PolicyVersion,
    DenySpike,
    ReviewSpike,
    AmountShift,
    CurrencyShift,
    DeadLetters,
    UnderThreshold,
}

const ALL: [Anomaly; 7] = [
    Anomaly::PolicyVersion,
    Anomaly::DenySpike,
    Anomaly::ReviewSpike,
    Anomaly::AmountShift,
    Anomaly::CurrencyShift,
    Anomaly::DeadLetters,
    Anomaly::UnderThreshold,
];

impl Anomaly {
    fn kind(self) -> &'static str {
        match self {
            Self::PolicyVersion => audit::UNEXPECTED_POLICY_VERSION,
            Self::DenySpike => audit::DENY_SPIKE,
            Self::ReviewSpike => audit::REVIEW_SPIKE,
            Self::AmountShift => audit::AMOUNT_DRIFT,
            Self::CurrencyShift => audit::CURRENCY_DRIFT,
            Self::DeadLetters => audit::DEAD_LETTER_DRIFT,
            Self::UnderThreshold => audit::NEAR_THRESHOLD,
        }
    }
}

fn window() -> (DateTime<Utc>, DateTime<Utc>) {
    let start = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    (start, start + ChronoDuration::hours(1))
}

const BASELINE_WINDOWS: i32 = 6;
/// Everyday amounts, all far from any policy threshold.
const AMOUNTS: [&str; 10] = [
    "12.50", "25", "40", "60", "85", "120", "150", "220", "75", "33",
];

struct Rec {
    id: String,
    account: String,
    amount: String,
    currency: &'static str,
    decision: &'static str,
    version: &'static str,
    at: DateTime<Utc>,
}

fn txn(r: &Rec, offset: i64) -> TxnRow {
    TxnRow {
        digest: format!("d-{}", r.id),
        account_id: r.account.clone(),
        ts: r.at - ChronoDuration::seconds(1),
        amount: r.amount.clone(),
        currency: r.currency.into(),
        decision: r.decision.into(),
        policy_version: r.version.into(),
        decided_at: r.at,
        source: "file:audit".into(),
        offset,
        ..common::sample_row(&r.id)
    }
}

fn dead(offset: i64, at: DateTime<Utc>) -> DeadLetterRow {
    DeadLetterRow {
        source: "file:audit".into(),
        partition: 0,
        offset,
        transaction_id: None,
        reason: "bad_json".into(),
        detail: "expected value".into(),
        payload: "{oops".into(),
        received_at: at,
    }
}

/// `n` ordinary records spread over `[from, from + span)`: 5% reviews, 2% denials, mostly
/// euros, a 1% dead-letter share.
fn ordinary(
    tag: &str,
    n: i64,
    from: DateTime<Utc>,
    span: ChronoDuration,
) -> (Vec<Rec>, Vec<DateTime<Utc>>) {
    let step = span / n as i32;
    let recs = (0..n)
        .map(|i| Rec {
            id: format!("{tag}-{i}"),
            account: format!("acct-{}", i % 40),
            amount: AMOUNTS[(i % 10) as usize].into(),
            currency: match i % 10 {
                0..=6 => "EUR",
                7 | 8 => "USD",
                _ => "GBP",
            },
            decision: if i % 20 == 0 {
                "review"
            } else if i % 50 == 1 {
                "deny"
            } else {
                "allow"
            },
            version: "v1",
            at: from + step * i as i32,
        })
        .collect();
    let dead = (0..n / 100)
        .map(|i| from + step * (i * 100 + 50) as i32)
        .collect();
    (recs, dead)
}

/// Seeds a baseline and a window with the given anomalies planted in the window, runs the
/// audit workflow of the window, and returns the kinds and subjects it found.
async fn audit_with(
    anomalies: &[Anomaly],
) -> Option<(BTreeSet<String>, BTreeSet<String>, Vec<(String, u64)>)> {
    let url = common::fresh_pg_database().await?;
    let store = PgStore::connect(&url, 4).await.expect("connect");
    store.migrate().await.expect("migrate");
    let (start, end) = window();
    let base_from = start - ChronoDuration::hours(BASELINE_WINDOWS.into());
    let (mut recs, mut dead_at) = ordinary("b", 600, base_from, start - base_from);
    let (mut win, win_dead) = ordinary("w", 100, start, end - start);
    dead_at.extend(win_dead);
    for a in anomalies {
        match a {
            Anomaly::PolicyVersion => win.iter_mut().take(5).for_each(|r| r.version = "v-rogue"),
            Anomaly::DenySpike => win
                .iter_mut()
                .filter(|r| r.decision == "allow")
                .step_by(2)
                .take(30)
                .for_each(|r| r.decision = "deny"),
            Anomaly::ReviewSpike => win
                .iter_mut()
                .filter(|r| r.decision == "allow")
                .skip(1)
                .step_by(2)
                .take(25)
                .for_each(|r| r.decision = "review"),
            Anomaly::AmountShift => win.iter_mut().for_each(|r| {
                let x: f64 = r.amount.parse().expect("amount");
                r.amount = format!("{}", x * 20.0);
            }),
            Anomaly::CurrencyShift => win
                .iter_mut()
                .filter(|r| r.currency == "EUR")
                .take(60)
                .for_each(|r| r.currency = "JPY"),
            Anomaly::DeadLetters => {
                dead_at.extend((0..15).map(|i| start + ChronoDuration::minutes(2 * i + 1)))
            }
            Anomaly::UnderThreshold => {
                // Four amounts just under the policy's high_value_amount (10000): two in the
                // baseline hours, two in the window.
                for (i, at) in [
                    start - ChronoDuration::hours(3),
                    start - ChronoDuration::hours(1),
                    start + ChronoDuration::minutes(10),
                    start + ChronoDuration::minutes(40),
                ]
                .into_iter()
                .enumerate()
                {
                    recs.push(Rec {
                        id: format!("smurf-{i}"),
                        account: "acct-smurf".into(),
                        amount: ["9500", "9800", "9250", "9990"][i].into(),
                        currency: "EUR",
                        decision: "allow",
                        version: "v1",
                        at,
                    });
                }
            }
        }
    }
    recs.extend(win);
    let rows: Vec<TxnRow> = recs
        .iter()
        .enumerate()
        .map(|(i, r)| txn(r, i as i64))
        .collect();
    let n = rows.len() as i64;
    let dead_letters = dead_at
        .iter()
        .enumerate()
        .map(|(i, at)| dead(n + i as i64, *at))
        .collect();
    store
        .commit(&CommitBatch {
            rows,
            dead_letters,
            offsets: vec![],
            detector_state: vec![],
            ..Default::default()
        })
        .await
        .expect("commit");

    let data = audit::load_policy_data(None).expect("policy data");
    let cfg = AuditConfig {
        baseline_windows: BASELINE_WINDOWS,
        thresholds: audit::policy_thresholds(&data),
        eur_per_unit: audit::policy_rates(&data),
        detect: DetectConfig {
            expected_versions: vec!["v1".into()],
            ..DetectConfig::default()
        },
        ..AuditConfig::default()
    };
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(register_metrics(&mut registry));
    let pool = store.pool();
    assert!(audit::schedule(&store, start, end).await.expect("schedule"));
    assert!(
        !audit::schedule(&store, start, end).await.expect("again"),
        "one workflow per window"
    );
    let engine = Engine::new(
        store.clone(),
        "auditor",
        vec![audit::definition(cfg)],
        EngineSettings::default(),
    )
    .with_metrics(metrics.clone());
    let (_tx, stop) = watch::channel(false);
    assert_eq!(
        engine.work_once(&stop).await.expect("audit"),
        Some(Progress::Completed)
    );
    assert_eq!(engine.work_once(&stop).await.expect("nothing left"), None);

    let found: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT kind, subject, workflow_id FROM audit_findings WHERE window_start = $1 ORDER BY 1, 2",
    )
    .bind(start)
    .fetch_all(pool)
    .await
    .expect("findings");
    for (_, _, wf) in &found {
        assert_eq!(wf, "audit:2026-03-01T12:00:00Z");
    }
    let effects: i64 =
        sqlx::query_scalar("SELECT count(*) FROM workflow_effects WHERE effect = 'audit_findings'")
            .fetch_one(pool)
            .await
            .expect("effects");
    assert_eq!(effects, 1, "findings recorded once");
    let kinds: BTreeSet<String> = found.iter().map(|(k, _, _)| k.clone()).collect();
    let subjects: BTreeSet<String> = found.iter().map(|(_, s, _)| s.clone()).collect();
    let counted = kinds
        .iter()
        .map(|k| {
            let n = metrics
                .audit_findings
                .get_or_create(&FindingLabel { kind: k.clone() })
                .get();
            (k.clone(), n)
        })
        .collect();
    Some((kinds, subjects, counted))
}

fn set(kinds: &[&str]) -> BTreeSet<String> {
    kinds.iter().map(|k| k.to_string()).collect()
}

#[tokio::test]
async fn a_clean_window_yields_no_finding() {
    let Some((kinds, _, _)) = audit_with(&[]).await else {
        return;
    };
    assert!(kinds.is_empty(), "false positives: {kinds:?}");
}

#[tokio::test]
async fn every_planted_anomaly_is_found_together() {
    let Some((kinds, subjects, counted)) = audit_with(&ALL).await else {
        return;
    };
    let expected: BTreeSet<String> = ALL.iter().map(|a| a.kind().to_owned()).collect();
    assert_eq!(kinds, expected);
    assert!(subjects.contains("v-rogue"), "{subjects:?}");
    assert!(
        subjects.contains("acct-smurf:high_value_amount"),
        "{subjects:?}"
    );
    for (kind, n) in counted {
        assert!(n >= 1, "metric for {kind} not incremented");
    }
}

#[tokio::test]
async fn each_planted_anomaly_alone_is_found_as_itself_only() {
    for a in ALL {
        let Some((kinds, _, _)) = audit_with(&[a]).await else {
            return;
        };
        assert_eq!(kinds, set(&[a.kind()]), "planted {a:?}");
    }
}

#[tokio::test]
async fn the_worker_schedules_and_runs_the_audit_of_the_last_closed_window() {
    let Some(url) = common::fresh_pg_database().await else {
        return;
    };
    let store = PgStore::connect(&url, 2).await.expect("connect");
    store.migrate().await.expect("migrate");
    let hour = ChronoDuration::hours(1);
    let before = audit::latest_closed_window(Utc::now(), hour).expect("window");
    // `pipeline worker --once` in-process (`pfm::app::run_worker`): the audit it schedules,
    // not the process, is under test.
    let dir = tempfile::tempdir().expect("tempdir");
    let exit = common::in_process::InProcess::new(dir.path(), Some(&url))
        .env(
            "ENCRYPTION_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("AUDIT_WINDOW_MINUTES", "60")
        .worker(WorkerOptions {
            once: true,
            worker_id: None,
        })
        .await;
    assert!(
        matches!(exit, Ok(WorkerExit::Finished(_))),
        "the worker finishes: {exit:?}"
    );
    let after = audit::latest_closed_window(Utc::now(), hour).expect("window");
    let (id, status): (String, String) =
        sqlx::query_as("SELECT workflow_id, status FROM workflows WHERE kind = 'audit'")
            .fetch_one(store.pool())
            .await
            .expect("one audit workflow");
    // The hour may turn while the worker runs; either window is then right.
    let ids: Vec<String> = [before, after]
        .iter()
        .map(|(s, _)| format!("audit:{}", s.format("%Y-%m-%dT%H:%M:%SZ")))
        .collect();
    assert!(ids.contains(&id), "{id} not in {ids:?}");
    assert_eq!(status, "completed");
    let checkpoints: i64 = sqlx::query_scalar("SELECT count(*) FROM workflow_checkpoints")
        .fetch_one(store.pool())
        .await
        .expect("checkpoints");
    assert_eq!(checkpoints, 4, "window, baseline, findings, narrative");
    // Without LLM_URL the report's narrative is the deterministic one, and no fallback.
    let (report, by, fallback, decisions): (String, String, Option<String>, Option<i64>) =
        sqlx::query_as(
            "SELECT workflow_id, narrated_by, fallback, \
               (statistics -> 'window' -> 'statistics' ->> 'decisions')::bigint FROM audit_reports",
        )
        .fetch_one(store.pool())
        .await
        .expect("one report");
    assert_eq!(
        (report, by.as_str(), fallback, decisions),
        (id, "deterministic", None, Some(0))
    );
}
