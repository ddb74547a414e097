"""The adapters: DynamoDB (ledger, audit, idempotency), S3, SQS, Step Functions, metrics,
secrets and the Jumio HTTP client. The only code of the layer that imports boto3, botocore or
requests; each adapter turns its service's errors into the domain's answers."""
