//! OpenLineage run events (spec 2-0-2, decision 0013): what the pipeline and its commands
//! report about themselves, rendered as JSON for the store's lineage outbox. Nothing here
//! does I/O: the store writes the events in the transaction that opens or closes their run,
//! and the relay (`sink::lineage_relay`) delivers them.
//!
//! - `pipeline.run`: one run per process (START at start-up, COMPLETE or FAIL at exit,
//!   ABORT by the next start if the process was killed).
//! - `pipeline.run.commits`: a child run per committed interval (`OPENLINEAGE_INTERVAL`):
//!   the source in, the tables and output topics out, with statistics.
//! - `pipeline.run.lakehouse_export`: a child run per exported decision-log range.
//! - `pipeline.<command>`: `migrate`, `reencrypt`, `erase`, `audit_verify`, `worker`.
//! - `pipeline.workflow.<kind>`: a run per completed workflow (`investigation`, `audit`),
//!   child of the worker's run or of the pipeline process that ran it in-process.

mod close;
mod datasets;
mod facets;

pub use close::{Ending, LakeTableStats};
pub use datasets::{DatasetId, Datasets};

use crate::config::LineageConfig;
use crate::store::{ClosedRun, LineageEvent, LineageRoute, LineageStep, OpenRun};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Identifies this binary as the events' producer (the project's URLs live under
/// `agentic-pfm.invalid`, as the JSON schemas in `schema/` do).
pub const PRODUCER: &str = concat!(
    "https://agentic-pfm.invalid/pipeline/",
    env!("CARGO_PKG_VERSION")
);
pub const RUN_EVENT_SCHEMA: &str =
    "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent";

pub const JOB_RUN: &str = "pipeline.run";
pub const JOB_COMMITS: &str = "pipeline.run.commits";
pub const JOB_EXPORT: &str = "pipeline.run.lakehouse_export";
/// Prefix of the workflows' jobs: `pipeline.workflow.investigation`, `…audit`.
pub const JOB_WORKFLOW: &str = "pipeline.workflow";

/// Run kinds as the store records them.
pub const KIND_PROCESS: &str = "process";
pub const KIND_INTERVAL: &str = "interval";
pub const KIND_EXPORT: &str = "export";
pub const KIND_COMMAND: &str = "command";
pub const KIND_WORKFLOW: &str = "workflow";

/// A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so run ids
/// sort by start time.
pub fn uuid_v7() -> String {
    use rand::RngCore;
    let ms = Utc::now().timestamp_millis().max(0) as u64;
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    rand::thread_rng().fill_bytes(&mut b[6..]);
    b[6] = 0x70 | (b[6] & 0x0f);
    b[8] = 0x80 | (b[8] & 0x3f);
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The policy the runs report in their `pfm_policy` facet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    pub path: String,
    /// `embedded` or `opa`.
    pub engine: String,
    /// `embedded:<version>`, or `opa:<url>` (each decision names the bundle revision).
    pub version: String,
}

/// Renders the events of one pipeline's runs. Cheap to clone.
#[derive(Clone)]
pub struct Lineage {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: String,
    route: LineageRoute,
    interval: Duration,
    datasets: Datasets,
    /// The pipeline's policy; the commands have none.
    policy: Option<PolicyInfo>,
}

impl Lineage {
    pub fn new(cfg: &LineageConfig, datasets: Datasets, policy: Option<PolicyInfo>) -> Self {
        Self {
            inner: Arc::new(Inner {
                namespace: cfg.namespace.clone(),
                route: LineageRoute {
                    relay: cfg.transport.is_some(),
                    kafka_topic: cfg.kafka_topic.clone(),
                },
                interval: cfg.interval,
                datasets,
                policy,
            }),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.inner.namespace
    }

    pub fn interval(&self) -> Duration {
        self.inner.interval
    }

    pub fn datasets(&self) -> &Datasets {
        &self.inner.datasets
    }

    /// The Kafka key of a job's events: `run:<namespace>/<root job>`, as openlineage-python
    /// keys them, so a process's events stay in order on one partition.
    fn key(&self, root_job: &str) -> String {
        format!("run:{}/{root_job}", self.inner.namespace)
    }

    fn event(&self, kind: &str, run: Value, job: &str, io: (Vec<Value>, Vec<Value>)) -> Value {
        json!({
            "eventType": kind,
            "eventTime": now(),
            "producer": PRODUCER,
            "schemaURL": RUN_EVENT_SCHEMA,
            "run": run,
            "job": {
                "namespace": self.inner.namespace,
                "name": job,
                "facets": {"jobType": facets::job_type(job)},
            },
            "inputs": io.0,
            "outputs": io.1,
        })
    }

    /// `parent`: the parent's run id and job.
    fn run_facets(&self, parent: Option<(&str, &str)>) -> Map<String, Value> {
        let mut f = Map::new();
        f.insert("processing_engine".into(), facets::processing_engine());
        if let Some(p) = &self.inner.policy {
            f.insert("pfm_policy".into(), facets::policy(p, None));
        }
        if let Some((run, job)) = parent {
            f.insert(
                "parent".into(),
                facets::parent(&self.inner.namespace, run, job),
            );
        }
        f
    }

    /// A top-level run of `job` (the pipeline process, or a command) with its START event.
    pub fn top_run(&self, job: &str, kind: &str, io: (Vec<Value>, Vec<Value>)) -> OpenRun {
        let run_id = uuid_v7();
        let run = json!({"runId": run_id, "facets": self.run_facets(None)});
        OpenRun {
            run_id,
            parent_run_id: None,
            kind: kind.into(),
            start: LineageEvent {
                key: self.key(job),
                json: self.event("START", run, job, io).to_string(),
            },
        }
    }

    /// The pipeline process's run.
    pub fn process_run(&self) -> OpenRun {
        self.top_run(JOB_RUN, KIND_PROCESS, (Vec::new(), Vec::new()))
    }

    /// A committed interval of the process `parent`: the source in, the tables and topics
    /// out.
    pub fn interval_run(&self, parent: &str) -> OpenRun {
        self.child(
            parent,
            JOB_COMMITS,
            KIND_INTERVAL,
            self.inner.datasets.commit_io(),
        )
    }

    /// The export of one decision-log range by the process `parent`.
    pub fn export_run(&self, parent: &str) -> OpenRun {
        self.child(
            parent,
            JOB_EXPORT,
            KIND_EXPORT,
            self.inner.datasets.export_io(),
        )
    }

    fn child(&self, parent: &str, job: &str, kind: &str, io: (Vec<Value>, Vec<Value>)) -> OpenRun {
        let run_id = uuid_v7();
        let run = json!({"runId": run_id, "facets": self.run_facets(Some((parent, JOB_RUN)))});
        OpenRun {
            run_id,
            parent_run_id: Some(parent.into()),
            kind: kind.into(),
            start: LineageEvent {
                key: self.key(JOB_RUN),
                json: self.event("START", run, job, io).to_string(),
            },
        }
    }

    /// A completed workflow of `kind` as a run of its own job, child of `parent` (run id,
    /// job): START and COMPLETE together, written by the checkpoint that completes the
    /// workflow, so a crash neither loses nor repeats them and an unfinished workflow leaves
    /// no open run behind.
    pub fn workflow_step(
        &self,
        kind: &str,
        parent: Option<(&str, &str)>,
        io: (Vec<Value>, Vec<Value>),
    ) -> LineageStep {
        let job = format!("{JOB_WORKFLOW}.{kind}");
        let run_id = uuid_v7();
        let run = json!({"runId": run_id, "facets": self.run_facets(parent)});
        let start = OpenRun {
            parent_run_id: parent.map(|(id, _)| id.to_owned()),
            kind: KIND_WORKFLOW.into(),
            start: LineageEvent {
                key: self.key(parent.map_or(job.as_str(), |(_, j)| j)),
                json: self.event("START", run, &job, io).to_string(),
            },
            run_id,
        };
        let this = self.clone();
        LineageStep {
            close: Vec::new(),
            open: Vec::new(),
            render: Box::new(move |_| {
                let done = ClosedRun {
                    run: start,
                    tallies: Vec::new(),
                };
                let complete = close::terminal(&this, &done, &Ending::Complete);
                vec![done.run.start, complete]
            }),
            route: self.inner.route.clone(),
        }
    }

    /// One transaction: close `close` (each with the ending `ending` picks for it), then
    /// open `open`.
    pub fn step(
        &self,
        close: Vec<String>,
        open: Vec<OpenRun>,
        ending: impl Fn(&ClosedRun) -> Ending + Send + 'static,
    ) -> LineageStep {
        let this = self.clone();
        LineageStep {
            close,
            open,
            render: Box::new(move |closed: &[ClosedRun]| {
                closed
                    .iter()
                    .map(|c| close::terminal(&this, c, &ending(c)))
                    .collect()
            }),
            route: self.inner.route.clone(),
        }
    }

    /// How the next start closes a run a dead process left open: its committed intervals
    /// COMPLETE (their rows are committed and tallied), everything else ABORT.
    pub fn orphan_ending(run: &ClosedRun) -> Ending {
        match run.run.kind.as_str() {
            KIND_INTERVAL => Ending::Complete,
            _ => Ending::Abort(
                "the process ended without closing this run (killed or lost); closed by the next start"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_has_its_version_and_variant_and_sorts_by_time() {
        let a = uuid_v7();
        std::thread::sleep(Duration::from_millis(2));
        let b = uuid_v7();
        for u in [&a, &b] {
            assert_eq!(u.len(), 36, "{u}");
            assert_eq!(&u[14..15], "7", "{u}");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
            assert_eq!(u.matches('-').count(), 4);
        }
        assert!(a < b, "{a} then {b}");
        assert_ne!(uuid_v7(), uuid_v7());
    }
}
