"""What a manifest tells of the image behind it, for the tags page and /api/v1: an image
manifest's image size (its config and layers, as the manifest lists them) and an index's
platforms. Pure: a parsed JSON document in, bounded facts out; nothing here trusts the shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# An index may list any number of manifests: the platforms kept are bounded both ways.
MAX_PLATFORMS = 32
MAX_PLATFORMS_TEXT = 1024
# Where a size is absurd (no registry holds 2**63 bytes) it is taken as unknown.
_MAX_SIZE = 2**62
_PART_LIMIT = 128  # one os, architecture or variant; longer is not a platform


@dataclass(frozen=True)
class ImageFacts:
    """`size`: config + layers of an image manifest, None when unknown (an index, whose
    children's sizes it does not carry). `platforms`: an index's `os/arch[/variant]`, in order,
    without repeats and without attestation entries (`unknown/unknown`)."""

    size: int | None = None
    platforms: tuple[str, ...] = ()

    @property
    def platforms_text(self) -> str | None:
        """The platforms as the index stores them: space-separated, None when there are none."""
        return " ".join(self.platforms) or None


def _size(descriptor: Any) -> int | None:
    if not isinstance(descriptor, dict):
        return None
    size = descriptor.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= _MAX_SIZE:
        return None
    return size


def image_size(document: dict[str, Any]) -> int | None:
    """Config size plus every layer's size; None unless the manifest has a config and a layer
    list whose every entry gives a whole, non-negative size."""
    config, layers = document.get("config"), document.get("layers")
    if not isinstance(layers, list):
        return None
    sizes = [_size(config), *(_size(layer) for layer in layers)]
    if any(size is None for size in sizes):
        return None
    total = sum(size for size in sizes if size is not None)
    return total if total <= _MAX_SIZE else None


def _part(value: Any) -> str | None:
    if not isinstance(value, str) or not value or len(value) > _PART_LIMIT:
        return None
    if any(c.isspace() or c == "/" or not c.isprintable() for c in value):
        return None
    return value


def _platform(entry: Any) -> str | None:
    platform = entry.get("platform") if isinstance(entry, dict) else None
    if not isinstance(platform, dict):
        return None
    os_name, architecture = _part(platform.get("os")), _part(platform.get("architecture"))
    if os_name is None or architecture is None or (os_name, architecture) == ("unknown", "unknown"):
        return None
    variant = _part(platform.get("variant")) if platform.get("variant") is not None else None
    return f"{os_name}/{architecture}" + (f"/{variant}" if variant else "")


def platforms(document: dict[str, Any]) -> tuple[str, ...]:
    """An index's platforms (at most MAX_PLATFORMS, in MAX_PLATFORMS_TEXT characters joined)."""
    entries = document.get("manifests")
    if not isinstance(entries, list):
        return ()
    kept: list[str] = []
    length = 0
    for entry in entries:
        platform = _platform(entry)
        if platform is None or platform in kept:
            continue
        added = len(platform) + (1 if kept else 0)
        if len(kept) == MAX_PLATFORMS or length + added > MAX_PLATFORMS_TEXT:
            break
        kept.append(platform)
        length += added
    return tuple(kept)


def image_facts(document: Any) -> ImageFacts:
    """The facts of a parsed manifest: an index (a `manifests` list) has platforms and no size;
    an image manifest has a size; anything else has neither."""
    if not isinstance(document, dict):
        return ImageFacts()
    if "manifests" in document:
        return ImageFacts(None, platforms(document))
    return ImageFacts(image_size(document), ())
