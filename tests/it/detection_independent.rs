//! The fraud/AML detectors on traffic from an independent labelled generator
//! (eval/typologies/generate.py, written from the FATF/FinCEN typologies and the PaySim and
//! AMLSim shapes, not from the detectors; issue 19). Runs `pipeline run --input` on the
//! embedded default with `BATCH_SIZE=1000` and scores it with eval/typologies/score.py.
//!
//! The floors are today's measured figures less a margin, so a regression fails here; the
//! issue's targets (recall ≥ 0.90 at precision ≥ 0.80) are not met yet and are tracked in
//! docs/benchmarks.md, not asserted.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn generate(python: &str, records: u32, seed: u32, out: &Path) {
    let file = std::fs::File::create(out).expect("traffic file");
    let status = Command::new(python)
        .arg(repo().join("eval/typologies/generate.py"))
        .args([
            "--records",
            &records.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .stdout(file)
        .status()
        .expect("run generate.py");
    assert!(status.success(), "generate.py failed");
}

#[test]
fn detectors_on_independent_typologies_hold_their_measured_recall() {
    let Some(python) = common::test_python() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let traffic = dir.path().join("traffic.jsonl");
    generate(&python, 10_000, 7, &traffic);
    let again = dir.path().join("again.jsonl");
    generate(&python, 10_000, 7, &again);
    let other = dir.path().join("other.jsonl");
    generate(&python, 10_000, 8, &other);
    let bytes = std::fs::read(&traffic).expect("read");
    assert_eq!(
        bytes,
        std::fs::read(&again).expect("read"),
        "a seed replays exactly"
    );
    assert_ne!(
        bytes,
        std::fs::read(&other).expect("read"),
        "another seed differs"
    );

    let out = common::pipeline_cmd(dir.path(), None)
        .env("BATCH_SIZE", "1000")
        .arg("run")
        .arg("--input")
        .arg(&traffic)
        .output()
        .expect("pipeline run");
    assert!(
        out.status.success(),
        "pipeline run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scored = Command::new(&python)
        .arg(repo().join("eval/typologies/score.py"))
        .arg(&traffic)
        .arg(dir.path().join("pipeline.db"))
        .output()
        .expect("run score.py");
    assert!(
        scored.status.success(),
        "score.py failed: {}",
        String::from_utf8_lossy(&scored.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&scored.stdout).expect("score JSON");
    println!("{}", serde_json::to_string_pretty(&s).expect("json"));

    let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    assert_eq!(s["records"], lines, "the scorer read every record");
    assert_eq!(s["not_stored"], 0, "every record stored once");
    assert_eq!(s["dead_letters"], 0, "the generator writes valid records");
    let patterns = s["patterns"].as_object().expect("patterns");
    for p in [
        "velocity",
        "card_testing",
        "structuring",
        "smurfing",
        "impossible_travel",
        "dormant_burst",
        "round_amount",
        "rapid_cross_border",
        "fan_in",
        "fan_out",
        "cycle",
    ] {
        assert!(
            patterns
                .get(p)
                .is_some_and(|v| v["incidents"].as_u64() > Some(0)),
            "the generator made no {p} incident"
        );
    }
    let recall = s["overall"]["recall"].as_f64().expect("recall");
    let precision = s["overall"]["precision"].as_f64().expect("precision");
    // Measured at this seed and size: recall 0.899, precision 0.845 (docs/benchmarks.md;
    // 0.888 and 0.798 before decision 0023, 0.846 and 0.790 before decision 0021, 0.775 and
    // 0.643 before decision 0020).
    assert!(recall >= 0.87, "overall recall fell to {recall}");
    assert!(precision >= 0.82, "overall precision fell to {precision}");
    // Impossible travel whatever the order of arrival within a batch (decision 0023):
    // measured 1.0 here, 0.5 before.
    let travel = s["patterns"]["impossible_travel"]["recall"]
        .as_f64()
        .expect("impossible travel");
    assert!(travel >= 0.75, "impossible travel recall fell to {travel}");
    // Every fan-out incident is caught from its third new payee on, every fan-in incident
    // from its third payer on (decision 0021): measured 0.778 and 0.800 of their records.
    for p in ["fan_out", "fan_in"] {
        assert_eq!(s["patterns"][p]["incident_recall"], 1.0, "{p}");
        let recall = s["patterns"][p]["recall"].as_f64().expect("recall");
        assert!(recall >= 0.75, "{p} recall fell to {recall}");
    }
    // Slow bursts are caught by the sustained window (measured 0.938).
    let velocity = s["patterns"]["velocity"]["recall"]
        .as_f64()
        .expect("velocity");
    assert!(velocity >= 0.90, "velocity recall fell to {velocity}");
}
