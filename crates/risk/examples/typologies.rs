//! The detectors alone on the independent labelled traffic (`eval/typologies/generate.py`),
//! for tuning them without the pipeline: which detector flags which pattern, and how often
//! each flags an unlabelled record. The pipeline's figures (policy rules included) come from
//! `bash eval/typologies/run.sh`.
//!
//!     python3 eval/typologies/generate.py > /tmp/traffic.jsonl
//!     cargo run --release -p pfm-risk --example typologies -- /tmp/traffic.jsonl
//!
//! `RISK_CONFIG` (the pipeline's variable) names a JSON file of parameters to change;
//! `PFM_SHOW=<class>` (for example `normal`) prints every finding on that class's records.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use chrono::{DateTime, Utc};
use pfm_risk::{AccountState, BeneficiaryIndex, Channel, RiskConfig, RiskEngine, TxnFeatures};
use serde::Deserialize;

#[derive(Deserialize)]
struct Label {
    pattern: Option<String>,
    scenario: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    account_id: String,
    timestamp: String,
    amount: String,
    currency: String,
    country: String,
    channel: String,
    mcc: String,
    merchant: String,
    counterparty_account: Option<String>,
    label: Option<Label>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: typologies TRAFFIC.jsonl")?;
    let file = std::io::BufReader::new(std::fs::File::open(path)?);
    // The same override file the pipeline reads, for curves over a threshold.
    let config: RiskConfig = match std::env::var("RISK_CONFIG") {
        Ok(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        Err(_) => RiskConfig::default(),
    };
    let engine = RiskEngine::new(config);
    let mut states: HashMap<String, AccountState> = HashMap::new();
    let mut beneficiaries = BeneficiaryIndex::default();
    // (pattern or "normal:<scenario>", detector) -> records flagged
    let mut hits: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut totals: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in file.lines() {
        let r: Record = serde_json::from_str(&line?)?;
        let timestamp: DateTime<Utc> = DateTime::parse_from_rfc3339(&r.timestamp)?.into();
        let channel = Channel::parse(&r.channel).ok_or("unknown channel")?;
        let txn = TxnFeatures {
            account_id: &r.account_id,
            timestamp,
            amount: r.amount.parse()?,
            currency: &r.currency,
            country: &r.country,
            channel,
            mcc: r.mcc.parse()?,
            merchant: &r.merchant,
            counterparty: r.counterparty_account.as_deref(),
        };
        let state = states.entry(r.account_id.clone()).or_default();
        let mut findings = engine.assess(state, &txn);
        findings.extend(engine.assess_beneficiary(&mut beneficiaries, &txn));
        let class = match &r.label {
            Some(Label {
                pattern: Some(p), ..
            }) => p.clone(),
            Some(Label {
                scenario: Some(s), ..
            }) => format!("normal:{s}"),
            _ => "normal".to_owned(),
        };
        let total = totals.entry(class.clone()).or_default();
        total.0 += 1;
        total.1 += usize::from(!findings.is_empty());
        for f in &findings {
            if std::env::var_os("PFM_SHOW").is_some_and(|v| v == class.as_str()) {
                eprintln!("{} {} {} | {}", r.amount, r.currency, r.mcc, f.reason);
            }
            *hits
                .entry((class.clone(), format!("{:?}", f.detector)))
                .or_default() += 1;
        }
    }
    println!(
        "{:<28} {:>8} {:>8} {:>7}",
        "class", "records", "flagged", "rate"
    );
    for (class, (n, flagged)) in &totals {
        println!(
            "{class:<28} {n:>8} {flagged:>8} {:>7.3}",
            *flagged as f64 / *n as f64
        );
        for ((c, d), k) in &hits {
            if c == class {
                println!("    {d:<24} {k:>8}");
            }
        }
    }
    println!(
        "fan-in index at the end: {} beneficiaries, {} payments",
        beneficiaries.len(),
        beneficiaries.payments()
    );
    Ok(())
}
