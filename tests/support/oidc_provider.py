"""A real OpenID provider for the tests: the `oidc-provider` npm package on Debian's node
(tests/support/oidc_provider.mjs), on a free loopback port, with one client and the accounts
of ACCOUNTS. Missing node or the package skips, and fails in CI."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

from tests.support.processes import REPO_ROOT, free_port, in_ci, require_tool, stop_process, wait_for_http

NODE_MODULES = REPO_ROOT / ".cache" / "node" / "node_modules"
SCRIPT = Path(__file__).resolve().with_name("oidc_provider.mjs")

# Logins of the provider's sign-in form (any password) -> the claims it vouches for; `sub` is
# the login. A `trick` makes its token endpoint forge the ID token (see oidc_provider.mjs).
ACCOUNTS: dict[str, dict[str, Any]] = {
    "sub-ann": {"preferred_username": "Ann", "name": "Ann Example", "groups": ["web-devs", "staff"], "email": "ann@example.org"},
    "sub-bob": {"preferred_username": "bob.builder", "groups": ["ops"], "email": "bob@example.org", "email_verified": False},
    "sub-takeover": {"preferred_username": "admin", "groups": []},
    "sub-bad-name": {"preferred_username": "not a name!", "groups": []},
    "sub-boss": {"preferred_username": "boss", "groups": ["gateway-admins"]},
    "sub-held": {"preferred_username": "held", "trick": "hold"},
    "sub-quiet": {"preferred_username": "quiet", "groups": ["web-devs"], "trick": "userinfo-only"},
    "sub-mallory-iss": {"preferred_username": "mallory-iss", "trick": "other-issuer"},
    "sub-mallory-key": {"preferred_username": "mallory-key", "trick": "other-key"},
}


def missing(what: str) -> None:
    message = f"{what} is missing (scripts/install-deps installs it)"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class OidcProvider:
    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    CLIENT: ClassVar[tuple[str, str]] = ("portus-gateway", "client-secret-of-the-tests")

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def gateway_env(self, **extra: str) -> dict[str, str]:
        """The settings of a gateway that signs in with this provider."""
        return {
            "GATEWAY_OIDC_ISSUER": self.issuer, "GATEWAY_OIDC_CLIENT_ID": self.CLIENT[0],
            "GATEWAY_OIDC_CLIENT_SECRET": self.CLIENT[1], "GATEWAY_OIDC_SCOPES": "openid profile email groups", **extra,
        }

    def start(self) -> OidcProvider:
        node = require_tool("node")
        if not (NODE_MODULES / "oidc-provider" / "package.json").is_file():
            missing(f"the oidc-provider npm package ({NODE_MODULES})")
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        accounts = self.workdir / "accounts.json"
        accounts.write_text(json.dumps(ACCOUNTS))
        env = {
            "PATH": "/usr/bin:/bin", "OIDC_MODULES": str(NODE_MODULES), "OIDC_PORT": str(self.port),
            "OIDC_ACCOUNTS": str(accounts), "OIDC_CLIENT": json.dumps({"client_id": self.CLIENT[0], "client_secret": self.CLIENT[1]}),
        }
        log = self.workdir / "provider.log"
        self.process = subprocess.Popen([node, str(SCRIPT)], stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env)
        wait_for_http(f"{self.issuer}/.well-known/openid-configuration", self.process, log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def provider_sign_in(page: Any, login: str) -> None:
    """Sign in on the provider's own (development) form, where any password is good."""
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button.login-submit")
