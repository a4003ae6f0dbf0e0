//! A STAND-IN for an OpenLineage backend: Marquez cannot be installed here, so this server
//! accepts what Marquez's lineage API accepts (`POST /api/v1/lineage`, one RunEvent as JSON,
//! answered 201) and keeps every event and `Authorization` header it received. It is not
//! Marquez: it builds no graph. [`check_runs`] checks what a graph needs instead: every run
//! has one START and one terminal event, children name an existing parent, and no run gets
//! two different events of one type.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Received {
    events: Vec<Value>,
    authorization: Vec<Option<String>>,
}

pub struct Receiver {
    pub port: u16,
    received: Arc<Mutex<Received>>,
    task: tokio::task::JoinHandle<()>,
}

async fn lineage(
    State(r): State<Arc<Mutex<Received>>>,
    headers: HeaderMap,
    body: String,
) -> StatusCode {
    let Ok(event) = serde_json::from_str::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut g = r.lock().expect("receiver lock");
    g.events.push(event);
    g.authorization.push(auth);
    StatusCode::CREATED
}

impl Receiver {
    /// Listens on a free port.
    pub async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Listens on `port` (a backend that comes back where the pipeline expects it).
    pub async fn start_on(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the lineage receiver");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Received::default()));
        let app = Router::new()
            .route("/api/v1/lineage", post(lineage))
            .with_state(received.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            port,
            received,
            task,
        }
    }

    /// The value of `OPENLINEAGE_URL` that reaches this receiver.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn events(&self) -> Vec<Value> {
        self.received.lock().expect("receiver lock").events.clone()
    }

    pub fn authorization(&self) -> Vec<Option<String>> {
        self.received
            .lock()
            .expect("receiver lock")
            .authorization
            .clone()
    }

    pub fn stop(self) {
        self.task.abort();
    }
}

/// One run, as its events describe it.
#[derive(Debug, Clone)]
pub struct Run {
    pub run_id: String,
    pub job: String,
    pub parent: Option<String>,
    pub start: Value,
    pub end: Value,
}

impl Run {
    pub fn end_type(&self) -> &str {
        self.end["eventType"].as_str().unwrap_or_default()
    }
}

/// Checks that `events` form well-made runs and returns them by run id. Identical copies of
/// an event (delivery is at least once) count once; two *different* events of one type for
/// one run fail.
pub fn check_runs(events: &[Value]) -> BTreeMap<String, Run> {
    let mut by_run: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    for e in events {
        let id = e["run"]["runId"].as_str().expect("runId").to_owned();
        let kind = e["eventType"].as_str().expect("eventType").to_owned();
        let slot = by_run.entry(id.clone()).or_default();
        match slot.get(&kind) {
            Some(seen) => assert_eq!(seen, e, "run {id} got two different {kind} events"),
            None => {
                slot.insert(kind, e.clone());
            }
        }
    }
    let mut runs = BTreeMap::new();
    for (id, mut kinds) in by_run {
        let start = kinds
            .remove("START")
            .unwrap_or_else(|| panic!("run {id} has no START: {kinds:?}"));
        let ends: Vec<String> = kinds.keys().cloned().collect();
        assert_eq!(
            ends.len(),
            1,
            "run {id} ({}) must end exactly once, got {ends:?}",
            start["job"]["name"]
        );
        let end = kinds.into_values().next().expect("one end");
        assert!(
            ["COMPLETE", "FAIL", "ABORT"].contains(&end["eventType"].as_str().unwrap_or_default()),
            "run {id}: {}",
            end["eventType"]
        );
        let (t0, t1) = (
            start["eventTime"].as_str().unwrap_or_default(),
            end["eventTime"].as_str().unwrap_or_default(),
        );
        assert!(t0 <= t1, "run {id} ends ({t1}) before it starts ({t0})");
        let job = start["job"]["name"].as_str().unwrap_or_default().to_owned();
        assert_eq!(
            end["job"]["name"], start["job"]["name"],
            "run {id} changed job"
        );
        let parent = start["run"]["facets"]["parent"]["run"]["runId"]
            .as_str()
            .map(str::to_owned);
        runs.insert(
            id.clone(),
            Run {
                run_id: id,
                job,
                parent,
                start,
                end,
            },
        );
    }
    for r in runs.values() {
        if let Some(p) = &r.parent {
            let parent = runs.get(p).unwrap_or_else(|| {
                panic!("run {} names parent {p}, which never started", r.run_id)
            });
            assert!(
                ["pipeline.run", "pipeline.worker"].contains(&parent.job.as_str()),
                "parent of {}: {}",
                r.run_id,
                parent.job
            );
            assert_eq!(
                r.start["run"]["facets"]["parent"]["job"]["name"], parent.job,
                "the parent facet names the parent's job"
            );
        }
    }
    runs
}

/// The rows the intervals' COMPLETE events report for the output whose name ends with
/// `.{table}` (or is the topic `table`), summed.
pub fn interval_rows(runs: &BTreeMap<String, Run>, table: &str) -> i64 {
    runs.values()
        .filter(|r| r.job == "pipeline.run.commits" && r.end_type() == "COMPLETE")
        .flat_map(|r| r.end["outputs"].as_array().cloned().unwrap_or_default())
        .filter(|o| {
            let name = o["name"].as_str().unwrap_or_default();
            name.ends_with(&format!(".{table}")) || name == table
        })
        .map(|o| {
            o["outputFacets"]["outputStatistics"]["rowCount"]
                .as_i64()
                .expect("rowCount on every interval output")
        })
        .sum()
}

/// Writes `events` as JSON lines and runs tests/lineage_check.py (openlineage-python's
/// model) over them; returns its summary, or `None` when no test Python is available.
pub fn python_check(events: &[Value], dir: &std::path::Path) -> Option<Value> {
    let python = super::test_python()?;
    let file = dir.join("lineage-events.jsonl");
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(&file, text).expect("write events");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lineage_check.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&file)
        .output()
        .expect("run lineage_check.py");
    assert!(
        out.status.success(),
        "openlineage-python refused the events:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("checker summary"))
}
