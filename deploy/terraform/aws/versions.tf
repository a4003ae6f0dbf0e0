terraform {
  # 1.11: ephemeral resources and write-only attributes keep generated passwords out of the
  # state.
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.90.0, < 6.0.0"
    }
  }
}
