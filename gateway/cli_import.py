"""Where `import portus` finds the Portus database: --from URL, --from-file PATH (a file holding
the URL) or the environment variable PORTUS_IMPORT_URL. The last two keep the database's
password out of the process list, where --from puts it for anyone on the machine to read."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from yarl import URL

from gateway.portus.source import PortusSourceError

SOURCE_VARIABLE = "PORTUS_IMPORT_URL"
MAX_SOURCE_FILE = 8192  # bytes; a URL file larger than this is some other file


def _shows_password(text: str) -> bool:
    """Whether a URL carries a password (one that does not parse may: then any `user@` counts)."""
    try:
        return bool(URL(text).raw_password)
    except ValueError:
        return "@" in text


def _read_source_file(path: Path) -> str:
    try:
        with path.open("rb") as file:
            data = file.read(MAX_SOURCE_FILE + 1)
    except OSError as exc:
        raise PortusSourceError(f"--from-file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SOURCE_FILE:
        raise PortusSourceError(f"--from-file {path}: larger than {MAX_SOURCE_FILE} bytes, so not a URL")
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise PortusSourceError(f"--from-file {path}: not UTF-8 text") from None
    if not text:
        raise PortusSourceError(f"--from-file {path}: the file is empty; write the Portus database's URL in it")
    return text


def portus_source(given: str | None, from_file: Path | None, environ: Mapping[str, str], warnings: TextIO) -> tuple[str, str]:
    """The Portus database's URL and where it was given (for error messages). --from and
    --from-file exclude each other (the parser sees to it); either wins over the environment.
    A --from URL with a password gets a warning line on `warnings` naming the other two ways."""
    if from_file is not None:
        return _read_source_file(from_file), f"--from-file {from_file}"
    if given is not None:
        if _shows_password(given):
            warnings.write(
                "portus-gateway: warning: --from shows the Portus database's password to anyone who can list "
                f"processes; give the URL in a file (--from-file PATH) or in the environment variable {SOURCE_VARIABLE}\n"
            )
        return given, "--from"
    if environ.get(SOURCE_VARIABLE):
        return environ[SOURCE_VARIABLE], SOURCE_VARIABLE
    raise PortusSourceError(
        f"name the Portus database: --from-file PATH (a file holding its URL), the environment variable {SOURCE_VARIABLE}, "
        "or --from URL"
    )
