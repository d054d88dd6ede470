"""Who may manage what: the predicates the management rules share (beside `policy`, which says
who may pull, push and delete in the registry).

Pure functions of the acting `Actor` and what the caller looked up (a role, a visibility);
gateway.services asks them and words the refusal.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.policy import Identity
from gateway.names import could_be_a_user


@dataclass(frozen=True)
class Actor:
    """Whoever asks for a management operation. `admin` is the effective right: an application
    token is never admin, whoever holds it (it was made to narrow rights, never to manage)."""

    name: str
    admin: bool = False
    via_app_token: bool = False

    @classmethod
    def of(cls, identity: Identity) -> Actor:
        via_token = identity.limits is not None
        return cls(identity.name, identity.admin and not via_token, via_token)


# A visitor who is not signed in (the web UI's anonymous browsing): public namespaces only.
ANONYMOUS_ACTOR = Actor("")

# The command line: whoever can run it holds the database, so it acts as an admin.
OPERATOR = Actor("(command line)", admin=True)

# A maintenance run started by its schedule (gc.schedule, retention.schedule).
SCHEDULER = Actor("(schedule)", admin=True)


def may_manage_user(actor: Actor, username: str) -> bool:
    """Read, re-password, delete a user and their application tokens: themself or an admin."""
    return actor.admin or actor.name == username


def may_read_team(actor: Actor, role: str | None) -> bool:
    """`role`: the actor's role in the team, None when not a member."""
    return actor.admin or role is not None


def may_manage_team(actor: Actor, role: str | None) -> bool:
    """Delete the team, add and remove members, create or move namespaces into it."""
    return actor.admin or role == "owner"


def may_see_namespace(actor: Actor, name: str, visibility: str, role: str | None) -> bool:
    """Whether a namespace shows at all: public and protected ones to every signed-in user,
    private ones to their user, their team's members (`role`) and admins; to a visitor who is
    not signed in, public ones only."""
    if actor.name == "":
        return visibility == "public"
    return actor.admin or visibility != "private" or name == actor.name or role is not None


def may_manage_namespace(actor: Actor, name: str, team: str | None, personal: bool, role: str | None) -> bool:
    """A team namespace: its team's owners; a personal one: its user; one of no one: admins."""
    if team is not None:
        return may_manage_team(actor, role)
    if personal:
        return may_manage_user(actor, name)
    return actor.admin


def may_name_namespace(actor: Actor, name: str) -> bool:
    """A namespace whose name a user could have only an admin creates (see `could_be_a_user`)."""
    return actor.admin or name == actor.name or not could_be_a_user(name)
