"""Schedules of maintenance runs: the two forms, their slots in UTC, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.config import ConfigError, load_settings
from gateway.ops.schedule import BadSchedule, parse_schedule


def utc(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def test_daily_slots_are_at_that_time_utc() -> None:
    schedule = parse_schedule("  Daily   3:05 ")
    assert schedule is not None and str(schedule) == "daily 03:05"
    assert schedule.last_slot(utc("2026-12-05 03:04:59")) == utc("2026-12-04 03:05:00")
    assert schedule.last_slot(utc("2026-12-05 03:05:00")) == utc("2026-12-05 03:05:00")
    assert schedule.last_slot(utc("2026-12-05 23:59:59")) == utc("2026-12-05 03:05:00")


def test_intervals_count_from_midnight_utc() -> None:
    schedule = parse_schedule("every 6h")
    assert schedule is not None
    assert schedule.last_slot(utc("2026-12-05 13:30:00")) == utc("2026-12-05 12:00:00")
    every = parse_schedule("every 30m")
    assert every is not None and every.last_slot(utc("2026-12-05 13:59:00")) == utc("2026-12-05 13:30:00")


def test_empty_is_no_schedule() -> None:
    assert parse_schedule("") is None and parse_schedule("   ") is None


@pytest.mark.parametrize("text", ["daily 24:00", "daily 3", "hourly", "every 1m", "every 0h", "every 400d", "every 5 weeks", "x" * 10_000])
def test_a_bad_schedule_is_refused_with_the_forms_expected(text: str) -> None:
    with pytest.raises(BadSchedule, match=r"daily HH:MM|between 5 minutes"):
        parse_schedule(text)


def test_a_bad_schedule_setting_is_one_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_GC_SCHEDULE": "at noon"})
    assert caught.value.key == "GATEWAY_GC_SCHEDULE" and "daily HH:MM" in str(caught.value)
    with pytest.raises(ConfigError) as quoted:
        load_settings({"GATEWAY_GC_COMMAND": "docker-registry garbage-collect 'unclosed"})
    assert quoted.value.key == "GATEWAY_GC_COMMAND"
    with pytest.raises(ConfigError, match="needs the collector's command"):
        load_settings({"GATEWAY_GC_SCHEDULE": "daily 03:00"})
    settings = load_settings({"GATEWAY_GC_COMMAND": "registry garbage-collect --delete-untagged '/etc/my registry.yml'"})
    assert settings.gc_argv == ("registry", "garbage-collect", "--delete-untagged", "/etc/my registry.yml")
