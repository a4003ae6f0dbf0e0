//! The govern stage's memoised decisions on generated records (decision 0017) against the
//! tree-walking interpreter given the whole policy document, record by record.

use pfm::app::build_processor;
use pfm::config::Config;
use pfm::crypto::{DataKey, KekRing};
use pfm::policy::{policy_input, EmbeddedPolicy};
use pfm::stage::{Batch, Envelope, Position};
use pfm::telemetry::metrics::Metrics;
use std::sync::Arc;

const RECORDS: usize = 20_000;

#[test]
fn memoised_govern_decides_generated_records_as_the_interpreter() {
    let cfg = Config::from_lookup(|_| None).expect("default config");
    let mut reg = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(Metrics::new(&mut reg));
    let (mut p, ..) =
        build_processor(&cfg, Arc::new(KekRing::new(&[9u8; 32], &[])), metrics).expect("processor");
    let policy = EmbeddedPolicy::load(None, "agentic/allow").expect("policy");
    let src: Arc<str> = "memo".into();
    let envelopes: Vec<Envelope> = pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: 17,
        ..Default::default()
    })
    .take(RECORDS)
    .enumerate()
    .map(|(i, t)| Envelope {
        position: Position {
            source: src.clone(),
            partition: 0,
            offset: i as i64,
        },
        payload: serde_json::to_vec(&t).expect("json"),
    })
    .collect();
    let (mut compared, mut not_allowed) = (0, 0);
    for chunk in envelopes.chunks(500) {
        let mut batch = Batch::new(chunk.to_vec());
        p.decode.execute(&mut batch, &mut p.ctx).expect("decode");
        for r in &batch.records {
            let a = r.txn.account_id.as_str();
            if !p.ctx.keys.contains(a) {
                p.ctx.keys.insert(a.to_owned(), DataKey::generate());
            }
        }
        // Up to govern: later stages protect fields the whole document is built from.
        for s in p.stages.iter_mut() {
            s.execute(&mut batch, &mut p.ctx).expect("stage");
            if s.name() == "govern" {
                break;
            }
        }
        for r in &batch.records {
            let d = r.decision.as_ref().expect("govern decided");
            let want = policy.evaluate(policy_input(r));
            assert_eq!(
                (d.result, &d.reasons),
                (want.result, &want.reasons),
                "record {}",
                r.txn.id
            );
            compared += 1;
            if !d.reasons.is_empty() {
                not_allowed += 1;
            }
        }
    }
    assert!(
        compared > RECORDS * 9 / 10,
        "only {compared} records decoded"
    );
    assert!(not_allowed > 0, "the mix must include reviews or denials");
}
