environment  = "staging"
region       = "us-east-1"
cluster_name = "agentic-pfm-staging"
enable_keda  = false
