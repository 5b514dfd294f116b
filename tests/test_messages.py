"""Messages are immutable values (PROTOCOL.md §1)."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from resoto_rx import (
    Action,
    ActionAbort,
    ActionDone,
    ActionError,
    ActionInfo,
    ActionProgress,
    CoreEvent,
    Event,
    Message,
)
from resoto_rx.messages import KINDS, MESSAGE_CLASSES, FrozenDict

PROGRESS = {"kind": "progress", "name": "accounts", "path": ["aws"], "current": 1, "total": 4}


def all_kinds() -> list[Message]:
    return [
        Event("collect_done", {"count": 3}),
        Action("collect", {"timing": {}}, task="t1", step="collect"),
        ActionAbort("collect", task="t1", step="collect"),
        ActionDone("collect", task="t1", step="collect", subscriber_id="worker"),
        ActionError("collect", task="t1", step="collect", subscriber_id="worker", error="boom"),
        ActionInfo("collect", task="t1", step="collect", subscriber_id="worker", level="warning", message="slow"),
        ActionProgress("collect", task="t1", step="collect", subscriber_id="worker", progress=PROGRESS),
    ]


@pytest.mark.parametrize("message", all_kinds(), ids=lambda m: m.kind)
@pytest.mark.parametrize("attribute", ["message_type", "data", "id", "at"])
def test_attributes_cannot_be_set(message: Message, attribute: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(message, attribute, None)
    assert getattr(message, attribute) is not None or attribute in ("id", "at")


@pytest.mark.parametrize("message", all_kinds()[1:], ids=lambda m: m.kind)
def test_action_attributes_cannot_be_set(message: Action) -> None:
    for attribute in ("task", "step"):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(message, attribute, "other")
    assert (message.task, message.step) == ("t1", "collect")


def test_new_attributes_cannot_be_added() -> None:
    event = Event("x")
    with pytest.raises((AttributeError, TypeError)):
        event.extra = 1  # type: ignore[attr-defined]


MUTATIONS: dict[str, Callable[[Any], object]] = {
    "setitem": lambda d: d.__setitem__("b", 2),
    "setitem existing": lambda d: d.__setitem__("a", 2),
    "delitem": lambda d: d.__delitem__("a"),
    "update": lambda d: d.update({"b": 2}),
    "update kwargs": lambda d: d.update(b=2),
    "pop": lambda d: d.pop("a"),
    "pop default": lambda d: d.pop("missing", None),
    "popitem": lambda d: d.popitem(),
    "clear": lambda d: d.clear(),
    "setdefault": lambda d: d.setdefault("b", 2),
    "ior": lambda d: d.__ior__({"b": 2}),
}


@pytest.mark.parametrize("mutate", MUTATIONS.values(), ids=MUTATIONS.keys())
def test_data_cannot_be_mutated(mutate: Callable[[Any], object]) -> None:
    event = Event("x", {"a": 1})
    with pytest.raises(TypeError, match="immutable"):
        mutate(event.data)
    assert event.data == {"a": 1}


def test_data_in_place_or_raises() -> None:
    event = Event("x", {"a": 1})
    data = event.data
    with pytest.raises(TypeError):
        data |= {"b": 2}  # type: ignore[operator]
    assert event.data == {"a": 1}


def test_data_is_a_copy_of_the_callers_dict() -> None:
    source = {"a": 1}
    event = Event("x", source)
    source["a"] = 2
    source["b"] = 3
    assert event.data == {"a": 1}
    assert isinstance(event.data, dict)  # JSON encoders and pandas take it as a dict
    assert isinstance(event.data, FrozenDict)


def test_data_defaults_to_empty_and_none_is_empty() -> None:
    assert Event("x").data == {}
    assert Event("x", None).data == {}  # type: ignore[arg-type]


def test_copies_of_data_are_ordinary_dicts() -> None:
    event = Event("x", {"a": 1})
    mutable = dict(event.data)
    mutable["b"] = 2
    assert event.data == {"a": 1}
    assert event.data | {"b": 2} == {"a": 1, "b": 2}


def test_equal_messages_hash_equal() -> None:
    assert Event("x", {"a": 1}) == Event("x", {"a": 1})
    assert hash(Event("x", {"a": 1})) == hash(Event("x", {"a": 1}))
    assert Event("x", {"a": 1}) != Event("x", {"a": 2})
    with pytest.raises(TypeError):
        hash(Event("x", {"a": [1]}))  # unhashable values, like a tuple holding a list


def test_kinds_are_distinct_types() -> None:
    # same fields, different kinds: never equal
    assert Action("c", task="t", step="s") != ActionAbort("c", task="t", step="s")
    assert ActionDone("c", task="t", step="s", subscriber_id="w") != ActionError(
        "c", task="t", step="s", subscriber_id="w"
    )
    assert {cls.kind: cls for cls in MESSAGE_CLASSES.values()} == MESSAGE_CLASSES
    assert tuple(MESSAGE_CLASSES) == KINDS
    assert [m.kind for m in all_kinds()] == list(KINDS)


@pytest.mark.parametrize("message", all_kinds(), ids=lambda m: m.kind)
def test_messages_pickle_and_deepcopy(message: Message) -> None:
    for clone in (pickle.loads(pickle.dumps(message)), copy.deepcopy(message), copy.copy(message)):
        assert clone == message
        assert type(clone) is type(message)
        with pytest.raises(TypeError):
            clone.data["new"] = 1  # type: ignore[index]


def test_action_done() -> None:
    action = Action("collect", {"timing": {"collect": {}}}, task="t1", step="collect", id=7)
    done = action.done("worker-1")
    assert done == ActionDone("collect", task="t1", step="collect", subscriber_id="worker-1")
    assert done.kind == "action_done"
    assert done.data == {}
    assert done.id is None and done.at is None  # a reply is a new message, not yet published


def test_action_error() -> None:
    action = Action("cleanup", task="t2", step="cleanup")
    error = action.error("worker-2", "access denied")
    assert isinstance(error, ActionError)
    assert (error.message_type, error.task, error.step) == ("cleanup", "t2", "cleanup")
    assert (error.subscriber_id, error.error) == ("worker-2", "access denied")
    assert error.kind == "action_error"


def test_action_error_defaults_to_na() -> None:
    assert ActionError("c", task="t", step="s", subscriber_id="w").error == "n/a"


def test_action_info_defaults() -> None:
    info = ActionInfo("c", task="t", step="s", subscriber_id="w")
    assert (info.level, info.message) == ("info", "")


def test_action_progress_is_stamped_when_made() -> None:
    progress = ActionProgress("c", task="t", step="s", subscriber_id="w", progress=PROGRESS)
    assert progress.reported_at is not None
    assert progress.reported_at.utcoffset() is not None
    assert progress.reported_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    given = datetime(2024, 5, 4, 8, 9, 10, tzinfo=UTC)
    assert ActionProgress("c", task="t", step="s", subscriber_id="w", reported_at=given).reported_at == given
    with pytest.raises(TypeError):
        progress.progress["current"] = 2  # type: ignore[index]
    source = dict(PROGRESS)
    progress = ActionProgress("c", task="t", step="s", subscriber_id="w", progress=source)
    source["current"] = 3
    assert progress.progress["current"] == 1


def test_action_messages_need_task_and_step() -> None:
    with pytest.raises(TypeError):
        Action("collect")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        ActionDone("collect", task="t", step="s")  # type: ignore[call-arg]


def test_core_event_names() -> None:
    assert CoreEvent.CONNECTED == "message-listener-connected"
    assert CoreEvent.DISCONNECTED == "message-listener-disconnected"
    assert CoreEvent.ERROR == "error"
    assert CoreEvent.TASK_END == "task_end"
