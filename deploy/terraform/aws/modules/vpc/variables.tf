variable "name" {
  description = "Name of the VPC and prefix of its resources."
  type        = string
}

variable "cidr" {
  description = "VPC CIDR (a /16); the Kubernetes NetworkPolicies of the overlay use the same value."
  type        = string
}

variable "availability_zones" {
  description = "Availability zones, one private and one public subnet each (the pipeline's topology spread and the three MSK brokers follow them)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "Use exactly three zones: MSK places one broker per zone and replication factor 3 needs three."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, for staging) instead of one per zone."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the flow logs."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "KMS key for the flow-log group."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
