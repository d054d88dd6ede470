"""The webhook envelope is built from events as stored, byte for byte what encoding them would give."""

from __future__ import annotations

import json

from gateway.events.model import envelope_bytes


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
