"""The web UI: server-rendered pages (Jinja2) over the same service layer as /api/v1 and the
CLI, with sessions in the store and every form protected against cross-site requests.
It imports gateway.services and gateway.auth, never gateway.api."""
