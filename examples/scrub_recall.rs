//! Recall and precision of the PII scrubber on the spans the generator hid in descriptions,
//! over several seeds: the measurement behind docs/reliability.md's free-text figures.
//!   cargo run --release --example scrub_recall -- [SEEDS=4] [RECORDS_PER_SEED=150000] [PII_RATE=0.3]
//! Prints every missed span (kind, text, description) and a per-kind table.

use std::collections::BTreeMap;

fn arg<T: std::str::FromStr>(n: usize, default: T) -> T {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let seeds: u64 = arg(1, 4);
    let per_seed: usize = arg(2, 150_000);
    let pii_rate: f64 = arg(3, 0.3);
    let scrubber = pfm_pii::Scrubber::new();
    // kind -> (true positives, false negatives, false positives)
    let mut table: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut false_positives: BTreeMap<String, u64> = BTreeMap::new();
    for seed in 1..=seeds {
        let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
            seed,
            pii_rate,
            ..Default::default()
        });
        for t in gen.take(per_seed) {
            let Some(desc) = t.description.as_deref() else {
                continue;
            };
            let found = scrubber.find(desc, t.customer_name.as_deref());
            let mut matched = vec![false; found.len()];
            for label in t.label.pii.iter().filter(|l| l.field == "description") {
                // A found span covering the label counts: the text is gone either way.
                let hit = found.iter().position(|s| {
                    desc.get(s.start..s.end)
                        .is_some_and(|f| f.contains(label.text.as_str()))
                });
                let e = table.entry(label.kind.clone()).or_default();
                match hit {
                    Some(i) => {
                        e.0 += 1;
                        matched[i] = true;
                    }
                    None => {
                        e.1 += 1;
                        println!("missed {} {:?} in {desc:?}", label.kind, label.text);
                    }
                }
            }
            for (s, m) in found.iter().zip(&matched) {
                if !m {
                    table.entry(s.kind.as_str().to_owned()).or_default().2 += 1;
                    let text = desc.get(s.start..s.end).unwrap_or("");
                    *false_positives
                        .entry(format!("{} {text:?}", s.kind.as_str()))
                        .or_default() += 1;
                }
            }
        }
    }
    let mut fps: Vec<_> = false_positives.into_iter().collect();
    fps.sort_by_key(|f| std::cmp::Reverse(f.1));
    for (text, n) in fps.iter().take(40) {
        println!("false positive x{n}: {text}");
    }
    println!(
        "{:<14} {:>8} {:>6} {:>6} {:>8} {:>9}",
        "kind", "tp", "fn", "fp", "recall", "precision"
    );
    for (kind, (tp, fneg, fp)) in &table {
        let recall = *tp as f64 / (tp + fneg).max(1) as f64;
        let precision = *tp as f64 / (tp + fp).max(1) as f64;
        println!("{kind:<14} {tp:>8} {fneg:>6} {fp:>6} {recall:>8.5} {precision:>9.5}");
    }
}
