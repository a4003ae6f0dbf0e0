//! Runs every `test_` rule of `policies/*_test.rego` with the embedded engine (regorus),
//! as `opa test policies/` would with OPA: each must evaluate to true.

use regex::Regex;
use std::path::Path;

#[test]
fn every_rego_unit_test_passes_in_the_embedded_engine() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let mut engine = regorus::Engine::new();
    let mut tests = Vec::new();
    let package = Regex::new(r"(?m)^package\s+([\w.]+)").unwrap();
    let rule = Regex::new(r"(?m)^(test_\w+)\b").unwrap();
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        if name.ends_with(".json") {
            engine.add_data_json(&text).unwrap();
        } else if name.ends_with(".rego") {
            engine.add_policy(name.clone(), text.clone()).unwrap();
            if name.ends_with("_test.rego") {
                let pkg = package.captures(&text).expect("a package line")[1].to_owned();
                for c in rule.captures_iter(&text) {
                    tests.push(format!("data.{pkg}.{}", &c[1]));
                }
            }
        }
    }
    assert!(tests.len() >= 10, "found only {tests:?}");
    let mut failed = Vec::new();
    for t in &tests {
        match engine.eval_rule(t.clone()) {
            Ok(regorus::Value::Bool(true)) => {}
            other => failed.push(format!("{t}: {other:?}")),
        }
    }
    assert!(
        failed.is_empty(),
        "failing Rego tests:\n{}",
        failed.join("\n")
    );
}
