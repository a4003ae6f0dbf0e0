#!/usr/bin/env python3
"""Offline consistency checks for deploy/, called by scripts/check-deploy.sh.

Sub-commands (each exits non-zero with a message per problem):
  split RENDERED OUT_CORE OUT_CRD   split a rendered kustomization into objects that have a
                                    Kubernetes 1.30 schema and custom resources (CRDs)
  crds FILE...                      structural checks of the custom resources
  invariants RENDER_DIR             the Deployment/HPA/Job/compose rules of issue 6
  dashboard FILE                    Grafana dashboard JSON sanity
  prometheus-config FILE            the scrape job mirrors the pod annotations
  runbook ALERTS RUNBOOK            every alert has a runbook entry and a matching runbook_url
"""
from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]

# Custom resources used by the components. kubernetes-validate ships only the built-in
# schemas, so these are checked structurally here instead.
CRD_KINDS = {
    ("external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets.io/v1", "SecretStore"),
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
}
CRD_GROUPS = {"external-secrets.io", "keda.sh", "monitoring.coreos.com"}

METRICS = {
    "kafka_consumer_lag", "kafka_consumergroup_lag_sum", "pipeline_records_total",
    "pipeline_batch_duration_seconds_bucket", "pipeline_stage_duration_seconds_bucket",
    "pipeline_policy_decisions_total", "pipeline_dead_letters_total", "pipeline_outbox_backlog",
    "pipeline_export_backlog", "pipeline_export_backlog_age_seconds", "pipeline_database_up",
    "pipeline_up", "up",
    # kube-state-metrics / cAdvisor (kube-prometheus-stack)
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
}

errors: list[str] = []


def err(msg: str) -> None:
    errors.append(msg)


def load_all(path: Path) -> list[dict]:
    with path.open() as fh:
        return [d for d in yaml.safe_load_all(fh) if d]


def find(docs, kind, name=None):
    out = [d for d in docs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name)]
    return out


def parse_duration(s: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", s.strip())
    if not m:
        raise ValueError(s)
    v = float(m.group(1))
    return {"ms": v / 1000, "s": v, "m": v * 60, None: v}[m.group(2)]


# ----------------------------------------------------------------------------- split
def cmd_split(rendered: str, core: str, crd: str) -> None:
    docs = load_all(Path(rendered))
    core_docs, crd_docs = [], []
    for d in docs:
        group = d.get("apiVersion", "").split("/")[0] if "/" in d.get("apiVersion", "") else ""
        if (d.get("apiVersion"), d.get("kind")) in CRD_KINDS or group in CRD_GROUPS:
            crd_docs.append(d)
        else:
            core_docs.append(d)
    for path, items in ((core, core_docs), (crd, crd_docs)):
        with open(path, "w") as fh:
            yaml.safe_dump_all(items, fh, sort_keys=False)
    kinds = sorted({f"{d['kind']}" for d in crd_docs})
    print(f"{rendered}: {len(core_docs)} built-in objects, {len(crd_docs)} custom resources {kinds}")


# ----------------------------------------------------------------------------- crds
def cmd_crds(files: list[str]) -> None:
    for f in files:
        for d in load_all(Path(f)):
            key = (d.get("apiVersion"), d.get("kind"))
            where = f"{Path(f).name}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
            if key not in CRD_KINDS:
                err(f"{where}: unexpected custom resource {key}")
                continue
            md = d.get("metadata", {})
            if md.get("namespace") != "agentic-pfm":
                err(f"{where}: namespace must be agentic-pfm, got {md.get('namespace')}")
            spec = d.get("spec") or {}
            kind = d["kind"]
            if kind == "SecretStore":
                aws = spec.get("provider", {}).get("aws", {})
                if aws.get("service") != "SecretsManager" or not aws.get("region"):
                    err(f"{where}: provider.aws.service/region missing")
                if not aws.get("auth", {}).get("jwt", {}).get("serviceAccountRef", {}).get("name"):
                    err(f"{where}: IRSA serviceAccountRef missing")
            elif kind == "ExternalSecret":
                if not spec.get("secretStoreRef", {}).get("name") or not spec.get("target", {}).get("name"):
                    err(f"{where}: secretStoreRef.name and target.name are required")
                for item in spec.get("data", []):
                    if not item.get("secretKey") or not item.get("remoteRef", {}).get("key"):
                        err(f"{where}: data item without secretKey/remoteRef.key")
                    if "/ENV/" in item.get("remoteRef", {}).get("key", "") or item.get("remoteRef", {}).get("key", "").endswith("-ENV"):
                        err(f"{where}: placeholder ENV left in remoteRef.key")
                used = set(re.findall(r"\{\{\s*\.(\w+)\s*\}\}", json.dumps(spec.get("target", {}).get("template", {}))))
                have = {i["secretKey"] for i in spec.get("data", [])}
                if used - have:
                    err(f"{where}: template uses undefined keys {sorted(used - have)}")
            elif kind == "ScaledObject":
                if spec.get("scaleTargetRef", {}).get("name") != "pipeline":
                    err(f"{where}: scaleTargetRef must be the pipeline Deployment")
                kafka = [t for t in spec.get("triggers", []) if t.get("type") == "kafka"]
                if not kafka or kafka[0]["metadata"].get("lagThreshold") != "1000":
                    err(f"{where}: needs a kafka trigger with lagThreshold \"1000\"")
                if spec.get("minReplicaCount", 0) < 2:
                    err(f"{where}: minReplicaCount must be >= 2")
            elif kind == "TriggerAuthentication":
                if not spec.get("secretTargetRef"):
                    err(f"{where}: secretTargetRef missing")


# ----------------------------------------------------------------------------- invariants
def container(dep, name):
    for c in dep["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return c
    raise KeyError(name)


def check_render(name: str, docs: list[dict]) -> None:
    w = lambda m: err(f"{name}: {m}")  # noqa: E731
    for d in docs:
        if d.get("kind") != "Namespace" and d.get("metadata", {}).get("namespace") != "agentic-pfm":
            w(f"{d['kind']}/{d['metadata']['name']} is not in namespace agentic-pfm")
        text = json.dumps(d)
        if name.startswith("overlays") and ("-ENV-" in text or "/ENV/" in text or "000000000000" in text):
            w(f"{d['kind']}/{d['metadata']['name']} still has a base placeholder (ENV / 000000000000)")
    deps = find(docs, "Deployment", "pipeline")
    if len(deps) != 1:
        w("expected exactly one Deployment/pipeline")
        return
    dep = deps[0]
    spec = dep["spec"]
    if "replicas" in spec:
        w("Deployment must not set replicas (the HPA owns them)")
    ru = spec.get("strategy", {}).get("rollingUpdate", {})
    if spec.get("strategy", {}).get("type") != "RollingUpdate" or ru.get("maxUnavailable") != 0 or ru.get("maxSurge") != 1:
        w("strategy must be RollingUpdate maxUnavailable 0 / maxSurge 1")
    tmpl = spec["template"]
    ann = tmpl["metadata"].get("annotations", {})
    if ann.get("prometheus.io/scrape") != "true" or ann.get("prometheus.io/port") != "8000" or ann.get("prometheus.io/path") != "/metrics":
        w("pod template needs prometheus.io/scrape=true, port=8000, path=/metrics")
    pod = tmpl["spec"]
    c = container(dep, "pipeline")
    refs = [(e.get("configMapRef") or e.get("secretRef") or {}).get("name") for e in c.get("envFrom", [])]
    if refs != ["pipeline-config", "pipeline-secrets"]:
        w(f"envFrom must be pipeline-config then pipeline-secrets, got {refs}")
    if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/health":
        w("readiness probe must be GET /health")
    if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/live":
        w("liveness probe must be GET /live")
    res = c.get("resources", {})
    if res.get("requests") != {"cpu": "250m", "memory": "512Mi"} or res.get("limits") != {"cpu": "1000m", "memory": "2Gi"}:
        w(f"resources must be requests 250m/512Mi, limits 1000m/2Gi, got {res}")
    sc = c.get("securityContext", {})
    if not (sc.get("runAsNonRoot") and sc.get("readOnlyRootFilesystem") and sc.get("allowPrivilegeEscalation") is False
            and sc.get("capabilities", {}).get("drop") == ["ALL"] and sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"):
        w("container securityContext must be non-root, read-only root, no escalation, drop ALL, seccomp RuntimeDefault")
    if pod.get("securityContext", {}).get("seccompProfile", {}).get("type") != "RuntimeDefault":
        w("pod seccompProfile must be RuntimeDefault")
    if not pod.get("topologySpreadConstraints"):
        w("topologySpreadConstraints missing")
    if pod.get("serviceAccountName") != "pipeline":
        w("serviceAccountName must be pipeline")
    pre = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    cm = find(docs, "ConfigMap", "pipeline-config")
    if not cm:
        w("ConfigMap pipeline-config missing")
        return
    data = cm[0]["data"]
    shutdown = parse_duration(data.get("SHUTDOWN_TIMEOUT", "20s"))
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if pre <= 0:
        w("preStop pause missing")
    if grace <= shutdown + pre:
        w(f"terminationGracePeriodSeconds {grace} must exceed SHUTDOWN_TIMEOUT {shutdown}s + preStop {pre}s")
    partitions = int(data["KAFKA_TOPIC_PARTITIONS"])
    hpas = find(docs, "HorizontalPodAutoscaler", "pipeline")
    sos = find(docs, "ScaledObject", "pipeline")
    if len(hpas) + len(sos) != 1:
        w("exactly one autoscaler (HPA or KEDA ScaledObject) must target the Deployment")
    for h in hpas:
        hs = h["spec"]
        if hs.get("minReplicas") != 2 or not (2 <= hs.get("maxReplicas", 0) <= partitions):
            w(f"HPA must have minReplicas 2 and maxReplicas <= partitions ({partitions})")
        if name.endswith("base") and hs.get("maxReplicas") != 10:
            w("base HPA maxReplicas must be 10")
        metrics = {m["type"]: m for m in hs.get("metrics", [])}
        cpu = metrics.get("Resource", {}).get("resource", {})
        if cpu.get("name") != "cpu" or cpu.get("target", {}).get("averageUtilization") != 70:
            w("HPA needs CPU utilisation 70 %")
        pm = metrics.get("Pods", {}).get("pods", {})
        if pm.get("metric", {}).get("name") != "kafka_consumer_lag" or pm.get("target", {}).get("type") != "AverageValue" \
                or str(pm.get("target", {}).get("averageValue")) != "1000":
            w("HPA needs Pods metric kafka_consumer_lag AverageValue 1000")
        if not hs.get("behavior", {}).get("scaleUp") or not hs.get("behavior", {}).get("scaleDown"):
            w("HPA needs scaleUp and scaleDown behavior")
    for s in sos:
        if s["spec"].get("maxReplicaCount", 0) > partitions:
            w(f"ScaledObject maxReplicaCount exceeds the partition count {partitions}")
    if not find(docs, "PodDisruptionBudget"):
        w("PodDisruptionBudget missing")
    sa = find(docs, "ServiceAccount", "pipeline")
    if not sa or "eks.amazonaws.com/role-arn" not in sa[0]["metadata"].get("annotations", {}):
        w("ServiceAccount pipeline with an IRSA role annotation missing")
    nps = find(docs, "NetworkPolicy", "pipeline")
    if not nps:
        w("NetworkPolicy pipeline missing")
    else:
        ingress_ports = {p["port"] for r in nps[0]["spec"].get("ingress", []) for p in r.get("ports", [])}
        if ingress_ports != {8000}:
            w(f"NetworkPolicy ingress must allow only port 8000, got {ingress_ports}")
        egress_ports = {p["port"] for r in nps[0]["spec"].get("egress", []) for p in r.get("ports", [])}
        for needed in (53, 5432, 9096, 8181, 443):
            if needed not in egress_ports:
                w(f"NetworkPolicy egress lacks port {needed}")
    jobs = find(docs, "Job", "pipeline-migrate")
    if not jobs:
        w("migration Job missing")
    else:
        jc = jobs[0]["spec"]["template"]["spec"]["containers"][0]
        if jc.get("args") != ["migrate"]:
            w("migration Job must run `pipeline migrate`")
        if jc["image"] != c["image"]:
            w(f"migration Job image {jc['image']} differs from the Deployment's {c['image']}")
    if name.endswith("opa"):
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        if env.get("OPA_URL") != "http://localhost:8181":
            w("OPA overlay must set OPA_URL=http://localhost:8181")
        inits = {i["name"]: i for i in pod.get("initContainers", [])}
        if inits.get("opa", {}).get("restartPolicy") != "Always":
            w("OPA must run as a native sidecar (initContainer with restartPolicy Always)")


def check_compose(base_docs: list[dict], secret_docs: list[dict]) -> None:
    compose = yaml.safe_load((ROOT / "deploy/docker/docker-compose.yml").read_text())
    services = compose["services"]
    for name, svc in services.items():
        if "image" not in svc and "build" not in svc:
            err(f"compose: service {name} has neither image nor build")
        deps = svc.get("depends_on", {})
        for dep in (deps if isinstance(deps, list) else deps.keys()):
            if dep not in services:
                err(f"compose: {name} depends on unknown service {dep}")
        for port in svc.get("ports", []):
            if not str(port).startswith("127.0.0.1:"):
                err(f"compose: {name} publishes {port} beyond 127.0.0.1")
    for required in ("postgres", "kafka", "opa", "minio", "prometheus", "grafana", "pipeline", "migrate"):
        if required not in services:
            err(f"compose: service {required} missing")
    if not str(services["postgres"]["image"]).startswith("postgres:15"):
        err("compose: PostgreSQL must be version 15")
    kenv = services["kafka"]["environment"]
    if "controller" not in str(kenv.get("KAFKA_PROCESS_ROLES", "")) or "ZOOKEEPER" in json.dumps(kenv).upper():
        err("compose: Kafka must run in KRaft mode (no ZooKeeper)")
    if not any("../../policies" in str(v) for v in services["opa"].get("volumes", [])):
        err("compose: OPA must load ../../policies")
    cm_keys = set(find(base_docs, "ConfigMap", "pipeline-config")[0]["data"])
    secret_keys = set(find(secret_docs, "Secret", "pipeline-secrets")[0]["stringData"])
    compose_keys = set(services["pipeline"]["environment"])
    dev_only = {"OPA_URL", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"}  # OPA component / MinIO only
    missing = (cm_keys | secret_keys) - compose_keys
    extra = compose_keys - cm_keys - secret_keys - dev_only
    if missing:
        err(f"compose: pipeline environment lacks manifest variables {sorted(missing)}")
    if extra:
        err(f"compose: pipeline environment has variables unknown to the manifests {sorted(extra)}")
    if services["pipeline"]["environment"].get("KAFKA_TOPIC_PARTITIONS") != find(base_docs, "ConfigMap", "pipeline-config")[0]["data"]["KAFKA_TOPIC_PARTITIONS"]:
        err("compose: KAFKA_TOPIC_PARTITIONS differs from pipeline-config")
    grace = parse_duration(str(services["pipeline"].get("stop_grace_period", "10s")))
    if grace <= parse_duration(services["pipeline"]["environment"]["SHUTDOWN_TIMEOUT"]):
        err("compose: stop_grace_period must exceed SHUTDOWN_TIMEOUT")


def check_dockerfile() -> None:
    text = (ROOT / "deploy/docker/Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    if len(stages) < 3:
        err("Dockerfile: expected a multi-stage build")
    runtime_image = stages[-1][0]
    if "distroless" not in runtime_image or not runtime_image.endswith(":nonroot"):
        err(f"Dockerfile: runtime base must be distroless :nonroot, got {runtime_image}")
    for needed in ("cargo chef cook", "cargo chef prepare", "COPY policies/ /app/policies/", "COPY schema/ /app/schema/",
                   "EXPOSE 8000", 'CMD ["/usr/local/bin/pipeline", "healthcheck"]', "USER 65532:65532"):
        if needed not in text:
            err(f"Dockerfile: missing `{needed}`")


def check_adapter_rule() -> None:
    values = yaml.safe_load((ROOT / "deploy/prometheus/prometheus-adapter-values.yaml").read_text())
    custom = values["rules"]["custom"]
    rule = [r for r in custom if r["name"]["as"] == "kafka_consumer_lag"]
    if not rule:
        err("prometheus-adapter: no rule exposes kafka_consumer_lag")
        return
    r = rule[0]
    if r["resources"]["overrides"].get("pod", {}).get("resource") != "pod" or "sum(" not in r["metricsQuery"]:
        err("prometheus-adapter: kafka_consumer_lag must map to pods and sum over partitions")


def cmd_invariants(render_dir: str) -> None:
    d = Path(render_dir)
    rendered = {p.stem: load_all(p) for p in sorted(d.glob("*.yaml"))}
    for name, docs in rendered.items():
        if name == "secrets":
            continue
        check_render(name.replace("_", "/"), docs)
    check_compose(rendered["base"], rendered["secrets"])
    check_dockerfile()
    check_adapter_rule()
    # The Secret template carries only empty values.
    for s in find(rendered["secrets"], "Secret"):
        for k, v in (s.get("stringData") or {}).items():
            if v:
                err(f"secret template: {k} must be empty")


# ----------------------------------------------------------------------------- dashboard
def cmd_dashboard(path: str) -> None:
    dash = json.loads(Path(path).read_text())
    ids = set()
    titles = []
    for p in dash["panels"]:
        if p["id"] in ids:
            err(f"dashboard: duplicate panel id {p['id']}")
        ids.add(p["id"])
        titles.append(p["title"])
        for t in p.get("targets", []):
            names = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\{", t["expr"]))
            unknown = names - METRICS
            if unknown:
                err(f"dashboard: panel '{p['title']}' queries unknown metrics {sorted(unknown)}")
    text = json.dumps(dash)
    for needed in ("kafka_consumer_lag", "pipeline_records_total", "pipeline_batch_duration_seconds_bucket",
                   "pipeline_policy_decisions_total", "pipeline_dead_letters_total", "pipeline_outbox_backlog",
                   "pipeline_export_backlog", "kube_horizontalpodautoscaler_status_current_replicas"):
        if needed not in text:
            err(f"dashboard: no panel uses {needed}")
    print(f"dashboard: {len(titles)} panels")


def cmd_prometheus_config(path: str) -> None:
    cfg = yaml.safe_load(Path(path).read_text())
    jobs = cfg["scrape_configs"]
    job = jobs[0]
    labels = json.dumps(job.get("relabel_configs", []))
    for needed in ("__meta_kubernetes_pod_annotation_prometheus_io_scrape",
                   "__meta_kubernetes_pod_annotation_prometheus_io_port",
                   "__meta_kubernetes_pod_annotation_prometheus_io_path"):
        if needed not in labels:
            err(f"{path}: the scrape job does not honour {needed}")
    targets = {r.get("target_label") for r in job.get("relabel_configs", [])}
    for needed in ("namespace", "pod"):
        if needed not in targets:
            err(f"{path}: the scrape job must set the `{needed}` label (prometheus-adapter maps it)")
    if job.get("kubernetes_sd_configs", [{}])[0].get("role") != "pod":
        err(f"{path}: pod-role Kubernetes discovery expected")


def cmd_runbook(alerts_path: str, runbook_path: str) -> None:
    rules = [r for g in yaml.safe_load(Path(alerts_path).read_text())["groups"] for r in g["rules"] if "alert" in r]
    headings = set(re.findall(r"^## (\S+)\s*$", Path(runbook_path).read_text(), re.M))
    for r in rules:
        name = r["alert"]
        if name not in headings:
            err(f"runbook: no '## {name}' entry in {runbook_path}")
        url = r.get("annotations", {}).get("runbook_url", "")
        if url != f"docs/runbook.md#{name.lower()}":
            err(f"alert {name}: runbook_url should be docs/runbook.md#{name.lower()}, got {url!r}")
        if r.get("labels", {}).get("severity") not in ("warning", "critical"):
            err(f"alert {name}: severity label must be warning or critical")
    for h in headings - {r["alert"] for r in rules}:
        err(f"runbook: entry {h} has no alert")
    print(f"runbook: {len(rules)} alerts, all documented" if not errors else "runbook: mismatches")


def main(argv: list[str]) -> int:
    cmd, args = argv[1], argv[2:]
    if cmd == "split":
        cmd_split(*args)
    elif cmd == "crds":
        cmd_crds(args)
    elif cmd == "invariants":
        cmd_invariants(args[0])
    elif cmd == "dashboard":
        cmd_dashboard(args[0])
    elif cmd == "prometheus-config":
        cmd_prometheus_config(args[0])
    elif cmd == "runbook":
        cmd_runbook(args[0], args[1])
    else:
        print(__doc__)
        return 2
    for e in errors:
        print(f"ERROR {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
