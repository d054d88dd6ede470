"""Identities from outside the gateway: OpenID Connect providers (and LDAP directories)."""
