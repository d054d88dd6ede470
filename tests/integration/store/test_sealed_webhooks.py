"""Webhook URLs, secrets and header values at rest: sealed in the row, read back whole, on both stores;
rows from a version before sealing still read and are sealed by `reseal_webhooks`."""

from __future__ import annotations

import json

import pytest

from gateway.auth.sealing import Sealer, Unsealable, new_key
from gateway.store import PlainText, Store, Webhook, base, open_store

SECRET = "hook-secret-3f9a1c"
URL = "https://hooks.example.com/services/T0/B0/url-token-5e1d"
HEADER_VALUE = "Bearer header-credential-77e2"


def _hook(name: str, secret: str = SECRET, url: str = URL) -> Webhook:
    return Webhook(name, url, secret, {"Authorization": HEADER_VALUE}, ("push",), "", "api", 0)


async def _raw(store: Store, name: str) -> str:
    row = await store.fetch_one("SELECT * FROM webhooks WHERE name = :name", {"name": name})
    assert row is not None
    return " ".join(str(v) for v in row.values())


async def test_the_stored_row_holds_neither_the_secret_nor_a_header_value(store: Store) -> None:
    store.use_sealer(Sealer([new_key()]))
    long_secret = "s" * 255  # the longest the API takes: sealed, it outgrows the old VARCHAR(255)
    long_url = URL + "/" + "p" * (2048 - len(URL) - 1)  # and the longest URL the old VARCHAR(2048)
    await store.add_webhook(_hook("sealed"), 1)
    await store.add_webhook(_hook("long", long_secret, long_url), 1)
    for name in ("sealed", "long"):
        raw = await _raw(store, name)
        assert SECRET not in raw and HEADER_VALUE not in raw and "url-token" not in raw and "s" * 40 not in raw
        assert "pgs1:" in raw
    read = await store.get_webhook("sealed")
    assert read is not None and read.secret == SECRET and read.headers == {"Authorization": HEADER_VALUE} and read.url == URL
    assert [(h.secret, h.url) for h in await store.list_webhooks()] == [(long_secret, long_url), (SECRET, URL)]
    await store.update_webhook(_hook("sealed", "changed-secret-99"))
    assert "changed-secret-99" not in await _raw(store, "sealed")
    assert (await store.get_webhook("sealed")).secret == "changed-secret-99"  # type: ignore[union-attr]


async def test_a_plain_text_row_of_an_older_version_reads_and_is_then_sealed(store: Store) -> None:
    store.use_sealer(PlainText())  # as a version before sealing wrote it
    await store.add_webhook(_hook("old"), 1)
    assert SECRET in await _raw(store, "old")
    store.use_sealer(Sealer([new_key()]))
    read = await store.get_webhook("old")
    assert read is not None and read.secret == SECRET and read.headers == {"Authorization": HEADER_VALUE}
    assert await store.reseal_webhooks() == (1, [])
    raw = await _raw(store, "old")
    assert SECRET not in raw and HEADER_VALUE not in raw and "url-token" not in raw
    assert (await store.get_webhook("old")) == read
    assert await store.reseal_webhooks() == (0, []), "sealed rows are left alone"


async def test_a_new_key_seals_every_row_again_and_the_old_key_alone_no_longer_opens_them(store: Store) -> None:
    old, fresh = new_key(), new_key()
    store.use_sealer(Sealer([old]))
    await store.add_webhook(_hook("a"), 1)
    await store.add_webhook(_hook("b"), 1)
    store.use_sealer(Sealer([fresh, old]))
    assert await store.reseal_webhooks() == (2, [])
    store.use_sealer(Sealer([fresh]))
    assert [h.secret for h in await store.list_webhooks()] == [SECRET, SECRET]
    store.use_sealer(Sealer([old]))
    with pytest.raises(Unsealable):
        await store.get_webhook("a")


async def test_a_sealed_secret_copied_into_another_row_does_not_open(store: Store) -> None:
    store.use_sealer(Sealer([new_key()]))
    await store.add_webhook(_hook("victim"), 1)
    await store.add_webhook(_hook("attacker", "attacker-secret"), 1)
    await store.execute(
        "UPDATE webhooks SET secret = (SELECT secret FROM (SELECT secret FROM webhooks WHERE name = 'victim') AS v)"
        " WHERE name = 'attacker'"
    )
    with pytest.raises(Unsealable):
        await store.get_webhook("attacker")
    sealed, problems = await store.reseal_webhooks()
    assert sealed == 0 and problems == []  # sealed with the current key: not touched, still unreadable


async def test_webhooks_stored_before_migration_8_survive_it(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = tuple(m for m in base.MIGRATIONS if m[0] < 8)
    opened = await open_store(database_url)
    try:
        monkeypatch.setattr(base, "MIGRATIONS", before)
        await opened.migrate()
        # A row as a gateway of that time wrote it, in plain text (add_webhook writes today's columns).
        await opened.execute(
            "INSERT INTO webhooks (name, url, secret, headers, actions, repository_pattern, source, cursor_seq,"
            " leased_by, lease_until, created_at) VALUES ('kept', :url, :secret, :headers, 'push', '', 'api', 0, NULL, 0, 1)",
            {"url": URL, "secret": SECRET, "headers": json.dumps({"Authorization": HEADER_VALUE})},
        )
        monkeypatch.undo()
        assert (await opened.migrate())[0] == 8
        opened.use_sealer(Sealer([new_key()]))
        assert await opened.get_webhook("kept") == _hook("kept")
        assert await opened.reseal_webhooks() == (1, [])
        assert SECRET not in await _raw(opened, "kept")
    finally:
        await opened.close()
