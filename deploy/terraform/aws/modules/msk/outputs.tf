output "bootstrap_brokers_sasl_scram" {
  description = "KAFKA_BOOTSTRAP_SERVERS (port 9096, SASL/SCRAM over TLS)."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_scram
}

output "cluster_arn" {
  description = "MSK cluster ARN."
  value       = aws_msk_cluster.this.arn
}

output "scram_secret_arn" {
  description = "Secrets Manager ARN of the SCRAM credentials."
  value       = aws_secretsmanager_secret.scram.arn
}

output "scram_secret_name" {
  description = "Secrets Manager name of the SCRAM credentials."
  value       = aws_secretsmanager_secret.scram.name
}
