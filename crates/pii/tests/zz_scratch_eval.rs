//! TEMPORARY scratch evaluation (deleted before hand-off).
use pfm_pii::Scrubber;
use std::collections::BTreeMap;

#[derive(serde::Deserialize)]
struct Case {
    text: String,
    customer_name: Option<String>,
    spans: Vec<L>,
}
#[derive(serde::Deserialize)]
struct L {
    kind: String,
    text: String,
}

#[test]
#[ignore]
fn eval() {
    let path = std::env::var("EVAL").unwrap_or("/tmp/pii_gen.jsonl".into());
    let data = std::fs::read_to_string(path).unwrap();
    let s = Scrubber::new();
    let mut table: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    let mut fns = Vec::new();
    let mut fps = Vec::new();
    for line in data.lines() {
        let c: Case = serde_json::from_str(line).unwrap();
        let found = s.find(&c.text, c.customer_name.as_deref());
        let mut matched = vec![false; found.len()];
        for l in &c.spans {
            let hit = found.iter().position(|f| {
                f.kind.as_str() == l.kind && c.text.get(f.start..f.end) == Some(l.text.as_str())
            });
            let e = table.entry(l.kind.clone()).or_default();
            match hit {
                Some(i) => {
                    e.0 += 1;
                    matched[i] = true;
                }
                None => {
                    e.1 += 1;
                    if l.kind == "person_name" {
                        fns.push(format!(
                            "FN {:?} in {:?} got {:?}",
                            l.text,
                            c.text,
                            found
                                .iter()
                                .map(|f| &c.text[f.start..f.end])
                                .collect::<Vec<_>>()
                        ));
                    }
                }
            }
        }
        for (f, m) in found.iter().zip(&matched) {
            if !m {
                table.entry(f.kind.as_str().to_owned()).or_default().2 += 1;
                if f.kind.as_str() == "person_name" {
                    fps.push(format!(
                        "FP {:?} in {:?} (cust {:?})",
                        &c.text[f.start..f.end],
                        c.text,
                        c.customer_name
                    ));
                }
            }
        }
    }
    for (k, (tp, f, p)) in &table {
        println!(
            "{k:<12} {tp:>7} {f:>6} {p:>6} {:>8.3} {:>9.3}",
            *tp as f64 / (tp + f).max(1) as f64,
            *tp as f64 / (tp + p).max(1) as f64
        );
    }
    let lim: usize = std::env::var("LIM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    for x in fns.iter().take(lim) {
        println!("{x}");
    }
    for x in fps.iter().take(lim) {
        println!("{x}");
    }
}
