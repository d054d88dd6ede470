"""The secrets key file and AES-GCM sealing: versioned values, plain text passed through,
tampering and wrong keys refused, the key file created 0600 and checked."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.auth.sealing import PREFIX, Sealer, SecretsKeyError, Unsealable, load_or_create_sealer, new_key, read_keys


def test_a_sealed_value_opens_in_its_own_context_only() -> None:
    sealer = Sealer([new_key()])
    sealed = sealer.seal("s3cret", "webhook 'a' secret")
    assert sealed.startswith(f"{PREFIX}{sealer.current_key_id}:") and "s3cret" not in sealed
    assert sealer.open(sealed, "webhook 'a' secret") == "s3cret"
    assert sealer.seal("s3cret", "webhook 'a' secret") != sealed, "a fresh nonce every time"
    with pytest.raises(Unsealable):
        sealer.open(sealed, "webhook 'b' secret")
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(Unsealable):
        sealer.open(tampered, "webhook 'a' secret")
    assert sealer.open("plain from an older version", "x") == "plain from an older version"


def test_the_first_key_seals_and_every_key_opens() -> None:
    old, fresh = new_key(), new_key()
    sealed_before = Sealer([old]).seal("v", "c")
    both = Sealer([fresh, old])
    assert both.open(sealed_before, "c") == "v" and not both.is_current(sealed_before)
    assert both.is_current(both.seal("v", "c"))
    with pytest.raises(Unsealable, match="does not hold"):
        Sealer([fresh]).open(sealed_before, "c")


def test_the_key_file_is_created_private_once_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "secrets.key"
    first = load_or_create_sealer(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_sealer(path).current_key_id == first.current_key_id
    assert len(read_keys(path)) == 1


@pytest.mark.parametrize("content", ["", "not base64!\n", "c2hvcnQ=\n", "\xff\n"])
def test_a_malformed_key_file_is_refused_with_its_path(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secrets.key"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(SecretsKeyError, match=r"secrets\.key"):
        read_keys(path)
