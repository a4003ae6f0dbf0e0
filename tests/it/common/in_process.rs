//! A pipeline started in this test process through the library's assembly point
//! (`pfm::app::App`), with the same clean environment `pipeline_cmd` gives the binary.
//! Subprocess tests remain where the process boundary is the point (signals, SIGKILL,
//! exit codes, the command line).

use pfm::app::{
    run_worker, App, AppError, Shutdown, ShutdownTrigger, SourceChoice, Summary, WorkerExit,
    WorkerOptions,
};
use pfm::config::Config;
use pfm::workflow::{WorkerSettings, WorkflowError};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

pub struct InProcess {
    vars: HashMap<String, String>,
}

impl InProcess {
    /// `DATA_DIR`, `HTTP_PORT=0`, and with a database URL the test key, as `pipeline_cmd`.
    pub fn new(data_dir: &Path, database_url: Option<&str>) -> Self {
        let mut vars = HashMap::new();
        vars.insert("DATA_DIR".into(), data_dir.display().to_string());
        vars.insert("HTTP_PORT".into(), "0".into());
        vars.insert("LOG_LEVEL".into(), "WARN".into());
        if let Some(url) = database_url {
            vars.insert("DATABASE_URL".into(), url.into());
            vars.insert("ENCRYPTION_KEY".into(), super::TEST_KEY.into());
        }
        Self { vars }
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Self {
        self.vars.insert(key.into(), value.into());
        self
    }

    pub fn config(&self) -> Config {
        Config::from_lookup(|k| self.vars.get(k).cloned()).expect("valid test configuration")
    }

    /// Builds and starts the pipeline; it runs until the source drains or `stop`.
    pub async fn start(&self, source: SourceChoice) -> Result<Running, AppError> {
        let cfg = self.config();
        let (trigger, shutdown) = Shutdown::manual(cfg.shutdown_timeout);
        let app = App::build(cfg, source, self.worker_settings()).await?;
        let http_addr = app.http_addr();
        let task = tokio::spawn(app.run_until(shutdown));
        Ok(Running {
            http_addr,
            trigger,
            task,
        })
    }

    /// Runs a bounded source (`--input` or `--count`) to its end.
    pub async fn run(&self, source: SourceChoice) -> Result<Summary, AppError> {
        self.start(source).await?.finished().await
    }

    pub async fn run_file(&self, path: &Path) -> Result<Summary, AppError> {
        self.run(SourceChoice::File(path.display().to_string()))
            .await
    }

    /// `pipeline worker` (with `WORKFLOW_*` settings from the same variables); it runs
    /// until no workflow is left with `once`, else until the test ends it.
    /// The `WORKFLOW_*` settings of these variables, as the binary reads them.
    pub fn worker_settings(&self) -> WorkerSettings {
        WorkerSettings::from_lookup(|k| self.vars.get(k).cloned()).expect("valid worker settings")
    }

    pub async fn worker(&self, opts: WorkerOptions) -> Result<WorkerExit, WorkflowError> {
        let cfg = self.config();
        let settings = self.worker_settings();
        // The trigger lives until the worker ends: a dropped sender would read as a
        // shutdown request.
        let (trigger, shutdown) = Shutdown::manual(cfg.shutdown_timeout);
        let exit = run_worker(&cfg, settings, opts, shutdown).await;
        drop(trigger);
        exit
    }
}

pub struct Running {
    pub http_addr: SocketAddr,
    trigger: ShutdownTrigger,
    task: tokio::task::JoinHandle<Result<Summary, AppError>>,
}

impl Running {
    pub fn port(&self) -> u16 {
        self.http_addr.port()
    }

    /// What SIGTERM does to the binary.
    pub async fn stop(self) -> Result<Summary, AppError> {
        self.trigger.request();
        self.finished().await
    }

    pub async fn finished(self) -> Result<Summary, AppError> {
        tokio::time::timeout(Duration::from_secs(300), self.task)
            .await
            .expect("the pipeline finishes within 5 minutes")
            .expect("the pipeline task does not panic")
    }
}
