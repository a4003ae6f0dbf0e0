use chrono::{DateTime, Utc};
use pfm_risk::*;
use pfm_synth::*;
use std::collections::HashMap;

#[test]
fn diag() {
    let engine = RiskEngine::new(RiskConfig::default());
    let mut states: HashMap<String, AccountState> = HashMap::new();
    let mut hist: HashMap<String, Vec<String>> = HashMap::new();
    for t in Generator::new(GenConfig {
        seed: 20_260_101,
        ..GenConfig::default()
    })
    .take(100_000)
    {
        let f = TxnFeatures {
            account_id: &t.account_id,
            timestamp: DateTime::parse_from_rfc3339(&t.timestamp)
                .unwrap()
                .with_timezone(&Utc),
            amount: t.amount.parse().unwrap(),
            currency: &t.currency,
            country: &t.country,
            channel: Channel::parse(&t.channel).unwrap(),
            mcc: t.mcc.parse().unwrap(),
            merchant: &t.merchant,
        };
        let st = states.entry(t.account_id.clone()).or_default();
        let fs = engine.assess(st, &f);
        let line = format!(
            "{} {} {} {} {} {} {} {:?}",
            t.timestamp,
            t.channel,
            t.mcc,
            t.country,
            t.amount,
            t.currency,
            t.merchant,
            t.label.pattern
        );
        let h = hist.entry(t.account_id.clone()).or_default();
        h.push(line.clone());
        if !t.label.fraud {
            for x in &fs {
                if x.detector == Detector::AmountOutlier
                    || x.detector == Detector::ImpossibleTravel
                    || std::env::var("ALL").is_ok()
                {
                    println!("FP {:?} {} | {}", x.detector, x.reason, line);
                    if std::env::var("CTX").is_ok() {
                        for l in h.iter().rev().take(12).rev() {
                            println!("    {l}");
                        }
                    }
                }
            }
        }
    }
}
