"""The full table: a store column when a run measured more than one, each figure's stores adjacent."""

from __future__ import annotations

from tests.bench.common import Row
from tests.bench.report import markdown, row_of


def _row(figure: str, store: str) -> Row:
    return Row(figure, "req/s", 100, None, "-", "t", None, store=store)


def test_rows_of_one_figure_stand_together_with_their_store_named() -> None:
    rows = [_row("a", "sqlite"), _row("b", "sqlite"), _row("a", "mariadb"), _row("b", "mariadb")]
    lines = markdown(rows).splitlines()
    assert lines[0].startswith("| figure | store | gateway |")
    assert [line.split("|")[1:3] for line in lines[2:]] == [
        [" a ", " SQLite "], [" a ", " MariaDB "], [" b ", " SQLite "], [" b ", " MariaDB "],
    ]


def test_a_single_store_run_keeps_the_table_it_always_had() -> None:
    assert markdown([_row("a", "sqlite")]).splitlines()[0] == "| figure | gateway | compared with | ratio | target | met |"


def test_a_saved_row_keeps_its_store_and_older_runs_read_as_sqlite() -> None:
    saved = _row("a", "mariadb").as_dict()
    assert row_of(saved).store == "mariadb"
    del saved["store"]
    assert row_of(saved).store == "sqlite"
