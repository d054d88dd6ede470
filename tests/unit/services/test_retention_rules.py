"""Retention's evaluation as a pure function: one repository at a time, each rule in its order,
which policy governs a repository, and patterns that could backtrack without bound refused."""

from __future__ import annotations

import pytest

from gateway.services.retention_rules import (
    BadPattern,
    Policy,
    TagFacts,
    check_repository_pattern,
    compile_tag_pattern,
    evaluate,
    policy_for,
)

NOW = 1_800_000_000
HOUR = 3600


def tags(*names: str, step: int = HOUR) -> list[TagFacts]:
    """Tags pushed one `step` apart, the last name the newest, all older than a day."""
    return [TagFacts(name, f"sha256:{i:064d}", NOW - 30 * HOUR - (len(names) - i) * step) for i, name in enumerate(names)]


def kept(policy: Policy, facts: list[TagFacts]) -> list[str]:
    return [v.tag for v in evaluate(policy, facts, NOW) if v.keep]


def test_keep_last_keeps_the_newest_by_push_time() -> None:
    verdicts = evaluate(Policy("team", "", keep_last=2), tags("a", "b", "c", "d"), NOW)
    assert [(v.tag, v.keep, v.reason) for v in verdicts] == [
        ("a", False, "not one of the newest 2"), ("b", False, "not one of the newest 2"),
        ("c", True, "one of the newest 2"), ("d", True, "one of the newest 2"),
    ]
    assert kept(Policy("team", "", keep_last=0), tags("a", "b")) == []
    assert kept(Policy("team", "", keep_last=9), tags("a", "b")) == ["a", "b"]


def test_the_portus_bug_each_repository_counts_its_own_tags() -> None:
    """Evaluated per repository, keep-last 2 keeps two of each: never a count across repositories."""
    policy = Policy("team", "", keep_last=2)
    per_repository = {"team/big": tags(*"abcdef"), "team/small": tags("x", "y"), "team/one": tags("only")}
    assert {name: kept(policy, facts) for name, facts in per_repository.items()} == {
        "team/big": ["e", "f"], "team/small": ["x", "y"], "team/one": ["only"],
    }


def test_equal_push_times_are_ranked_by_name_the_last_as_the_newest() -> None:
    same = [TagFacts(name, "sha256:" + "0" * 64, NOW - 99 * HOUR) for name in ("v2", "v1", "v3")]
    assert kept(Policy("team", "", keep_last=2), same) == ["v2", "v3"]


def test_match_keeps_exclude_drops_and_young_tags_are_never_touched() -> None:
    facts = [*tags("release-1", "dev-1", "dev-2", "dev-3", "v2"), TagFacts("dev-new", "sha256:" + "9" * 64, NOW - HOUR)]
    policy = Policy("team", "", keep_last=2, keep_matching=r"release-\d+", drop_matching=r"dev-.*", min_age_hours=24)
    verdicts = {v.tag: (v.keep, v.reason) for v in evaluate(policy, facts, NOW)}
    assert verdicts == {
        "release-1": (True, "matches --match"),
        "dev-1": (False, "matches --exclude"), "dev-2": (False, "matches --exclude"), "dev-3": (False, "matches --exclude"),
        "v2": (True, "one of the newest 2"),
        "dev-new": (True, "pushed less than 24 hours ago"),
    }


def test_excluded_tags_do_not_take_the_places_of_the_newest() -> None:
    policy = Policy("team", "", keep_last=1, drop_matching="tmp")
    assert kept(policy, tags("v1", "v2", "tmp")) == ["v2"]


def test_a_tag_pulled_within_the_days_is_kept() -> None:
    facts = tags("old", "mid", "new")
    facts[0] = TagFacts("old", facts[0].digest, facts[0].pushed_at, pulled_at_since=True)
    assert kept(Policy("team", "", keep_last=1, keep_pulled_days=7), facts) == ["new", "old"]
    assert kept(Policy("team", "", keep_last=1), facts) == ["new"]


def test_patterns_match_the_whole_tag() -> None:
    assert kept(Policy("team", "", keep_last=0, keep_matching="v1"), tags("v1", "v10", "xv1")) == ["v1"]


def test_a_repository_pattern_beats_the_namespace_default_and_the_longest_wins() -> None:
    default, apps, api = Policy("team", "", 5), Policy("team", "app*", 3), Policy("team", "app-api", 1)
    policies = [default, apps, api, Policy("other", "", 2)]
    assert policy_for("team/app-api", policies) is api
    assert policy_for("team/app-web", policies) is apps
    assert policy_for("team/db", policies) is default
    assert policy_for("team/sub/app", policies) is default
    assert policy_for("nobody/app", policies) is None
    assert policy_for("global", policies) is None
    assert policy_for("team/db", [apps]) is None


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("(a+)+b", "not a group"),
        ("(a|aa)*b", "not a group"),
        ("(x)\\1", "back-references"),
        ("(?=a)a", "look-aheads"),
        ("a*a*a*a*b", "at most 3 repeating"),
        ("a?a?a?a?a?a?", "5 in all"),
        ("v[", "not a regular expression"),
        ("x" * 257, "limited to 256"),
        ("", "may not be empty"),
    ],
)
def test_a_pattern_that_could_backtrack_without_bound_or_is_broken_is_refused(pattern: str, words: str) -> None:
    with pytest.raises(BadPattern, match=words):
        compile_tag_pattern(pattern)


def test_repository_patterns_are_globs_of_name_characters() -> None:
    assert check_repository_pattern("app-*/v?") == "app-*/v?"
    for bad in ("App", "a b", "[ab]", "x" * 256):
        with pytest.raises(BadPattern, match="glob of lowercase"):
            check_repository_pattern(bad)
