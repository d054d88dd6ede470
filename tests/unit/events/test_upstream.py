"""Upstream notification events the store cannot take are not kept (and so never a 500)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.events.upstream import parse_upstream_event


def item(**changes: Any) -> dict[str, Any]:
    target = {"repository": "direct/app", "digest": "sha256:" + "c" * 64, "tag": "v1", "size": 3, **changes.pop("target", {})}
    return {"id": "e1", "timestamp": "2026-11-26T10:00:00Z", "action": "push", "target": target,
            "actor": {"name": "ci"}, **changes}


def test_an_ordinary_event_is_kept() -> None:
    event = parse_upstream_event(item())
    assert event is not None and (event.id, event.target.size, event.actor) == ("e1", 3, "ci")


@pytest.mark.parametrize(
    "changes",
    [
        {"target": {"size": 2**63}}, {"target": {"size": -1}}, {"target": {"size": True}}, {"target": {"size": 1.5}},
        {"id": "x" * 65}, {"target": {"repository": "r" * 256}}, {"target": {"tag": "t" * 129}},
        {"target": {"digest": "d" * 201}}, {"actor": {"name": "n" * 65}}, {"actor": {"name": "\ud800"}},
        {"target": {"url": "\udfff"}}, {"timestamp": "0001-01-01T00:00:00+01:00"}, {"timestamp": "9999-12-31T23:59:59-01:00"},
        {"timestamp": "1969-12-31T23:59:59Z"},
    ],
)
def test_an_event_the_store_cannot_take_is_skipped(changes: dict[str, Any]) -> None:
    assert parse_upstream_event(item(**changes)) is None


def test_the_widest_values_the_columns_take_are_kept() -> None:
    wide = item(id="x" * 64, actor={"name": "n" * 64}, target={"repository": "r" * 255, "tag": "t" * 128, "size": 2**63 - 1})
    assert parse_upstream_event(wide) is not None
