"""The big store's generated rows have the shapes the bench promises (tests/bench/bigdata.py)."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest

from gateway import names
from gateway.events.model import ACTIONS
from tests.bench import bigdata

SHAPE = bigdata.Shape.at(0.01)
TAG = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")  # the distribution spec's tag grammar
END_MS = 1_780_000_000_000


def test_the_full_shape_is_the_issues_and_the_scale_is_bounded() -> None:
    full = bigdata.Shape.at(1)
    assert (full.repositories, full.tags, full.events) == (100_000, 1_000_000, 10_000_000)
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="scale"):
            bigdata.Shape.at(bad)


def test_repositories_are_valid_sorted_and_split_between_teams_and_users() -> None:
    repositories = bigdata.repository_names(SHAPE)
    assert len(repositories) == SHAPE.repositories and repositories == sorted(set(repositories))
    assert all(names.REPOSITORY.problem(r) is None for r in repositories)
    teams = sum(r.startswith("team") for r in repositories)
    assert teams == SHAPE.repositories // 2


def test_tags_sum_to_the_shape_with_one_big_public_repository_first() -> None:
    counts = bigdata.tag_counts(SHAPE)
    assert sum(counts) == SHAPE.tags and len(counts) == SHAPE.repositories
    assert min(counts) >= 1 and counts[0] > max(counts[1:])
    assert bigdata.repository_names(SHAPE)[0].startswith(bigdata.team_name(0) + "/")
    assert bigdata.team_visibility(0) == "public"
    assert len(set(counts)) > 10, "tags per repository vary"


def test_tag_names_are_valid_and_distinct() -> None:
    made = [bigdata.tag_name(k) for k in range(20_000)]
    assert len(set(made)) == len(made) and all(TAG.fullmatch(t) for t in made)


def test_namespaces_have_every_visibility_and_personal_ones_mostly_no_row() -> None:
    rows = bigdata.namespaces(SHAPE)
    team_rows = [r for r in rows if r[1] is not None]
    assert Counter(v for _, _, v in team_rows) == {"public": 8, "protected": 6, "private": 6}
    personal = [r for r in rows if r[1] is None]
    assert 0 < len(personal) < SHAPE.users // 5


def test_events_are_in_seq_order_over_the_months_with_every_action() -> None:
    repositories = bigdata.repository_names(SHAPE)
    rows = [row for chunk in bigdata.events(SHAPE, repositories, END_MS, chunk=7_000) for row in chunk]
    assert len(rows) == SHAPE.events and len({r[0] for r in rows}) == SHAPE.events
    times = [r[1] for r in rows]
    assert END_MS - SHAPE.days * bigdata.DAY_MS - 1500 <= min(times) and max(times) <= END_MS
    assert all(b - a > -2000 for a, b in itertools.pairwise(times)), "only a little jitter"
    actions = Counter(r[2] for r in rows)
    assert set(actions) == set(ACTIONS) and actions["pull"] > actions["push"] > actions["delete"]
    busiest = Counter(r[3] for r in rows).most_common(1)[0][1]
    assert busiest > 10 * SHAPE.events / SHAPE.repositories, "popular repositories get most of the traffic"
    event_id, at, action, repository, tag, digest, actor, body = rows[123]
    parsed = json.loads(body)
    assert (parsed["id"], parsed["action"], parsed["actor"]["name"]) == (event_id, action, actor)
    assert parsed["target"]["repository"] == repository and parsed["target"]["digest"] == digest
    assert parsed["target"].get("tag") == tag and parsed["timestamp"].startswith(bigdata.timestamp(at, {})[:19])


def test_timestamps_read_back_as_the_same_moment() -> None:
    from datetime import datetime

    for ms in (0, 1_780_000_000_123, 1_780_086_399_999):
        text = bigdata.timestamp(ms, {})
        assert int(datetime.fromisoformat(text).timestamp() * 1000) == ms


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert bigdata.percentile(values, 0.5) == 50.0
    assert bigdata.percentile(values, 0.95) == 95.0
    assert bigdata.percentile(list(reversed(values)), 1.0) == 100.0
    assert bigdata.percentile([7.0], 0.95) == 7.0
    assert bigdata.percentile([1.0, 2.0], 0.0) == 1.0
    with pytest.raises(ValueError):
        bigdata.percentile([], 0.5)
    with pytest.raises(ValueError):
        bigdata.percentile([1.0], 1.5)
