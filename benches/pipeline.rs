//! `cargo bench --bench pipeline`: records/s of the stage chain alone and end to end into
//! SQLite on 100,000 generated records (`BENCH_RECORDS` to change), p99 batch latency, and
//! peak RSS. Prints figures (see docs/benchmarks.md) and asserts correctness only: decode's
//! two paths accept every record, govern's memo decides as the VM does, and end to end every
//! record lands in exactly one table. The test command runs it small in the dev profile.

use pfm::app::{build_processor, BatchProcessor};
use pfm::config::Config;
use pfm::crypto::{DataKey, KekRing};
use pfm::source::SourceBatch;
use pfm::stage::{Batch, Envelope, Position};
use pfm::store::{CommitStore, Database, SqliteStore};
use pfm::telemetry::metrics::Metrics;
use std::sync::Arc;
use std::time::Instant;

const DEFAULT_RECORDS: usize = 100_000;

fn records() -> usize {
    match std::env::var("BENCH_RECORDS") {
        Err(_) => DEFAULT_RECORDS,
        Ok(v) => v.parse().unwrap_or_else(|_| {
            panic!("BENCH_RECORDS must be a whole number of records, got {v:?}")
        }),
    }
}

fn processor() -> BatchProcessor {
    let cfg = Config::from_lookup(|_| None).expect("default config");
    let mut reg = prometheus_client::registry::Registry::default();
    let metrics = Arc::new(Metrics::new(&mut reg));
    build_processor(&cfg, Arc::new(KekRing::new(&[9u8; 32], &[])), metrics)
        .expect("processor")
        .0
}

fn envelopes() -> Vec<Envelope> {
    let src: Arc<str> = "bench".into();
    pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: 1,
        ..Default::default()
    })
    .take(records())
    .enumerate()
    .map(|(i, t)| Envelope {
        position: Position {
            source: src.clone(),
            partition: 0,
            offset: i as i64,
        },
        payload: serde_json::to_vec(&t).expect("json"),
    })
    .collect()
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map(|kib| kib / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn stage_chain(input: &[Envelope], batch_size: usize) {
    let mut p = processor();
    let mut per_stage = std::collections::BTreeMap::<&'static str, f64>::new();
    let start = Instant::now();
    for chunk in input.chunks(batch_size) {
        let mut batch = Batch::new(chunk.to_vec());
        let t = Instant::now();
        p.decode.execute(&mut batch, &mut p.ctx).expect("decode");
        *per_stage.entry("decode").or_default() += t.elapsed().as_secs_f64();
        for r in &batch.records {
            let a = r.txn.account_id.as_str();
            if !p.ctx.keys.contains(a) {
                p.ctx.keys.insert(a.to_owned(), DataKey::generate());
            }
        }
        for s in p.stages.iter_mut() {
            let t = Instant::now();
            s.execute(&mut batch, &mut p.ctx).expect("stage");
            *per_stage.entry(s.name()).or_default() += t.elapsed().as_secs_f64();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "stage chain (1 thread, batch {batch_size}): {:.0} records/s over {} records",
        input.len() as f64 / secs,
        input.len()
    );
    for (name, s) in per_stage {
        println!(
            "  {name:<10} {:>8.2} µs/record",
            s * 1e6 / input.len() as f64
        );
    }
}

/// Govern before and after decision 0017, side by side on the same records in the same run:
/// "before" is main's path (the whole document, the VM for every record), "after" is the
/// stage's (only the fields the policy reads, the memo). Chunks alternate between the two
/// so a neighbour's load on the shared cores falls on both. Asserts they decide alike.
fn govern_before_after(input: &[Envelope]) {
    let mut p = processor();
    let policy = pfm::policy::EmbeddedPolicy::load(None, "agentic/allow").expect("policy");
    let mut before = policy.unmemoised_evaluator().expect("evaluator");
    let mut after = policy.evaluator().expect("evaluator");
    let (mut secs_before, mut secs_after, mut decided) = (0.0, 0.0, 0usize);
    for (i, chunk) in input.chunks(1000).enumerate() {
        let mut batch = Batch::new(chunk.to_vec());
        p.decode.execute(&mut batch, &mut p.ctx).expect("decode");
        for s in p.stages.iter_mut() {
            if s.name() == "govern" {
                break;
            }
            s.execute(&mut batch, &mut p.ctx).expect("stage");
        }
        let mut run_before = |verdicts: &mut Vec<_>| {
            let t = Instant::now();
            verdicts.extend(
                batch
                    .records
                    .iter()
                    .map(|r| before.evaluate(pfm::policy::policy_input(r))),
            );
            t.elapsed().as_secs_f64()
        };
        let mut expected = Vec::with_capacity(batch.records.len());
        let mut got = Vec::with_capacity(batch.records.len());
        let mut run_after = |verdicts: &mut Vec<_>| {
            let t = Instant::now();
            verdicts.extend(batch.records.iter().map(|r| {
                let input = after.input_for(r);
                after.evaluate(input)
            }));
            t.elapsed().as_secs_f64()
        };
        if i % 2 == 0 {
            secs_before += run_before(&mut expected);
            secs_after += run_after(&mut got);
        } else {
            secs_after += run_after(&mut got);
            secs_before += run_before(&mut expected);
        }
        assert_eq!(got, expected, "the memo changed a decision in chunk {i}");
        decided += batch.records.len();
    }
    let us = |s: f64| s * 1e6 / decided as f64;
    println!(
        "govern side by side over {decided} records: before (whole document, VM per record) {:.2} µs/record, after (read fields, memo) {:.2} µs/record, {:.1}x",
        us(secs_before),
        us(secs_after),
        secs_before / secs_after
    );
    match after.memo_stats() {
        Some(m) => println!(
            "  memo: {:.2} % hits ({} of {} lookups)",
            100.0 * m.hits as f64 / (m.hits + m.misses).max(1) as f64,
            m.hits,
            m.hits + m.misses
        ),
        None => println!("  memo: off for this policy"),
    }
}

/// `parse_record` (the typed path) next to `parse_record_reference` (the `Value` path it
/// replaced, still the fallback) on the same payloads, alternating rounds so that other
/// work on the machine weighs on both alike.
fn decode_paths(input: &[Envelope]) {
    use pfm::domain::{parse_record, parse_record_reference};
    type Decode = fn(&[u8]) -> Result<(pfm::domain::Transaction, [u8; 32]), pfm::domain::Rejection>;
    let paths: [(&str, Decode); 2] = [
        ("Value path (before)", parse_record_reference),
        ("typed path (after)", parse_record),
    ];
    let mut best = [f64::MAX; 2];
    for _ in 0..5 {
        for (i, (_, decode)) in paths.iter().enumerate() {
            let t = Instant::now();
            let accepted = input
                .iter()
                .filter(|e| std::hint::black_box(decode(&e.payload)).is_ok())
                .count();
            best[i] = best[i].min(t.elapsed().as_secs_f64());
            assert_eq!(accepted, input.len(), "generated records are valid");
        }
    }
    for ((name, _), secs) in paths.iter().zip(best) {
        println!(
            "decode alone, {name:<20} {:>6.2} µs/record (best of 5 rounds)",
            secs * 1e6 / input.len() as f64
        );
    }
}

async fn end_to_end(input: &[Envelope], batch_size: usize) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(&dir.path().join("bench.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let mut p = processor();
    let mut lat = Vec::new();
    let start = Instant::now();
    for (i, chunk) in input.chunks(batch_size).enumerate() {
        let t = Instant::now();
        let sb = SourceBatch {
            envelopes: chunk.to_vec(),
            offsets: vec![pfm::store::OffsetRow {
                source: "bench".into(),
                partition: 0,
                next_offset: ((i + 1) * batch_size) as i64,
            }],
        };
        let commit = p.prepare(&store, &sb).await.expect("prepare");
        store.commit(&commit).await.expect("commit");
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let secs = start.elapsed().as_secs_f64();
    let c = store.counts().await.expect("counts");
    let rows = c.transactions + c.quarantine + c.dead_letters;
    assert_eq!(
        rows as usize,
        input.len(),
        "every record lands in exactly one table"
    );
    println!(
        "end to end into SQLite (batch {batch_size}): {:.0} records/s; batch latency p50 {:.2} ms, p99 {:.2} ms; rows {}",
        input.len() as f64 / secs,
        percentile(&mut lat.clone(), 0.5),
        percentile(&mut lat, 0.99),
        rows
    );
}

fn main() {
    let input = envelopes();
    println!(
        "generated {} records ({} MiB of JSON)",
        input.len(),
        input.iter().map(|e| e.payload.len()).sum::<usize>() >> 20
    );
    decode_paths(&input);
    stage_chain(&input, 1000);
    govern_before_after(&input);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    rt.block_on(end_to_end(&input, 100));
    rt.block_on(end_to_end(&input, 1000));
    println!("peak RSS: {:.1} MiB", peak_rss_mib());
}
