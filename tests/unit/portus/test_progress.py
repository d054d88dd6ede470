"""Progress of an import: a bar redrawn in place on a terminal, counts per kind in the log."""

from __future__ import annotations

import io
import logging

import pytest

from gateway.portus.progress import LogProgress, TerminalProgress


def test_the_terminal_bar_is_redrawn_in_place_and_cleared_at_the_end() -> None:
    out = io.StringIO()
    bar = TerminalProgress(out)
    bar.reading("activities", 5000)
    bar.start("tag", 4)
    bar.advance(4)  # the last one is always drawn, however soon after the previous
    bar.finish()
    text = out.getvalue()
    assert "reading Portus's activities: 5000 rows" in text
    assert "tag        [" + "." * 30 + "] 0/4" in text and "[" + "#" * 30 + "] 4/4" in text
    assert text.endswith("\r\x1b[K") and "\n" not in text


def test_without_a_terminal_each_kind_is_counted_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway.portus")
    progress = LogProgress()
    progress.reading("users", 12)
    progress.start("user", 12)
    progress.advance(12)
    progress.finish()
    assert [r.getMessage() for r in caplog.records] == [
        "read 12 rows of Portus's users so far", "importing 12 user row(s)", "import finished writing",
    ]
