"""A throw-away MariaDB server of the soak's own (mariadbd on a temporary data directory and a free
loopback port, as scripts/test-mariadb starts one), so the soak can restart it without touching
the machine's shared server."""

from __future__ import annotations

import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import free_port

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class OwnMariaDB:
    """One mariadbd; `restart()` stops it (SIGTERM, as a service manager would) and starts it again
    on the same data directory and port."""

    workdir: Path
    port: int = 0
    password: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def datadir(self) -> Path:
        return self.workdir / "data"

    def url(self, database: str) -> str:
        return f"mysql://root:{self.password}@127.0.0.1:{self.port}/{database}"

    def install(self) -> OwnMariaDB:
        for tool in ("mariadbd", "mariadb-install-db"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is not installed (apt-get install mariadb-server-core mariadb-client-core)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        user = _user()
        result = subprocess.run(
            ["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}", f"--user={user}", "--skip-test-db",
             "--auth-root-authentication-method=normal"],
            capture_output=True, text=True, timeout=START_TIMEOUT,
        )
        if result.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
        self.start()
        self._secure()
        return self

    def start(self) -> None:
        log = (self.workdir / "stderr.log").open("ab")
        self.process = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--user={_user()}", f"--datadir={self.datadir}", "--bind-address=127.0.0.1",
             f"--port={self.port}", f"--socket={self.workdir / 'mariadb.sock'}", f"--pid-file={self.workdir / 'mariadb.pid'}",
             f"--log-error={self.workdir / 'error.log'}", "--character-set-server=utf8mb4",
             "--collation-server=utf8mb4_general_ci", "--skip-log-bin", "--max-connections=500"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"own MariaDB did not start: {self.error_log()[-2000:]}")
            time.sleep(0.05)

    def _secure(self) -> None:
        """Other local users can reach a loopback port: root gets a password only this run knows."""
        import pymysql

        self.password = secrets.token_hex(16)
        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute("SELECT host FROM mysql.user WHERE user = 'root'")
            for (host,) in cursor.fetchall():
                cursor.execute("ALTER USER 'root'@%s IDENTIFIED BY %s", (host, self.password))
        connection.close()

    def create_database(self, name: str) -> None:
        import pymysql

        connection = pymysql.connect(host="127.0.0.1", port=self.port, user="root", password=self.password, autocommit=True)
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        connection.close()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def error_log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def _user() -> str:
    import getpass

    return getpass.getuser()
