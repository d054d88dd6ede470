"""Reading the webhook forms: the fields as posted, the extra headers typed as lines
`Name: value`, and what a form keeps when it is shown again after a refusal (never the secret,
never a URL's password)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from multidict import MultiDictProxy
from yarl import URL

from gateway.services.errors import Invalid
from gateway.ui.auth import field as raw_field
from gateway.ui.manage.common import checked, text

MAX_HEADER_LINES = 50


@dataclass(frozen=True)
class WebhookForm:
    """The fields of the add and edit forms (the edit form has no name)."""

    name: str = ""
    url: str = ""
    secret: str = ""
    actions: list[str] = field(default_factory=list)
    repository_pattern: str = ""
    headers: str = ""
    clear_headers: bool = False

    @classmethod
    def posted(cls, form: MultiDictProxy[Any]) -> WebhookForm:
        return cls(
            name=text(form, "name"), url=text(form, "url"), secret=raw_field(form, "secret"),
            actions=checked(form, "actions"), repository_pattern=text(form, "repository_pattern"),
            headers=text(form, "headers"), clear_headers=bool(form.get("clear_headers")),
        )

    def kept(self) -> WebhookForm:
        """The form to show again: without the secret, and without a URL holding a password."""
        return dataclasses.replace(self, url=shown_url(self.url), secret="")


def parse_headers(text: str) -> dict[str, str]:
    """`Name: value` lines (blank lines skipped) as headers; the webhooks service checks them."""
    headers: dict[str, str] = {}
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_HEADER_LINES:
        raise Invalid(f"at most {MAX_HEADER_LINES} headers")
    for number, line in enumerate(lines, 1):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise Invalid(f"header line {number} is not of the form 'Name: value'")
        if name.strip().lower() in (known.lower() for known in headers):
            raise Invalid(f"header {name.strip()!r} is given twice")
        headers[name.strip()] = value.strip()
    return headers


def shown_url(url: str) -> str:
    """A URL to put back in a form field: '' when it carries a password (typed again instead)."""
    try:
        return "" if URL(url).raw_password else url
    except (ValueError, UnicodeError):
        return url
