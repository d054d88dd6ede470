"""The UI's place among the packages: it calls gateway.services and never gateway.api (one
implementation of the rules, which the API merely renders as JSON). Read from the source, so a
new module of the UI is checked as soon as it exists."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.ui

UI_DIR = Path(gateway.ui.__file__).resolve().parent


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_of_the_ui_imports_the_api() -> None:
    modules = sorted(UI_DIR.rglob("*.py"))
    assert len(modules) > 20  # the walk found the package
    offending = {
        str(path.relative_to(UI_DIR)): sorted(n for n in _imported(path) if n == "gateway.api" or n.startswith("gateway.api."))
        for path in modules
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_ui_calls_the_services() -> None:
    callers = [p for p in UI_DIR.rglob("*.py") if any(n.startswith("gateway.services") for n in _imported(p))]
    assert len(callers) >= 10
