"""The wire codec: PROTOCOL.md §1 frames to messages and back; ``decode`` raises only MessageFormatError."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resoto_rx import (
    Action,
    ActionAbort,
    ActionDone,
    ActionError,
    ActionInfo,
    ActionProgress,
    Event,
    Message,
    MessageFormatError,
    decode,
    encode,
    to_json,
)
from resoto_rx.codec import MAX_PROGRESS_DEPTH, encode_data, utc_iso, wire_data
from resoto_rx.messages import INFO_LEVELS, KINDS

FAST = settings(max_examples=200, deadline=None)

AT = datetime(2024, 5, 4, 8, 9, 10, 123456, tzinfo=UTC)
AT_TEXT = "2024-05-04T08:09:10.123456Z"
REPORTED = datetime(2024, 5, 4, 8, 9, 11, tzinfo=UTC)
LEAF = {"kind": "progress", "name": "eu-west-1", "path": ["aws", "acc1"], "current": 3, "total": 7}
TREE = {
    "kind": "tree",
    "name": "collect",
    "path": [],
    "parts": [
        LEAF,
        {"kind": "tree", "name": "gcp", "path": ["gcp"], "parts": [{**LEAF, "name": "p1", "current": 0}]},
    ],
}


# ------------------------------------------------------------------ exact wire shape (PROTOCOL.md §1)
WIRE_CASES: list[tuple[Message, dict[str, Any]]] = [
    (
        Event("collect_done", {"count": 3, "nested": {"a": [1, None, "x"]}}),
        {"kind": "event", "message_type": "collect_done", "data": {"count": 3, "nested": {"a": [1, None, "x"]}}},
    ),
    (
        Action("collect", {"timing": {"collect": {"started_at": 1, "finished_at": 2}}}, task="t1", step="collect"),
        {
            "kind": "action",
            "message_type": "collect",
            "data": {"timing": {"collect": {"started_at": 1, "finished_at": 2}}, "task": "t1", "step": "collect"},
        },
    ),
    (
        ActionAbort("collect", task="t1", step="collect"),
        {"kind": "action_abort", "message_type": "collect", "data": {"task": "t1", "step": "collect"}},
    ),
    (
        ActionDone("collect", task="t1", step="collect", subscriber_id="w1"),
        {
            "kind": "action_done",
            "message_type": "collect",
            "data": {"task": "t1", "step": "collect", "subscriber_id": "w1"},
        },
    ),
    (
        ActionError("cleanup", task="t1", step="cleanup", subscriber_id="w1", error="denied"),
        {
            "kind": "action_error",
            "message_type": "cleanup",
            "data": {"task": "t1", "step": "cleanup", "subscriber_id": "w1", "error": "denied"},
        },
    ),
    (
        ActionInfo("collect", task="t1", step="collect", subscriber_id="w1", level="warning", message="slow"),
        {
            "kind": "action_info",
            "message_type": "collect",
            "data": {"task": "t1", "step": "collect", "subscriber_id": "w1", "level": "warning", "message": "slow"},
        },
    ),
    (
        ActionProgress("collect", task="t1", step="collect", subscriber_id="w1", progress=TREE, reported_at=REPORTED),
        {
            "kind": "action_progress",
            "message_type": "collect",
            "data": {
                "task": "t1",
                "step": "collect",
                "subscriber_id": "w1",
                "progress": TREE,
                "at": "2024-05-04T08:09:11Z",
            },
        },
    ),
]
WIRE_IDS = [message.kind for message, _ in WIRE_CASES]


@pytest.mark.parametrize(("message", "wire"), WIRE_CASES, ids=WIRE_IDS)
def test_wire_shape(message: Message, wire: dict[str, Any]) -> None:
    assert to_json(message) == wire
    assert orjson.loads(encode(message)) == wire
    assert list(orjson.loads(encode(message))) == ["kind", "message_type", "data"]  # no superset before publish


@pytest.mark.parametrize(("message", "wire"), WIRE_CASES, ids=WIRE_IDS)
def test_round_trip_every_kind(message: Message, wire: dict[str, Any]) -> None:
    for frame in (encode(message), encode(message).decode(), bytearray(encode(message)), memoryview(encode(message))):
        assert decode(frame) == message
    assert decode(wire) == message
    assert type(decode(wire)) is type(message)


@pytest.mark.parametrize(("message", "wire"), WIRE_CASES, ids=WIRE_IDS)
def test_superset_id_and_at(message: Message, wire: dict[str, Any]) -> None:
    published = dataclasses.replace(message, id=42, at=AT)
    assert to_json(published) == {**wire, "id": 42, "at": AT_TEXT}
    decoded = decode(encode(published))
    assert decoded == published
    assert (decoded.id, decoded.at) == (42, AT)
    # clients that do not know the superset get the same kind/message_type/data
    assert {k: v for k, v in orjson.loads(encode(published)).items() if k not in ("id", "at")} == wire


def test_decoded_messages_keep_attributes_out_of_data() -> None:
    message = decode(
        {
            "kind": "action_info",
            "message_type": "collect",
            "data": {"task": "t", "step": "s", "subscriber_id": "w", "level": "error", "message": "m", "extra": 1},
        }
    )
    assert isinstance(message, ActionInfo)
    assert (message.task, message.step, message.subscriber_id) == ("t", "s", "w")
    assert (message.level, message.message) == ("error", "m")
    assert message.data == {"extra": 1}


def test_event_keeps_all_data_keys() -> None:
    # an event's data is free payload: "task" there is just data (task_started carries it)
    message = decode({"kind": "event", "message_type": "task_started", "data": {"task": "collect", "task_id": "1"}})
    assert message == Event("task_started", {"task": "collect", "task_id": "1"})


def test_action_error_without_error_is_na() -> None:
    frame = {"kind": "action_error", "message_type": "c", "data": {"task": "t", "step": "s", "subscriber_id": "w"}}
    message = decode(frame)
    assert isinstance(message, ActionError)
    assert message.error == "n/a"
    assert to_json(message)["data"]["error"] == "n/a"


def test_missing_or_null_data_is_empty() -> None:
    assert decode('{"kind": "event", "message_type": "start_collect_workflow"}') == Event("start_collect_workflow")
    assert decode('{"kind": "event", "message_type": "x", "data": null}') == Event("x")


def test_decode_times() -> None:
    base = {"kind": "event", "message_type": "x"}
    assert decode({**base, "at": "2024-05-04T08:09:10Z"}).at == datetime(2024, 5, 4, 8, 9, 10, tzinfo=UTC)
    naive = decode({**base, "at": "2024-05-04T08:09:10"}).at
    assert naive == datetime(2024, 5, 4, 8, 9, 10, tzinfo=UTC)  # a time without zone is UTC
    shifted = decode({**base, "at": "2024-05-04T10:09:10+02:00"}).at
    assert shifted == datetime(2024, 5, 4, 8, 9, 10, tzinfo=UTC)
    assert to_json(decode({**base, "at": "2024-05-04T10:09:10+02:00"}))["at"] == "2024-05-04T08:09:10Z"


def test_utc_iso() -> None:
    assert utc_iso(datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"
    assert utc_iso(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05Z"
    assert utc_iso(datetime(2024, 1, 2, 5, 4, 5, 7, tzinfo=timezone(timedelta(hours=2)))) == (
        "2024-01-02T03:04:05.000007Z"
    )


def test_decoded_data_is_immutable() -> None:
    message = decode('{"kind": "event", "message_type": "x", "data": {"a": 1}}')
    with pytest.raises(TypeError):
        message.data["a"] = 2  # type: ignore[index]


# ------------------------------------------------------------------ malformed frames name the field
def action(kind: str, **data: Any) -> dict[str, Any]:
    base = {"task": "t", "step": "s", "subscriber_id": "w"}
    fields = {k: v for k, v in {**base, **data}.items() if v is not ...}
    return {"kind": kind, "message_type": "collect", "data": fields}


def progress(**fields: Any) -> dict[str, Any]:
    return action("action_progress", progress={**LEAF, **fields}, at="2024-05-04T08:09:10Z")


def deep_tree(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = LEAF
    for _ in range(levels):
        tree = {"kind": "tree", "name": "n", "path": [], "parts": [tree]}
    return tree


BAD_FRAMES: list[tuple[object, str]] = [
    ("", "frame"),
    ("not json", "frame"),
    (b"\xff\xfe", "frame"),
    ('{"kind": "event"', "frame"),
    ("[1, 2]", "frame"),
    ("null", "frame"),
    ('"event"', "frame"),
    (42, "frame"),
    (None, "frame"),
    ({}, "kind"),
    ({"kind": "nope", "message_type": "x"}, "kind"),
    ({"kind": ["event"], "message_type": "x"}, "kind"),
    ({"kind": "event"}, "message_type"),
    ({"kind": "event", "message_type": ""}, "message_type"),
    ({"kind": "event", "message_type": 5}, "message_type"),
    ({"kind": "event", "message_type": "x", "data": [1]}, "data"),
    ({"kind": "event", "message_type": "x", "data": "a"}, "data"),
    ({"kind": "event", "message_type": "x", "id": -1}, "id"),
    ({"kind": "event", "message_type": "x", "id": "1"}, "id"),
    ({"kind": "event", "message_type": "x", "id": True}, "id"),
    ({"kind": "event", "message_type": "x", "id": 1.0}, "id"),
    ({"kind": "event", "message_type": "x", "at": "yesterday"}, "at"),
    ({"kind": "event", "message_type": "x", "at": 1714810150}, "at"),
    ({"kind": "event", "message_type": "x", "at": ""}, "at"),
    # parses, but has no UTC form: would overflow later when encoded
    ({"kind": "event", "message_type": "x", "at": "0001-01-01T00:00:00+01:00"}, "at"),
    ({"kind": "event", "message_type": "x", "at": "9999-12-31T23:59:59-01:00"}, "at"),
    (action("action", task=...), "data.task"),
    (action("action", task=""), "data.task"),
    (action("action", task=1), "data.task"),
    (action("action_abort", step=...), "data.step"),
    (action("action_abort", step=None), "data.step"),
    (action("action_done", subscriber_id=...), "data.subscriber_id"),
    (action("action_done", subscriber_id=["w"]), "data.subscriber_id"),
    (action("action_error", error=5), "data.error"),
    (action("action_error", error=None), "data.error"),
    (action("action_info", level="debug", message="m"), "data.level"),
    (action("action_info", message="m"), "data.level"),
    (action("action_info", level="info"), "data.message"),
    (action("action_info", level="info", message=1), "data.message"),
    (action("action_progress", at="2024-05-04T08:09:10Z"), "data.progress"),
    (action("action_progress", progress=[1], at="2024-05-04T08:09:10Z"), "data.progress"),
    (action("action_progress", progress=LEAF), "data.at"),
    (action("action_progress", progress=LEAF, at="soon"), "data.at"),
    (action("action_progress", progress=LEAF, at=None), "data.at"),
    (progress(kind="bar"), "data.progress.kind"),
    (progress(name=""), "data.progress.name"),
    (progress(path="aws"), "data.progress.path"),
    (progress(path=[1]), "data.progress.path"),
    (progress(total=0), "data.progress.total"),
    (progress(total="7"), "data.progress.total"),
    (progress(current=8), "data.progress.current"),
    (progress(current=-1), "data.progress.current"),
    (progress(current=True), "data.progress.current"),
    (progress(current=1.5), "data.progress.current"),
    (progress(kind="tree"), "data.progress.parts"),
    (
        action("action_progress", progress={**TREE, "parts": [LEAF, {**LEAF, "total": -1}]}, at="2024-05-04T08:09:10Z"),
        "data.progress.parts[1].total",
    ),
    (
        action("action_progress", progress={**TREE, "parts": [LEAF, [1]]}, at="2024-05-04T08:09:10Z"),
        "data.progress.parts[1]",
    ),
]


@pytest.mark.parametrize(("frame", "field"), BAD_FRAMES, ids=[f"{i}-{f}" for i, (_, f) in enumerate(BAD_FRAMES)])
def test_malformed_frames_name_the_field(frame: object, field: str) -> None:
    with pytest.raises(MessageFormatError) as info:
        decode(frame)  # type: ignore[arg-type]
    assert info.value.field == field
    assert str(info.value).startswith(field + ": expected ")
    if isinstance(frame, dict):  # the same frame as JSON text fails the same way
        with pytest.raises(MessageFormatError) as info:
            decode(orjson.dumps(frame))
        assert info.value.field == field


def test_message_format_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="kind: expected one of event, action"):
        decode('{"kind": 1}')


def test_long_values_are_shortened_in_the_message() -> None:
    with pytest.raises(MessageFormatError) as info:
        decode({"kind": "x" * 500})
    assert len(str(info.value)) < 300
    assert info.value.value == "x" * 500


def test_progress_depth_is_bounded() -> None:
    ok = action("action_progress", progress=deep_tree(MAX_PROGRESS_DEPTH), at="2024-05-04T08:09:10Z")
    assert isinstance(decode(ok), ActionProgress)
    too_deep = action("action_progress", progress=deep_tree(MAX_PROGRESS_DEPTH + 1), at="2024-05-04T08:09:10Z")
    with pytest.raises(MessageFormatError, match="levels deep"):
        decode(too_deep)


def test_deeply_nested_json_text() -> None:
    with pytest.raises(MessageFormatError):
        decode(b'{"kind": "event", "message_type": "x", "data": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}")


# ------------------------------------------------------------------ encode_data refuses what JSON cannot carry
@dataclasses.dataclass
class Point:
    x: int


BAD_DATA: list[tuple[dict[Any, Any], str]] = [
    ({"a": {1, 2}}, "data['a']"),
    ({"a": frozenset()}, "data['a']"),
    ({"a": [0, math.nan]}, "data['a'][1]"),
    ({"a": [0, math.inf]}, "data['a'][1]"),
    ({"a": {"b": -math.inf}}, "data['a']['b']"),
    ({"ok": None, "a": {"b": [1, {"c": math.nan}]}}, "data['a']['b'][1]['c']"),
    ({1: "x"}, "data key 1"),
    ({"a": {None: 1}}, "data['a'] key None"),
    ({"a": {("t",): 1}}, "data['a'] key ('t',)"),
    ({"a": [2**64]}, "data['a'][0]"),
    ({"a": -(2**63) - 1}, "data['a']"),
    ({"a": [1, 10**30]}, "data['a'][1]"),
    ({"a": datetime(2024, 1, 1, tzinfo=UTC)}, "data['a']"),
    ({"a": [object()]}, "data['a'][0]"),
    ({"a": Point(1)}, "data['a']"),
    ({"a": b"bytes"}, "data['a']"),
    ({"a": Decimal("1.5")}, "data['a']"),
    ({"a": 1j}, "data['a']"),
]


@pytest.mark.parametrize(("data", "path"), BAD_DATA, ids=[p for _, p in BAD_DATA])
def test_encode_data_refuses_non_json(data: dict[Any, Any], path: str) -> None:
    with pytest.raises(MessageFormatError) as info:
        encode_data(data)
    assert info.value.field == path
    assert str(info.value).startswith(path + ": expected ")


@pytest.mark.parametrize(("data", "path"), BAD_DATA[:8], ids=[p for _, p in BAD_DATA[:8]])
def test_encode_refuses_non_json_data(data: dict[Any, Any], path: str) -> None:
    with pytest.raises(MessageFormatError) as info:
        encode(Event("x", data))
    assert info.value.field == path


def test_encode_data_refuses_deep_nesting() -> None:
    data: dict[str, Any] = {}
    inner = data
    for _ in range(400):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.raises(MessageFormatError, match="levels of nesting"):
        encode_data(data)


def test_encode_data_refuses_cycles() -> None:
    data: dict[str, Any] = {}
    data["self"] = data
    with pytest.raises(MessageFormatError):
        encode_data(data)


def test_encode_data_field_name() -> None:
    with pytest.raises(MessageFormatError) as info:
        encode_data({"a": math.nan}, "payload")
    assert info.value.field == "payload['a']"


def test_encode_data_accepts_json() -> None:
    data = {"i": -(2**63), "u": 2**64 - 1, "f": 1.5, "s": "ü", "b": True, "n": None, "l": [1, (2, 3)], "d": {}}
    assert encode_data(data) == orjson.dumps(data)
    assert orjson.loads(encode_data(data)) == {**data, "l": [1, [2, 3]]}
    assert encode_data({"text": "null"}) == b'{"text":"null"}'  # "null" inside a string is fine
    assert encode_data({}) == b"{}"


def test_wire_data_does_not_copy_event_data() -> None:
    event = Event("x", {"a": 1})
    assert wire_data(event) is event.data


# ------------------------------------------------------------------ property tests
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
RESERVED = {"task", "step", "subscriber_id", "error", "level", "message", "progress", "at"}
names = st.text(min_size=1, max_size=12)
event_data = st.dictionaries(st.text(max_size=8), json_values, max_size=4)
action_data = st.dictionaries(st.text(max_size=8).filter(lambda k: k not in RESERVED), json_values, max_size=4)
ids = st.none() | st.integers(min_value=0, max_value=2**63 - 1)
zones = st.just(UTC) | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59))
)
times = st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=zones)
opt_times = st.none() | times


@st.composite
def progress_leaf(draw: st.DrawFn) -> dict[str, Any]:
    total = draw(st.integers(min_value=1, max_value=2**40))
    current = draw(st.integers(min_value=0, max_value=total))
    path = draw(st.lists(st.text(max_size=6), max_size=3))
    return {"kind": "progress", "name": draw(names), "path": path, "current": current, "total": total}


progress_trees = st.recursive(
    progress_leaf(),
    lambda parts: st.builds(
        lambda name, path, ps: {"kind": "tree", "name": name, "path": path, "parts": ps},
        names,
        st.lists(st.text(max_size=6), max_size=3),
        st.lists(parts, max_size=3),
    ),
    max_leaves=8,
)
reply = {"task": names, "step": names, "subscriber_id": names}
messages = st.one_of(
    st.builds(Event, names, event_data, id=ids, at=opt_times),
    st.builds(Action, names, action_data, id=ids, at=opt_times, task=names, step=names),
    st.builds(ActionAbort, names, action_data, id=ids, at=opt_times, task=names, step=names),
    st.builds(ActionDone, names, action_data, id=ids, at=opt_times, **reply),
    st.builds(ActionError, names, action_data, id=ids, at=opt_times, **reply, error=st.text(max_size=20)),
    st.builds(
        ActionInfo,
        names,
        action_data,
        id=ids,
        at=opt_times,
        **reply,
        level=st.sampled_from(INFO_LEVELS),
        message=st.text(max_size=20),
    ),
    st.builds(
        ActionProgress, names, action_data, id=ids, at=opt_times, **reply, progress=progress_trees, reported_at=times
    ),
)


@FAST
@given(messages)
def test_property_valid_messages_round_trip(message: Message) -> None:
    frame = encode(message)
    assert decode(frame) == message
    assert decode(frame.decode()) == message
    assert decode(orjson.loads(frame)) == message
    assert to_json(decode(frame)) == to_json(message)
    assert encode(decode(frame)) == frame


def decodes_or_refuses(frame: Any) -> None:
    """``decode`` either returns a message or raises MessageFormatError naming a field; nothing else."""
    try:
        message = decode(frame)
    except MessageFormatError as err:
        assert err.field
        assert str(err).startswith(err.field + ": expected ")
    else:
        assert isinstance(message, Message)
        assert message.kind in KINDS
        encode(message)  # whatever decodes can be sent on


@FAST
@given(st.binary(max_size=200))
def test_property_arbitrary_bytes(frame: bytes) -> None:
    decodes_or_refuses(frame)
    decodes_or_refuses(bytearray(frame))
    decodes_or_refuses(memoryview(frame))


@FAST
@given(st.text(max_size=200))
def test_property_arbitrary_text(frame: str) -> None:
    decodes_or_refuses(frame)


@FAST
@given(st.text(alphabet=st.characters(codec=None), max_size=50))
def test_property_arbitrary_text_with_surrogates(frame: str) -> None:
    decodes_or_refuses(frame)
    decodes_or_refuses('{"kind": "event", "message_type": "' + frame + '"}')


@FAST
@given(json_values)
def test_property_arbitrary_json(value: Any) -> None:
    decodes_or_refuses(value if isinstance(value, dict) else orjson.dumps(value))
    decodes_or_refuses(orjson.dumps(value))


any_iso_times = st.datetimes(timezones=st.none() | zones).map(datetime.isoformat)  # includes year 1 and 9999
wrong_or_right = (
    json_values | any_iso_times | st.sampled_from(["2024-05-04T08:09:10Z", "t", "info", "", 0, 1, -1, {}, []])
)
frame_data_keys = st.sampled_from(sorted(RESERVED)) | st.text(max_size=5)
frame_like = st.fixed_dictionaries(
    {"kind": st.sampled_from(KINDS) | json_values},
    optional={
        "message_type": names | json_values,
        "data": st.none()
        | st.dictionaries(frame_data_keys, wrong_or_right | progress_trees | progress_leaf(), max_size=10)
        | json_values,
        "id": ids | json_values,
        "at": any_iso_times | wrong_or_right,
    },
)


@FAST
@given(frame_like)
def test_property_frame_shaped_dicts(frame: dict[str, Any]) -> None:
    decodes_or_refuses(frame)
    decodes_or_refuses(orjson.dumps(frame))


# each field of each kind, set to a value of the wrong type, is refused naming exactly that field
def not_text(value: object) -> bool:
    return not (isinstance(value, str) and value)


WRONG: dict[str, tuple[tuple[str, ...], Any]] = {
    "message_type": (KINDS, json_values.filter(not_text)),
    "data": (KINDS, json_values.filter(lambda v: v is not None and not isinstance(v, dict))),
    "id": (KINDS, json_values.filter(lambda v: v is not None and not (type(v) is int and v >= 0))),
    "at": (KINDS, json_values.filter(lambda v: v is not None and not isinstance(v, str)) | st.just("noon")),
    "data.task": (KINDS[1:], json_values.filter(not_text)),
    "data.step": (KINDS[1:], json_values.filter(not_text)),
    "data.subscriber_id": (KINDS[3:], json_values.filter(not_text)),
    "data.error": (("action_error",), json_values.filter(lambda v: not isinstance(v, str))),
    "data.level": (("action_info",), json_values.filter(lambda v: v not in INFO_LEVELS)),
    "data.message": (("action_info",), json_values.filter(lambda v: not isinstance(v, str))),
    "data.progress": (("action_progress",), json_values.filter(lambda v: not isinstance(v, dict))),
    "data.at": (("action_progress",), json_values.filter(lambda v: not isinstance(v, str)) | st.just("later")),
}


def valid_frame(kind: str) -> dict[str, Any]:
    data: dict[str, Any] = {"task": "t", "step": "s", "subscriber_id": "w", "extra": [1]}
    data.update(error="e", level="info", message="m", progress=TREE, at="2024-05-04T08:09:10Z")
    return {"kind": kind, "message_type": "m", "data": data, "id": 3, "at": "2024-05-04T08:09:10Z"}


@st.composite
def wrong_frames(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    field = draw(st.sampled_from(sorted(WRONG)))
    kinds, values = WRONG[field]
    frame = valid_frame(draw(st.sampled_from(kinds)))
    value = draw(values)
    if field.startswith("data."):
        frame["data"][field.removeprefix("data.")] = value
    else:
        frame[field] = value
    return frame, field


@FAST
@given(wrong_frames())
def test_property_wrong_field_types_name_the_field(case: tuple[dict[str, Any], str]) -> None:
    frame, field = case
    for form in (frame, orjson.dumps(frame)):
        with pytest.raises(MessageFormatError) as info:
            decode(form)
        assert info.value.field == field
        assert str(info.value).startswith(field + ": expected ")


@pytest.mark.parametrize("kind", KINDS)
def test_valid_frame_of_each_kind_decodes(kind: str) -> None:
    # the base of the property above must itself be valid, or every case would fail for the wrong reason
    message = decode(valid_frame(kind))
    assert message.kind == kind
    assert message.id == 3
