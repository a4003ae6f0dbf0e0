# terraform -chdir=deploy/terraform/aws plan -var-file=environments/production.tfvars
environment        = "production"
region             = "us-east-1"
availability_zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
vpc_cidr           = "10.20.0.0/16"
single_nat_gateway = false

node_instance_types = ["m6i.large"]
node_min_size       = 2
node_max_size       = 10

db_instance_class      = "db.m6g.large"
db_multi_az            = true
db_deletion_protection = true

msk_broker_instance_type  = "kafka.m7g.large"
msk_broker_volume_size_gb = 500

log_retention_days = 400

extra_tags = {
  Criticality = "high"
}
