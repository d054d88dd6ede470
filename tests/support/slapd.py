"""A real OpenLDAP `slapd` for the LDAP tests: a throw-away slapd.conf and mdb database loaded
with `slapadd`, plain ldap:// (StartTLS offered) and ldaps:// on free loopback ports, both with a
certificate from a test CA made here. One per session (tests/conftest.py `slapd`).

The directory: people under ou=people (their password is `NAME-ldap-pw`), groups under
ou=groups (groupOfNames), a read-only service account; anonymous clients may only bind.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.processes import free_port, require_tool, stop_process, wait_for

SUFFIX = "dc=example,dc=org"
ROOT_DN, ROOT_PW = f"cn=admin,{SUFFIX}", "root-secret"
SERVICE_DN, SERVICE_PW = f"cn=reader,{SUFFIX}", "reader-secret"
PEOPLE, GROUPS = f"ou=people,{SUFFIX}", f"ou=groups,{SUFFIX}"
# Each person and the groups they are in. `web-devs` maps to a team in the tests, `admins` is the admin group.
PEOPLE_GROUPS: dict[str, tuple[str, ...]] = {
    "lara": ("web-devs",),
    "lena": ("web-devs",),
    "liam": ("web-devs",),
    "lucy": ("admins",),
    "leo": (),
    "lisa": (),
    "lou": ("web-devs",),
    "lily": ("web-devs",),
}
GROUP_NAMES = ("web-devs", "admins")


def password(name: str) -> str:
    return f"{name}-ldap-pw"


def person_dn(name: str) -> str:
    return f"uid={name},{PEOPLE}"


def group_dn(name: str) -> str:
    return f"cn={name},{GROUPS}"


def _ldif() -> str:
    entries = [
        f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example",
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: reader\nuserPassword: {SERVICE_PW}",
        f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
        f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
    ]
    entries.extend(
        f"dn: {person_dn(name)}\nobjectClass: inetOrgPerson\nuid: {name}\ncn: {name.title()}\nsn: {name.title()}\n"
        f"mail: {name}@example.org\nuserPassword: {password(name)}"
        for name in PEOPLE_GROUPS
    )
    for group in GROUP_NAMES:
        members = [person_dn(n) for n, groups in PEOPLE_GROUPS.items() if group in groups] or [SERVICE_DN]
        entries.append(f"dn: {group_dn(group)}\nobjectClass: groupOfNames\ncn: {group}\n" + "\n".join(f"member: {m}" for m in members))
    return "\n\n".join(entries) + "\n"


def _config(workdir: Path) -> str:
    return f"""\
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {workdir}/slapd.pid
TLSCACertificateFile {workdir}/ca.pem
TLSCertificateFile {workdir}/server.pem
TLSCertificateKeyFile {workdir}/server.key
database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PW}
directory {workdir}/db
access to attrs=userPassword by anonymous auth by self auth by * none
access to * by users read by * none
"""


def _certificates(workdir: Path) -> None:
    """A test CA, and a server certificate it signed for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portus-gateway test LDAP CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    server = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (workdir / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (workdir / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (workdir / "server.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


@dataclass
class Slapd:
    workdir: Path
    port: int = 0
    tls_port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "ca.pem"

    @property
    def log_path(self) -> Path:
        return self.workdir / "slapd.log"

    def setup(self) -> Slapd:
        """The configuration, certificates and the loaded database (no process yet)."""
        slapadd = require_tool("slapadd")
        require_tool("slapd")
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "db").mkdir()
        (self.workdir / "slapd.conf").write_text(_config(self.workdir))
        (self.workdir / "data.ldif").write_text(_ldif())
        _certificates(self.workdir)
        subprocess.run(
            [slapadd, "-f", str(self.workdir / "slapd.conf"), "-l", str(self.workdir / "data.ldif")],
            check=True, capture_output=True, timeout=60,
        )
        self.port, self.tls_port = free_port(), free_port()
        return self

    def start(self) -> Slapd:
        urls = f"{self.url}/ {self.tls_url}/"
        self.process = subprocess.Popen(
            [require_tool("slapd"), "-f", str(self.workdir / "slapd.conf"), "-h", urls, "-d", "0"],
            stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT,
        )
        wait_for("slapd", lambda: _answers(self.port) and _answers(self.tls_port), self.process, self.log_path, 20)
        return self

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """The directory down for the block (its ports refuse connections), then up again."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def modify(self, ldif: str) -> None:
        """Change the running directory as its root (ldapmodify)."""
        subprocess.run(
            [require_tool("ldapmodify"), "-x", "-H", self.url, "-D", ROOT_DN, "-w", ROOT_PW],
            input=ldif.encode(), check=True, capture_output=True, timeout=30,
        )

    def leave_group(self, person: str, group: str) -> None:
        self.modify(f"dn: {group_dn(group)}\nchangetype: modify\ndelete: member\nmember: {person_dn(person)}\n")

    def remove_person(self, person: str) -> None:
        self.modify(f"dn: {person_dn(person)}\nchangetype: delete\n")


def gateway_env(slapd: Slapd, team: str = "web") -> dict[str, str]:
    """The gateway's [ldap] settings for this directory: search-then-bind as the service
    account, `admins` the admin group, `web-devs` contributors of `team`."""
    return {
        "GATEWAY_LDAP_URL": slapd.url,
        "GATEWAY_LDAP_BIND_DN": SERVICE_DN,
        "GATEWAY_LDAP_BIND_PASSWORD": SERVICE_PW,
        "GATEWAY_LDAP_USER_BASE": PEOPLE,
        "GATEWAY_LDAP_GROUP_BASE": GROUPS,
        "GATEWAY_LDAP_ADMIN_GROUP": group_dn("admins").upper(),  # DNs compare without case
        "GATEWAY_LDAP_TEAM_GROUPS": json.dumps({team: {"group": group_dn("web-devs"), "role": "contributor"}}),
        "GATEWAY_LDAP_TIMEOUT": "2",
    }
