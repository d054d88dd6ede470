"""Password hashing: scrypt round trips, and how many KDF threads each serving process gets."""

from __future__ import annotations

import pytest

from gateway.auth.credentials import hash_password, kdf_threads, verify_password


def test_a_password_verifies_against_its_own_hash_only() -> None:
    encoded = hash_password("correct horse")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("correct horse", encoded)
    assert not verify_password("correct horsE", encoded)
    assert not verify_password("correct horse", "bcrypt$whatever")
    assert not verify_password("correct horse", "scrypt$not$a$hash")


@pytest.mark.parametrize(
    ("cpus", "processes", "threads"), [(2, 1, 2), (2, 2, 1), (8, 2, 4), (2, 4, 1), (1, 1, 1), (4, 0, 4)]
)
def test_kdf_threads_add_up_to_one_per_cpu_across_workers(cpus: int, processes: int, threads: int) -> None:
    assert kdf_threads(cpus, processes) == threads
