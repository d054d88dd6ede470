"""HTTPS certificate reload on SIGHUP: new connections get the new certificate, a broken pair is
refused and the old one kept, and SIGHUP never stops a gateway."""

from __future__ import annotations

import shutil
import signal
import ssl
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.ops.helpers import get_json, wait_until
from tests.support.client import USERS
from tests.support.deployment import Certificate, HttpsGateway, make_certificate
from tests.support.processes import Gateway, Registry


def served_der(port: int) -> bytes:
    return ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate(("127.0.0.1", port)))


def der_of(certificate: Certificate) -> bytes:
    return ssl.PEM_cert_to_DER_cert(certificate.cert.read_text())


def install(source: Certificate, live: Certificate) -> None:
    shutil.copy(source.cert, live.cert)
    shutil.copy(source.key, live.key)


@pytest.fixture
def pki(tmp_path: Path) -> tuple[Certificate, Certificate, Certificate]:
    """(first, second, live): the gateway reads `live`, which starts as a copy of `first`."""
    first = make_certificate(tmp_path / "first")
    second = make_certificate(tmp_path / "second")
    live = Certificate(tmp_path / "live" / "tls.crt", tmp_path / "live" / "tls.key")
    live.cert.parent.mkdir()
    install(first, live)
    return first, second, live


@pytest.fixture
def https_gateway(registry: Registry, tmp_path: Path, pki: tuple[Certificate, Certificate, Certificate]) -> Iterator[HttpsGateway]:
    gateway = HttpsGateway(tmp_path / "gateway", registry.url, certificate=pki[2])
    for name, password in USERS.items():
        gateway.add_user(name, password)
    yield gateway.start()
    gateway.stop()


def test_sighup_serves_the_new_certificate_to_new_connections(
    https_gateway: HttpsGateway, pki: tuple[Certificate, Certificate, Certificate]
) -> None:
    first, second, live = pki
    assert https_gateway.process is not None
    assert served_der(https_gateway.port) == der_of(first)
    assert get_json(f"{https_gateway.url}/healthz", context=first.client_context())[0] == 200

    install(second, live)
    https_gateway.process.send_signal(signal.SIGHUP)
    served = wait_until(lambda: served_der(https_gateway.port), lambda der: der == der_of(second))
    assert served == der_of(second)
    assert get_json(f"{https_gateway.url}/healthz", context=second.client_context())[0] == 200
    with pytest.raises(urllib.error.URLError) as refused:
        get_json(f"{https_gateway.url}/healthz", context=first.client_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)

    # A half-replaced pair (the first certificate with the second key) is refused; the second stays.
    shutil.copy(first.cert, live.cert)
    https_gateway.process.send_signal(signal.SIGHUP)
    wait_until(https_gateway.log_text, lambda text: "TLS certificate not reloaded" in text, timeout=5)
    assert "TLS certificate not reloaded" in https_gateway.log_text()
    assert served_der(https_gateway.port) == der_of(second)
    assert https_gateway.process.poll() is None


def test_sighup_without_tls_is_harmless(make_gateway: Callable[..., Gateway]) -> None:
    gateway = make_gateway()
    assert gateway.process is not None
    gateway.process.send_signal(signal.SIGHUP)
    wait_until(gateway.log_text, lambda text: "nothing to reload" in text, timeout=5)
    assert "nothing to reload" in gateway.log_text()
    assert gateway.process.poll() is None
    assert get_json(f"{gateway.url}/healthz")[0] == 200
