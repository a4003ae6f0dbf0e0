//! TEMPORARY scratch (pfm-pii engineer): dumps generated descriptions for offline evaluation.
#[test]
fn dump() {
    let gen = pfm_synth::Generator::new(pfm_synth::GenConfig {
        seed: 4242,
        pii_rate: 0.5,
        ..Default::default()
    });
    let mut out = String::new();
    for t in gen.take(30_000) {
        let Some(desc) = t.description.as_deref() else { continue };
        let labels: Vec<_> = t.label.pii.iter().filter(|l| l.field == "description")
            .map(|l| serde_json::json!({"kind": l.kind, "text": l.text})).collect();
        out.push_str(&serde_json::json!({"text": desc, "customer_name": t.customer_name, "spans": labels}).to_string());
        out.push('\n');
    }
    std::fs::write("/tmp/pii_gen.jsonl", out).unwrap();
}
