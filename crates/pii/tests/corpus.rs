//! Recall and precision per kind on the hand-labelled corpus in `data/pii_corpus.jsonl`.
//! Run with `cargo test -p pfm-pii --test corpus -- --nocapture` to see the table.

use std::collections::BTreeMap;

use pfm_pii::{PiiKind, Scrubber};
use serde::Deserialize;

#[derive(Deserialize)]
struct Case {
    text: String,
    customer_name: Option<String>,
    spans: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    kind: PiiKind,
    text: String,
}

#[derive(Default, Clone, Copy)]
struct Counts {
    tp: usize,
    fn_: usize,
    fp: usize,
}

impl Counts {
    fn recall(self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }
    fn precision(self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

fn load() -> Vec<Case> {
    include_str!("data/pii_corpus.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("corpus line {}: {e}", i + 1))
        })
        .collect()
}

#[test]
fn corpus_is_large_and_well_formed() {
    let cases = load();
    assert!(cases.len() >= 220, "{} cases", cases.len());
    let negatives = cases.iter().filter(|c| c.spans.is_empty()).count();
    assert!(negatives >= 70, "{negatives} negative cases");
    for c in &cases {
        for l in &c.spans {
            assert!(
                c.text.contains(&l.text),
                "label {:?} not in {:?}",
                l.text,
                c.text
            );
        }
    }
    for kind in PiiKind::ALL {
        let n = cases
            .iter()
            .flat_map(|c| &c.spans)
            .filter(|l| l.kind == kind)
            .count();
        assert!(n >= 20, "only {n} labelled {kind} spans");
    }
}

#[test]
fn recall_and_precision_per_kind() {
    let scrubber = Scrubber::new();
    let mut counts: BTreeMap<&'static str, Counts> = PiiKind::ALL
        .iter()
        .map(|k| (k.as_str(), Counts::default()))
        .collect();
    let mut errors = Vec::new();

    for (line, case) in load().iter().enumerate() {
        let found = scrubber.find(&case.text, case.customer_name.as_deref());
        let mut unmatched: Vec<&Label> = case.spans.iter().collect();
        for span in &found {
            let got = &case.text[span.start..span.end];
            let c = counts.entry(span.kind.as_str()).or_default();
            match unmatched
                .iter()
                .position(|l| l.kind == span.kind && l.text == got)
            {
                Some(i) => {
                    unmatched.swap_remove(i);
                    c.tp += 1;
                }
                None => {
                    c.fp += 1;
                    errors.push(format!(
                        "line {}: FP {} {got:?} in {:?}",
                        line + 1,
                        span.kind,
                        case.text
                    ));
                }
            }
        }
        for l in unmatched {
            counts.entry(l.kind.as_str()).or_default().fn_ += 1;
            errors.push(format!(
                "line {}: FN {} {:?} in {:?}",
                line + 1,
                l.kind,
                l.text,
                case.text
            ));
        }
    }

    let total = counts.values().fold(Counts::default(), |a, c| Counts {
        tp: a.tp + c.tp,
        fn_: a.fn_ + c.fn_,
        fp: a.fp + c.fp,
    });
    println!(
        "{:<12} {:>4} {:>4} {:>4} {:>7} {:>9}",
        "kind", "tp", "fn", "fp", "recall", "precision"
    );
    for (kind, c) in counts
        .iter()
        .map(|(k, c)| (*k, *c))
        .chain([("overall", total)])
    {
        println!(
            "{:<12} {:>4} {:>4} {:>4} {:>7.3} {:>9.3}",
            kind,
            c.tp,
            c.fn_,
            c.fp,
            c.recall(),
            c.precision()
        );
    }
    for e in &errors {
        println!("{e}");
    }

    for (kind, c) in &counts {
        assert!(c.recall() >= 0.95, "recall for {kind} is {:.3}", c.recall());
    }
    assert!(
        total.precision() >= 0.90,
        "overall precision is {:.3}",
        total.precision()
    );
}
