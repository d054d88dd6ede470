"""JSON that came from outside the process: every way it can fail to load is a ValueError.

`json.loads` has three ways to fail: ValueError for text that is not JSON (UnicodeDecodeError,
for bytes that are not UTF-8, and an integer of more digits than Python converts, are both
ValueErrors), and RecursionError for arrays or objects nested deeper than the interpreter's
recursion limit allows (100,000 `[` in a manifest). That last one no handler expects, so it
used to be a 500 with a traceback; here it is `TooDeep`, a ValueError that says so.
"""

from __future__ import annotations

import json
from typing import Any


class TooDeep(ValueError):
    """The document nests arrays or objects deeper than this process can parse."""


def loads(data: str | bytes) -> Any:
    """`json.loads`, raising ValueError (or its subclass `TooDeep`) for anything it cannot load."""
    try:
        return json.loads(data)
    except RecursionError:
        raise TooDeep("JSON nested too deeply") from None
