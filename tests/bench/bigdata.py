"""The rows of a big store, generated (no gateway involved) in realistic shapes: users with
personal namespaces (private unless they changed it), teams with members and namespaces of every
visibility, repositories in both, tags per repository from one to thousands, and months of events
(mostly pulls, by a few busy CI users and many occasional ones) weighted to popular repositories.

Pure and deterministic for a seed: the bench writes these rows, the unit tests check their shape.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

DAY_MS = 86_400_000
ACTION_WEIGHTS = (("pull", 80), ("push", 14), ("mount", 4), ("delete", 2))
VISIBILITIES = ("public", "protected", "private")
ROLES = ("owner", "contributor", "viewer")
BIG_REPOSITORY_SHARE = 0.01  # of all tags, in the one repository with the most


@dataclass(frozen=True)
class Shape:
    """How many of each row; the figures of issue 20 at scale 1."""

    users: int
    teams: int
    repositories: int
    tags: int
    events: int
    days: int = 180
    members_per_team: int = 5

    @classmethod
    def at(cls, scale: float) -> Shape:
        if not 0 < scale <= 1:
            raise ValueError("scale must be in (0, 1]")
        return cls(
            users=max(20, round(10_000 * scale)), teams=max(5, round(2_000 * scale)),
            repositories=max(50, round(100_000 * scale)), tags=max(500, round(1_000_000 * scale)),
            events=max(5_000, round(10_000_000 * scale)),
        )


def user_name(i: int) -> str:
    return f"user{i:06d}"


def team_name(i: int) -> str:
    return f"team{i:05d}"


def team_visibility(i: int) -> str:
    """40% public, 30% protected, 30% private."""
    slot = i % 10
    return "public" if slot < 4 else "protected" if slot < 7 else "private"


def personal_visibility(i: int) -> str | None:
    """A personal namespace's row: most users never change it (no row: private); one in ten made
    theirs public."""
    return "public" if i % 10 == 3 else None


def namespaces(shape: Shape) -> list[tuple[str, str | None, str]]:
    """(name, team, visibility) rows: one per team, and the personal ones that have settings."""
    rows: list[tuple[str, str | None, str]] = [(team_name(i), team_name(i), team_visibility(i)) for i in range(shape.teams)]
    for i in range(shape.users):
        visibility = personal_visibility(i)
        if visibility is not None:
            rows.append((user_name(i), None, visibility))
    return rows


def members(shape: Shape) -> list[tuple[str, str, str]]:
    """(team, username, role): each team has `members_per_team` users, the first its owner."""
    rows = []
    for t in range(shape.teams):
        for k in range(shape.members_per_team):
            user = (t * 7 + k * 131) % shape.users
            rows.append((team_name(t), user_name(user), ROLES[min(k, 2)]))
    return sorted(set(rows))


def repository_names(shape: Shape) -> list[str]:
    """Half in team namespaces, half in personal ones, sorted."""
    names = set()
    for r in range(shape.repositories):
        owner = team_name(r % shape.teams) if r % 2 == 0 else user_name((r // 2) % shape.users)
        names.add(f"{owner}/app-{r:06d}")
    return sorted(names)


def tag_counts(shape: Shape, seed: int = 20) -> list[int]:
    """Tags per repository (in `repository_names` order), summing to `shape.tags`: one repository
    holds BIG_REPOSITORY_SHARE of them (the first: a public team's, so every user may list it),
    the others a long tail from one tag up."""
    rng = random.Random(seed)
    n = shape.repositories
    big = max(1, int(shape.tags * BIG_REPOSITORY_SHARE))
    rest = shape.tags - big
    weights = [rng.paretovariate(1.5) for _ in range(n - 1)]
    total = sum(weights)
    counts = [min(big - 1, max(1, int(rest * w / total))) for w in weights]
    # Bring the sum to exactly `rest`, a tag at a time, keeping each count in [1, big).
    missing = rest - sum(counts)
    step = 1 if missing > 0 else -1
    i = 0
    while missing:
        if i >= 4 * len(counts) * big:
            raise ValueError("too few or too many tags for that many repositories")
        j = i % len(counts)
        if 1 <= counts[j] + step < big:
            counts[j] += step
            missing -= step
        i += 1
    rng.shuffle(counts)
    return [big, *counts]


def tag_name(k: int) -> str:
    return f"v{k // 10_000}.{k // 100 % 100}.{k % 100}" if k % 4 else f"build-{k:07d}"


def digest_of(repository_index: int, k: int) -> str:
    return f"sha256:{repository_index:016x}{k:016x}{'0' * 32}"


def tags(names: Sequence[str], counts: Sequence[int], start_ms: int) -> Iterator[tuple[str, str, str, str, int, int]]:
    """(repository, tag, digest, media_type, size, pushed_at) for every repository's tags."""
    media_type = "application/vnd.oci.image.manifest.v1+json"
    for r, (name, count) in enumerate(zip(names, counts, strict=True)):
        for k in range(count):
            yield name, tag_name(k), digest_of(r, k), media_type, 1_000 + k % 5_000, start_ms // 1000 + k


def weighted_cumulative(n: int, exponent: float = 1.1) -> list[float]:
    """Cumulative Zipf weights over n items (rank 1 is the most popular)."""
    return list(itertools.accumulate(1.0 / (rank ** exponent) for rank in range(1, n + 1)))


def actor_names(shape: Shape) -> list[str]:
    """Who acts, most active first: anonymous pulls, CI users, then everybody."""
    return ["", *(user_name(i) for i in range(shape.users))]


_BODY = (
    '{{"id":"{id}","timestamp":"{ts}","action":"{action}","target":{{"mediaType":'
    '"application/vnd.oci.image.manifest.v1+json","digest":"{digest}","size":1234,"length":1234,'
    '"repository":"{repository}","url":"http://registry.bench.test/v2/{repository}/manifests/{digest}"{tag}}},'
    '"request":{{"id":"{id}","addr":"10.1.{a}.{b}:5{a:03d}","host":"registry.bench.test","method":"{method}",'
    '"useragent":"containers/5.26.1 (github.com/containers/image)"}},"actor":{{"name":"{actor}"}},'
    '"source":{{"addr":"10.0.0.1:5000","instanceID":"bench-instance"}}}}'
)
_METHODS = {"pull": "GET", "push": "PUT", "mount": "POST", "delete": "DELETE"}


def timestamp(ms: int, days: dict[int, str]) -> str:
    """RFC 3339 with microseconds, as the gateway writes it; `days` caches each day's date."""
    day, in_day = divmod(ms, DAY_MS)
    if day not in days:
        days[day] = datetime.datetime.fromtimestamp(day * 86_400, datetime.UTC).strftime("%Y-%m-%d")
    second, milli = divmod(in_day, 1000)
    return f"{days[day]}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{milli:03d}000Z"


EventRow = tuple[str, int, str, str, str | None, str, str, str]


def events(
    shape: Shape, names: Sequence[str], end_ms: int, seed: int = 20, chunk: int = 50_000
) -> Iterator[list[EventRow]]:
    """Chunks of (id, created_at, action, repository, tag, digest, actor, body) in seq order, over
    `shape.days` up to `end_ms`; created_at rises with seq but for a little jitter (events are
    written in batches, by several processes)."""
    rng = random.Random(seed)
    popular = list(names)
    rng.shuffle(popular)
    repo_weights = weighted_cumulative(len(popular))
    actors = actor_names(shape)
    actor_weights = weighted_cumulative(len(actors), 0.9)
    action_names = [a for a, _ in ACTION_WEIGHTS]
    action_weights = list(itertools.accumulate(w for _, w in ACTION_WEIGHTS))
    start_ms = end_ms - shape.days * DAY_MS
    step = (end_ms - start_ms) / shape.events
    produced = 0
    day_texts: dict[int, str] = {}
    while produced < shape.events:
        count = min(chunk, shape.events - produced)
        repositories = rng.choices(popular, cum_weights=repo_weights, k=count)
        who = rng.choices(actors, cum_weights=actor_weights, k=count)
        what = rng.choices(action_names, cum_weights=action_weights, k=count)
        rows: list[EventRow] = []
        for i in range(count):
            n = produced + i
            at = start_ms + int(n * step) - int(rng.random() * 1500)
            action, repository = what[i], repositories[i]
            actor = who[i] if action == "pull" or who[i] else user_name(n % shape.users)
            tag = tag_name(n % 50) if action in ("push", "pull") else None
            digest = f"sha256:{n:064x}"
            event_id = f"bench-{n:012d}"
            body = _BODY.format(
                id=event_id, ts=timestamp(at, day_texts), action=action, digest=digest, repository=repository,
                tag=f',"tag":"{tag}"' if tag else "", a=n % 250, b=n // 250 % 250, method=_METHODS[action], actor=actor,
            )
            rows.append((event_id, at, action, repository, tag, digest, actor, body))
        produced += count
        yield rows


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in [0, 1]) of `values`."""
    if not values:
        raise ValueError("no values")
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be in [0, 1]")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil, at least the first
    return ordered[int(rank) - 1]


# Rows the pages added after the first bench need (application tokens, webhooks and their
# deliveries and failures, sessions, quotas, retention policies, reserved namespaces): small
# next to the events, made by `extra_rows` and written by `bigfill.top_up`.
TOKENS_OF_BENCH_USERS = 120  # more than a page (50) of the tokens page each
WEBHOOKS = 60  # more than a page of the webhooks page
FAILURES_PER_WEBHOOK = 200  # on the first webhooks: several pages of their failures
FAILING_WEBHOOKS = 5
DELIVERIES_PER_WEBHOOK = 50  # gateway/events/webhooks.py KEPT_DELIVERIES
SESSIONS_PER_USER = 2
TOMBSTONES_FROM = 1_760_000_000  # seconds: October 2025


def webhook_name(i: int) -> str:
    return f"bench-hook-{i:03d}"


def token_rows(shape: Shape, bench_users: Sequence[str], now: int) -> list[tuple[Any, ...]]:
    """(id, username, name, secret_hash, namespaces, actions, expires_at, created_at): the bench
    users' many tokens, and two for every tenth user."""
    owners = [(user, TOKENS_OF_BENCH_USERS) for user in bench_users]
    owners += [(user_name(i), 2) for i in range(0, shape.users, 10)]
    rows: list[tuple[Any, ...]] = []
    for user, count in owners:
        for k in range(count):
            n = len(rows)
            rows.append((
                f"b{n:011d}", user, f"ci-token-{k:04d}", hashlib.sha256(f"bench-token-{n}".encode()).hexdigest(),
                "" if k % 3 else user, "pull" if k % 2 else "pull,push", None if k % 4 else now + 86_400 * 365, now - k,
            ))
    return rows


def session_rows(shape: Shape, bench_users: Sequence[str], now: int) -> list[tuple[Any, ...]]:
    """(id_hash, username, created_at, last_seen_at, ended_at): every user's sessions, some ended."""
    users = [*bench_users, *(user_name(i) for i in range(shape.users))]
    rows: list[tuple[Any, ...]] = []
    for user in users:
        for k in range(SESSIONS_PER_USER):
            digest = hashlib.sha256(f"bench-session-{user}-{k}".encode()).hexdigest()
            rows.append((digest, user, now - 86_400 * (k + 1), now - 3_600 * k, None if k == 0 else now - 60))
    return rows


def webhook_rows(now: int, cursor_seq: int) -> list[tuple[Any, ...]]:
    """(name, url, secret, headers, actions, repository_pattern, source, cursor_seq, leased_by,
    lease_until, created_at) in plain text (the gateway seals them at its start), caught up with
    the log and pointing at a closed port: nothing is delivered during the bench."""
    return [
        (webhook_name(i), f"http://127.0.0.1:9/hook/{i}", f"secret-{i}", '{"X-Bench":"yes"}',
         "push,delete" if i % 2 else "pull,push,mount,delete", "" if i % 3 else f"{team_name(i)}/*", "api",
         cursor_seq, None, 0, now)
        for i in range(WEBHOOKS)
    ]


def failure_rows(now: int) -> list[tuple[Any, ...]]:
    """(webhook, event_seq, state, attempts, last_error, updated_at)."""
    return [
        (webhook_name(i), 1 + k * 37, "failed", 5, "connection refused", now - k)
        for i in range(FAILING_WEBHOOKS) for k in range(FAILURES_PER_WEBHOOK)
    ]


def delivery_rows(webhook: str, top_seq: int, now: int) -> list[tuple[Any, ...]]:
    """(webhook, first_seq, last_seq, seqs, status_code, error, attempts, redelivery, delivered_at):
    the webhook's kept recent deliveries, one in five failed."""
    rows: list[tuple[Any, ...]] = []
    for k in range(DELIVERIES_PER_WEBHOOK):
        last = max(10, top_seq - k * 10)
        seqs = ",".join(str(s) for s in range(last - 9, last + 1))
        failed = k % 5 == 4
        rows.append((webhook, last - 9, last, seqs, None if failed else 200, "connection refused" if failed else None,
                     5 if failed else 1, 0, now - (DELIVERIES_PER_WEBHOOK - k) * 60))
    return rows


def quota_rows(shape: Shape, now: int) -> list[tuple[Any, ...]]:
    """(namespace, quota, updated_at): every team namespace has one."""
    return [(team_name(i), 10 * 1024**3, now) for i in range(shape.teams)]


def retention_rows(shape: Shape, now: int) -> list[tuple[Any, ...]]:
    """(namespace, repository_pattern, keep_last, keep_pulled_days, keep_matching, drop_matching,
    min_age_hours, updated_by, updated_at): a default for every team namespace, and a pattern's
    for every fourth."""
    rows: list[tuple[Any, ...]] = []
    for i in range(shape.teams):
        rows.append((team_name(i), "", 50, 90, None, None, 24, "benchadmin", now))
        if i % 4 == 0:
            rows.append((team_name(i), "app-*", 10, None, "^v", "^build-", None, "benchadmin", now))
    return rows


def tombstone_rows(shape: Shape, now: int) -> list[tuple[Any, ...]]:
    """(name, deleted_at, former_kind, former_owner, deleted_by, repositories): reserved names of
    deleted teams' namespaces (names no team has), at fixed times: their key holds the time."""
    return [(f"gone{i:05d}", TOMBSTONES_FROM - i * 3_600, "team", None, "benchadmin", i % 20) for i in range(max(100, shape.teams // 4))]
