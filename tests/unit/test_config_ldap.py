"""The [ldap] settings: what they accept, and one clear line for what they do not."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, describe, load_settings
from gateway.identity.group_sync import TeamGroup
from gateway.identity.ldap import LdapConfig

BASE = {"GATEWAY_LDAP_URL": "ldap://ldap.example.org", "GATEWAY_LDAP_USER_BASE": "ou=people,dc=example,dc=org"}


def test_several_urls_a_secret_file_and_a_team_map_from_toml(tmp_path: Path) -> None:
    secret = tmp_path / "bind-pw"
    secret.write_text("s3cret\n")
    config = tmp_path / "gateway.toml"
    config.write_text(
        '[ldap]\nurl = ["ldaps://one.example.org", "ldaps://two.example.org:1636"]\n'
        'bind_dn = "cn=reader,dc=example,dc=org"\nuser_base = "ou=people,dc=example,dc=org"\n'
        'group_base = "ou=groups,dc=example,dc=org"\nadmin_group = "cn=admins,ou=groups,dc=example,dc=org"\n'
        '[ldap.team_groups]\nweb = "cn=web,ou=groups,dc=example,dc=org"\n'
        'ops = { group = "cn=ops,ou=groups,dc=example,dc=org", role = "owner" }\n'
    )
    settings = load_settings({"GATEWAY_LDAP_BIND_PASSWORD_FILE": str(secret)}, config)
    assert settings.ldap_urls == ("ldaps://one.example.org", "ldaps://two.example.org:1636")
    assert settings.ldap_bind_password == "s3cret"
    assert settings.ldap_team_groups == (
        TeamGroup("web", "cn=web,ou=groups,dc=example,dc=org", "viewer"),
        TeamGroup("ops", "cn=ops,ou=groups,dc=example,dc=org", "owner"),
    )
    assert describe(settings)["ldap_bind_password"] == "****", "config show masks it"
    ldap = LdapConfig.from_settings(settings)
    assert ldap is not None and ldap.mapping.admin_group == "cn=admins,ou=groups,dc=example,dc=org"
    assert LdapConfig.from_settings(load_settings({})) is None


def test_the_environment_takes_a_comma_list_and_json() -> None:
    settings = load_settings({
        **BASE, "GATEWAY_LDAP_URL": "ldap://a.example.org, ldap://b.example.org:3389",
        "GATEWAY_LDAP_GROUP_BASE": "ou=groups,dc=example,dc=org",
        "GATEWAY_LDAP_TEAM_GROUPS": '{"web": {"group": "cn=web,ou=groups,dc=example,dc=org", "role": "contributor"}}',
    })
    assert settings.ldap_urls == ("ldap://a.example.org", "ldap://b.example.org:3389")
    assert settings.ldap_team_groups == (TeamGroup("web", "cn=web,ou=groups,dc=example,dc=org", "contributor"),)


@pytest.mark.parametrize(
    ("env", "key", "words"),
    [
        ({"GATEWAY_LDAP_URL": "http://ldap.example.org"}, "GATEWAY_LDAP_URL", "ldap://HOST"),
        ({"GATEWAY_LDAP_URL": "ldap://ldap.example.org/dc=example"}, "GATEWAY_LDAP_URL", "ldap://HOST"),
        ({"GATEWAY_LDAP_URL": "ldap://:99999"}, "GATEWAY_LDAP_URL", ""),
        ({"GATEWAY_LDAP_USER_BASE": ""}, "GATEWAY_LDAP_USER_BASE", "user_dn_template"),
        ({"GATEWAY_LDAP_USER_FILTER": "(uid=alice)"}, "GATEWAY_LDAP_USER_FILTER", "{username}"),
        ({"GATEWAY_LDAP_USER_FILTER": "(uid={user})"}, "GATEWAY_LDAP_USER_FILTER", "may use only {username}"),
        ({"GATEWAY_LDAP_USER_FILTER": "uid={username}"}, "GATEWAY_LDAP_USER_FILTER", "in parentheses"),
        ({"GATEWAY_LDAP_USER_DN_TEMPLATE": "uid=x,dc=org"}, "GATEWAY_LDAP_USER_DN_TEMPLATE", "{username}"),
        ({"GATEWAY_LDAP_GROUP_FILTER": "(member={uid})"}, "GATEWAY_LDAP_GROUP_FILTER", "{dn}"),
        ({"GATEWAY_LDAP_BIND_DN": "cn=reader"}, "GATEWAY_LDAP_BIND_PASSWORD", "go together"),
        ({"GATEWAY_LDAP_URL": "ldaps://l.example.org", "GATEWAY_LDAP_START_TLS": "true"}, "GATEWAY_LDAP_START_TLS", "ldaps://"),
        ({"GATEWAY_LDAP_ADMIN_GROUP": "cn=admins"}, "GATEWAY_LDAP_GROUP_BASE", "need group_base"),
        ({"GATEWAY_LDAP_TEAM_GROUPS": '{"web": {"group": "cn=w", "role": "root"}}'}, "GATEWAY_LDAP_TEAM_GROUPS", "role must be"),
        ({"GATEWAY_LDAP_TEAM_GROUPS": "{nope"}, "GATEWAY_LDAP_TEAM_GROUPS", "JSON"),
        ({"GATEWAY_LDAP_TIMEOUT": "0"}, "GATEWAY_LDAP_TIMEOUT", "seconds"),
        ({"GATEWAY_LDAP_SYNC_INTERVAL": "soon"}, "GATEWAY_LDAP_SYNC_INTERVAL", "seconds"),
    ],
)
def test_a_bad_ldap_setting_is_one_clear_error(env: dict[str, str], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, **env})
    assert caught.value.key == key
    assert words in str(caught.value)


def test_ldap_settings_without_a_url_are_an_error_not_ignored() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GATEWAY_LDAP_USER_BASE": "ou=people,dc=example,dc=org"})
    assert caught.value.key == "GATEWAY_LDAP_URL"
