"""What every Lambda handler in functions/ shares: settings read once per cold start, the
Powertools decorator stack, and the SQS batch loop with its one way to park an invalid message.
Handlers stay thin: parse, call a service, shape the answer."""
