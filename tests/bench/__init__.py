"""The benchmark suite of issue 7: `python -m tests.bench [--quick] [--out FILE]`.

It starts real processes on free loopback ports (a distribution 2.8 registry, the same storage
served by a second registry doing its own token auth the Portus way, and the gateway, once per
store: SQLite and MariaDB), measures every figure side by side in one run, alternating the two
sides, and prints a table (and JSON).
Not collected by pytest (pyproject's norecursedirs).
"""
