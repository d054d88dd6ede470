"""Which proxied exchanges are mount events, decided on the query as the registry read it."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from gateway.events.capture import Exchange, event_for, is_mount
from gateway.registry.go_form import go_query
from gateway.registry.routes import Route

MOUNTED = "sha256:" + "a" * 64
UPLOADED = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("query", "created", "expected"),
    [
        ({"mount": MOUNTED, "from": "alice/src"}, MOUNTED, True),
        ({"mount": MOUNTED, "from": "alice/src"}, "", True),
        ({"mount": MOUNTED}, MOUNTED, False),  # the registry mounts only with both
        ({"from": "alice/src"}, MOUNTED, False),
        ({"mount": "", "from": "alice/src"}, MOUNTED, False),
        ({"mount": MOUNTED, "from": "alice/src", "digest": UPLOADED}, MOUNTED, True),  # registry 2.8 ignores `digest`
        ({"mount": MOUNTED, "from": "alice/src", "digest": UPLOADED}, UPLOADED, False),  # a later one uploads instead
        ({"digest": UPLOADED}, UPLOADED, False),
    ],
)
def test_a_201_to_an_upload_post_is_a_mount_when_the_registry_read_a_mount(
    query: dict[str, str], created: str, expected: bool
) -> None:
    assert is_mount(MultiDict(query), created) is expected


def _exchange(raw_query: str, status: int = 201) -> Exchange:
    return Exchange(
        route=Route("upload", "alice/dst", ""), method="POST", query=go_query(raw_query), status=status,
        request_headers={}, response_headers={"Docker-Content-Digest": MOUNTED}, remote="127.0.0.1",
        origin="http://gw", subject="alice", app_token="",
    )


def test_the_mount_event_names_the_source_the_registry_read() -> None:
    event = event_for(_exchange(f"from=bob/x;y&mount={MOUNTED}&from=alice/src&from=alice/other"))
    assert event is not None and event.action == "mount"
    assert (event.target.digest, event.target.from_repository) == (MOUNTED, "alice/src")


def test_an_upload_that_started_is_no_event() -> None:
    assert event_for(_exchange(f"mount={MOUNTED}&from=alice/src", status=202)) is None
