"""The webhook forms' headers box and what a refused form keeps."""

from __future__ import annotations

import pytest

from gateway.services.errors import Invalid
from gateway.ui.manage.webhook_form import WebhookForm, parse_headers, shown_url


def test_header_lines_become_headers_blank_lines_skipped_and_values_may_hold_colons() -> None:
    assert parse_headers("X-Team: ops\n\n  Authorization: Bearer a:b  \r\n") == {"X-Team": "ops", "Authorization": "Bearer a:b"}
    assert parse_headers("") == {}


@pytest.mark.parametrize(("text", "message"), [
    ("X-Team ops", "header line 1 is not of the form 'Name: value'"),
    ("X-A: 1\n: nameless", "header line 2 is not of the form 'Name: value'"),
    ("X-A: 1\nx-a: 2", "header 'x-a' is given twice"),
    ("\n".join(f"X-{i}: v" for i in range(51)), "at most 50 headers"),
])
def test_a_bad_header_box_is_refused_saying_which_line(text: str, message: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_headers(text)
    assert refused.value.message == message


def test_a_refused_form_keeps_neither_the_secret_nor_a_url_with_a_password() -> None:
    form = WebhookForm(name="n", url="https://u:pw@example.com/h", secret="s3cret-value", headers="X-A: 1")
    assert form.kept() == WebhookForm(name="n", url="", secret="", headers="X-A: 1")
    assert shown_url("https://example.com/h") == "https://example.com/h"
    assert shown_url("https://u@example.com/h") == "https://u@example.com/h"
