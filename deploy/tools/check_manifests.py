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
  rollout RENDER_DIR                issue 18: images (registry, repository, digests), egress
                                    CIDRs vs the VPC, grace periods, least privilege, DB TLS
  image-pin OVERLAY...              pins a digest the documented way (kustomize edit set image)
                                    in a scratch copy of each overlay and checks the render
  terraform                         issue 18: secret ordering, KEDA/adapter, RDS drift, node
                                    autoscaler + capacity, version floors, tags
  docs                              issue 18: docs that must agree with the code
  release-workflow FILE             the release workflow's structure
"""
from __future__ import annotations

import ipaddress
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
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
        # The base's all-zero image digest is the documented "not released yet" value that the
        # release step replaces (docs/deploy.md, step 4); every other placeholder is a mistake.
        text = json.dumps(d).replace("@sha256:" + "0" * 64, "@sha256:UNRELEASED")
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
        check_opa_sidecar(inits.get("opa", {}), pod, docs, w)


def check_opa_sidecar(opa: dict, pod: dict, docs: list[dict], w) -> None:
    """Issue 14: the kubelet can probe OPA (its diagnostic address, since OPA 1.x serves the
    API on localhost), and OPA loads the repository's policies/ from a ConfigMap."""
    args = opa.get("args", [])
    diag = next((a.split("=", 1)[1] for a in args if a.startswith("--diagnostic-addr=")), None)
    if not diag or not diag.startswith("0.0.0.0:"):
        w("OPA sidecar must bind --diagnostic-addr=0.0.0.0:<port> for the kubelet's probes")
        return
    diag_port = int(diag.rsplit(":", 1)[1])
    named = {p.get("name"): p.get("containerPort") for p in opa.get("ports", [])}
    for probe in ("readinessProbe", "livenessProbe"):
        get = (opa.get(probe) or {}).get("httpGet") or {}
        port = named.get(get.get("port"), get.get("port"))
        if port != diag_port or not str(get.get("path", "")).startswith("/health"):
            w(f"OPA sidecar {probe} must GET /health on the diagnostic port {diag_port}, got {get}")
    mounts = {m["name"]: m["mountPath"] for m in opa.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    loaded = [n for n, path in mounts.items() if path in args]
    cms = [volumes[n]["configMap"]["name"] for n in loaded if "configMap" in volumes.get(n, {})]
    if not cms:
        w("OPA sidecar must load its policy directory from a ConfigMap volume named in its args")
        return
    for cm_name in cms:
        found = [d for d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == cm_name]
        if not found:
            w(f"OPA sidecar's ConfigMap {cm_name} is not part of the overlay (configMapGenerator from policies/)")
            continue
        data = found[0].get("data", {})
        for f in sorted((ROOT / "policies").iterdir()):
            if f.suffix in (".rego", ".json") and not f.name.endswith("_test.rego"):
                if data.get(f.name) != f.read_text():
                    w(f"OPA sidecar's ConfigMap {cm_name} does not hold policies/{f.name} as it is in the repository")


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
    opa_mounts = [str(v) for v in services["opa"].get("volumes", [])]
    policy_mount = next((v.split(":")[1] for v in opa_mounts if v.startswith("../../policies:")), None)
    if not policy_mount:
        err("compose: OPA must mount ../../policies")
    elif policy_mount not in services["opa"].get("command", []):
        err(f"compose: OPA must load the mounted policies ({policy_mount}) in its command")
    if str(services["pipeline"]["environment"].get("OPA_URL", "")).rstrip("/") != "http://opa:8181":
        err("compose: the pipeline must ask the stack's OPA (OPA_URL=http://opa:8181)")
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


def check_mcp(base_docs: list[dict]) -> None:
    """Issue 14: the MCP governance server has its own Deployment (stateless HTTP, probes on
    its own port), identity without the S3 role, Service, PDB, NetworkPolicy and compose
    service, and its tokens come from the Secret."""
    deps = find(base_docs, "Deployment", "pipeline-mcp")
    if not deps:
        err("Deployment/pipeline-mcp (the MCP governance server) missing")
        return
    pod = deps[0]["spec"]["template"]["spec"]
    labels = deps[0]["spec"]["template"]["metadata"]["labels"]
    c = pod["containers"][0]
    if c.get("args") != ["mcp", "--http"]:
        err(f"Deployment/pipeline-mcp must run `pipeline mcp --http`, runs {c.get('args')}")
    ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if str(ports.get("mcp")) != str(env.get("MCP_PORT")):
        err(f"Deployment/pipeline-mcp: port `mcp` ({ports.get('mcp')}) must equal MCP_PORT ({env.get('MCP_PORT')})")
    if not env.get("MCP_ALLOWED_HOSTS", "").count("pipeline-mcp"):
        err("Deployment/pipeline-mcp: MCP_ALLOWED_HOSTS must name the Service (Host validation)")
    if "MCP_TOKENS" in env:
        err("Deployment/pipeline-mcp: MCP_TOKENS is a secret; take it from pipeline-secrets")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz"), ("startupProbe", "/healthz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") != "mcp":
            err(f"Deployment/pipeline-mcp: {probe} must GET {path} on port mcp, got {get}")
    if pod.get("serviceAccountName") in (None, "default", "pipeline"):
        err("Deployment/pipeline-mcp must have its own ServiceAccount (not the pipeline's S3 role)")
    def selects(doc_sel: dict) -> bool:
        return bool(doc_sel) and all(labels.get(k) == v for k, v in doc_sel.items())
    if not any(selects(d["spec"].get("selector", {})) for d in find(base_docs, "Service")):
        err("no Service selects the MCP server's pods")
    if not any(selects(d["spec"]["selector"].get("matchLabels", {})) for d in find(base_docs, "PodDisruptionBudget")):
        err("no PodDisruptionBudget covers the MCP server")
    nps = [d for d in find(base_docs, "NetworkPolicy") if selects(d["spec"]["podSelector"].get("matchLabels", {}))]
    if not nps:
        err("no NetworkPolicy selects the MCP server's pods")
    elif not any(any(p.get("port") == ports.get("mcp") for p in rule.get("ports", [])) for np in nps for rule in np["spec"].get("ingress", [])):
        err("the MCP server's NetworkPolicy does not admit its port")
    services = yaml.safe_load((ROOT / "deploy/docker/docker-compose.yml").read_text())["services"]
    mcp = services.get("mcp")
    if not mcp:
        err("compose: service mcp (the MCP governance server) missing")
    elif mcp.get("command") != ["mcp", "--http"] or "MCP_PORT" not in mcp.get("environment", {}):
        err("compose: service mcp must run `pipeline mcp --http` with MCP_PORT")


def check_dockerfile() -> None:
    text = (ROOT / "deploy/docker/Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    if len(stages) < 3:
        err("Dockerfile: expected a multi-stage build")
    runtime_image = stages[-1][0].split("@")[0]
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
    check_mcp(rendered["base"])
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


# ----------------------------------------------------------------------------- issue 18
OVERLAY_ENV = {"staging": "staging", "production": "production", "production-opa": "production",
               "production-keda": "production", "production-ollama": "production"}
DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# Seconds the kubelet must leave after preStop + SHUTDOWN_TIMEOUT (process exit, log flush).
GRACE_MARGIN = 10


def tfvars(path: Path) -> dict[str, str]:
    """Top-level `key = value` pairs of a .tfvars file (strings and numbers only)."""
    out = {}
    for line in path.read_text().splitlines():
        m = re.match(r'^\s*(\w+)\s*=\s*"?([^"#]*?)"?\s*(#.*)?$', line)
        if m:
            out[m.group(1)] = m.group(2).strip()
    return out


def hcl_block(text: str, header: str) -> str:
    """The body of the first block whose header matches the regex `header` ('' if none)."""
    m = re.search(header + r"\s*\{", text)
    if not m:
        return ""
    depth, i = 0, m.end() - 1
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j]
    return text[i + 1:]


def tf_default(text: str, var: str) -> str | None:
    m = re.search(r'default\s*=\s*"?([^"\n]*)"?', hcl_block(text, rf'variable\s+"{var}"'))
    return m.group(1) if m else None


def pod_templates(docs):
    for d in docs:
        if d.get("kind") in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
            yield d, d["spec"]["template"]["spec"]


def all_containers(pod):
    return list(pod.get("initContainers", [])) + list(pod.get("containers", []))


def overlay_registry(overlay: str) -> str:
    k = yaml.safe_load((ROOT / "deploy/k8s/overlays" / overlay / "kustomization.yaml").read_text())
    for i in k.get("images") or []:
        if i["name"] == "pipeline":
            return i.get("newName", "")
    # An overlay built on another overlay (production-opa, production-keda) inherits its image.
    for r in k.get("resources", []):
        if r.startswith("../") and (ROOT / "deploy/k8s/overlays" / r[3:] / "kustomization.yaml").exists():
            return overlay_registry(r[3:])
    return ""


def is_pipeline_container(c) -> bool:
    return c["name"] in ("pipeline", "migrate") or "agentic-pfm/pipeline" in c.get("image", "")


def check_rollout_overlay(overlay: str, docs: list[dict]) -> None:
    w = lambda m: err(f"overlays/{overlay}: {m}")  # noqa: E731
    repo = overlay_registry(overlay)
    if not repo or "/" not in repo:
        w("no `images: - name: pipeline newName: REGISTRY/REPOSITORY` entry")
        return
    registry = repo.split("/")[0]
    if not re.fullmatch(r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com", registry):
        w(f"pipeline image registry {registry} is not an ECR registry")
    # Item 2: every container of every workload comes from the overlay's registry, by digest;
    # the pipeline's containers from the overlay's repository.
    for d, pod in pod_templates(docs):
        for c in all_containers(pod):
            img = c.get("image", "")
            where = f"{d['kind']}/{d['metadata']['name']} container {c['name']}"
            if not DIGEST.search(img):
                w(f"{where}: image {img} is not pinned by digest")
            if is_pipeline_container(c):
                if img.split("@")[0] != repo:
                    w(f"{where}: image {img} is not the overlay's repository {repo}")
            elif not img.startswith(registry + "/agentic-pfm/mirror/"):
                w(f"{where}: image {img} is not in the overlay's registry ({registry}/agentic-pfm/mirror/...)")
    # Item 3: CIDRs against the environment's VPC.
    env = OVERLAY_ENV.get(overlay)
    vpc = tfvars(ROOT / f"deploy/terraform/aws/environments/{env}.tfvars").get("vpc_cidr")
    if not vpc:
        w(f"no vpc_cidr in environments/{env}.tfvars")
        return
    net = ipaddress.ip_network(vpc)
    for d in find(docs, "NetworkPolicy"):
        for direction, peer_key in (("egress", "to"), ("ingress", "from")):
            for rule in d["spec"].get(direction, []):
                ports = {p.get("port") for p in rule.get("ports", [])}
                for peer in rule.get(peer_key, []):
                    cidr = peer.get("ipBlock", {}).get("cidr")
                    if not cidr:
                        continue
                    # The one deliberate exception: HTTPS to AWS service addresses (S3, STS),
                    # which are no stable CIDR list.
                    if cidr == "0.0.0.0/0" and direction == "egress" and ports == {443}:
                        continue
                    if not ipaddress.ip_network(cidr).subnet_of(net):
                        w(f"NetworkPolicy/{d['metadata']['name']} {direction} {cidr} is outside the VPC {vpc} (environments/{env}.tfvars)")
    # Item 11: the DB_* path verifies RDS with a CA bundle the pod has.
    cm = find(docs, "ConfigMap", "pipeline-config")
    data = cm[0]["data"] if cm else {}
    if data.get("DB_HOST"):
        if data.get("DB_SSLMODE") != "verify-full":
            w(f"DB_SSLMODE must be verify-full with DB_HOST, got {data.get('DB_SSLMODE')!r}")
        ca = data.get("DB_SSLROOTCERT", "")
        shipped = re.findall(r"^COPY\s.*\s(\S+)\s*$", (ROOT / "deploy/docker/Dockerfile").read_text(), re.M)
        for d, pod in pod_templates(docs):
            for c in pod.get("containers", []):
                if not is_pipeline_container(c):
                    continue
                mounts = [m["mountPath"] for m in c.get("volumeMounts", [])]
                if not ca or not (ca in shipped or any(ca.startswith(m.rstrip("/") + "/") for m in mounts)):
                    w(f"{d['kind']}/{d['metadata']['name']}: DB_SSLROOTCERT {ca!r} is neither shipped in the image nor mounted")


def check_rollout_common(name: str, docs: list[dict]) -> None:
    w = lambda m: err(f"{name}: {m}")  # noqa: E731
    cm = find(docs, "ConfigMap", "pipeline-config")
    shutdown = parse_duration(cm[0]["data"].get("SHUTDOWN_TIMEOUT", "20s")) if cm else 20
    for d, pod in pod_templates(docs):
        where = f"{d['kind']}/{d['metadata']['name']}"
        # Grace >= preStop + SHUTDOWN_TIMEOUT (one shared shutdown deadline) + margin.
        pre = max([c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
                   for c in all_containers(pod)] or [0])
        grace = pod.get("terminationGracePeriodSeconds", 30)
        need = pre + shutdown + GRACE_MARGIN
        if grace < need:
            w(f"{where}: terminationGracePeriodSeconds {grace} < preStop {pre}s + SHUTDOWN_TIMEOUT {shutdown:g}s + margin {GRACE_MARGIN}s = {need:g}s")
        # Item 5: the Jobs get no ENCRYPTION_KEY.
        if d["kind"] == "Job":
            for c in all_containers(pod):
                if any((e.get("secretRef") or {}).get("name") == "pipeline-secrets" for e in c.get("envFrom", [])):
                    w(f"{where}: projects the whole pipeline-secrets (ENCRYPTION_KEY included); use secretKeyRef for what it needs")
                for e in c.get("env", []):
                    ref = (e.get("valueFrom") or {}).get("secretKeyRef") or {}
                    if e["name"] == "ENCRYPTION_KEY" or ref.get("key", "").startswith("ENCRYPTION_KEY"):
                        w(f"{where}: receives ENCRYPTION_KEY")
    # Item 5: the workers have their own identity, without the pipeline's S3 role.
    workers = find(docs, "Deployment", "pipeline-worker")
    if workers:
        sa_name = workers[0]["spec"]["template"]["spec"].get("serviceAccountName", "default")
        if sa_name == "pipeline":
            w("Deployment/pipeline-worker uses the pipeline's ServiceAccount (and its S3 IRSA role)")
        sa = find(docs, "ServiceAccount", sa_name)
        pipe = find(docs, "ServiceAccount", "pipeline")
        role = sa[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn") if sa else None
        if role and pipe and role == pipe[0]["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn"):
            w(f"ServiceAccount/{sa_name} carries the pipeline's IRSA role")


def cmd_rollout(render_dir: str) -> None:
    d = Path(render_dir)
    for p in sorted(d.glob("*.yaml")):
        name = p.stem.replace("_", "/")
        if name == "secrets":
            continue
        docs = load_all(p)
        check_rollout_common(name, docs)
        if name.startswith("overlays/"):
            check_rollout_overlay(name.split("/", 1)[1], docs)
    # Item 5: base images of the Dockerfile pinned by digest.
    text = (ROOT / "deploy/docker/Dockerfile").read_text()
    stages = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", text, re.M | re.I))
    for img in re.findall(r"^FROM\s+(\S+)", text, re.M | re.I):
        if img not in stages and "@sha256:" not in img:
            err(f"Dockerfile: base image {img} is not pinned by digest")
    if not errors:
        print("rollout: images, CIDRs, grace periods, least privilege and DB TLS hold in every render")


def kustomize_set_image(overlay_dir: Path, spec: str) -> str:
    """`kustomize edit set image NAME=NEWNAME@DIGEST`, the documented step. Uses the kustomize
    binary when it is installed; otherwise makes the same edit to the `images` list (set
    newName and digest on the entry of that name, drop newTag; add the entry if missing)."""
    exe = shutil.which("kustomize")
    if exe:
        subprocess.run([exe, "edit", "set", "image", spec], cwd=overlay_dir, check=True)
        return "kustomize edit set image"
    name, ref = spec.split("=", 1)
    new_name, digest = ref.split("@", 1)
    path = overlay_dir / "kustomization.yaml"
    k = yaml.safe_load(path.read_text())
    images = k.setdefault("images", [])
    entry = next((i for i in images if i.get("name") == name), None)
    if entry is None:
        entry = {"name": name}
        images.append(entry)
    entry["newName"] = new_name
    entry["digest"] = digest
    entry.pop("newTag", None)
    path.write_text(yaml.safe_dump(k, sort_keys=False))
    return "the same edit as kustomize edit set image (no kustomize binary here)"


def cmd_image_pin(overlays: list[str]) -> None:
    digest = "sha256:" + "ab12" * 16
    with tempfile.TemporaryDirectory() as tmp:
        # The repository's layout: production-opa generates its ConfigMap from ../../../../policies.
        tree = Path(tmp) / "deploy" / "k8s"
        shutil.copytree(ROOT / "deploy/k8s", tree)
        shutil.copytree(ROOT / "policies", Path(tmp) / "policies")
        for overlay in overlays:
            repo = overlay_registry(overlay)
            how = kustomize_set_image(tree / "overlays" / overlay, f"pipeline={repo}@{digest}")
            out = subprocess.run(["kubectl", "kustomize", str(tree / "overlays" / overlay)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                err(f"overlays/{overlay}: render failed after pinning: {out.stderr.strip()}")
                continue
            docs = [x for x in yaml.safe_load_all(out.stdout) if x]
            want = f"{repo}@{digest}"
            seen = 0
            for d, pod in pod_templates(docs):
                for c in all_containers(pod):
                    if is_pipeline_container(c):
                        seen += 1
                        if c["image"] != want:
                            err(f"overlays/{overlay}: {d['kind']}/{d['metadata']['name']} renders {c['image']}, not the pinned {want}")
            if seen < 3:
                err(f"overlays/{overlay}: expected the pipeline image in >= 3 workloads, found {seen}")
            print(f"overlays/{overlay}: {how} -> {seen} pipeline containers render {want}")


# Version floors, reviewed 2026-12-03 (docs/deploy.md, "Versions"): a default older than
# its floor is out of (or about to leave) its upstream's support.
VERSION_FLOORS = {
    ("aws/variables.tf", "kubernetes_version"): "1.35",
    ("aws/modules/eks/variables.tf", "kubernetes_version"): "1.35",
    ("aws/modules/msk/variables.tf", "kafka_version"): "3.9",
    ("helm/variables.tf", "kube_prometheus_stack_version"): "80.0.0",
    ("helm/variables.tf", "prometheus_adapter_version"): "5.0.0",
    ("helm/variables.tf", "metrics_server_version"): "3.13.0",
    ("helm/variables.tf", "keda_version"): "2.18.0",
    ("helm/variables.tf", "external_secrets_version"): "0.20.0",
    ("helm/variables.tf", "cluster_autoscaler_chart_version"): "9.50.0",
}
# m6i.large: 2 vCPU; EKS AL2023 reserves 70m (kube-reserved) + 100m eviction/system headroom.
NODE_ALLOCATABLE_MILLICPU = {"m6i.large": 1930, "m6i.xlarge": 3920, "m7i.large": 1930}
# DaemonSets on every node (aws-node, kube-proxy, node-exporter, eks-pod-identity-agent) and the
# cluster-wide add-ons (coredns x2, metrics-server, prometheus, alertmanager, grafana,
# kube-state-metrics, operators, adapter x2, external-secrets, cluster-autoscaler), as CPU
# requests; docs/deploy.md, "Capacity".
DAEMONSET_MILLICPU_PER_NODE = 300
ADDONS_MILLICPU = 2000


def vtuple(v: str) -> tuple:
    return tuple(int(x) for x in re.findall(r"\d+", v))


def millicpu(v) -> int:
    v = str(v)
    return int(v[:-1]) if v.endswith("m") else int(float(v) * 1000)


def cmd_terraform() -> None:
    tf = ROOT / "deploy/terraform"
    helm_main = (tf / "helm/main.tf").read_text()
    # Item 6: grafana-admin exists before kube-prometheus-stack starts.
    kps = hcl_block(helm_main, r'resource\s+"helm_release"\s+"kube_prometheus_stack"')
    m = re.search(r'existingSecret\s*=\s*"([^"]+)"', kps)
    secret = m.group(1) if m else None
    deps = re.findall(r"helm_release\.(\w+)", " ".join(re.findall(r"depends_on\s*=\s*\[([^\]]*)\]", kps)))
    creators = []
    for dep in deps:
        body = hcl_block(helm_main, rf'resource\s+"helm_release"\s+"{dep}"')
        cm = re.search(r'chart\s*=\s*"\$\{path\.module\}/([^"]+)"', body)
        if cm and secret:
            for t in (tf / "helm" / cm.group(1)).rglob("*.yaml"):
                for d in yaml.safe_load_all(re.sub(r"\{\{[^}]*\}\}", "x", t.read_text())):
                    if d and d.get("kind") == "ExternalSecret" and d["spec"]["target"]["name"] == secret:
                        creators.append(dep)
    if secret and not creators:
        err(f"helm: kube-prometheus-stack uses existingSecret {secret} but depends on no release that creates it (Grafana cannot start; the atomic install rolls back)")
    # Item 4: Alertmanager routing with a receiver whose credentials come from a mounted Secret.
    if "alertmanager" not in kps or "alertmanager.yml" not in helm_main:
        err("helm: kube-prometheus-stack gets no Alertmanager routing (deploy/prometheus/alertmanager.yml)")
    else:
        am = yaml.safe_load((ROOT / "deploy/prometheus/alertmanager.yml").read_text())
        mounted = re.findall(r'secrets\s*=\s*\[\s*"([^"]+)"', kps)
        files = re.findall(r"_file:\s*(\S+)", (ROOT / "deploy/prometheus/alertmanager.yml").read_text())
        if not files or not all(any(f.startswith(f"/etc/alertmanager/secrets/{s}/") for s in mounted) for f in files):
            err("alertmanager: receiver credentials must be *_file paths in a Secret mounted by alertmanagerSpec.secrets")
        if not am.get("route", {}).get("routes"):
            err("alertmanager: no routes")
    # Item 7: KEDA and prometheus-adapter must not both serve external.metrics.k8s.io.
    if re.search(r'resource\s+"helm_release"\s+"keda"', helm_main):
        adapter = yaml.safe_load((ROOT / "deploy/prometheus/prometheus-adapter-values.yaml").read_text())
        if (adapter.get("rules") or {}).get("external"):
            err("prometheus-adapter defines rules.external: it registers v1beta1.external.metrics.k8s.io, which KEDA also registers (enable_keda fails)")
    # Item 8: no minor pin with automatic minor upgrades.
    rds = (tf / "aws/modules/rds/main.tf").read_text()
    if re.search(r"auto_minor_version_upgrade\s*=\s*true", rds):
        v = tf_default((tf / "aws/modules/rds/variables.tf").read_text(), "engine_version")
        if v is None or "." in v:
            err(f"rds: engine_version {v!r} pins a minor while auto_minor_version_upgrade = true (drift, then a downgrade attempt)")
    # Item 9: a node autoscaler with IRSA, and enough nodes for the HPA's maximum.
    ca = hcl_block(helm_main, r'resource\s+"helm_release"\s+"cluster_autoscaler"')
    if not re.search(r'chart\s*=\s*"(cluster-autoscaler|karpenter)"', ca):
        err("helm: no Cluster Autoscaler (or Karpenter) release: the node group's max_size does nothing")
    elif "eks.amazonaws.com/role-arn" not in ca:
        err("helm: the Cluster Autoscaler has no IRSA role annotation")
    if 'service_account   = "cluster-autoscaler"' not in (tf / "aws/main.tf").read_text():
        err("aws: no IRSA role for kube-system/cluster-autoscaler")
    for env in ("staging", "production"):
        v = tfvars(tf / f"aws/environments/{env}.tfvars")
        itype = re.findall(r'"([^"]+)"', (tf / f"aws/environments/{env}.tfvars").read_text().split("node_instance_types", 1)[1].splitlines()[0])[0]
        nodes = int(v["node_max_size"])
        alloc = NODE_ALLOCATABLE_MILLICPU.get(itype)
        if alloc is None:
            err(f"{env}: unknown instance type {itype} (add it to NODE_ALLOCATABLE_MILLICPU)")
            continue
        ov = yaml.safe_load((ROOT / f"deploy/k8s/overlays/{env}/kustomization.yaml").read_text())
        hpa_max = next(int(pp["patch"].split("value:")[1].split()[0]) for pp in ov["patches"]
                       if isinstance(pp, dict) and pp.get("target", {}).get("kind") == "HorizontalPodAutoscaler")
        base = {p.stem: load_all(p) for p in (ROOT / "deploy/k8s/base").glob("deployment*.yaml")}
        pipe_limit = millicpu(base["deployment"][0]["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])
        wk = base["deployment-worker"][0]["spec"]
        worker = wk["replicas"] * millicpu(wk["template"]["spec"]["containers"][0]["resources"]["limits"]["cpu"])
        # One surge pod during a rollout on top of the maximum.
        need = (hpa_max + 1) * pipe_limit + worker + nodes * DAEMONSET_MILLICPU_PER_NODE + ADDONS_MILLICPU
        have = nodes * alloc
        print(f"capacity {env}: {nodes} x {itype} = {have}m allocatable; need ({hpa_max}+1) x {pipe_limit}m + workers {worker}m + daemonsets {nodes} x {DAEMONSET_MILLICPU_PER_NODE}m + add-ons {ADDONS_MILLICPU}m = {need}m")
        if have < need:
            err(f"{env}: node_max_size {nodes} x {itype} ({have}m) cannot hold the HPA maximum at its CPU limit ({need}m)")
    # Item 10: supported versions and the seed's Compliance tag.
    for (file, var), floor in VERSION_FLOORS.items():
        v = tf_default((tf / file).read_text(), var)
        if v is None or vtuple(v) < vtuple(floor):
            err(f"{file}: {var} default {v!r} is older than the supported floor {floor} (reviewed 2026-12-03)")
    for file in ("aws/main.tf", "helm/providers.tf"):
        if not re.search(r'Compliance\s*=\s*"sox-gdpr"', (tf / file).read_text()):
            err(f"{file}: default tags lack Compliance = \"sox-gdpr\"")
    if not errors:
        print("terraform: secret ordering, alert routing, KEDA/adapter, RDS version, autoscaler, capacity, versions, tags OK")


def cmd_docs() -> None:
    lake_code = (ROOT / "src/sink/lakehouse.rs").read_text()
    m = re.search(r"max_rows:\s*([\d_]+)", lake_code)
    lake_doc = (ROOT / "schema/lakehouse.md").read_text()
    d = re.search(r"holds at most ([\d,]+) rows", lake_doc)
    if not m or not d or int(m.group(1).replace("_", "")) != int(d.group(1).replace(",", "")):
        err(f"schema/lakehouse.md: range size {d and d.group(1)} differs from the code's max_rows {m and m.group(1)}")
    readme = (ROOT / "README.md").read_text()
    if re.search(r"relay, if any, up to `SHUTDOWN_TIMEOUT`", readme):
        err("README.md: says the outbox relay gets up to SHUTDOWN_TIMEOUT (shutdown has one shared deadline)")
    if "one deadline" not in readme:
        err("README.md: the shutdown note must describe the one shared SHUTDOWN_TIMEOUT deadline")
    code = "\n".join(p.read_text() for p in (ROOT / "src").rglob("*.rs"))
    refused = "this build has no remote OPA client yet" in code
    deploy = (ROOT / "docs/deploy.md").read_text()
    for needle in ("production-opa", "docker-compose"):
        for para in re.split(r"\n\s*\n", deploy):
            if needle in para and "OPA" in para:
                says_missing = "not in this build" in para
                if refused and not says_missing:
                    err(f"docs/deploy.md: a paragraph about {needle} and OPA does not say remote OPA is not in this build: {para[:90]!r}")
                if not refused and says_missing:
                    err(f"docs/deploy.md: a paragraph about {needle} says remote OPA is not in this build, but it is: {para[:90]!r}")
    if not errors:
        print("docs: lakehouse range size, shutdown deadline and remote-OPA status agree with the code")


def cmd_release_workflow(path: str) -> None:
    if not Path(path).is_file():
        err(f"{path}: no release workflow")
        return
    wf = yaml.safe_load(Path(path).read_text())
    on = wf.get(True, wf.get("on")) or {}
    if "push" not in on or "tags" not in (on.get("push") or {}):
        err(f"{path}: must run on pushed release tags")
    perms = wf.get("permissions", {})
    for p, v in (("id-token", "write"), ("contents", "write")):
        if perms.get(p) != v:
            err(f"{path}: permissions.{p} must be {v} (keyless signing / committing the pinned digest)")
    steps = [st for job in (wf.get("jobs") or {}).values() for st in job.get("steps", [])]
    text = "\n".join(st.get("run", "") for st in steps)
    uses = [st.get("uses", "") for st in steps]
    for u in uses:
        if u and not re.search(r"@[0-9a-f]{40}$", u):
            err(f"{path}: action {u} is not pinned to a commit SHA")
    order = [
        ("build+test", r"\.ci/run|scripts/test\.sh|cargo test|cargo nextest"),
        ("image build+push", r"docker buildx build(?:[^\n]*\\\n)*[^\n]*--push|docker push"),
        ("digest", r"DIGEST|digest"),
        ("SBOM", r"syft\b"),
        ("scan", r"grype\b|trivy\b"),
        ("sign", r"cosign sign\b"),
        ("pin in overlays", r"kustomize edit set image \"?pipeline="),
    ]
    pos = -1
    for name, rx in order:
        m = re.search(rx, text)
        if not m:
            err(f"{path}: no {name} step ({rx})")
            continue
        if m.start() < pos:
            err(f"{path}: the {name} step runs too early")
        pos = m.start()
    # Signed by digest: the signing step's image is the build step's `ref` output, which is
    # REPO@DIGEST (never a tag).
    sign = [st for st in steps if re.search(r"cosign sign\b", st.get("run", ""))]
    by_digest = re.search(r'echo "ref=[^"\n]*@\$\{?DIGEST', text)
    if not sign or not by_digest or "outputs.ref" not in json.dumps(sign[0].get("env", {})):
        err(f"{path}: cosign must sign the pushed image by digest (REPO@sha256:..., the build step's ref output)")
    if "--key" in " ".join(re.findall(r"cosign sign[^\n]*", text)):
        err(f"{path}: signing must be keyless (no --key)")
    for overlay in ("staging", "production"):
        if f"deploy/k8s/overlays/{overlay}" not in text:
            err(f"{path}: does not pin the digest in overlays/{overlay}")
    if not errors:
        print(f"{path}: build+test -> image -> SBOM -> scan -> keyless sign by digest -> pin in overlays")


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
    elif cmd == "rollout":
        cmd_rollout(args[0])
    elif cmd == "image-pin":
        cmd_image_pin(args)
    elif cmd == "terraform":
        cmd_terraform()
    elif cmd == "docs":
        cmd_docs()
    elif cmd == "release-workflow":
        cmd_release_workflow(args[0])
    else:
        print(__doc__)
        return 2
    for e in errors:
        print(f"ERROR {e}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
