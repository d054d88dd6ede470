"""Issue 20's table: a column per store, the MariaDB ÷ SQLite ratio, and each target judged."""

from __future__ import annotations

from tests.bench.common import Row
from tests.bench.targets import WARM_TOKENS, summary


def _tokens(store: str, rps: float, p99: float) -> Row:
    return Row(WARM_TOKENS, "tokens/s", rps, None, "-", "", None, detail={"p99_ms": p99}, store=store)


def _manifest(store: str, reference: str, rps: float, registry: float) -> Row:
    return Row(f"manifest GET by {reference} c=64", "req/s", rps, registry, "registry 2.8 + token auth", "", None, store=store)


def _line(table: str, label: str) -> list[str]:
    [line] = [line for line in table.splitlines() if line.startswith(f"| {label}")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_each_store_has_its_column_and_mariadb_is_divided_by_sqlite() -> None:
    table = summary([_tokens("sqlite", 8953, 12.0), _tokens("mariadb", 1054, 174.0)])
    header = table.splitlines()[0]
    assert header == "| figure (issue 20) | SQLite | MariaDB | MariaDB ÷ SQLite | target | met |"
    assert _line(table, "tokens/s") == [
        "tokens/s, 200 distinct warm users, c=64", "8,953 tokens/s (p99 12.0 ms)", "1,054 tokens/s (p99 174.0 ms)",
        "0.12x", "MariaDB >= 0.8x SQLite and >= 5,000/s, p99 <= 20 ms", "**no**",
    ]


def test_the_token_target_is_met_only_when_mariadb_keeps_up_with_sqlite_fast_enough() -> None:
    assert _line(summary([_tokens("sqlite", 9000, 12.0), _tokens("mariadb", 7500, 15.0)]), "tokens/s")[-1] == "yes"
    assert _line(summary([_tokens("sqlite", 9000, 12.0), _tokens("mariadb", 7000, 15.0)]), "tokens/s")[-1] == "**no**"
    assert _line(summary([_tokens("sqlite", 9000, 12.0), _tokens("mariadb", 7500, 25.0)]), "tokens/s")[-1] == "**no**"


def test_manifests_show_each_stores_ratio_to_registry_2_8_and_judge_mariadb() -> None:
    rows = [_manifest("sqlite", "tag", 2930, 1000), _manifest("mariadb", "tag", 680, 1000),
            _manifest("sqlite", "digest", 3590, 1000), _manifest("mariadb", "digest", 6620, 1000)]
    table = summary(rows)
    tag = _line(table, "manifest GET by tag")
    assert tag[1:5] == ["2.93x (2,930 / 1,000 req/s)", "0.68x (680 / 1,000 req/s)", "0.23x", "MariaDB >= 2x"]
    assert tag[-1] == "**no**"
    assert _line(table, "manifest GET by digest")[2] == "6.62x (6,620 / 1,000 req/s)"
    assert _line(table, "manifest GET by digest")[-1] == "yes"


def test_one_store_alone_has_no_cross_store_column() -> None:
    table = summary([_tokens("sqlite", 8953, 12.0)])
    assert table.splitlines()[0] == "| figure (issue 20) | SQLite | target | met |"
    assert _line(table, "tokens/s")[-1] == "-"  # the target speaks of MariaDB


def test_push_cpu_per_gib_is_judged_on_every_store() -> None:
    def push(store: str, cpu: float) -> Row:
        return Row("skopeo 50 MiB image push", "MB/s", 100, 110, "registry 2.8 directly", "", None,
                   detail={"gateway_cpu_s_per_gib": cpu}, store=store)

    line = _line(summary([push("sqlite", 0.9), push("mariadb", 1.9)]), "skopeo push")
    assert line[1:4] == ["0.90 s/GiB (100 MB/s, 0.91x direct)", "1.90 s/GiB (100 MB/s, 0.91x direct)", "2.11x"]
    assert line[-1] == "**no**"


def test_instances_show_the_throughput_ratio_and_the_cpu_per_request_of_one_and_all() -> None:
    row = Row("2 instances vs 1: tokens c=64, 200 warm users", "tokens/s", 1200, 1000, "one instance, the same load", "x", None,
              detail={"one_instance_cpu_ms_per_request": 0.5, "two_instances_cpu_ms_per_request": 0.55}, store="mariadb")
    line = _line(summary([row]), "N instances ÷ one on MariaDB: tokens")
    assert line[1] == "1.20x (1,000 -> 1,200 tokens/s); gateway CPU 0.50 -> 0.55 ms/req"


def test_a_run_without_any_of_the_figures_has_no_table() -> None:
    assert summary([Row("blob GET 256 MiB", "MB/s", 1, 1, "x", "", None)]) == ""


def test_a_token_figure_whose_warm_up_outlasted_the_credential_cache_says_so() -> None:
    cold = _tokens("mariadb", 5, 3000.0)
    cold.detail["credentials_partly_cold"] = True
    line = _line(summary([_tokens("sqlite", 8953, 12.0), cold]), "tokens/s")
    assert "partly cold" in line[2] and "partly cold" not in line[1]
