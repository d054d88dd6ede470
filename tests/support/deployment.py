"""Deployment pieces for the operations tests: an openssl certificate, an HTTPS gateway, and a
registry that verifies the gateway's tokens itself (the Portus way)."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.processes import (
    REPO_ROOT,
    Gateway,
    Registry,
    free_port,
    require_tool,
    wait_for,
)


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this (self-signed) certificate."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(directory: Path, name: str = "gateway", common_name: str = "localhost") -> Certificate:
    """An RSA key and self-signed certificate for localhost and 127.0.0.1, made with plain openssl
    as in a Portus setup; it serves both TLS and token signing."""
    openssl = require_tool("openssl")
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "30",
            "-keyout", str(key), "-out", str(cert), "-subj", f"/CN={common_name}",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True, capture_output=True, timeout=60,
    )
    return Certificate(cert, key)


def tls_env(certificate: Certificate) -> dict[str, str]:
    """Serve HTTPS and sign tokens with the same certificate and key."""
    return {
        "GATEWAY_TLS_CERT_FILE": str(certificate.cert), "GATEWAY_TLS_KEY_FILE": str(certificate.key),
        "GATEWAY_TOKEN_KEY_FILE": str(certificate.key), "GATEWAY_TOKEN_CERT_FILE": str(certificate.cert),
    }


@dataclass
class HttpsGateway(Gateway):
    """A gateway serving HTTPS with `certificate` (which also signs its tokens)."""

    certificate: Certificate | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        assert self.certificate is not None
        return {**super().environment(), **tls_env(self.certificate)}

    def start(self) -> HttpsGateway:
        assert self.certificate is not None
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"], stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
            env=self.environment(), cwd=REPO_ROOT,
        )
        context = self.certificate.client_context()

        def answers() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1, context=context):
                    return True
            except (OSError, urllib.error.URLError):
                return False

        wait_for(self.url, answers, self.process, self.log_path, 20.0)
        return self


@dataclass
class TokenAuthRegistry(Registry):
    """distribution 2.8 verifying the gateway's tokens, configured as Portus configures it:
    REGISTRY_AUTH_TOKEN_REALM/_SERVICE/_ISSUER/_ROOTCERTBUNDLE in the environment."""

    realm: str = ""
    service: str = ""
    issuer: str = "portus-gateway"
    rootcertbundle: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def config_text(self) -> str:
        return super().config_text().replace("level: warn", "level: info")

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "REGISTRY_AUTH_TOKEN_REALM": self.realm,
            "REGISTRY_AUTH_TOKEN_SERVICE": self.service,
            "REGISTRY_AUTH_TOKEN_ISSUER": self.issuer,
            "REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE": str(self.rootcertbundle),
            **self.env,
        }

    def wait_until_serving(self, log: Path) -> None:
        """Until /v2/ asks for a Bearer token: answering without one means auth is not configured."""
        def answers() -> bool:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1).close()
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and "Bearer" in exc.headers.get("WWW-Authenticate", ""):
                    return True
                raise RuntimeError(f"unexpected answer {exc.code} from the registry") from None
            except OSError:
                return False
            raise RuntimeError("the registry answered /v2/ without asking for a token: auth is not configured")

        assert self.process is not None
        wait_for(self.url, answers, self.process, log, 20.0)

    def start(self) -> TokenAuthRegistry:
        super().start()
        return self

    def log_text(self) -> str:
        return (self.workdir / "registry.log").read_text(errors="replace")
