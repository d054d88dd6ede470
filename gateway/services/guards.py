"""The refusals every service shares, worded once: a name that breaks its grammar (`Invalid`),
and the predicates of gateway.auth.permissions turned into `Forbidden` with a message that says who may."""

from __future__ import annotations

from gateway import names
from gateway.auth.permissions import Actor, may_manage_user
from gateway.services.errors import Forbidden, Invalid


def require_admin(actor: Actor, action: str) -> None:
    if actor.admin:
        return
    if actor.via_app_token:
        raise Forbidden(f"only admins may {action}, and application tokens may only read their own user's resources")
    raise Forbidden(f"only admins may {action}")


def require_self_or_admin(actor: Actor, username: str, action: str) -> None:
    if may_manage_user(actor, username):
        return
    if actor.via_app_token:
        raise Forbidden(f"application tokens may only read their own user ({actor.name!r}), so may not {action}")
    raise Forbidden(f"only {username!r} themself or an admin may {action}")


def valid_name(grammar: names.Grammar, name: str) -> str:
    """`name`, or raise Invalid with the grammar's message."""
    if (problem := grammar.problem(name)) is not None:
        raise Invalid(problem)
    return name


def search_text(text: str) -> str:
    """What a search over names looks for: names are lowercase, so the text is too; no longer
    than a name can be. Every character is literal (see gateway.store.sql.like_literal)."""
    if len(text) > names.MAX_NAME_LENGTH:
        raise Invalid(f"search for at most {names.MAX_NAME_LENGTH} characters")
    return text.lower()
