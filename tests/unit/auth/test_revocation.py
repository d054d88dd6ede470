"""The in-memory revocation view: tokens issued up to a namespace's reservation are void there."""

from __future__ import annotations

from gateway.auth.revocation import RevocationView


def test_tokens_issued_up_to_a_reservation_are_void_in_that_namespace_only() -> None:
    view = RevocationView()
    view.reserve("bob", 100)
    assert view.predates_reservation("bob/app", 99)
    assert view.predates_reservation("bob/deep/app", 100), "the second of the deletion counts as before it"
    assert not view.predates_reservation("bob/app", 101)
    assert not view.predates_reservation("bobby/app", 50)
    assert not view.predates_reservation("bob", 50), "a global repository named like the namespace is another thing"


def test_a_later_reservation_of_the_same_name_moves_the_moment_forward_never_back() -> None:
    view = RevocationView()
    view.reserve("bob", 200)
    view.reserve("bob", 100)
    assert view.predates_reservation("bob/app", 150)
