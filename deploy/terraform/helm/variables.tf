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
  description = "Install the External Secrets Operator (the overlays read pipeline-secrets through it)."
  type        = bool
  default     = true
}

# Chart versions: pinned, bumped deliberately after reading the charts' release notes.
variable "kube_prometheus_stack_version" {
  description = "prometheus-community/kube-prometheus-stack chart version."
  type        = string
  default     = "65.1.1"
}

variable "prometheus_adapter_version" {
  description = "prometheus-community/prometheus-adapter chart version."
  type        = string
  default     = "4.11.0"
}

variable "metrics_server_version" {
  description = "metrics-server chart version (CPU metrics for the HPA)."
  type        = string
  default     = "3.12.2"
}

variable "keda_version" {
  description = "kedacore/keda chart version."
  type        = string
  default     = "2.16.1"
}

variable "external_secrets_version" {
  description = "external-secrets chart version (>= 0.17 serves external-secrets.io/v1)."
  type        = string
  default     = "0.17.0"
}
