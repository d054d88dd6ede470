"""How far an import is: a bar on a terminal, counts per kind in the log otherwise (a Portus
database with years of activity takes a while, and a silent command looks hung)."""

from __future__ import annotations

import logging
import time
from typing import TextIO

log = logging.getLogger("gateway.portus")

_REDRAW_SECONDS = 0.1
_WIDTH = 30


class TerminalProgress:
    """One line redrawn in place: `kind [#####.....] done/total`, at most ten times a second."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._kind = ""
        self._total = 0
        self._done = 0
        self._drawn = 0.0

    def reading(self, table: str, rows: int) -> None:
        self._stream.write(f"\r\x1b[Kreading Portus's {table}: {rows} rows")
        self._stream.flush()

    def start(self, kind: str, total: int) -> None:
        self._kind, self._total, self._done = kind, total, 0
        self._draw(force=True)

    def advance(self, count: int = 1) -> None:
        self._done += count
        self._draw(force=self._done >= self._total)

    def finish(self) -> None:
        self._stream.write("\r\x1b[K")
        self._stream.flush()

    def _draw(self, *, force: bool) -> None:
        moment = time.monotonic()
        if not force and moment - self._drawn < _REDRAW_SECONDS:
            return
        self._drawn = moment
        filled = _WIDTH * self._done // self._total if self._total else _WIDTH
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(f"\r\x1b[K{self._kind:<10} [{bar}] {self._done}/{self._total}")
        self._stream.flush()


class LogProgress:
    """A log line per table read and per kind written, with its count."""

    def __init__(self) -> None:
        self._kind = ""
        self._total = 0

    def reading(self, table: str, rows: int) -> None:
        log.info("read %d rows of Portus's %s so far", rows, table)

    def start(self, kind: str, total: int) -> None:
        self._kind, self._total = kind, total
        log.info("importing %d %s row(s)", total, kind)

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        log.info("import finished writing")
