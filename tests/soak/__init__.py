"""The soak: a bounded mixed load over two gateway instances on MariaDB while their parts fail
(`python -m tests.soak --minutes N`; tests/soak/test_soak_short.py runs a short one in CI)."""
