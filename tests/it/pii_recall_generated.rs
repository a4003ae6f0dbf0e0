//! PII recall and precision of the scrubber on spans the generator hid in descriptions
//! (the hand-written hard cases are in crates/pii/tests). Prints a table per kind.

use pfm_pii::Scrubber;
use std::collections::BTreeMap;

#[test]
fn scrubber_recall_on_generated_spans_is_at_least_95_percent_per_kind() {
    let scrubber = Scrubber::new();
    let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: 4242,
        pii_rate: 0.5,
        ..Default::default()
    });
    // kind -> (true positives, false negatives, false positives)
    let mut table: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for t in gen.take(30_000) {
        let Some(desc) = t.description.as_deref() else {
            continue;
        };
        let found = scrubber.find(desc, t.customer_name.as_deref());
        let mut matched = vec![false; found.len()];
        for label in t.label.pii.iter().filter(|l| l.field == "description") {
            let hit = found.iter().position(|s| {
                s.kind.as_str() == label.kind
                    && desc.get(s.start..s.end) == Some(label.text.as_str())
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
            }
        }
    }
    println!(
        "{:<12} {:>7} {:>6} {:>6} {:>8} {:>9}",
        "kind", "tp", "fn", "fp", "recall", "precision"
    );
    let mut worst = 1.0f64;
    for (kind, (tp, fneg, fp)) in &table {
        let recall = *tp as f64 / (tp + fneg).max(1) as f64;
        let precision = *tp as f64 / (tp + fp).max(1) as f64;
        println!("{kind:<12} {tp:>7} {fneg:>6} {fp:>6} {recall:>8.3} {precision:>9.3}");
        if tp + fneg > 0 {
            worst = worst.min(recall);
        }
    }
    assert!(
        table.len() >= 6,
        "every PII kind must be present in the generated corpus: {table:?}"
    );
    assert!(
        worst >= 0.95,
        "recall below 0.95 for some kind (worst {worst:.3})"
    );
}
