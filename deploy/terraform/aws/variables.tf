variable "environment" {
  description = "staging or production."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "owner" {
  description = "Team that owns the stack (Owner tag)."
  type        = string
  default     = "payments-data-platform"
}

variable "cost_center" {
  description = "CostCenter tag."
  type        = string
  default     = "agentic-pfm"
}

variable "extra_tags" {
  description = "Additional tags for every resource."
  type        = map(string)
  default     = {}
}

variable "vpc_cidr" {
  description = "VPC CIDR; the overlay's NetworkPolicies use the same value."
  type        = string
  default     = "10.0.0.0/16"
}

variable "availability_zones" {
  description = "Three availability zones of the region."
  type        = list(string)
  default     = ["us-east-1a", "us-east-1b", "us-east-1c"]
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone (staging)."
  type        = bool
  default     = false
}

variable "kubernetes_version" {
  description = "EKS version (1.35: in EKS standard support at the time of writing, 2026-12; docs/deploy.md, \"Versions\")."
  type        = string
  default     = "1.35"
}

variable "eks_endpoint_public_access" {
  description = "Expose the EKS API publicly (restricted to eks_public_access_cidrs)."
  type        = bool
  default     = false
}

variable "eks_public_access_cidrs" {
  description = "CIDRs allowed to a public EKS API endpoint."
  type        = list(string)
  default     = []
}

variable "eks_admin_role_arns" {
  description = "IAM roles given cluster-admin (EKS access entries)."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "Instance types of the pipeline node group."
  type        = list(string)
  default     = ["m6i.large"]
}

variable "node_min_size" {
  description = "Pipeline node group minimum."
  type        = number
  default     = 2
}

variable "node_max_size" {
  description = "Pipeline node group maximum."
  type        = number
  default     = 10
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.m6g.large"
}

variable "db_multi_az" {
  description = "RDS Multi-AZ (production only)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "RDS deletion protection (production only)."
  type        = bool
  default     = false
}

variable "db_password_version" {
  description = "Increment to generate a new database password (written to RDS and Secrets Manager together)."
  type        = number
  default     = 1
}

variable "msk_broker_instance_type" {
  description = "MSK broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "msk_broker_volume_size_gb" {
  description = "MSK storage per broker."
  type        = number
  default     = 500
}

variable "log_retention_days" {
  description = "CloudWatch retention for VPC flow logs, EKS and MSK logs."
  type        = number
  default     = 365
}

variable "grafana_password_version" {
  description = "Increment to generate a new Grafana admin password (then restart Grafana)."
  type        = number
  default     = 1
}
