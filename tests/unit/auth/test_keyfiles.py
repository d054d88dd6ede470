"""Signing keys: the libtrust kid (known answers), loading openssl-made keys, and `keys generate`."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from gateway.auth.keyfiles import (
    KeyFileError,
    libtrust_kid,
    load_signing_key,
    self_signed_certificate,
    signing_key_from,
)
from tests.support.processes import REPO_ROOT, require_tool

# A fixed test key (never used outside tests), made with
# `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`.
EC_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+C7N/9h6WTb4Jem6
/lWIJXt2YXQh0xtbCU3F4D5PCgmhRANCAAQXetATHDsX4HRYtDHPF/Av3tw9hRhS
9n0S5ooXWwt7F0hIqWmZ5mCnd3uudrQ4JtjOwFyE1jTNeIDicg1aJhaR
-----END PRIVATE KEY-----
"""

# Computed independently of the gateway, with:
#   openssl pkey -in k.pem -pubout -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32
# then grouped into 12 groups of 4 joined by ':'.
EC_KID = "27MU:2IQE:GK62:EWYG:SGET:I66R:XQMD:FBMB:X5JC:A3YS:ZBEO:6P6D"

# `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`
RSA_KEY_PEM = b"""-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQCoJaDSBWtiLX7F
IS919pA99EwT10cM7ZY0w7sgVcY3QXyWO3kvVNhqpPxnmhhWZGsuvDKswKi5vqtR
7yF70Ef49GslVWhz487jP33T1jzNlLLJeVNZ/Ssvn009K4h5V4eh8tScC7QIw5Mt
+H61wybf0lFtTQ9791Pa7JzEVXFPcLtrkTnNTTKylG+srOkajBmiaVoZOQpcMrwm
nNEjF42tBvJCgPFJEDNPFqAf56NFDGo1req7yybuvj3V8PuUu/K7mSxlumxziray
oYcnpT8zuL501LsBYG0Y4I+C+9eKymh9ZMLQ2d2R8yIwSDzv5nfr/QGOieIWVfKM
DJmPP1VbAgMBAAECggEAHgEc6e0ypMHGicmqrOuTAKMrwiybjpiEwaSdqx7zMF/8
qdgx/zquJZWMPrZ2GlBv+dZ2WnJEiWSXMJcxy+S2OxvuVKqhaXCgtddaDieAERU0
NBR0xa2R+7z67OvsPe7bEpCA1NmXxiqUBFN/1NJeiPkAM7dZCH9xVLL9JGG0xv5l
/Syn6AGE7nS/FOOIO73ygdeRQeb1sZ73aKpMfxbJxmMyjTLEaPs9q5E+dEutYeTf
9pSlUFnDjTidOS3O/MqYRG7MXh6EnrhPoz9JcTI976LguxLY9HIYzM8suGrFoX6C
uZKzVvXvGNAJFfVOPCXaquhVgBVbLor9WPt2NIv+nQKBgQDhml1ENFJFfyaAEugh
ftE0UJQq/SXJ5hYhpYHy8XbYaYccoYkNAfuSJiNdVneaF2Y6Lt7Xome9lWfwwF1f
zhfDoFs8oHq0pmuuXJI75JsOth5HZGbccioJ6FDf090mOwoghf+/FmQZDKo3sSZC
ps2aMssdfOkb3LLHZqft8su6lQKBgQC+zXTdAsd8JbM625HFmW12kZDRQRZm5klp
uqagCbFp4SJoFyCB5U2CTy8hnFnbU6rlr94rpkvvmsO7zPnB6w366yWToneZej6q
6qeudas2yW/FNC+RaREfzSrbfDahBOHNRH66HhmmjtOEzcb2kK1z65ZLVvhBId8Q
TwtaO4bELwKBgQDOf2/NJSMFD7xa0HN/bUfqXbMxoiL7qcoqJAdNKy3AKt+MGmOK
73yoqpYGMkYpWi+tJAe/Up0oT+Ai4sDVF5xy6I16cd2/CvFXWM5VWgt/rL0MVd88
+pZ2GRolthQfkTzUxjJwYvteXlRTw6ekrG9XLBT0ucfZQ+q0T8d4KpvF/QKBgQCC
soIGkkzLQZfQDW+BB2PwAC5O6GLMAZrwDabtoTYh7NGAs7bUw5mgVVVXlJ4ImvtJ
cnqhM7x4WG8TSYkbyEM/SavnwTZjr1UWBr7txjSNxtYFI4Yh+PJ98jAVQLS6/3kc
/npASzYO3W8OXVaYtunZqdq9qMlM9EK0DTEdkgDyiQKBgA93+dTOZebLoTM7X5WY
cGMlrM9ANvTh+cuteTza9gCLyy+y7yKlVNAyUxvS7uckcx9uRuQPPpT+gqomuLn4
Be8gvYHlqutJVM2oRFdbKyFsB6dwDgY5Zpo0r9X0VVTnspGc+y+NWBc3neMLz3Pm
lsrw9TirY5Oh/LBoZunVykxa
-----END PRIVATE KEY-----
"""

RSA_KID = "LKXT:VT23:SRY7:BVYV:YKQX:M3GZ:TRW4:INV4:52PP:KMVY:S5VA:4FXZ"


def _load(pem: bytes) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    return key


def _write_pair(directory: Path, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, cert: x509.Certificate) -> tuple[Path, Path]:
    key_path, cert_path = directory / "k.pem", directory / "c.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def _openssl_kid(key_file: Path) -> str:
    """The libtrust kid of a PEM private key, computed with openssl and coreutils only."""
    require_tool("openssl")
    pipeline = f"openssl pkey -in '{key_file}' -pubout -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32 -w0"
    encoded = subprocess.run(["sh", "-c", pipeline], capture_output=True, text=True, check=True).stdout.strip()
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


def _generate(out: Path, kind: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "gateway", "keys", "generate", "--out", str(out), "--type", kind],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120,
    )


# --- kid known answers -------------------------------------------------------------------------


def test_ec_kid_matches_openssl_known_answer() -> None:
    assert libtrust_kid(_load(EC_KEY_PEM).public_key()) == EC_KID


def test_rsa_kid_matches_openssl_known_answer() -> None:
    assert libtrust_kid(_load(RSA_KEY_PEM).public_key()) == RSA_KID


def test_kid_has_twelve_groups_of_four_base32_characters() -> None:
    groups = libtrust_kid(_load(EC_KEY_PEM).public_key()).split(":")
    assert len(groups) == 12
    assert all(len(g) == 4 and set(g) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for g in groups)


# --- loading key + certificate pairs -----------------------------------------------------------


def test_signing_key_describes_its_certificate_in_x5c_and_kid(tmp_path: Path) -> None:
    key = _load(EC_KEY_PEM)
    cert = self_signed_certificate(key)
    signing = load_signing_key(*_write_pair(tmp_path, key, cert))
    assert signing.algorithm == "ES256"
    assert signing.kid == EC_KID
    assert signing.x5c == (base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii"),)


def test_rsa_pair_loads_as_rs256(tmp_path: Path) -> None:
    key = _load(RSA_KEY_PEM)
    signing = load_signing_key(*_write_pair(tmp_path, key, self_signed_certificate(key)))
    assert signing.algorithm == "RS256"
    assert signing.kid == RSA_KID


@pytest.mark.slow
def test_openssl_made_rsa_4096_key_and_certificate_load(tmp_path: Path) -> None:
    openssl = require_tool("openssl")
    key_file, cert_file = tmp_path / "token.key", tmp_path / "token.crt"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:4096", "-nodes", "-keyout", str(key_file), "-out", str(cert_file),
         "-days", "30", "-subj", "/CN=test token signer"],
        check=True, capture_output=True, timeout=120,
    )
    signing = load_signing_key(key_file, cert_file)
    assert signing.algorithm == "RS256"
    assert isinstance(signing.private_key, rsa.RSAPrivateKey)
    assert signing.private_key.key_size == 4096
    assert signing.kid == _openssl_kid(key_file)


def test_certificate_of_another_key_is_refused(tmp_path: Path) -> None:
    key = _load(EC_KEY_PEM)
    other_cert = self_signed_certificate(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(KeyFileError, match="does not belong"):
        load_signing_key(*_write_pair(tmp_path, key, other_cert))


def test_certificate_of_another_key_type_is_refused() -> None:
    with pytest.raises(KeyFileError):
        signing_key_from(_load(EC_KEY_PEM), self_signed_certificate(_load(RSA_KEY_PEM)))


def test_ec_key_on_another_curve_is_refused() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    with pytest.raises(KeyFileError, match="P-256"):
        signing_key_from(key, self_signed_certificate(key))


def test_short_rsa_key_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(KeyFileError, match="2048"):
        signing_key_from(key, self_signed_certificate(key))


def test_missing_or_garbled_files_raise_key_file_error(tmp_path: Path) -> None:
    key_path, cert_path = _write_pair(tmp_path, _load(EC_KEY_PEM), self_signed_certificate(_load(EC_KEY_PEM)))
    with pytest.raises(KeyFileError):
        load_signing_key(tmp_path / "missing.key", cert_path)
    with pytest.raises(KeyFileError):
        load_signing_key(key_path, tmp_path / "missing.crt")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a pem file\n")
    with pytest.raises(KeyFileError):
        load_signing_key(garbage, cert_path)
    with pytest.raises(KeyFileError):
        load_signing_key(key_path, garbage)


# --- `portus-gateway keys generate` ------------------------------------------------------------


@pytest.mark.parametrize(("kind", "algorithm"), [("ec", "ES256"), ("rsa", "RS256")])
def test_keys_generate_writes_a_private_key_and_a_usable_root_certificate(tmp_path: Path, kind: str, algorithm: str) -> None:
    openssl = require_tool("openssl")
    out = tmp_path / "keys"
    result = _generate(out, kind)
    assert result.returncode == 0, result.stderr
    key_file, cert_file = out / "token.key", out / "token.crt"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    signing = load_signing_key(key_file, cert_file)
    assert signing.algorithm == algorithm
    assert signing.kid == _openssl_kid(key_file)
    verify = subprocess.run([openssl, "verify", "-CAfile", str(cert_file), str(cert_file)], capture_output=True, text=True)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip() == f"{cert_file}: OK"


def test_keys_generate_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    assert _generate(out, "ec").returncode == 0
    before = ((out / "token.key").read_bytes(), (out / "token.crt").read_bytes())
    again = _generate(out, "ec")
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1
    assert "Traceback" not in again.stderr
    assert ((out / "token.key").read_bytes(), (out / "token.crt").read_bytes()) == before


def test_keys_generate_refuses_when_only_the_certificate_exists(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    out.mkdir()
    (out / "token.crt").write_text("keep me\n")
    result = _generate(out, "ec")
    assert result.returncode == 1
    assert not (out / "token.key").exists()
    assert (out / "token.crt").read_text() == "keep me\n"
