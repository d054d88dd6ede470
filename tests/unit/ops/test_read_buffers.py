"""The buffers an owned body is read into: a buffer is reused only once no view of it is left."""

from __future__ import annotations

from gateway.ops.read_buffers import MIN_ROOM, SIZE, ReadBuffers


def _fill(buffers: ReadBuffers, count: int) -> tuple[bytearray, memoryview]:
    """A read of `count` bytes: the buffer it went into and a view of them (what the relay holds)."""
    room = buffers.room()
    assert len(room) >= count
    room[:count] = b"x" * count
    buffer, start, end = buffers.filled(count)
    return buffer, memoryview(buffer)[start:end]


def test_reads_fill_one_buffer_until_too_little_room_is_left() -> None:
    buffers = ReadBuffers()
    first, _ = _fill(buffers, SIZE - MIN_ROOM)
    second, _ = _fill(buffers, 10)
    assert second is first
    third, _ = _fill(buffers, 10)
    assert third is not first


def test_a_buffer_still_referred_to_is_never_reused() -> None:
    buffers = ReadBuffers()
    first, held = _fill(buffers, SIZE)
    second, _ = _fill(buffers, SIZE)
    third, _ = _fill(buffers, SIZE)
    assert first is not second and first is not third  # `held` still refers to the first
    assert bytes(held) == b"x" * SIZE


def test_a_buffer_no_view_refers_to_is_reused() -> None:
    buffers = ReadBuffers()
    first, held = _fill(buffers, SIZE)
    held.release()  # the registry's connection has sent it
    second, _ = _fill(buffers, SIZE)
    assert second is first
    assert len(second) == SIZE  # asking whether it was free left it as it was
