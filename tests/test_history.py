"""History: a bounded ring of published messages, read back with ``since`` or as a DataFrame."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resoto_rx import (
    Action,
    ActionDone,
    ActionInfo,
    ActionProgress,
    Event,
    EventBus,
    History,
    Message,
    SQLiteStore,
)
from resoto_rx.codec import encode_data, wire_data
from resoto_rx.history import FRAME_COLUMNS
from resoto_rx.messages import KINDS

MakeBus = Callable[..., EventBus]
Collect = Callable[..., list[Any]]
PROGRESS = {"kind": "progress", "name": "n", "path": ["a"], "current": 1, "total": 2}


def record(history: History, message: Message, msg_id: int, at: float | None = None) -> Message:
    """Append ``message`` as the bus would after stamping it with ``msg_id``."""
    at = float(msg_id) if at is None else at
    object.__setattr__(message, "id", msg_id)
    object.__setattr__(message, "at", datetime.fromtimestamp(at, UTC))
    history.append(message, orjson.dumps(wire_data(message)), at)
    return message


def ids(messages: list[Message]) -> list[int | None]:
    return [m.id for m in messages]


# ------------------------------------------------------------------ capacity
def test_capacity_drops_oldest_and_counts(make_bus: MakeBus) -> None:
    bus = make_bus(3)
    history = bus.history
    assert (len(history), history.dropped, history.first_id, history.last_id) == (0, 0, None, 0)
    for i in range(1, 4):
        bus.emit("x", {"i": i})
    assert (len(history), history.dropped, history.first_id, history.last_id) == (3, 0, 1, 3)
    bus.emit("x", {"i": 4})
    bus.emit("x", {"i": 5})
    assert (len(history), history.dropped, history.first_id, history.last_id) == (3, 2, 3, 5)
    assert ids(history.since(0)) == [3, 4, 5]
    assert [m.data["i"] for m in history.since(0)] == [3, 4, 5]
    for i in range(6, 13):
        bus.emit("x", {"i": i})
    assert (len(history), history.dropped, history.first_id, history.last_id) == (3, 9, 10, 12)
    assert list(history.to_frame()["id"]) == [10, 11, 12]


def test_capacity_one() -> None:
    history = History(1)
    for i in range(1, 5):
        record(history, Event("x", {"i": i}), i)
        assert ids(history.since(0)) == [i]
        assert (history.first_id, history.last_id, history.dropped) == (i, i, i - 1)


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_must_be_positive(capacity: int) -> None:
    with pytest.raises(ValueError, match="capacity"):
        History(capacity)


# ------------------------------------------------------------------ since
def test_since_with_and_without_limit_across_wrap(make_bus: MakeBus) -> None:
    bus = make_bus(5)
    for i in range(12):  # ring holds 8..12, its head is in the middle of the buffer
        bus.emit("x", {"i": i})
    history = bus.history
    assert history.first_id == 8
    assert ids(history.since(0)) == [8, 9, 10, 11, 12]  # no store: what the ring still has
    assert ids(history.since(7)) == [8, 9, 10, 11, 12]
    assert ids(history.since(8)) == [9, 10, 11, 12]
    assert ids(history.since(10)) == [11, 12]
    assert ids(history.since(11, limit=5)) == [12]
    assert ids(history.since(7, limit=2)) == [8, 9]
    assert ids(history.since(9, limit=3)) == [10, 11, 12]
    assert ids(history.since(8, limit=0)) == []
    assert history.since(12) == []
    assert history.since(1000) == []


def test_since_returns_the_published_messages(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus(4)
    seen = collect(bus)
    action = Action("collect", {"timing": {"collect": {"started_at": 1.5}}}, task="t", step="collect")
    bus.emit(Event("e", {"a": [1, {"b": None}], "s": "ü"}))
    bus.emit(action)
    bus.emit(action.done("w"))
    bus.emit(ActionInfo("collect", task="t", step="collect", subscriber_id="w", level="error", message="m"))
    bus.emit(ActionProgress("collect", task="t", step="collect", subscriber_id="w", progress=PROGRESS))
    assert len(seen) == 5
    replay = bus.history.since(1)
    assert replay == seen[1:]  # same kind, type, data, task/step/subscriber, id and at
    assert [type(m) for m in replay] == [type(m) for m in seen[1:]]


@settings(max_examples=200, deadline=None)
@given(
    capacity=st.integers(min_value=1, max_value=12),
    count=st.integers(min_value=0, max_value=40),
    after=st.integers(min_value=-2, max_value=45),
    limit=st.none() | st.integers(min_value=0, max_value=15),
)
def test_property_since_matches_a_list(capacity: int, count: int, after: int, limit: int | None) -> None:
    history = History(capacity)
    first_id = 1000  # ids need not start at 1
    for i in range(count):
        record(history, Event("x", {"i": i}), first_id + i)
    retained = list(range(max(first_id, first_id + count - capacity), first_id + count))
    expected = [i for i in retained if i > first_id + after]
    if limit is not None:
        expected = expected[:limit]
    got = history.since(first_id + after, limit)
    assert ids(got) == expected
    assert [m.data["i"] for m in got] == [i - first_id for i in expected]
    assert len(history) == len(retained)
    assert history.dropped == count - len(retained)
    assert history.last_id == (retained[-1] if retained else 0)
    assert history.first_id == (retained[0] if retained else None)
    assert list(history.to_frame()["id"]) == retained


# ------------------------------------------------------------------ to_frame
def test_to_frame_columns_and_dtypes(make_bus: MakeBus, collect: Collect) -> None:
    bus = make_bus(4)
    seen = collect(bus)
    bus.emit("dropped")
    bus.emit(Event("collect_done", {"count": 3, "name": "a"}))
    action = Action("collect", {"timing": {}}, task="t1", step="collect")
    bus.emit(action)
    bus.emit(action.done("worker"))
    bus.emit(Event("collect_done", {"count": 4}))
    frame = bus.history.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert len(frame) == 4
    assert frame["id"].dtype == np.int64
    assert list(frame["id"]) == [2, 3, 4, 5]
    assert isinstance(frame["at"].dtype, pd.DatetimeTZDtype)
    assert str(frame["at"].dt.tz) == "UTC"
    for got, message in zip(frame["at"], seen[1:], strict=True):
        assert abs(got - pd.Timestamp(message.at)) <= pd.Timedelta(microseconds=1)
    assert isinstance(frame["kind"].dtype, pd.CategoricalDtype)
    assert list(frame["kind"].cat.categories) == list(KINDS)
    assert list(frame["kind"]) == ["event", "action", "action_done", "event"]
    assert isinstance(frame["message_type"].dtype, pd.CategoricalDtype)
    assert list(frame["message_type"]) == ["collect_done", "collect", "collect", "collect_done"]
    assert set(frame["message_type"].cat.categories) == {"collect_done", "collect"}
    assert frame["task"].isna().tolist() == [True, False, False, True]
    assert frame["task"].tolist()[1:3] == ["t1", "t1"]
    assert frame["step"].tolist()[1:3] == ["collect", "collect"]
    assert frame["subscriber_id"].isna().tolist() == [True, True, False, True]
    assert frame["subscriber_id"].iloc[2] == "worker"
    assert frame["data"].dtype == object
    datas = frame["data"].tolist()
    assert all(type(d) is dict for d in datas)
    assert datas == [
        {"count": 3, "name": "a"},
        {"timing": {}, "task": "t1", "step": "collect"},  # the wire data
        {"task": "t1", "step": "collect", "subscriber_id": "worker"},
        {"count": 4},
    ]


def test_to_frame_is_a_snapshot(make_bus: MakeBus) -> None:
    bus = make_bus(3)
    bus.emit("x", {"a": 1})
    frame = bus.history.to_frame()
    frame["data"].iloc[0]["a"] = 99  # a plain dict, decoded for the frame
    frame.loc[0, "id"] = 42
    bus.emit("x", {"a": 2})
    assert [m.data["a"] for m in bus.history.since(0)] == [1, 2]
    assert list(bus.history.to_frame()["id"]) == [1, 2]


def test_to_frame_flatten(make_bus: MakeBus) -> None:
    bus = make_bus(3)
    bus.emit("a", {"x": 1, "y": {"z": 2}})
    bus.emit("b", {"x": 2, "w": "s"})
    bus.emit("c")
    bus.emit("d", {"x": 4})  # ring wrapped: "a" is gone
    frame = bus.history.to_frame(flatten=True)
    assert "data" not in frame.columns
    assert tuple(frame.columns[: len(FRAME_COLUMNS) - 1]) == FRAME_COLUMNS[:-1]
    assert set(frame.columns[len(FRAME_COLUMNS) - 1 :]) == {"data.x", "data.w"}
    assert list(frame["id"]) == [2, 3, 4]
    assert frame["data.x"].tolist()[0] == 2 and frame["data.x"].tolist()[2] == 4
    assert pd.isna(frame["data.x"].iloc[1])
    assert frame["data.w"].tolist()[0] == "s"
    assert frame["data.w"].iloc[1:].isna().all()
    nested = make_bus(2)
    nested.emit("a", {"y": {"z": 2}})
    assert nested.history.to_frame(flatten=True)["data.y"].tolist() == [{"z": 2}]  # top-level keys only


def test_empty_frame() -> None:
    history = History(5)
    for flatten in (False, True):
        frame = history.to_frame(flatten=flatten)
        assert len(frame) == 0
        expected = FRAME_COLUMNS if not flatten else FRAME_COLUMNS[:-1]
        assert tuple(frame.columns) == expected
        assert frame["id"].dtype == np.int64
        assert isinstance(frame["at"].dtype, pd.DatetimeTZDtype)
        assert isinstance(frame["kind"].dtype, pd.CategoricalDtype)
        assert isinstance(frame["message_type"].dtype, pd.CategoricalDtype)


def test_frame_of_a_full_ring_without_wrap() -> None:
    history = History(3)
    for i in range(1, 4):
        record(history, Event("x", {"i": i}), i, at=1_700_000_000.0 + i)
    frame = history.to_frame()
    assert list(frame["id"]) == [1, 2, 3]
    assert frame["at"].iloc[0] == pd.Timestamp(1_700_000_001, unit="s", tz="UTC")
    record(history, ActionDone("c", task="t", step="s", subscriber_id="w"), 4, at=1_700_000_004.0)
    frame = history.to_frame()
    assert list(frame["id"]) == [2, 3, 4]
    assert list(frame["kind"]) == ["event", "event", "action_done"]
    assert frame["at"].iloc[-1] == pd.Timestamp(1_700_000_004, unit="s", tz="UTC")


def test_replayed_messages_carry_their_recorded_wire_data(tmp_path: Path) -> None:
    # So a server replaying history to a client frames them from these bytes instead of encoding again.
    store = SQLiteStore(tmp_path / "h.sqlite")
    bus = EventBus(History(2, store))
    bus.emit("a", {"n": 1})
    bus.emit(Action("collect", {"x": [1, 2]}, task="t", step="collect"))
    bus.emit("b", {"n": 3})  # the ring (2) has dropped the first: since(0) reads it from the store
    replayed = bus.history.since(0)
    assert [m.id for m in replayed] == [1, 2, 3]
    for message in replayed:
        assert message.encoded_data == encode_data(wire_data(message))
    bus.close()
