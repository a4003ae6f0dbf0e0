# terraform -chdir=deploy/terraform/aws plan -var-file=environments/staging.tfvars
environment        = "staging"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
vpc_cidr           = "10.10.0.0/16"
single_nat_gateway = true

node_instance_types = ["m6i.large"]
node_min_size       = 2
node_max_size       = 5

db_instance_class      = "db.t4g.medium"
db_multi_az            = false
db_deletion_protection = false

msk_broker_instance_type  = "kafka.t3.small"
msk_broker_volume_size_gb = 100

log_retention_days = 365

extra_tags = {
  Criticality = "low"
}
