//! A STAND-IN for an OPA sidecar: no OPA binary can be installed here, so this small
//! server follows OPA's documented REST API closely enough for the pipeline's client.
//! It is not OPA. It serves:
//!
//! - `POST /v1/data/<path>` with `{"input": …}`: evaluates `data.<path>` over the same
//!   `policies/` files with regorus (its tree-walking interpreter, not the bytecode VM
//!   the embedded engine runs), answering `{"result": …}` or, for an undefined decision,
//!   `{}` with status 200, as OPA does; with `?provenance=true` it adds `provenance`
//!   (with a bundle revision when one is configured);
//! - `GET /health` (`?plugins` accepted): 200 `{}`.
//!
//! Faults can be injected ([`Fault`]), and the server can be killed (its runtime is shut
//! down, so open keep-alive connections die too) and restarted on the same port.
//!
//! It lives here, behind the `opa-standin` feature, so that the integration tests
//! (`tests/it/opa_sidecar.rs`) and the sidecar benchmark (`examples/opa_standin.rs`, run by
//! `benches/opa.sh`) share one server, while the fuzz crate keeps building this crate
//! without I/O dependencies.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    None,
    /// Answers correctly, after this delay.
    Slow(Duration),
    /// `{}` for every decision (OPA's undefined answer).
    Undefined,
    /// A 200 whose body is not JSON.
    Malformed,
    /// This status with an OPA-style error body.
    Status(u16),
}

struct Shared {
    policy: regorus::CompiledPolicy,
    fault: Mutex<Fault>,
    revision: Option<String>,
    decisions: AtomicU64,
    requests: AtomicU64,
}

pub struct OpaStandIn {
    shared: Arc<Shared>,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
}

fn policy_files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).expect("policies/") {
        let p = e.expect("entry").path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.ends_with("_test.rego") {
            continue; // `opa run` would load them too; they define no decision we ask for.
        }
        if name.ends_with(".rego") || name.ends_with(".json") {
            files.push((name, std::fs::read_to_string(&p).expect("read policy")));
        }
    }
    files
}

fn compile(policies: &std::path::Path, rule_path: &str) -> regorus::CompiledPolicy {
    let mut engine = regorus::Engine::new();
    for (name, text) in policy_files(policies) {
        if name.ends_with(".rego") {
            engine.add_policy(name, text).expect("policy parses");
        } else {
            engine.add_data_json(&text).expect("data is JSON");
        }
    }
    let rule = format!("data.{}", rule_path.replace('/', "."));
    engine
        .compile_with_entrypoint(&rule.as_str().into())
        .expect("policy compiles")
}

impl OpaStandIn {
    /// Serves the policies of the directory `policies` (the repository's `policies/`) on a
    /// free port of 127.0.0.1.
    pub fn start(policies: &std::path::Path, rule_path: &str, revision: Option<&str>) -> Self {
        Self::start_on(policies, rule_path, revision, free_port())
    }

    /// As [`OpaStandIn::start`], on a given port.
    pub fn start_on(
        policies: &std::path::Path,
        rule_path: &str,
        revision: Option<&str>,
        port: u16,
    ) -> Self {
        let shared = Arc::new(Shared {
            policy: compile(policies, rule_path),
            fault: Mutex::new(Fault::None),
            revision: revision.map(str::to_owned),
            decisions: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        let mut s = Self {
            shared,
            port,
            runtime: None,
        };
        s.restart();
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.shared.fault.lock().expect("fault lock") = fault;
    }

    /// Decision requests received (any answer).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Decisions answered with a `result`.
    pub fn decisions(&self) -> u64 {
        self.shared.decisions.load(Ordering::SeqCst)
    }

    /// Kills the server: the listener and every open connection are gone.
    pub fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }

    /// Serves again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("stand-in runtime");
        let app = Router::new()
            .route("/v1/data/{*path}", post(decide))
            .route("/health", get(health))
            .with_state(self.shared.clone());
        let port = self.port;
        // A std listener: this may be called from inside the test's own runtime, where
        // `block_on` is not allowed. The port was just released by the killed runtime.
        let mut bound = None;
        for _ in 0..100 {
            match std::net::TcpListener::bind(("127.0.0.1", port)) {
                Ok(l) => {
                    bound = Some(l);
                    break;
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let listener = bound.unwrap_or_else(|| panic!("cannot bind the stand-in OPA on {port}"));
        listener.set_nonblocking(true).expect("nonblocking");
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let _ = axum::serve(listener, app).await;
        });
        self.runtime = Some(rt);
    }
}

impl Drop for OpaStandIn {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn health(State(s): State<Arc<Shared>>) -> Response {
    let fault = s.fault.lock().expect("fault lock").clone();
    match fault {
        Fault::Status(code) => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "{}",
        )
            .into_response(),
        _ => (StatusCode::OK, "{}").into_response(),
    }
}

async fn decide(
    State(s): State<Arc<Shared>>,
    Path(_path): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let fault = s.fault.lock().expect("fault lock").clone();
    match fault {
        Fault::Slow(d) => tokio::time::sleep(d).await,
        Fault::Undefined => return json(StatusCode::OK, serde_json::json!({})),
        Fault::Malformed => return (StatusCode::OK, "<html>not json").into_response(),
        Fault::Status(code) => {
            return json(
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                serde_json::json!({"code": "internal_error", "message": "injected fault"}),
            )
        }
        Fault::None => {}
    }
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"code": "invalid_parameter", "message": "body is not JSON"}),
        );
    };
    let input = doc.get("input").cloned().unwrap_or(serde_json::Value::Null);
    let result = match s.policy.eval_with_input(regorus::Value::from(input)) {
        Ok(v) => v,
        Err(e) => {
            return json(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({"code": "internal_error", "message": e.to_string()}),
            )
        }
    };
    let mut answer = serde_json::Map::new();
    if result != regorus::Value::Undefined {
        let value: serde_json::Value =
            serde_json::from_str(&result.to_json_str().expect("result is JSON")).expect("json");
        answer.insert("result".into(), value);
        s.decisions.fetch_add(1, Ordering::SeqCst);
    }
    if uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "provenance=true"))
    {
        let mut p = serde_json::json!({"version": "stand-in", "build_commit": "", "build_timestamp": "", "build_hostname": ""});
        if let Some(rev) = &s.revision {
            p["bundles"] = serde_json::json!({"policies": {"revision": rev}});
        }
        answer.insert("provenance".into(), p);
    }
    json(StatusCode::OK, serde_json::Value::Object(answer))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn json(code: StatusCode, v: serde_json::Value) -> Response {
    (
        code,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}
