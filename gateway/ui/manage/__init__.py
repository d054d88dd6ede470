"""The management pages of the web UI: application tokens, teams (members, namespaces), users
(admins) and the audit log. Each handler parses the form or query, calls gateway.services with
the signed-in actor and renders; every rule stays in the services."""
