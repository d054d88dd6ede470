"""The Portus container's own environment, read where no GATEWAY_* setting says otherwise, so a
`docker run` line written for Portus keeps working when the image is swapped for this one.

Each Portus variable that is used earns one start-up warning naming its GATEWAY_* equivalent;
one the gateway also has a GATEWAY_* value for is ignored with a note; those that mean nothing
here (Rails' secret key, its environment, ...) are ignored with one note naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

_MARIADB = ("MARIADB_HOST", "MARIADB_PORT", "MARIADB_USER", "MARIADB_PASSWORD", "MARIADB_DATABASE")
_FQDN = ("PORTUS_MACHINE_FQDN_VALUE", "PORTUS_MACHINE_FQDN")
# Portus variable -> the GATEWAY_* variable it stands for, taken as it is.
_SAME_VALUE = {
    "PUMA_SSL_KEY": "GATEWAY_TLS_KEY_FILE",
    "PUMA_SSL_CRT": "GATEWAY_TLS_CERT_FILE",
    "PUMA_WORKERS": "GATEWAY_SERVER_WORKERS",
    "PORTUS_DELETE_ENABLED": "GATEWAY_DELETE_ENABLED",
}
_PREFIXES = ("PORTUS_", "PUMA_", "MARIADB_", "RAILS_", "RACK_")


@dataclass(frozen=True)
class Borrowed:
    """A setting's value taken from Portus's variable(s) `source`."""

    value: str
    source: str


def portus_environment(environ: Mapping[str, str]) -> tuple[dict[str, Borrowed], list[str]]:
    """GATEWAY_* name -> the value Portus's variables give it, and notes on those ignored."""
    borrowed: dict[str, Borrowed] = {}
    notes: list[str] = []
    if environ.get("MARIADB_HOST", "").strip():
        url = URL.build(
            scheme="mysql", host=environ["MARIADB_HOST"].strip(), port=_port(environ.get("MARIADB_PORT", "3306")),
            user=environ.get("MARIADB_USER", "root") or "root", password=environ.get("MARIADB_PASSWORD") or None,
            path="/" + (environ.get("MARIADB_DATABASE", "").strip() or "portus_production"),
        )
        borrowed["GATEWAY_DATABASE_URL"] = Borrowed(str(url), "MARIADB_HOST/PORT/USER/PASSWORD/DATABASE")
    elif any(name in environ for name in _MARIADB):
        notes.append("MARIADB_* ignored: without MARIADB_HOST they name no database")
    for name, gateway_name in _SAME_VALUE.items():
        if name in environ:
            borrowed[gateway_name] = Borrowed(environ[name], name)
    if "PUMA_PORT" in environ:
        borrowed["GATEWAY_LISTEN"] = Borrowed(f"0.0.0.0:{environ['PUMA_PORT'].strip()}", "PUMA_PORT")
    fqdn_name = next((name for name in _FQDN if environ.get(name, "").strip()), None)
    if fqdn_name is not None:
        fqdn = environ[fqdn_name].strip()
        scheme = "https" if "PUMA_SSL_CRT" in environ else "http"
        borrowed["GATEWAY_PUBLIC_URL"] = Borrowed(f"{scheme}://{fqdn}", fqdn_name)
        borrowed["GATEWAY_ISSUER"] = Borrowed(fqdn, fqdn_name)
    used = {part for b in borrowed.values() for part in _parts(b.source)}
    meaningless = sorted(name for name in environ if name.startswith(_PREFIXES) and name not in used and name not in _MARIADB)
    if meaningless:
        notes.append(f"ignored, Portus settings that mean nothing to the gateway: {', '.join(meaningless)}")
    return borrowed, notes


class PortusSettingError(ValueError):
    """A Portus variable the gateway would use holds a bad value."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def _port(text: str) -> int:
    text = text.strip()
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise PortusSettingError("MARIADB_PORT", f"expected a port number (1-65535), got {text!r}")
    return int(text)


def _parts(source: str) -> tuple[str, ...]:
    if source.startswith("MARIADB_"):
        return _MARIADB
    return (source,)
