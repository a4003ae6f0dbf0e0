//! Recall per kind and look-alike preservation on an independent corpus
//! (`data/generalise_corpus.jsonl`, made by `data/gen_generalise.py` from the published
//! formats of each kind, not from the scrubber's rules; see ADR 0016).
//!
//! A PII value counts as caught when every identifying character of it (each letter and
//! digit, except those of the parts the corpus marks as allowed to survive, such as the city
//! of an address or a name particle like "van der") lies inside some finding, of any kind:
//! what matters is that it does not survive in plain text. A look-alike counts as kept when
//! no finding touches it. Run with `cargo test -p pfm-pii --test generalise -- --nocapture`
//! to see the table and the misses.

use std::collections::BTreeMap;

use pfm_pii::{PiiSpan, Scrubber};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    kind: String,
    text: String,
    value: String,
    #[serde(default)]
    allowed: Vec<String>,
    #[serde(default)]
    category: Option<String>,
}

fn load() -> Vec<Row> {
    include_str!("data/generalise_corpus.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)))
        .collect()
}

/// Byte range of the value in the text.
fn locate(row: &Row) -> (usize, usize) {
    let start = row
        .text
        .find(&row.value)
        .unwrap_or_else(|| panic!("{:?} not in {:?}", row.value, row.text));
    (start, start + row.value.len())
}

fn covered(spans: &[PiiSpan], a: usize, b: usize) -> bool {
    spans.iter().any(|s| s.start <= a && b <= s.end)
}

/// Every identifying char of the value lies inside a finding.
fn caught(row: &Row, spans: &[PiiSpan]) -> bool {
    let (start, end) = locate(row);
    let value = &row.text[start..end];
    let mut allowed = vec![false; value.len()];
    for part in &row.allowed {
        for (i, _) in value.match_indices(part.as_str()) {
            allowed[i..i + part.len()]
                .iter_mut()
                .for_each(|x| *x = true);
        }
    }
    value.char_indices().all(|(i, c)| {
        !c.is_alphanumeric() || allowed[i] || covered(spans, start + i, start + i + c.len_utf8())
    })
}

fn kept(row: &Row, spans: &[PiiSpan]) -> bool {
    let (start, end) = locate(row);
    spans.iter().all(|s| s.end <= start || end <= s.start)
}

#[test]
fn corpus_covers_every_kind() {
    let rows = load();
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *per_kind.entry(r.kind.as_str()).or_default() += 1;
    }
    assert!(per_kind.len() >= 19, "{per_kind:?}");
    for (kind, n) in &per_kind {
        let min = if *kind == "lookalike" { 1500 } else { 200 };
        assert!(*n >= min, "{kind}: {n} rows");
    }
}

#[test]
fn recall_per_kind_and_lookalikes_kept() {
    let scrubber = Scrubber::new();
    // kind -> (caught, total)
    let mut table: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in load() {
        let spans = scrubber.find(&row.text, None);
        let (ok, key) = if row.kind == "lookalike" {
            let cat = row.category.clone().unwrap_or_default();
            (kept(&row, &spans), format!("lookalike/{cat}"))
        } else {
            (caught(&row, &spans), row.kind.clone())
        };
        let e = table.entry(key.clone()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            let found: Vec<String> = spans
                .iter()
                .map(|s| format!("{} {:?}", s.kind, &row.text[s.start..s.end]))
                .collect();
            misses.entry(key).or_default().push(format!(
                "{:?} value {:?} found {found:?}",
                row.text, row.value
            ));
        }
    }
    println!("{:<26} {:>6} {:>6} {:>7}", "kind", "ok", "total", "share");
    let (mut la_ok, mut la_total) = (0, 0);
    for (k, (ok, total)) in &table {
        println!(
            "{k:<26} {ok:>6} {total:>6} {:>7.3}",
            *ok as f64 / *total as f64
        );
        if k.starts_with("lookalike/") {
            la_ok += ok;
            la_total += total;
        }
    }
    let la_share = la_ok as f64 / la_total.max(1) as f64;
    println!(
        "{:<26} {la_ok:>6} {la_total:>6} {la_share:>7.3}",
        "lookalikes kept"
    );
    for (k, m) in &misses {
        for line in m.iter().take(12) {
            println!("MISS {k}: {line}");
        }
    }
    for (k, (ok, total)) in &table {
        if !k.starts_with("lookalike/") {
            let recall = *ok as f64 / *total as f64;
            assert!(recall >= 0.97, "recall for {k} is {recall:.3}");
        }
    }
    assert!(la_share >= 0.98, "look-alikes kept {la_share:.3}");
}
