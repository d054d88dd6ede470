"""Namespace names cannot be probed through /v2: a caller who could not create a namespace gets
the same answer whether it does not exist or exists but is hidden from them (the 401 challenge);
the clear "does not exist" stays for users signed in with their password, who could learn it by
creating the namespace anyway."""

from __future__ import annotations

import secrets

import aiohttp

from tests.support.client import USERS, fetch_token
from tests.support.processes import Gateway

MANIFEST = {"Accept": "application/vnd.oci.image.manifest.v1+json"}


async def _answer(
    session: aiohttp.ClientSession, gateway: Gateway, method: str, path: str, token: str | None
) -> tuple[int, str, str, str]:
    """(status, error code, WWW-Authenticate, message) with the probed name taken out, to compare two names."""
    name = path.split("/")[2]
    headers = {**MANIFEST, **({"Authorization": f"Bearer {token}"} if token else {})}
    async with session.request(method, f"{gateway.url}{path}", headers=headers) as response:
        error = (await response.json())["errors"][0]
        challenge = response.headers.get("WWW-Authenticate", "").replace(name, "NAME")
        return response.status, error["code"], challenge, error["message"].replace(name, "NAME")


async def _token(session: aiohttp.ClientSession, gateway: Gateway, user: str | None, password: str | None, *names: str) -> str:
    scopes = [f"repository:{n}/app:pull,push" for n in names]
    return str((await fetch_token(session, gateway.url, gateway.host, user, password, *scopes))["token"])


async def test_a_missing_and_a_hidden_namespace_answer_alike_to_whoever_could_not_create_it(gateway: Gateway) -> None:
    missing = f"nosuchuser{secrets.token_hex(4)}"
    hidden = "bob"  # bob's personal namespace: private
    app_secret = gateway.cli("token", "create", "alice", "--name", f"probe{secrets.token_hex(3)}", "--namespace", "alice",
                             "--actions", "pull,push").stdout.split()[-1]
    async with aiohttp.ClientSession() as session:
        callers = {
            "no token": None,
            "anonymous token": await _token(session, gateway, None, None, missing, hidden),
            "application token": await _token(session, gateway, "alice", app_secret, missing, hidden),
        }
        for who, token in callers.items():
            for method, path in (("GET", "/v2/{}/app/manifests/latest"), ("GET", "/v2/{}/app/tags/list"),
                                 ("POST", "/v2/{}/app/blobs/uploads/")):
                seen_missing = await _answer(session, gateway, method, path.format(missing), token)
                seen_hidden = await _answer(session, gateway, method, path.format(hidden), token)
                assert seen_missing == seen_hidden, (who, method, path, seen_missing, seen_hidden)
                assert seen_missing[0] == 401 and seen_missing[1] == "UNAUTHORIZED", (who, method, path, seen_missing)

        for user, password in ((None, None), ("alice", app_secret)):  # the token endpoint: no difference either
            grants = [
                (await fetch_token(session, gateway.url, gateway.host, user, password, f"repository:{n}/app:pull"))["scope"]
                for n in (missing, hidden)
            ]
            assert grants == ["", ""], (user, grants)

        # A name a user could have only admins create: to alice a missing one and bob's hidden one
        # answer alike, clearly but without telling which...
        signed_in = await _token(session, gateway, "alice", USERS["alice"], missing, hidden)
        for method, path, expected in (("GET", "/v2/{}/app/manifests/latest", (404, "NAME_UNKNOWN")),
                                       ("POST", "/v2/{}/app/blobs/uploads/", (403, "DENIED"))):
            seen_missing = await _answer(session, gateway, method, path.format(missing), signed_in)
            seen_hidden = await _answer(session, gateway, method, path.format(hidden), signed_in)
            assert seen_missing[:2] == expected and seen_hidden[:2] == expected, (method, seen_missing, seen_hidden)
            assert seen_missing == seen_hidden and "not yours" in seen_missing[3], (seen_missing, seen_hidden)
        # ...but a team namespace name she could create herself is no secret to her.
        team_name = f"no--such{secrets.token_hex(4)}"
        signed_in = await _token(session, gateway, "alice", USERS["alice"], team_name)
        status, code, _, _ = await _answer(session, gateway, "GET", f"/v2/{team_name}/app/manifests/latest", signed_in)
        assert (status, code) == (404, "NAME_UNKNOWN"), "a user who could create it is told it does not exist"
