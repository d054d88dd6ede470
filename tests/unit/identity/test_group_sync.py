"""The group mapping both directories share: parsing `team_groups`, planning memberships."""

from __future__ import annotations

import json

import pytest

from gateway.identity.group_sync import GroupMapping, TeamGroup, parse_team_groups, plan_groups

WEB = "cn=web,ou=groups,dc=example,dc=org"
OPS = "cn=ops,ou=groups,dc=example,dc=org"
ADMINS = "cn=admins,ou=groups,dc=example,dc=org"


def test_a_group_name_gives_the_default_role_and_a_table_its_own() -> None:
    parsed = parse_team_groups({"web": WEB, "ops": {"group": OPS, "role": "owner"}}, default_role="contributor")
    assert parsed == (TeamGroup("web", WEB, "contributor"), TeamGroup("ops", OPS, "owner"))


def test_the_environment_form_is_the_same_map_in_json() -> None:
    parsed = parse_team_groups(json.dumps({"web": [WEB, {"group": OPS, "role": "owner"}]}))
    assert parsed == (TeamGroup("web", WEB, "viewer"), TeamGroup("web", OPS, "owner"))
    assert parse_team_groups("  ") == ()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"Web": WEB}, "team 'Web'"),
        ({"web": {"group": WEB, "role": "god"}}, "role must be one of"),
        ({"web": {"group": WEB, "roles": "owner"}}, "unknown keys roles"),
        ({"web": ""}, "expected a group name"),
        ({"web": []}, "an empty list"),
        ({"web": [[WEB]]}, "may not hold lists"),
        ({"web": "x" * 2000}, "at most 1024"),
        ("[1, 2]", "expected a table"),
        ("{not json", "expected a JSON object"),
        ("[" * 100_000, "expected a JSON object"),
    ],
)
def test_a_bad_map_says_what_is_wrong(value: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_team_groups(value)


def test_a_bad_default_role_is_refused() -> None:
    with pytest.raises(ValueError, match="default role"):
        parse_team_groups({}, default_role="admin")


def test_the_plan_gives_the_highest_role_of_the_groups_held() -> None:
    mapping = GroupMapping(
        (TeamGroup("web", WEB, "viewer"), TeamGroup("web", OPS, "owner"), TeamGroup("ops", OPS, "contributor")),
    )
    assert dict(plan_groups([WEB, OPS], mapping).roles) == {"web": "owner", "ops": "contributor"}
    assert dict(plan_groups([WEB], mapping).roles) == {"web": "viewer"}
    assert dict(plan_groups(["cn=other"], mapping).roles) == {}


def test_admin_rights_follow_the_admin_group_only_when_one_is_set() -> None:
    assert plan_groups([ADMINS], GroupMapping(admin_group=ADMINS)).admin is True
    assert plan_groups([WEB], GroupMapping(admin_group=ADMINS)).admin is False
    assert plan_groups([ADMINS], GroupMapping()).admin is None


def test_groups_compare_through_the_directory_s_notion_of_same() -> None:
    mapping = GroupMapping((TeamGroup("web", WEB),), admin_group=ADMINS)
    shouting = [WEB.upper(), ADMINS.upper()]
    assert dict(plan_groups(shouting, mapping).roles) == {}, "exact by default (OpenID group claims)"
    plan = plan_groups(shouting, mapping, str.lower)
    assert dict(plan.roles) == {"web": "viewer"} and plan.admin is True
