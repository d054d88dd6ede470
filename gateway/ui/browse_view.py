"""What the browsing pages show of the index's rows: sizes and times for people, short digests,
the pull commands, and paging links. Formatting only; what may be seen is decided before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiohttp import web

from gateway import names
from gateway.services.errors import Invalid
from gateway.store import ManifestRow, TagRow

DEFAULT_PAGE = 25
MAX_PAGE = 100
_UNITS = ("KiB", "MiB", "GiB", "TiB")
_SHORT_HEX = 12


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


def short_digest(digest: str) -> str:
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:_SHORT_HEX]}" if hex_part else digest[:_SHORT_HEX]


@dataclass(frozen=True)
class Moment:
    text: str
    iso: str


def moment(seconds: int | None) -> Moment | None:
    if seconds is None:
        return None
    at = datetime.fromtimestamp(seconds, UTC)
    return Moment(at.strftime("%Y-%m-%d %H:%M UTC"), at.isoformat())


@dataclass(frozen=True)
class Referrer:
    kind: str
    digest: str
    short: str
    size: str


@dataclass(frozen=True)
class TagView:
    tag: str
    digest: str
    short: str
    media_type: str
    size: str  # the image's (config and layers); "-" when unknown (an index, or indexed before)
    manifest_size: str
    platforms: tuple[str, ...]
    pushed: Moment | None
    pushed_by: str | None
    referrers: list[Referrer]
    docker_pull: str
    podman_pull: str
    immutable: str | None = None  # the pattern that makes it immutable
    pulled: Moment | None = None


def tag_view(
    row: TagRow, host: str, pushed_by: str | None, referrers: list[ManifestRow], immutable: str | None = None
) -> TagView:
    reference = f"{host}/{row.repository}:{row.tag}"
    return TagView(
        row.tag, row.digest, short_digest(row.digest), row.media_type,
        "-" if row.image_size is None else human_size(row.image_size), human_size(row.size), row.platforms,
        moment(row.pushed_at), pushed_by,
        [Referrer(r.artifact_type or r.media_type, r.digest, short_digest(r.digest), human_size(r.size)) for r in referrers],
        f"docker pull {reference}", f"podman pull {reference}", immutable, moment(row.last_pull_at),
    )


def query_text(request: web.Request, name: str, longest: int = names.MAX_NAME_LENGTH) -> str:
    value = request.query.get(name, "")
    if len(value) > longest:
        raise Invalid(f"{name} is too long (at most {longest} characters)")
    return value


def page_size(request: web.Request, default: int = DEFAULT_PAGE) -> int:
    """`?limit=` (1 to 100), else `default`."""
    text = request.query.get("limit", "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
        raise Invalid(f"limit must be a whole number from 1 to {MAX_PAGE}")
    return int(text)


def next_link(request: web.Request, parameter: str, key: str | None) -> str | None:
    """This page's URL going on after `key` (None at the end)."""
    return None if key is None else str(request.rel_url.update_query({parameter: key}))
