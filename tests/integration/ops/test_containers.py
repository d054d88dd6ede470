"""The container files, checked without a Docker engine: compose.yml's shape, the Dockerfile's
user and HEALTHCHECK (its command run against real gateways), conf/registry.yml served by the
real registry, and `config show` for the operations settings."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.auth.keyfiles import write_key_pair
from gateway.auth.sealing import load_or_create_sealer
from gateway.config import OPTIONS
from tests.integration.ops.helpers import get
from tests.support.client import USERS
from tests.support.deployment import HttpsGateway, make_certificate
from tests.support.processes import (
    REPO_ROOT,
    Gateway,
    Registry,
    free_port,
    require_tool,
    stop_process,
    wait_for_http,
)

DOCKER = REPO_ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((DOCKER / "compose.yml").read_text()))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (DOCKER / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def healthcheck_command() -> list[str]:
    (arguments,) = [args for instruction, args in dockerfile_instructions() if instruction == "HEALTHCHECK"]
    return list(json.loads(arguments[arguments.index("CMD ") + 4:]))


GATEWAYS = ("gateway", "gateway-2")


def test_compose_has_two_gateways_a_balancer_the_registry_and_mariadb(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"balancer", *GATEWAYS, "keys", "registry", "mariadb"}
    assert services["balancer"]["image"].startswith("haproxy:2.8")
    assert services["registry"]["image"].startswith("registry:2")
    assert services["mariadb"]["image"].startswith("mariadb:")
    for name in (*GATEWAYS, "keys"):
        assert services[name]["image"] == "portus-gateway:latest"
        assert services[name]["build"]["dockerfile"] == "docker/Dockerfile"
        assert (DOCKER / services[name]["build"]["context"] / "docker" / "Dockerfile").is_file()


def test_only_the_balancer_publishes_a_port_and_only_gateways_reach_the_private_network(compose: dict[str, Any]) -> None:
    services, networks = compose["services"], compose["networks"]
    internal = {name for name, spec in networks.items() if (spec or {}).get("internal") is True}
    assert internal == {"backend"}
    assert set(services["registry"]["networks"]) == {"backend"}
    assert set(services["mariadb"]["networks"]) == {"backend"}
    assert set(services["balancer"]["networks"]) == {"public"}
    assert services["keys"]["network_mode"] == "none"
    for name in GATEWAYS:
        assert set(services[name]["networks"]) == {"public", "backend"}
    published = {name for name, spec in services.items() if "ports" in spec or "expose" in spec}
    assert published == {"balancer"}
    assert [str(port).split(":")[-1] for port in services["balancer"]["ports"]] == ["5000"]


def test_the_gateways_are_configured_only_through_known_environment_variables(compose: dict[str, Any]) -> None:
    known = {option.env for option in OPTIONS} | {f"{option.env}_FILE" for option in OPTIONS if option.file_variant}
    for name in GATEWAYS:
        gateway = compose["services"][name]
        environment = gateway["environment"]
        assert isinstance(environment, dict) and set(environment) <= known, set(environment) - known
        assert environment["GATEWAY_UPSTREAM_URL"] == "http://registry:5000"
        assert environment["GATEWAY_DATABASE_URL"].startswith("mysql://") and "@mariadb:3306/" in environment["GATEWAY_DATABASE_URL"]
        assert "GATEWAY_CONFIG" not in environment and "command" not in gateway
        assert all(not volume.startswith(("../conf", "./conf")) for volume in gateway["volumes"]), "no settings file mounted"
    mariadb_volumes = compose["services"]["mariadb"]["volumes"]
    assert mariadb_volumes and all(":" in volume and not volume.startswith("/") for volume in mariadb_volumes)
    assert set(compose["volumes"]) == {"gateway-data", "gateway-2-data", "gateway-keys", "registry-data", "mariadb-data"}


def volume_at(service: dict[str, Any], target: str) -> str:
    """The volume a service mounts at `target` (a compose short-syntax entry)."""
    (found,) = [volume.split(":")[0] for volume in service["volumes"] if volume.split(":")[1] == target]
    return str(found)


def test_the_instances_share_the_database_and_keys_and_have_their_own_data(compose: dict[str, Any]) -> None:
    first, second = (compose["services"][name] for name in GATEWAYS)
    assert first["environment"] == second["environment"], "the same settings everywhere"
    environment = first["environment"]
    shared = {environment[key].rpartition("/")[0] for key in ("GATEWAY_TOKEN_KEY_FILE", "GATEWAY_TOKEN_CERT_FILE", "GATEWAY_SECRETS_KEY_FILE")}
    assert shared == {"/keys"}
    assert volume_at(first, "/keys") == volume_at(second, "/keys") == volume_at(compose["services"]["keys"], "/keys")
    assert environment["GATEWAY_SERVER_TRUSTED_PROXIES"], "client addresses read from the balancer's X-Forwarded-For"
    data = environment["GATEWAY_DATA_DIR"]
    assert {volume_at(first, data), volume_at(second, data)} == {"gateway-data", "gateway-2-data"}
    for gateway in (first, second):
        assert gateway["depends_on"]["keys"]["condition"] == "service_completed_successfully"
        assert gateway["depends_on"]["mariadb"]["condition"] == "service_healthy"


def test_the_gateways_read_blob_bodies_from_the_registrys_volume_read_only(compose: dict[str, Any]) -> None:
    services = compose["services"]
    root = yaml.safe_load((REPO_ROOT / "conf" / "registry.yml").read_text())["storage"]["filesystem"]["rootdirectory"]
    for name in GATEWAYS:
        assert services[name]["environment"]["GATEWAY_UPSTREAM_STORAGE_DIR"] == root
        assert f"registry-data:{root}:ro" in services[name]["volumes"]
    assert f"registry-data:{root}" in services["registry"]["volumes"]


def haproxy_config_lines() -> list[list[str]]:
    return [line.split() for line in (DOCKER / "haproxy.cfg").read_text().splitlines() if line.strip() and not line.strip().startswith("#")]


def test_the_balancer_runs_haproxy_cfg_over_every_gateway_instance(compose: dict[str, Any]) -> None:
    balancer = compose["services"]["balancer"]
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    assert set(balancer["depends_on"]) == set(GATEWAYS)
    lines = haproxy_config_lines()
    servers = {words[2] for words in lines if words[0] == "server"}
    assert servers == {f"{name}:5000" for name in GATEWAYS}, "one server line per instance, on the port it listens on"
    assert [words[1] for words in lines if words[0] == "bind"] == [":5000"]
    assert ["balance", "roundrobin"] in lines
    assert ["option", "http-server-close"] in lines, "each request of a keep-alive connection balanced again"
    assert ["http-request", "set-header", "X-Forwarded-For", "%[src]"] in lines, "the client's address, never one it sent"
    assert ["option", "httpchk", "GET", "/readyz"] in lines
    timeouts = {words[1]: words[2] for words in lines if words[0] == "timeout"}
    assert timeouts["server"] == timeouts["client"] == "10m", "long uploads outlive GATEWAY_UPSTREAM_READ_TIMEOUT"


def test_the_real_haproxy_accepts_haproxy_cfg() -> None:
    from tests.support.balancer import haproxy_binary

    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(DOCKER / "haproxy.cfg")], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "Configuration file is valid" in checked.stdout
    warnings = [line for line in checked.stderr.splitlines() if "WARNING" in line and "could not resolve address" not in line]
    assert warnings == [], "only the compose service names do not resolve here"


def run_init_keys(keys: Path, data: Path) -> subprocess.CompletedProcess[str]:
    """docker/init-keys.sh as the `keys` service runs it, with this checkout's portus-gateway."""
    bin_dir = keys.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    if not (bin_dir / "portus-gateway").exists():
        (bin_dir / "portus-gateway").symlink_to(REPO_ROOT / "portus-gateway")
    keys.mkdir(exist_ok=True)
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}, "PATH": f"{bin_dir}:{os.environ['PATH']}",
           "KEYS_DIR": str(keys), "OLD_DATA_DIR": str(data)}
    return subprocess.run(["sh", str(DOCKER / "init-keys.sh")], env=env, capture_output=True, text=True, timeout=60)


def test_the_keys_service_makes_one_key_pair_and_never_replaces_it(compose: dict[str, Any], tmp_path: Path) -> None:
    service = compose["services"]["keys"]
    assert service["entrypoint"] == ["sh", "/init-keys.sh"] and "./init-keys.sh:/init-keys.sh:ro" in service["volumes"]
    keys = tmp_path / "keys"
    first = run_init_keys(keys, tmp_path / "no-old-data")
    assert first.returncode == 0, first.stderr
    made = (keys / "token.key").read_bytes(), (keys / "token.crt").read_bytes()
    again = run_init_keys(keys, tmp_path / "no-old-data")
    assert again.returncode == 0, again.stderr
    assert ((keys / "token.key").read_bytes(), (keys / "token.crt").read_bytes()) == made
    assert not (keys / "secrets.key").exists(), "the first gateway to start writes it"


def test_the_keys_service_keeps_a_single_gateways_earlier_keys(tmp_path: Path) -> None:
    old = tmp_path / "old-data"  # what a single gateway wrote into gateway-data at its first start
    write_key_pair(old, "ec")
    load_or_create_sealer(old / "secrets.key")
    keys = tmp_path / "keys"
    copied = run_init_keys(keys, old)
    assert copied.returncode == 0, copied.stderr
    for name in ("token.key", "token.crt", "secrets.key"):
        assert (keys / name).read_bytes() == (old / name).read_bytes(), name
    assert (keys / "token.key").stat().st_mode & 0o077 == 0


def test_compose_and_dockerfile_healthchecks_probe_healthz_the_same_way(compose: dict[str, Any]) -> None:
    for name in GATEWAYS:
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1:] == healthcheck_command()
        assert "/healthz" in " ".join(test) and "curl" not in " ".join(test)
    assert compose["services"]["mariadb"]["healthcheck"]["test"]


def test_dockerfile_declares_a_non_root_user_on_python_311_slim() -> None:
    """Read from the Dockerfile's text: docker cannot build or run the image where the tests run."""
    instructions = dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [args for instruction, args in instructions if instruction == "ENTRYPOINT"] == ['["portus-gateway"]']
    assert "curl" not in (DOCKER / "Dockerfile").read_text().replace("without curl", "")


def probe(env: dict[str, str]) -> int:
    """Run the Dockerfile's HEALTHCHECK command as Docker would, in an environment like the container's."""
    command = healthcheck_command()
    assert command[0] == "python"
    return subprocess.run([sys.executable, *command[1:]], env={**os.environ, **env}, capture_output=True, timeout=30, check=False).returncode


def test_the_healthcheck_command_passes_on_a_live_gateway_and_fails_on_a_dead_port(gateway: Gateway) -> None:
    assert probe({"GATEWAY_LISTEN": f"0.0.0.0:{gateway.port}"}) == 0
    assert probe({"GATEWAY_LISTEN": f"0.0.0.0:{free_port()}"}) != 0


@pytest.fixture
def https_gateway(registry: Registry, tmp_path: Path) -> Iterator[HttpsGateway]:
    gateway = HttpsGateway(tmp_path / "gateway", registry.url, certificate=make_certificate(tmp_path / "pki"))
    gateway.add_user("alice", USERS["alice"])
    yield gateway.start()
    gateway.stop()


def test_the_healthcheck_command_speaks_https_when_tls_is_configured(https_gateway: HttpsGateway) -> None:
    env = {"GATEWAY_LISTEN": f"0.0.0.0:{https_gateway.port}", "GATEWAY_TLS_CERT_FILE": "/certs/tls.crt"}
    assert probe(env) == 0
    assert probe({"GATEWAY_LISTEN": f"0.0.0.0:{https_gateway.port}"}) != 0, "plain HTTP to a TLS port fails"


def test_conf_registry_yml_runs_the_real_registry_without_auth(tmp_path: Path) -> None:
    binary = require_tool("docker-registry")
    port = free_port()
    env = {
        **os.environ,
        "REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY": str(tmp_path / "store"),
        "REGISTRY_HTTP_ADDR": f"127.0.0.1:{port}",
        "REGISTRY_HTTP_SECRET": "compose-test-secret",
    }
    log = tmp_path / "registry.log"
    process = subprocess.Popen([binary, "serve", str(REPO_ROOT / "conf" / "registry.yml")], stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v2/", process, log)
        status, headers, body = get(f"http://127.0.0.1:{port}/v2/")
        assert status == 200, body
        assert headers.get("Docker-Distribution-Api-Version") == "registry/2.0"
    finally:
        stop_process(process)


def test_config_show_prints_the_operations_settings(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
        "PYTHONPATH": str(REPO_ROOT), "GATEWAY_DATA_DIR": str(tmp_path),
        "GATEWAY_LOG_FORMAT": "json", "GATEWAY_SERVER_WORKERS": "4", "GATEWAY_SERVER_SHUTDOWN_GRACE": "90",
        "GATEWAY_UPSTREAM_FORWARD_TOKEN": "true", "GATEWAY_TOKEN_PREVIOUS_CERT_FILES": "/k/a.crt, /k/b.crt",
        "GATEWAY_DATABASE_URL": "mysql://portus:s3cret-pw@mariadb:3306/portus",
    }
    shown = subprocess.run([sys.executable, "-m", "gateway", "config", "show"], env=env, cwd=REPO_ROOT,
                           capture_output=True, text=True, timeout=30, check=False)
    assert shown.returncode == 0, shown.stderr
    lines = dict(line.split(" = ", 1) for line in shown.stdout.splitlines())
    assert lines["log_format"] == "json" and lines["server_workers"] == "4" and lines["shutdown_grace"] == "90.0"
    assert lines["upstream_forward_token"] == "True"
    assert lines["token_previous_cert_files"] == "/k/a.crt,/k/b.crt"
    assert "s3cret-pw" not in shown.stdout
    bad = subprocess.run([sys.executable, "-m", "gateway", "config", "show"], env={**env, "GATEWAY_LOG_FORMAT": "xml"},
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert bad.returncode == 2 and "GATEWAY_LOG_FORMAT" in bad.stderr
