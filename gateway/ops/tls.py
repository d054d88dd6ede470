"""The HTTPS certificate, reloadable without a restart (SIGHUP).

New connections use whatever certificate the SSLContext holds when they are accepted, so
reloading loads the files again into the same context. A pair that does not load (missing
file, key not matching the certificate, half-written files) is first tried in a scratch
context and never touches the live one: the old certificate keeps being served.
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

log = logging.getLogger(__name__)


class CertificateError(Exception):
    """The certificate and key do not load; the message says why."""


def _new_context() -> ssl.SSLContext:
    return ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)


def _load(context: ssl.SSLContext, cert_file: Path, key_file: Path) -> None:
    try:
        context.load_cert_chain(cert_file, key_file)
    except (OSError, ssl.SSLError) as exc:
        raise CertificateError(f"cannot load the TLS certificate {cert_file} and key {key_file}: {exc}") from None


class ServerCertificate:
    """Owns the server SSLContext; `reload()` swaps in the certificate now on disk."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        self.cert_file = cert_file
        self.key_file = key_file
        self.context = _new_context()
        _load(self.context, cert_file, key_file)

    def reload(self) -> bool:
        """Load the files again (blocking, a few milliseconds); False, and a logged error, when they do not load."""
        try:
            _load(_new_context(), self.cert_file, self.key_file)
            _load(self.context, self.cert_file, self.key_file)
        except CertificateError as exc:
            log.error("TLS certificate not reloaded, still serving the previous one: %s", exc)
            return False
        log.info("TLS certificate reloaded from %s", self.cert_file)
        return True
