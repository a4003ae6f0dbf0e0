# The values the Kubernetes overlay needs (deploy/k8s/overlays/ENV) and the helm root module.
output "cluster_name" {
  description = "EKS cluster (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "ecr_repository_url" {
  description = "Image repository (kustomize images newName)."
  value       = aws_ecr_repository.pipeline.repository_url
}

output "rds_address" {
  description = "pipeline-config DB_HOST."
  value       = module.rds.address
}

output "msk_bootstrap_brokers_sasl_scram" {
  description = "pipeline-config KAFKA_BOOTSTRAP_SERVERS."
  value       = module.msk.bootstrap_brokers_sasl_scram
}

output "lakehouse_bucket" {
  description = "pipeline-config S3_BUCKET."
  value       = module.lakehouse.id
}

output "pipeline_irsa_role_arn" {
  description = "ServiceAccount pipeline: eks.amazonaws.com/role-arn."
  value       = module.pipeline_irsa.arn
}

output "secrets_reader_irsa_role_arn" {
  description = "ServiceAccount external-secrets-reader: eks.amazonaws.com/role-arn."
  value       = module.secrets_reader_irsa.arn
}

output "vpc_cidr" {
  description = "NetworkPolicy ipBlock CIDR of the overlay."
  value       = module.vpc.vpc_cidr
}

output "secrets" {
  description = "Secrets Manager entries read by the ExternalSecret."
  value = {
    database = aws_secretsmanager_secret.database.name
    app      = aws_secretsmanager_secret.app.name
    kafka    = module.msk.scram_secret_name
  }
}

output "ecr_mirror_repository_urls" {
  description = "ECR mirrors of the third-party images (kustomize images newName in the overlays)."
  value       = { for k, r in aws_ecr_repository.mirror : k => r.repository_url }
}

output "cluster_autoscaler_irsa_role_arn" {
  description = "ServiceAccount kube-system/cluster-autoscaler (deploy/terraform/helm reads it by name)."
  value       = module.cluster_autoscaler_irsa.arn
}

output "monitoring_secrets_reader_irsa_role_arn" {
  description = "ServiceAccount monitoring/monitoring-secrets-reader (deploy/terraform/helm reads it by name)."
  value       = module.monitoring_secrets_reader_irsa.arn
}
