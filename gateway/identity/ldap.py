"""An LDAP directory as a source of users and their groups (ldap3, run off the event loop).

Sign-in is search-then-bind (a service account, `bind_dn`, finds the user's entry under
`user_base` with `user_filter`, then the user's password is bound against that DN) or a direct
bind to `user_dn_template`. The login name is put into the filter and DN escaped (RFC 4515 for
filters, RFC 4514 for DNs), never as it came; an empty password is refused before any bind
(an LDAP server takes a simple bind without one as an anonymous bind, a success). The entry
found must carry the login name in `username_attribute`, whatever the filter matched.

Groups are the DNs of the entries under `group_base` that match `group_filter` (`{dn}` the
user's DN, `{username}` the login name, both escaped), searched as the service account (else
as the user). Several URLs are tried in order until one answers; the last one that did is
tried first next time. A server that cannot be reached, or answers with anything but a result
about the credentials, is `DirectoryUnavailable`: the caller says so, not "wrong password".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import ldap3
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn

from gateway.auth.login import DirectoryUnavailable
from gateway.config import Settings
from gateway.identity.group_sync import GroupMapping

log = logging.getLogger(__name__)

SOURCE = "ldap"
_INVALID_CREDENTIALS = 49
_NO_SUCH_OBJECT = 32
_SIZE_LIMIT_EXCEEDED = 4
_MAX_GROUPS = 10_000
_THREADS = 4
_RDN_SEPARATOR = re.compile(r"(?<!\\),")
T = TypeVar("T")


def normalize_dn(dn: str) -> str:
    """A DN compared the way directories do: attribute names and values without case, no
    spaces around `,` and `=` (`CN=Web, ou=Groups` is `cn=web,ou=groups`)."""
    parts = []
    for rdn in _RDN_SEPARATOR.split(dn):
        name, _, value = rdn.partition("=")
        parts.append(f"{name.strip()}={value.strip()}".lower())
    return ",".join(parts)


@dataclass(frozen=True)
class LdapConfig:
    """The [ldap] settings the client needs (see gateway.config and README's LDAP section)."""

    urls: tuple[str, ...]
    start_tls: bool = False
    ca_file: str | None = None
    timeout: float = 5.0
    bind_dn: str | None = None
    bind_password: str | None = None
    user_dn_template: str | None = None
    user_base: str | None = None
    user_filter: str = "(uid={username})"
    username_attribute: str = "uid"
    email_attribute: str = "mail"
    group_base: str | None = None
    group_filter: str = "(member={dn})"
    mapping: GroupMapping = field(default_factory=GroupMapping)

    @classmethod
    def from_settings(cls, settings: Settings) -> LdapConfig | None:
        """None when no directory is configured."""
        if not settings.ldap_urls:
            return None
        return cls(
            settings.ldap_urls, settings.ldap_start_tls,
            str(settings.ldap_ca_file) if settings.ldap_ca_file else None, settings.ldap_timeout,
            settings.ldap_bind_dn, settings.ldap_bind_password, settings.ldap_user_dn_template, settings.ldap_user_base,
            settings.ldap_user_filter, settings.ldap_username_attribute, settings.ldap_email_attribute,
            settings.ldap_group_base, settings.ldap_group_filter,
            GroupMapping(settings.ldap_team_groups, settings.ldap_admin_group),
        )


@dataclass(frozen=True)
class DirectoryEntry:
    """A user as the directory knows them: their DN, e-mail (may be empty) and group DNs."""

    dn: str
    email: str
    groups: tuple[str, ...]


class _Refused(Exception):
    """The directory answered: these credentials are not good (not a failure of the directory)."""


class LdapDirectory:
    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._first = 0  # the server that answered last
        self._executor = ThreadPoolExecutor(max_workers=_THREADS, thread_name_prefix="ldap")

    def _server(self, url: str) -> ldap3.Server:
        """A new one for each connection: an ldap3 Server remembers an address that once failed
        as unavailable, and would go on refusing it after the directory is back."""
        tls = None
        if url.startswith("ldaps://") or self.config.start_tls:
            tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=self.config.ca_file)  # the system's CAs when None
        return ldap3.Server(url, get_info=ldap3.NONE, tls=tls, connect_timeout=self.config.timeout)

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def authenticate(self, username: str, password: str) -> DirectoryEntry | None:
        """The user's entry when the directory accepts this password, else None; raises
        DirectoryUnavailable when no server answers."""
        if not password:
            return None
        return await self._run(lambda: self._authenticate(username, password))

    async def lookup(self, username: str) -> DirectoryEntry | None:
        """The user's entry as the service account (or anonymously) sees it; None when the
        directory has no such user (the periodic sync)."""
        return await self._run(lambda: self._lookup(username))

    async def check(self) -> None:
        """Raise DirectoryUnavailable unless a server takes the service account's bind (readiness)."""
        await self._run(lambda: self._service().unbind())

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- blocking parts, in the executor -----------------------------------------------------

    def _bound(self, user: str | None, password: str | None) -> ldap3.Connection:
        """A connection bound as `user` (anonymous when None) on the first server that answers;
        _Refused when the server says the credentials are wrong."""
        problems = []
        count = len(self.config.urls)
        for offset in range(count):
            index = (self._first + offset) % count
            connection = ldap3.Connection(
                self._server(self.config.urls[index]), user=user, password=password,
                receive_timeout=math.ceil(self.config.timeout),  # whole seconds: ldap3 packs it into a socket option
                raise_exceptions=False, auto_referrals=False,
            )
            try:
                connection.open()
                if self.config.start_tls and not connection.start_tls():
                    raise LDAPException(f"StartTLS refused: {connection.result.get('description')}")
                bound = connection.bind()
            except LDAPException as exc:
                problems.append(f"{self.config.urls[index]}: {exc}")
                with contextlib.suppress(LDAPException):
                    connection.unbind()
                continue
            self._first = index
            if bound:
                return connection
            result = connection.result or {}
            connection.unbind()
            if result.get("result") == _INVALID_CREDENTIALS:
                raise _Refused
            problems.append(f"{self.config.urls[index]}: bind answered {result.get('description')}")
        log.warning("LDAP directory unavailable: %s", "; ".join(problems))
        raise DirectoryUnavailable("the LDAP directory is unavailable")

    def _service(self) -> ldap3.Connection:
        try:
            return self._bound(self.config.bind_dn, self.config.bind_password)
        except _Refused:
            log.error("LDAP: the directory refused ldap.bind_dn's password")
            raise DirectoryUnavailable("the LDAP service account cannot bind") from None

    def _search(
        self, connection: ldap3.Connection, base: str, query: str, scope: Literal["BASE", "SUBTREE"], attributes: list[str]
    ) -> list[ldap3.Entry]:
        try:
            ok = connection.search(base, query, search_scope=scope, attributes=attributes, size_limit=_MAX_GROUPS)
        except LDAPException as exc:
            log.warning("LDAP search under %r failed: %s", base, exc)
            raise DirectoryUnavailable("the LDAP directory is unavailable") from None
        result = (connection.result or {}).get("result")
        if result == _NO_SUCH_OBJECT and scope == ldap3.BASE:
            return []  # the user's own DN (direct bind): no such user
        if result == _NO_SUCH_OBJECT:
            # A base that does not exist is a mistake in the settings, not a directory without
            # users: treated as one, a sync would disable every LDAP account.
            log.error("LDAP search base %r does not exist (check ldap.user_base and ldap.group_base)", base)
            raise DirectoryUnavailable("the LDAP directory is unavailable")
        if not ok and result not in (0, _SIZE_LIMIT_EXCEEDED):
            log.warning("LDAP search under %r answered %s", base, (connection.result or {}).get("description"))
            raise DirectoryUnavailable("the LDAP directory is unavailable")
        return list(connection.entries)

    def _find(self, connection: ldap3.Connection, username: str) -> ldap3.Entry | None:
        """The one entry the user filter finds for `username` (two: none, and logged)."""
        config = self.config
        attributes = [config.username_attribute, config.email_attribute]
        if config.user_base is None and config.user_dn_template is not None:
            dn = config.user_dn_template.format(username=escape_rdn(username))
            found = self._search(connection, dn, "(objectClass=*)", ldap3.BASE, attributes)
        else:
            query = config.user_filter.format(username=escape_filter_chars(username))
            found = self._search(connection, config.user_base or "", query, ldap3.SUBTREE, attributes)
        if len(found) > 1:
            log.warning("LDAP: %d entries match %r; refusing an ambiguous sign-in", len(found), username)
            return None
        if not found or not self._names(found[0], username):
            return None
        return found[0]

    def _names(self, entry: ldap3.Entry, username: str) -> bool:
        values = entry.entry_attributes_as_dict.get(self.config.username_attribute, [])
        if any(str(value).lower() == username for value in values):
            return True
        attribute = self.config.username_attribute
        log.warning("LDAP: entry %r found for %r does not carry that %s", entry.entry_dn, username, attribute)
        return False

    def _entry(self, connection: ldap3.Connection, entry: ldap3.Entry, username: str) -> DirectoryEntry:
        emails = entry.entry_attributes_as_dict.get(self.config.email_attribute, [])
        groups = self._groups(connection, entry.entry_dn, username)
        return DirectoryEntry(entry.entry_dn, str(emails[0]) if emails else "", groups)

    def _groups(self, connection: ldap3.Connection, dn: str, username: str) -> tuple[str, ...]:
        base = self.config.group_base
        if base is None:
            return ()
        query = self.config.group_filter.format(dn=escape_filter_chars(dn), username=escape_filter_chars(username))
        return tuple(entry.entry_dn for entry in self._search(connection, base, query, ldap3.SUBTREE, []))

    def _authenticate(self, username: str, password: str) -> DirectoryEntry | None:
        config = self.config
        if config.user_dn_template is not None:  # direct bind
            dn = config.user_dn_template.format(username=escape_rdn(username))
            try:
                user = self._bound(dn, password)
            except _Refused:
                return None
            try:
                reader = self._service() if config.bind_dn else user
                try:
                    entry = self._find(reader, username)
                    return None if entry is None else self._entry(reader, entry, username)
                finally:
                    if reader is not user:
                        reader.unbind()
            finally:
                user.unbind()
        service = self._service()
        try:
            entry = self._find(service, username)
            if entry is None:
                return None
            try:
                self._bound(entry.entry_dn, password).unbind()
            except _Refused:
                return None
            return self._entry(service, entry, username)
        finally:
            service.unbind()

    def _lookup(self, username: str) -> DirectoryEntry | None:
        service = self._service()
        try:
            entry = self._find(service, username)
            return None if entry is None else self._entry(service, entry, username)
        finally:
            service.unbind()
