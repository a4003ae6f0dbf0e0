variable "name" {
  description = "Cluster name."
  type        = string
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (the manifests are validated against 1.30 and use nothing newer)."
  type        = string
  default     = "1.35"
}

variable "subnet_ids" {
  description = "Private subnets for the control-plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Expose the API endpoint publicly (restricted to public_access_cidrs). Off: reach it through the VPC (VPN, bastion, CI runner inside the VPC)."
  type        = bool
  default     = false
}

variable "public_access_cidrs" {
  description = "CIDRs allowed to reach a public API endpoint."
  type        = list(string)
  default     = []
}

variable "secrets_kms_key_arn" {
  description = "KMS key for envelope encryption of Kubernetes Secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the control-plane log group."
  type        = string
}

variable "log_retention_days" {
  description = "Control-plane log retention."
  type        = number
  default     = 365
}

variable "node_instance_types" {
  description = "Instance types of the pipeline node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  description = "Minimum nodes of the pipeline node group."
  type        = number
  default     = 2
}

variable "node_max_size" {
  description = "Maximum nodes of the pipeline node group."
  type        = number
  default     = 10
}

variable "node_disk_size_gb" {
  description = "Root volume size of each node."
  type        = number
  default     = 50
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin through EKS access entries."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
