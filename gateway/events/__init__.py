"""What passes through the gateway: an audit log of events, the repository index and webhooks."""
