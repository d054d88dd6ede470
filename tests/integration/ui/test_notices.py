"""The notice after a POST shows only when this session's gateway made it: a crafted, edited or
another session's `?done=` link shows a page without it (content spoofing), no error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from tests.integration.ui.conftest import sign_in
from tests.support.client import USERS
from tests.support.processes import Gateway

FORGED = "Your account is locked: call 555-0100 and give your password."


def test_a_crafted_notice_is_not_shown_and_the_real_one_is(gateway: Gateway, new_page: Callable[[], Any]) -> None:
    team = f"notice{time.time_ns() % 10**9}"
    alice = new_page()
    sign_in(alice, gateway, "alice", USERS["alice"])
    alice.goto(f"{gateway.url}/ui/teams")
    alice.fill("#team-name", team)
    alice.click("form[action$='/ui/teams'] button[type=submit]")
    made = f"Team {team} created; you are its owner."
    assert alice.locator(".notice").inner_text() == made
    real = alice.url
    query = urlsplit(real).query
    assert "sig=" in query

    page = f"{gateway.url}/ui/teams/{team}"
    signature = query.rsplit("sig=", 1)[1]
    for crafted in (
        f"{page}?done={quote(FORGED)}",
        f"{page}?done={quote(FORGED)}&sig={signature}",
        f"{page}?done={quote(made + ' ')}&sig={signature}",
        f"{page}?done={quote(FORGED)}&sig={'0' * 64}",
        f"{page}?done={quote(FORGED)}&sig=%C3%A9",
        f"{gateway.url}/ui/teams?done={quote(FORGED)}",
        f"{gateway.url}/ui/account?done={quote(FORGED)}",
    ):
        answer = alice.goto(crafted)
        assert answer is not None and answer.status == 200, crafted
        assert alice.locator(".notice").count() == 0, crafted
        assert FORGED not in alice.content()

    alice.goto(real)
    assert alice.locator(".notice").inner_text() == made

    bob = new_page()
    sign_in(bob, gateway, "bob", USERS["bob"])
    bob.goto(f"{gateway.url}/ui/account{real[len(page):]}")
    assert bob.locator(".notice").count() == 0
