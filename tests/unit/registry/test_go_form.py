"""The query and the body as Go's net/http (registry 2.8) reads them."""

from __future__ import annotations

import pytest
from multidict import CIMultiDict

from gateway.registry.go_form import go_query, read_as_form, without_form_body


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", []),
        ("mount=a&from=b", [("mount", "a"), ("from", "b")]),
        ("from=a&from=b", [("from", "a"), ("from", "b")]),
        ("x=1;y&mount=a", [("mount", "a")]),  # a pair holding `;` is dropped whole (Go 1.17+)
        ("mount=a&from=b;", [("mount", "a")]),
        ("a;from=b", []),
        ("mount=%zz&mount=a", [("mount", "a")]),  # a bad escape drops its pair
        ("from=%2&from=b", [("from", "b")]),
        ("m%6Funt=a&fr%6Fm=b%2Fc", [("mount", "a"), ("from", "b/c")]),
        ("from=a+b", [("from", "a b")]),
        ("from", [("from", "")]),
        ("&&from=b&", [("from", "b")]),
        ("from=a=b", [("from", "a=b")]),
    ],
)
def test_the_query_is_split_and_decoded_as_go_does(raw: str, expected: list[tuple[str, str]]) -> None:
    assert list(go_query(raw).items()) == expected


def test_the_first_of_repeated_keys_is_the_value_go_reads() -> None:
    assert go_query("from=a;b&from=c&from=d").get("from") == "c"


def test_bytes_that_are_not_utf8_never_read_as_a_name() -> None:
    assert go_query("from=b%E9").get("from") == "b\ufffd"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded",
        " application/x-www-form-urlencoded ; charset=utf-8",
        "application/x-www-form-urlencoded; =malformed",
        "multipart/form-data; boundary=x",
        "MULTIPART/FORM-DATA",
        "applİcation/x-www-form-urlencoded",  # Go folds U+0130 to `i`
    ],
)
def test_form_content_types_are_found_whatever_their_case_and_parameters(content_type: str) -> None:
    assert read_as_form(content_type)


@pytest.mark.parametrize(
    "content_type",
    ["", "application/octet-stream", "application/vnd.oci.image.manifest.v1+json", "multipart/mixed; boundary=x",
     "text/plain; x=application/x-www-form-urlencoded"],
)
def test_other_content_types_are_not_forms(content_type: str) -> None:
    assert not read_as_form(content_type)


def test_a_form_content_type_is_replaced_and_other_headers_kept() -> None:
    headers = CIMultiDict([("content-type", "application/x-www-form-urlencoded"), ("Accept", "a"), ("Accept", "b")])
    forwarded = without_form_body(headers)
    assert forwarded.getall("Content-Type") == ["application/octet-stream"]
    assert forwarded.getall("Accept") == ["a", "b"]


def test_any_repeated_content_type_that_is_a_form_replaces_them_all() -> None:
    headers = CIMultiDict([("Content-Type", "application/octet-stream"), ("Content-Type", "multipart/form-data")])
    assert without_form_body(headers).getall("Content-Type") == ["application/octet-stream"]


def test_other_content_types_pass_unchanged() -> None:
    headers = CIMultiDict([("Content-Type", "application/vnd.oci.image.manifest.v1+json")])
    assert without_form_body(headers) is headers
    assert without_form_body(CIMultiDict()).getall("Content-Type", []) == []


def test_a_parsed_query_is_shared_read_only() -> None:
    """Parsed once per query text and handed to every caller: none may change it for the next."""
    parsed = go_query("mount=sha256%3Aab&from=team%2Fapp")
    assert go_query("mount=sha256%3Aab&from=team%2Fapp") is parsed
    with pytest.raises(AttributeError):
        parsed.add("from", "other/app")  # type: ignore[attr-defined]
    assert parsed.getall("from") == ["team/app"]
