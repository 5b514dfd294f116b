"""What a websocket client sends, checked and turned into bus messages (PROTOCOL.md §4).

``event`` frames are re-emitted as they are; ``action_done|error|info|progress`` carry the sender's
``subscriber_id``, which the server forces to the connection's id (resotolib leaves it out). Clients may
not send ``action`` or ``action_abort``: only the workflow engine does. Everything else is refused with
a :class:`Rejected` that names the problem and what is accepted; nothing of it reaches the bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from resoto_rx.codec import MessageFormatError, decode
from resoto_rx.messages import Message

CLIENT_KINDS = ("event", "action_done", "action_error", "action_info", "action_progress")


@dataclass(frozen=True)
class Rejected:
    """A frame that was refused: ``problem`` says why, ``received`` shows the start of what came."""

    problem: str
    received: Any = None


@dataclass(frozen=True)
class Authorization:
    """An ``{"kind": "authorization", "jwt": ...}`` frame."""

    jwt: str


def _excerpt(frame: str | bytes, size: int = 120) -> str:
    text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
    return text if len(text) <= size else text[:size] + "..."


def parse_frame(frame: str | bytes, listener_id: str) -> Message | Authorization | Rejected:
    """The message (or authorization) in one incoming frame, or why it was rejected."""
    try:
        obj = orjson.loads(frame)
    except orjson.JSONDecodeError as err:
        return Rejected(
            f"frame: expected one JSON object {{kind, message_type, data}}, got invalid JSON ({err})", _excerpt(frame)
        )
    if not isinstance(obj, dict):
        return Rejected(
            f"frame: expected a JSON object {{kind, message_type, data}}, got {type(obj).__name__}", _excerpt(frame)
        )
    kind = obj.get("kind")
    if kind == "authorization":
        token = obj.get("jwt")
        if not isinstance(token, str):
            return Rejected(f"jwt: expected a string 'Bearer <jwt>', got {token!r}"[:200])
        return Authorization(token)
    if kind in ("action", "action_abort"):
        return Rejected(
            f"kind: clients may not send {kind!r} (only the workflow engine does); accepted: {', '.join(CLIENT_KINDS)}",
            _excerpt(frame),
        )
    if kind not in CLIENT_KINDS:
        shown = repr(kind)[:60]
        return Rejected(f"kind: expected one of {', '.join(CLIENT_KINDS)}, got {shown}", _excerpt(frame))
    data = obj.get("data")
    if data is None:
        data = obj["data"] = {}
    if not isinstance(data, dict):
        return Rejected(f"data: expected a JSON object, got {type(data).__name__}", _excerpt(frame))
    data["subscriber_id"] = listener_id  # as resotocore: the connection says who sent it
    try:
        return decode(obj)
    except MessageFormatError as err:
        return Rejected(str(err), _excerpt(frame))
