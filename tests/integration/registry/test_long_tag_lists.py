"""A long tag list (thousands of tags: more than arrives from the registry in one piece) is read
whole and paged, every time."""

from __future__ import annotations

import aiohttp

from tests.support.client import bearer
from tests.support.processes import Gateway, Registry

TAGS = sorted(f"v{k // 100}.{k % 100}.0-build{k:05d}" for k in range(1500))


def _tags_in_storage(registry: Registry, repository: str) -> None:
    """The tags as registry 2.8 lists them: a directory each under the repository's storage."""
    base = registry.store / "docker/registry/v2/repositories" / repository / "_manifests/tags"
    for tag in TAGS:
        (base / tag / "current").mkdir(parents=True, exist_ok=True)
        (base / tag / "current" / "link").write_text("sha256:" + "0" * 64)


async def test_every_page_of_a_long_tag_list_arrives(gateway: Gateway, registry: Registry) -> None:
    _tags_in_storage(registry, "alice/many-tags")
    async with aiohttp.ClientSession() as session:
        headers = await bearer(session, gateway.url, gateway.host, "alice", "repository:alice/many-tags:pull")
        for _ in range(2):
            paged: list[str] = []
            url: str | None = f"{gateway.url}/v2/alice/many-tags/tags/list?n=100"
            while url is not None:
                async with session.get(url, headers=headers) as response:
                    assert response.status == 200, await response.text()
                    paged += (await response.json())["tags"]
                    link = response.headers.get("Link")
                url = None if link is None else gateway.url + link.split(">")[0].lstrip("<")
            assert paged == TAGS
