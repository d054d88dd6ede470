"""The management rules, in one place: users, teams and members, namespaces, application tokens,
webhooks, reserved names and the audit log's queries.

Each operation takes the `Services` it works with and the acting `Actor`, enforces every rule
(who may, what is valid, what follows: revocations, personal namespaces, cascades), runs its
writes as one transaction, and raises the domain errors of `gateway.services.errors`, which know
nothing of HTTP. The API maps them to JSON errors, the CLI to one line and an exit code, the web
UI to a page: handlers parse, call and render.
"""
