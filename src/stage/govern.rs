use super::{Batch, Stage, StageContext, StageError};
use crate::policy::{policy_input, Decision, EmbeddedPolicy, Evaluator, PolicyError};
use chrono::{SubsecRound, Utc};
use std::sync::Arc;

/// govern: one policy decision per record, fail-closed.
pub struct Govern {
    evaluator: Evaluator,
    path: Arc<str>,
    version: Arc<str>,
}

impl Govern {
    pub fn new(policy: &EmbeddedPolicy) -> Result<Self, PolicyError> {
        Ok(Self {
            evaluator: policy.evaluator()?,
            path: policy.path().into(),
            version: policy.version().into(),
        })
    }
}

impl Stage for Govern {
    fn name(&self) -> &'static str {
        "govern"
    }

    fn execute(&mut self, batch: &mut Batch, _ctx: &mut StageContext) -> Result<(), StageError> {
        // Microseconds: the precision both databases keep, so the audit hash stays verifiable.
        let now = Utc::now().trunc_subsecs(6);
        for r in &mut batch.records {
            let verdict = self.evaluator.evaluate(policy_input(r));
            r.decision = Some(Decision {
                result: verdict.result,
                reasons: verdict.reasons,
                policy_path: self.path.clone(),
                policy_version: self.version.clone(),
                decided_at: now,
            });
        }
        Ok(())
    }
}
