"""The /v2 surface: routes, access requirements, error bodies and the streaming proxy."""
