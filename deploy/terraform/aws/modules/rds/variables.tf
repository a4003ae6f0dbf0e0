variable "name" {
  description = "Instance identifier and prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the DB subnet group."
  type        = list(string)
}

variable "allowed_security_group_id" {
  description = "Security group allowed to connect on 5432 (the EKS cluster security group)."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version only: minor upgrades are automatic (auto_minor_version_upgrade), so a pinned minor such as 15.12 would drift and make the next apply attempt a downgrade."
  type        = string
  default     = "15"

  validation {
    condition     = var.engine_version == "15"
    error_message = "The pipeline is built and tested against PostgreSQL 15."
  }
}

variable "instance_class" {
  description = "Instance class."
  type        = string
  default     = "db.m6g.large"
}

variable "allocated_storage_gb" {
  description = "Initial storage."
  type        = number
  default     = 100
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 1000
}

variable "db_name" {
  description = "Database name (DB_NAME)."
  type        = string
  default     = "pipeline"
}

variable "username" {
  description = "Master user name (DB_USER)."
  type        = string
  default     = "pipeline"
}

variable "password" {
  description = "Master password; ephemeral, write-only."
  type        = string
  sensitive   = true
  ephemeral   = true
}

variable "password_version" {
  description = "Increment to write a new password."
  type        = number
  default     = 1
}

variable "multi_az" {
  description = "Standby in a second zone (production)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse deletion (production)."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key for storage and Performance Insights."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
