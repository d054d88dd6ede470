"""Named parameters turned into the styles the drivers bind fastest."""

from __future__ import annotations

from gateway.store.base import named_to_pyformat, named_to_qmark


def test_qmark_keeps_the_order_and_repeats_of_names() -> None:
    sql = "UPDATE t SET a = :a, b = :b WHERE a < :a AND c = :c_1"
    assert named_to_qmark(sql) == ("UPDATE t SET a = ?, b = ? WHERE a < ? AND c = ?", ("a", "b", "a", "c_1"))


def test_casts_and_times_are_not_parameters() -> None:
    sql = "SELECT CAST(x AS TEXT)::text, '12:30' FROM t WHERE y = :y"
    assert named_to_qmark(sql) == ("SELECT CAST(x AS TEXT)::text, '12:30' FROM t WHERE y = ?", ("y",))
    assert named_to_pyformat(sql) == "SELECT CAST(x AS TEXT)::text, '12:30' FROM t WHERE y = %(y)s"


def test_a_statement_without_parameters_is_unchanged() -> None:
    assert named_to_qmark("SELECT 1") == ("SELECT 1", ())
