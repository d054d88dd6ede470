"""Audit log cursors: a non-admin's are sealed sequence numbers that open only for them and this
purpose; a number, unsealed text or a changed cursor is refused; admins may give numbers."""

from __future__ import annotations

import pytest

from gateway.auth.policy import Identity, TokenLimits
from gateway.auth.sealing import PREFIX, Sealer, new_key
from gateway.services.errors import Invalid
from gateway.services.event_cursors import EventCursors

ALICE = Identity("alice")
BOB = Identity("bob")
ROOT = Identity("root", admin=True)
ROOT_BY_TOKEN = Identity("root", admin=True, limits=TokenLimits("t1", "ci", frozenset(), frozenset({"pull"})))


@pytest.fixture
def cursors() -> EventCursors:
    return EventCursors(Sealer([new_key()]))


def test_a_cursor_opens_to_its_sequence_number_for_its_user_only(cursors: EventCursors) -> None:
    cursor = cursors.next_of(ALICE, 4711)
    assert cursor.startswith(PREFIX) and "4711" not in cursor.split(":")[1]
    assert cursors.start(ALICE, cursor) == 4711
    with pytest.raises(Invalid):
        cursors.start(BOB, cursor)


def test_two_cursors_of_one_event_differ_and_all_have_one_length(cursors: EventCursors) -> None:
    assert cursors.seal(ALICE, 7) != cursors.seal(ALICE, 7)
    assert {len(cursors.seal(ALICE, seq)) for seq in (1, 42, 10**9, 10**17)} == {len(cursors.seal(ALICE, 7))}
    assert cursors.start(ALICE, cursors.seal(ALICE, 10**17)) == 10**17


@pytest.mark.parametrize("text", ["12", "0", "x1", "pgs1:", "pgs1:abcdefgh:AAAA", str(10**19)], ids=str)
def test_a_non_admin_gives_no_number_nor_unsealed_text(cursors: EventCursors, text: str) -> None:
    with pytest.raises(Invalid, match="previous page"):
        cursors.start(ALICE, text)


def test_a_changed_cursor_or_one_sealed_for_another_purpose_is_refused(cursors: EventCursors) -> None:
    cursor = cursors.seal(ALICE, 12)
    changed = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    other_purpose = cursors.sealer.seal("12", "webhook 'ci' url")
    not_a_number = cursors.sealer.seal("twelve", "audit log cursor for alice")
    for text in (changed, other_purpose, not_a_number):
        with pytest.raises(Invalid):
            cursors.start(ALICE, text)


def test_admins_give_numbers_or_cursors_and_go_on_by_number(cursors: EventCursors) -> None:
    assert cursors.start(ROOT, "12") == 12 and cursors.next_of(ROOT, 12) == "12"
    assert cursors.start(ROOT, cursors.seal(ROOT, 12)) == 12
    assert cursors.start(ROOT, "") is None and cursors.start(ALICE, "") is None


def test_an_admins_application_token_pages_like_a_non_admin(cursors: EventCursors) -> None:
    """Its limits narrow what it sees, so numbers would count what it may not see."""
    assert cursors.next_of(ROOT_BY_TOKEN, 12).startswith(PREFIX)
    with pytest.raises(Invalid):
        cursors.start(ROOT_BY_TOKEN, "12")


def test_a_cursor_opens_after_the_key_is_rotated() -> None:
    old, fresh = new_key(), new_key()
    cursor = EventCursors(Sealer([old])).seal(ALICE, 99)
    assert EventCursors(Sealer([fresh, old])).start(ALICE, cursor) == 99
