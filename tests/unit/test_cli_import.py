"""Where `import portus` takes the Portus database's URL from: --from-file (read, stripped,
refused when missing, empty, huge or not text), --from (a warning when it carries a password),
PORTUS_IMPORT_URL; and --from with --from-file is a usage error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gateway.cli import _parser
from gateway.cli_import import MAX_SOURCE_FILE, SOURCE_VARIABLE, portus_source
from gateway.portus.source import PortusSourceError

URL_WITH_PASSWORD = "mysql://portus:s3cret@db.example.org:3306/portus_production"
ENV = {SOURCE_VARIABLE: "mysql://from-env@db.example.org/portus"}


def test_a_file_holds_the_url_and_wins_over_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text(f"  {URL_WITH_PASSWORD}\n")
    warnings = io.StringIO()
    assert portus_source(None, path, ENV, warnings) == (URL_WITH_PASSWORD, f"--from-file {path}")
    assert warnings.getvalue() == ""


def test_the_environment_is_used_when_no_option_names_the_source() -> None:
    warnings = io.StringIO()
    assert portus_source(None, None, ENV, warnings) == (ENV[SOURCE_VARIABLE], SOURCE_VARIABLE)
    assert warnings.getvalue() == ""
    with pytest.raises(PortusSourceError, match="name the Portus database: --from-file PATH"):
        portus_source(None, None, {SOURCE_VARIABLE: ""}, warnings)


@pytest.mark.parametrize(
    ("given", "warned"),
    [(URL_WITH_PASSWORD, True), ("mysql://portus@db.example.org/portus", False), ("mysql://u:pw@host:notaport/db", True)],
    ids=["password", "no-password", "unparsable-with-password"],
)
def test_from_warns_when_its_url_carries_a_password(given: str, warned: bool) -> None:
    warnings = io.StringIO()
    assert portus_source(given, None, ENV, warnings) == (given, "--from")
    lines = warnings.getvalue().splitlines()
    assert len(lines) == (1 if warned else 0)
    if warned:
        assert "--from-file PATH" in lines[0] and SOURCE_VARIABLE in lines[0] and given not in lines[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No such file or directory"), (b" \n", "the file is empty"), (b"\xff\xfe", "not UTF-8 text"),
     (b"m" * (MAX_SOURCE_FILE + 1), f"larger than {MAX_SOURCE_FILE} bytes")],
    ids=["missing", "empty", "binary", "huge"],
)
def test_an_unusable_file_is_refused_with_its_reason(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "url"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PortusSourceError, match=f"^--from-file {path}: .*{message}"):
        portus_source(None, path, ENV, io.StringIO())


def test_from_and_from_file_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        _parser().parse_args(["import", "portus", "--from", URL_WITH_PASSWORD, "--from-file", "url"])
    assert stopped.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
