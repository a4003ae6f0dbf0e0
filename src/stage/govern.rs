use super::{Batch, Stage, StageContext, StageError};
use crate::policy::{Decision, EmbeddedPolicy, Evaluator, PolicyError, Verdict};
use chrono::{SubsecRound, Utc};
use std::sync::Arc;

/// Where govern's decisions come from.
enum Engine {
    /// Evaluated here, per record, by the embedded engine.
    Embedded {
        // Boxed: the VM is large, and the remote variant holds nothing.
        evaluator: Box<Evaluator>,
        provenance: Arc<str>,
    },
    /// Fetched by the runtime from a remote OPA before this stage runs (a stage does no
    /// I/O): one `(verdict, provenance)` per record in [`StageContext::remote_decisions`].
    Remote,
}

/// govern: one policy decision per record, fail-closed.
pub struct Govern {
    engine: Engine,
    path: Arc<str>,
}

impl Govern {
    pub fn new(policy: &EmbeddedPolicy) -> Result<Self, PolicyError> {
        Ok(Self {
            engine: Engine::Embedded {
                evaluator: Box::new(policy.evaluator()?),
                provenance: policy.provenance().into(),
            },
            path: policy.path().into(),
        })
    }

    /// Decisions come from [`StageContext::remote_decisions`], filled by the runtime.
    pub fn remote(path: &str) -> Self {
        Self {
            engine: Engine::Remote,
            path: path.into(),
        }
    }
}

impl Stage for Govern {
    fn name(&self) -> &'static str {
        "govern"
    }

    fn execute(&mut self, batch: &mut Batch, ctx: &mut StageContext) -> Result<(), StageError> {
        // Microseconds: the precision both databases keep, so the audit hash stays verifiable.
        let now = Utc::now().trunc_subsecs(6);
        let decide = |r: &mut super::Record, verdict: Verdict, provenance: Arc<str>| {
            r.decision = Some(Decision {
                result: verdict.result,
                reasons: verdict.reasons,
                policy_path: self.path.clone(),
                policy_version: provenance,
                decided_at: now,
            });
        };
        match &mut self.engine {
            Engine::Embedded {
                evaluator,
                provenance,
            } => {
                for r in &mut batch.records {
                    let input = evaluator.input_for(r);
                    let verdict = evaluator.evaluate(input);
                    decide(r, verdict, provenance.clone());
                }
            }
            Engine::Remote => {
                let fetched = std::mem::take(&mut ctx.remote_decisions);
                if fetched.len() != batch.records.len() {
                    // Unreachable when the runtime fetched for this batch; fail closed.
                    let none: Arc<str> = Arc::from("");
                    for r in &mut batch.records {
                        decide(r, Verdict::deny("no_decision"), none.clone());
                    }
                    return Ok(());
                }
                for (r, (verdict, provenance)) in batch.records.iter_mut().zip(fetched) {
                    decide(r, verdict, provenance);
                }
            }
        }
        Ok(())
    }
}
