"""Per-tag "last pulled": recorded from the batched pull events (one flush, a few UPDATEs), by tag
for a pull by tag and for every tag naming the digest for a pull by digest; a tag moved to
another manifest forgets it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.events.capture import Exchange, event_for
from gateway.events.model import Event
from gateway.events.recorder import EventRecorder, pull_marks
from gateway.registry.routes import Route
from gateway.store import Deadlock, ManifestRow, Store, open_store

REPOSITORY = "alice/app"
ONE = "sha256:" + "1" * 64
TWO = "sha256:" + "2" * 64
THREE = "sha256:" + "3" * 64
MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"


def _pull(reference: str, digest: str) -> Exchange:
    return Exchange(
        route=Route("manifest", REPOSITORY, reference), method="GET", query={}, status=200, request_headers={},
        response_headers={"Docker-Content-Digest": digest, "Content-Type": MEDIA_TYPE, "Content-Length": "10"},
        remote="127.0.0.1", origin="http://gateway", subject="alice", app_token="",
    )


async def _push(store: Store, digest: str, tag: str, at: int = 10) -> None:
    await store.index_push(ManifestRow(REPOSITORY, digest, MEDIA_TYPE, 10, None, None, None, at), tag)


async def _pulled(store: Store) -> dict[str, int | None]:
    return {t.tag: t.last_pull_at for t in await store.list_tags(REPOSITORY)}


def _at(exchange: Exchange, at: float) -> Event:
    event = event_for(exchange, now=at)
    assert event is not None
    return event


async def test_a_pull_by_tag_marks_that_tag_and_one_by_digest_every_tag_naming_it(store: Store) -> None:
    for digest, tag in ((ONE, "v1"), (ONE, "stable"), (TWO, "v2"), (TWO, "latest"), (THREE, "v3")):
        await _push(store, digest, tag)
    batch = [_at(_pull("v1", ONE), 100), _at(_pull("v1", ONE), 90), _at(_pull(TWO, TWO), 200), _at(_pull("v3", THREE), 100)]
    assert len(pull_marks(batch)) == 3  # the latest of each
    await store.index_pulls(pull_marks(batch))
    assert await _pulled(store) == {"latest": 200, "stable": None, "v1": 100, "v2": 200, "v3": 100}
    assert (await store.get_repository(REPOSITORY)).last_pull_at == 200  # type: ignore[union-attr]

    await store.index_pulls(pull_marks([_at(_pull("v2", TWO), 150)]))  # a slower instance's batch: time never goes back
    assert (await _pulled(store))["v2"] == 200
    assert (await store.get_repository(REPOSITORY)).last_pull_at == 200  # type: ignore[union-attr]

    await _push(store, THREE, "v1", at=300)  # moved: the image it names now was never pulled
    await _push(store, TWO, "v2", at=300)  # pushed again as it was: still the image pulled
    assert await _pulled(store) == {"latest": 200, "stable": None, "v1": None, "v2": 200, "v3": 100}


async def test_the_recorder_marks_the_tag_when_it_flushes_its_batch(tmp_path: Path) -> None:
    """On SQLite only: the store's side is the test above's, on both."""
    store = await open_store(f"sqlite:///{tmp_path / 'store.db'}")
    await store.migrate()
    try:
        await _recorded_and_flushed(store)
    finally:
        await store.close()


async def _recorded_and_flushed(store: Store) -> None:
    await _push(store, ONE, "v1")
    recorder = EventRecorder(store, "test:5000")
    before = int(time.time())
    await recorder.observe(_pull("v1", ONE))
    assert await _pulled(store) == {"v1": None}, "nothing is written per request"
    assert await recorder.flush() == 1
    pulled = (await _pulled(store))["v1"]
    assert pulled is not None and pulled >= before


def _push_exchange(tag: str, digest: str) -> Exchange:
    return Exchange(
        route=Route("manifest", REPOSITORY, tag), method="PUT", query={}, status=201, request_headers={"Content-Type": MEDIA_TYPE},
        response_headers={"Docker-Content-Digest": digest, "Location": f"/v2/{REPOSITORY}/manifests/{digest}"},
        remote="127.0.0.1", origin="http://gateway", subject="alice", app_token="", manifest=b"{}",
    )


async def test_a_push_whose_indexing_was_a_deadlock_victim_is_indexed_on_the_next_try(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two instances indexing one repository's pushes and pull batches at once can deadlock on
    MariaDB; the push that lost was answered 503 before, though running it again is all it needs."""
    real, failures = store.index_push, [Deadlock("Deadlock found when trying to get lock")]

    async def index_push(row: ManifestRow, tag: str | None) -> None:
        if failures:
            raise failures.pop()
        await real(row, tag)

    monkeypatch.setattr(store, "index_push", index_push)
    await EventRecorder(store, "test:5000").observe(_push_exchange("v1", ONE))
    assert [(t.tag, t.digest) for t in await store.list_tags(REPOSITORY)] == [("v1", ONE)]
    assert not failures
