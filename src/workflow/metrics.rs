//! Workflow and audit metrics, registered by whichever process runs the workers.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FindingLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkflowLabel {
    pub workflow: String,
    pub outcome: String,
}

pub struct WorkflowMetrics {
    /// `pipeline_audit_findings_total{kind}`
    pub audit_findings: Family<FindingLabel, Counter>,
    /// `pipeline_workflow_steps_total{workflow,outcome}`: checkpointed, failed, lease_lost.
    pub steps: Family<WorkflowLabel, Counter>,
    /// `pipeline_workflows_finished_total{workflow,outcome}`: completed, failed.
    pub finished: Family<WorkflowLabel, Counter>,
    /// `pipeline_workflow_checkpoints_pruned_total`
    pub pruned: Counter,
}

pub fn register_metrics(registry: &mut Registry) -> WorkflowMetrics {
    let m = WorkflowMetrics {
        audit_findings: Family::default(),
        steps: Family::default(),
        finished: Family::default(),
        pruned: Counter::default(),
    };
    registry.register(
        "pipeline_audit_findings",
        "Findings recorded by the audit agent, by kind",
        m.audit_findings.clone(),
    );
    registry.register(
        "pipeline_workflow_steps",
        "Workflow step executions by workflow kind and outcome",
        m.steps.clone(),
    );
    registry.register(
        "pipeline_workflows_finished",
        "Workflows that reached a final state, by kind and outcome",
        m.finished.clone(),
    );
    registry.register(
        "pipeline_workflow_checkpoints_pruned",
        "Checkpoints deleted by the retention job",
        m.pruned.clone(),
    );
    m
}

impl WorkflowMetrics {
    pub(crate) fn step(&self, workflow: &str, outcome: &str) {
        self.steps
            .get_or_create(&WorkflowLabel {
                workflow: workflow.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub(crate) fn finished(&self, workflow: &str, outcome: &str) {
        self.finished
            .get_or_create(&WorkflowLabel {
                workflow: workflow.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    pub fn finding(&self, kind: &str) {
        self.audit_findings
            .get_or_create(&FindingLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }
}
