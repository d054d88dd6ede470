"""Tag retention, as pure functions: which policy governs a repository, and which of its tags a
policy keeps. Always one repository at a time: Portus's `keep_latest` counted tags across the
whole registry and so deleted nearly every tag of every repository but the busiest.

For each tag of the repository, in this order:
1. pushed less than `min_age_hours` ago: kept (nothing young is ever touched);
2. its name matches `keep_matching` (`--match`): kept;
3. its name matches `drop_matching` (`--exclude`): deleted;
4. among the newest `keep_last` of the tags not excluded, by push time (pushed in the same
   second: the name sorting last counts as newer, as `v2` after `v1`): kept;
5. its manifest was pulled within `keep_pulled_days` (`--keep-pulled-within`): kept;
6. otherwise deleted.

Patterns are regular expressions matched against the whole tag name (at most 128 characters).
They come from users, and Python's `re` cannot be given a time limit, so only patterns that
cannot backtrack catastrophically are taken: at most 256 characters; no back-references or
look-arounds; a quantifier (`*`, `+`, `?`, `{m,n}`) only on a single character, a class or `.`,
never on a group; at most 3 quantifiers that repeat and 5 in all. The worst case left (`a?a?a*a*a*`
against 128 characters) is polynomial: about 10 ms. Evaluation runs in a thread anyway.
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_PATTERN = 256
MAX_REPEATING = 3  # quantifiers that may repeat (`*`, `+`, `{2,5}`)
MAX_VARIABLE = 5  # those and the optional ones (`?`, `{0,1}`)
MAX_KEEP_LAST = 100_000
MAX_DAYS = 36_500
MAX_HOURS = 876_000
MAX_REPOSITORY_PATTERN = 255
_REPOSITORY_PATTERN = re.compile(r"[a-z0-9._\-/*?]+")

# The parser `re` itself uses (`sre_parse` before Python 3.11, which warns when imported now).
_parser: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

_SINGLE = {sre_constants.LITERAL, sre_constants.NOT_LITERAL, sre_constants.ANY, sre_constants.IN}
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)}
_REFUSED = {
    sre_constants.GROUPREF: "back-references", sre_constants.GROUPREF_EXISTS: "conditional groups",
    sre_constants.ASSERT: "look-aheads or look-behinds", sre_constants.ASSERT_NOT: "look-aheads or look-behinds",
}


class BadPattern(ValueError):
    """A pattern refused; the message says why, fit to show whoever typed it."""


def _walk(items: Iterable[tuple[Any, Any]], counts: list[int]) -> None:
    """Refuse what can backtrack without bound; count the quantifiers (repeating, variable)."""
    for op, argument in items:
        if op in _REFUSED:
            raise BadPattern(f"{_REFUSED[op]} are not allowed")
        if op in _REPEATS:
            low, high, body = argument
            if any(inner_op not in _SINGLE for inner_op, _ in body):
                raise BadPattern("a quantifier may only follow one character, a class like [0-9] or '.', not a group")
            counts[0] += high > 1
            counts[1] += high != low
        elif op == sre_constants.SUBPATTERN:
            _walk(argument[-1], counts)
        elif op == sre_constants.BRANCH:
            for branch in argument[1]:
                _walk(branch, counts)


def compile_tag_pattern(text: str) -> re.Pattern[str]:
    """A user's tag pattern, checked (BadPattern) and compiled."""
    if len(text) > MAX_PATTERN:
        raise BadPattern(f"a pattern is limited to {MAX_PATTERN} characters")
    if not text:
        raise BadPattern("a pattern may not be empty")
    try:
        parsed = _parser.parse(text)
        counts = [0, 0]
        _walk(parsed, counts)
        compiled = re.compile(text)
    except (re.error, OverflowError, RecursionError) as exc:
        raise BadPattern(f"not a regular expression ({exc})") from None
    if counts[0] > MAX_REPEATING or counts[1] > MAX_VARIABLE:
        raise BadPattern(f"at most {MAX_REPEATING} repeating quantifiers (*, +, {{m,n}}) and {MAX_VARIABLE} in all")
    return compiled


def check_repository_pattern(text: str) -> str:
    """A glob (`*`, `?`) over the repository's path inside the namespace ('' = all of them)."""
    if len(text) > MAX_REPOSITORY_PATTERN or (text and not _REPOSITORY_PATTERN.fullmatch(text)):
        raise BadPattern(
            "a repository pattern is a glob of lowercase name characters, '/', '*' and '?' (at most 255),"
            " matched against the path inside the namespace"
        )
    return text


@dataclass(frozen=True)
class Policy:
    namespace: str
    repository_pattern: str
    keep_last: int
    keep_pulled_days: int | None = None
    keep_matching: str | None = None
    drop_matching: str | None = None
    min_age_hours: int | None = None

    @property
    def name(self) -> str:
        """How events and reports name it."""
        return self.namespace if not self.repository_pattern else f"{self.namespace} --repository {self.repository_pattern}"


@dataclass(frozen=True)
class TagFacts:
    tag: str
    digest: str
    pushed_at: int
    pulled_at_since: bool = False  # the manifest was pulled within the policy's days


@dataclass(frozen=True)
class Verdict:
    tag: str
    digest: str
    keep: bool
    reason: str


def policy_for(repository: str, policies: Sequence[Policy]) -> Policy | None:
    """The policy governing `repository` (`NAMESPACE/PATH`): of its namespace's policies, one
    whose pattern matches PATH (the longest pattern, then the first by name) before the
    namespace's default (pattern '')."""
    namespace, _, path = repository.partition("/")
    if not path:
        return None
    own = [p for p in policies if p.namespace == namespace]
    matching = sorted(
        (p for p in own if p.repository_pattern and fnmatch.fnmatchcase(path, p.repository_pattern)),
        key=lambda p: (-len(p.repository_pattern), p.repository_pattern),
    )
    if matching:
        return matching[0]
    return next((p for p in own if not p.repository_pattern), None)


def evaluate(policy: Policy, tags: Sequence[TagFacts], now: int) -> list[Verdict]:
    """What `policy` does to one repository's tags (see the module's docstring), in tag order."""
    keep = compile_tag_pattern(policy.keep_matching) if policy.keep_matching else None
    drop = compile_tag_pattern(policy.drop_matching) if policy.drop_matching else None
    young_since = now - (policy.min_age_hours or 0) * 3600
    excluded = {t.tag for t in tags if drop is not None and drop.fullmatch(t.tag)}
    ranked = sorted((t for t in tags if t.tag not in excluded), key=lambda t: (t.pushed_at, t.tag), reverse=True)
    newest = {t.tag for t in ranked[: policy.keep_last]}
    verdicts = []
    for t in sorted(tags, key=lambda t: t.tag):
        if policy.min_age_hours and t.pushed_at > young_since:
            verdict = (True, f"pushed less than {policy.min_age_hours} hours ago")
        elif keep is not None and keep.fullmatch(t.tag):
            verdict = (True, "matches --match")
        elif t.tag in excluded:
            verdict = (False, "matches --exclude")
        elif t.tag in newest:
            verdict = (True, f"one of the newest {policy.keep_last}")
        elif policy.keep_pulled_days and t.pulled_at_since:
            verdict = (True, f"pulled within {policy.keep_pulled_days} days")
        else:
            verdict = (False, f"not one of the newest {policy.keep_last}")
        verdicts.append(Verdict(t.tag, t.digest, *verdict))
    return verdicts
