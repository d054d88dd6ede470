"""Environment files: the gateway's GATEWAY_* settings as KEY=VALUE lines.

`scripts/run` writes the environment it starts the server with to `data/gateway.env`
(`config env`), and `./portus-gateway` hands that file to the CLI (`--env-file`), so a
command run later, from any directory, opens the server's database and shows its settings.
The format is also systemd's `EnvironmentFile=` and docker's `--env-file`: one `KEY=VALUE` a
line, `#` comments, no quoting (the value is the rest of the line).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from gateway.config import OPTIONS, ConfigError, path_kind

CONFIG_VARIABLE = "GATEWAY_CONFIG"
_NAME = re.compile(r"[A-Z][A-Z0-9_]*")


def read_env_file(path: Path) -> dict[str, str]:
    """The GATEWAY_* variables of an environment file; other variables are not settings and are left out."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("--env-file", f"cannot read {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError("--env-file", f"{path} is not UTF-8 text") from None
    found: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, sep, value = stripped.removeprefix("export ").partition("=")
        if not sep or not _NAME.fullmatch(name):
            raise ConfigError("--env-file", f"{path} line {number}: expected KEY=VALUE")
        if name.startswith("GATEWAY_"):
            found[name] = value
    return found


def _settings_variables() -> dict[str, str]:
    """Every variable the settings read, and what its value is: "path", "paths", "database" or ""."""
    names = {CONFIG_VARIABLE: "path"}
    for option in OPTIONS:
        names[option.env] = "database" if option.field == "database_url" else path_kind(option)
        if option.file_variant:
            names[f"{option.env}_FILE"] = "path"
    return names


def _absolute(kind: str, value: str, cwd: Path) -> str:
    """Relative paths are relative to where the server started; the file is read from anywhere."""
    if kind == "database":
        return "sqlite:///" + str(cwd / value.removeprefix("sqlite:///")) if value.startswith("sqlite:///") else value
    if kind == "paths":
        return ",".join(str(cwd / part.strip()) for part in value.split(",") if part.strip())
    return str(cwd / value.strip()) if kind == "path" and value.strip() else value


def env_file_text(environ: Mapping[str, str], cwd: Path) -> str:
    """The settings variables of `environ` as an environment file, relative paths made absolute."""
    lines = []
    for name, kind in _settings_variables().items():
        if name not in environ:
            continue
        value = environ[name]
        if "\n" in value or "\r" in value:
            raise ConfigError(name, "holds a line break, which an environment file cannot carry; put it on one line")
        lines.append(f"{name}={_absolute(kind, value, cwd)}\n")
    return "".join(lines)
