"""Directory groups -> team roles and admin rights, the same for every directory.

A directory (LDAP, OpenID Connect) is configured with `admin_group` (its members are admins)
and `team_groups`, a map from team name to the group whose members join it, with a role
(default viewer, per team overridable). `parse_team_groups` reads that map from TOML or from
the JSON of an environment variable; `plan_groups` turns one user's groups into what their
memberships should be. Both are pure: gateway.services.directory applies a plan to the store.

Group identifiers are compared through a `same` function of the directory's choosing: LDAP
DNs are case-insensitive and tolerate spaces (gateway.identity.ldap.normalize_dn), OpenID
group claims are compared exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway import names, safe_json
from gateway.auth.policy import ROLES

DEFAULT_ROLE = "viewer"
MAX_GROUP_LENGTH = 1024
MAX_MAPPINGS = 1000
# Higher wins when a user is in several groups mapped to one team.
_RANK = {role: len(ROLES) - index for index, role in enumerate(ROLES)}


@dataclass(frozen=True)
class TeamGroup:
    """Members of `group` are members of `team` with `role`."""

    team: str
    group: str
    role: str = DEFAULT_ROLE


@dataclass(frozen=True)
class GroupMapping:
    """What a directory's groups mean here. `admin_group` None: admin rights are not the
    directory's to give or take (set by hand)."""

    team_groups: tuple[TeamGroup, ...] = ()
    admin_group: str | None = None


@dataclass(frozen=True)
class GroupPlan:
    """What one user's memberships should be: `roles` team -> role for every mapped team they
    belong to; `admin` their admin flag, or None to leave it as it is."""

    roles: Mapping[str, str] = field(default_factory=dict)
    admin: bool | None = None


def _exact(group: str) -> str:
    return group


def plan_groups(groups: Iterable[str], mapping: GroupMapping, same: Callable[[str], str] = _exact) -> GroupPlan:
    """The memberships `groups` give under `mapping`; several groups for one team give the
    highest of their roles."""
    held = {same(group) for group in groups}
    roles: dict[str, str] = {}
    for entry in mapping.team_groups:
        if same(entry.group) not in held:
            continue
        current = roles.get(entry.team)
        if current is None or _RANK[entry.role] > _RANK[current]:
            roles[entry.team] = entry.role
    admin = None if mapping.admin_group is None else same(mapping.admin_group) in held
    return GroupPlan(roles, admin)


def _group(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: expected a group name, got {value!r}")
    if len(value) > MAX_GROUP_LENGTH:
        raise ValueError(f"{where}: a group name of at most {MAX_GROUP_LENGTH} characters")
    return value.strip()


def _entries(team: str, value: Any, default_role: str) -> list[TeamGroup]:
    """One team's groups: a group name, a table {group, role}, or a list of either."""
    where = f"team {team!r}"
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{where}: an empty list of groups")
        if any(isinstance(item, list) for item in value):
            raise ValueError(f"{where}: a list of groups may not hold lists")
        return [entry for item in value for entry in _entries(team, item, default_role)]
    if isinstance(value, Mapping):
        unknown = set(value) - {"group", "role"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {', '.join(sorted(map(str, unknown)))} (expected group and role)")
        role = value.get("role", default_role)
        if role not in ROLES:
            raise ValueError(f"{where}: role must be one of {', '.join(ROLES)}, got {role!r}")
        return [TeamGroup(team, _group(value.get("group"), where), role)]
    return [TeamGroup(team, _group(value, where), default_role)]


def parse_team_groups(value: Any, default_role: str = DEFAULT_ROLE) -> tuple[TeamGroup, ...]:
    """`{"web" = "cn=web,ou=groups,dc=example,dc=org", "ops" = {group = "...", role = "owner"}}`
    (a TOML table, or the same as a JSON object in an environment variable; a team may also
    take a list of groups). Raises ValueError with the problem, for the caller to name the key."""
    if default_role not in ROLES:
        raise ValueError(f"the default role must be one of {', '.join(ROLES)}, got {default_role!r}")
    if isinstance(value, str):
        if not value.strip():
            return ()
        try:
            value = safe_json.loads(value)
        except ValueError as exc:
            raise ValueError(f"expected a JSON object of team names to groups ({exc})") from None
    if not isinstance(value, Mapping):
        raise ValueError("expected a table of team names to groups")
    mappings: list[TeamGroup] = []
    for team, groups in value.items():
        if not isinstance(team, str) or (problem := names.TEAM.problem(team)) is not None:
            raise ValueError(f"team {team!r}: {problem or 'must be a string'}")
        mappings.extend(_entries(team, groups, default_role))
        if len(mappings) > MAX_MAPPINGS:
            raise ValueError(f"at most {MAX_MAPPINGS} group mappings")
    return tuple(mappings)
