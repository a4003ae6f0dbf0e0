variable "environment" {
  description = "staging or production."
  type        = string
}

variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "us-east-1"
}

variable "cluster_name" {
  description = "EKS cluster (output cluster_name of ../aws)."
  type        = string
}

variable "enable_keda" {
  description = "Install KEDA (needed only by the overlay production-keda)."
  type        = bool
  default     = false
}

variable "enable_external_secrets" {
  description = "Install the External Secrets Operator (the overlays read pipeline-secrets, and the monitoring stack grafana-admin and alertmanager-receivers, through it). Required."
  type        = bool
  default     = true

  validation {
    condition     = var.enable_external_secrets
    error_message = "kube-prometheus-stack needs grafana-admin and alertmanager-receivers before it starts; they come from External Secrets."
  }
}

# Chart versions: pinned, bumped deliberately after reading the charts' release notes. Reviewed
# 2026-12-03 (docs/deploy.md, "Versions"); scripts/check-deploy.sh refuses versions older than
# the floors in deploy/tools/check_manifests.py.
variable "kube_prometheus_stack_version" {
  description = "prometheus-community/kube-prometheus-stack chart version."
  type        = string
  default     = "88.3.0"
}

variable "prometheus_adapter_version" {
  description = "prometheus-community/prometheus-adapter chart version."
  type        = string
  default     = "5.3.0"
}

variable "metrics_server_version" {
  description = "metrics-server chart version (CPU metrics for the HPA)."
  type        = string
  default     = "3.13.0"
}

variable "keda_version" {
  description = "kedacore/keda chart version."
  type        = string
  default     = "2.18.0"
}

variable "external_secrets_version" {
  description = "external-secrets chart version (>= 0.17 serves external-secrets.io/v1)."
  type        = string
  default     = "0.20.4"
}

variable "cluster_autoscaler_chart_version" {
  description = "kubernetes/autoscaler cluster-autoscaler chart version."
  type        = string
  default     = "9.53.0"
}

variable "cluster_autoscaler_image_tag" {
  description = "Cluster Autoscaler image tag: its minor must match the cluster's Kubernetes minor (../aws kubernetes_version)."
  type        = string
  default     = "v1.35.0"
}
