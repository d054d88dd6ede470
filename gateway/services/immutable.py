"""Immutable tags: a namespace's fnmatch patterns (`v*`, `release-*`, comma-separated). A tag
matching one may be pushed first, and pushed again with the same digest, but not moved to
another digest nor deleted, alone or with its manifest (gateway/services/tags.py,
gateway/services/manifests.py, and on /v2 gateway/registry/manifest_writes.py)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from gateway import names
from gateway.auth.policy import namespace_of
from gateway.services.errors import Forbidden, Invalid
from gateway.store import Store

MAX_PATTERNS = 32
MAX_PATTERNS_TEXT = 1024
_PATTERN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-*?[]!")


def parse_patterns(text: str) -> tuple[str, ...]:
    """Comma-separated fnmatch patterns (`*`, `?`, `[...]`) of tag characters; "" is none."""
    if len(text) > MAX_PATTERNS_TEXT:
        raise Invalid(f"immutable tag patterns are limited to {MAX_PATTERNS_TEXT} characters")
    patterns = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if len(patterns) > MAX_PATTERNS:
        raise Invalid(f"at most {MAX_PATTERNS} immutable tag patterns")
    for pattern in patterns:
        if not set(pattern) <= _PATTERN_CHARS or len(pattern) > 128:
            raise Invalid(
                f"{names.shown(pattern)} is not a tag pattern: tag characters (letters, digits, '.', '_', '-')"
                " and '*', '?', '[...]', at most 128"
            )
    return patterns


def immutable_pattern(patterns: Iterable[str], tag: str) -> str | None:
    """The first pattern that makes `tag` immutable, or None."""
    return next((p for p in patterns if fnmatch.fnmatchcase(tag, p)), None)


def immutable_message(repository: str, tag: str, pattern: str, verb: str) -> str:
    return (
        f"tag {tag!r} of {repository!r} is immutable (pattern {pattern!r} of namespace"
        f" {namespace_of(repository)!r}); it cannot be {verb}"
    )


async def namespace_patterns(store: Store, repository: str) -> tuple[str, ...]:
    namespace = namespace_of(repository)
    row = await store.get_namespace(namespace) if namespace else None
    return row.immutable_tags if row is not None else ()


def refuse_immutable(repository: str, patterns: Iterable[str], tags: Iterable[str], verb: str) -> None:
    """Forbidden when any of `tags` (which a write would remove or move) is immutable."""
    for tag in tags:
        pattern = immutable_pattern(patterns, tag)
        if pattern is not None:
            raise Forbidden(immutable_message(repository, tag, pattern, verb))


async def refuse_immutable_delete(store: Store, repository: str, *, tag: str = "", digest: str = "") -> None:
    """Forbidden when deleting `tag`, or the manifest `digest` with every indexed tag that names
    it, would remove an immutable tag; a digest's tags are read only when there are patterns."""
    patterns = await namespace_patterns(store, repository)
    if patterns:
        tags = [tag] if tag else await store.tags_naming(repository, digest)
        refuse_immutable(repository, patterns, tags, "deleted")
