variable "name" {
  description = "Globally unique bucket name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS; null selects SSE-S3 (required for an access-log target bucket)."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs; null disables logging."
  type        = string
  default     = null
}

variable "accept_access_logs_from_account" {
  description = "Account id whose S3 server access logs this bucket accepts (set on the log bucket)."
  type        = string
  default     = null
}

variable "transition_to_ia_days" {
  description = "Days before objects move to STANDARD_IA."
  type        = number
  default     = 90
}

variable "transition_to_glacier_ir_days" {
  description = "Days before objects move to GLACIER_IR."
  type        = number
  default     = 365
}

variable "expiration_days" {
  description = "Days before current objects expire; null keeps them (regulatory retention)."
  type        = number
  default     = null
}

variable "noncurrent_version_expiration_days" {
  description = "Days before overwritten or deleted object versions expire."
  type        = number
  default     = 90
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
