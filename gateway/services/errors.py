"""What a refused operation raises: the kind of refusal and a message fit to show the actor.

Messages name no secret. The kinds map one to one to the API's 400/403/404/409/503, the CLI's
exit status 1 and the web UI's error page.
"""

from __future__ import annotations


class ServiceError(Exception):
    """A refused operation; `message` is shown to whoever asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(ServiceError):
    """The input breaks a rule (a name's grammar, a password's length, nothing to change)."""


class Forbidden(ServiceError):
    """The actor may see the thing but not do this to it."""


class NotFound(ServiceError):
    """No such thing, or one the actor may not see (the same answer, so names cannot be probed)."""


class Conflict(ServiceError):
    """The thing exists already, the name is taken or reserved, or its state forbids the change."""


class Unavailable(ServiceError):
    """Something the operation needs (the registry, say) did not answer; trying later may work."""
