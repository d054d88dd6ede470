"""The filtered walk under every service list: batches that grow while the filter keeps little,
a refused namespace skipped whole, and no read past what a page needs."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.services.paging import first_kept, kept_items, page_of

NAMES = [f"n{i:05d}" for i in range(10_000)]


class Source:
    """Sorted keys served the way a store does (`> after`, up to `n`), every read recorded."""

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = sorted(keys)
        self.reads: list[tuple[str, int]] = []

    async def fetch(self, after: str, count: int) -> list[str]:
        self.reads.append((after, count))
        return [k for k in self.keys if k > after][:count]


def _keeping(*wanted: str):  # type: ignore[no-untyped-def]
    async def keep(item: str) -> bool:
        return item in wanted

    return keep


async def test_batches_double_while_the_filter_keeps_little_so_hidden_rows_cost_few_reads() -> None:
    source = Source(NAMES)
    found = await first_kept(kept_items(source.fetch, str, "", _keeping("n09999")), 1)
    assert found == ["n09999"]
    assert [count for _, count in source.reads] == [200, 400, 800, 1600, 3200, 3200, 3200]


async def test_batches_stay_small_while_the_filter_keeps_most() -> None:
    source = Source(NAMES)

    async def most(item: str) -> bool:
        return not item.endswith("7")

    page, following = await page_of(source.fetch, str, "", 500, most)
    assert len(page) == 500 and following == page[-1]
    assert [count for _, count in source.reads] == [501, 501]


async def test_a_refused_item_ending_a_batch_is_skipped_past_with_the_rest_of_its_kind() -> None:
    keys = [f"hidden/{i:04d}" for i in range(300)] + ["hidden0", "shown/a", "shown/b"]
    source = Source(keys)

    async def keep(item: str) -> bool:
        return not item.startswith("hidden/")

    walk = kept_items(source.fetch, str, "", keep, skip=lambda item: item.split("/")[0] + "/\x7f")
    assert await first_kept(walk, 10) == ["hidden0", "shown/a", "shown/b"]
    assert [after for after, _ in source.reads] == ["", "hidden/\x7f"], "the other 100 hidden names were never read"


async def test_a_kept_item_ending_a_batch_is_read_on_from_not_skipped() -> None:
    keys = [f"a/{i:04d}" for i in range(199)] + ["b/0", "b/1"]
    source = Source(keys)

    async def keep(item: str) -> bool:
        return item != "a/0000"

    walk = kept_items(source.fetch, str, "", keep, skip=lambda item: "zzz")
    assert len(await first_kept(walk, 1000)) == 200
    assert [after for after, _ in source.reads] == ["", "b/0"]


async def test_taking_a_page_reads_no_batch_after_it_is_full() -> None:
    source = Source(NAMES)

    async def everything(item: str) -> bool:
        return True

    assert await first_kept(kept_items(source.fetch, str, "", everything), 150) == NAMES[:150]
    assert len(source.reads) == 1
    assert await first_kept(kept_items(source.fetch, str, "", everything), 0) == []
    assert len(source.reads) == 1


async def test_the_prepare_step_sees_each_batch_before_its_items_are_judged() -> None:
    source = Source(NAMES[:450])
    seen: list[int] = []
    judged: list[int] = []

    async def prepare(batch: Sequence[str]) -> None:
        seen.append(len(batch))
        judged.append(0)

    async def keep(item: str) -> bool:
        judged[-1] += 1
        return False

    assert await first_kept(kept_items(source.fetch, str, "", keep, prepare), 10) == []
    assert seen == judged == [200, 250]
