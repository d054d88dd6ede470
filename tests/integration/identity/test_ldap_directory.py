"""gateway.identity.ldap against a real slapd: search-then-bind and direct bind, wrong and
empty passwords, escaping of the login name, groups, StartTLS and ldaps with the test CA,
fail-over, and a directory that does not answer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest

from gateway.auth.login import DirectoryUnavailable
from gateway.identity.ldap import LdapConfig, LdapDirectory, normalize_dn
from tests.support.processes import free_port
from tests.support.slapd import GROUPS, PEOPLE, SERVICE_DN, SERVICE_PW, Slapd, group_dn, password, person_dn

Directory = Callable[..., LdapDirectory]


def search_config(slapd: Slapd) -> LdapConfig:
    return LdapConfig(
        (slapd.url,), bind_dn=SERVICE_DN, bind_password=SERVICE_PW, user_base=PEOPLE, group_base=GROUPS, timeout=3.0,
    )


@pytest.fixture
async def directory(slapd: Slapd) -> AsyncIterator[Directory]:
    """`directory(**changes)`: a client for the session's slapd (search-then-bind unless changed)."""
    made: list[LdapDirectory] = []

    def make(**changes: object) -> LdapDirectory:
        made.append(LdapDirectory(replace(search_config(slapd), **changes)))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for instance in made:
        instance.close()


async def test_search_then_bind_finds_the_user_their_mail_and_groups(directory: Directory) -> None:
    entry = await directory().authenticate("lara", password("lara"))
    assert entry is not None
    assert (entry.dn, entry.email) == (person_dn("lara"), "lara@example.org")
    assert [normalize_dn(g) for g in entry.groups] == [group_dn("web-devs")]


async def test_direct_bind_reads_the_entry_as_the_user(directory: Directory) -> None:
    direct = directory(bind_dn=None, bind_password=None, user_base=None, user_dn_template=f"uid={{username}},{PEOPLE}")
    entry = await direct.authenticate("lucy", password("lucy"))
    assert entry is not None and [normalize_dn(g) for g in entry.groups] == [group_dn("admins")]
    assert await direct.authenticate("lucy", password("lara")) is None


@pytest.mark.parametrize(
    ("username", "secret"),
    [
        ("lara", "wrong-password"),
        ("lara", ""),  # an unauthenticated bind succeeds in LDAP: refused before any bind
        ("nobody", password("lara")),
        ("la*", password("lara")),  # a wildcard in the name is a literal asterisk
        ("*)(uid=*", password("lara")),
        ("lara)(|(uid=*", password("lara")),
    ],
)
async def test_wrong_empty_unknown_and_injected_credentials_are_refused(
    directory: Directory, username: str, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert await directory().authenticate(username, secret) is None
    # Escaped, the filter finds no entry at all (unescaped, `la*` finds three, `*)(uid=*` is no
    # filter): not one found and then refused for its name.
    assert "entries match" not in caplog.text and "does not carry" not in caplog.text


HOSTILE_NAMES = {
    "backslash": "la\\ra", "escaped-star": "la\\2a", "parenthesis": "la(ra", "nul": "lara\x00", "non-ascii": "l\u00e4ra",
    # slapd prepares strings before matching (RFC 4518: NFKC, case, spaces), so these find lara's
    # entry; it does not carry the name as given, so nobody signs in as it.
    "fullwidth": "\uff4c\uff41\uff52\uff41", "trailing-space": "lara ",
}


@pytest.mark.parametrize("username", HOSTILE_NAMES.values(), ids=HOSTILE_NAMES.keys())
async def test_hostile_names_through_both_filter_templates_sign_in_nobody(
    directory: Directory, username: str, caplog: pytest.LogCaptureFixture
) -> None:
    both = directory(user_filter="(&(objectClass=inetOrgPerson)(uid={username}))", group_filter="(|(member={dn})(cn={username}))")
    lara = await both.authenticate("lara", password("lara"))
    assert lara is not None and [normalize_dn(g) for g in lara.groups] == [group_dn("web-devs")]
    assert await both.authenticate(username, password("lara")) is None
    assert await both.lookup(username) is None
    assert "entries match" not in caplog.text


async def test_a_wildcard_finds_nobody_where_the_name_itself_finds_the_user(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    client = directory()
    assert await client.lookup("lucy") is not None
    assert await client.lookup("luc*") is None, "unescaped, this would find lucy alone"
    assert await client.lookup("*") is None
    assert "does not carry" not in caplog.text


async def test_an_entry_must_carry_the_login_name_whatever_the_filter_matched(
    directory: Directory, caplog: pytest.LogCaptureFixture
) -> None:
    by_mail = directory(user_filter="(mail={username}@example.org)")
    assert await by_mail.lookup("lucy") is not None
    mismatched = directory(user_filter="(uid=lucy)")  # a filter that ignores the name
    assert await mismatched.authenticate("leo", password("lucy")) is None
    assert "does not carry that uid" in caplog.text


async def test_a_direct_bind_template_escapes_the_name(directory: Directory) -> None:
    direct = directory(bind_dn=None, bind_password=None, user_base=None, user_dn_template=f"uid={{username}},{PEOPLE}")
    assert await direct.authenticate(f"lara,{PEOPLE}", password("lara")) is None


async def test_starttls_and_ldaps_work_with_the_test_ca_and_not_without_it(directory: Directory, slapd: Slapd) -> None:
    for client in (directory(start_tls=True, ca_file=str(slapd.ca_file)), directory(urls=(slapd.tls_url,), ca_file=str(slapd.ca_file))):
        assert await client.authenticate("lara", password("lara")) is not None
    for client in (directory(start_tls=True), directory(urls=(slapd.tls_url,))):
        with pytest.raises(DirectoryUnavailable):
            await client.authenticate("lara", password("lara"))


async def test_a_second_url_takes_over_when_the_first_does_not_answer(directory: Directory, slapd: Slapd) -> None:
    client = directory(urls=(f"ldap://127.0.0.1:{free_port()}", slapd.url))
    assert await client.authenticate("lara", password("lara")) is not None
    assert await client.lookup("lena") is not None


async def test_no_answer_and_a_refused_service_account_are_unavailable_not_wrong(directory: Directory) -> None:
    with pytest.raises(DirectoryUnavailable):
        await directory(urls=(f"ldap://127.0.0.1:{free_port()}",)).authenticate("lara", password("lara"))
    refused = directory(bind_password="not-the-reader-password")
    with pytest.raises(DirectoryUnavailable):
        await refused.authenticate("lara", password("lara"))
    with pytest.raises(DirectoryUnavailable):
        await refused.check()
    await directory().check()


def test_dns_compare_without_case_and_spaces() -> None:
    assert normalize_dn("CN=Web-Devs , OU=Groups,dc=Example,dc=org") == "cn=web-devs,ou=groups,dc=example,dc=org"
    assert normalize_dn(r"cn=a\,b,dc=org") == r"cn=a\,b,dc=org"


async def test_a_search_base_that_does_not_exist_is_a_fault_not_an_empty_directory(directory: Directory) -> None:
    with pytest.raises(DirectoryUnavailable):
        await directory(user_base=f"ou=peple,{PEOPLE.split(',', 1)[1]}").lookup("lara")
    with pytest.raises(DirectoryUnavailable):
        await directory(group_base=f"ou=grups,{GROUPS.split(',', 1)[1]}").authenticate("lara", password("lara"))
    direct = directory(bind_dn=None, bind_password=None, user_base=None, user_dn_template=f"uid={{username}},{PEOPLE}")
    assert await direct.authenticate("nobody", "some-password") is None, "in direct bind, a missing DN is a missing user"
