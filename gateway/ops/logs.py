"""Log output: plain text lines, or one JSON object per line (`log_format = "json"`).

In JSON every line carries time, level, logger, pid and message; access lines add their
fields (request id, user, repository, action, status, bytes, duration) at the top level.

Every line goes through one `LogOutput`, which writes lines together. An access line per
request through `logging` (a record, the caller's frame, a formatter, a write) cost the token
endpoint a quarter of its CPU on the bench machine, so access lines skip `logging` and are
formatted here directly. Lines wait at most `FLUSH_SECONDS` on the event loop's thread;
warnings and errors, lines from other threads, and lines at exit are written at once. Each
write holds whole lines and at most `PIPE_BUF` bytes, so workers sharing a pipe never interleave
inside a line.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import logging
import os
import select
import sys
import threading
import time
from typing import Any, TextIO

ACCESS_LOGGER_NAME = "gateway.access"
FLUSH_SECONDS = 0.2
_WRITE_BYTES = getattr(select, "PIPE_BUF", 4096)


@functools.lru_cache(maxsize=4)
def _local_second(second: int) -> str:
    return time.strftime(logging.Formatter.default_time_format, time.localtime(second))


def text_line(created: float, level: str, name: str, message: str) -> str:
    """`%(asctime)s %(levelname)s %(name)s: %(message)s`, with logging's own asctime."""
    second = int(created)
    return f"{_local_second(second)},{int((created - second) * 1000):03d} {level} {name}: {message}"


def json_line(created: float, level: str, name: str, pid: int | None, message: str, fields: dict[str, Any] | None) -> str:
    moment = datetime.datetime.fromtimestamp(created, datetime.UTC)
    body: dict[str, Any] = {
        "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "logger": name,
        "pid": pid,
        "message": message,
    }
    if fields:
        body.update(fields)
    return json.dumps(body, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = text_line(record.created, record.levelname, record.name, record.getMessage())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "access", None)
        body = dict(fields) if isinstance(fields, dict) else {}
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json_line(record.created, record.levelname, record.name, record.process, record.getMessage(), body)


class LogOutput:
    """The lines of this process, written to `stream` a few at a time."""

    def __init__(self, stream: TextIO, log_format: str, level: int) -> None:
        try:
            self._fd: int | None = stream.fileno()
        except (OSError, ValueError):  # a stream in memory (a test's capture): written through it
            self._fd = None
        self._stream = stream
        self.json = log_format == "json"
        self.access = level <= logging.INFO
        self._pid = os.getpid()
        self._pending: list[bytes] = []
        self._lock = threading.Lock()
        self._timer: asyncio.TimerHandle | None = None  # set and cleared on the loop's thread only
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def access_line(self, message: str, fields: dict[str, Any]) -> None:
        """An INFO line of `gateway.access`, without a `logging` record."""
        created = time.time()
        if self.json:
            line = json_line(created, "INFO", ACCESS_LOGGER_NAME, self._pid, message, fields)
        else:
            line = text_line(created, "INFO", ACCESS_LOGGER_NAME, message)
        self.add(line, urgent=False)

    def add(self, line: str, *, urgent: bool) -> None:
        with self._lock:
            self._pending.append((line + "\n").encode("utf-8", "backslashreplace"))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if urgent or loop is None:
            self.flush()
        elif self._timer is None or self._timer_loop is not loop:  # a loop that ended never fires its timer
            self._timer, self._timer_loop = loop.call_later(FLUSH_SECONDS, self._on_timer), loop

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending:
                return
            self._stream.flush()  # whatever was printed to it directly goes first
            batch: list[bytes] = []
            size = 0
            for line in pending:
                if batch and size + len(line) > _WRITE_BYTES:
                    self._write(b"".join(batch))
                    batch, size = [], 0
                batch.append(line)
                size += len(line)
            self._write(b"".join(batch))

    def _write(self, data: bytes) -> None:
        try:
            if self._fd is None:
                self._stream.write(data.decode("utf-8"))
                self._stream.flush()
                return
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view):]
        except OSError:
            pass  # nowhere to report it: stderr is where it would go


class OutputHandler(logging.Handler):
    """The root handler: records formatted, then written by the `LogOutput`."""

    def __init__(self, output: LogOutput) -> None:
        super().__init__()
        self.output = output

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging's own contract: a bad record is reported, not raised
            self.handleError(record)
            return
        self.output.add(line, urgent=record.levelno >= logging.WARNING)

    def flush(self) -> None:
        self.output.flush()


def configure_logging(level: str, log_format: str) -> None:
    """Send every log record to stderr in the chosen format (replacing earlier handlers)."""
    output = LogOutput(sys.stderr, log_format, logging.getLevelName(level))
    handler = OutputHandler(output)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def log_output() -> LogOutput | None:
    """The output `configure_logging` installed, if it did (access lines go to it directly)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, OutputHandler):
            return handler.output
    return None
