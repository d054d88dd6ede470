"""The OpenAPI document matches the implementation: same routes both ways, valid OpenAPI 3.0,
served live, and schemathesis finds no server error when it fuzzes the API from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.api import create_api_app
from gateway.api.openapi import API_PREFIX, document
from tests.integration.api.conftest import Api, no_traceback_since
from tests.support.processes import Gateway

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def router_operations() -> set[tuple[str, str]]:
    """(method, path template) of every route of the API sub-application."""
    api = create_api_app()
    found = set()
    for route in api.router.routes():
        canonical = route.resource.canonical if route.resource is not None else ""
        found.add((route.method.lower(), canonical))
    return found


def document_operations(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items() for method in item if method in _HTTP_METHODS}


def test_every_route_is_documented_and_every_documented_operation_is_routed() -> None:
    routed, documented = router_operations(), document_operations(document())
    assert routed - documented == set(), "routes missing from openapi.json"
    assert documented - routed == set(), "documented operations with no route"


def test_document_is_valid_openapi_3() -> None:
    from openapi_spec_validator import validate

    validate(document())  # raises on any violation
    assert document()["openapi"].startswith("3.0")


def _resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    seen: set[str] = set()
    while "$ref" in node:
        assert node["$ref"] not in seen, f"$ref cycle through {node['$ref']}"
        seen.add(node["$ref"])
        *_, section, name = node["$ref"].split("/")
        node = doc["components"][section][name]
    return node


def test_path_parameters_match_the_templates_and_bodies_are_closed() -> None:
    doc = document()
    for path, item in doc["paths"].items():
        in_template = set(re.findall(r"{(\w+)}", path))
        for method, operation in item.items():
            parameters = [_resolve(doc, p) for p in operation.get("parameters", [])]
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == in_template, (method, path)
            body = operation.get("requestBody")
            if body is not None:
                schema = _resolve(doc, body["content"]["application/json"]["schema"])
                assert schema["additionalProperties"] is False, (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
    schemas = doc["components"]["schemas"]
    assert schemas["MemberRole"]["properties"]["role"]["enum"] == ["owner", "contributor", "viewer"]
    assert schemas["NewNamespace"]["properties"]["visibility"]["enum"] == ["public", "protected", "private"]
    assert "pattern" in schemas["NewUser"]["properties"]["name"]


async def test_live_document_is_public_and_matches(admin: Api) -> None:
    async with admin.session.get(f"{admin.gateway.url}{API_PREFIX}/openapi.json") as response:
        assert response.status == 200 and response.content_type == "application/json"
        assert await response.json() == document()
    assert document()["servers"] == [{"url": API_PREFIX}]


@pytest.mark.slow
@pytest.mark.timeout(480)  # the fuzzing run alone may take its 300 s
def test_schemathesis_finds_no_server_error(make_gateway: Callable[..., Gateway], tmp_path: Path) -> None:
    """Fuzz every operation as the admin of a gateway of its own (it creates and deletes freely)."""
    gateway = make_gateway()
    cli = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert cli is not None, "schemathesis is not installed (pip install -e '.[test]')"
    user, password = Gateway.ADMIN
    command = [
        cli, "run", f"{gateway.url}{API_PREFIX}/openapi.json",
        "--checks", "not_a_server_error",
        "--auth", f"{user}:{password}",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--max-examples", "15",
        # One worker: with several threads, hypothesis's lambda-source inspection trips a
        # CPython 3.11 ast error ("AST constructor recursion depth mismatch") inside schemathesis.
        "--workers", "1",
        "--seed", "20240601",
        "--request-timeout", "20",
        "--generation-database", "none",
        "--suppress-health-check", "all",
        "--no-color",
    ]
    env = {**os.environ, "NO_COLOR": "1"}
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-15000:]
    assert "passed" in output and "Server error" not in output, output[-15000:]
    no_traceback_since(gateway, 0)
