"""Upload sessions bound to their opener, and query handling that leaves other bytes alone."""

from __future__ import annotations

import time

import pytest

from gateway.registry.uploads import PARAM, UploadBinder, add_param, split_query

SECRET = b"s" * 32
REPO = "alice/app"
UPLOAD = "0b5e3f6c-1a2b-4c3d-9e8f-0123456789ab"
TTL = 3600


@pytest.fixture
def binder() -> UploadBinder:
    return UploadBinder(SECRET, TTL)


def test_binding_verifies_for_the_same_repository_upload_and_subject(binder: UploadBinder) -> None:
    value = binder.bind(REPO, UPLOAD, "alice")
    assert binder.verify(value, REPO, UPLOAD, "alice")


def test_binding_expires_after_its_ttl(binder: UploadBinder) -> None:
    now = time.time()
    value = binder.bind(REPO, UPLOAD, "alice", now=now)
    assert binder.verify(value, REPO, UPLOAD, "alice", now=now + TTL - 1)
    assert not binder.verify(value, REPO, UPLOAD, "alice", now=now + TTL + 1)


def test_binding_made_long_ago_is_expired(binder: UploadBinder) -> None:
    value = binder.bind(REPO, UPLOAD, "alice", now=time.time() - TTL - 10)
    assert not binder.verify(value, REPO, UPLOAD, "alice")


@pytest.mark.parametrize(
    ("repository", "upload", "subject"),
    [
        ("alice/other", UPLOAD, "alice"),
        (REPO, "another-upload-id", "alice"),
        (REPO, UPLOAD, "bob"),
        (REPO, UPLOAD, ""),
    ],
    ids=["wrong-repository", "wrong-upload", "wrong-subject", "anonymous-subject"],
)
def test_binding_does_not_verify_for_anything_else(binder: UploadBinder, repository: str, upload: str, subject: str) -> None:
    value = binder.bind(REPO, UPLOAD, "alice")
    assert not binder.verify(value, repository, upload, subject)


def test_binding_from_another_secret_does_not_verify(binder: UploadBinder) -> None:
    value = UploadBinder(b"t" * 32, TTL).bind(REPO, UPLOAD, "alice")
    assert not binder.verify(value, REPO, UPLOAD, "alice")


def test_tampered_mac_does_not_verify(binder: UploadBinder) -> None:
    value = binder.bind(REPO, UPLOAD, "alice")
    expires, _, mac = value.partition(".")
    flipped = ("0" if mac[0] != "0" else "1") + mac[1:]
    assert not binder.verify(f"{expires}.{flipped}", REPO, UPLOAD, "alice")
    assert not binder.verify(f"{expires}.{mac[:-1]}", REPO, UPLOAD, "alice")


def test_extended_expiry_does_not_verify(binder: UploadBinder) -> None:
    value = binder.bind(REPO, UPLOAD, "alice")
    expires, _, mac = value.partition(".")
    assert not binder.verify(f"{int(expires) + 86400}.{mac}", REPO, UPLOAD, "alice")


@pytest.mark.parametrize("value", ["", ".", "abc", "123", "123.", ".abc", "-5.abc", "1e9.abc", "9" * 13 + ".abc", "12 3.abc"])
def test_malformed_bindings_do_not_verify(binder: UploadBinder, value: str) -> None:
    assert not binder.verify(value, REPO, UPLOAD, "alice")


# --- split_query / add_param --------------------------------------------------------------------


def test_split_query_removes_the_binding_and_keeps_state_byte_exact() -> None:
    raw = "_state=abc%3D%3D&_gw=123.abc"
    assert split_query(raw) == ("_state=abc%3D%3D", "123.abc")


def test_split_query_keeps_order_and_odd_bytes_of_other_parameters() -> None:
    raw = "digest=sha256%3Aabc&_gw=1.f&_state=a+b%2Fc%3D%3D&&flag&x=%7E~"
    kept, value = split_query(raw)
    assert value == "1.f"
    assert kept == "digest=sha256%3Aabc&_state=a+b%2Fc%3D%3D&&flag&x=%7E~"


def test_split_query_without_the_parameter_returns_the_query_unchanged() -> None:
    raw = "_state=abc%3D%3D&digest=sha256%3Aabc"
    assert split_query(raw) == (raw, None)


def test_split_query_of_empty_query() -> None:
    assert split_query("") == ("", None)


def test_split_query_only_matches_the_exact_parameter_name() -> None:
    raw = "_gwx=1&x_gw=2&_GW=3"
    assert split_query(raw) == (raw, None)


def test_split_query_removes_another_named_parameter() -> None:
    assert split_query("mount=sha256%3Aa&from=alice%2Fbase&_state=x%3D", "from") == ("mount=sha256%3Aa&_state=x%3D", "alice%2Fbase")


def test_add_param_appends_without_reencoding() -> None:
    url = "http://gw:5000/v2/alice/app/blobs/uploads/abc?_state=abc%3D%3D"
    assert add_param(url, "1.f") == url + f"&{PARAM}=1.f"
    assert add_param("/v2/alice/app/blobs/uploads/abc", "1.f") == f"/v2/alice/app/blobs/uploads/abc?{PARAM}=1.f"


def test_add_then_split_round_trips() -> None:
    url = "/v2/alice/app/blobs/uploads/abc?_state=abc%3D%3D"
    _, _, query = add_param(url, "9.ff").partition("?")
    assert split_query(query) == ("_state=abc%3D%3D", "9.ff")


def test_split_query_matches_a_percent_encoded_name_as_the_registry_decodes_it() -> None:
    raw = "m%6Funt=sha256%3Aa&f%72om=alice%2Fsecret&_state=x"
    assert split_query(raw, "mount") == ("f%72om=alice%2Fsecret&_state=x", "sha256%3Aa")
    assert split_query(raw, "from") == ("m%6Funt=sha256%3Aa&_state=x", "alice%2Fsecret")


def test_split_query_removes_every_occurrence_of_the_name() -> None:
    assert split_query("from=a&x=1&from=b", "from") == ("x=1", "b")
