"""Reading the registry's collector: its output as progress, the storage its config names, and
a collector that fails, runs too long, cannot start or finds no storage."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from gateway.ops.collector import (
    CollectorFailed,
    Tally,
    blob_bytes,
    disk_usage,
    holds_no_blobs,
    registry_root,
    run_collector,
)

DIGEST = "sha256:" + "ab" * 32
# What distribution 2.8's `garbage-collect --delete-untagged` prints, abridged.
OUTPUT = f"""alice/app
alice/app: marking manifest sha256:{'1' * 64}
alice/app: marking blob sha256:{'2' * 64}
alice/old: marking manifest sha256:{'3' * 64}
manifest eligible for deletion: sha256:{'4' * 64}

5 blobs marked, 2 blobs and 1 manifests eligible for deletion
blob eligible for deletion: {DIGEST}
blob eligible for deletion: sha256:{'cd' * 32}
"""


def test_the_output_becomes_counts_and_a_fraction() -> None:
    tally = Tally()
    eligible = [d for line in OUTPUT.splitlines() if (d := tally.read(line))]
    assert eligible == [DIGEST, "sha256:" + "cd" * 32]
    assert (tally.manifests_marked, tally.blobs_marked, tally.blobs_eligible, tally.manifests_eligible) == (2, 5, 2, 1)
    assert tally.fraction() == 1.0
    assert tally.text() == "sweeping: blob 2 of 2 eligible (1 manifests eligible, 5 blobs kept)"
    assert Tally().text() == "marking: 0 manifests marked" and Tally().fraction() is None


def test_the_storage_is_found_in_the_registry_config_the_command_names(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    config.write_text('version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: "/srv/registry"  # here\n')
    assert registry_root(["registry", "garbage-collect", "--delete-untagged", str(config)]) == Path("/srv/registry")
    assert registry_root(["registry", "garbage-collect", str(tmp_path / "missing.yml")]) is None


def test_bytes_are_counted_on_disk(tmp_path: Path) -> None:
    hexa = DIGEST.removeprefix("sha256:")
    blob = tmp_path / "docker/registry/v2/blobs/sha256" / hexa[:2] / hexa / "data"
    blob.parent.mkdir(parents=True)
    blob.write_bytes(b"x" * 10_000)
    assert blob_bytes(tmp_path, [DIGEST, "sha256:" + "0" * 64]) >= 10_000
    assert disk_usage(tmp_path) == blob_bytes(tmp_path, [DIGEST])


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


async def test_a_run_reports_each_line_and_a_dry_run_says_so() -> None:
    seen: list[str] = []
    code = f"import sys; print({OUTPUT!r}); print(' '.join(sys.argv[1:]))"
    collected = await run_collector(_python(code), dry_run=True, timeout=30, progress=lambda t: seen.append(t.text()))
    assert collected.eligible == (DIGEST, "sha256:" + "cd" * 32)
    assert seen[-1] == "sweeping: blob 2 of 2 eligible (1 manifests eligible, 5 blobs kept)"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (_python("import sys; print('failed to read config'); sys.exit(3)"), "exited with status 3: failed to read config"),
        (_python("import time; time.sleep(30)"), "ran longer than 0.5 s"),
        (["/nonexistent/registry", "garbage-collect"], "could not start"),
    ],
    ids=["fails", "too-long", "missing"],
)
async def test_a_collector_that_fails_is_one_clear_error(command: list[str], message: str) -> None:
    with pytest.raises(CollectorFailed, match=message):
        await asyncio.wait_for(run_collector(command, dry_run=False, timeout=0.5, progress=lambda t: None), 20)


@pytest.mark.parametrize(
    ("said", "no_storage"),
    [
        ("failed to garbage collect: failed to mark: filesystem: Path not found: /docker/registry/v2/repositories", True),
        ("failed to garbage collect: error enumerating blobs: filesystem: Path not found: /docker/registry/v2/blobs", True),
        ("failed to garbage collect: failed to mark: filesystem: Path not found: /docker/registry/v2/repositories/a/_manifests", False),
        ("configuration error: open /etc/registry.yml: no such file or directory", False),
    ],
    ids=["no-repositories", "no-blobs", "deeper-path", "other"],
)
async def test_a_collector_failing_on_a_storage_never_pushed_to_says_so(said: str, no_storage: bool) -> None:
    """Registry 2.8 writes it to stderr, which is read with the output."""
    code = f"import sys; print({said!r}, file=sys.stderr); sys.exit(1)"
    with pytest.raises(CollectorFailed, match="exited with status 1") as failed:
        await run_collector(_python(code), dry_run=True, timeout=30, progress=lambda t: None)
    assert failed.value.no_storage is no_storage


def test_a_storage_holds_no_blobs_until_a_push_committed_one(tmp_path: Path) -> None:
    root = tmp_path / "store"
    assert not holds_no_blobs(root), "a missing storage is not an empty one"
    root.mkdir()
    assert holds_no_blobs(root)
    (root / "docker/registry/v2/repositories/alice/app/_uploads").mkdir(parents=True)
    assert holds_no_blobs(root), "an upload not finished writes no blob"
    (root / "docker/registry/v2/blobs").mkdir()
    assert not holds_no_blobs(root)
