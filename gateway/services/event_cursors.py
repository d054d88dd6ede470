"""Where a page of the audit log starts, as its asker may say it. Event sequence numbers are
dense, so the gaps between two that a non-admin sees would count the events they may not see
(issue 19: no count of what they may not see). Non-admins therefore page with an opaque cursor:
the sequence number padded to one width and sealed (AES-GCM, random nonce: two cursors of one
event differ, and neither their bytes nor their length tell its number) for this purpose and
this user, so a cursor opens nowhere else. Admins see every event, so numbers tell them nothing
new: they may give either.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.permissions import Actor
from gateway.auth.policy import Identity
from gateway.auth.sealing import PREFIX, Sealer, Unsealable
from gateway.services.errors import Invalid

_MAX_DIGITS = 18
_NOT_A_CURSOR = (
    "the page to start from is not one given to you: follow the link of a previous page"
    " (in the API, its `next` or an event's `cursor`)"
)


def _purpose(identity: Identity) -> str:
    return f"audit log cursor for {identity.name}"


@dataclass(frozen=True)
class EventCursors:
    """Seals and opens audit log cursors with the gateway's secrets key (every instance on one
    database has the same, so a cursor from one opens on another)."""

    sealer: Sealer

    def seal(self, identity: Identity, seq: int) -> str:
        """An opaque cursor: the events older than event `seq`. Zero-padded to one width, as a
        sealed text is as long as the plain one: else the length would tell the number's digits."""
        return self.sealer.seal(f"{seq:0{_MAX_DIGITS}d}", _purpose(identity))

    def next_of(self, identity: Identity, seq: int) -> str:
        """What the asker gives to go on after event `seq`: admins the number, others a cursor."""
        return str(seq) if Actor.of(identity).admin else self.seal(identity, seq)

    def start(self, identity: Identity, text: str) -> int | None:
        """The `before_seq` that `text` (a cursor, or for admins a number too) stands for;
        None when not given. A number from a non-admin, or a cursor that does not open for this
        user and purpose, is Invalid (one message: which of them it was tells nothing)."""
        if not text:
            return None
        if text.isascii() and text.isdigit() and len(text) <= _MAX_DIGITS:
            if not Actor.of(identity).admin:
                raise Invalid(f"{_NOT_A_CURSOR}; event numbers are for admins")
            return int(text)
        if not text.startswith(PREFIX):  # Sealer.open passes unsealed text through as it is
            raise Invalid(_NOT_A_CURSOR)
        try:
            plain = self.sealer.open(text, _purpose(identity))
        except Unsealable:
            raise Invalid(_NOT_A_CURSOR) from None
        if not plain.isascii() or not plain.isdigit() or len(plain) > _MAX_DIGITS:
            raise Invalid(_NOT_A_CURSOR)
        return int(plain)
