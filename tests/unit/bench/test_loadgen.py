"""Load generator helpers: concurrent runs added up, and the wrk script that rotates users."""

from __future__ import annotations

import pytest

from tests.bench.loadgen import LoadResult, combined, rotating_lua


def test_runs_at_the_same_time_add_their_requests_and_cpu_and_keep_the_worst_latency() -> None:
    run = combined([LoadResult(1000, 5.0, 1.0, 10.0, 1, 0.5, 2.0, 1.5), LoadResult(3000, 5.2, 2.0, 8.0, 2, 0.7, 1.0, 0.5)])
    assert run == LoadResult(4000, 5.2, 2.0, 10.0, 3, 0.7, 3.0, 2.0)
    assert run.rps == pytest.approx(4000 / 5.2)


def test_combining_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no runs"):
        combined([])


def test_the_rotating_script_holds_each_request_quoted_for_lua() -> None:
    script = rotating_lua([("/v2/token?a=1", "Basic eDp5"), ('/q"\\', "Basic z")])
    assert '{"/v2/token?a=1", "Basic eDp5"}' in script
    assert '{"/q\\034\\092", "Basic z"}' in script
    assert "request = function()" in script and "BENCH" in script


def test_a_rotation_without_requests_is_refused() -> None:
    with pytest.raises(ValueError, match="no requests"):
        rotating_lua([])
