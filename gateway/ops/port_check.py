"""Is the listening port free? Asked by the supervisor of `serve --workers N` before it starts them.

Workers bind with SO_REUSEPORT, and Linux lets any process of the same user add a SO_REUSEPORT
socket to a port where others listen the same way: a second multi-worker gateway (another
database, another signing key) would start without a word and the kernel would split the
connections between the two. A probe without SO_REUSEPORT cannot join such a group, nor a plain
listener, so its bind fails exactly when the port is taken (SO_REUSEADDR keeps connections in
TIME_WAIT from an earlier run out of it), and the operator gets one line instead of one per worker.
"""

from __future__ import annotations

import errno
import socket


class PortTaken(Exception):
    """The message is the one line shown."""


def refuse_taken_port(host: str, port: int) -> None:
    """Raise PortTaken when something already listens on `host:port` (every address it names)."""
    addresses = {
        (family, address[:2])
        for family, _, _, _, address in socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        if family in (socket.AF_INET, socket.AF_INET6)
    }
    for family, address in sorted(addresses, key=str):
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                raise PortTaken(
                    f"cannot listen on {host}:{port}: address already in use (another gateway or program listens there)"
                ) from None
