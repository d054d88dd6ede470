"""Token signing keys: generate, load from PEM, and describe them as registries expect (kid, x5c).

Blocking file and crypto work; call it at start-up or from the CLI, not from a handler.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

KEY_FILE_NAME = "token.key"
CERT_FILE_NAME = "token.crt"


class KeyFileError(Exception):
    """A key or certificate file is missing, unreadable or does not match."""


@dataclass(frozen=True)
class VerificationKey:
    """A public key that verifies tokens, and the facts a JWT header and JWKS give about it: the
    current signing key's, or a previous one kept after a rotation until the tokens it signed
    have expired (loaded from its certificate)."""

    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    certificate: x509.Certificate
    algorithm: str
    kid: str
    x5c: tuple[str, ...]

    @staticmethod
    def of(key: VerificationKey) -> VerificationKey:
        """The public side alone (of a signing key, say), so nothing private travels with it."""
        return VerificationKey(**_public_fields(key))


@dataclass(frozen=True)
class SigningKey(VerificationKey):
    """A private key with its certificate: it verifies what it signs."""

    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    def secret_material(self, purpose: bytes) -> bytes:
        """A stable secret derived from the private key, for HMACs all instances agree on."""
        der = self.private_key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        return hashlib.sha256(b"portus-gateway:" + purpose + b":" + der).digest()


def _public_fields(key: VerificationKey) -> dict[str, Any]:
    return {f.name: getattr(key, f.name) for f in fields(VerificationKey)}


def _described(
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey, certificate: x509.Certificate, algorithm: str
) -> VerificationKey:
    der = certificate.public_bytes(serialization.Encoding.DER)
    return VerificationKey(public_key, certificate, algorithm, libtrust_kid(public_key), (base64.b64encode(der).decode("ascii"),))


def load_verification_key(cert_file: Path) -> VerificationKey:
    """The public key of a PEM certificate (EC P-256 or RSA >= 2048 bits), for verifying only."""
    try:
        certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    except OSError as exc:
        raise KeyFileError(f"cannot read certificate file {cert_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise KeyFileError(f"{cert_file} is not a PEM certificate ({exc})") from None
    public_key = certificate.public_key()
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        algorithm = "ES256"
    elif isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048:
        algorithm = "RS256"
    else:
        raise KeyFileError(f"{cert_file}: only EC P-256 and RSA (2048 bits or more) keys verify tokens")
    return _described(public_key, certificate, algorithm)


def libtrust_kid(public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey) -> str:
    """The libtrust key id: base32 of the first 240 bits of SHA-256(DER SPKI), in groups of four."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode("ascii")
    return ":".join(encoded[i : i + 4] for i in range(0, 48, 4))


def _algorithm_for(key: object) -> str:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise KeyFileError(f"EC keys must use curve P-256 for ES256, not {key.curve.name}")
        return "ES256"
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise KeyFileError(f"RSA keys must have at least 2048 bits, this one has {key.key_size}")
        return "RS256"
    raise KeyFileError(f"unsupported key type {type(key).__name__}; use an EC P-256 or RSA key")


def signing_key_from(private_key: object, certificate: x509.Certificate) -> SigningKey:
    algorithm = _algorithm_for(private_key)
    assert isinstance(private_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
    spki = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if certificate.public_key().public_bytes(*spki) != private_key.public_key().public_bytes(*spki):
        raise KeyFileError("the certificate does not belong to the private key")
    described = _described(private_key.public_key(), certificate, algorithm)
    return SigningKey(**_public_fields(described), private_key=private_key)


def load_signing_key(key_file: Path, cert_file: Path) -> SigningKey:
    try:
        key_pem = key_file.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {key_file}: {exc.strerror}") from None
    try:
        cert_pem = cert_file.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read certificate file {cert_file}: {exc.strerror}") from None
    try:
        private_key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{key_file} is not an unencrypted PEM private key ({exc})") from None
    try:
        certificate = x509.load_pem_x509_certificate(cert_pem)
    except ValueError as exc:
        raise KeyFileError(f"{cert_file} is not a PEM certificate ({exc})") from None
    return signing_key_from(private_key, certificate)


def generate_private_key(kind: str) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=4096)
    raise KeyFileError(f"unknown key type {kind!r}; use ec or rsa")


def self_signed_certificate(
    private_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, common_name: str = "portus-gateway token signer"
) -> x509.Certificate:
    """A self-signed CA certificate, so a registry can use it directly as its `rootcertbundle`."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(private_key, hashes.SHA256())
    )


def write_key_pair(directory: Path, kind: str) -> tuple[Path, Path]:
    """Write DIR/token.key (mode 0600) and DIR/token.crt; refuses to overwrite either."""
    key_path, cert_path = directory / KEY_FILE_NAME, directory / CERT_FILE_NAME
    for path in (key_path, cert_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; remove it first to make a new key")
    private_key = generate_private_key(kind)
    certificate = self_signed_certificate(private_key)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


def load_or_create_signing_key(key_file: Path | None, cert_file: Path | None, data_dir: Path) -> SigningKey:
    """Use the configured files, or the pair in the data dir, generating it on first start."""
    if key_file is not None and cert_file is not None:
        return load_signing_key(key_file, cert_file)
    key_path, cert_path = data_dir / KEY_FILE_NAME, data_dir / CERT_FILE_NAME
    if not key_path.exists() and not cert_path.exists():
        write_key_pair(data_dir, "ec")
    return load_signing_key(key_path, cert_path)
