provider "aws" {
  region = var.region

  # Every taggable resource gets these tags (modules add Name and purpose tags on top).
  default_tags {
    tags = local.tags
  }
}
