use super::input::InputShape;
use super::memo::{Memo, MemoStats, CAPACITY};
use super::reads::InputReads;
use super::{PolicyError, Verdict};
use crate::domain::Record;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// The policies shipped inside the binary, used when `POLICY_DIR` is not set.
const SHIPPED: [(&str, &str); 3] = [
    ("agentic.rego", include_str!("../../policies/agentic.rego")),
    (
        "agent_actions.rego",
        include_str!("../../policies/agent_actions.rego"),
    ),
    ("data.json", include_str!("../../policies/data.json")),
];

/// Rego evaluated in-process by regorus; the same files run unchanged in OPA.
pub struct EmbeddedPolicy {
    compiled: regorus::CompiledPolicy,
    /// The same policy compiled to regorus' bytecode VM: the per-record hot path.
    program: Arc<regorus::rvm::program::Program>,
    data: regorus::Value,
    /// What the policy can observe of its input (decision 0017).
    reads: InputReads,
    shape: Arc<InputShape>,
    version: String,
    path: String,
}

/// A VM loaded with the policy and its data, and the decisions it has made so far when the
/// policy's reads are bounded. One per evaluating stage (it is mutable); a reloaded policy
/// gets new evaluators, so a memo never outlives the policy and data it remembers.
pub struct Evaluator {
    vm: regorus::rvm::vm::RegoVM,
    memo: Option<Memo>,
    shape: Arc<InputShape>,
}

impl Evaluator {
    pub fn evaluate(&mut self, input: regorus::Value) -> Verdict {
        let Some(memo) = self.memo.as_mut() else {
            self.vm.set_input(input);
            return verdict_of(self.vm.execute());
        };
        let key = memo.key(&input);
        if let Some(verdict) = memo.get(&key) {
            return verdict;
        }
        self.vm.set_input(input);
        match self.vm.execute() {
            Ok(v) => {
                let verdict = verdict_of_value(v);
                memo.insert(key, verdict.clone());
                verdict
            }
            // Not remembered: a limit hit once need not be hit again.
            Err(_) => Verdict::deny("policy_error"),
        }
    }

    /// The document this evaluator's policy sees for `r`: only the fields it can read,
    /// which is cheaper to build and decides the same.
    pub fn input_for(&self, r: &Record) -> regorus::Value {
        self.shape.build(r)
    }

    /// `None` when the policy's decisions are not memoised.
    pub fn memo_stats(&self) -> Option<MemoStats> {
        self.memo.as_ref().map(Memo::stats)
    }
}

fn verdict_of(result: Result<regorus::Value, impl std::fmt::Display>) -> Verdict {
    match result {
        Ok(v) => verdict_of_value(v),
        Err(_) => Verdict::deny("policy_error"),
    }
}

/// How a policy's answer becomes a verdict, fail-closed. Shared by the embedded engine and
/// the remote OPA client, so both read `{decision, reasons}` identically.
pub(super) fn verdict_of_value(v: regorus::Value) -> Verdict {
    use regorus::Value;
    match v {
        Value::Undefined => Verdict::deny("policy_undefined"),
        Value::Bool(true) => Verdict {
            result: super::DecisionResult::Allow,
            reasons: vec![],
        },
        Value::Bool(false) => Verdict::deny("policy_denied"),
        Value::Object(o) => {
            let result = match o.get(&Value::from("decision")) {
                Some(Value::String(s)) => super::DecisionResult::parse(s),
                _ => None,
            };
            let reasons: Option<Vec<String>> = match o.get(&Value::from("reasons")) {
                None => Some(vec![]),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|r| r.as_string().ok().map(|s| s.to_string()))
                    .collect(),
                Some(Value::Set(a)) => a
                    .iter()
                    .map(|r| r.as_string().ok().map(|s| s.to_string()))
                    .collect(),
                Some(_) => None,
            };
            match (result, reasons) {
                (Some(result), Some(reasons)) => Verdict { result, reasons },
                _ => Verdict::deny("policy_malformed_result"),
            }
        }
        _ => Verdict::deny("policy_malformed_result"),
    }
}

impl EmbeddedPolicy {
    /// `rule_path` is `OPA_POLICY_PATH`, e.g. `agentic/allow`.
    pub fn load(dir: Option<&Path>, rule_path: &str) -> Result<Self, PolicyError> {
        Self::from_sources(Self::source_files(dir)?, rule_path)
    }

    /// The policy's files as `(name, text)`: those in `dir` (`POLICY_DIR`; unit tests
    /// excluded), or the ones shipped inside the binary. What `load` compiles, and what the
    /// MCP server shows as the active policy.
    pub fn source_files(dir: Option<&Path>) -> Result<Vec<(String, String)>, PolicyError> {
        match dir {
            None => Ok(SHIPPED
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect()),
            Some(dir) => read_dir(dir),
        }
    }

    pub fn from_sources(
        mut files: Vec<(String, String)>,
        rule_path: &str,
    ) -> Result<Self, PolicyError> {
        files.sort();
        let mut engine = regorus::Engine::new();
        let mut hasher = Sha256::new();
        let mut data_version = None;
        let mut rego_count = 0;
        for (name, text) in &files {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            if name.ends_with(".rego") {
                rego_count += 1;
                engine.add_policy(name.clone(), text.clone()).map_err(|e| {
                    PolicyError::Compile {
                        path: name.clone(),
                        message: e.to_string(),
                    }
                })?;
            } else if name.ends_with(".json") {
                let json: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| PolicyError::Data {
                        path: name.clone(),
                        message: e.to_string(),
                    })?;
                data_version = data_version.or_else(|| find_version(&json));
                engine
                    .add_data(regorus::Value::from(json))
                    .map_err(|e| PolicyError::Data {
                        path: name.clone(),
                        message: e.to_string(),
                    })?;
            }
        }
        if rego_count == 0 {
            return Err(PolicyError::Empty("the policy directory".into()));
        }
        let rule = format!("data.{}", rule_path.replace('/', "."));
        let compiled = engine
            .compile_with_entrypoint(&rule.as_str().into())
            .map_err(|e| PolicyError::Compile {
                path: rule.clone(),
                message: e.to_string(),
            })?;
        let program = regorus::languages::rego::compiler::Compiler::compile_from_policy(
            &compiled,
            &[rule.as_str()],
        )
        .map_err(|e| PolicyError::Compile {
            path: rule.clone(),
            message: e.to_string(),
        })?;
        let data = engine.get_data();
        let reads = InputReads::of(&engine, &data);
        let digest = hex::encode(&hasher.finalize()[..6]);
        let version = match data_version {
            Some(v) => format!("{v}+{digest}"),
            None => digest,
        };
        Ok(Self {
            compiled,
            program,
            data,
            shape: Arc::new(InputShape::of(&reads)),
            reads,
            version,
            path: rule_path.to_owned(),
        })
    }

    /// `<data version>+<digest of every policy and data file>`: two replicas report the
    /// same version only when they run exactly the same policy.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// What the decision log records as the deciding policy: `embedded:<version>`.
    pub fn provenance(&self) -> String {
        format!("embedded:{}", self.version)
    }

    /// The tree-walking interpreter: the reference the VM is checked against.
    pub fn evaluate(&self, input: regorus::Value) -> Verdict {
        verdict_of(self.compiled.eval_with_input(input))
    }

    pub fn evaluator(&self) -> Result<Evaluator, PolicyError> {
        let mut vm = regorus::rvm::vm::RegoVM::new();
        vm.load_program(self.program.clone());
        vm.set_data(self.data.clone())
            .map_err(|e| PolicyError::Data {
                path: "policy data".into(),
                message: e.to_string(),
            })?;
        let memo = match &self.reads {
            InputReads::Bounded(reads) => Some(Memo::new(reads, CAPACITY)),
            InputReads::Unbounded(_) => None,
        };
        Ok(Evaluator {
            vm,
            memo,
            shape: self.shape.clone(),
        })
    }

    /// An evaluator that runs the VM for every input: what govern did before decision 0017.
    /// The reference the memo is checked and benchmarked against; govern does not use it.
    pub fn unmemoised_evaluator(&self) -> Result<Evaluator, PolicyError> {
        let mut e = self.evaluator()?;
        e.memo = None;
        Ok(e)
    }

    /// What the policy can observe of its input, found when it was loaded.
    pub fn input_reads(&self) -> &InputReads {
        &self.reads
    }
}

fn find_version(v: &serde_json::Value) -> Option<String> {
    let obj = v.as_object()?;
    obj.values()
        .filter_map(|inner| inner.get("version").and_then(|x| x.as_str()))
        .next()
        .map(str::to_owned)
}

fn read_dir(dir: &Path) -> Result<Vec<(String, String)>, PolicyError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|source| PolicyError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| PolicyError::Read {
            path: shown.clone(),
            source,
        })?;
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if !(name.ends_with(".rego") || name.ends_with(".json")) || name.ends_with("_test.rego") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        files.push((name, text));
    }
    if !files.iter().any(|(n, _)| n.ends_with(".rego")) {
        return Err(PolicyError::Empty(shown));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DecisionResult;
    use serde_json::json;

    fn rv(v: serde_json::Value) -> regorus::Value {
        regorus::Value::from(v)
    }

    fn input(amount: f64, country: &str, findings: serde_json::Value) -> regorus::Value {
        rv(input_json(amount, country, findings))
    }

    fn input_json(amount: f64, country: &str, findings: serde_json::Value) -> serde_json::Value {
        json!({
            "transaction": {"id": "t", "amount": amount, "currency": "EUR", "country": country, "category": "groceries"},
            "risk": {"findings": findings, "max_score": 0.0},
            "pii": {"description_kinds": []}
        })
    }

    #[test]
    fn shipped_policy_allows_reviews_and_denies_from_data_thresholds() {
        let p = EmbeddedPolicy::load(None, "agentic/allow").expect("loads");
        assert!(p.version().starts_with("2026.12.1+"));
        assert_eq!(
            p.evaluate(input(10.0, "DE", json!([]))).result,
            DecisionResult::Allow
        );
        let v = p.evaluate(input(12_000.0, "DE", json!([])));
        assert_eq!(
            (v.result, v.reasons),
            (DecisionResult::Review, vec!["high_value".to_owned()])
        );
        let v = p.evaluate(input(10.0, "KP", json!([])));
        assert_eq!(v.result, DecisionResult::Deny);
        let f = json!([{"detector": "card_testing", "score": 0.95, "reason": "x"}]);
        let v = p.evaluate(input(1.0, "DE", f));
        assert_eq!(
            (v.result, v.reasons),
            (DecisionResult::Deny, vec!["risk_card_testing".to_owned()])
        );
        let f = json!([{"detector": "structuring", "score": 0.7, "reason": "x"}]);
        assert_eq!(
            p.evaluate(input(9500.0, "DE", f)).result,
            DecisionResult::Review
        );
    }

    #[test]
    fn malformed_input_fails_closed() {
        let p = EmbeddedPolicy::load(None, "agentic/allow").expect("loads");
        let v = p.evaluate(rv(json!({"transaction": {"id": 5}})));
        assert_eq!(v, Verdict::deny("policy_undefined"));
        assert_eq!(
            p.evaluate(rv(json!("nonsense"))).result,
            DecisionResult::Deny
        );
    }

    #[test]
    fn bad_policies_are_rejected_at_load() {
        let r = EmbeddedPolicy::from_sources(
            vec![("x.rego".into(), "package x\nallow if {".into())],
            "x/allow",
        );
        assert!(matches!(r, Err(PolicyError::Compile { .. })));
        let r = EmbeddedPolicy::from_sources(vec![("d.json".into(), "{}".into())], "x/allow");
        assert!(matches!(r, Err(PolicyError::Empty(_))));
    }

    #[test]
    fn bytecode_vm_agrees_with_the_interpreter() {
        let p = EmbeddedPolicy::load(None, "agentic/allow").expect("loads");
        let mut vm = p.evaluator().expect("vm");
        let detectors = [
            "card_testing",
            "velocity",
            "impossible_travel",
            "structuring",
            "amount_outlier",
        ];
        let mut seen = std::collections::HashSet::new();
        for i in 0..600u32 {
            let amount =
                [0.5, 9.99, 120.0, 5_000.0, 9_950.0, 10_000.0, 2_000_000.0][i as usize % 7];
            let country = ["DE", "KP", "US"][i as usize % 3];
            let findings: Vec<_> = (0..(i % 3))
                .map(|k| json!({"detector": detectors[((i + k) % 5) as usize], "score": f64::from(i % 11) / 10.0, "reason": "r"}))
                .collect();
            let mut doc = input_json(amount, country, json!(findings));
            doc["transaction"]["category"] = json!(["groceries", "gambling"][i as usize % 2]);
            let want = p.evaluate(rv(doc.clone()));
            assert_eq!(vm.evaluate(rv(doc)), want, "input #{i}");
            seen.insert(want.result);
        }
        assert_eq!(
            seen.len(),
            3,
            "the sample must exercise allow, review and deny"
        );
        assert_eq!(
            vm.evaluate(rv(json!({"transaction": {"id": 5}}))),
            Verdict::deny("policy_undefined")
        );
    }

    #[test]
    fn verdict_parsing_is_fail_closed() {
        assert_eq!(
            Verdict::from_json(&json!(true)).result,
            DecisionResult::Allow
        );
        assert_eq!(
            Verdict::from_json(&json!({"decision": "maybe"})).result,
            DecisionResult::Deny
        );
        assert_eq!(
            Verdict::from_json(&json!({"decision": "allow", "reasons": [1]})).result,
            DecisionResult::Deny
        );
        assert_eq!(Verdict::from_json(&json!(42)).result, DecisionResult::Deny);
    }
}
