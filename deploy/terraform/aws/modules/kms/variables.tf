variable "name_prefix" {
  description = "Prefix of key aliases, e.g. agentic-pfm-production."
  type        = string
}

variable "keys" {
  description = "Keys to create, by purpose."
  type = map(object({
    description     = string
    cloudwatch_logs = optional(bool, false)
  }))
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
