"""Where each upload stands, on both stores: a just-opened upload's row is inserted first (one
statement), and ends as the UPDATE-first way leaves it whatever the table already held."""

from __future__ import annotations

import pytest

from gateway.store import Store, UploadState


@pytest.mark.parametrize("new", [False, True], ids=["update-first", "insert-first"])
async def test_every_way_of_saving_ends_with_the_same_row(store: Store, new: bool) -> None:
    await store.save_upload(UploadState("fresh", "team/app", 0, "s0"), new=new)
    assert await store.get_upload("fresh", "team/app") == UploadState("fresh", "team/app", 0, "s0")

    await store.save_upload(UploadState("kept", "team/app", 0, "s0"))
    await store.save_upload(UploadState("kept", "team/app", 10, "s1"), new=new)
    assert await store.get_upload("kept", "team/app") == UploadState("kept", "team/app", 10, "s1")

    await store.save_upload(UploadState("elsewhere", "team/other", 0, "s0"))
    await store.save_upload(UploadState("elsewhere", "team/app", 20, "s2"), new=new)
    assert await store.get_upload("elsewhere", "team/other") == UploadState("elsewhere", "team/other", 20, "s2")
    assert await store.get_upload("elsewhere", "team/app") is None


async def test_a_new_upload_is_one_statement(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    statements: list[str] = []
    execute = store.execute

    async def counted(sql: str, params: object = None) -> int:
        statements.append(sql.split()[0])
        return await execute(sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "execute", counted)
    await store.save_upload(UploadState("opened", "team/app", 0, "s0"), new=True)
    assert statements == ["INSERT"]
