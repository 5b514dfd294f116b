"""Bus ids from Redis stream ids, and back.

A stream id is ``<ms>-<seq>``: the Redis server's clock in milliseconds and a counter within that
millisecond; Redis keeps them strictly increasing. The bus id is::

    id = (ms << 21) | (seq << 1)

so it grows exactly as the stream id does and every server derives the same id for the same entry.
The low bit is left free on purpose: an odd id (``stream id + 1``) is a *local* event that exists on
one server only (``backend-disconnected``, reported while Redis cannot be reached). It sorts after the
entry it follows and before the next one, so it never collides with a stream entry.

Limits: ``seq`` below 2**20 (a million entries in one millisecond) and ``ms`` below 2**42 (the year
2109) keep the id under 2**63, the range of SQLite's INTEGER and of the history's int64 column.
"""

from __future__ import annotations

SEQ_BITS = 20
MAX_SEQ = (1 << SEQ_BITS) - 1


def bus_id(stream_id: bytes | str) -> int:
    """The bus id of a stream entry: ``bus_id("1718000000000-3") == 1718000000000 << 21 | 3 << 1``."""
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, _, seq = text.partition("-")
    number = int(seq or 0)
    if number > MAX_SEQ:
        raise ValueError(f"stream id {text}: sequence {number} exceeds {MAX_SEQ} entries in one millisecond")
    return (int(ms) << (SEQ_BITS + 1)) | (number << 1)


def stream_id(msg_id: int) -> str:
    """The stream id a bus id was made from (a local, odd id maps to the entry before it)."""
    return f"{msg_id >> (SEQ_BITS + 1)}-{(msg_id >> 1) & MAX_SEQ}"


def is_local(msg_id: int) -> bool:
    """True for ids of events that only this server saw (not on the stream)."""
    return bool(msg_id & 1)


def epoch_ms(msg_id: int) -> int:
    """The Redis clock (ms) at which the entry was added."""
    return msg_id >> (SEQ_BITS + 1)
