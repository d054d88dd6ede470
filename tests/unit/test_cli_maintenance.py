"""What the command line's maintenance runs show on a terminal: one line redrawn in place, a bar
when the fraction is known."""

from __future__ import annotations

import io

from gateway.cli_maintenance import terminal_bar


def test_the_bar_is_redrawn_in_place_with_the_fraction_when_known() -> None:
    out = io.StringIO()
    report = terminal_bar(out)
    report("draining", "pushes paused; looking for running uploads", None)
    report("collecting", "sweeping: blob 1 of 4 eligible", 0.25)
    first, second = out.getvalue().split("\r")[1:]
    assert first == "\033[Kdraining: pushes paused; looking for running uploads"
    assert second == "\033[K[########----------------------]  25% collecting: sweeping: blob 1 of 4 eligible"
