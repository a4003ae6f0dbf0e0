# Cluster add-ons installed with Helm, applied after ../aws. Needs the helm and kubernetes
# providers, which cannot be downloaded on an offline machine, so CI checks this module with
# `terraform fmt` and checkov only (scripts/check-deploy.sh).
terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.90.0, < 6.0.0"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 2.17"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 2.36"
    }
  }

  # Same bucket and lock table as ../aws, key agentic-pfm/ENV/helm.tfstate.
  backend "s3" {}
}
