variable "name" {
  description = "Cluster name and prefix."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the brokers."
  type        = string
}

variable "subnet_ids" {
  description = "One private subnet per broker (three zones)."
  type        = list(string)
}

variable "allowed_security_group_id" {
  description = "Security group allowed to reach the brokers (the EKS cluster security group)."
  type        = string
}

variable "kafka_version" {
  description = "Apache Kafka version of the MSK cluster (3.9.x: the last 3.x line, KRaft, patch versions applied by MSK; docs/deploy.md, \"Versions\")."
  type        = string
  default     = "3.9.x"
}

variable "broker_instance_type" {
  description = "Broker instance type."
  type        = string
  default     = "kafka.m7g.large"
}

variable "broker_volume_size_gb" {
  description = "EBS storage per broker."
  type        = number
  default     = 500
}

variable "default_partitions" {
  description = "Broker default for num.partitions (topics are created explicitly by the bootstrap Job with pipeline-config's KAFKA_TOPIC_PARTITIONS)."
  type        = number
  default     = 12
}

variable "retention_hours" {
  description = "Default topic retention; must exceed the longest outage the pipeline should recover from by replay."
  type        = number
  default     = 168
}

variable "kms_key_arn" {
  description = "KMS key for data at rest."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "Customer-managed KMS key for the SCRAM secret (MSK rejects the AWS-managed key)."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key for the broker log group."
  type        = string
}

variable "log_retention_days" {
  description = "Broker log retention."
  type        = number
  default     = 365
}

variable "scram_username" {
  description = "SASL/SCRAM user of the pipeline."
  type        = string
  default     = "agentic-pipeline"
}

variable "scram_password_version" {
  description = "Increment to generate and write a new SCRAM password."
  type        = number
  default     = 1
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
