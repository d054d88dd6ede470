"""Log lines: the same text as logging's own format, JSON with the access fields on top, and
access lines written in batches of whole lines, soon, and at once for warnings."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
from pathlib import Path
from typing import Any

from gateway.ops.logs import FLUSH_SECONDS, JsonFormatter, LogOutput, TextFormatter, text_line


def _record(created: float, level: int = logging.INFO, message: str = "hello %s", args: tuple[Any, ...] = ("world",)) -> logging.LogRecord:
    record = logging.LogRecord("gateway.test", level, __file__, 1, message, args, None)
    record.created = created
    record.msecs = int((created - int(created)) * 1000) + 0.0
    return record


def test_text_lines_read_as_logging_writes_them() -> None:
    reference = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for created in (1_700_000_000.0, 1_700_000_000.0049, 1_700_000_123.999, 1_764_201_599.5):
        record = _record(created)
        assert TextFormatter().format(record) == reference.format(record)
        assert text_line(created, "INFO", "gateway.test", "hello world") == reference.format(record)


def test_json_lines_carry_the_access_fields_at_the_top() -> None:
    record = _record(1_700_000_000.25)
    record.access = {"status": 200, "path": "/v2/"}
    body = json.loads(JsonFormatter().format(record))
    assert body == {
        "time": "2023-11-14T22:13:20.250Z", "level": "INFO", "logger": "gateway.test", "pid": record.process,
        "message": "hello world", "status": 200, "path": "/v2/",
    }


class _Recorded(LogOutput):
    """A LogOutput that also keeps each write it makes (to look at how lines were grouped)."""

    writes: list[bytes]

    def _write(self, data: bytes) -> None:
        self.writes.append(data)
        super()._write(data)


def _output(path: Path, log_format: str = "text") -> _Recorded:
    output = _Recorded(path.open("w"), log_format, logging.INFO)
    output.writes = []
    return output


async def test_writes_hold_whole_lines_and_at_most_a_pipe_buffer(tmp_path: Path) -> None:
    output = _output(tmp_path / "log")
    lines = [f"line {i} " + "x" * (100 + 3 * i) for i in range(60)] + ["long " + "y" * 9000, "after"]
    for line in lines:
        output.access_line(line, {})
    output.flush()
    written = (tmp_path / "log").read_text().splitlines()
    assert [w.split(": ", 1)[1] for w in written] == lines
    assert 3 <= len(output.writes) <= 10, "lines are written together"
    assert all(w.endswith(b"\n") for w in output.writes)
    assert all(len(w) <= 4096 for w in output.writes if w.count(b"\n") > 1), "batches fit a pipe's atomic write"


def test_without_an_event_loop_lines_are_written_at_once(tmp_path: Path) -> None:
    output = _output(tmp_path / "log")
    output.access_line("from the CLI", {})
    assert (tmp_path / "log").read_text().endswith("from the CLI\n")


async def test_access_lines_wait_briefly_and_warnings_go_out_at_once(tmp_path: Path) -> None:
    output = _output(tmp_path / "log", "json")
    for i in range(3):
        output.access_line(f"GET /{i}", {"status": 200})
    assert (tmp_path / "log").read_text() == "", "access lines wait to be written together"
    output.add("a warning", urgent=True)
    text = (tmp_path / "log").read_text()
    assert [json.loads(line)["message"] for line in text.splitlines()[:3]] == ["GET /0", "GET /1", "GET /2"]
    assert text.endswith("a warning\n"), "a warning goes out at once, after what waited"
    output.access_line("GET /later", {"status": 404})
    await asyncio.sleep(FLUSH_SECONDS + 0.2)
    last = json.loads((tmp_path / "log").read_text().splitlines()[-1])
    assert last["message"] == "GET /later" and last["status"] == 404 and last["pid"] == os.getpid()
    assert len(output.writes) == 2


def test_a_stream_without_a_descriptor_is_written_through() -> None:
    stream = io.StringIO()
    output = LogOutput(stream, "text", logging.INFO)
    output.add("captured", urgent=True)
    assert stream.getvalue() == "captured\n"


def test_lines_of_a_later_event_loop_are_written_though_an_earlier_loop_ended(tmp_path: Path) -> None:
    output = _output(tmp_path / "log")

    async def one_line(text: str, wait: float) -> None:
        output.access_line(text, {})
        await asyncio.sleep(wait)

    asyncio.run(one_line("from a loop that ends at once", 0))
    asyncio.run(one_line("from the next loop", FLUSH_SECONDS + 0.2))
    assert (tmp_path / "log").read_text().endswith("from the next loop\n")
