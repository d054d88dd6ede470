"""The permission matrix, through the real token endpoint, on SQLite and on MariaDB.

Every actor x namespace kind x visibility x action, with the expected grant written out by
hand in EXPECTED (not computed by the code under test). An unowned namespace is one whose team
was deleted (a namespaces row with no team, and no user of its name): the team's former owner,
contributor and viewer are outsiders there; it is pulled per its visibility and pushed and
deleted by admins alone.
"""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator

import aiohttp
import pytest

from tests.support.processes import Gateway, Registry, mariadb_database

pytestmark = pytest.mark.slow  # several gateways or databases per test: run first (tests/conftest.py)

N: frozenset[str] = frozenset()
P = frozenset({"pull"})
PP = frozenset({"pull", "push"})
ALL = frozenset({"pull", "push", "delete"})
REFUSED = None  # the token endpoint refuses the login itself

ACTORS = ("anonymous", "outsider", "viewer", "contributor", "owner", "admin", "disabled", "app-token")
PASSWORD = "matrix-password-1"

# (kind, visibility) -> {actor: allowed actions}
EXPECTED: dict[tuple[str, str], dict[str, frozenset[str] | None]] = {
    ("team", "public"): {
        "anonymous": P, "outsider": P, "viewer": P, "contributor": PP, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("team", "protected"): {
        "anonymous": N, "outsider": P, "viewer": P, "contributor": PP, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("team", "private"): {
        "anonymous": N, "outsider": N, "viewer": P, "contributor": PP, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("personal", "public"): {
        "anonymous": P, "outsider": P, "viewer": P, "contributor": P, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("personal", "protected"): {
        "anonymous": N, "outsider": P, "viewer": P, "contributor": P, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("personal", "private"): {
        "anonymous": N, "outsider": N, "viewer": N, "contributor": N, "owner": ALL, "admin": ALL, "disabled": REFUSED, "app-token": PP,
    },
    ("unowned", "public"): {
        "anonymous": P, "outsider": P, "viewer": P, "contributor": P, "owner": P, "admin": ALL, "disabled": REFUSED, "app-token": P,
    },
    ("unowned", "protected"): {
        "anonymous": N, "outsider": P, "viewer": P, "contributor": P, "owner": P, "admin": ALL, "disabled": REFUSED, "app-token": P,
    },
    ("unowned", "private"): {
        "anonymous": N, "outsider": N, "viewer": N, "contributor": N, "owner": N, "admin": ALL, "disabled": REFUSED, "app-token": N,
    },
    ("global", "protected"): {
        "anonymous": N, "outsider": P, "viewer": P, "contributor": P, "owner": P, "admin": ALL, "disabled": REFUSED, "app-token": P,
    },
}
CELLS = [(kind, visibility, actor) for (kind, visibility), row in EXPECTED.items() for actor in ACTORS]


def repository_for(kind: str, visibility: str) -> str:
    if kind == "team":
        return f"crew-{visibility}/app"
    if kind == "personal":
        return f"p{visibility}/app"
    if kind == "unowned":
        return f"gone-{visibility}/app"
    return "globalapp"


def owner_for(kind: str, visibility: str) -> str:
    return f"p{visibility}" if kind == "personal" else "owner1"


@pytest.fixture(scope="module", params=["sqlite", "mariadb"])
def matrix_gateway(request: pytest.FixtureRequest, registry: Registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, dict[str, str]]]:
    """A gateway on the given store, populated through the CLI; yields it and the app-token secrets."""
    workdir = tmp_path_factory.mktemp(f"matrix-{request.param}")
    drop = None
    env = {"GATEWAY_LOGINS_MAX_FAILURES": "1000"}  # the disabled user fails often here; throttling has its own test
    if request.param == "mariadb":
        url, drop = mariadb_database()
        env["GATEWAY_DATABASE_URL"] = url
    gateway = Gateway(workdir, registry.url, env)
    for user in ("owner1", "contrib1", "viewer1", "outsider1", "disabled1", "ppublic", "pprotected", "pprivate"):
        gateway.add_user(user, PASSWORD)
    gateway.cli("user", "disable", "disabled1")
    for team in ("crew", "gone"):
        gateway.cli("team", "add", team)
        for user, role in (("owner1", "owner"), ("contrib1", "contributor"), ("viewer1", "viewer"), ("disabled1", "owner")):
            gateway.cli("team", "member", "add", team, user, "--role", role)
    for visibility in ("public", "protected", "private"):
        gateway.cli("namespace", "add", f"crew-{visibility}", "--team", "crew", "--visibility", visibility)
        gateway.cli("namespace", "add", f"gone-{visibility}", "--team", "gone", "--visibility", visibility)
        gateway.cli("namespace", "update", f"p{visibility}", "--visibility", visibility)
    secrets = {}
    for owner in ("owner1", "ppublic", "pprotected", "pprivate"):
        out = gateway.cli("token", "create", owner, "--name", "ci", "--actions", "pull,push").stdout
        secrets[owner] = out.split()[-1]
    gateway.start()
    _delete_team(gateway, "gone")  # its namespaces stay, unowned
    yield gateway, secrets
    gateway.stop()
    if drop is not None:
        drop()


def _delete_team(gateway: Gateway, team: str) -> None:
    request = urllib.request.Request(f"{gateway.url}/api/v1/teams/{team}", method="DELETE")
    request.add_header("Authorization", "Basic " + base64.b64encode(":".join(Gateway.ADMIN).encode()).decode())
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204
    with urllib.request.urlopen(urllib.request.Request(
        f"{gateway.url}/api/v1/namespaces/gone-public", headers={"Authorization": request.get_header("Authorization")}
    ), timeout=30) as response:
        assert json.loads(response.read())["team"] is None


def _credentials(actor: str, kind: str, visibility: str, secrets: dict[str, str]) -> tuple[str, str] | None:
    owner = owner_for(kind, visibility)
    return {
        "anonymous": None,
        "outsider": ("outsider1", PASSWORD),
        "viewer": ("viewer1", PASSWORD),
        "contributor": ("contrib1", PASSWORD),
        "owner": (owner, PASSWORD),
        "admin": Gateway.ADMIN,
        "disabled": ("disabled1", PASSWORD),
        "app-token": (owner, secrets[owner]),
    }[actor]


def _granted(token: str, repository: str) -> set[str]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return {a for entry in claims["access"] if entry["name"] == repository for a in entry["actions"]}


@pytest.mark.parametrize(("kind", "visibility", "actor"), CELLS, ids=[f"{k}-{v}-{a}" for k, v, a in CELLS])
async def test_grant_matches_the_matrix(matrix_gateway: tuple[Gateway, dict[str, str]], kind: str, visibility: str, actor: str) -> None:
    gateway, secrets = matrix_gateway
    repository = repository_for(kind, visibility)
    expected = EXPECTED[(kind, visibility)][actor]
    credentials = _credentials(actor, kind, visibility, secrets)
    headers = {"Authorization": aiohttp.encode_basic_auth(*credentials)} if credentials else {}
    async with aiohttp.ClientSession() as session:
        for action in ("pull", "push", "delete", "*"):
            params = {"service": gateway.host, "scope": f"repository:{repository}:{action}"}
            async with session.get(f"{gateway.url}/v2/token", params=params, headers=headers) as response:
                body = await response.json()
                if expected is REFUSED:
                    assert response.status == 401, body
                    continue
                assert response.status == 200, body
            granted = _granted(body["token"], repository)
            allowed = action in expected if action != "*" else ALL <= expected
            assert granted == ({action} if allowed else set()), f"{actor} {action} on {repository}"
