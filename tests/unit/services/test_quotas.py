"""Quota sizes as people write them, and the rule that refuses a push."""

from __future__ import annotations

import pytest

from gateway.services.errors import Invalid
from gateway.services.quotas import MAX_QUOTA, Quota, format_size, parse_size, push_refusal


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10GiB", 10 * 2**30), ("500MB", 500 * 10**6), ("1048576", 1048576), ("0", 0), (" 1.5 TiB ", 3 * 2**39),
        ("2kib", 2048), ("7 b", 7), ("none", None), ("NONE", None), ("4611686018427387904", MAX_QUOTA),
    ],
)
def test_sizes_parse_in_decimal_and_binary_units(text: str, size: int | None) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize(
    "text",
    ["", "-1", "10 GiBs", "10XB", "1e9", "\u0661\u0660", "10 k", "1.2.3GB", "0x10", "10  GB", "99999999999999999999", "5 PiB PiB", "nan"],
)
def test_anything_else_is_refused_with_a_clear_message(text: str) -> None:
    with pytest.raises(Invalid, match=r"is not a size|at most"):
        parse_size(text)


def test_sizes_are_shown_in_binary_units() -> None:
    assert [format_size(n) for n in (0, 1023, 1024, 1536, 10 * 2**30, 2**62)] == [
        "0 B", "1023 B", "1.0 KiB", "1.5 KiB", "10.0 GiB", "4096.0 PiB",
    ]
    assert Quota("team", 2**30, 2**20).text == "1.0 MiB of 1.0 GiB"
    assert Quota("team", None, 0).text == "0 B (no quota)"


def test_a_push_is_refused_only_when_what_it_adds_passes_the_quota() -> None:
    assert push_refusal("team", None, 10**12, 10**12) is None
    assert push_refusal("team", 100, 60, 40) is None
    assert push_refusal("team", 100, 160, 0) is None  # a new tag for what is there: always
    message = push_refusal("team", 100, 60, 41)
    assert message is not None
    assert "'team' is over its quota" in message and "41 B" in message and "60 B" in message and "100 B quota" in message
