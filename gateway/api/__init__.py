"""The management REST API v1: users, teams, namespaces, application tokens and repositories."""

from __future__ import annotations

from gateway.api.app import create_api_app, setup_api

__all__ = ["create_api_app", "setup_api"]
