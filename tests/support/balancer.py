"""A real load balancer (Debian's haproxy) in front of several gateways, run with the compose
setup's own docker/haproxy.cfg: only its listening address and its servers become loopback ones."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import REPO_ROOT, free_port, require_tool, stop_process, wait_for_http

SHIPPED_CONFIG = REPO_ROOT / "docker" / "haproxy.cfg"


def haproxy_binary() -> str:
    """Debian installs haproxy in /usr/sbin, which is not on a normal user's PATH."""
    return shutil.which("haproxy", path=f"{os.environ.get('PATH', '')}:/usr/sbin") or require_tool("haproxy")


def loopback_config(text: str, port: int, servers: Sequence[tuple[str, int]]) -> str:
    """The shipped config listening on 127.0.0.1:`port`, balancing over (name, port) on loopback."""
    lines = text.splitlines()
    binds = [i for i, line in enumerate(lines) if line.strip().startswith("bind ")]
    shipped = [i for i, line in enumerate(lines) if line.strip().startswith("server ")]
    assert len(binds) == 1 and shipped, "docker/haproxy.cfg has one bind line and its server lines"
    lines[binds[0]] = f"    bind 127.0.0.1:{port}"
    ours = [f"    server {name} 127.0.0.1:{server_port}" for name, server_port in servers]
    lines[shipped[0] : shipped[-1] + 1] = ours
    return "\n".join(lines) + "\n"


@dataclass
class Balancer:
    """haproxy on a free loopback port; its log (one line a request, naming the server) in `log_path`."""

    workdir: Path
    servers: Sequence[tuple[str, int]]
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "haproxy.log"

    def start(self) -> Balancer:
        binary = haproxy_binary()
        self.port = self.port or free_port()
        self.workdir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "haproxy.cfg"
        config.write_text(loopback_config(SHIPPED_CONFIG.read_text(), self.port, self.servers))
        self.process = subprocess.Popen(
            [binary, "-db", "-f", str(config)], stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT
        )
        wait_for_http(f"{self.url}/healthz", self.process, self.log_path)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)

    def served_by(self) -> list[str]:
        """The server of each request in the log, in order (`-` for one no server answered)."""
        found = (re.search(r" gateways/(\S+) ", line) for line in self.log_path.read_text(errors="replace").splitlines())
        return [match.group(1) for match in found if match]
