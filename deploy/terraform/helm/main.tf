# Monitoring (kube-prometheus-stack) with the pipeline's scrape job, alert rules, Alertmanager
# routing and dashboard taken from deploy/prometheus and deploy/grafana, prometheus-adapter with
# our rules (the HPA's kafka_consumer_lag), metrics-server (the HPA's CPU), the Cluster
# Autoscaler (node group min..max), the External Secrets Operator, and optionally KEDA.
#
# Order: External Secrets -> monitoring-secrets (grafana-admin, alertmanager-receivers from
# AWS Secrets Manager) -> kube-prometheus-stack, so Grafana and Alertmanager find their
# Secrets when they start (no manual step after the apply).
locals {
  prometheus_dir = "${path.module}/../../prometheus"
  scrape_configs = yamldecode(file("${local.prometheus_dir}/prometheus.yml")).scrape_configs
  alert_groups   = yamldecode(file("${local.prometheus_dir}/alerts.yml")).groups
  alertmanager   = yamldecode(file("${local.prometheus_dir}/alertmanager.yml"))
  name           = "agentic-pfm-${var.environment}"
}

# IRSA roles created by ../aws (outputs cluster_autoscaler_irsa_role_arn and
# monitoring_secrets_reader_irsa_role_arn), found by name.
data "aws_iam_role" "cluster_autoscaler" {
  name = "${local.name}-cluster-autoscaler"
}

data "aws_iam_role" "monitoring_secrets_reader" {
  name = "${local.name}-monitoring-secrets-reader"
}

resource "kubernetes_namespace" "monitoring" {
  metadata {
    name = "monitoring"
    labels = {
      # node-exporter needs host access.
      "pod-security.kubernetes.io/enforce" = "privileged"
    }
  }
}

resource "helm_release" "kube_prometheus_stack" {
  name       = "kube-prometheus-stack"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "kube-prometheus-stack"
  version    = var.kube_prometheus_stack_version
  namespace  = kubernetes_namespace.monitoring.metadata[0].name
  timeout    = 900
  atomic     = true

  values = [yamlencode({
    alertmanager = {
      config = local.alertmanager
      alertmanagerSpec = {
        # Mounted at /etc/alertmanager/secrets/alertmanager-receivers/ (alertmanager.yml).
        secrets = ["alertmanager-receivers"]
      }
    }
    prometheus = {
      prometheusSpec = {
        retention = "15d"
        # The annotation-driven job of deploy/prometheus/prometheus.yml, unchanged.
        additionalScrapeConfigs                 = local.scrape_configs
        ruleSelectorNilUsesHelmValues           = false
        serviceMonitorSelectorNilUsesHelmValues = false
        podMonitorSelectorNilUsesHelmValues     = false
      }
    }
    additionalPrometheusRulesMap = {
      agentic-pfm = { groups = local.alert_groups }
    }
    grafana = {
      admin = {
        # Created by helm_release.monitoring_secrets (ExternalSecret from agentic-pfm/ENV/grafana)
        # with the chart's default keys admin-user and admin-password.
        existingSecret = "grafana-admin" # pragma: allowlist secret
      }
      sidecar = {
        dashboards = { enabled = true, label = "grafana_dashboard", searchNamespace = "ALL" }
      }
    }
  })]

  depends_on = [helm_release.monitoring_secrets]
}

resource "kubernetes_config_map" "dashboard" {
  metadata {
    name      = "agentic-pfm-dashboard"
    namespace = kubernetes_namespace.monitoring.metadata[0].name
    labels = {
      grafana_dashboard = "1"
    }
  }
  data = {
    "agentic-pfm-pipeline.json" = file("${path.module}/../../grafana/dashboards/agentic-pfm-pipeline.json")
  }
}

resource "helm_release" "prometheus_adapter" {
  name       = "prometheus-adapter"
  repository = "https://prometheus-community.github.io/helm-charts"
  chart      = "prometheus-adapter"
  version    = var.prometheus_adapter_version
  namespace  = kubernetes_namespace.monitoring.metadata[0].name
  atomic     = true

  values = [file("${local.prometheus_dir}/prometheus-adapter-values.yaml")]

  depends_on = [helm_release.kube_prometheus_stack]
}

resource "helm_release" "metrics_server" {
  name       = "metrics-server"
  repository = "https://kubernetes-sigs.github.io/metrics-server/"
  chart      = "metrics-server"
  version    = var.metrics_server_version
  namespace  = "kube-system"
  atomic     = true
}

# Node autoscaling: pods the node group cannot fit (HPA scale-up) add nodes up to
# node_max_size; empty nodes are removed (docs/deploy.md, "Capacity").
resource "helm_release" "cluster_autoscaler" {
  name       = "cluster-autoscaler"
  repository = "https://kubernetes.github.io/autoscaler"
  chart      = "cluster-autoscaler"
  version    = var.cluster_autoscaler_chart_version
  namespace  = "kube-system"
  atomic     = true

  values = [yamlencode({
    cloudProvider = "aws"
    awsRegion     = var.region
    autoDiscovery = { clusterName = var.cluster_name }
    # The autoscaler's minor version must match the cluster's Kubernetes minor.
    image = { tag = var.cluster_autoscaler_image_tag }
    rbac = {
      serviceAccount = {
        name        = "cluster-autoscaler"
        annotations = { "eks.amazonaws.com/role-arn" = data.aws_iam_role.cluster_autoscaler.arn }
      }
    }
    extraArgs = {
      "balance-similar-node-groups"   = true
      "skip-nodes-with-local-storage" = false
      "expander"                      = "least-waste"
    }
  })]
}

resource "helm_release" "keda" {
  count = var.enable_keda ? 1 : 0

  name             = "keda"
  repository       = "https://kedacore.github.io/charts"
  chart            = "keda"
  version          = var.keda_version
  namespace        = "keda"
  create_namespace = true
  atomic           = true
}

resource "helm_release" "external_secrets" {
  count = var.enable_external_secrets ? 1 : 0

  name             = "external-secrets"
  repository       = "https://charts.external-secrets.io"
  chart            = "external-secrets"
  version          = var.external_secrets_version
  namespace        = "external-secrets"
  create_namespace = true
  atomic           = true

  values = [yamlencode({ installCRDs = true })]
}

resource "helm_release" "monitoring_secrets" {
  name      = "monitoring-secrets"
  chart     = "${path.module}/charts/monitoring-secrets"
  namespace = kubernetes_namespace.monitoring.metadata[0].name
  atomic    = true

  values = [yamlencode({
    environment = var.environment
    region      = var.region
    roleArn     = data.aws_iam_role.monitoring_secrets_reader.arn
  })]

  depends_on = [helm_release.external_secrets]
}
