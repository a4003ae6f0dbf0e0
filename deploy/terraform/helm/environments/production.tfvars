environment  = "production"
region       = "us-east-1"
cluster_name = "agentic-pfm-production"
enable_keda  = false
