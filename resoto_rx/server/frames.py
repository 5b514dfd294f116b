"""Outgoing frames, built once per message and shared by every client that receives it.

The bus encodes each message's ``data`` once at emit (``Message.encoded_data``); the JSON line around it
(``{"kind","message_type","data","id","at"}`` plus the "\\n" resotocore ends frames with) and the
websocket frame header are added here once, and the resulting bytes go to every socket as they are.
A server's frames are never masked (RFC 6455 §5.1) and this server negotiates no compression, so the
same bytes are valid on every connection.
"""

from __future__ import annotations

import struct
from typing import Any

import orjson

from resoto_rx.codec import encode, utc_iso
from resoto_rx.messages import Message

_TEXT = 0x81  # FIN + text opcode


def websocket_frame(payload: bytes) -> bytes:
    """``payload`` (UTF-8 text) as one unmasked, final websocket text frame."""
    size = len(payload)
    if size < 126:
        return bytes((_TEXT, size)) + payload
    if size <= 0xFFFF:
        return struct.pack("!BBH", _TEXT, 126, size) + payload
    return struct.pack("!BBQ", _TEXT, 127, size) + payload


def message_line(message: Message) -> bytes:
    """The JSON line of ``message`` as resotocore sends it (superset ``id``/``at``), ending in "\\n"."""
    data = message.encoded_data
    if data is None or message.id is None:
        return encode(message) + b"\n"  # not published (e.g. a pending action): encode it whole
    at = b',"at":"' + utc_iso(message.at).encode() + b'"}\n' if message.at is not None else b"}\n"
    return b"".join(
        (
            b'{"kind":"',
            message.kind.encode(),
            b'","message_type":',
            orjson.dumps(message.message_type),
            b',"data":',
            data,
            b',"id":',
            str(message.id).encode(),
            at,
        )
    )


def error_line(problem: str, received: Any = None) -> bytes:
    """An ``error`` event for one client: what was wrong with what it sent (not published on the bus)."""
    data: dict[str, Any] = {"message": problem}
    if received is not None:
        data["received"] = received
    return orjson.dumps({"kind": "event", "message_type": "error", "data": data}) + b"\n"


class FrameCache:
    """The websocket frame of the message being delivered, made by the first client that needs it.

    The bus delivers one message to all its subscribers before the next, so one slot suffices; a
    message without an id (not published) is never cached.
    """

    __slots__ = ("_frame", "_id", "encoded")

    def __init__(self) -> None:
        self._id: int | None = None
        self._frame = b""
        self.encoded = 0
        """How many frames were built (compare with frames sent to see the sharing)."""

    def frame(self, message: Message) -> bytes:
        if message.id is not None and message.id == self._id:
            return self._frame
        frame = websocket_frame(message_line(message))
        self.encoded += 1
        if message.id is not None:
            self._id, self._frame = message.id, frame
        return frame
