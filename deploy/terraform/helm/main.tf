# Monitoring (kube-prometheus-stack) with the pipeline's scrape job, alert rules and dashboard
# taken from deploy/prometheus and deploy/grafana, prometheus-adapter with our rules (the HPA's
# kafka_consumer_lag), metrics-server (the HPA's CPU), and optionally KEDA and the External
# Secrets Operator.
locals {
  prometheus_dir = "${path.module}/../../prometheus"
  scrape_configs = yamldecode(file("${local.prometheus_dir}/prometheus.yml")).scrape_configs
  alert_groups   = yamldecode(file("${local.prometheus_dir}/alerts.yml")).groups
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
        # Created out of band (or by an ExternalSecret) with the chart's default keys
        # admin-user and admin-password.
        existingSecret = "grafana-admin" # pragma: allowlist secret
      }
      sidecar = {
        dashboards = { enabled = true, label = "grafana_dashboard", searchNamespace = "ALL" }
      }
    }
  })]
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
