"""The wire codec: messages to and from the JSON of PROTOCOL.md §1, plus the superset ``id``/``at``.

On the wire every message is ``{"kind", "message_type", "data"}``; action messages carry ``task`` and
``step`` inside ``data``, replies also ``subscriber_id``, and so on. ``wire_data`` builds that data
object; ``decode`` is its inverse and raises :class:`MessageFormatError` for anything malformed,
naming the field and the expected shape. Nothing else escapes ``decode``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from resoto_rx.messages import (
    INFO_LEVELS,
    KINDS,
    Action,
    ActionAbort,
    ActionDone,
    ActionError,
    ActionInfo,
    ActionMessage,
    ActionProgress,
    ActionReply,
    Event,
    FrozenDict,
    Json,
    Message,
)

# Keys that the wire puts into `data` but the model keeps as attributes, by kind.
_ACTION_KEYS = ("task", "step")
_REPLY_KEYS = ("task", "step", "subscriber_id")
_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "event": (),
    "action": _ACTION_KEYS,
    "action_abort": _ACTION_KEYS,
    "action_done": _REPLY_KEYS,
    "action_error": (*_REPLY_KEYS, "error"),
    "action_info": (*_REPLY_KEYS, "level", "message"),
    "action_progress": (*_REPLY_KEYS, "progress", "at"),
}
MAX_PROGRESS_DEPTH = 32
MAX_JSON_DEPTH = 250  # orjson refuses to encode deeper than 254 levels
# datetimes and dataclasses would be turned into strings and dicts silently: refuse them instead.
_STRICT = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
JSON_TYPES = "dict with str keys, list, tuple, str, int (64 bit), finite float, bool or None"


class MessageFormatError(ValueError):
    """A message or frame does not have the shape of PROTOCOL.md §1.

    ``field`` names the offending part (e.g. ``data.task``), ``expected`` the accepted shape.
    """

    def __init__(self, field: str, expected: str, value: object) -> None:
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{field}: expected {expected}, got {shown}")
        self.field = field
        self.expected = expected
        self.value = value


def utc_iso(at: datetime) -> str:
    """ISO-8601 UTC with a ``Z``, the form resotocore writes (with microseconds when present)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def wire_data(message: Message) -> dict[str, Any]:
    """The ``data`` object of ``message`` as it goes on the wire."""
    if not isinstance(message, ActionMessage):
        return message.data  # type: ignore[return-value]  # a FrozenDict is a dict
    data = {**message.data, "task": message.task, "step": message.step}
    if isinstance(message, ActionReply):
        data["subscriber_id"] = message.subscriber_id
        if isinstance(message, ActionError):
            data["error"] = message.error
        elif isinstance(message, ActionInfo):
            data["level"] = message.level
            data["message"] = message.message
        elif isinstance(message, ActionProgress):
            data["progress"] = message.progress
            if message.reported_at is not None:
                data["at"] = utc_iso(message.reported_at)
    return data


def encode_data(data: Mapping[str, Any], field: str = "data") -> bytes:
    """``data`` as compact JSON bytes; anything JSON cannot carry raises :class:`MessageFormatError`."""
    try:
        encoded = orjson.dumps(data, option=_STRICT)
    except (TypeError, orjson.JSONEncodeError) as err:
        raise _find_not_json(data, field) or MessageFormatError(field, JSON_TYPES, data) from err
    # orjson writes NaN and Infinity as null without complaint: only look closer when a null is there.
    # (find() is about twice as fast as `in` on bytes in Python 3.11.)
    if encoded.find(b"null") != -1:
        _refuse_non_finite(data, field)
    # orjson hands back its ~4 KiB output buffer as the bytes object even for a few bytes of JSON;
    # history and client buffers keep these, so keep a compact copy (measured: 4 GB -> 0.15 GB for 1e6).
    return b"%b" % encoded


def to_json(message: Message) -> Json:
    """The JSON object of ``message`` (superset ``id``/``at`` included once it is published)."""
    result: Json = {"kind": message.kind, "message_type": message.message_type, "data": wire_data(message)}
    if message.id is not None:
        result["id"] = message.id
    if message.at is not None:
        result["at"] = utc_iso(message.at)
    return result


def encode(message: Message) -> bytes:
    """The frame of ``message`` as compact JSON bytes."""
    try:
        encoded = orjson.dumps(to_json(message), option=_STRICT)
    except (TypeError, orjson.JSONEncodeError) as err:
        raise _find_not_json(wire_data(message), "data") or MessageFormatError("message", JSON_TYPES, message) from err
    if b"null" in encoded:  # as in encode_data: NaN and Infinity would silently become null
        _refuse_non_finite(wire_data(message), "data")
    return encoded


def decode(frame: str | bytes | bytearray | memoryview | Mapping[str, Any]) -> Message:
    """Parse one frame (JSON text or an already parsed object) into a :class:`Message`.

    >>> decode('{"kind": "event", "message_type": "start_collect_workflow"}').message_type
    'start_collect_workflow'
    """
    if isinstance(frame, Mapping):
        obj: object = frame
    else:
        try:
            obj = orjson.loads(frame)
        except (orjson.JSONDecodeError, TypeError, UnicodeError) as err:
            raise MessageFormatError("frame", "one JSON object", _excerpt(frame)) from err
    if not isinstance(obj, Mapping):
        raise MessageFormatError("frame", "a JSON object {kind, message_type, data}", obj)
    kind = obj.get("kind")
    if kind not in KINDS:
        raise MessageFormatError("kind", "one of " + ", ".join(KINDS), kind)
    message_type = _text(obj, "message_type", "")
    data = obj.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise MessageFormatError("data", "a JSON object", data)
    msg_id = obj.get("id")
    if msg_id is not None and (type(msg_id) is not int or msg_id < 0):
        raise MessageFormatError("id", "a non-negative integer", msg_id)
    at = _time(obj["at"], "at") if obj.get("at") is not None else None
    return build(kind, message_type, data, msg_id, at)


def build(kind: str, message_type: str, data: Mapping[str, Any], msg_id: int | None, at: datetime | None) -> Message:
    """A message from the parts of its wire form; ``data`` is the wire's ``data`` object."""
    own = FrozenDict({k: v for k, v in data.items() if k not in _EXTRA_KEYS[kind]}) if kind != "event" else data
    if kind == "event":
        return Event(message_type, own, id=msg_id, at=at)
    task = _text(data, "task", "data.")
    step = _text(data, "step", "data.")
    if kind == "action":
        return Action(message_type, own, id=msg_id, at=at, task=task, step=step)
    if kind == "action_abort":
        return ActionAbort(message_type, own, id=msg_id, at=at, task=task, step=step)
    sub = _text(data, "subscriber_id", "data.")
    if kind == "action_done":
        return ActionDone(message_type, own, id=msg_id, at=at, task=task, step=step, subscriber_id=sub)
    if kind == "action_error":
        error = data.get("error", "n/a")
        if not isinstance(error, str):
            raise MessageFormatError("data.error", "a string", error)
        return ActionError(message_type, own, id=msg_id, at=at, task=task, step=step, subscriber_id=sub, error=error)
    if kind == "action_info":
        level = data.get("level")
        if level not in INFO_LEVELS:
            raise MessageFormatError("data.level", "one of " + ", ".join(INFO_LEVELS), level)
        text = data.get("message")
        if not isinstance(text, str):
            raise MessageFormatError("data.message", "a string", text)
        return ActionInfo(
            message_type, own, id=msg_id, at=at, task=task, step=step, subscriber_id=sub, level=level, message=text
        )
    progress = data.get("progress")
    check_progress(progress, "data.progress")
    if "at" not in data:
        raise MessageFormatError("data.at", "an ISO-8601 UTC time", None)
    return ActionProgress(
        message_type,
        own,
        id=msg_id,
        at=at,
        task=task,
        step=step,
        subscriber_id=sub,
        progress=progress,  # type: ignore[arg-type]  # checked above
        reported_at=_time(data["at"], "data.at"),
    )


def check_progress(progress: object, field: str = "progress", depth: int = 0) -> None:
    """Check a progress payload: ``{"kind":"progress",name,path,current,total}`` or a ``tree`` of parts."""
    shape = 'a progress object {"kind": "progress"|"tree", "name", ...}'
    if depth > MAX_PROGRESS_DEPTH:
        raise MessageFormatError(field, f"a progress tree at most {MAX_PROGRESS_DEPTH} levels deep", "...")
    if not isinstance(progress, Mapping):
        raise MessageFormatError(field, shape, progress)
    _text(progress, "name", field + ".")
    path = progress.get("path", [])
    if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
        raise MessageFormatError(field + ".path", "a list of strings", path)
    kind = progress.get("kind")
    if kind == "progress":
        current, total = progress.get("current"), progress.get("total")
        if type(total) is not int or total <= 0:
            raise MessageFormatError(field + ".total", "an integer > 0", total)
        if type(current) is not int or not 0 <= current <= total:
            raise MessageFormatError(field + ".current", f"an integer from 0 to total ({total})", current)
    elif kind == "tree":
        parts = progress.get("parts")
        if not isinstance(parts, list):
            raise MessageFormatError(field + ".parts", "a list of progress objects", parts)
        for index, part in enumerate(parts):
            check_progress(part, f"{field}.parts[{index}]", depth + 1)
    else:
        raise MessageFormatError(field + ".kind", '"progress" or "tree"', kind)


def _text(obj: Mapping[str, Any], key: str, prefix: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value:
        raise MessageFormatError(prefix + key, "a non-empty string", value)
    return value


def _time(value: object, field: str) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if not parsed.tzinfo:
                return parsed.replace(tzinfo=UTC)
            try:  # e.g. 0001-01-01T00:00:00+01:00 parses but has no UTC form: encoding it would overflow
                parsed.astimezone(UTC)
            except OverflowError:
                pass
            else:
                return parsed
    raise MessageFormatError(field, "an ISO-8601 time such as 2024-05-04T08:09:10Z", value)


def _excerpt(frame: object) -> object:
    if isinstance(frame, bytes | bytearray | memoryview):
        return bytes(frame[:80])
    return frame


def _find_not_json(value: object, path: str, depth: int = 0) -> MessageFormatError | None:
    """The error for the first value in ``value`` that JSON cannot carry, naming where it is."""
    if depth > MAX_JSON_DEPTH:
        return MessageFormatError(path, f"at most {MAX_JSON_DEPTH} levels of nesting", "...")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return MessageFormatError(f"{path} key {key!r}", "str keys only (JSON objects)", key)
            if found := _find_not_json(item, f"{path}[{key!r}]", depth + 1):
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := _find_not_json(item, f"{path}[{index}]", depth + 1):
                return found
    elif isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return MessageFormatError(path, "an integer that fits 64 bits", value)
    elif (isinstance(value, float) and not math.isfinite(value)) or not isinstance(
        value, str | int | float | bool | None
    ):
        return MessageFormatError(path, JSON_TYPES, value)
    return None


def _refuse_non_finite(data: Mapping[str, Any], field: str) -> None:
    found = _find_not_json(data, field)
    if found is not None:
        raise found
