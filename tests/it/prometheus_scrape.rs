//! A real Prometheus scrapes a pipeline consuming from Kafka with the committed scrape job
//! (deploy/prometheus/prometheus.yml; only the Kubernetes service discovery is replaced by a
//! file that carries the same `__meta_kubernetes_*` labels a pod with our annotations gets),
//! and the prometheus-adapter rule's query (deploy/prometheus/prometheus-adapter-values.yaml)
//! returns the per-pod value the HPA would see.

use crate::common;

use crate::common::kafka::{self as k, Replica, ReplicaSpec};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const NAMESPACE: &str = "agentic-pfm";
const POD: &str = "pipeline-5c9d8f7b6-x2k4q";

fn prometheus_binary() -> Option<String> {
    match std::env::var("PFM_TEST_PROMETHEUS") {
        Ok(p) if std::path::Path::new(&p).exists() => Some(p),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("PFM_TEST_PROMETHEUS (a prometheus binary) is missing in CI: run scripts/install-test-deps.sh and scripts/test.sh")
        }
        _ => {
            eprintln!("SKIPPED: PFM_TEST_PROMETHEUS unset; run scripts/install-test-deps.sh and scripts/test.sh");
            None
        }
    }
}

struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The committed scrape job, with the pod discovered from a file instead of the API server.
fn scrape_config(dir: &std::path::Path, pipeline_port: u16) -> String {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/prometheus.yml"
    ))
    .expect("deploy/prometheus/prometheus.yml");
    let targets = dir.join("pods.json");
    let pod = serde_json::json!([{
        // The pod IP with a container port; the annotation's port replaces it.
        "targets": ["127.0.0.1:1"],
        "labels": {
            "__meta_kubernetes_namespace": NAMESPACE,
            "__meta_kubernetes_pod_name": POD,
            "__meta_kubernetes_pod_phase": "Running",
            "__meta_kubernetes_pod_node_name": "node-a",
            "__meta_kubernetes_pod_label_app_kubernetes_io_name": "pipeline",
            "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
            "__meta_kubernetes_pod_annotation_prometheus_io_port": pipeline_port.to_string(),
            "__meta_kubernetes_pod_annotation_prometheus_io_path": "/metrics",
        }
    }]);
    std::fs::write(&targets, pod.to_string()).expect("pods.json");
    let sd = "    kubernetes_sd_configs:\n      - role: pod\n";
    assert!(
        committed.contains(sd),
        "the committed job uses pod discovery"
    );
    committed
        .replace(
            sd,
            &format!(
                "    file_sd_configs:\n      - files: [\"{}\"]\n",
                targets.display()
            ),
        )
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("scrape_timeout: 10s", "scrape_timeout: 1s")
        .replace("rule_files:\n  - alerts.yml\n", "")
}

/// The adapter's metricsQuery for `kafka_consumer_lag`, filled in as the adapter does for an
/// HPA asking about the Deployment's pods.
fn adapter_query() -> String {
    let values = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/prometheus-adapter-values.yaml"
    ))
    .expect("adapter values");
    let rule = values
        .split("- seriesQuery:")
        .find(|r| r.contains("as: \"kafka_consumer_lag\""))
        .expect("a rule for kafka_consumer_lag");
    let template = rule
        .lines()
        .find_map(|l| l.trim().strip_prefix("metricsQuery:"))
        .expect("metricsQuery")
        .trim()
        .trim_matches('\'')
        .to_owned();
    template
        .replace("<<.Series>>", "kafka_consumer_lag")
        .replace(
            "<<.LabelMatchers>>",
            &format!("namespace=\"{NAMESPACE}\",pod=~\"{POD}\""),
        )
        .replace("<<.GroupBy>>", "pod")
}

fn query(port: u16, promql: &str) -> serde_json::Value {
    let mut enc = String::new();
    for b in promql.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                enc.push(b as char)
            }
            _ => enc.push_str(&format!("%{b:02X}")),
        }
    }
    let (status, body) =
        common::http_get(port, &format!("/api/v1/query?query={enc}")).unwrap_or((0, String::new()));
    if status != 200 {
        return serde_json::Value::Null;
    }
    serde_json::from_str(&body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_kafka_consumer_lag_and_the_adapter_query_gives_the_pods_value() {
    let Some(bootstrap) = k::bootstrap() else {
        return;
    };
    let Some(prometheus) = prometheus_binary() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Some(url) = common::fresh_migrated_pg_database(dir.path()).await else {
        return;
    };
    let topic = k::unique("scrape");
    let group = k::unique("scrape-group");
    k::create_topic(&bootstrap, &topic, 3);
    let spec = ReplicaSpec {
        dir: dir.path(),
        database_url: &url,
        bootstrap: &bootstrap,
        topic: &topic,
        group: &group,
        extra_env: &[],
    };
    let pipeline = Replica::start(POD, &spec);
    assert!(
        k::wait_until(Duration::from_secs(60), || pipeline
            .metric_sum("pipeline_kafka_assigned_partitions")
            == Some(3.0)),
        "the pipeline joined the group"
    );
    // Hold commits so a non-zero lag stands still while Prometheus scrapes it.
    let tx = common::hold_commits(&url).await;
    k::produce(&bootstrap, &topic, 900, 3);

    let prom_port = common::free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        scrape_config(dir.path(), pipeline.port),
    )
    .expect("config");
    let _prom = Prometheus(
        Command::new(&prometheus)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );

    let own = || pipeline.metric_sum("kafka_consumer_lag").unwrap_or(-1.0);
    let adapter = adapter_query();
    let mut last = serde_json::Value::Null;
    let agreed = k::wait_until(Duration::from_secs(60), || {
        let scraped = query(prom_port, "kafka_consumer_lag");
        let series = scraped["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let labelled = series.len() == 3
            && series.iter().all(|s| {
                s["metric"]["namespace"] == NAMESPACE
                    && s["metric"]["pod"] == POD
                    && s["metric"]["topic"] == topic.as_str()
            });
        last = query(prom_port, &adapter);
        let per_pod = last["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|v| v.parse::<f64>().ok());
        labelled && per_pod == Some(own()) && own() > 0.0
    });
    println!(
        "adapter query: {adapter}\nresult: {last}\npipeline's own sum: {}",
        own()
    );
    assert!(
        agreed,
        "Prometheus did not return the pod's lag through the adapter query"
    );
    assert_eq!(last["data"]["result"][0]["metric"]["pod"], POD);
    assert_eq!(last["data"]["result"].as_array().map(Vec::len), Some(1));
    tx.rollback().await.expect("release");
}
