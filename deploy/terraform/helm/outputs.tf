output "monitoring_namespace" {
  description = "Namespace of Prometheus, Grafana and prometheus-adapter (the pipeline's NetworkPolicy admits scrapes from it)."
  value       = kubernetes_namespace.monitoring.metadata[0].name
}
