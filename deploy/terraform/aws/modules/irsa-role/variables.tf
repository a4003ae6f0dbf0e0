variable "name" {
  description = "Role name."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The EKS cluster's IRSA OIDC provider ARN."
  type        = string
}

variable "oidc_issuer" {
  description = "OIDC issuer without https://."
  type        = string
}

variable "namespace" {
  description = "Namespace of the ServiceAccount."
  type        = string
}

variable "service_account" {
  description = "Name of the ServiceAccount."
  type        = string
}

variable "policy_json" {
  description = "The role's only (inline) policy."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
