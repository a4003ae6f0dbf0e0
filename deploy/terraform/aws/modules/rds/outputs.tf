output "address" {
  description = "Host name (DB_HOST)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port (DB_PORT)."
  value       = aws_db_instance.this.port
}

output "db_name" {
  description = "Database name (DB_NAME)."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "User (DB_USER)."
  value       = aws_db_instance.this.username
}

output "security_group_id" {
  description = "Security group of the instance."
  value       = aws_security_group.this.id
}
