"""The scope grammar: `type[(class)]:name:action[,action]*`, and the name, tag and digest rules."""

from __future__ import annotations

import pytest

from gateway.auth.scopes import (
    Scope,
    format_scopes,
    is_supported_digest,
    is_valid_digest,
    is_valid_tag,
    parse_scope,
    parse_scopes,
)
from gateway.names import is_valid_repository_name

SHA256 = "sha256:" + "0123456789abcdef" * 4


# --- parse_scope: one item -------------------------------------------------------------------


def test_simple_repository_scope_parses_into_type_name_and_actions() -> None:
    assert parse_scope("repository:alice/app:pull,push") == Scope("repository", "alice/app", ("pull", "push"))


def test_host_and_port_stay_in_the_name_and_actions_split_at_the_last_colon() -> None:
    scope = parse_scope("repository:localhost:5000/foo/bar:pull,push")
    assert scope == Scope("repository", "localhost:5000/foo/bar", ("pull", "push"))


def test_host_without_port_stays_in_the_name() -> None:
    scope = parse_scope("repository:registry.example.com/team/app:pull")
    assert scope is not None
    assert scope.name == "registry.example.com/team/app"


def test_star_action_is_kept() -> None:
    assert parse_scope("repository:alice/app:*") == Scope("repository", "alice/app", ("*",))


def test_registry_catalog_star_parses() -> None:
    assert parse_scope("registry:catalog:*") == Scope("registry", "catalog", ("*",))


@pytest.mark.parametrize("text", ["registry:catalog:pull", "registry:other:*", "registry:catalog:push,delete"])
def test_registry_scope_other_than_catalog_star_is_dropped(text: str) -> None:
    assert parse_scope(text) is None


def test_unknown_type_is_dropped_not_an_error() -> None:
    assert parse_scope("widget:alice/app:pull") is None


def test_unknown_actions_are_dropped_and_known_ones_kept() -> None:
    assert parse_scope("repository:alice/app:pull,fly,push,admin") == Scope("repository", "alice/app", ("pull", "push"))


def test_scope_with_only_unknown_actions_is_dropped() -> None:
    assert parse_scope("repository:alice/app:fly,admin") is None


def test_duplicate_and_empty_actions_collapse() -> None:
    assert parse_scope("repository:alice/app:pull,,pull,push") == Scope("repository", "alice/app", ("pull", "push"))


def test_resource_class_is_recognised_and_kept() -> None:
    scope = parse_scope("repository(plugin):x:pull")
    assert scope == Scope("repository", "x", ("pull",), "plugin")
    assert str(scope) == "repository(plugin):x:pull"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:",
        "repository:alice/app",
        "repository::pull",
        "repository:alice/app:",
        ":alice/app:pull",
        "Repository:alice/app:pull",
        "repository():x:pull",
        "repository(Plugin):x:pull",
        "repository(plugin:x:pull",
        "repository:alice/App:pull",
        "repository:alice//app:pull",
        "repository:localhost:5000:pull",
        "repository:localhost:5000/Foo:pull",
    ],
)
def test_malformed_items_are_dropped(text: str) -> None:
    assert parse_scope(text) is None


def test_name_longer_than_limit_is_dropped() -> None:
    assert parse_scope(f"repository:{'a' * 256}:pull") is None
    assert parse_scope(f"repository:{'a' * 255}:pull") is not None


def test_host_prefixed_name_longer_than_limit_in_total_is_dropped() -> None:
    """The 255-character limit covers the whole name, domain included (as in distribution/reference)."""
    name = "localhost:5000/" + "a" * 250
    assert len(name) > 255
    assert parse_scope(f"repository:{name}:pull") is None


def test_scope_string_round_trips() -> None:
    text = "repository:localhost:5000/foo/bar:pull,push"
    scope = parse_scope(text)
    assert scope is not None
    assert str(scope) == text
    assert scope.as_claim() == {"type": "repository", "name": "localhost:5000/foo/bar", "actions": ["pull", "push"]}


# --- parse_scopes: repeated parameters and space-separated items ------------------------------


def test_repeated_scope_parameters_for_one_resource_are_merged() -> None:
    scopes = parse_scopes(["repository:alice/app:pull", "repository:alice/app:push"])
    assert scopes == [Scope("repository", "alice/app", ("pull", "push"))]


def test_space_separated_items_give_one_scope_each() -> None:
    scopes = parse_scopes(["repository:alice/app:pull,push repository:alice/base:pull"])
    assert scopes == [
        Scope("repository", "alice/app", ("pull", "push")),
        Scope("repository", "alice/base", ("pull",)),
    ]


def test_items_merge_across_parameters_in_client_order() -> None:
    scopes = parse_scopes(
        ["repository:alice/app:pull  repository:bob/x:pull", "registry:catalog:*\trepository:alice/app:delete,pull"]
    )
    assert scopes == [
        Scope("repository", "alice/app", ("pull", "delete")),
        Scope("repository", "bob/x", ("pull",)),
        Scope("registry", "catalog", ("*",)),
    ]


def test_bad_items_among_good_ones_are_skipped() -> None:
    scopes = parse_scopes(["widget:x:pull repository:alice/app:pull repository:BAD:pull", "garbage", ""])
    assert scopes == [Scope("repository", "alice/app", ("pull",))]


def test_resource_class_keeps_scopes_apart() -> None:
    scopes = parse_scopes(["repository(plugin):x:pull repository:x:push"])
    assert scopes == [Scope("repository", "x", ("pull",), "plugin"), Scope("repository", "x", ("push",))]


def test_no_scope_parameters_give_no_scopes() -> None:
    assert parse_scopes([]) == []


def test_format_scopes_joins_with_spaces() -> None:
    scopes = [Scope("repository", "alice/app", ("pull", "push")), Scope("registry", "catalog", ("*",))]
    assert format_scopes(scopes) == "repository:alice/app:pull,push registry:catalog:*"


# --- names, tags, digests ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "app",
        "alice/app",
        "a/b/c/d",
        "my.app",
        "my_app",
        "my__app",
        "my-app",
        "my--app",
        "my---app",
        "a1/b2.c3_d4__e5-f6",
        "0",
        "a" * 255,
        "/".join(["abc"] * 63) + "/abc",
    ],
)
def test_valid_repository_names(name: str) -> None:
    assert len(name) <= 255
    assert is_valid_repository_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "App",
        "alice/App",
        "ALICE",
        "a___b",
        "a..b",
        "a._b",
        "-a",
        "a-",
        "_a",
        "a_",
        ".a",
        "a.",
        "a/",
        "/a",
        "a//b",
        "a b",
        "a:b",
        "a@b",
        "a" * 256,
    ],
)
def test_invalid_repository_names(name: str) -> None:
    assert not is_valid_repository_name(name)


@pytest.mark.parametrize("tag", ["latest", "v1.0.0", "_private", "A", "1", "a-b_c.d", "X" * 128])
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


@pytest.mark.parametrize("tag", ["", ".hidden", "-dash", "a/b", "a:b", "a b", "é", "X" * 129])
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)


@pytest.mark.parametrize(
    "digest",
    [SHA256, "sha512:" + "ab" * 64, "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"],
)
def test_valid_digests(digest: str) -> None:
    assert is_valid_digest(digest)


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "sha256",
        "sha256:",
        ":" + "a" * 64,
        "sha256:" + "a" * 63,
        "sha256:" + "a" * 65,
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,
        "SHA256:" + "a" * 64,
        "sha256:" + "a" * 32 + "/" + "a" * 31,
    ],
)
def test_invalid_digests(digest: str) -> None:
    assert not is_valid_digest(digest)


@pytest.mark.parametrize("digest", [SHA256, "sha384:" + "ab" * 48, "sha512:" + "ab" * 64])
def test_the_digests_registry_2_8_can_look_up_are_supported(digest: str) -> None:
    assert is_supported_digest(digest)


@pytest.mark.parametrize(
    "digest",
    [
        "md5:" + "ab" * 16,
        "sha256+b64:abc",
        "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
        "sha384:" + "ab" * 47,
        "sha384:" + "AB" * 48,
        "sha512:" + "ab" * 48,
    ],
)
def test_digests_of_other_algorithms_lengths_or_cases_are_not_supported(digest: str) -> None:
    assert not is_supported_digest(digest)
