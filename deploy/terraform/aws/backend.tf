# Remote state in S3 with DynamoDB locking. The bucket and the table are created once per
# account by ../bootstrap. Per-environment settings are in environments/ENV.s3.tfbackend:
#   terraform init -backend-config=environments/production.s3.tfbackend
terraform {
  backend "s3" {}
}
