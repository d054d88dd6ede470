"""Every way outside JSON can fail to load is a ValueError, deep nesting included."""

from __future__ import annotations

import pytest

from gateway import safe_json


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, '{"a": ' * 50_000 + "1" + "}" * 50_000],
    ids=["open", "balanced", "objects"],
)
def test_nesting_deeper_than_the_interpreter_allows_is_too_deep(data: bytes | str) -> None:
    with pytest.raises(safe_json.TooDeep):
        safe_json.loads(data)


@pytest.mark.parametrize("data", [b"", b"{", b"\xff", b"9" * 5000, "[1] x"], ids=["empty", "cut", "not-utf8", "huge-int", "trailing"])
def test_what_is_not_json_is_a_value_error(data: bytes | str) -> None:
    with pytest.raises(ValueError) as caught:
        safe_json.loads(data)
    assert not isinstance(caught.value, safe_json.TooDeep)


def test_ordinary_nesting_loads() -> None:
    nested: list[object] = []
    for _ in range(99):
        nested = [nested]
    assert safe_json.loads(b"[" * 100 + b"]" * 100) == nested
    assert safe_json.loads('{"schemaVersion": 2}') == {"schemaVersion": 2}
