"""The webhook envelope is built from events as stored, byte for byte what encoding them would give;
event timestamps are written as datetime writes them."""

from __future__ import annotations

import datetime
import json

from gateway.events.model import envelope_bytes, rfc3339_nano


def test_the_envelope_of_stored_events_is_their_compact_json_encoding() -> None:
    events = [
        {"id": "a", "action": "push", "target": {"repository": "alice/app", "tag": "v1", "size": 3}},
        {"id": "b", "action": "pull", "actor": {"name": "zoë"}, "request": {"useragent": 'say "hi"\n'}},
    ]
    stored = [json.dumps(event, separators=(",", ":")) for event in events]
    body = envelope_bytes(",".join(stored))
    assert body == json.dumps({"events": events}, separators=(",", ":")).encode()
    assert json.loads(body) == {"events": events}
    assert envelope_bytes("") == b'{"events":[]}'


def test_event_timestamps_read_as_datetime_writes_them() -> None:
    """The second's text is made once and the microseconds added: the same text, and the same
    rounding, as `datetime.fromtimestamp(...).isoformat()` for every moment."""
    moments = [-1.5, -0.0000004, 0.0, 1.0, 59.9999995, 59.9999994, 1_700_000_000.5, 1_700_000_000.0000004, 1_700_000_000.9999996,
               1_799_999_999.123456, 86_399.9999999, 4_102_444_799.999999]
    moments += [1_700_000_000 + step * 0.0370001 for step in range(2000)]
    for moment in moments:
        expected = datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(timespec="microseconds")
        assert rfc3339_nano(moment) == expected.replace("+00:00", "Z"), moment
