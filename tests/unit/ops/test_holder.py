"""Webhook lease holder ids: stable across restarts of one instance, distinct between live
processes (workers of one instance, or two instances given one data dir by mistake)."""

from __future__ import annotations

from pathlib import Path

from gateway.ops.holder import INSTANCE_FILE, holder_id, lease_holder, load_or_create_instance_id, parse_instance_id


def test_a_holder_id_fits_the_lease_column_and_names_the_worker_and_host() -> None:
    instance = "0" * 32
    assert len(holder_id(instance, 2**63, "h" * 255)) <= 64
    assert holder_id(instance, 0, "gw1") != holder_id(instance, 1, "gw1")
    assert holder_id(instance, 0, "gw1") != holder_id(instance, 0, "gw2"), "a data dir copied to another host"


def test_the_instance_id_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    first = load_or_create_instance_id(tmp_path)
    assert load_or_create_instance_id(tmp_path) == first
    assert (tmp_path / INSTANCE_FILE).stat().st_mode & 0o077 == 0
    other = tmp_path / "other"
    other.mkdir()
    assert load_or_create_instance_id(other) != first


def test_a_damaged_instance_id_file_is_written_anew(tmp_path: Path) -> None:
    (tmp_path / INSTANCE_FILE).write_text("not an id\n")
    fresh = load_or_create_instance_id(tmp_path)
    assert parse_instance_id(fresh) == fresh
    assert parse_instance_id((tmp_path / INSTANCE_FILE).read_text()) == fresh


def test_a_restarted_process_gets_the_holder_id_it_had(tmp_path: Path) -> None:
    with lease_holder(tmp_path, 0) as before:
        pass
    with lease_holder(tmp_path, 0) as after:
        assert after == before


def test_live_processes_never_share_a_holder_id(tmp_path: Path) -> None:
    with lease_holder(tmp_path, 0) as worker0, lease_holder(tmp_path, 1) as worker1:
        assert worker0 != worker1
        assert worker0.split("/")[0] == worker1.split("/")[0], "workers of one instance share its id"
        with lease_holder(tmp_path, 0) as same_dir_and_index:  # a second instance on this data dir
            assert same_dir_and_index not in (worker0, worker1)
    with lease_holder(tmp_path, 0) as again:
        assert again == worker0


def test_without_a_data_dir_each_process_has_its_own_random_holder_id() -> None:
    with lease_holder(None, 0) as first, lease_holder(None, 0) as second:
        assert first != second
