"""portus-gateway: token service, access control and streaming proxy in front of a registry."""

__version__ = "0.1.0"
