"""Which namespace names a user could have (only admins create those), and which names a team may carry."""

from __future__ import annotations

import pytest

from gateway.names import could_be_a_user, is_valid_namespace_name, is_valid_team_name


@pytest.mark.parametrize("name", ["carol", "web", "a.b", "a-b", "a_b", "x1", "w" * 64])
def test_a_name_in_the_user_grammar_could_be_a_user(name: str) -> None:
    assert is_valid_namespace_name(name) and could_be_a_user(name)


@pytest.mark.parametrize("name", ["web--tools", "web__tools", "a---b", "w" * 65])
def test_a_namespace_name_no_user_can_have(name: str) -> None:
    assert is_valid_namespace_name(name) and not could_be_a_user(name)


@pytest.mark.parametrize(("name", "valid"), [("web", True), ("web--tools", True), ("web__tools", True), ("w" * 64, True),
                                             ("w" * 65, False), ("Web", False), ("web/tools", False), ("-web", False)])
def test_a_team_may_carry_any_namespace_name_of_up_to_64_characters(name: str, valid: bool) -> None:
    assert is_valid_team_name(name) is valid
