"""Real processes for tests: the upstream registry (distribution 2.8) and the gateway itself."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from yarl import URL

REPO_ROOT = Path(__file__).resolve().parents[2]


NOT_SET_WORDS = frozenset({"", "0", "false", "no", "off"})


def truthy(value: str | None) -> bool:
    """Whether an environment flag is on. CI systems spell it `true`, `1`, `yes` or their own name
    (Woodpecker: `woodpecker`), so everything but an explicit no counts, in any case."""
    return value is not None and value.strip().lower() not in NOT_SET_WORDS


def in_ci() -> bool:
    """In CI a missing component fails the run instead of skipping tests (see tests/support/ci_gate.py)."""
    return truthy(os.environ.get("CI"))


def require_tool(name: str) -> str:
    """The path of a real tool; in CI its absence fails the test instead of skipping it."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/install-deps installs it)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, answers: Callable[[], bool], process: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Until `answers()`; fails at once with the log's tail when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} process exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        if answers():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer within {timeout}s:\n{log.read_text(errors='replace')[-3000:]}")


def wait_for_http(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    wait_for(url, answers, process, log, timeout)


def wait_for_unix_http(path: Path, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    """Until an HTTP server answers on the Unix socket `path`."""
    def answers() -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1)
                sock.connect(str(path))
                sock.sendall(b"GET /v2/ HTTP/1.0\r\n\r\n")
                return sock.recv(16).startswith(b"HTTP/")
        except OSError:
            return False

    wait_for(str(path), answers, process, log, timeout)


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


REGISTRY_CONFIG = """\
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  {listen}
  secret: portus-gateway-tests
health:
  storagedriver:
    enabled: false
"""


@dataclass
class Registry:
    """A real `docker-registry` (CNCF distribution 2.8) on a free loopback port, or on a Unix
    socket (`socket`); `root` lets a second registry serve the storage of another."""

    workdir: Path
    port: int = 0
    socket: Path | None = None
    root: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def store(self) -> Path:
        return self.root or self.workdir / "store"

    @property
    def config_path(self) -> Path:
        """Its configuration file (written by `start`), as `garbage-collect` takes it."""
        return self.workdir / "registry.yml"

    def config_text(self) -> str:
        listen = f"addr: 127.0.0.1:{self.port}" if self.socket is None else f"net: unix\n  addr: {self.socket}"
        return REGISTRY_CONFIG.format(root=self.store, listen=listen)

    def environment(self) -> dict[str, str] | None:
        """The registry's environment (None: this process's)."""
        return None

    def wait_until_serving(self, log: Path) -> None:
        assert self.process is not None
        if self.socket is None:
            wait_for_http(f"{self.url}/v2/", self.process, log)
        else:
            wait_for_unix_http(self.socket, self.process, log)

    def start(self) -> Registry:
        binary = require_tool("docker-registry")
        if self.socket is None:
            self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.config_path
        config.write_text(self.config_text())
        log = self.workdir / "registry.log"
        self.process = subprocess.Popen(
            [binary, "serve", str(config)], stdout=log.open("ab"), stderr=subprocess.STDOUT, env=self.environment()
        )
        self.wait_until_serving(log)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


@dataclass
class Gateway:
    """The gateway as operators run it: `python -m gateway serve`, configured by environment."""

    workdir: Path
    upstream_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    ADMIN = ("admin", "admin-secret-pw")
    # The suite makes hundreds of users: scrypt at N=2^14 (the cost before OWASP's 2^17) keeps it
    # as fast as it was. Webhook receivers of the tests listen on 127.0.0.1. Tests that check the
    # production defaults override both.
    TEST_DEFAULTS: ClassVar[dict[str, str]] = {"GATEWAY_AUTH_PASSWORD_COST": "14", "GATEWAY_WEBHOOK_DELIVERY_ALLOW_PRIVATE_TARGETS": "true"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "gateway.log"

    def environment(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
        base.update(self.TEST_DEFAULTS)
        base.update(
            {
                "GATEWAY_LISTEN": f"127.0.0.1:{self.port}",
                "GATEWAY_UPSTREAM_URL": self.upstream_url,
                "GATEWAY_DATA_DIR": str(self.workdir / "data"),
                "GATEWAY_ADMIN_USERNAME": self.ADMIN[0],
                "GATEWAY_ADMIN_PASSWORD": self.ADMIN[1],
                "PYTHONPATH": str(REPO_ROOT),
            }
        )
        base.update(self.env)
        return base

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", *args], input=stdin, capture_output=True, text=True,
            env=self.environment(), cwd=REPO_ROOT, timeout=60,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"portus-gateway {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result

    def add_user(self, name: str, password: str, *, admin: bool = False) -> None:
        self.cli("user", "add", name, *(["--admin"] if admin else []), "--password-stdin", stdin=password + "\n")

    def start(self) -> Gateway:
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway", "serve"], stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
            env=self.environment(), cwd=REPO_ROOT,
        )
        wait_for_http(f"{self.url}/healthz", self.process, self.log_path)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is not None:
            stop_process(self.process, sig)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


DEFAULT_MARIADB_URL = "mysql://root@127.0.0.1:3306"


@dataclass(frozen=True)
class MariaDBServer:
    """Where the tests' MariaDB answers: `TEST_MARIADB_URL` (`mysql://user[:password]@host:port`),
    by default root without a password on 127.0.0.1:3306. scripts/test sets it when it starts a
    throw-away server of its own."""

    host: str
    port: int
    user: str
    password: str

    @classmethod
    def from_environment(cls) -> MariaDBServer:
        return cls.parse(os.environ.get("TEST_MARIADB_URL", "").strip() or DEFAULT_MARIADB_URL, "TEST_MARIADB_URL")

    @classmethod
    def parse(cls, raw: str, source: str) -> MariaDBServer:
        """`mysql://user[:password]@host:port`; `source` names where it came from in the error."""
        url = URL(raw)
        if url.scheme != "mysql" or not url.host or url.path not in ("", "/"):
            raise ValueError(f"{source} must look like mysql://user[:password]@host:port (a server, no database)")
        return cls(url.host, url.port or 3306, url.user or "root", url.password or "")

    def connect(self, **options: object) -> Any:
        """A pymysql connection as this server's (administrative) user."""
        import pymysql

        return pymysql.connect(host=self.host, port=self.port, user=self.user, password=self.password, **options)

    def url(self, database: str, *, user: str | None = None, password: str | None = None) -> str:
        """The gateway's `GATEWAY_DATABASE_URL` for `database`, as the admin user or as `user`."""
        login = URL.build(
            scheme="mysql", host=self.host, port=self.port, path=f"/{database}",
            user=user or self.user, password=(password if user else self.password) or None,
        )
        return str(login)


def mariadb_database(prefix: str = "portus_test") -> tuple[str, Callable[[], None]]:
    """A throw-away database on the tests' MariaDB (`MariaDBServer`): (URL, drop). Skips when no
    MariaDB answers, and fails in CI."""
    import secrets

    import pymysql

    server = MariaDBServer.from_environment()
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        connection = server.connect(connect_timeout=5)
    except pymysql.err.OperationalError as exc:
        message = f"MariaDB is not reachable at {server.host}:{server.port} (TEST_MARIADB_URL; scripts/test starts one): {exc}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    connection.close()

    def drop() -> None:
        conn = server.connect(connect_timeout=5)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()

    return server.url(name), drop
