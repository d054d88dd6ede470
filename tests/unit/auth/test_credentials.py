"""Password hashing: scrypt round trips, and how many KDF threads each serving process gets."""

from __future__ import annotations

import pytest

from gateway.auth.credentials import dummy_hash, hash_password, kdf_threads, needs_rehash, verify_password


def test_a_password_verifies_against_its_own_hash_only() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("scrypt$131072$8$1$"), "OWASP's minimum: N=2^17, r=8, p=1"
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded)
    assert not verify_password("correct horse", "bcrypt$whatever")
    assert not verify_password("correct horse", "scrypt$not$a$hash")


@pytest.mark.parametrize(
    ("cpus", "processes", "threads"), [(2, 1, 2), (2, 2, 1), (8, 2, 4), (2, 4, 1), (1, 1, 1), (4, 0, 4)]
)
def test_kdf_threads_add_up_to_one_per_cpu_across_workers(cpus: int, processes: int, threads: int) -> None:
    assert kdf_threads(cpus, processes) == threads


def test_a_hash_made_at_the_old_cost_verifies_and_asks_to_be_renewed() -> None:
    old = hash_password("correct horse", cost=14)
    assert old.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", old)
    assert needs_rehash(old) and not needs_rehash(hash_password("correct horse"))
    assert not needs_rehash(old, cost=14), "a lowered cost does not weaken stronger hashes either"
    assert needs_rehash("bcrypt$whatever")


def test_a_stored_hash_asking_for_absurd_memory_is_refused_not_run() -> None:
    assert not verify_password("x", "scrypt$1073741824$8$1$c2FsdA$ZGlnZXN0")
    assert not verify_password("x", "scrypt$16384$9999$1$c2FsdA$ZGlnZXN0")


def test_the_dummy_hash_costs_what_a_real_one_does_and_matches_nothing() -> None:
    dummy = dummy_hash()
    assert dummy.split("$")[1:4] == ["131072", "8", "1"]
    assert not verify_password("", dummy)
